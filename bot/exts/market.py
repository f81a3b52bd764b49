"""/price and /chart: live figures and charts arrive with the market-data issue (#4)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.render import MARKET_UNAVAILABLE as UNAVAILABLE


class Market(commands.Cog):
    """Prices and charts."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="price")
    @app_commands.describe(asset="A ticker or name, e.g. ETH or ethereum")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def price(
        self, interaction: discord.Interaction, asset: app_commands.Range[str, 1, 40]
    ) -> None:
        """The current price and 24h change of an asset."""
        await interaction.response.send_message(
            UNAVAILABLE, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="chart")
    @app_commands.describe(asset="A ticker or name, e.g. BTC", days="How many days to show (1-365)")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def chart(
        self,
        interaction: discord.Interaction,
        asset: app_commands.Range[str, 1, 40],
        days: app_commands.Range[int, 1, 365] = 7,
    ) -> None:
        """A price chart of an asset around recent news."""
        await interaction.response.send_message(
            UNAVAILABLE, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @price.autocomplete("asset")
    @chart.autocomplete("asset")
    async def asset_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Tickers and names from the asset alias table, best match first."""
        assets = self.bot.services.assets  # type: ignore[attr-defined]
        return [
            app_commands.Choice(name=f"{a.symbol} - {a.name}"[:100], value=a.symbol)
            for a in assets.suggest(current)
        ]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Market(bot))
