"""Offline mode's address check (a pure function: no connection is attempted here)."""

from __future__ import annotations

import pytest

from bot.core.network import is_loopback


@pytest.mark.parametrize(
    "address",
    [
        ("127.0.0.1", 8000),
        ("127.0.0.53", 53),
        ("::1", 8000, 0, 0),
        ("localhost", 8000),
        "/run/chroma.sock",  # a Unix socket path
        ("127.0.0.1",),
    ],
)
def test_loopback_addresses_are_allowed(address: object) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address",
    [
        ("10.0.0.1", 443),
        ("192.168.1.10", 8000),
        ("8.8.8.8", 53),
        ("2001:4860:4860::8888", 443, 0, 0),
        ("0.0.0.0", 80),
        ("discord.com", 443),
        ("localhost.evil.example", 80),
        ("huggingface.co",),
    ],
)
def test_every_other_address_is_refused(address: object) -> None:
    assert not is_loopback(address)
