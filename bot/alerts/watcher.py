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
from typing import TYPE_CHECKING, Any

from bot.alerts.model import (
    CANDLE_WIDTH,
    CANDLES,
    WINDOWS,
    Move,
    Watch,
    decide,
    move_from_candles,
    same_move,
)
from bot.alerts.store import WatchStore
from bot.core.documents import Answer, utcnow
from bot.errors import InputError

if TYPE_CHECKING:
    from bot.core.assets import AssetTable
    from bot.services import Services

log = logging.getLogger(__name__)

EXPLAIN_WITHIN = timedelta(hours=6)  # an unexplained alert is updated once if news comes
RETRY_WITHIN = timedelta(minutes=15)  # an alert that could not be posted is tried again,
RETRY_AFTER = timedelta(minutes=3)  # once it is this old: its host had time to post it
KEEP_ALERTS = timedelta(days=7)  # the rule needs the last alert of a move, within a window
MAX_PAIRS = 60  # (asset, window) pairs read per round: the request rate's bound
NO_LIVE = "No live prices (offline, or no exchange configured): watches post nothing."


class NotWatchable(InputError):
    """An asset the live exchanges have no prices for."""


def check_watchable(assets: AssetTable, symbol: str) -> None:
    """Only crypto trades on the exchanges the watcher reads (ccxt): a stock or an ETF has no
    live prices to watch."""
    info = assets.assets.get(symbol)
    if info is not None and info.kind != "crypto":
        raise NotWatchable(
            f"{symbol} can't be watched: the live exchanges trade crypto only, so there are no "
            f"live prices for it (/price and /chart use its daily history)."
        )


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
    again: bool = False  # a further step of a move already posted
    benchmark: tuple[str, float] | None = None  # BTC's move over the same window

    @property
    def explained(self) -> bool:
        return explained(self.answer)

    def headline(self) -> str:
        verb = "up" if self.move_pct > 0 else "down"
        step = f" (another {self.watch.threshold:g}% step)" if self.again else ""
        market = ""
        if self.benchmark is not None:
            name, pct = self.benchmark
            market = f"; {name} {'+' if pct >= 0 else '−'}{abs(pct):.1f}%"
        return (
            f"{self.watch.asset} is {verb} {abs(self.move_pct):.1f}% in {self.watch.window}"
            f"{market}{step}: past this channel's {self.watch.threshold:g}% watch"
        )


def explained(answer: Answer) -> bool:
    return answer.status == "answered" and bool(answer.citations)


def question_for(asset: str, move_pct: float, day: date) -> str:
    """The question an alert answers, as a user would ask it."""
    verb = "rise" if move_pct > 0 else "fall"
    return f"why did {asset} {verb} {abs(move_pct):.1f}% on {day:%-d %b %Y}?"


class Watcher:
    """Rounds over the watches it serves (`serves`: the Discord bot those of Discord channels,
    `marketbot watch run` the console's), one host at a time per kind (a lease)."""

    def __init__(
        self,
        services: Services,
        store: WatchStore | None = None,
        clock: Callable[[], datetime] = utcnow,
        serves: Callable[[Watch], bool] = lambda watch: True,
        name: str = "discord",
    ) -> None:
        self.services = services
        self.store = store or WatchStore(services.state)
        self.clock = clock
        self.serves = serves
        self.lease = f"alerts:{name}"
        self._asked_at_revision: str | None = None

    @property
    def live(self) -> bool:
        return self.services.market.live is not None

    def status(self) -> str | None:
        """What keeps the watches from posting, said once in /watch list."""
        if not self.live:
            return NO_LIVE
        pairs = {(w.asset, w.window) for w in self._watches()}
        if len(pairs) > MAX_PAIRS:
            return (
                f"{len(pairs)} assets and windows are watched; each round reads the first "
                f"{MAX_PAIRS} (alphabetically): the others post nothing."
            )
        return None

    def _watches(self) -> list[Watch]:
        return [w for w in self.store.enabled() if self.serves(w)]

    def check(self) -> list[Alert]:
        """One round: the alerts to post now, each recorded once (the caller calls `posted`;
        one that was not posted is offered again for RETRY_WITHIN)."""
        if not self.live:
            return []
        with self.services.state.lease(self.lease, self.services.settings.lease_seconds) as mine:
            if not mine:  # another host runs these rounds
                return []
            now = self.clock()
            self.services.state.prune_alerts((now - KEEP_ALERTS).isoformat(timespec="seconds"))
            return self._unposted(now) + self._round(now)

    def _round(self, now: datetime) -> list[Alert]:
        groups: dict[tuple[str, str], list[Watch]] = defaultdict(list)
        for watch in self._watches():
            groups[(watch.asset, watch.window)].append(watch)
        if len(groups) > MAX_PAIRS:
            log.warning("%d assets and windows watched; reading %d", len(groups), MAX_PAIRS)
        benchmarks: dict[str, Move | None] = {}
        fired: list[Alert] = []
        for asset, window in sorted(groups)[:MAX_PAIRS]:
            move = self.move(asset, window, now)
            if move is None:  # no data this round (an exchange down, rate limited, stale)
                continue
            for watch in groups[(asset, window)]:
                last = self.store.last_alert(watch, falling=move.pct < 0)
                level = decide(watch, move, last)
                if level is None:
                    continue
                if asset != "BTC" and window not in benchmarks:
                    benchmarks[window] = self.move("BTC", window, now)
                market = benchmarks.get(window) if asset != "BTC" else None
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
                    continue  # recorded already
                alert = self._explained(
                    watch,
                    row,
                    move.source,
                    again=same_move(move, last),
                    benchmark=("BTC", market.pct) if market else None,
                )
                if alert is not None:
                    fired.append(alert)
        return fired

    def _unposted(self, now: datetime) -> list[Alert]:
        """Alerts recorded but not posted (the post failed, the process died): those older
        than RETRY_AFTER, so that one a host is posting now is not taken by another, and
        younger than RETRY_WITHIN, so that an old move is not posted late."""
        since = (now - RETRY_WITHIN).isoformat(timespec="seconds")
        settled = (now - RETRY_AFTER).isoformat(timespec="seconds")
        watches = {w.id: w for w in self._watches()}
        found = []
        for row in self.services.state.alert_rows(since=since):
            watch = watches.get(str(row["watch_id"]))
            if watch is not None and row["message"] is None and str(row["at"]) <= settled:
                alert = self._explained(watch, row, again=False)
                if alert is not None:
                    found.append(alert)
        return found

    def _explained(
        self, watch: Watch, row: dict[str, Any], source: str = "", **extra: Any
    ) -> Alert | None:
        """The alert of a recorded row, explained; None (tried again next round) if that
        failed: one alert's failure never loses the others."""
        try:
            alert = self._explain_row(watch, row, source)
        except Exception:
            log.exception("could not explain the %s alert", watch.asset)
            return None
        self.services.state.update_alert_row(alert.id, explained=int(alert.explained))
        return replace(alert, **extra)

    def _explain_row(
        self, watch: Watch, row: dict[str, Any], source: str = "", chart: bool = True
    ) -> Alert:
        """`explain` for an alert as the state recorded it."""
        return self.explain(
            watch,
            float(row["move_pct"]),
            datetime.fromisoformat(str(row["at"])),
            int(row["level"]),
            str(row["id"]),
            source,
            chart=chart,
            window_start=datetime.fromisoformat(str(row["window_start"])),
        )

    def move(self, asset: str, window: str, now: datetime) -> Move | None:
        live = self.services.market.live
        if live is None:
            return None
        timeframe = CANDLES[window]
        width = CANDLE_WIDTH[timeframe]
        since = now - WINDOWS[window] - width
        count = int(WINDOWS[window] / width) + 3
        wait = max(self.services.settings.live_timeout, 5.0)
        found = live.run(live.candles(asset, timeframe, since, count), wait)
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
        window_start: datetime | None = None,
    ) -> Alert:
        """The post for a move: the answer to "why did it move" (with `as_of`, from the news
        published before then only), and the chart around it. `day` is the move's day: the
        day holding most of the window (at 00:30 UTC a 24h move is yesterday's)."""
        if day is None:
            start = window_start or at - WINDOWS[watch.window]
            day = (start + (at - start) / 2).date()
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
        each to be edited once (the caller calls `updated`). Asked again only when the store
        has changed since the last time, and by one host at a time."""
        retriever = self.services.retriever
        retriever.catch_up()  # news another process added, now, not at the next refresh
        revision = retriever.revision
        if revision == self._asked_at_revision:
            return []
        with self.services.state.lease(
            f"{self.lease}:updates", self.services.settings.lease_seconds
        ) as mine:
            if not mine:
                return []
            found, complete = self._updates()
            if complete:  # every pending alert asked: the next change asks again
                self._asked_at_revision = revision
            return found

    def update_failed(self, alert: Alert) -> None:
        """The edit did not go through: the next round asks again."""
        self._asked_at_revision = None

    def _updates(self) -> tuple[list[Alert], bool]:
        now = self.clock()
        complete = True
        since = (now - EXPLAIN_WITHIN).isoformat(timespec="seconds")
        watches = {w.id: w for w in self._watches()}
        found = []
        for row in self.services.state.alert_rows(since=since):
            watch = watches.get(str(row["watch_id"]))
            message = str(row["message"] or "")
            if watch is None or row["explained"] or row["updated_at"] or ":" not in message:
                continue
            if message.startswith("refused:"):  # never posted: nothing to edit
                continue
            try:
                alert = self._explain_row(watch, row, chart=False)
            except Exception:
                log.exception("could not explain the %s alert again", watch.asset)
                complete = False
                continue
            if alert.explained:
                found.append(replace(alert, message=str(row["message"])))
        return found, complete

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
