"""Discord extensions: one cog per area."""
