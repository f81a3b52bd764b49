"""The answer log behind the buttons: answers kept whole, one vote per user and kind, exported
as evaluation data, and users kept as hashes, not ids."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.core.documents import Answer, Citation, RecordedFigure
from bot.core.feedback import AnswerLog
from bot.state import State, open_state
from bot.state.schema import metadata
from tests.conftest import StateTarget, another_host

USER, OTHER = 1400000000000000041, 1400000000000000042


def answer(question: str = "why did ETH fall 14%?") -> Answer:
    return Answer(
        question=question,
        status="answered",
        answer="Ether fell 14% as leveraged longs were liquidated [1], and ETFs saw outflows [2].",
        citations=(
            Citation(
                n=1,
                title="A \u201cday of terror\u201d for crypto",
                outlet="Example Wire",
                url="https://news.example/terror",
                published_at="2025-11-05",
                quote="Ethereum suffered an even steeper decline, crashing 14% below $3,100.",
                article_id="a1",
                also_reported_by=("Other Wire", "Third Wire"),
            ),
            Citation(
                n=2,
                title="Ether ETFs lose $412 million",
                outlet=None,
                url=None,
                published_at=None,
                quote="U.S. spot Ether ETFs saw $219 million in net outflows on Nov. 4.",
                article_id="a2",
            ),
        ),
        figures=(RecordedFigure("move", "ETH", "-14% in a day", {"pct": -14.0}),),
        timings_ms={"total": 12.5},
        assets=("ETH",),
    )


@pytest.fixture
def log(state: State) -> AnswerLog:
    return AnswerLog(state)


def test_an_answer_comes_back_whole_with_its_citations_and_quotes(log: AnswerLog) -> None:
    given = answer()

    answer_id = log.record(given, "guild 1200000000000000001")

    assert re.fullmatch(r"[0-9a-f]{12}", answer_id)  # what the buttons' custom_ids carry
    assert log.get(answer_id) == given
    assert log.get("000000000000") is None


def test_each_answer_gets_its_own_id(log: AnswerLog) -> None:
    ids = {log.record(answer(), "dm") for _ in range(20)}

    assert len(ids) == 20


def test_a_user_counts_once_per_kind_of_feedback(log: AnswerLog) -> None:
    answer_id = log.record(answer(), "dm")

    assert log.add_feedback(answer_id, USER, "helpful") is True
    assert log.add_feedback(answer_id, USER, "helpful") is False
    assert log.add_feedback(answer_id, USER, "wrong_figure") is True
    assert log.add_feedback(answer_id, OTHER, "helpful") is True

    [row] = log.export()
    assert row["feedback"] == {"helpful": 2, "wrong_figure": 1}


def test_feedback_on_an_unknown_answer_or_of_an_unknown_kind_is_refused(log: AnswerLog) -> None:
    answer_id = log.record(answer(), "dm")

    with pytest.raises(KeyError):
        log.add_feedback("0123456789ab", USER, "helpful")
    with pytest.raises(ValueError, match="unknown feedback"):
        log.add_feedback(answer_id, USER, "great")
    assert list(log.export()) == []


def test_export_lists_each_rated_answer_once_with_its_counts(log: AnswerLog) -> None:
    eth = log.record(answer(), "guild 1200000000000000001")
    btc = log.record(answer("why did BTC fall?"), "dm")
    log.record(answer("why did SOL fall?"), "dm")  # never rated: not exported
    log.add_feedback(eth, USER, "helpful")
    log.add_feedback(eth, OTHER, "helpful")
    log.add_feedback(eth, OTHER, "outdated")
    log.add_feedback(btc, USER, "wrong_asset")

    rows = {row["id"]: row for row in log.export()}

    assert set(rows) == {eth, btc}
    assert rows[eth]["feedback"] == {"helpful": 2, "outdated": 1}
    assert rows[btc]["feedback"] == {"wrong_asset": 1}
    assert rows[eth]["place"] == "guild 1200000000000000001" and rows[btc]["place"] == "dm"
    assert rows[eth]["asked_at"].startswith("20")
    exported = rows[eth]["answer"]
    assert exported["question"] == "why did ETH fall 14%?"
    assert exported["answer"] == answer().answer
    assert [c["quote"] for c in exported["citations"]] == [c.quote for c in answer().citations]
    assert exported["citations"][0]["also_reported_by"] == ["Other Wire", "Third Wire"]


def test_answers_and_votes_survive_reopening_the_state(state_target: StateTarget) -> None:
    first = open_state(*state_target)
    log = AnswerLog(first)
    answer_id = log.record(answer(), "dm")
    log.add_feedback(answer_id, USER, "helpful")
    first.close()

    reopened = open_state(*state_target)
    try:
        again = AnswerLog(reopened)
        assert again.get(answer_id) == answer()
        assert again.add_feedback(answer_id, USER, "helpful") is False  # still the same user
        assert again.add_feedback(answer_id, OTHER, "helpful") is True
        [row] = again.export()
        assert row["feedback"] == {"helpful": 2}
    finally:
        reopened.close()


def test_two_processes_sharing_the_state_count_one_vote_per_user(
    state_target: StateTarget,
) -> None:
    states = [another_host(state_target, name) for name in "ab"]
    bot, cli = (AnswerLog(s) for s in states)
    try:
        answer_id = bot.record(answer(), "dm")
        assert cli.get(answer_id) == answer()
        assert bot.add_feedback(answer_id, USER, "helpful") is True
        assert cli.add_feedback(answer_id, USER, "helpful") is False
        assert [row["feedback"] for row in cli.export()] == [{"helpful": 1}]
    finally:
        for opened in states:
            opened.close()


def test_user_ids_are_not_stored_in_clear(state: State) -> None:
    log = AnswerLog(state)
    answer_id = log.record(answer(), "dm")
    for kind in ("helpful", "wrong_cause"):
        log.add_feedback(answer_id, USER, kind)

    with state.engine.connect() as db:
        stored = "\n".join(
            repr(tuple(row))
            for table in metadata.sorted_tables
            for row in db.execute(select(table))
        ).encode()
    assert answer().citations[0].quote.encode() in stored  # what is stored is readable
    assert str(USER).encode() not in stored
    assert USER.to_bytes(8, "big") not in stored and USER.to_bytes(8, "little") not in stored
