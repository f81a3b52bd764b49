"""The shared state's locks and leases, on both implementations: a lease is one holder's at a
time and passes to another when its holder dies (kill -9), the writer lock likewise, and a
database that cannot be reached is a one-line message without its password."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.files import Busy
from bot.errors import UserError
from bot.state import State, open_state
from tests.conftest import StateTarget

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


def other(target: StateTarget, name: str) -> State:
    """Another process's view of the state: with PostgreSQL, another host's data dir."""
    data_dir, url = target
    return open_state(data_dir if url is None else data_dir / name, url)


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
    first, second = other(state_target, "a"), other(state_target, "b")

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
    first, second = other(state_target, "a"), other(state_target, "b")
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
    state = other(state_target, "b")
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
    state = other(state_target, "b")
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

    states = [other(state_target, name) for name in "abc"]
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
