"""Two bot hosts: two processes with data dirs of their own, sharing one Chroma server and one
PostgreSQL database (MARKETBOT_DATABASE_URL). Each feed is read once per interval whoever
polls, a host killed mid-poll hands its feed over when its lease expires, a feedback click on
one host is seen by the other, and two ingestions never write at once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.documents import Answer
from bot.feeds import FeedStore
from bot.feeds.model import now_iso
from bot.state import open_state
from tests.conftest import MakeServices
from tests.feeds.feed_server import FeedServer
from tests.news_files import FIXTURES, GOOD_FILES, assert_each_stored_once


def host_env(chroma: str, database: str, collection: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(
        MARKETBOT_OFFLINE="1",
        MARKETBOT_EXCHANGES="",
        MARKETBOT_CHROMA_URL=chroma,
        MARKETBOT_DATABASE_URL=database,
        MARKETBOT_COLLECTION_PREFIX=collection,
        PYTHONIOENCODING="utf-8",
        **extra,
    )
    return env


def host(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=data_dir.parent,
    )


def finish(*processes: subprocess.Popen[str]) -> list[tuple[str, str]]:
    try:
        outputs = [p.communicate(timeout=300) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in processes] == [0] * len(processes), [e for _, e in outputs]
    return outputs


@pytest.fixture
def collection(request: pytest.FixtureRequest) -> str:
    return "hosts" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8]


def test_two_hosts_polling_at_once_read_each_feed_once_per_interval(
    tmp_path: Path, chroma_server: str, database_url: str, collection: str
) -> None:
    env = host_env(chroma_server, database_url, collection)
    with FeedServer() as server:
        # A slow feed (its headers trickle in over a few seconds): the two polls overlap.
        server.set("/slow.rss", replace(server.route("/full.rss"), drip=0.02))  # type: ignore[type-var]
        url = server.url("/slow.rss")
        store = FeedStore(open_state(tmp_path / "admin", database_url))
        store.add(url, "cli")  # due now, never read

        outputs = finish(
            *(host(tmp_path / name, env, "feeds", "poll", "--allow-private") for name in "ab")
        )
        first = len(server.requests("/slow.rss"))
        [feed] = store.list()

        # The next interval: due again, both hosts poll again, one asks (and hears 304).
        store.update(url, next_poll=now_iso(datetime.now(UTC)))
        again = finish(
            *(host(tmp_path / name, env, "feeds", "poll", "--allow-private") for name in "ab")
        )
        asked = server.requests("/slow.rss")

    assert first == 1, outputs
    assert feed.items_seen == 2 and feed.etag
    said = "\n".join(out for out, _ in outputs)
    assert said.count("2 new") == 1, said
    assert len(asked) == 2 and asked[1].status == 304, again
    assert "\n".join(out for out, _ in again).count("not modified") == 1


def test_a_host_killed_mid_poll_hands_the_feed_over_when_its_lease_expires(
    tmp_path: Path,
    chroma_server: str,
    database_url: str,
    collection: str,
    make_services: MakeServices,
) -> None:
    env = host_env(
        chroma_server,
        database_url,
        collection,
        MARKETBOT_LEASE_SECONDS="4",
    )
    with FeedServer() as server:
        healthy = server.route("/full.rss")
        assert healthy is not None
        server.set("/stuck.rss", replace(healthy, drip=5.0))  # never answers in time
        url = server.url("/stuck.rss")
        FeedStore(open_state(tmp_path / "admin", database_url)).add(url, "cli")
        doomed = host(tmp_path / "a", env, "feeds", "poll", "--allow-private")
        try:
            deadline = time.monotonic() + 120
            while not server.requests("/stuck.rss"):  # host a has the lease and is fetching
                assert doomed.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            doomed.kill()  # kill -9: no clean-up, the lease stays in the database
            doomed.wait()
        server.set("/stuck.rss", healthy)

        other = make_services(
            "b",
            chroma_url=chroma_server,
            database_url=database_url,
            collection_prefix=collection,
            lease_seconds=4.0,
        )
        [(_, while_held)] = other.poll_feeds(allow_private=True)
        time.sleep(4.5)
        [(feed, after_expiry)] = other.poll_feeds(allow_private=True)

    assert while_held.status == "polled elsewhere"  # type: ignore[union-attr]
    assert after_expiry.status == "read" and after_expiry.new == 2  # type: ignore[union-attr]
    assert feed.items_seen == 2 and feed.last_error is None


def test_feedback_given_on_one_host_is_seen_on_the_other(
    tmp_path: Path,
    chroma_server: str,
    database_url: str,
    collection: str,
    make_services: MakeServices,
) -> None:
    shared = {
        "chroma_url": chroma_server,
        "database_url": database_url,
        "collection_prefix": collection,
    }
    asked_on, clicked_on = make_services("a", **shared), make_services("b", **shared)
    answer = Answer(question="why did ETH fall 14%?", status="answered", answer="It fell.")

    answer_id = asked_on.answers.record(answer, "guild 1200000000000000001")
    assert clicked_on.answers.get(answer_id) == answer  # the Sources button works there
    assert clicked_on.answers.add_feedback(answer_id, 1400000000000000041, "wrong_cause")
    assert not asked_on.answers.add_feedback(answer_id, 1400000000000000041, "wrong_cause")

    env = host_env(chroma_server, database_url, collection)
    [(out, _)] = finish(host(tmp_path / "c", env, "feedback"))
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["id"] == answer_id and row["feedback"] == {"wrong_cause": 1}


def test_two_hosts_ingesting_at_once_store_each_article_once(
    tmp_path: Path, chroma_server: str, database_url: str, collection: str
) -> None:
    env = host_env(chroma_server, database_url, collection)
    finish(host(tmp_path / "a", env, "sources", "--json"))  # the shared store, seeded
    half = len(GOOD_FILES) // 2
    # Both ingest note.txt: one of them must find it already stored.
    outputs = finish(
        host(
            tmp_path / "a", env, "ingest", *map(str, GOOD_FILES[:half]), str(FIXTURES / "note.txt")
        ),
        host(
            tmp_path / "b", env, "ingest", *map(str, GOOD_FILES[half:]), str(FIXTURES / "note.txt")
        ),
    )
    [(listing, _)] = finish(host(tmp_path / "b", env, "sources", "--json"))
    articles = json.loads(listing)

    assert_each_stored_once(articles, [out for out, _ in outputs])
