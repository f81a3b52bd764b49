"""/watch: a channel watches assets, and the bot posts the explanation when one moves past its
threshold (bot/alerts). Changing a channel's watches needs Manage Channels there, or being one
of the bot's admins, checked in code on every call; others are refused privately."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.alerts import WatchStore
from bot.alerts.model import Watch
from bot.alerts.watcher import Alert, Watcher, check_watchable
from bot.client import AnyBot
from bot.exts import asset_choices
from bot.exts.admin import is_admin
from bot.exts.errors import defer
from bot.render import (
    CONTENT_LIMIT,
    alert_content,
    answer_embed,
    escape_markdown,
    watch_added_text,
    watches_text,
)

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
MISSING_PERMISSIONS = 50013  # Discord's code for a permission the bot lacks in a channel


def is_discord_watch(watch: Watch) -> bool:
    return watch.channel.isdigit()


class NotChannelManager(app_commands.CheckFailure):
    """A /watch change from a member who cannot manage the channel."""

    message = "Only members who can manage this channel (or marketbot's admins) change its watches."


def may_change_watches(interaction: discord.Interaction) -> bool:
    permissions = interaction.permissions  # the member's, in this channel (from the interaction)
    return bool(permissions.manage_channels or permissions.administrator) or is_admin(interaction)


def _store(bot: AnyBot) -> WatchStore:
    services = bot.services
    return WatchStore(services.state, services.settings.max_watches)


# No default_permissions: Discord would hide the whole group (list too) from members without
# Manage Channels, and from the bot's admins; changes are checked in code (may_change_watches).
@app_commands.allowed_installs(guilds=True, users=False)
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
class Watches(commands.GroupCog, group_name="watch"):
    """Post the explanation when a watched asset moves."""

    def __init__(self, bot: AnyBot) -> None:
        self.bot = bot
        super().__init__()

    def _status(self) -> str | None:
        return Watcher(self.bot.services, serves=is_discord_watch).status()

    async def _changing(self, interaction: discord.Interaction) -> None:
        if not may_change_watches(interaction):
            raise NotChannelManager

    @app_commands.command(name="add")
    @app_commands.describe(
        asset="A ticker or name, e.g. ETH",
        threshold="The move that posts, in %, e.g. 5",
        window="Over how long the move is measured (default 24h)",
        direction="Only rises, only falls, or both (default)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        asset: app_commands.Range[str, 1, 40],
        threshold: app_commands.Range[float, 0.5, 50.0],
        window: Literal["1h", "4h", "24h"] = "24h",
        direction: Literal["both", "up", "down"] = "both",
    ) -> None:
        """Watch an asset in this channel: post why when it moves past the threshold."""
        await self._changing(interaction)
        symbol = self.bot.services.market.symbol(asset)
        check_watchable(self.bot.services.assets, symbol)
        await defer(interaction, ephemeral=True)
        store = _store(self.bot)
        previous = await asyncio.to_thread(store.find, str(interaction.channel_id), symbol, window)
        watch = await asyncio.to_thread(
            store.add,
            place=str(interaction.guild_id),
            channel=str(interaction.channel_id),
            asset=symbol,
            threshold=threshold,
            window=window,
            direction=direction,
            added_by=f"discord:{interaction.user.id}",
        )
        note = await asyncio.to_thread(self._status)
        text = watch_added_text(watch, previous) + (f"\n{note}" if note else "")
        await interaction.edit_original_response(content=text, allowed_mentions=NONE)

    @app_commands.command(name="list")
    async def list_watches(self, interaction: discord.Interaction) -> None:
        """This channel's watches, who added them, and why any stopped."""
        await defer(interaction, ephemeral=True)
        watches = await asyncio.to_thread(_store(self.bot).in_channel, str(interaction.channel_id))
        status = await asyncio.to_thread(self._status)
        text = watches_text(watches, status, limit=CONTENT_LIMIT)
        await interaction.edit_original_response(content=text, allowed_mentions=NONE)

    @app_commands.command(name="remove")
    @app_commands.describe(asset="The asset watched", window="Only this window's watch")
    async def remove(
        self,
        interaction: discord.Interaction,
        asset: app_commands.Range[str, 1, 40],
        window: Literal["1h", "4h", "24h"] | None = None,
    ) -> None:
        """Stop watching an asset in this channel."""
        await self._changing(interaction)
        symbol = self.bot.services.market.symbol(asset)
        await defer(interaction, ephemeral=True)
        removed = await asyncio.to_thread(
            _store(self.bot).remove, str(interaction.channel_id), symbol, window
        )
        text = "\n".join(f"Stopped watching {w.describe()} here." for w in removed)
        await interaction.edit_original_response(content=text, allowed_mentions=NONE)

    @add.autocomplete("asset")
    @remove.autocomplete("asset")
    async def asset_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return asset_choices(self.bot.services.assets, current)


class AlertPoster(commands.Cog):
    """Runs the watcher every MARKETBOT_WATCH_SECONDS and posts what it finds."""

    def __init__(self, bot: AnyBot) -> None:
        self.bot = bot
        # Discord channels only: the console's watches are `marketbot watch run`'s.
        self.watcher = Watcher(bot.services, _store(bot), serves=is_discord_watch)
        self.round.change_interval(seconds=bot.services.settings.watch_seconds)

    async def cog_load(self) -> None:
        if self.watcher.live:
            self.round.start()
        else:
            log.info("no live prices: the watches post nothing")

    async def cog_unload(self) -> None:
        self.round.cancel()

    @tasks.loop(seconds=60)
    async def round(self) -> None:
        await self.run_round()

    @round.before_loop
    async def _after_login(self) -> None:
        await self.bot.wait_until_ready()

    async def run_round(self) -> None:
        """Post the new alerts, then update the posted ones that news now explains."""
        try:
            alerts = await asyncio.to_thread(self.watcher.check)
        except Exception:  # the next round tries again; the bot keeps answering
            log.exception("watch round failed")
            alerts = []
        for alert in alerts:
            try:
                await self.post(alert)
            except Exception:  # not posted: offered again next round; the others go on
                log.exception("could not post the %s alert", alert.watch.asset)
        try:
            updates = await asyncio.to_thread(self.watcher.updates)
        except Exception:
            log.exception("watch updates failed")
            updates = []
        for alert in updates:
            try:
                await self.update(alert)
            except Exception:
                log.exception("could not update the %s alert", alert.watch.asset)

    async def _channel(self, channel_id: str) -> discord.abc.Messageable:
        channel = self.bot.get_channel(int(channel_id))
        if channel is None:
            channel = await self.bot.fetch_channel(int(channel_id))
        assert isinstance(channel, discord.abc.Messageable)
        return channel

    async def post(self, alert: Alert) -> None:
        """One alert to its channel. A channel that is gone (404) or closed to the bot (403)
        stops its watches; without Attach Files (403, 50013) the post goes without the chart;
        anything else leaves it to the next round."""
        try:
            channel = await self._channel(alert.watch.channel)
            try:
                message = await self._send(channel, alert, chart=True)
            except discord.Forbidden as error:
                if error.code != MISSING_PERMISSIONS or not alert.chart:
                    raise
                message = await self._send(channel, alert, chart=False)
        except (discord.Forbidden, discord.NotFound) as error:
            why = f"the bot can no longer post here ({escape_markdown(error.text or '')[:100]})"
            await asyncio.to_thread(self.watcher.channel_gone, alert.watch.channel, why)
            return
        except discord.HTTPException as error:
            if 400 <= error.status < 500 and error.status != 429:
                # Refused for good (AutoMod, a locked thread): not tried again every round.
                log.warning("Discord refused the %s alert: %s", alert.watch.asset, error)
                await asyncio.to_thread(self.watcher.posted, alert, f"refused:{error.status}")
                return
            log.warning("could not post the %s alert", alert.watch.asset, exc_info=True)
            return
        await asyncio.to_thread(self.watcher.posted, alert, f"{alert.watch.channel}:{message.id}")

    async def _send(
        self, channel: discord.abc.Messageable, alert: Alert, *, chart: bool
    ) -> discord.Message:
        files = (
            [discord.File(io.BytesIO(alert.chart), filename=f"{alert.watch.asset}.png")]
            if alert.chart and chart
            else []
        )
        return await channel.send(
            content=alert_content(alert),
            embed=answer_embed(alert.answer),
            files=files,
            allowed_mentions=NONE,
        )

    async def update(self, alert: Alert) -> None:
        assert alert.message is not None
        channel_id, _, message_id = alert.message.partition(":")
        when = datetime.now(UTC).strftime("%d %b %H:%M UTC")
        try:
            channel = await self._channel(channel_id)
            message = channel.get_partial_message(int(message_id))  # type: ignore[attr-defined]
            await message.edit(
                content=alert_content(alert, updated=when),
                embed=answer_embed(alert.answer),
                allowed_mentions=NONE,
            )
        except (discord.Forbidden, discord.NotFound) as error:
            log.info("could not update the %s alert: %s", alert.watch.asset, error)
        except discord.HTTPException:
            log.warning("could not update the %s alert", alert.watch.asset, exc_info=True)
            self.watcher.update_failed(alert)
            return
        await asyncio.to_thread(self.watcher.updated, alert)


async def setup(bot: AnyBot) -> None:
    await bot.add_cog(Watches(bot))
    if bot.serving:
        await bot.add_cog(AlertPoster(bot))
