"""Paths of the synthetic news fixtures (see fixtures/news/README.md for their facts)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "news"
BAD = FIXTURES / "bad"
# Every well-formed fixture file (README.md and bad/ are not news).
GOOD_FILES = (
    FIXTURES / "coindesk-export.json",
    FIXTURES / "generic.jsonl",
    FIXTURES / "generic-list.json",
    FIXTURES / "cryptopanic.csv",
    FIXTURES / "Binance_Will_Halt_Deposits_on_the_Example_Network_20251103093000.md",
    FIXTURES / "Binance_Will_Delist_FOO_and_BAR_on_2025-11-20_20251106030011.md",
    FIXTURES / "front-matter.md",
    FIXTURES / "article.html",
    FIXTURES / "note.txt",
)


def write_articles(path: Path, articles: Sequence[Mapping[str, object]]) -> Path:
    """Write articles as a JSON list (title, body, url, published_at, source), one input file."""
    path.write_text(json.dumps(list(map(dict, articles)), ensure_ascii=False), encoding="utf-8")
    return path


def assert_each_stored_once(articles: list[dict[str, Any]], reports: list[str]) -> None:
    """After ingestions that ran at once (`sources --json` and what each `ingest` printed):
    no story is stored twice, and the articles the CLI stored are as many as the reports
    counted new, so no two writers both stored the same one."""
    by_title: dict[str, int] = {}
    for article in articles:
        by_title[article["title"]] = by_title.get(article["title"], 0) + 1
    assert max(by_title.values()) == 1, by_title
    new = sum(
        int(line.split(" new,")[0].rsplit(" ", 1)[1])
        for out in reports
        for line in out.splitlines()
        if " found, " in line
    )
    assert len([a for a in articles if a["ingested_by"] == "cli"]) == new
