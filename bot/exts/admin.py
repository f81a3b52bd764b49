"""/news: admins add and remove news from Discord. Admin is checked in code on every call
(MARKETBOT_ADMIN_USER_IDS, or a role in MARKETBOT_ADMIN_ROLE_IDS in a server); Discord's
default permission (Manage Server) only hides the commands from others."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import __version__
from bot.core.ingest import IngestReport
from bot.errors import UserError
from bot.exts import payer_of
from bot.render import CONTENT_LIMIT, inline_markdown, link_or_text, shorten

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
MAX_ATTACHMENT_BYTES = 8 * 1024 * 1024


class NotAdmin(app_commands.CheckFailure):
    """Raised for a /news command from someone who is not an admin."""


def is_admin(interaction: discord.Interaction) -> bool:
    """Listed admin users anywhere; members with an admin role only inside a server."""
    settings = interaction.client.services.settings  # type: ignore[attr-defined]
    if interaction.user.id in settings.admin_user_ids:
        return True
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    # The invoking member's role ids come with the interaction; the Role objects (`.roles`)
    # need the guild's role cache, which a bot without the members intent may not have.
    role_ids = {int(r) for r in getattr(interaction.user, "_roles", ())}
    return bool(role_ids & set(settings.admin_role_ids))


def who(ingested_by: str) -> str:
    """`discord:123` as a mention Discord renders (allowed_mentions stays none: no ping)."""
    if ingested_by.startswith("discord:") and ingested_by[8:].isdigit():
        return f"<@{ingested_by[8:]}>"
    return inline_markdown(ingested_by, 80)


def report_text(report: IngestReport) -> str:
    lines = []
    for file in report.files:
        lines.append(
            f"{file.found} found, {file.stored} new, {file.updated} updated, "
            f"{file.duplicates} already stored"
        )
        # A problem can quote a file's name or its text: shown as text, never as Markdown.
        lines += [f"- {inline_markdown(problem, 300)}" for problem in file.problems[:5]]
    return "\n".join(lines)[:1900]


@app_commands.default_permissions(manage_guild=True)
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
class News(commands.GroupCog, group_name="news"):
    """Manage the news marketbot answers from (admins only)."""

    feeds = app_commands.Group(name="feeds", description="RSS and Atom feeds polled for news")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not is_admin(interaction):
            raise NotAdmin
        return True

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.followup.send(
            shorten(text, CONTENT_LIMIT), ephemeral=True, allowed_mentions=NONE
        )

    @app_commands.command(name="paste")
    @app_commands.describe(title="The article's headline", text="The article's text")
    async def paste(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 3, 300],
        text: app_commands.Range[str, 20, 4000],
    ) -> None:
        """Add an article by pasting its title and text."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await asyncio.to_thread(
            self.bot.services.ingest_text,  # type: ignore[attr-defined]
            title,
            text,
            ingested_by=f"discord:{interaction.user.id}",
        )
        await self._reply(interaction, report_text(report))

    @app_commands.command(name="upload")
    @app_commands.describe(attachment="A news file: JSON, JSON Lines, CSV, Markdown, HTML or text")
    async def upload(
        self, interaction: discord.Interaction, attachment: discord.Attachment
    ) -> None:
        """Add the articles in an attached file."""
        if attachment.size > MAX_ATTACHMENT_BYTES:
            raise UserError(
                f"That file is {attachment.size >> 20} MB; the limit is "
                f"{MAX_ATTACHMENT_BYTES >> 20} MB."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await attachment.read()
        report = await asyncio.to_thread(
            self.bot.services.ingest_upload,  # type: ignore[attr-defined]
            data,
            attachment.filename,
            ingested_by=f"discord:{interaction.user.id}",
        )
        await self._reply(interaction, report_text(report))

    @app_commands.command(name="forget")
    @app_commands.describe(id="The article id /sources shows")
    async def forget(
        self, interaction: discord.Interaction, id: app_commands.Range[str, 1, 40]
    ) -> None:
        """Remove an article and everything cut from it."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        article = await asyncio.to_thread(self.bot.services.forget, id)  # type: ignore[attr-defined]
        await self._reply(
            interaction, f"Forgot {article.id}: {inline_markdown(article.title, 200)}"
        )

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Corpus size, newest article and versions."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = self.bot.services  # type: ignore[attr-defined]
        articles = await asyncio.to_thread(services.sources)
        recent = sorted(articles, key=lambda a: a.ingested_at, reverse=True)[:3]
        lines = [
            f"{len(articles)} articles, {sum(a.n_chunks for a in articles)} chunks",
            f"{sum(1 for a in articles if a.flags)} flagged as addressing a model "
            "(those sentences are never quoted)",
        ]
        lines += (
            ["Last added:"]
            + [
                f"- {a.ingested_at:%Y-%m-%d %H:%M} UTC by {who(a.ingested_by)}: "
                + inline_markdown(a.title, 80)
                for a in recent
            ]
            if recent
            else ["Nothing ingested yet."]
        )
        feeds = await asyncio.to_thread(services.feeds) if hasattr(services, "feeds") else []
        failing = [f for f in feeds if f.last_error]
        if feeds:
            lines.append(f"{len(feeds)} feeds, {len(failing)} failing")
            lines += [
                f"- {link_or_text(f.url)}: {inline_markdown(f.last_error, 120)}"
                for f in failing[:5]
            ]
        generator = getattr(services, "generator", None)
        if generator is None:
            lines.append("Answers: extractive (no model configured)")
        else:
            payer = payer_of(interaction.guild_id, interaction.user.id)
            used = await asyncio.to_thread(generator.budget.used, payer)
            lines.append(
                f"Answers: generated by {generator.name}, {used} of "
                f"{generator.budget.per_day} model calls used today here"
            )
        lines.append(f"marketbot {__version__}, discord.py {discord.__version__}")
        await self._reply(interaction, "\n".join(lines))

    @app_commands.command(name="add")
    @app_commands.describe(url="The article's address")
    async def add(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        """Add an article from its URL (public http and https pages only)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await asyncio.to_thread(
            self.bot.services.ingest_url,  # type: ignore[attr-defined]
            url,
            ingested_by=f"discord:{interaction.user.id}",
        )
        await self._reply(interaction, report_text(report))

    @feeds.command(name="add")
    @app_commands.describe(url="The feed's address (RSS or Atom)")
    async def feeds_add(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        """Poll a feed and ingest its new articles (public http and https only)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed, report = await asyncio.to_thread(
            self.bot.services.add_feed,  # type: ignore[attr-defined]
            url,
            added_by=f"discord:{interaction.user.id}",
        )
        problems = "".join(f"\n- {inline_markdown(p, 300)}" for p in report.problems[:5])
        name = inline_markdown(feed.title, 100) if feed.title else link_or_text(feed.url)
        await self._reply(
            interaction,
            f"Added {name}: {report.found} items, {report.new} new, "
            f"{report.duplicates} already stored"
            + (f", {report.skipped} older items not read" if report.skipped else "")
            + f".{problems}",
        )

    @feeds.command(name="list")
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        """The feeds being polled, when each was last read, and any error."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        feeds = await asyncio.to_thread(self.bot.services.feeds)  # type: ignore[attr-defined]
        lines = [
            f"- {inline_markdown(f.title, 100) + ' ' if f.title else ''}{link_or_text(f.url)}: "
            f"last read {f.last_ok or 'never'}"
            + (f" ({f.items_skipped} older items not read)" if f.items_skipped else "")
            + (
                f"; failing ({f.failures}x): {inline_markdown(f.last_error, 200)}; "
                f"next try {f.next_poll}"
                if f.last_error
                else ""
            )
            for f in feeds
        ]
        await self._reply(interaction, "\n".join(lines) or "No feeds yet: /news feeds add url")

    @feeds.command(name="remove")
    @app_commands.describe(url="The feed's address, as /news feeds list shows it")
    async def feeds_remove(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        """Stop polling a feed (its articles stay)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed = await asyncio.to_thread(self.bot.services.remove_feed, url)  # type: ignore[attr-defined]
        await self._reply(
            interaction, f"Stopped polling {link_or_text(feed.url)}; its articles stay."
        )


class FeedPoller(commands.Cog):
    """Polls the feeds in the background (MARKETBOT_FEED_POLL_MINUTES); each feed keeps its
    own back-off, so a failing one never stops the others or the bot."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        minutes = bot.services.settings.feed_poll_minutes  # type: ignore[attr-defined]
        self.poll.change_interval(minutes=minutes)

    async def cog_load(self) -> None:
        self.poll.start()

    async def cog_unload(self) -> None:
        self.poll.cancel()

    @tasks.loop(minutes=15)
    async def poll(self) -> None:
        try:
            await asyncio.to_thread(self.bot.services.poll_feeds)  # type: ignore[attr-defined]
        except Exception:  # the next round tries again; the bot keeps answering
            log.exception("feed poll failed")

    @poll.before_loop
    async def _after_login(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(News(bot))
    if getattr(bot, "services", None) is not None:  # not when only listing the commands
        await bot.add_cog(FeedPoller(bot))
