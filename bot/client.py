"""The discord.py bot: holds the services, loads the extensions, never pings anyone."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.services import Services

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.exts.ask", "bot.exts.errors")


class _MarketBotMixin:
    services: Services

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # type: ignore[attr-defined]


class MarketBot(_MarketBotMixin, commands.Bot):
    """One process, one shard (or the shards Discord assigns it)."""


class ShardedMarketBot(_MarketBotMixin, commands.AutoShardedBot):
    """Several shards in one process, for large installs (MARKETBOT_SHARDS)."""


def make_bot(
    services: Services, *, shards: int | None = None, **options: Any
) -> MarketBot | ShardedMarketBot:
    """The bot; AutoShardedBot when shards are configured. Nothing it sends can mention
    anyone: allowed_mentions is none for every message unless a send overrides it."""
    intents = discord.Intents.default()  # mentions and DMs carry their content without
    # the privileged message-content intent
    common: dict[str, Any] = {
        "command_prefix": commands.when_mentioned,
        "intents": intents,
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
        **options,
    }
    bot = ShardedMarketBot(shard_count=shards, **common) if shards else MarketBot(**common)
    bot.services = services
    return bot
