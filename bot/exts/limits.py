"""How often one user, and one server, may make the bot work: the same budget for every way of
asking (/ask, a DM, a mention, a reply), and one each for /chart and /price, so nobody can keep
the bot busy through a door the others left open."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from discord import app_commands


@dataclass(frozen=True)
class Rate:
    times: int
    per: float  # seconds


# kind of work -> (per user, per server; in a DM the user is the server)
RATES: dict[str, tuple[Rate, Rate]] = {
    "ask": (Rate(3, 30.0), Rate(20, 60.0)),  # retrieval, and maybe a model call
    "chart": (Rate(2, 30.0), Rate(10, 60.0)),  # a matplotlib render
    "price": (Rate(5, 30.0), Rate(30, 60.0)),  # exchange calls
}
NOTICE_EVERY = 60.0  # a user told to slow down is not told again within this many seconds
MAX_KEYS = 10_000  # windows kept (a few MB); past this the idle, then the oldest, go


class Limited(app_commands.CheckFailure):
    """Over a limit: who is (this user, or everyone in the server) and for how long."""

    def __init__(self, retry_after: float, server: bool) -> None:
        super().__init__(f"rate limited for {retry_after:.1f} s")
        self.retry_after = retry_after
        self.server = server

    def message(self) -> str:
        seconds = max(1, math.ceil(self.retry_after))
        if self.server:
            return f"This server is asking a lot right now: try again in {seconds} s."
        return f"Slow down a little: try again in {seconds} s."


class Windows:
    """Sliding windows of recent hits, one per key, bounded in number."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[object, list[float]] = {}
        self._longest = 0.0  # the longest period asked about: a window idle that long is empty

    def wait(self, key: object, rate: Rate) -> float:
        """Seconds until KEY may be hit again under RATE (0: now)."""
        self._longest = max(self._longest, rate.per)
        hits = self._hits.get(key)
        if hits is None:
            return 0.0
        now = self.clock()
        hits[:] = [t for t in hits if t > now - rate.per]
        return 0.0 if len(hits) < rate.times else hits[0] + rate.per - now

    def hit(self, key: object) -> None:
        if key not in self._hits and len(self._hits) >= MAX_KEYS:
            self._sweep()
        self._hits.setdefault(key, []).append(self.clock())

    def _sweep(self) -> None:
        """Drop the windows idle for longer than any period (they hold nothing that counts);
        if that frees too little, the quarter with the oldest last hit."""
        idle = self.clock() - self._longest
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= idle]:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS * 3 // 4:
            by_last = sorted(self._hits, key=lambda k: self._hits[k][-1])
            for key in by_last[: len(by_last) // 4]:
                del self._hits[key]


class Limits:
    """The per-user and per-server budgets of each kind of work."""

    def __init__(
        self,
        rates: dict[str, tuple[Rate, Rate]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = RATES if rates is None else rates
        self.windows = Windows(clock)
        self.notices = Windows(clock)

    def take(self, kind: str, user_id: int, guild_id: int | None) -> None:
        """Count one piece of work, or raise Limited without counting it."""
        per_user, per_server = self.rates[kind]
        user, server = (kind, "user", user_id), (kind, "server", guild_id or f"dm {user_id}")
        wait = self.windows.wait(user, per_user)
        if wait > 0:
            raise Limited(wait, server=False)
        wait = self.windows.wait(server, per_server)
        if wait > 0:
            raise Limited(wait, server=True)
        self.windows.hit(user)
        self.windows.hit(server)

    def once(self, what: str, user_id: int, every: float = NOTICE_EVERY) -> bool:
        """Whether to send a user a notice (that they are limited, say) now: at most once
        every EVERY seconds, since a notice is itself a message someone could make the bot
        send over and over."""
        key, rate = (what, user_id), Rate(1, every)
        if self.notices.wait(key, rate) > 0:
            return False
        self.notices.hit(key)
        return True
