"""Replay: the alert rule over the bundled daily prices, each alert explained only from news
published before its time (the day's close), as the watcher would have posted it then."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from bot.alerts.replay import replay
from bot.errors import InputError
from bot.services import Services
from tests.conftest import PROJECT_ROOT, MakeServices

FIRST, LAST = date(2025, 11, 1), date(2025, 11, 10)

# Three stories about ETH's days: one the day of each fall (so known at that day's close), one
# written two days after the second, the best match for it, which a replay must never cite.
STORIES = {
    "monday.md": (
        "Ether slides 7% as traders cut leveraged longs",
        "2025-11-03T15:00:00Z",
        "Ether fell 7% on Monday as traders cut leveraged long positions after a wave of "
        "liquidations on perpetual futures exchanges swept the market.",
    ),
    "tuesday.md": (
        "Ether tumbles 9% as a DeFi exploit shakes confidence",
        "2025-11-04T16:00:00Z",
        "Ether dropped 9% on Tuesday after a $120 million exploit of a DeFi lending protocol "
        "shook confidence and sent holders to the exits.",
    ),
    "later.md": (
        "Why ether fell 8.8% on 4 Nov: the full story of Tuesday's crash",
        "2025-11-06T09:00:00Z",
        "Ether fell 8.8% on 4 Nov 2025 in its worst day of the quarter: the DeFi exploit, "
        "liquidations of leveraged longs and ETF outflows drove Tuesday's ether crash.",
    ),
}


def moves_from_the_snapshot(threshold: float) -> dict[date, float]:
    """The close-to-close moves past the threshold, read from the CSV itself."""
    with (PROJECT_ROOT / "knowledge" / "prices" / "ETH.csv").open(newline="") as handle:
        rows = [(date.fromisoformat(r["date"]), float(r["close"])) for r in csv.DictReader(handle)]
    return {
        day: (close / before - 1) * 100
        for (_, before), (day, close) in pairwise(rows)
        if FIRST <= day <= LAST and abs(close / before - 1) * 100 >= threshold
    }


def published(text: str) -> datetime:
    """A citation's time (UTC when it carries no offset)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def write_stories(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (title, published, body) in STORIES.items():
        path = folder / name
        path.write_text(
            f'---\ntitle: "{title}"\ndate: {published}\nurl: https://news.example/{name[:-3]}\n'
            f"source: Example Wire\n---\n\n{body}\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_stories(tmp_path_factory.mktemp("stories"))


@pytest.fixture
def services(make_services: MakeServices, newsroom: list[Path]) -> Services:
    built = make_services(seed=False)
    report = built.ingest(newsroom)
    assert report.stored == len(STORIES)
    return built


def test_the_alerts_are_the_snapshots_moves_past_the_threshold(services: Services) -> None:
    expected = moves_from_the_snapshot(7)

    alerts = list(replay(services, "ETH", FIRST, LAST, 7))

    assert len(expected) >= 2  # the test needs moves to find
    assert {a.day: round(a.move_pct, 2) for a in alerts} == {
        d: round(p, 2) for d, p in expected.items()
    }
    for alert in alerts:
        assert alert.at == datetime(alert.day.year, alert.day.month, alert.day.day + 1, tzinfo=UTC)
        assert alert.window == "24h" and alert.level == int(abs(alert.move_pct) / 7)


def test_no_alert_cites_news_published_after_it(services: Services) -> None:
    later = "https://news.example/later"
    plain = services.ask("why did ETH fall 8.8% on 4 Nov 2025?")
    assert later in [c.url for c in plain.citations]  # asked today, the later story is best

    alerts = list(replay(services, "ETH", FIRST, LAST, 7))

    assert alerts
    for alert in alerts:
        for citation in alert.answer.citations:
            assert published(citation.published_at) < alert.at, (alert.day, citation.title)
        assert later not in [c.url for c in alert.answer.citations]
    by_day = {a.day: a for a in alerts}
    tuesday = by_day[date(2025, 11, 4)]
    assert tuesday.explained
    assert "https://news.example/tuesday" in [c.url for c in tuesday.answer.citations]


def test_the_answer_leads_with_the_move_from_the_data_even_when_no_news_explains_it(
    make_services: MakeServices,
) -> None:
    empty = make_services("empty", seed=False)

    [*alerts] = replay(empty, "ETH", FIRST, LAST, 7)

    assert alerts and not any(a.explained for a in alerts)
    for alert in alerts:
        assert alert.answer.citations == ()
        day = f"{alert.day:%-d %b %Y}"
        verb = "fell" if alert.move_pct < 0 else "rose"
        assert alert.answer.lead is not None
        assert alert.answer.lead.startswith(f"ETH {verb} {abs(alert.move_pct):.1f}% on {day}")
        assert "BTC" in alert.answer.lead  # against the market
        # Figures from the bars complete by then: the day's close, nothing later.
        quote = next(f for f in alert.answer.figures if f.kind == "quote").to_json()
        assert quote["as_of"][:10] <= alert.day.isoformat()


def test_up_or_down_only_and_a_higher_threshold(services: Services) -> None:
    downs = [a for a in replay(services, "ETH", FIRST, LAST, 7, direction="down")]
    ups = [a for a in replay(services, "ETH", FIRST, LAST, 7, direction="up")]
    high = [a for a in replay(services, "ETH", FIRST, LAST, 50)]

    assert downs and all(a.move_pct < 0 for a in downs)
    assert all(a.move_pct > 0 for a in ups)
    assert high == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"window": "1h"}, "only --window 24h"),
        ({"threshold": 0.1}, "between 0.5% and 50%"),
        ({"first": LAST, "last": FIRST}, "--to is before --from"),
        ({"asset": "FLOOPCOIN"}, "I don't know the asset"),
    ],
)
def test_a_replay_it_cannot_do_says_why(
    services: Services, args: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "asset": "ETH",
        "first": FIRST,
        "last": LAST,
        "threshold": 7,
        **args,
    }
    with pytest.raises(InputError, match=message):
        list(replay(services, **values))  # type: ignore[arg-type]


def test_the_command_prints_one_json_object_per_alert_and_a_summary(
    tmp_path: Path, newsroom: list[Path]
) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETBOT_")}
    env.update(MARKETBOT_OFFLINE="1", PYTHONIOENCODING="utf-8")

    def marketbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )

    assert marketbot("ingest", *map(str, newsroom)).returncode == 0
    run = marketbot(
        "alerts",
        "replay",
        "ETH",
        "--from",
        str(FIRST),
        "--to",
        str(LAST),
        "--threshold",
        "7",
        "--json",
    )

    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["day"] for line in lines] == [d.isoformat() for d in moves_from_the_snapshot(7)]
    for line in lines:
        assert {"asset", "at", "move_pct", "window", "answer"} <= set(line)
        assert line["asset"] == "ETH" and line["window"] == "24h"
        assert {"question", "status", "answer", "citations", "figures"} <= set(line["answer"])
        at = datetime.fromisoformat(line["at"])
        assert all(published(c["published_at"]) < at for c in line["answer"]["citations"])
    explained = sum(line["explained"] for line in lines)
    assert run.stderr.strip().splitlines()[-1] == (
        f"{len(lines)} alerts, {explained} explained, {len(lines) - explained} unexplained"
    )
