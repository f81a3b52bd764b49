"""Running the Discord bot: one clear line for the mistakes people make, not a traceback."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.client import make_bot
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)


async def serve_discord(services: Services, settings: Settings) -> str | None:
    """Run the bot until it is stopped; a message for the user when it cannot start."""
    assert settings.discord_token is not None
    # discord.http logs request bodies at DEBUG: keep it at WARNING whatever the root level.
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    bot = make_bot(services, shards=settings.shards, message_content=settings.message_content)
    try:
        async with bot:
            await bot.start(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        return "Discord refused the token: check MARKETBOT_DISCORD_TOKEN (Bot tab of your app)."
    except discord.PrivilegedIntentsRequired:
        if settings.message_content:
            return (
                "Discord refused the message-content intent: switch on Message Content Intent "
                "on the Bot tab of your application, or unset MARKETBOT_MESSAGE_CONTENT."
            )
        return (
            "Discord refused the intents the bot asked for: enable them on the Bot tab of "
            "your application."
        )
    return None


def run_discord(services: Services, settings: Settings) -> str | None:
    try:
        return asyncio.run(serve_discord(services, settings))
    except KeyboardInterrupt:
        return None
