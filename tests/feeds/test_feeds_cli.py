"""`marketbot feeds add` run as a user runs it (a subprocess), with addresses that are not URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.feeds import FeedStore
from bot.state import sqlite_state
from tests.test_cli import marketbot


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://[::1/", "is not a valid feed address"),
        ("http://news]example.com/feed.xml", "is not a valid feed address"),
        ("http://[1.2.3.4]/feed.xml", "is not a valid feed address"),
        ("http://[v1.news]/feed.xml", "is not a valid feed address"),
        ("http://[::1]junk/feed.xml", "is not a valid feed address"),
        ("http://news\uff03example.com@x/", "is not a valid feed address"),
        ("http://news\x1bexample.com/feed.xml", "control character"),
    ],
)
def test_feeds_add_with_a_malformed_address_says_so_in_one_line_and_stores_nothing(
    tmp_path: Path, url: str, said: str
) -> None:
    data = tmp_path / "data"

    run = marketbot(data, "feeds", "add", url)

    assert run.returncode == 2, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert said in line
    assert "Traceback" not in run.stderr and "\x1b" not in run.stderr
    assert not (data / "state.sqlite3").exists() or FeedStore(sqlite_state(data)).list() == []
