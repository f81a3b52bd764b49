"""One error handler for every command: UserError messages are shown; anything else is logged
under a short reference the user can quote. Nothing about an error is shown to the channel:
a public "thinking" message is deleted and the message goes to the user alone."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import UserError
from bot.exts.limits import Limited
from bot.render import escape_markdown

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
PUBLIC_NOTICE = "I couldn't answer that one; I've told the asker why."


class NotAdmin(app_commands.CheckFailure):
    """Raised for a /news command from someone who is not an admin."""


def user_message(error: BaseException) -> str:
    """What the user sees for an error."""
    original = getattr(error, "original", error)
    if isinstance(original, UserError):
        # It may repeat what was typed, an address or a server's words: text, not Markdown.
        return escape_markdown(str(original))
    if isinstance(error, Limited):
        return error.message()
    if isinstance(error, NotAdmin):
        return "Only marketbot's admins can manage news."
    if isinstance(error, app_commands.CheckFailure) and hasattr(error, "message"):
        return str(error.message)
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    reference = secrets.token_hex(4)
    log.error("command failed [ref %s]", reference, exc_info=original)
    return f"Something went wrong on my side (reference {reference}). Please try again later."


async def defer(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Acknowledge at once (answering may take longer than Discord's 3 s), remembering who can
    see the "thinking" message, so that an error after it is never shown to the channel."""
    interaction.extras["public_defer"] = not ephemeral
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def tell_privately(interaction: discord.Interaction, message: str) -> None:
    """MESSAGE to the user alone, whatever the interaction has been answered with so far.

    Before any response: an ephemeral reply. After a private defer: its "thinking" message
    becomes the message. After a public defer, the first message would keep the defer's
    visibility (Discord ignores an ephemeral flag there), so the "thinking" message is deleted
    first and the message follows privately."""
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NONE)
        return
    if not interaction.extras.get("public_defer"):
        await interaction.edit_original_response(
            content=message, embeds=[], attachments=[], view=None, allowed_mentions=NONE
        )
        return
    try:
        await interaction.delete_original_response()
    except discord.NotFound:  # already gone (deleted by someone)
        pass
    except discord.HTTPException:  # still there: the channel sees a notice, never the details
        await interaction.edit_original_response(
            content=PUBLIC_NOTICE, embeds=[], attachments=[], view=None, allowed_mentions=NONE
        )
    interaction.extras["public_defer"] = False
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=NONE)


async def on_app_command_error(interaction: discord.Interaction, error: Exception) -> None:
    """Tell the user about ERROR (a command's, or a button's), privately."""
    try:
        await tell_privately(interaction, user_message(error))
    except discord.HTTPException as failed:  # the interaction expired, or Discord is down
        log.warning("could not tell the user about an error: %r", failed)


class MarketTree(app_commands.CommandTree):
    """The command tree, with the error handler above."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await on_app_command_error(interaction, error)
