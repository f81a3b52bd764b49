"""A data dir written before the shared state existed keeps working: its feeds (with their
ETags and back-off), its answers and votes, and today's budget are copied into the state once,
whether that is the data dir's SQLite file or a PostgreSQL database, and the old files are
kept, renamed. A data dir's SQLite state moves to PostgreSQL the same way."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bot.core.budget import CallBudget
from bot.core.documents import Answer
from bot.core.feedback import AnswerLog
from bot.feeds import FeedStore
from bot.state import open_state
from tests.conftest import StateTarget

USER = 1400000000000000041
SALT = "00112233445566778899aabbccddeeff"
FEED = {
    "url": "https://news.example/rss",
    "title": "Example News",
    "added_by": "discord:1400000000000000041",
    "added_at": "2025-11-01T08:00:00+00:00",
    "etag": '"abc123"',
    "last_modified": "Tue, 04 Nov 2025 10:00:00 GMT",
    "last_polled": "2025-11-04T10:00:00+00:00",
    "last_ok": "2025-11-03T10:00:00+00:00",
    "last_error": "news.example answered 503",
    "failures": 2,
    "next_poll": "2025-11-04T11:00:00+00:00",
    "items_seen": 30,
    "items_skipped": 0,
    "a_field_from_a_newer_version": 1,
}
ANSWER = Answer(question="why did ETH fall 14%?", status="answered", answer="Ether fell [1].")


def write_old_data_dir(data: Path) -> None:
    """The files an earlier marketbot left in its data dir, in their own formats."""
    data.mkdir(parents=True)
    (data / "feeds.json").write_text(json.dumps({"version": 1, "feeds": [FEED]}))
    with sqlite3.connect(data / "answers.sqlite3") as db:
        db.executescript(
            "CREATE TABLE answers (id TEXT PRIMARY KEY, asked_at TEXT NOT NULL,"
            " place TEXT NOT NULL, answer TEXT NOT NULL);"
            "CREATE TABLE feedback (answer_id TEXT NOT NULL REFERENCES answers(id),"
            " user_hash TEXT NOT NULL, kind TEXT NOT NULL, given_at TEXT NOT NULL,"
            " PRIMARY KEY (answer_id, user_hash, kind));"
            "CREATE TABLE salt (value TEXT NOT NULL);"
        )
        db.execute("INSERT INTO salt VALUES (?)", (SALT,))
        db.execute(
            "INSERT INTO answers VALUES (?, ?, ?, ?)",
            ("a1b2c3d4e5f6", "2025-11-05T09:00:00+00:00", "dm", json.dumps(ANSWER.to_json())),
        )
        user_hash = hashlib.sha256(f"{SALT}:{USER}".encode()).hexdigest()[:16]
        db.execute(
            "INSERT INTO feedback VALUES (?, ?, ?, ?)",
            ("a1b2c3d4e5f6", user_hash, "helpful", "2025-11-05T09:01:00+00:00"),
        )
    db.close()
    today = datetime.now(UTC).date().isoformat()
    with sqlite3.connect(data / "model_calls.sqlite3") as db:
        db.execute(
            "CREATE TABLE model_calls (place TEXT NOT NULL, day TEXT NOT NULL,"
            " used INTEGER NOT NULL, PRIMARY KEY (place, day))"
        )
        db.execute("INSERT INTO model_calls VALUES ('guild 1', ?, 7)", (today,))
    db.close()


def test_an_existing_data_dir_keeps_its_feeds_answers_votes_and_budget(
    state_target: StateTarget,
) -> None:
    data, url = state_target
    write_old_data_dir(data)

    state = open_state(data, url)

    [feed] = FeedStore(state).list()
    assert feed.url == FEED["url"] and feed.etag == FEED["etag"]
    assert feed.failures == 2 and feed.next_poll == FEED["next_poll"]
    assert feed.last_error == FEED["last_error"] and feed.added_by == FEED["added_by"]
    answers = AnswerLog(state)
    assert answers.get("a1b2c3d4e5f6") == ANSWER
    assert not answers.add_feedback("a1b2c3d4e5f6", USER, "helpful")  # the same user, still
    assert answers.add_feedback("a1b2c3d4e5f6", USER + 1, "helpful")
    assert [row["feedback"] for row in answers.export()] == [{"helpful": 2}]
    assert CallBudget(state, 10).used("guild 1") == 7
    for name in ("feeds.json", "answers.sqlite3", "model_calls.sqlite3"):
        assert not (data / name).exists() and (data / f"{name}.imported").exists()
    state.close()

    again = open_state(data, url)  # opened again: nothing copied twice, nothing lost
    assert len(FeedStore(again).list()) == 1
    assert [row["feedback"] for row in AnswerLog(again).export()] == [{"helpful": 2}]


def test_a_data_dir_s_sqlite_state_moves_to_postgresql(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    local = open_state(data)
    FeedStore(local).add("https://news.example/rss", "cli")
    answer_id = AnswerLog(local).record(ANSWER, "guild 1")
    AnswerLog(local).add_feedback(answer_id, USER, "wrong_cause")
    assert CallBudget(local, 10).take("guild 1")
    local.close()

    moved = open_state(data, database_url)

    assert [f.url for f in FeedStore(moved).list()] == ["https://news.example/rss"]
    assert AnswerLog(moved).get(answer_id) == ANSWER
    assert not AnswerLog(moved).add_feedback(answer_id, USER, "wrong_cause")
    assert CallBudget(moved, 10).used("guild 1") == 1
    assert (data / "state.sqlite3.imported").exists() and not (data / "state.sqlite3").exists()


def test_a_damaged_old_file_is_kept_and_the_rest_is_copied(state_target: StateTarget) -> None:
    data, url = state_target
    write_old_data_dir(data)
    (data / "feeds.json").write_text("{not json")

    state = open_state(data, url)

    assert FeedStore(state).list() == []
    assert (data / "feeds.json").read_text() == "{not json"  # left for the admin to fix
    assert AnswerLog(state).get("a1b2c3d4e5f6") == ANSWER


KILLED = """
import os, sys
from pathlib import Path
from bot.feeds import FeedStore
from bot.state import open_state
FeedStore(open_state(Path(sys.argv[1]))).add("https://news.example/rss", "cli")
os._exit(0)  # as kill -9: nothing closed, the write-ahead log not folded into the file
"""


def test_a_state_left_by_a_killed_process_moves_whole_and_its_copy_keeps_it(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-c", KILLED, str(data)], check=True)
    assert (data / "state.sqlite3-wal").stat().st_size > 0  # the feed is in the log only

    moved = open_state(data, database_url)

    assert [f.url for f in FeedStore(moved).list()] == ["https://news.example/rss"]
    with closing(sqlite3.connect(data / "state.sqlite3.imported")) as kept:
        assert kept.execute("SELECT url FROM feeds").fetchall() == [("https://news.example/rss",)]
