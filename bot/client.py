"""The discord.py bot: holds the services, loads the extensions, never pings anyone."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.services import Services

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.exts.ask", "bot.exts.market", "bot.exts.admin", "bot.exts.errors")


class _MarketBotMixin:
    services: Services | None  # None only when listing or syncing commands

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # type: ignore[attr-defined]


class MarketBot(_MarketBotMixin, commands.Bot):
    """One process, one shard (or the shards Discord assigns it)."""


class ShardedMarketBot(_MarketBotMixin, commands.AutoShardedBot):
    """Several shards in one process, for large installs (MARKETBOT_SHARDS)."""


def make_bot(
    services: Services | None, *, shards: int | None = None, **options: Any
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


async def command_payloads() -> list[dict[str, Any]]:
    """The application commands exactly as a sync would send them to Discord."""
    bot = make_bot(None)
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands()]


async def sync_commands(token: str, guild_id: int | None = None) -> int:
    """Register the commands with Discord (globally, or in one guild at once); how many."""
    bot = make_bot(None)
    async with bot:
        await bot.login(token)  # runs setup_hook, which loads the extensions
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        synced = await bot.tree.sync(guild=guild)
    return len(synced)
