"""The CLI contract, run as a user runs it: `python -m bot --data-dir DIR ...` in a subprocess.

Each run loads the model (about 10 s), so the module shares one data dir and keeps runs few.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from bot.core.documents import Answer, Citation
from bot.core.embed import MiniLMEmbeddings, onnx_path
from bot.core.feedback import AnswerLog
from bot.services import build_services
from bot.state import sqlite_state
from tests.conftest import settings_for
from tests.llm_fake import FakeLLM, InThread, Reply, passage_numbers
from tests.news_files import BAD, FIXTURES
from tests.snapshot import last_close
from tests.web.site import ARTICLE_OUTLET, ARTICLE_TITLE, LocalSite

QUESTION = "why did ETH fall 14%?"
ANSWER_KEYS = {"question", "status", "answer", "citations", "figures", "timings_ms"}


def marketbot(
    data_dir: Path, *args: str, stdin: str | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; `settings` are extra environment variables (MARKETBOT_LLM=...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(MARKETBOT_OFFLINE="1", COLUMNS="250", PYTHONIOENCODING="utf-8", **settings)
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,  # away from the project's .env
        timeout=180,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli") / "data"


@pytest.fixture(scope="module")
def ingested(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """One ingest run into a fresh (so seeded) data dir: a good file and a broken one."""
    return marketbot(data_dir, "ingest", str(FIXTURES / "note.txt"), str(BAD / "truncated.json"))


def sources(data_dir: Path) -> list[dict[str, Any]]:
    run = marketbot(data_dir, "sources", "--json")
    assert run.returncode == 0, run.stderr
    listed = json.loads(run.stdout)
    assert isinstance(listed, list)
    return listed


def test_ingest_reports_each_file_and_exits_non_zero_when_one_fails(
    ingested: subprocess.CompletedProcess[str],
) -> None:
    lines = ingested.stdout.splitlines()

    assert ingested.returncode != 0
    [good] = [line for line in lines if line.startswith(str(FIXTURES / "note.txt"))]
    assert "1 found" in good and "1 new" in good
    [bad] = [line for line in lines if line.startswith(str(BAD / "truncated.json"))]
    assert "0 found" in bad
    problem = lines[lines.index(bad) + 1]
    assert problem.strip().startswith("- ")
    assert "not valid JSON" in problem
    assert "1 articles stored" in ingested.stdout or "1 article stored" in ingested.stdout


def test_ask_json_prints_one_answer_object(
    data_dir: Path, ingested: subprocess.CompletedProcess[str]
) -> None:
    run = marketbot(data_dir, "ask", "--json", QUESTION)

    assert run.returncode == 0, run.stderr
    [line] = run.stdout.strip().splitlines()
    answer = json.loads(line)
    assert set(answer) >= ANSWER_KEYS
    assert answer["question"] == QUESTION
    assert answer["status"] == "answered"
    assert "14%" in answer["answer"]
    assert answer["citations"]
    for citation in answer["citations"]:
        assert {"n", "title", "published_at", "url", "outlet", "quote"} <= set(citation)
        assert f"[{citation['n']}]" in answer["answer"]
    assert answer["timings_ms"]["total"] > 0


def test_asking_loads_the_exported_encoder_not_torch(
    data_dir: Path, ingested: subprocess.CompletedProcess[str]
) -> None:
    """What keeps `marketbot ask` quick to start: make's exported graph encodes the question;
    torch, transformers and sentence-transformers (4 s of imports) are never loaded."""
    assert onnx_path().is_file(), "make's install step did not export the encoder"
    script = (
        "import runpy, sys\n"
        "sys.argv = ['marketbot', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('bot', run_name='__main__')\n"
        "finally:\n"
        "    names = ('torch', 'transformers', 'sentence_transformers', 'onnxruntime')\n"
        "    print('LOADED', *[m for m in names if m in sys.modules], file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    run = subprocess.run(
        [sys.executable, "-c", script, "--data-dir", str(data_dir), "ask", "--json", QUESTION],
        capture_output=True,
        text=True,
        env={**env, "MARKETBOT_OFFLINE": "1"},
        cwd=data_dir.parent,
        timeout=180,
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "answered"
    [loaded] = [line.split()[1:] for line in run.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded == ["onnxruntime"]


def test_ask_json_with_a_model_configured_says_which_answer_it_shows(
    data_dir: Path, ingested: subprocess.CompletedProcess[str]
) -> None:
    """Configuration alone turns generated answers on; the JSON says what the guard did."""

    def reply(prompt: str) -> str:
        [n] = [n for title, n in passage_numbers(prompt).items() if "day of terror" in title]
        return (
            f"Ethereum crashed 14% to fall below $3,100 [{n}]. Over 470,000 investors were "
            f"forced into margin calls [{n}]. Analysts expect ETH to reach $10,000 [{n}]."
        )

    with InThread(FakeLLM(script=[Reply(reply), Reply(reply)])) as llm:
        run = marketbot(
            data_dir,
            "ask",
            "--json",
            QUESTION,
            MARKETBOT_LLM="openai:gpt-4o-mini",
            MARKETBOT_LLM_BASE_URL=llm.base_url,
        )

    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["path"] == "generated"
    assert answer["answer"].startswith("Ethereum crashed 14% to fall below $3,100 [1].")
    assert "10,000" not in answer["answer"]
    generation = answer["generation"]
    assert generation["model"] == "openai:gpt-4o-mini" and generation["calls"] == 2
    assert [(r["attempt"], r["reason"]) for r in generation["removed"]] == [
        (1, "10,000 is in no cited passage and in no figure"),
        (2, "10,000 is in no cited passage and in no figure"),
    ]
    assert len(llm.requests) == 2


def test_ask_json_dash_answers_each_stdin_line_as_a_json_line(
    data_dir: Path, ingested: subprocess.CompletedProcess[str]
) -> None:
    questions = [QUESTION, "why did TSLA jump?", "how much did Ether ETFs lose in three days?"]

    run = marketbot(data_dir, "ask", "--json", "-", stdin="\n".join(questions) + "\n\n")

    assert run.returncode == 0, run.stderr
    answers = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert [a["question"] for a in answers] == questions
    assert [a["status"] for a in answers] == ["answered", "no_sources", "answered"]
    assert all(set(a) >= ANSWER_KEYS for a in answers)
    assert "$412 million" in answers[2]["answer"]


def test_forget_removes_an_article_from_the_sources_list(
    data_dir: Path, ingested: subprocess.CompletedProcess[str]
) -> None:
    before = sources(data_dir)
    [seed] = [a for a in before if a["ingested_by"] == "bundled corpus"]
    [note] = [a for a in before if a["title"].startswith("Ether ETFs Lose $412 Million")]
    assert seed["title"].startswith('A "day of terror" for crypto')
    assert seed["published_at"] == "2025-11-05T00:00:00Z"
    assert seed["chunks"] > 0

    run = marketbot(data_dir, "forget", note["id"])

    assert run.returncode == 0, run.stderr
    assert note["id"] in run.stdout
    after = sources(data_dir)
    assert [a["id"] for a in after] == [seed["id"]]


def test_feedback_prints_each_rated_answer_as_one_json_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = AnswerLog(sqlite_state(data))
    cited = Answer(
        question=QUESTION,
        status="answered",
        answer="Ether fell 14% as leveraged longs were liquidated [1].",
        citations=(
            Citation(1, "A day of terror", "Wire", None, "2025-11-05", "ETH crashed 14%.", "a1"),
        ),
    )
    rated = log.record(cited, "guild 1200000000000000001")
    log.record(cited, "dm")  # never rated: not printed
    log.add_feedback(rated, 1400000000000000051, "helpful")
    log.add_feedback(rated, 1400000000000000052, "helpful")
    log.add_feedback(rated, 1400000000000000052, "wrong_figure")
    log.state.close()

    run = marketbot(data, "feedback")

    assert run.returncode == 0, run.stderr
    [line] = run.stdout.splitlines()
    row = json.loads(line)
    assert row["id"] == rated
    assert row["place"] == "guild 1200000000000000001"
    assert row["feedback"] == {"helpful": 2, "wrong_figure": 1}
    assert row["answer"]["question"] == QUESTION
    assert row["answer"]["answer"] == cited.answer
    assert row["answer"]["citations"][0]["quote"] == "ETH crashed 14%."


def test_price_prints_the_snapshot_price_with_its_source_as_json(tmp_path: Path) -> None:
    run = marketbot(tmp_path / "data", "price", "--json", "ether")

    assert run.returncode == 0, run.stderr
    [quote] = json.loads(run.stdout)
    assert quote["asset"] == "ETH" and quote["status"] == "snapshot"
    day, close = last_close("ETH")
    assert quote["price"] == close and "Binance" in quote["source"]
    assert quote["as_of"].startswith(day)


def test_price_of_an_unknown_asset_fails_with_one_line(tmp_path: Path) -> None:
    run = marketbot(tmp_path / "data", "price", "notacoin")

    assert run.returncode == 2
    assert "I don't know the asset" in run.stderr and "Traceback" not in run.stderr


def test_prices_import_extends_the_history_that_price_reads(tmp_path: Path) -> None:
    imported = marketbot(
        tmp_path / "data",
        "prices",
        "import",
        str(FIXTURES.parent / "prices" / "COIN.csv"),
        "--symbol",
        "AAPL",
        "--source",
        "Yahoo Finance (test)",
    )
    priced = marketbot(tmp_path / "data", "price", "--json", "AAPL")
    refused = marketbot(tmp_path / "data", "prices", "import", str(FIXTURES / "note.txt"))

    assert imported.returncode == 0, imported.stderr
    assert "AAPL: 5 daily bars, 2025-11-03 to 2025-11-07" in imported.stdout
    [quote] = json.loads(priced.stdout)
    assert quote["price"] == 309.14 and quote["source"] == "Yahoo Finance (test)"
    assert refused.returncode == 2 and "No daily bars" in refused.stderr


def test_chart_writes_a_png(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "eth.png"

    run = marketbot(data_dir, "chart", "eth", "--days", "30", "--out", str(out))

    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out}" in run.stdout and "Binance" in run.stdout


def test_feeds_poll_twice_in_a_row_ingests_new_items_once(tmp_path: Path) -> None:
    from bot.feeds import FeedStore
    from tests.feeds.feed_server import FeedServer

    data = tmp_path / "data"
    data.mkdir()
    with FeedServer() as server:
        url = server.url("/full.rss")
        FeedStore(sqlite_state(data)).add(url, "cli")  # known, never read yet
        first = marketbot(data, "feeds", "poll", "--allow-private")
        second = marketbot(data, "feeds", "poll", "--force", "--allow-private")
        asked = server.requests("/full.rss")

    assert first.returncode == 0, first.stderr
    assert "2 new" in first.stdout
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"{url}: not modified, nothing new"
    assert [r.status for r in asked] == [200, 304] and "if-none-match" in asked[1].headers
    [feed] = FeedStore(sqlite_state(data)).list()
    assert feed.url == url and feed.items_seen == 2 and feed.last_error is None


@pytest.fixture
def news_site() -> Iterator[LocalSite]:
    """The local news site, served from this process to the CLI's subprocess."""
    with LocalSite() as running:
        yield running


def test_ingest_url_is_refused_by_default_and_taken_with_allow_private(
    tmp_path: Path, news_site: LocalSite, embeddings: MiniLMEmbeddings
) -> None:
    data = tmp_path / "data"
    url = news_site.url("/article")

    refused = marketbot(data, "ingest", url)
    requests_when_refused = news_site.paths()
    taken = marketbot(data, "ingest", "--allow-private", url)

    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert "127.0.0.1, a loopback address" in line and "--allow-private" in line
    assert requests_when_refused == []
    assert taken.returncode == 0, taken.stderr
    assert f"{url}: html, 1 found, 1 new" in taken.stdout
    assert news_site.paths() == ["/article"]
    # What `sources --json` prints, read from the same store without a third model load.
    # Through the data dir's server, as the CLI's processes share it.
    store = build_services(
        settings_for(data, collection_prefix="marketbot", chroma_embedded=False),
        seed=False,
        embeddings=embeddings,
    )
    try:
        stored = store.sources()
    finally:
        store.close()
    [article] = [a.summary() for a in stored if a.ingested_by != "bundled corpus"]
    assert article["ingested_by"] == "cli"
    assert article["title"] == ARTICLE_TITLE
    assert article["url"] == url and article["outlet"] == ARTICLE_OUTLET
    assert article["published_at"] == "2025-11-18T14:30:00Z"


UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
HOSTILE_TITLE = "Ether \x1b[2J\u202e[bold]slides[/bold] :warning: as funds bleed"
SHOWN_TITLE = "Ether \\x1b[2J\\u202e[bold]slides[/bold] :warning: as funds bleed"


def test_an_ingest_report_shows_odd_file_names_and_problems_as_visible_escapes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import _print_report
    from bot.core.ingest import FileReport, IngestReport

    report = IngestReport(
        files=[
            FileReport(os.fsdecode(b"caf\xff.md"), "markdown", found=1, stored=1),
            FileReport(
                "news\x1b[2J\u202e.json", "json", problems=["item 1: \x1b]8;;x\x07 no title"]
            ),
        ]
    )

    with pytest.raises(typer.Exit):  # the second file yielded nothing
        _print_report(report, as_json=False)

    out = capsys.readouterr().out
    assert not UNSAFE.search(out)
    assert "caf\\xff.md: markdown, 1 found, 1 new" in out
    assert "news\\x1b[2J\\u202e.json: json, 0 found" in out
    assert "  - item 1: \\x1b]8;;x\\x07 no title" in out


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir written before ingestion cleaned titles: an article whose title repaints a
    terminal and holds rich markup and :emoji: codes, and a feed whose title does the same."""
    from bot.feeds import FeedStore

    data = tmp_path_factory.mktemp("hostile") / "data"
    record = {
        "title": "Ether slides as funds bleed",
        "text": "Ether fell 14% as the Zorblax exchange liquidated leveraged long positions.",
        "url": "https://news.example/ether",
        "published_at": "2025-11-04T10:00:00Z",
    }
    legacy = {"title": HOSTILE_TITLE, "outlet": "[red]Wire[/red]\x1b[31m"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(MARKETBOT_OFFLINE="1", PYTHONPATH=str(Path(__file__).parents[1]))
    script = [sys.executable, "-m", "tests.legacy_store", str(data)]
    subprocess.run(
        [*script, json.dumps([record]), json.dumps(legacy)],
        env=env,
        cwd=data.parent,
        check=True,
        timeout=180,
    )
    FeedStore(sqlite_state(data)).add("https://feeds.example/rss", "cli", title=HOSTILE_TITLE)
    return data


def test_sources_and_feeds_list_print_hostile_titles_as_visible_text(hostile_dir: Path) -> None:
    listed = marketbot(hostile_dir, "sources")
    feeds = marketbot(hostile_dir, "feeds", "list")

    for run in (listed, feeds):
        assert run.returncode == 0, run.stderr
        assert not UNSAFE.search(run.stdout)
    # Markup in a title prints as written, not as bold text; the escapes are visible.
    assert "Ether \\x1b[2J\\u202e[bold]slides[/bold]" in listed.stdout
    assert "[red]Wire[/red]\\x1b[31m" in listed.stdout
    assert SHOWN_TITLE[:40] in feeds.stdout


def test_ask_and_forget_print_a_hostile_title_as_visible_text(hostile_dir: Path) -> None:
    [article] = [a for a in sources(hostile_dir) if a["ingested_by"] == "cli"]

    asked = marketbot(hostile_dir, "ask", "what did the Zorblax exchange do?")
    forgot = marketbot(hostile_dir, "forget", article["id"])

    for run in (asked, forgot):
        assert run.returncode == 0, run.stderr
        assert not UNSAFE.search(run.stdout)
    assert SHOWN_TITLE in asked.stdout
    assert forgot.stdout.strip() == f"Forgot {article['id']}: {SHOWN_TITLE}"
