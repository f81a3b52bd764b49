"""/ask, mentions and direct messages: check, defer, one call into the core, render, send."""

from __future__ import annotations

import asyncio
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError
from bot.render import answer_embed, sources_embed

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
# Cooldowns: 3 questions per user per 30 s, 20 per server per 60 s.
USER_RATE, USER_PER = 3, 30.0
GUILD_RATE, GUILD_PER = 20, 60.0


class Ask(commands.Cog):
    """Questions about market moves, answered from cited news."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="ask")
    @app_commands.describe(question="What to explain, e.g. why did ETH fall 14%?")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.checks.cooldown(USER_RATE, USER_PER, key=lambda i: i.user.id)
    @app_commands.checks.cooldown(GUILD_RATE, GUILD_PER, key=lambda i: i.guild_id or i.user.id)
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500]
    ) -> None:
        """Explain a market move with cited sources."""
        # Acknowledge first: answering can take longer than Discord's 3-second window.
        await interaction.response.defer(thinking=True)
        answer = await asyncio.to_thread(self.bot.services.ask, question)  # type: ignore[attr-defined]
        await interaction.followup.send(embed=answer_embed(answer), allowed_mentions=NONE)

    @app_commands.command(name="sources")
    @app_commands.describe(
        query="Only articles whose title or assets match this (e.g. ETH, liquidations)",
        page="Which page of results (10 articles a page)",
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def sources(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 100] | None = None,
        page: app_commands.Range[int, 1, 1000] = 1,
    ) -> None:
        """What marketbot knows about, newest first."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = self.bot.services  # type: ignore[attr-defined]
        articles = await asyncio.to_thread(services.sources)
        if query:
            wanted = services.assets.resolve(query)
            needle = query.lower()
            articles = [a for a in articles if needle in a.title.lower() or wanted in a.assets]
        await interaction.followup.send(
            embed=sources_embed(articles, page, query), ephemeral=True, allowed_mentions=NONE
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A DM, or a message that mentions the bot, is a question."""
        if message.author.bot or self.bot.user is None:
            return
        direct = message.guild is None
        if not direct and self.bot.user not in message.mentions:
            return
        question = re.sub(rf"<@!?{self.bot.user.id}>", " ", message.content).strip()
        if not question:
            return
        try:
            async with message.channel.typing():
                answer = await asyncio.to_thread(self.bot.services.ask, question)  # type: ignore[attr-defined]
        except UserError as error:
            await message.reply(str(error), allowed_mentions=NONE, mention_author=False)
            return
        await message.reply(embed=answer_embed(answer), allowed_mentions=NONE, mention_author=False)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Ask(bot))
