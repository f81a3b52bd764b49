"""Several bot processes on one Chroma server (`chroma run`): news one process ingests is
answered by the others without a restart, and news one forgets stops being cited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.services import Services
from tests.conftest import MakeServices
from tests.news_files import FIXTURES

NOTE = FIXTURES / "note.txt"
NOTE_QUESTION = "how much did Ether ETFs lose in three days?"


def cited(services: Services, question: str) -> set[str]:
    return {c.title for c in services.ask(question).citations}


def test_news_ingested_by_another_process_is_answered_without_a_restart(
    chroma_server: str, make_services: MakeServices, tmp_path: Path
) -> None:
    bot = make_services("reader", seed=True, chroma_url=chroma_server, refresh_seconds=0)
    assert not any(t.startswith("Ether ETFs Lose") for t in cited(bot, NOTE_QUESTION))

    # Another process with its own data dir (another host, say) ingests through the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(
        MARKETBOT_OFFLINE="1",
        MARKETBOT_CHROMA_URL=chroma_server,
        MARKETBOT_COLLECTION_PREFIX="test",
    )
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "admin"), "ingest", str(NOTE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr

    answer = bot.ask(NOTE_QUESTION)
    assert any(c.title.startswith("Ether ETFs Lose") for c in answer.citations)
    assert "$412 million" in answer.answer

    # A third process forgets it; the bot stops citing it.
    other = make_services("other", chroma_url=chroma_server)
    [note] = [a for a in other.sources() if a.title.startswith("Ether ETFs Lose")]
    other.forget(note.id)

    assert not any(t.startswith("Ether ETFs Lose") for t in cited(bot, NOTE_QUESTION))


def test_a_bot_checks_for_other_writers_only_every_refresh_interval(
    chroma_server: str, make_services: MakeServices
) -> None:
    bot = make_services("slow-bot", chroma_url=chroma_server, refresh_seconds=3600)
    writer = make_services("writer", chroma_url=chroma_server)
    before = len(bot.retriever.articles)

    writer.ingest([FIXTURES / "front-matter.md"])

    # Within the interval the bot keeps the corpus it loaded, without asking the server.
    assert len(bot.retriever.articles) == before
    bot.retriever.refresh_seconds = 0
    assert len(bot.retriever.articles) == before + 1


def test_a_chroma_server_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(MARKETBOT_OFFLINE="1", MARKETBOT_CHROMA_URL=f"http://127.0.0.1:{port}")
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), "sources"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )

    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    [line] = [line for line in run.stderr.splitlines() if "Chroma server" in line]
    assert f"127.0.0.1:{port}" in line and "MARKETBOT_CHROMA_URL" in line
