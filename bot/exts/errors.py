"""One error handler: UserError messages are shown; anything else is logged under a short
reference the user can quote."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError
from bot.exts.admin import NotAdmin
from bot.render import escape_markdown

log = logging.getLogger(__name__)


def user_message(error: BaseException) -> str:
    """What the user sees for an error."""
    original = getattr(error, "original", error)
    if isinstance(original, UserError):
        # It may repeat what was typed, an address or a server's words: text, not Markdown.
        return escape_markdown(str(original))
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, NotAdmin):
        return "Only marketbot's admins can manage news."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    reference = secrets.token_hex(4)
    log.error("command failed [ref %s]", reference, exc_info=original)
    return f"Something went wrong on my side (reference {reference}). Please try again later."


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    message = user_message(error)
    none = discord.AllowedMentions.none()
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True, allowed_mentions=none)
    else:
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=none)


async def setup(bot: commands.Bot) -> None:
    bot.tree.on_error = on_app_command_error  # type: ignore[method-assign]
