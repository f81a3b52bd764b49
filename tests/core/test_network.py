"""Offline mode: the address check, and the guard a process installs when offline is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


# The guard is exercised by raising the audit events a connection, a lookup or a datagram
# would raise (sys.audit), so no packet can leave even if the guard were broken.
_PROBE = """
import socket, sys
from bot.services import build_services
from bot.settings import Settings
build_services(Settings(data_dir=sys.argv[1]), seed=False)
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probes = {
    "connect": lambda: sys.audit("socket.connect", sock, ("192.0.2.1", 80)),
    "lookup": lambda: sys.audit("socket.getaddrinfo", "discord.com", 443, 0, 0, 0),
    "gethostbyname": lambda: sys.audit("socket.gethostbyname", "discord.com"),
    "sendto": lambda: sys.audit("socket.sendto", udp, ("192.0.2.1", 53)),
    "loopback": lambda: sys.audit("socket.connect", sock, ("127.0.0.1", 8000)),
}
for name, probe in probes.items():
    try:
        probe()
        print(name, "allowed")
    except Exception as error:
        print(name, "refused", type(error).__name__)
"""


def _probe(tmp_path: Path, offline: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env["MARKETBOT_OFFLINE"] = offline
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_offline_setting_refuses_every_remote_connection_lookup_and_datagram(
    tmp_path: Path,
) -> None:
    outcome = _probe(tmp_path, "1")

    for name in ("connect", "lookup", "gethostbyname", "sendto"):
        assert outcome[name] == "refused OfflineError", name
    assert outcome["loopback"] == "allowed"


def test_without_the_offline_setting_the_guard_is_not_installed(tmp_path: Path) -> None:
    assert set(_probe(tmp_path, "0").values()) == {"allowed"}
