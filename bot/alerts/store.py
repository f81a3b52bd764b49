"""Watches and the alerts they fired, kept in the shared state (SQLite or PostgreSQL), so they
survive restarts and every host sees the same ones."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.alerts.model import Direction, Watch, parse_direction, parse_threshold, parse_window
from bot.core.documents import utcnow
from bot.errors import InputError, NotFoundError
from bot.state import State

MAX_WATCHES_PER_SERVER = 25


class WatchStore:
    def __init__(self, state: State, per_server: int = MAX_WATCHES_PER_SERVER) -> None:
        self.state = state
        self.per_server = per_server

    def all(self) -> list[Watch]:
        return [_watch(row) for row in self.state.watch_rows()]

    def enabled(self) -> list[Watch]:
        return [w for w in self.all() if w.disabled is None]

    def in_channel(self, channel: str) -> list[Watch]:
        return [w for w in self.all() if w.channel == channel]

    def add(
        self,
        *,
        place: str,
        channel: str,
        asset: str,
        threshold: str | float,
        window: str | None = None,
        direction: str | None = None,
        added_by: str,
    ) -> Watch:
        """A new watch; a channel watches an asset over a window once: adding it again changes
        its threshold or direction (and starts it again if it had stopped), keeping what it
        already posted."""
        value = parse_threshold(threshold)
        span = parse_window(window)
        way: Direction = parse_direction(direction)
        key = f"{channel}\n{asset}\n{span}"
        row = {
            "id": hashlib.sha256(key.encode()).hexdigest()[:16],
            "place": place,
            "channel": channel,
            "asset": asset,
            "threshold": value,
            "window": span,
            "direction": way,
            "added_by": added_by,
            "added_at": utcnow().isoformat(timespec="seconds"),
            "disabled": None,
        }
        same = {"channel": channel, "asset": asset, "window": span}
        stored = self.state.add_watch_row(row, same=same, limit=self.per_server)
        if stored is None:
            raise InputError(
                f"This server has {self.per_server} watches running, the most it can have: "
                "remove one first (/watch remove)."
            )
        return _watch(stored)

    def find(self, channel: str, asset: str, window: str | None) -> Watch | None:
        """The channel's watch of this asset over this window (24h unless given), if any."""
        span = parse_window(window)
        return next(
            (w for w in self.in_channel(channel) if w.asset == asset and w.window == span), None
        )

    def remove(self, channel: str, asset: str, window: str | None = None) -> list[Watch]:
        where = {"channel": channel, "asset": asset}
        if window:
            where["window"] = parse_window(window)
        removed = self.state.remove_watch_rows(**where)
        if not removed:
            over = f" over {where['window']}" if window else ""
            raise NotFoundError(f"This channel does not watch {asset}{over}.")
        return [_watch(row) for row in removed]

    def disable_channel(self, channel: str, reason: str) -> int:
        return self.state.disable_watches(reason[:300], channel=channel)

    def last_alert(
        self, watch: Watch, falling: bool | None = None
    ) -> tuple[datetime, float, int] | None:
        """The watch's newest alert (of a fall, or of a rise, when `falling` says which)."""
        rows = self.state.alert_rows(watch.id, limit=1, falling=falling)
        if not rows:
            return None
        row = rows[0]
        return datetime.fromisoformat(row["at"]), float(row["move_pct"]), int(row["level"])


def _watch(row: dict[str, object]) -> Watch:
    return Watch(
        id=str(row["id"]),
        place=str(row["place"]),
        channel=str(row["channel"]),
        asset=str(row["asset"]),
        threshold=float(row["threshold"]),  # type: ignore[arg-type]
        window=str(row["window"]),
        direction=parse_direction(str(row["direction"])),
        added_by=str(row["added_by"]),
        added_at=str(row["added_at"]),
        disabled=None if row.get("disabled") is None else str(row["disabled"]),
    )
