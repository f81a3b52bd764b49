"""The services facade: forget, sources and the limits on questions."""

from __future__ import annotations

import pytest

from bot.errors import InputError, NotFoundError
from bot.services import MAX_QUESTION_CHARS, Services
from tests.conftest import MakeServices
from tests.news_files import FIXTURES

NOTE_QUESTION = "how much did Ether ETFs lose in three days?"


def chunk_owners(services: Services) -> set[str]:
    return {owner for _, owner, _ in services.store.iter_chunks()}


def test_forgetting_an_article_removes_it_and_all_its_chunks(
    make_services: MakeServices,
) -> None:
    services = make_services(seed=True)
    services.ingest([FIXTURES / "note.txt"])
    [note] = [a for a in services.sources() if a.title.startswith("Ether ETFs Lose")]
    chunks_before = services.store.chunk_count()
    assert note.id in {c.article_id for c in services.ask(NOTE_QUESTION).citations}

    forgotten = services.forget(note.id)

    assert forgotten.id == note.id
    assert note.id not in {a.id for a in services.sources()}
    assert services.store.article(note.id) is None
    assert services.store.chunk_count() == chunks_before - note.n_chunks
    assert note.id not in chunk_owners(services)
    answer = services.ask(NOTE_QUESTION)
    assert note.id not in {c.article_id for c in answer.citations}
    assert "$412 million" not in answer.answer


def test_a_forgotten_seed_article_stays_forgotten_after_a_restart(
    make_services: MakeServices,
) -> None:
    services = make_services("data", seed=True)
    [seed] = services.sources()

    services.forget(f"  {seed.id}\n")  # ids pasted with spaces still work
    restarted = make_services("data", seed=True)

    assert restarted.sources() == []
    assert restarted.store.chunk_count() == 0
    assert restarted.store.articles.count() == 0
    assert restarted.ask("why did ETH fall 14%?").status == "no_sources"


def test_forgetting_an_unknown_id_says_how_to_find_the_right_one(
    make_services: MakeServices,
) -> None:
    services = make_services(seed=True)

    with pytest.raises(NotFoundError) as raised:
        services.forget("deadbeef0000")

    message = str(raised.value)
    assert "deadbeef0000" in message
    assert "sources" in message
    assert len(services.sources()) == 1


def test_a_forgotten_article_can_be_ingested_again(make_services: MakeServices) -> None:
    services = make_services()
    services.ingest([FIXTURES / "note.txt"])
    [note] = services.sources()
    services.forget(note.id)

    report = services.ingest([FIXTURES / "note.txt"])

    assert report.stored == 1
    assert [a.id for a in services.sources()] == [note.id]


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_an_empty_question_is_refused_with_an_example(seeded: Services, question: str) -> None:
    with pytest.raises(InputError, match="Ask a question"):
        seeded.ask(question)


def test_an_overlong_question_is_refused_with_the_limit(seeded: Services) -> None:
    with pytest.raises(InputError, match=str(MAX_QUESTION_CHARS)):
        seeded.ask("why " * MAX_QUESTION_CHARS)


@pytest.mark.parametrize(
    "question",
    [
        "why did eth fall \udcff?",  # an undecodable byte from a shell (surrogateescape)
        "why did eth \ud805fall \x1b[2J\u202e?",  # a lone surrogate, an ESC, a bidi override
    ],
)
def test_a_question_with_undecodable_or_control_characters_is_answered(
    seeded: Services, question: str
) -> None:
    answer = seeded.ask(question)

    assert answer.status == "answered"
    assert any(c.title.startswith('A "day of terror"') for c in answer.citations)


def test_sources_are_listed_newest_first(corpus: Services) -> None:
    dates = [a.published_at for a in corpus.sources() if a.published_at]

    assert len(dates) > 10
    assert dates == sorted(dates, reverse=True)


def test_seeding_an_already_seeded_data_dir_adds_nothing(seeded: Services) -> None:
    assert seeded.seed() is None
    assert len(seeded.sources()) == 1
