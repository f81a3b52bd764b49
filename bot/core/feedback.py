"""Answers given in Discord and what users said about them, kept as evaluation data.

Each answer is stored whole (question, text, citations with their quotes) under a short id that
the buttons under it carry, so "Sources" and the feedback buttons keep working after a restart.
Users are stored as a salted hash of their id: enough to count one vote per person, not to
tell who they are.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.core.documents import Answer, Citation, utcnow

# The feedback a user can give, in the order the buttons show it.
FEEDBACK = {
    "helpful": "Helpful",
    "wrong_figure": "Wrong figure",
    "wrong_cause": "Wrong cause",
    "outdated": "Outdated",
    "wrong_asset": "Wrong asset",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    asked_at TEXT NOT NULL,
    place TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    given_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_hash, kind)
);
CREATE TABLE IF NOT EXISTS salt (value TEXT NOT NULL);
"""


class AnswerLog:
    """A SQLite file in the data dir; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit, with explicit transactions where reads and writes must go together.
        self._db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.executescript(_SCHEMA)
        # Two processes opening a new file at once must agree on one salt: the read and the
        # insert happen under SQLite's write lock.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT value FROM salt ORDER BY rowid LIMIT 1").fetchone()
            if row is None:
                row = (secrets.token_hex(16),)
                self._db.execute("INSERT INTO salt VALUES (?)", row)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._salt = row[0]

    def record(self, answer: Answer, place: str) -> str:
        """Store an answer as given in `place` ("guild 123", "dm"); its id for the buttons."""
        answer_id = secrets.token_hex(6)
        data = json.dumps(answer.to_json(), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?)",
                (answer_id, utcnow().isoformat(), place, data),
            )
        return answer_id

    def get(self, answer_id: str) -> Answer | None:
        with self._lock:
            row = self._db.execute(
                "SELECT answer FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
        return _answer(json.loads(row[0])) if row else None

    def add_feedback(self, answer_id: str, user_id: int, kind: str) -> bool:
        """Record one user's verdict on an answer; False when they had already given it."""
        if kind not in FEEDBACK:
            raise ValueError(f"unknown feedback {kind!r}")
        user_hash = hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:16]
        with self._lock, self._db:
            known = self._db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,))
            if known.fetchone() is None:
                raise KeyError(answer_id)
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO feedback VALUES (?, ?, ?, ?)",
                (answer_id, user_hash, kind, utcnow().isoformat()),
            )
        return cursor.rowcount == 1

    def export(self) -> Iterator[dict[str, Any]]:
        """Every answer that received feedback: the answer as `ask --json` prints it, where and
        when it was given, and the count of each kind of feedback."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.id, a.asked_at, a.place, a.answer, f.kind, COUNT(*) "
                "FROM answers a JOIN feedback f ON f.answer_id = a.id "
                "GROUP BY a.id, f.kind ORDER BY a.asked_at, a.id"
            ).fetchall()
        current: dict[str, Any] | None = None
        for answer_id, asked_at, place, answer, kind, count in rows:
            if current is None or current["id"] != answer_id:
                if current is not None:
                    yield current
                current = {
                    "id": answer_id,
                    "asked_at": asked_at,
                    "place": place,
                    "answer": json.loads(answer),
                    "feedback": {},
                }
            current["feedback"][kind] = count
        if current is not None:
            yield current

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _answer(data: dict[str, Any]) -> Answer:
    citations = tuple(
        Citation(**{**c, "also_reported_by": tuple(c.get("also_reported_by", ()))})
        for c in data.get("citations", ())
    )
    return Answer(
        question=data["question"],
        status=data["status"],
        answer=data["answer"],
        citations=citations,
        figures=tuple(data.get("figures", ())),
        timings_ms=dict(data.get("timings_ms", {})),
        assets=tuple(data.get("assets", ())),
        premise=data.get("premise"),
        path=data.get("path", "extractive"),
        generation=data.get("generation"),
        note=data.get("note"),
    )
