"""Discord extensions: one cog per area."""

from __future__ import annotations

from typing import Any

from discord import app_commands


def asset_choices(assets: Any, current: str) -> list[app_commands.Choice[str]]:
    """An asset box's suggestions: tickers and names from the alias table, best match first."""
    return [
        app_commands.Choice(name=f"{a.symbol} - {a.name}"[:100], value=a.symbol)
        for a in assets.suggest(current)
    ]


def place_of(guild_id: int | None) -> str:
    """Where an answer was given, as the answer log records it."""
    return f"guild {guild_id}" if guild_id else "dm"


def payer_of(guild_id: int | None, user_id: int) -> str:
    """Who a model call is counted against: the server, or in DMs the user."""
    return f"guild {guild_id}" if guild_id else f"user {user_id}"
