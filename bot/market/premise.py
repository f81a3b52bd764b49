"""The premise check: what a question claims a price did, against what the history says.

"Why did ETH fall 14%?" could mean that day's move, the drop from the open to the low, the
slide from the previous day's open, or the week. Each window is measured from daily bars; the
claim is consistent when one window in its direction is close to it, overstated when every one
is smaller, understated when every one is larger, and the wrong direction when the net moves
all went the other way.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from bot.market.history import Series

if TYPE_CHECKING:
    from bot.market.figures import MarketContext

Verdict = Literal["consistent", "overstated", "understated", "wrong_direction", "unknown"]
# A claim within max(1.5 points, 20% of itself) of a window's move matches it.
ABSOLUTE_TOLERANCE = 1.5
RELATIVE_TOLERANCE = 0.2
FLAT = 0.1  # a net move under 0.1% has no direction
DAY_COST = 1.0  # points of fit a day further from the story costs, when choosing the move's day
WEEK = re.compile(
    r"\b(this|last|past|the) week\b|\b7 ?d(ays)?\b|\bweekly\b|\blately\b|\brecently\b",
    re.IGNORECASE,
)
_DAY = re.compile(r"\b24 ?h(ours?|rs?)?\b|\btoday\b|\bovernight\b|\bin a day\b", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    label: str
    start: date
    end: date
    pct: float
    net: bool  # open to close; False for the day's open to its low or high

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        data["pct"] = round(self.pct, 2)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Window:
        return cls(
            str(data["label"]),
            date.fromisoformat(data["start"]),
            date.fromisoformat(data["end"]),
            float(data["pct"]),
            # Logged before windows carried "net": open to low or high is the one that is not.
            bool(data.get("net", not str(data["label"]).endswith(("open to low", "open to high")))),
        )


@dataclass(frozen=True)
class Premise:
    asset: str
    claimed_pct: float | None
    direction: Literal["down", "up"] | None
    windows: tuple[Window, ...]
    verdict: Verdict
    source: str

    @property
    def sentence(self) -> str | None:
        """How the claim is off, in one sentence; None when it is not."""
        return sentence(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "claimed_pct": self.claimed_pct,
            "direction": self.direction,
            "windows": [w.to_json() for w in self.windows],
            "verdict": self.verdict,
            "source": self.source,
            "sentence": self.sentence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Premise:
        return cls(
            str(data["asset"]),
            data.get("claimed_pct"),
            data.get("direction"),
            tuple(Window.from_json(w) for w in data.get("windows", ())),
            data["verdict"],
            str(data.get("source", "")),
        )


def pct(start: float, end: float) -> float:
    return (end - start) / start * 100 if start else 0.0


def trading_day(series: Series, day: date) -> date | None:
    """`day`, or the last session before it within three days (a Saturday means Friday)."""
    if series.on(day) is not None:
        return day
    previous = series.before(day)
    return previous.day if previous and (day - previous.day).days <= 3 else None


def windows(
    series: Series, day: date, asked_for: str = "", named_day: bool = False
) -> list[Window]:
    """The windows a claimed move on `day` could mean (the one the question names, if any).
    A question naming the day ("on 6 Feb", "on wednesday") means that day, or the slide
    into it from the day before: not the week."""
    session = trading_day(series, day)
    bar = series.on(session) if session else None
    if session is None or bar is None:
        return []
    day = session
    found = [
        Window(f"{day:%-d %b} open to close", day, day, pct(bar.open, bar.close), True),
        Window(f"{day:%-d %b} open to low", day, day, pct(bar.open, bar.low), False),
        Window(f"{day:%-d %b} open to high", day, day, pct(bar.open, bar.high), False),
    ]
    previous = series.before(day)
    if previous is not None and (day - previous.day).days <= 4:
        found.append(
            Window(
                f"{previous.day:%-d %b} open to {day:%-d %b} close",
                previous.day,
                day,
                pct(previous.open, bar.close),
                True,
            )
        )
    week = series.between(day - timedelta(days=6), day)
    if len(week) >= 4:
        found.append(
            Window(
                f"week to {day:%-d %b} ({week[0].day:%-d %b} open to close)",
                week[0].day,
                day,
                pct(week[0].open, bar.close),
                True,
            )
        )
    if WEEK.search(asked_for):
        return [w for w in found if w.label.startswith("week")] or found
    if _DAY.search(asked_for):
        return [w for w in found if w.start == w.end] or found
    if named_day:
        return [w for w in found if not w.label.startswith("week")]
    return found


def verdict(
    found: list[Window], direction: Literal["down", "up"] | None, claimed: float | None
) -> Verdict:
    if not found or (direction is None and claimed is None):
        return "unknown"

    def along(value: float) -> bool:
        if abs(value) < FLAT:
            return False
        return direction is None or (value < 0 if direction == "down" else value > 0)

    if all(abs(w.pct) < FLAT for w in found if w.net):
        return "unknown"  # the price did not move: there is no direction to judge
    if direction is not None and not any(along(w.pct) for w in found if w.net):
        return "wrong_direction"
    if claimed is None:
        return "consistent"
    sizes = [abs(w.pct) for w in found if along(w.pct)]
    tolerance = max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * claimed)
    if any(abs(size - claimed) <= tolerance for size in sizes):
        return "consistent"
    if all(size < claimed for size in sizes):
        return "overstated"
    if all(size > claimed for size in sizes):
        return "understated"
    return "consistent"  # the claim lies between the windows: it depends which is meant


def check(
    series: Series,
    day: date,
    direction: Literal["down", "up"] | None,
    claimed: float | None,
    question: str = "",
    named_day: bool = False,
) -> Premise:
    found = windows(series, day, question, named_day)
    if named_day and claimed is None:
        # "Why did ETH dump on 5 Nov?" with no size: that day's own move, not a slide into
        # it from the day before (which only a claimed size that matches it can mean).
        found = [w for w in found if w.start == w.end]
    return Premise(
        series.symbol,
        claimed,
        direction,
        tuple(found),
        verdict(found, direction, claimed),
        series.source,
    )


def move_day(
    series: Series,
    around: date,
    direction: Literal["down", "up"] | None,
    claimed: float | None = None,
) -> date:
    """The day a dated story reports a move on: its own day or one of the three before it
    (news of a crash is often published the morning after, or after a weekend). With a
    claimed size, the day whose windows come closest to it the claimed way; without one,
    the day that moved most the claimed way; on a tie, the day nearest the story."""
    best: tuple[float, float, date] | None = None
    for bar in series.between(around - timedelta(days=3), around):
        # The day's own windows only: a later day's two-day window holds this day's move.
        found = [w for w in windows(series, bar.day) if w.start == w.end == bar.day]
        along = [
            abs(w.pct)
            for w in found
            if abs(w.pct) >= FLAT and (direction is None or (w.pct < 0) == (direction == "down"))
        ]
        if claimed is not None:
            if not along:
                continue  # no move the claimed way that day: not the move meant
            fit = -min(abs(size - claimed) for size in along)
        else:
            change = pct(bar.open, bar.close)
            fit = -change if direction == "down" else change if direction == "up" else abs(change)
        # Nearer the story is likelier: each day further back costs a point of fit.
        distance = float((around - bar.day).days)
        score = (fit - DAY_COST * distance, -distance, bar.day)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else around


def _main_window(premise: Premise) -> tuple[Window, str]:
    """The window an answer leads with (the day's net move, or the claimed way's largest
    when the day went the other way but the claim's direction held), and the wider slide
    to mention beside it ("15.9% from the 3 Nov open"), if any."""
    nets = [w for w in premise.windows if w.net]
    main = nets[0]
    if premise.verdict != "wrong_direction" and premise.direction is not None:
        # Describe a move the claimed way: "rose 2.1%" cannot be "less than" a claimed fall.
        claimed_way = [w for w in premise.windows if (w.pct < 0) == (premise.direction == "down")]
        if claimed_way and (main.pct < 0) != (premise.direction == "down"):
            main = max(claimed_way, key=lambda w: abs(w.pct))
    wider = [w for w in nets if w is not main and abs(w.pct) > abs(main.pct)]
    wider = [w for w in wider if (w.pct < 0) == (main.pct < 0)]
    if (main.pct < 0) != (premise.direction == "down") and premise.direction is not None:
        wider = []
    also = f", {abs(wider[0].pct):.1f}% from the {wider[0].start:%-d %b} open" if wider else ""
    return main, also


def main_window(premise: Premise) -> dict[str, Any] | None:
    """The window the lead describes, JSON-ready; None without a net move to describe."""
    if not any(w.net for w in premise.windows):
        return None
    return _main_window(premise)[0].to_json()


def lead(premise: Premise, market: MarketContext | None = None) -> str | None:
    """The answer's first line: the move as the price data has it, corrected plainly when
    the question's direction or size is off, and whether the market moved with it
    ("ETH fell 8.8% on 4 Nov 2025, 15.9% from the 3 Nov open; BTC fell 4.8% the same day:
    market-wide, and ETH moved more than BTC.")."""
    if not premise.windows or not any(w.net for w in premise.windows):
        return None
    main, also = _main_window(premise)
    moved = _moved(premise.asset, main)
    if premise.verdict == "wrong_direction":
        claimed = "rise" if premise.direction == "up" else "fall"
        text = f"{premise.asset} did not {claimed}: it {moved.split(' ', 1)[1]}{also}"
    elif premise.verdict == "overstated" and premise.claimed_pct is not None:
        text = f"{moved}{also}: less than the {premise.claimed_pct:g}% in the question"
    elif premise.verdict == "understated" and premise.claimed_pct is not None:
        text = f"{moved}{also}: more than the {premise.claimed_pct:g}% in the question"
    else:
        text = f"{moved}{also}"
    if market is not None and main.start == main.end == market.day and market.reading:
        change = round(market.benchmark_pct, 2)
        way = "fell" if change < 0 else "rose"
        text += f"; {market.benchmark} {way} {abs(change):.1f}% the same day: {market.reading}"
    return text + "."


def sentence(premise: Premise) -> str | None:
    """One sentence saying how the claim is off; None when it is not."""
    if premise.verdict in ("consistent", "unknown") or not premise.windows:
        return None
    main, also = _main_window(premise)
    moved = _moved(premise.asset, main)
    if premise.verdict == "wrong_direction":
        claimed = "rose" if premise.direction == "up" else "fell"
        return f"Price check: {moved}{also}; it did not {_base(claimed)} as the question says."
    size = f"{premise.claimed_pct:g}%"
    if premise.verdict == "overstated":
        return f"Price check: {moved}{also}, less than the {size} in the question."
    return f"Price check: {moved}{also}, more than the {size} in the question."


def _moved(asset: str, window: Window) -> str:
    verb = "fell" if window.pct < 0 else "rose"
    if window.start == window.end and not window.net:  # open to low or high
        extreme = "its low" if window.pct < 0 else "its high"
        return (
            f"{asset} {verb} at most {abs(window.pct):.1f}% on {window.end:%-d %b %Y} "
            f"(open to {extreme})"
        )
    if window.start == window.end:
        return f"{asset} {verb} {abs(window.pct):.1f}% on {window.end:%-d %b %Y}"
    return (
        f"{asset} {verb} {abs(window.pct):.1f}% from the {window.start:%-d %b} open to the "
        f"{window.end:%-d %b %Y} close"
    )


def _base(verb: str) -> str:
    return {"rose": "rise", "fell": "fall"}[verb]
