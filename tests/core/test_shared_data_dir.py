"""One data dir, several processes, as the README tells people to run it: the bot (here its CLI
twin, `marketbot ask --json -`) keeps answering while an admin ingests, forgets and adds feeds
from the shell, and nothing written by one process is lost to another. Every process is real,
and they share the store through the data dir's own Chroma server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.chroma_server import ServerFiles, StoreBusyError, read_info
from tests.conftest import MakeServices
from tests.feeds.feed_server import FeedServer
from tests.news_files import FIXTURES, GOOD_FILES, assert_each_stored_once

NOTE_QUESTION = "how much did Ether ETFs lose in three days?"
QUESTIONS = ["why did ETH fall 14%?", NOTE_QUESTION, "why did SOL slide 9%?"]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(MARKETBOT_OFFLINE="1", MARKETBOT_EXCHANGES="", PYTHONIOENCODING="utf-8", **extra)
    return env


def marketbot(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=environment(**extra),
        cwd=data_dir.parent,
        timeout=300,
    )


def start(data_dir: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(**extra),
        cwd=data_dir.parent,
    )


class Asker:
    """A long-running `marketbot ask --json -`: one question a line in, one JSON line out."""

    def __init__(self, data_dir: Path) -> None:
        self.process = start(data_dir, "ask", "--json", "-", MARKETBOT_REFRESH_SECONDS="0")

    def ask(self, question: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"the asking process died:\n{stderr[-3000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> str:
        """End the process (end of its input) and return what it wrote to stderr."""
        try:
            _, stderr = self.process.communicate(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        return stderr


def titles(answer: dict[str, Any]) -> set[str]:
    return {c["title"] for c in answer.get("citations", [])}


def stored(data_dir: Path) -> list[dict[str, Any]]:
    run = marketbot(data_dir, "sources", "--json")
    assert run.returncode == 0, run.stderr
    articles: list[dict[str, Any]] = json.loads(run.stdout)
    return articles


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def test_a_bot_keeps_answering_while_other_processes_ingest_forget_and_add_feeds(
    tmp_path: Path, feeds: FeedServer
) -> None:
    data_dir = tmp_path / "data"
    asker = Asker(data_dir)
    try:
        first = asker.ask(NOTE_QUESTION)
        assert first["status"] in ("answered", "no_sources")
        assert not any(t.startswith("Ether ETFs Lose") for t in titles(first))

        answers: list[dict[str, Any]] = []
        writing = threading.Event()
        writing.set()

        failures: list[BaseException] = []

        def keep_asking() -> None:
            n = 0
            try:
                while writing.is_set():
                    answers.append(asker.ask(QUESTIONS[n % len(QUESTIONS)]))
                    n += 1
            except BaseException as error:  # reported below, not lost with the thread
                failures.append(error)

        # Two admins at once: one ingests every fixture file, one adds a feed.
        ingest = start(data_dir, "ingest", *map(str, GOOD_FILES))
        add_feed = start(data_dir, "feeds", "add", feeds.url("/full.rss"), "--allow-private")
        reader = threading.Thread(target=keep_asking)
        reader.start()
        try:
            ingest_out, ingest_err = ingest.communicate(timeout=300)
            feed_out, feed_err = add_feed.communicate(timeout=300)
        finally:
            writing.clear()
            reader.join(timeout=120)
            for process in (ingest, add_feed):
                if process.poll() is None:  # timed out: never left behind
                    process.kill()
        assert not failures, failures
        assert ingest.returncode == 0, ingest_err
        assert add_feed.returncode == 0, feed_err

        assert len(answers) >= 3  # it was asked throughout, not only before or after
        assert all(a["status"] in ("answered", "no_sources") for a in answers), [
            a for a in answers if a["status"] not in ("answered", "no_sources")
        ]
        # News the other process ingested is answered without a restart...
        after = asker.ask(NOTE_QUESTION)
        assert any(t.startswith("Ether ETFs Lose") for t in titles(after)), after["answer"]

        # ...and news a third process forgets stops being cited.
        articles = stored(data_dir)
        [note] = [a for a in articles if a["title"].startswith("Ether ETFs Lose")]
        forget = marketbot(data_dir, "forget", note["id"])
        assert forget.returncode == 0, forget.stderr
        assert not any(t.startswith("Ether ETFs Lose") for t in titles(asker.ask(NOTE_QUESTION)))
    finally:
        stderr = asker.close()
    assert "Traceback" not in stderr, stderr[-3000:]

    # Nothing either writer stored was lost: every file's articles and the feed's items.
    report = [line for line in ingest_out.splitlines() if " found, " in line]
    expected = sum(int(line.split(" new,")[0].rsplit(" ", 1)[1]) for line in report)
    left = stored(data_dir)
    ingested_by_files = [a for a in left if a["ingested_by"] == "cli"]
    from_feed = [a for a in left if a["ingested_by"].startswith("feed:")]
    assert len(ingested_by_files) == expected - 1  # all but the forgotten one
    assert from_feed, feed_out
    assert len({a["id"] for a in left}) == len(left)


def test_two_processes_ingesting_at_once_store_each_article_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert marketbot(data_dir, "sources", "--json").returncode == 0  # seeded, server up
    half = len(GOOD_FILES) // 2
    # Both ingest note.txt: one of them must find it already stored.
    first = start(data_dir, "ingest", *map(str, GOOD_FILES[:half]), str(FIXTURES / "note.txt"))
    second = start(data_dir, "ingest", *map(str, GOOD_FILES[half:]))
    try:
        outputs = [p.communicate(timeout=300) for p in (first, second)]
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in (first, second)] == [0, 0], [e for _, e in outputs]

    articles = stored(data_dir)
    assert_each_stored_once(articles, [out for out, _ in outputs])


def _gone(pid: int, within: float) -> bool:
    """Whether the process ends within `within` seconds (a zombie, not yet reaped, has)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_the_server_dies_with_its_supervisor_and_stops_when_no_process_needs_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    files = ServerFiles.of(data_dir)
    run = marketbot(
        data_dir, "ingest", str(FIXTURES / "note.txt"), MARKETBOT_LLM_API_KEY="sk-not-for-chroma"
    )
    assert run.returncode == 0, run.stderr
    info = read_info(files)
    assert info is not None  # it outlives the process that started it, for the next one
    for pid in (info["pid"], info["chroma_pid"]):  # the server is given none of our secrets
        assert b"sk-not-for-chroma" not in Path(f"/proc/{pid}/environ").read_bytes()

    # kill -9 of the supervisor takes its server down too: no orphan holds the store's files.
    os.kill(info["pid"], signal.SIGKILL)
    assert _gone(info["chroma_pid"], within=10)

    # The next process starts a new server over the same files: nothing was lost.
    articles = {a["title"] for a in stored(data_dir)}
    assert any(t.startswith("Ether ETFs Lose") for t in articles)
    again = read_info(files)
    assert again is not None and again["pid"] != info["pid"]

    # With no process left using it, the server stops after its idle time.
    os.kill(again["pid"], signal.SIGTERM)
    assert _gone(again["chroma_pid"], within=20)
    run = marketbot(data_dir, "sources", "--json", MARKETBOT_CHROMA_IDLE_SECONDS="1")
    assert run.returncode == 0, run.stderr
    [serving] = [line for line in files.log.read_text().splitlines() if " serving " in line]
    supervisor = int(serving.split("supervisor ", 1)[1].split(":", 1)[0])
    assert _gone(supervisor, within=20)
    assert read_info(files) is None
    assert "no process used the server: stopped" in files.log.read_text()


def test_a_process_that_opened_the_store_alone_refuses_others_in_one_line(
    make_services: MakeServices, tmp_path: Path
) -> None:
    alone = make_services("data", chroma_embedded=True)
    run = marketbot(tmp_path / "data", "ingest", str(FIXTURES / "note.txt"))
    assert run.returncode == 2
    assert "MARKETBOT_CHROMA_EMBEDDED" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 3  # one message, wrapped at most
    assert not any(a.title.startswith("Ether ETFs Lose") for a in alone.sources())


def test_a_store_shared_through_its_server_refuses_a_process_that_wants_it_alone(
    make_services: MakeServices,
) -> None:
    shared = make_services("data", chroma_embedded=False)
    try:
        with pytest.raises(StoreBusyError, match="MARKETBOT_CHROMA_EMBEDDED"):
            make_services("data", chroma_embedded=True)
        assert shared.sources() == []  # the shared store still works
    finally:
        shared.close()


def test_a_bot_answers_through_a_restart_of_its_server_and_of_its_supervisor(
    make_services: MakeServices,
) -> None:
    bot = make_services("data", seed=True, chroma_embedded=False)
    files = ServerFiles.of(bot.settings.data_dir)
    try:
        assert bot.ask("why did ETH fall 14%?").status == "answered"
        info = read_info(files)
        assert info is not None

        # The server dies (the OOM killer, say): its supervisor starts it again, same port.
        os.kill(info["chroma_pid"], signal.SIGKILL)
        assert bot.ask("why did ETH fall 14%?").status == "answered"
        restarted = read_info(files)
        assert restarted is not None and restarted["pid"] == info["pid"]
        assert restarted["chroma_pid"] != info["chroma_pid"]
        assert restarted["port"] == info["port"]

        # The supervisor dies too: the bot starts a new one and goes on answering.
        os.kill(info["pid"], signal.SIGKILL)
        assert _gone(restarted["chroma_pid"], within=10)
        assert bot.ask("why did ETH fall 14%?").status == "answered"
        again = read_info(files)
        assert again is not None and again["pid"] != info["pid"]
    finally:
        bot.close()


def test_a_server_that_answers_late_is_waited_for_not_replaced(
    make_services: MakeServices,
) -> None:
    from bot.core.chroma_server import LocalChromaServer

    bot = make_services("data", chroma_embedded=False)
    files = ServerFiles.of(bot.settings.data_dir)
    try:
        info = read_info(files)
        assert info is not None
        os.kill(info["chroma_pid"], signal.SIGSTOP)  # busy, swapping: no answer for a while
        threading.Timer(3.0, os.kill, (info["chroma_pid"], signal.SIGCONT)).start()

        lease = LocalChromaServer(files.data_dir, bot.settings.chroma_path).connect()
        lease.close()

        assert lease.url.endswith(f":{info['port']}")
        assert read_info(files) == info  # the same server, still announced to the others
        assert bot.sources() == []
    finally:
        bot.close()


def test_a_proxy_in_the_environment_never_comes_between_a_process_and_its_store(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    refusing = "http://127.0.0.1:9"  # nothing listens there: a request through it fails

    run = marketbot(
        data_dir, "sources", "--json", http_proxy=refusing, HTTP_PROXY=refusing, no_proxy=""
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)  # the seeded corpus, read through the local server


def test_a_data_dir_deleted_and_made_again_is_served_by_one_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    files = ServerFiles.of(data_dir)
    assert marketbot(data_dir, "ingest", str(FIXTURES / "note.txt")).returncode == 0
    first = read_info(files)
    assert first is not None

    shutil.rmtree(data_dir)  # an admin starts over while the old server idles
    data_dir.mkdir()  # at once, before the old supervisor's next look
    run = marketbot(data_dir, "ingest", str(FIXTURES / "note.txt"))
    assert run.returncode == 0, run.stderr

    # The old server, serving files that no longer exist, leaves: never two on one dir.
    assert _gone(first["pid"], within=20)
    assert _gone(first["chroma_pid"], within=20)
    second = read_info(files)
    assert second is not None and second["pid"] != first["pid"]
    assert any(t.startswith("Ether ETFs Lose") for t in {a["title"] for a in stored(data_dir)})
