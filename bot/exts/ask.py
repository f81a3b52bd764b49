"""/ask, mentions and direct messages: check, defer, one call into the core, render, send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import AnyBot, services_of
from bot.core.documents import Answer
from bot.core.feedback import FEEDBACK
from bot.exts import payer_of, place_of
from bot.exts.errors import defer, on_app_command_error, user_message
from bot.exts.limits import Limited
from bot.render import answer_embed, progress_embed, quotes_embed, sources_embed

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
# Without the message-content intent, a reply to an answer that does not ping the bot arrives
# empty: its author is told how to ask, at most this often (seconds).
HINT_EVERY = 600.0
HINT = (
    "I can only read replies that mention me: keep the @ mention on when you reply to an "
    "answer, or ask with /ask."
)
# A generated answer being written is shown by editing one message at most this often (s);
# Discord allows about five edits per five seconds per channel.
EDIT_EVERY = 1.5


async def privately(
    interaction: discord.Interaction, work: Callable[[discord.Interaction], Awaitable[None]]
) -> None:
    """Run a button's WORK; its errors, which bypass the command tree's handler, are told to
    the clicker alone as a command's are."""
    try:
        await work(interaction)
    except Exception as error:
        await on_app_command_error(interaction, error)


class SourcesButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"mb:src:(?P<id>[0-9a-f]{12})"
):
    """Shows, privately, the quotes each [n] of an answer rests on; works after restarts."""

    def __init__(self, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Sources",
                style=discord.ButtonStyle.primary,
                custom_id=f"mb:src:{answer_id}",
                row=0,
            )
        )
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SourcesButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await privately(interaction, self.show)

    async def show(self, interaction: discord.Interaction) -> None:
        await defer(interaction, ephemeral=True)
        answers = services_of(interaction.client).answers
        answer = await asyncio.to_thread(answers.get, self.answer_id)
        if answer is None:
            await interaction.edit_original_response(
                content="I no longer have the sources of this answer; ask again for a fresh one.",
                allowed_mentions=NONE,
            )
            return
        await interaction.edit_original_response(embed=quotes_embed(answer), allowed_mentions=NONE)


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"mb:fb:(?P<kind>[a-z_]+):(?P<id>[0-9a-f]{12})",
):
    """One click of feedback, stored with the answer as evaluation data."""

    def __init__(self, kind: str, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=FEEDBACK.get(kind, kind),
                style=discord.ButtonStyle.success
                if kind == "helpful"
                else discord.ButtonStyle.secondary,
                custom_id=f"mb:fb:{kind}:{answer_id}",
                row=0 if kind == "helpful" else 1,
            )
        )
        self.kind = kind
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        return cls(match["kind"], match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await privately(interaction, self.record)

    async def record(self, interaction: discord.Interaction) -> None:
        await defer(interaction, ephemeral=True)
        answers = services_of(interaction.client).answers
        label = FEEDBACK.get(self.kind, self.kind).lower()
        try:
            new = await asyncio.to_thread(
                answers.add_feedback, self.answer_id, interaction.user.id, self.kind
            )
        except (KeyError, ValueError):
            reply = "I no longer have this answer on record, so I could not store that."
        else:
            reply = (
                f"Thanks: recorded \u201c{label}\u201d for this answer."
                if new
                else f"You already marked this answer \u201c{label}\u201d."
            )
        await interaction.edit_original_response(content=reply, allowed_mentions=NONE)


def answer_view(answer_id: str) -> discord.ui.View:
    """Sources and Helpful on the first row, the four ways an answer can be wrong below."""
    view = discord.ui.View(timeout=None)
    view.add_item(SourcesButton(answer_id))
    for kind in FEEDBACK:
        view.add_item(FeedbackButton(kind, answer_id))
    return view


class LiveEdits:
    """Shows a generated answer while it is written. The worker thread calls `update` with the
    guarded text so far; on the event loop, one message is edited at most every EDIT_EVERY
    seconds, always with the latest text, and `finish` waits for an edit under way, so the
    final answer is never overwritten by a late one."""

    def __init__(self, edit: Callable[[str], Awaitable[Any]]) -> None:
        self.loop = asyncio.get_running_loop()
        self.edit = edit
        self.latest: str | None = None
        self.shown: str | None = None
        self.edits = 0
        self._last = -math.inf
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def update(self, text: str) -> None:
        """Called from any thread."""
        self.loop.call_soon_threadsafe(self._set, text)

    def _set(self, text: str) -> None:
        if self._closed:
            return
        self.latest = text
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run())

    async def _run(self) -> None:
        while not self._closed and self.latest is not None and self.latest != self.shown:
            wait = self._last + EDIT_EVERY - self.loop.time()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            text = self.latest
            try:
                await self.edit(text)
            except Exception as error:  # progress is a courtesy: the final answer still goes
                log.warning("could not show the answer being written: %r", error)
                return
            self.shown, self.edits, self._last = text, self.edits + 1, self.loop.time()

    async def finish(self) -> bool:
        """Stop editing; whether any text was shown."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task
        return self.edits > 0


async def reply_to(message: discord.Message, **parts: Any) -> discord.Message:
    """Reply to MESSAGE, pinging nobody; if it was deleted meanwhile, the reply is sent
    without the reference rather than lost."""
    parts.setdefault("allowed_mentions", NONE)
    return await message.channel.send(
        reference=message.to_reference(fail_if_not_exists=False),
        mention_author=False,
        **parts,
    )


class Ask(commands.Cog):
    """Questions about market moves, answered from cited news."""

    def __init__(self, bot: AnyBot) -> None:
        self.bot = bot

    async def reply_parts(self, answer: Answer, place: str) -> dict[str, Any]:
        """The embed, and for an answer with sources the buttons under it."""
        parts: dict[str, Any] = {"embed": answer_embed(answer), "allowed_mentions": NONE}
        if answer.citations:
            answers = self.bot.services.answers
            try:
                answer_id = await asyncio.to_thread(answers.record, answer, place)
            except Exception:  # the shared state is away: the answer, without its buttons
                log.exception("could not record an answer; sent without buttons")
            else:
                parts["view"] = answer_view(answer_id)
        return parts

    @app_commands.command(name="ask")
    @app_commands.describe(question="What to explain, e.g. why did ETH fall 14%?")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500]
    ) -> None:
        """Explain a market move with cited sources."""
        self.bot.limits.take("ask", interaction.user.id, interaction.guild_id)
        # Acknowledge first: answering can take longer than Discord's 3-second window.
        await defer(interaction, ephemeral=False)
        services = self.bot.services
        live = LiveEdits(
            lambda text: interaction.edit_original_response(
                embed=progress_embed(question, text), allowed_mentions=NONE
            )
        )
        try:
            answer = await asyncio.to_thread(
                services.ask,
                question,
                place=payer_of(interaction.guild_id, interaction.user.id),
                on_text=live.update if services.generator is not None else None,
            )
        finally:
            await live.finish()
        # The first message after the defer: the answer, or the guard's final version of the
        # answer shown while it was written.
        await interaction.edit_original_response(
            **await self.reply_parts(answer, place_of(interaction.guild_id))
        )

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
        await defer(interaction, ephemeral=True)
        articles = await asyncio.to_thread(self.bot.services.sources, query)
        await interaction.edit_original_response(
            embed=sources_embed(articles, page, query), allowed_mentions=NONE
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A DM, a message that mentions the bot, or a reply to one of its answers is a
        question; a reply is a follow-up that keeps the earlier question's context."""
        me = self.bot.user
        if message.author.bot or me is None:
            return
        try:
            await self.take_message(message, me)
        except discord.HTTPException as error:  # the reply could not be sent (no permission,
            # Discord down): nothing more can be said there
            log.warning("could not reply to message %s: %r", message.id, error)

    async def take_message(self, message: discord.Message, me: discord.ClientUser) -> None:
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        addressed = message.guild is None or me in message.mentions
        guild_id = message.guild.id if message.guild else None
        if addressed and (not question or not await self.within_limit(message, guild_id)):
            return  # a mention alone; or over the limit, counted before any work
        # Replies carry the message they answer; fetch it only when the bot is addressed.
        replied = await self.replied_answer(message, fetch=addressed)
        if not addressed and replied is None:
            return
        # Nothing awaited on this path before the hint's once-gate: of replies arriving
        # together, the first is the one told.
        if not question:  # a reply whose text Discord withheld (or with none, an image)
            if not self.bot.intents.message_content and self.bot.limits.once(
                "hint", message.author.id, HINT_EVERY
            ):
                await reply_to(message, content=HINT)
            return
        if not addressed and not await self.within_limit(message, guild_id):
            return
        earlier = await self.question_of(replied) if replied is not None else None
        await self.answer_message(message, question, earlier, guild_id)

    async def within_limit(self, message: discord.Message, guild_id: int | None) -> bool:
        """Count a question; over the limit, say so (once a minute) and answer nothing."""
        try:
            self.bot.limits.take("ask", message.author.id, guild_id)
        except Limited as limited:
            if self.bot.limits.once("limited", message.author.id):
                await reply_to(message, content=limited.message())
            return False
        return True

    async def answer_message(
        self, message: discord.Message, question: str, earlier: str | None, guild_id: int | None
    ) -> None:
        services = self.bot.services
        written: list[discord.Message] = []  # the reply showing a generated answer being written

        async def show(text: str) -> None:
            embed = progress_embed(question, text)
            if written:
                await written[0].edit(embed=embed, allowed_mentions=NONE)
            else:
                written.append(await reply_to(message, embed=embed))

        live = LiveEdits(show)
        try:
            async with message.channel.typing():
                answer = await asyncio.to_thread(
                    services.ask,
                    question,
                    follow_up_to=earlier,
                    place=payer_of(guild_id, message.author.id),
                    on_text=live.update if services.generator is not None else None,
                )
            parts = await self.reply_parts(answer, place_of(guild_id))
        except Exception as error:  # said in the reply, or in place of the answer being written
            await live.finish()
            text = user_message(error)
            if written:
                await written[0].edit(content=text, embed=None, allowed_mentions=NONE)
            else:
                await reply_to(message, content=text)
            return
        await live.finish()
        if written:  # the guard's final version replaces the answer as it was being written
            await written[0].edit(**parts)
        else:
            await reply_to(message, **parts)

    async def replied_answer(
        self, message: discord.Message, *, fetch: bool
    ) -> discord.Message | None:
        """The bot's answer this message replies to, if it is one."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None
        replied = reference.resolved
        if replied is None and fetch:
            try:
                replied = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return None
        if not isinstance(replied, discord.Message) or replied.author != self.bot.user:
            return None
        if not replied.embeds or not replied.embeds[0].title:
            return None
        return replied

    async def question_of(self, replied: discord.Message) -> str:
        """The question an answer of the bot's answered: in full when it is on record, else
        the embed's title."""
        for row in replied.components:  # the full question, when the answer is on record
            for item in getattr(row, "children", ()):
                found = re.fullmatch(r"mb:src:([0-9a-f]{12})", getattr(item, "custom_id", "") or "")
                if found:
                    answers = self.bot.services.answers
                    stored = await asyncio.to_thread(answers.get, found.group(1))
                    if stored is not None:
                        return str(stored.question)
        return str(replied.embeds[0].title)


async def setup(bot: AnyBot) -> None:
    bot.add_dynamic_items(SourcesButton, FeedbackButton)
    await bot.add_cog(Ask(bot))
