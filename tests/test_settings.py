"""Settings from the environment, as an operator writes them in .env."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_comma_separated_variables_are_read_as_lists_and_maps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MARKETBOT_ADMIN_USER_IDS", " 1400000000000000001, 2 ,,")
    monkeypatch.setenv("MARKETBOT_EXCHANGES", "Binance, kraken")
    monkeypatch.setenv("MARKETBOT_EXCHANGE_URLS", "binance=http://127.0.0.1:9000, Kraken=http://x")
    monkeypatch.setenv("MARKETBOT_ALLOWED_NETWORKS", "10.20.0.0/16,127.0.0.1")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.admin_user_ids == [1400000000000000001, 2]
    assert settings.exchanges == ["binance", "kraken"]
    assert settings.exchange_urls == {"binance": "http://127.0.0.1:9000", "kraken": "http://x"}
    assert settings.allowed_networks == ["10.20.0.0/16", "127.0.0.1"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MARKETBOT_ALLOWED_NETWORKS", "10.0.0.0/8,newsroom", "does not appear to be"),
        ("MARKETBOT_EXCHANGE_URLS", "binance", "exchange=url pairs"),
        ("MARKETBOT_ADMIN_USER_IDS", "alice", "invalid literal"),
    ],
)
def test_a_malformed_variable_is_refused_at_start_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(("value", "asked"), [("1", True), ("true", True), ("0", False)])
def test_message_content_is_an_option_that_asks_discord_for_the_intent(
    monkeypatch: pytest.MonkeyPatch, value: str, asked: bool
) -> None:
    from bot.client import make_bot

    monkeypatch.setenv("MARKETBOT_MESSAGE_CONTENT", value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.message_content is asked
    assert make_bot(None, message_content=settings.message_content).intents.message_content is asked
