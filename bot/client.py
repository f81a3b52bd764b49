"""The discord.py bot: holds the services and the rate limits, loads the extensions, never
pings anyone."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.exts.errors import MarketTree
from bot.exts.limits import Limits
from bot.services import Services

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.exts.ask", "bot.exts.market", "bot.exts.admin", "bot.exts.watch")


class _MarketBotMixin:
    _services: Services | None  # None only when listing or syncing commands
    limits: Limits

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("this bot only lists or syncs commands: it has no services")
        return self._services

    @property
    def serving(self) -> bool:
        """Whether it answers (False when it only lists or syncs the commands)."""
        return self._services is not None

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # type: ignore[attr-defined]

    async def on_message(self, message: discord.Message) -> None:
        """A mention is a question (bot.exts.ask), not a prefix command: there are none to
        look for, so nothing is parsed here (and no CommandNotFound is logged)."""


class MarketBot(_MarketBotMixin, commands.Bot):
    """One process, one shard (or the shards Discord assigns it)."""


class ShardedMarketBot(_MarketBotMixin, commands.AutoShardedBot):
    """Several shards in one process, for large installs (MARKETBOT_SHARDS)."""


AnyBot = MarketBot | ShardedMarketBot


def services_of(client: discord.Client) -> Services:
    """The services behind an interaction's client (`interaction.client`)."""
    if not isinstance(client, MarketBot | ShardedMarketBot):
        raise TypeError(f"not a marketbot client: {type(client).__name__}")
    return client.services


def intents_for(message_content: bool) -> discord.Intents:
    """What the bot asks Discord for. Without the privileged message-content intent, Discord
    still delivers the text of DMs and of messages that mention the bot; with it (switched on
    in the developer portal too), also of replies that do not ping it."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


def make_bot(
    services: Services | None,
    *,
    shards: int | None = None,
    message_content: bool | None = None,
    **options: Any,
) -> AnyBot:
    """The bot; AutoShardedBot when shards are configured. Nothing it sends can mention
    anyone: allowed_mentions is none for every message unless a send overrides it."""
    if message_content is None:
        message_content = bool(services and services.settings.message_content)
    common: dict[str, Any] = {
        "command_prefix": commands.when_mentioned,  # unused: on_message parses no commands
        "intents": intents_for(message_content),
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
        "tree_cls": MarketTree,
        **options,
    }
    bot: AnyBot = ShardedMarketBot(shard_count=shards, **common) if shards else MarketBot(**common)
    bot._services = services
    bot.limits = Limits()
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
