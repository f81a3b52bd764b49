"""A daily budget of model calls per place (a server, or one user in DMs).

Counts live in SQLite in the data dir, so every bot process on the same data dir shares them
and a restart does not refill them. Days are UTC days.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path


class CallBudget:
    """`take(place)` spends one call of `per_day`, or says there is none left today."""

    def __init__(self, path: Path, per_day: int) -> None:
        self.per_day = per_day
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS model_calls ("
            " place TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL,"
            " PRIMARY KEY (place, day))"
        )

    def take(self, place: str) -> bool:
        """Count one call for `place` today; False, counting nothing, when the budget is spent."""
        day = _today()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
            try:
                used = self._used(place, day)
                if used >= self.per_day:
                    return False
                self._db.execute(
                    "INSERT INTO model_calls (place, day, used) VALUES (?, ?, 1)"
                    " ON CONFLICT (place, day) DO UPDATE SET used = used + 1",
                    (place, day),
                )
                return True
            finally:
                self._db.execute("COMMIT")

    def used(self, place: str) -> int:
        """Calls `place` has made today."""
        with self._lock:
            return self._used(place, _today())

    def _used(self, place: str, day: str) -> int:
        row = self._db.execute(
            "SELECT used FROM model_calls WHERE place = ? AND day = ?", (place, day)
        ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
