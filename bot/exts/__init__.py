"""Discord extensions: one cog per area."""


def place_of(guild_id: int | None) -> str:
    """Where an answer was given, as the answer log records it."""
    return f"guild {guild_id}" if guild_id else "dm"


def payer_of(guild_id: int | None, user_id: int) -> str:
    """Who a model call is counted against: the server, or in DMs the user."""
    return f"guild {guild_id}" if guild_id else f"user {user_id}"
