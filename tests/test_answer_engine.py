"""What an answer says, seen from outside: the day a question means, the move and its causes
about the asset asked, and text that reads as prose."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.core.embed import MiniLMEmbeddings
from bot.services import Services, build_services
from tests.conftest import settings_for
from tests.news_files import FIXTURES

# The seed article reports the crash of 4 Nov 2025, published on 5 Nov.
DAY_AFTER_THE_CRASH = date(2025, 11, 5)


def test_yesterday_means_the_day_before_the_question_not_the_nearest_story(
    seeded: Services,
) -> None:
    long_after = seeded.ask("why did bitcoin pump 20% yesterday?", asked_on=date(2026, 12, 1))
    next_day = seeded.ask("why did ETH fall yesterday?", asked_on=DAY_AFTER_THE_CRASH)

    assert long_after.status == "no_sources"
    assert "30 Nov 2026" in long_after.answer  # the day it understood
    assert "5 Nov 2025" in long_after.answer  # and what the corpus does cover
    assert not long_after.citations
    assert next_day.status == "answered"
    assert next_day.citations[0].published_at == "2025-11-05"


def test_slang_for_a_fall_is_checked_as_a_fall(seeded: Services) -> None:
    answer = seeded.ask("why did eth nuke 14% on nov 4?")

    assert answer.status == "answered"
    assert answer.premise is not None
    assert answer.premise["direction"] == "down"
    assert answer.premise["verdict"] == "consistent"  # 15.9% from the 3 Nov open


BRIEF = FIXTURES / "briefs" / "2026-02-10-daily-brief.md"
# What Markdown and footnoted briefs leave behind when read as text.
RESIDUE = re.compile(r"\[\^?\d+\]|\\\$|\*\*|__|^#+ |TL;DR|\*\*\*|\[\^", re.MULTILINE)


@pytest.fixture(scope="module")
def briefed(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """The seed corpus plus one multi-topic daily brief. Read-only."""
    services = build_services(
        settings_for(tmp_path_factory.mktemp("briefed")), seed=True, embeddings=embeddings
    )
    report = services.ingest([BRIEF])
    assert report.files[0].stored == 1, report.files[0]
    return services


def test_a_footnoted_markdown_brief_is_stored_and_quoted_as_plain_prose(
    briefed: Services,
) -> None:
    [brief] = [a for a in briefed.sources() if a.title.startswith("Daily Crypto Market Brief")]
    body = briefed.store.article(brief.id).body  # type: ignore[union-attr]
    answers = [
        briefed.ask(q)
        for q in ("why did TON jump?", "why did dogecoin fall 6%?", "what did the exploit cost?")
    ]

    assert not RESIDUE.search(body), RESIDUE.search(body)
    assert "https://example.org" not in body  # the footnotes' targets are not prose
    assert "$71.2k" in body  # an escaped dollar is a dollar
    for answer in answers:
        assert answer.status == "answered", answer.question
        ours = re.sub(r" \[\d\]", "", answer.answer)  # the answer's own citations
        shown = ours + " ".join(c.quote for c in answer.citations)
        assert not RESIDUE.search(shown), (answer.question, RESIDUE.search(shown))


def test_each_bullet_and_heading_of_a_brief_is_a_sentence_of_its_own(briefed: Services) -> None:
    solana = briefed.ask("why did SOL drift 3% lower?").answer.split("\n", 1)[0]
    exploit = briefed.ask("how much did the lending protocol lose to the exploit?").answer

    # The Solana bullet ends without a full stop; the Dogecoin one after it is not glued on.
    assert "SOL drifted 3% lower" in solana
    assert "Dogecoin" not in solana and "DOGE" not in solana
    # Nor is the heading above the exploit's bullet.
    assert "lost $12M to a price-oracle exploit" in exploit
    assert "Security Incidents" not in exploit
