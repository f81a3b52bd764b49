"""The watcher: live prices to alerts. One round reads each watched (asset, window) once,
decides with `model.decide` which watches fire, records each alert once in the shared state
(one host runs a round at a time, under a lease) and explains it as `ask` would. What is
posted, and how, is the caller's: Discord (bot/exts/watch.py) or the terminal (`watch run`)."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.alerts.model import CANDLE_WIDTH, CANDLES, WINDOWS, Move, Watch, decide, move_from_candles
from bot.alerts.store import WatchStore
from bot.core.documents import Answer, utcnow

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

EXPLAIN_WITHIN = timedelta(hours=6)  # an unexplained alert is updated once if news comes
ROUND_LEASE = "alerts:round"
MAX_PAIRS = 60  # (asset, window) pairs read per round: the request rate's bound
NO_LIVE = "No live prices (offline, or no exchange configured): watches post nothing."


@dataclass(frozen=True)
class Alert:
    """A move to post (or a posted one to update): the watch, the move, the explanation."""

    id: str
    watch: Watch
    move_pct: float
    at: datetime
    level: int
    answer: Answer
    chart: bytes | None = None
    chart_caption: str = ""
    source: str = ""
    message: str | None = None  # "channel:message", once posted

    @property
    def explained(self) -> bool:
        return explained(self.answer)

    def headline(self) -> str:
        verb = "up" if self.move_pct > 0 else "down"
        step = f" (another {self.watch.threshold:g}% step)" if self.level > 1 else ""
        return (
            f"{self.watch.asset} is {verb} {abs(self.move_pct):.1f}% in {self.watch.window}"
            f"{step}: past this channel's {self.watch.threshold:g}% watch"
        )


def explained(answer: Answer) -> bool:
    return answer.status == "answered" and bool(answer.citations)


def question_for(asset: str, move_pct: float, day: date) -> str:
    """The question an alert answers, as a user would ask it."""
    verb = "rise" if move_pct > 0 else "fall"
    return f"why did {asset} {verb} {abs(move_pct):.1f}% on {day:%-d %b %Y}?"


class Watcher:
    def __init__(
        self,
        services: Services,
        store: WatchStore | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.services = services
        self.store = store or WatchStore(services.state)
        self.clock = clock

    @property
    def live(self) -> bool:
        return self.services.market.live is not None

    def status(self) -> str | None:
        """What keeps the watches from posting, said once in /watch list."""
        return None if self.live else NO_LIVE

    def check(self) -> list[Alert]:
        """One round: the alerts to post now (each recorded, so no host posts it twice)."""
        if not self.live:
            return []
        with self.services.state.lease(ROUND_LEASE, 120) as mine:
            if not mine:  # another host runs this round
                return []
            return self._round(self.clock())

    def _round(self, now: datetime) -> list[Alert]:
        groups: dict[tuple[str, str], list[Watch]] = defaultdict(list)
        for watch in self.store.enabled():
            groups[(watch.asset, watch.window)].append(watch)
        fired: list[Alert] = []
        for asset, window in sorted(groups)[:MAX_PAIRS]:
            move = self.move(asset, window, now)
            if move is None:  # no data this round (an exchange down, rate limited, stale)
                continue
            for watch in groups[(asset, window)]:
                level = decide(watch, move, self.store.last_alert(watch))
                if level is None:
                    continue
                alert_id = _alert_id(watch, move.at, level)
                row = {
                    "id": alert_id,
                    "watch_id": watch.id,
                    "at": move.at.isoformat(timespec="seconds"),
                    "window_start": move.start.isoformat(timespec="seconds"),
                    "move_pct": round(move.pct, 4),
                    "level": level,
                    "explained": 0,
                }
                if not self.services.state.add_alert_row(row):
                    continue  # recorded already: posted by another round
                alert = self.explain(watch, move.pct, move.at, level, alert_id, move.source)
                self.services.state.update_alert_row(alert_id, explained=int(alert.explained))
                fired.append(alert)
        return fired

    def move(self, asset: str, window: str, now: datetime) -> Move | None:
        live = self.services.market.live
        if live is None:
            return None
        timeframe = CANDLES[window]
        width = CANDLE_WIDTH[timeframe]
        since = now - WINDOWS[window] - width
        count = int(WINDOWS[window] / width) + 3
        found = live.run(live.candles(asset, timeframe, since, count), 10.0)
        if not found:
            return None
        source, candles = found
        rows = [(c.at, c.open, c.close) for c in candles]
        return move_from_candles(rows, asset, window, now, width, f"{source} {timeframe} candles")

    def explain(
        self,
        watch: Watch,
        move_pct: float,
        at: datetime,
        level: int,
        alert_id: str,
        source: str = "",
        as_of: datetime | None = None,
        chart: bool = True,
        day: date | None = None,
    ) -> Alert:
        """The post for a move: the answer to "why did it move" (with `as_of`, from the news
        published before then only), and the chart around it. `day` is the move's day (the
        day of `at` unless given)."""
        day = day or at.date()
        answer = self.services.ask(
            question_for(watch.asset, move_pct, day),
            place=watch.place,
            # With as_of, it is "today" too (the question names the move's day anyway).
            asked_on=None if as_of else day,
            as_of=as_of,
        )
        png, caption = None, ""
        try:
            if chart:
                png, caption = self.services.chart(watch.asset, 7, day)
        except Exception:  # a chart is a bonus: the post goes out without it
            log.warning("no chart for the %s alert", watch.asset, exc_info=True)
        return Alert(alert_id, watch, move_pct, at, level, answer, png, caption, source)

    def posted(self, alert: Alert, message: str) -> None:
        self.services.state.update_alert_row(alert.id, message=message)

    def updates(self) -> list[Alert]:
        """Posted alerts that no news explained, within EXPLAIN_WITHIN, that news now does:
        each to be edited once (the caller calls `updated`)."""
        now = self.clock()
        since = (now - EXPLAIN_WITHIN).isoformat(timespec="seconds")
        watches = {w.id: w for w in self.store.enabled()}
        found = []
        for row in self.services.state.alert_rows(since=since):
            watch = watches.get(str(row["watch_id"]))
            if watch is None or row["explained"] or row["updated_at"] or not row["message"]:
                continue
            at = datetime.fromisoformat(str(row["at"]))
            alert = self.explain(
                watch, float(row["move_pct"]), at, int(row["level"]), str(row["id"]), chart=False
            )
            if alert.explained:
                found.append(replace(alert, message=str(row["message"])))
        return found

    def updated(self, alert: Alert) -> None:
        self.services.state.update_alert_row(
            alert.id, explained=1, updated_at=self.clock().isoformat(timespec="seconds")
        )

    def channel_gone(self, channel: str, why: str) -> int:
        """The bot can no longer post there: its watches stop, and /watch list says why."""
        stopped = self.store.disable_channel(channel, why)
        log.warning("stopped %d watches of channel %s: %s", stopped, channel, why)
        return stopped


def _alert_id(watch: Watch, at: datetime, level: int) -> str:
    key = f"{watch.id}\n{at.isoformat()}\n{level}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]
