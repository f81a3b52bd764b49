"""Starting the bot through discord.py's real gateway code, against a local fake of Discord's
gateway: what it sends when it connects, and what the user is told when Discord refuses it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from discord.ext import commands

import bot.discord_main
from bot.client import make_bot
from bot.discord_main import serve_discord
from bot.services import Services
from tests.conftest import settings_for
from tests.discord_fake import GOOD_TOKEN
from tests.discord_gateway_fake import FakeGateway, running


@pytest.fixture
async def discord_gateway() -> AsyncIterator[FakeGateway]:
    async with running(FakeGateway(identify_close_code=4014)) as fake:
        yield fake
    assert not fake.violations, fake.violations


@pytest.fixture
def built_bots(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every bot serve_discord makes, so a test can look at it afterwards."""
    bots: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        bots.append(make_bot(*args, **kwargs))
        return bots[-1]

    monkeypatch.setattr(bot.discord_main, "make_bot", spy)
    return bots


MESSAGE_CONTENT = 1 << 15  # the privileged intent's bit in IDENTIFY


@pytest.mark.parametrize("message_content", [False, True], ids=["default", "message content"])
async def test_refused_intents_give_one_clear_line_without_a_reconnect(
    discord_gateway: FakeGateway,
    built_bots: list[Any],
    seeded: Services,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    message_content: bool,
) -> None:
    settings = settings_for(tmp_path, discord_token=GOOD_TOKEN, message_content=message_content)

    with caplog.at_level(logging.DEBUG, logger="discord"):
        async with asyncio.timeout(30):
            message = await serve_discord(seeded, settings)

    assert message is not None
    assert "intent" in message and "\n" not in message.strip()
    [connection] = discord_gateway.connections  # closed with 4014, never reconnected
    assert connection.closed_with == 4014
    assert connection.ops == [1, 2]  # a heartbeat on HELLO, then one IDENTIFY
    assert connection.identify is not None and connection.identify["token"] == GOOD_TOKEN
    assert "shard" not in connection.identify
    # The privileged intent is asked for only when MARKETBOT_MESSAGE_CONTENT is set, and the
    # line then says which switch to flip.
    assert bool(connection.identify["intents"] & MESSAGE_CONTENT) is message_content
    assert ("MARKETBOT_MESSAGE_CONTENT" in message) is message_content
    [client] = built_bots
    assert not isinstance(client, commands.AutoShardedBot) and client.is_closed()
    assert not [r for r in caplog.records if r.exc_info]  # no traceback was logged


async def test_two_shards_identify_as_shard_0_and_shard_1_of_2(
    discord_gateway: FakeGateway,
    built_bots: list[Any],
    seeded: Services,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_for(tmp_path, discord_token=GOOD_TOKEN, shards=2)

    with caplog.at_level(logging.DEBUG, logger="discord"):
        # discord.py waits 5 s before every IDENTIFY but the first (before_identify_hook)
        async with asyncio.timeout(30):
            message = await serve_discord(seeded, settings)

    identifies = discord_gateway.identifies
    assert sorted(identify["shard"] for identify in identifies) == [[0, 2], [1, 2]]
    assert all(identify["token"] == GOOD_TOKEN for identify in identifies)
    assert len(discord_gateway.connections) == 2  # one socket per shard, none reopened
    [client] = built_bots
    assert isinstance(client, commands.AutoShardedBot) and client.is_closed()
    assert message is not None and "intents" in message and "\n" not in message.strip()
    assert not [r for r in caplog.records if r.exc_info]
