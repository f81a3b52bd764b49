"""What an answer says, seen from outside: the day a question means, the move and its causes
about the asset asked, and text that reads as prose."""

from __future__ import annotations

from datetime import date

from bot.services import Services

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
