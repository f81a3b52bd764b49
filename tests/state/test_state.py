"""The shared state's locks and leases, on both implementations: a lease is one holder's at a
time and passes to another when its holder dies (kill -9), the writer lock likewise, and a
database that cannot be reached is a one-line message without its password."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from bot.core.files import Busy, LockLost
from bot.errors import UserError
from bot.state import State, open_state
from bot.state.postgres import PostgresState, lock_key
from tests.conftest import MakeServices, StateTarget, another_host
from tests.news_files import GOOD_FILES
from tests.postgres import PostgresServer

HOLD = """
import sys, time
from pathlib import Path
from bot.state import open_state
state = open_state(Path(sys.argv[1]), sys.argv[2] or None)
what = sys.argv[3]
if what == "writer":
    with state.writer(5):
        print("held", flush=True)
        time.sleep(600)
else:
    with state.lease(what, float(sys.argv[4])) as held:
        print("held" if held else "refused", flush=True)
        time.sleep(600)
"""


def holder(target: StateTarget, *args: str) -> subprocess.Popen[str]:
    data_dir, url = target
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD,
            str(data_dir / "holder" if url else data_dir),
            url or "",
            *args,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_lease_is_one_holder_s_until_it_is_released(state_target: StateTarget) -> None:
    first, second = another_host(state_target, "a"), another_host(state_target, "b")

    with first.lease("feed https://news.example/rss", 30) as held:
        assert held
        with second.lease("feed https://news.example/rss", 30) as also:
            assert not also
        with second.lease("feed https://other.example/rss", 30) as different:
            assert different  # one lease per job, not one for everything
        assert first.lease_holder("feed https://news.example/rss") == first.holder

    assert second.lease_holder("feed https://news.example/rss") is None
    assert second.try_lease("feed https://news.example/rss", 30)


def test_an_expired_lease_can_be_taken_and_a_held_one_is_renewed(
    state_target: StateTarget,
) -> None:
    first, second = another_host(state_target, "a"), another_host(state_target, "b")
    assert first.try_lease("job", 1.0)  # taken, never renewed: its holder "died"
    assert not second.try_lease("job", 1.0)
    time.sleep(1.3)
    assert second.try_lease("job", 1.0)

    with second.lease("renewed", 1.0) as held:  # renewed every third of a second
        assert held
        time.sleep(2.0)
        assert not first.try_lease("renewed", 1.0)


def test_kill_9_of_the_host_holding_a_lease_hands_it_over(state_target: StateTarget) -> None:
    process = holder(state_target, "feed https://news.example/rss", "2")
    state = another_host(state_target, "b")
    try:
        time.sleep(2.5)  # past the lease's first term: the holder keeps renewing it
        assert not state.try_lease("feed https://news.example/rss", 2)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while not state.try_lease("feed https://news.example/rss", 2):
        assert time.monotonic() < deadline, "the dead host's lease never expired"
        time.sleep(0.2)


def test_kill_9_of_the_writer_releases_the_writer_lock(state_target: StateTarget) -> None:
    process = holder(state_target, "writer")
    state = another_host(state_target, "b")
    try:
        with pytest.raises(Busy, match="try again when it has finished"), state.writer(0.5):
            pass
    finally:
        process.kill()
        process.wait()
    with state.writer(30):  # released by the kernel or the server when its holder died
        pass


def test_writers_never_overlap(state_target: StateTarget) -> None:
    import threading

    states = [another_host(state_target, name) for name in "abc"]
    inside: list[int] = []
    overlaps: list[int] = []

    def write(state: State) -> None:
        for _ in range(5):
            with state.writer(60):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.01)
                inside.pop()

    threads = [threading.Thread(target=write, args=(s,)) for s in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UserError) as refused:
        open_state(tmp_path, f"postgresql://bot:hunter2@127.0.0.1:{port}/marketbot")
    message = str(refused.value)
    assert f"127.0.0.1:{port}/marketbot" in message and "MARKETBOT_DATABASE_URL" in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize("url", ["mysql://db.example/marketbot", "not a url", "sqlite:///x.db"])
def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(UserError, match="MARKETBOT_DATABASE_URL"):
        open_state(tmp_path, url)


@pytest.mark.parametrize("key", [lock_key("marketbot writer"), 7, -7, -(2**63), 2**63 - 1])
def test_a_writer_whose_connection_drops_is_stopped_before_it_writes_again(
    tmp_path: Path, database_url: str, postgres: PostgresServer, key: int
) -> None:
    state = open_state(tmp_path / "a", database_url)
    assert isinstance(state, PostgresState)
    with state._advisory(key, 5) as still_held:
        still_held()  # held: nothing raised
        drop_advisory_sessions(postgres)  # as a restart or a failover would
        with pytest.raises(LockLost, match="run it again"):
            still_held()
        with _postgres(another_host((tmp_path, database_url), "b"))._advisory(key, 5):
            pass  # released by the server: another host may write


def test_ingestion_stops_when_its_writer_lock_is_lost(
    tmp_path: Path, database_url: str, postgres: PostgresServer, make_services: MakeServices
) -> None:
    services = make_services("a", database_url=database_url, ingest_batch_chunks=1)
    writes = services.store.write_chunks

    def drop_the_lock_after_one_batch(*args: object, **kwargs: object) -> None:
        writes(*args, **kwargs)  # type: ignore[arg-type]
        drop_advisory_sessions(postgres)

    services.store.write_chunks = drop_the_lock_after_one_batch  # type: ignore[method-assign]
    with pytest.raises(LockLost):
        services.ingest(list(GOOD_FILES[:3]), ingested_by="cli")
    services.store.write_chunks = writes  # type: ignore[method-assign]
    stopped = [a for a in services.sources() if a.ingested_by == "cli"]

    # Run again, as the message says: the rest is written, nothing twice.
    report = services.ingest(list(GOOD_FILES[:3]), ingested_by="cli")
    stored = [a for a in services.sources() if a.ingested_by == "cli"]
    assert len(stopped) == 1  # one batch of one chunk, then nothing more
    assert len(stored) == len({a.id for a in stored})
    assert sum(f.stored for f in report.files) == len(stored) - 1 and not report.failed


def drop_advisory_sessions(postgres: PostgresServer) -> None:
    """The server ends every session holding an advisory lock (the writer's)."""
    with psycopg.connect(postgres.admin_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'")


def _postgres(state: State) -> PostgresState:
    assert isinstance(state, PostgresState)
    return state


def test_reading_the_sqlite_state_never_waits_for_a_writer(tmp_path: Path) -> None:
    import threading

    from bot.core.documents import Answer
    from bot.core.feedback import AnswerLog

    data = tmp_path / "data"
    reader, writer = open_state(data), open_state(data)
    answer_id = AnswerLog(reader).record(Answer("q?", "answered", "a."), "dm")
    holding, done = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with writer._write():  # a long write transaction (a big import, say)
            holding.set()
            done.wait(60)

    thread = threading.Thread(target=hold_the_write_lock)
    thread.start()
    try:
        assert holding.wait(30)
        # Read while the write lock is held: a Sources click, the feed list, a lease check.
        assert AnswerLog(reader).get(answer_id) is not None
        assert reader.lease_holder("feed x") is None and reader.feed_rows() == []
        assert thread.is_alive()  # the writer still held it throughout
    finally:
        done.set()
        thread.join()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bot:my@secret@127.0.0.1:5432/marketbot",
        "postgresql://bot:p@ss/w:rd@127.0.0.1:5432/marketbot",
    ],
)
def test_a_password_with_unencoded_characters_is_refused_without_showing_it(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(UserError, match="percent-encode") as refused:
        open_state(tmp_path, url)
    assert "secret" not in str(refused.value) and "w:rd" not in str(refused.value)
