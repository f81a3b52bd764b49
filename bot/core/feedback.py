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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.core.documents import Answer, Citation, RecordedFigure, utcnow

if TYPE_CHECKING:
    from bot.market.premise import Premise
    from bot.state import State

# The feedback a user can give, in the order the buttons show it.
FEEDBACK = {
    "helpful": "Helpful",
    "wrong_figure": "Wrong figure",
    "wrong_cause": "Wrong cause",
    "outdated": "Outdated",
    "wrong_asset": "Wrong asset",
}


class AnswerLog:
    """The answers and their feedback in the shared state: a click lands in the same log
    whichever bot process (or host) receives it."""

    def __init__(self, state: State) -> None:
        self.state = state

    def record(self, answer: Answer, place: str) -> str:
        """Store an answer as given in `place` ("guild 123", "dm"); its id for the buttons."""
        answer_id = secrets.token_hex(6)
        data = json.dumps(answer.to_json(), ensure_ascii=False)
        self.state.record_answer(answer_id, utcnow().isoformat(), place, data)
        return answer_id

    def get(self, answer_id: str) -> Answer | None:
        data = self.state.answer(answer_id)
        return _answer(json.loads(data)) if data is not None else None

    def add_feedback(self, answer_id: str, user_id: int, kind: str) -> bool:
        """Record one user's verdict on an answer; False when they had already given it."""
        if kind not in FEEDBACK:
            raise ValueError(f"unknown feedback {kind!r}")
        user_hash = hashlib.sha256(f"{self.state.salt()}:{user_id}".encode()).hexdigest()[:16]
        return self.state.add_feedback(answer_id, user_hash, kind, utcnow().isoformat())

    def export(self) -> Iterator[dict[str, Any]]:
        """Every answer that received feedback: the answer as `ask --json` prints it, where and
        when it was given, and the count of each kind of feedback."""
        current: dict[str, Any] | None = None
        for answer_id, asked_at, place, answer, kind, count in self.state.feedback_counts():
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
        figures=tuple(RecordedFigure.from_json(f) for f in data.get("figures", ())),
        timings_ms=dict(data.get("timings_ms", {})),
        assets=tuple(data.get("assets", ())),
        premise=_premise(data.get("premise")),
        path=data.get("path", "extractive"),
        generation=data.get("generation"),
        note=data.get("note"),
    )


def _premise(data: dict[str, Any] | None) -> Premise | None:
    from bot.market.premise import Premise  # the market's type: only to read an answer back

    return Premise.from_json(data) if data else None
