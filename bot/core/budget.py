"""A daily budget of model calls per place (a server, or one user in DMs).

Counts live in the shared state (SQLite in the data dir, or PostgreSQL for several hosts), so
every bot process sharing it spends from one budget and a restart does not refill it. Days are
UTC days.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.state import State


class CallBudget:
    """`take(place)` spends one call of `per_day`, or says there is none left today."""

    def __init__(self, state: State, per_day: int) -> None:
        self.per_day = per_day
        self.state = state

    def take(self, place: str) -> bool:
        """Count one call for `place` today; False, counting nothing, when the budget is spent."""
        return self.state.take_call(place, _today(), self.per_day)

    def used(self, place: str) -> int:
        """Calls `place` has made today."""
        return self.state.calls_used(place, _today())


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
