"""/price and /chart: the price now with its source and time, and a chart of recent days."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import AnyBot
from bot.exts import asset_choices
from bot.exts.errors import defer
from bot.market.history import parse_day
from bot.render import CONTENT_LIMIT, escape_markdown, price_embed, shorten

NONE = discord.AllowedMentions.none()


class Market(commands.Cog):
    """Prices and charts."""

    def __init__(self, bot: AnyBot) -> None:
        self.bot = bot

    def _within_limit(self, interaction: discord.Interaction, kind: str) -> None:
        self.bot.limits.take(kind, interaction.user.id, interaction.guild_id)

    @app_commands.command(name="price")
    @app_commands.describe(asset="A ticker or name, e.g. ETH or ethereum")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def price(
        self, interaction: discord.Interaction, asset: app_commands.Range[str, 1, 40]
    ) -> None:
        """The current price and 24h change of an asset, with the exchange and time."""
        # A bad asset is refused privately before anything is shown to the channel, and
        # without using up the user's budget.
        symbol = self.bot.services.market.symbol(asset)
        self._within_limit(interaction, "price")
        await defer(interaction, ephemeral=False)  # live prices may take a moment
        quote, others = await asyncio.to_thread(self.bot.services.price, symbol)
        embed = price_embed(quote, others)
        await interaction.edit_original_response(embed=embed, allowed_mentions=NONE)

    @app_commands.command(name="chart")
    @app_commands.describe(
        asset="A ticker or name, e.g. BTC",
        days="How many days to show (1-365)",
        around="Centre on this day, e.g. 2025-11-04 (default: up to today)",
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def chart(
        self,
        interaction: discord.Interaction,
        asset: app_commands.Range[str, 1, 40],
        days: app_commands.Range[int, 1, 365] = 7,
        around: app_commands.Range[str, 10, 10] | None = None,
    ) -> None:
        """A price chart of an asset, with the news about it marked."""
        day = parse_day(around) if around else None
        symbol = self.bot.services.chart_symbol(asset, days, day)  # refused before deferring
        self._within_limit(interaction, "chart")
        await defer(interaction, ephemeral=False)
        png, caption = await asyncio.to_thread(self.bot.services.chart, symbol, days, day)
        # The caption names the articles marked on the chart: their titles are text.
        await interaction.edit_original_response(
            content=shorten(escape_markdown(caption, markers=True), CONTENT_LIMIT),
            attachments=[discord.File(io.BytesIO(png), filename=f"{symbol}.png")],
            allowed_mentions=NONE,
        )

    @price.autocomplete("asset")
    @chart.autocomplete("asset")
    async def asset_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Tickers and names from the asset alias table, best match first."""
        return asset_choices(self.bot.services.assets, current)


async def setup(bot: AnyBot) -> None:
    await bot.add_cog(Market(bot))
