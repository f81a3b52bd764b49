"""/news: admins add and remove news from Discord. Admin is checked in code on every call
(MARKETBOT_ADMIN_USER_IDS, or a role in MARKETBOT_ADMIN_ROLE_IDS in a server); Discord's
default permission (Manage Server) only hides the commands from others."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import __version__
from bot.client import AnyBot, services_of
from bot.core.ingest import IngestReport
from bot.errors import UserError
from bot.exts import payer_of
from bot.exts.errors import NotAdmin, defer
from bot.feeds import Feed, PollReport
from bot.render import CONTENT_LIMIT, inline_markdown, link_or_text, shorten, who

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
MAX_ATTACHMENT_BYTES = 8 * 1024 * 1024
READ_SECONDS = 60.0  # to fetch an attachment from Discord's CDN
T = TypeVar("T")


def is_admin(interaction: discord.Interaction) -> bool:
    """Listed admin users anywhere; members with an admin role only inside a server."""
    settings = services_of(interaction.client).settings
    if interaction.user.id in settings.admin_user_ids:
        return True
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    # The invoking member's role ids come with the interaction; the Role objects (`.roles`)
    # need the guild's role cache, which a bot without the members intent may not have.
    role_ids = {int(r) for r in getattr(interaction.user, "_roles", ())}
    return bool(role_ids & set(settings.admin_role_ids))


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


def feed_added_text(added: tuple[Feed, PollReport]) -> str:
    feed, report = added
    problems = "".join(f"\n- {inline_markdown(p, 300)}" for p in report.problems[:5])
    name = inline_markdown(feed.title, 100) if feed.title else link_or_text(feed.url)
    return (
        f"Added {name}: {report.found} items, {report.new} new, "
        f"{report.duplicates} already stored"
        + (f", {report.skipped} older items not read" if report.skipped else "")
        + f".{problems}"
    )


def feeds_text(feeds: list[Feed]) -> str:
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
    return "\n".join(lines) or "No feeds yet: /news feeds add url"


# Guild install only: installed to a user account, /news would follow that user into every
# server and DM; admins are checked in code on every call as well.
@app_commands.default_permissions(manage_guild=True)
@app_commands.allowed_installs(guilds=True, users=False)
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
class News(commands.GroupCog, group_name="news"):
    """Manage the news marketbot answers from (admins only)."""

    feeds = app_commands.Group(name="feeds", description="RSS and Atom feeds polled for news")

    def __init__(self, bot: AnyBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not is_admin(interaction):
            raise NotAdmin
        return True

    async def _run(
        self, interaction: discord.Interaction, work: Callable[[], T], say: Callable[[T], str]
    ) -> None:
        """Every /news command: acknowledge privately, do the work off the event loop, and
        put what it did in place of the "thinking" message (errors: bot.exts.errors)."""
        if not interaction.response.is_done():
            await defer(interaction, ephemeral=True)
        result = await asyncio.to_thread(work)
        await interaction.edit_original_response(
            content=shorten(say(result), CONTENT_LIMIT), allowed_mentions=NONE
        )

    def _by(self, interaction: discord.Interaction) -> str:
        return f"discord:{interaction.user.id}"

    @app_commands.command(name="paste")
    @app_commands.describe(title="The article's headline", text="The article's text")
    async def paste(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 3, 300],
        text: app_commands.Range[str, 20, 4000],
    ) -> None:
        """Add an article by pasting its title and text."""
        ingest = self.bot.services.ingest_text
        work = functools.partial(ingest, title, text, ingested_by=self._by(interaction))
        await self._run(interaction, work, report_text)

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
        await defer(interaction, ephemeral=True)  # reading the file may take a while
        try:
            async with asyncio.timeout(READ_SECONDS):
                data = await attachment.read()
        except (TimeoutError, discord.HTTPException) as error:
            raise UserError("I could not read that file from Discord; please try again.") from error
        ingest = self.bot.services.ingest_upload
        work = functools.partial(
            ingest, data, attachment.filename, ingested_by=self._by(interaction)
        )
        await self._run(interaction, work, report_text)

    @app_commands.command(name="forget")
    @app_commands.describe(id="The article id /sources shows")
    async def forget(
        self, interaction: discord.Interaction, id: app_commands.Range[str, 1, 40]
    ) -> None:
        """Remove an article and everything cut from it."""
        await self._run(
            interaction,
            functools.partial(self.bot.services.forget, id),
            lambda article: f"Forgot {article.id}: {inline_markdown(article.title, 200)}",
        )

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Corpus size, newest article and versions."""
        payer = payer_of(interaction.guild_id, interaction.user.id)
        await self._run(interaction, functools.partial(self._status, payer), "\n".join)

    def _status(self, payer: str) -> list[str]:
        services = self.bot.services
        articles = services.sources()
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
        feeds = services.feeds()
        failing = [f for f in feeds if f.last_error]
        if feeds:
            lines.append(f"{len(feeds)} feeds, {len(failing)} failing")
            lines += [
                f"- {link_or_text(f.url)}: {inline_markdown(f.last_error or '', 120)}"
                for f in failing[:5]
            ]
        generator = services.generator
        if generator is None:
            lines.append("Answers: extractive (no model configured)")
        else:
            lines.append(
                f"Answers: generated by {generator.name}, {generator.budget.used(payer)} of "
                f"{generator.budget.per_day} model calls used today here"
            )
        lines.append(f"Shared state: {services.state.describe()}")
        lines.append(f"marketbot {__version__}, discord.py {discord.__version__}")
        return lines

    @app_commands.command(name="add")
    @app_commands.describe(url="The article's address")
    async def add(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        """Add an article from its URL (public http and https pages only)."""
        ingest = self.bot.services.ingest_url
        work = functools.partial(ingest, url, ingested_by=self._by(interaction))
        await self._run(interaction, work, report_text)

    @feeds.command(name="add")
    @app_commands.describe(url="The feed's address (RSS or Atom)")
    async def feeds_add(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        """Poll a feed and ingest its new articles (public http and https only)."""
        add = self.bot.services.add_feed
        work = functools.partial(add, url, added_by=self._by(interaction))
        await self._run(interaction, work, feed_added_text)

    @feeds.command(name="list")
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        """The feeds being polled, when each was last read, and any error."""
        await self._run(interaction, self.bot.services.feeds, feeds_text)

    @feeds.command(name="remove")
    @app_commands.describe(url="The feed's address, as /news feeds list shows it")
    async def feeds_remove(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        """Stop polling a feed (its articles stay)."""
        await self._run(
            interaction,
            functools.partial(self.bot.services.remove_feed, url),
            lambda feed: f"Stopped polling {link_or_text(feed.url)}; its articles stay.",
        )


class FeedPoller(commands.Cog):
    """Polls the feeds in the background (MARKETBOT_FEED_POLL_MINUTES); each feed keeps its
    own back-off, so a failing one never stops the others or the bot."""

    def __init__(self, bot: AnyBot) -> None:
        self.bot = bot
        minutes = bot.services.settings.feed_poll_minutes
        self.poll.change_interval(minutes=minutes)

    async def cog_load(self) -> None:
        self.poll.start()

    async def cog_unload(self) -> None:
        self.poll.cancel()

    @tasks.loop(minutes=15)
    async def poll(self) -> None:
        try:
            await asyncio.to_thread(self.bot.services.poll_feeds)
        except Exception:  # the next round tries again; the bot keeps answering
            log.exception("feed poll failed")

    @poll.before_loop
    async def _after_login(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: AnyBot) -> None:
    await bot.add_cog(News(bot))
    if bot.serving:  # not when only listing the commands
        await bot.add_cog(FeedPoller(bot))
