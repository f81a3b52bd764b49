"""Hybrid retrieval: the asked asset first, syndicated copies collapsed, the named day preferred."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.embed import MiniLMEmbeddings
from bot.core.question import parse
from bot.core.retrieval import Retrieval
from bot.services import Services, build_services
from tests.conftest import settings_for
from tests.news_files import write_articles

SOL_TITLES = (
    "Solana Slides 9% After Validator Client Bug Halts Block Production for 40 Minutes",
    "SOL drops 9% as validator bug freezes Solana for 40 minutes",
)
DOT_BODY = (
    "Polkadot's DOT token fell 11% to $2.95 after the network's treasury approved the sale of "
    "25 million DOT to fund ecosystem grants. Traders said the size of the sale, about 1.6% of "
    "the circulating supply, caught the market off guard. Open interest in DOT perpetual futures "
    "dropped by $60 million as leveraged longs were closed."
)
CRAFTED = [
    {
        "title": "Polkadot Sinks 11% as Treasury Approves 25 Million DOT Sale",
        "body": DOT_BODY,
        "url": "https://outlet-one.example/dot-sinks",
        "published_at": "2025-11-12T10:00:00Z",
        "source": "Outlet One",
    },
    {
        # The same story rewritten lightly by a second outlet: a different fingerprint.
        "title": "DOT tumbles 11% after treasury sale vote",
        "body": DOT_BODY.replace("caught the market off guard", "surprised the market")
        + " The foundation did not comment.",
        "url": "https://outlet-two.example/dot-tumbles",
        "published_at": "2025-11-12T11:30:00Z",
        "source": "Outlet Two",
    },
    {
        "title": "Aptos falls 6% as token unlock hits the market",
        "body": "Aptos's APT token fell 6% to $3.10 after a scheduled unlock released 11 million "
        "APT to early investors and the core team. Exchange inflows of the token doubled in the "
        "following hours as recipients moved coins to trading venues.",
        "url": "https://chain-times.example/apt-unlock",
        "published_at": "2025-09-03T09:00:00Z",
        "source": "Chain Times",
    },
    {
        "title": "Aptos drops 8% after lending protocol pauses withdrawals",
        "body": "APT dropped 8% to $2.40 after the largest lending protocol on Aptos paused "
        "withdrawals because of a faulty price oracle. Depositors rushed to exit positions once "
        "withdrawals reopened, and the protocol's total value locked shrank by a third.",
        "url": "https://ledger-daily.example/apt-lending",
        "published_at": "2025-12-12T15:00:00Z",
        "source": "Ledger Daily",
    },
]
APT_SEPT, APT_DEC = CRAFTED[2]["title"], CRAFTED[3]["title"]


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """The seed article plus two rewrites of one DOT story and two APT drops months apart."""
    folder = tmp_path_factory.mktemp("crafted")
    services = build_services(settings_for(folder / "data"), seed=True, embeddings=embeddings)
    report = services.ingest([write_articles(folder / "crafted.json", CRAFTED)])
    assert report.files[0].stored == len(CRAFTED)
    return services


def search(services: Services, question: str, k: int = 6) -> Retrieval:
    return services.retriever.search(parse(question, services.assets), k=k)


@pytest.mark.parametrize(
    ("question", "symbol", "title_start"),
    [
        ("why did SOL fall?", "SOL", "S"),  # either copy of the validator-bug story
        ("why did XRP rise?", "XRP", "XRP climbs 6%"),
        ("why did DOGE go up?", "DOGE", "Dogecoin Whales"),
        ("why did ADA drop?", "ADA", "Cardano Slips 7%"),
        ("why did BNB rally?", "BNB", "BNB Sets Record"),
    ],
)
def test_question_about_an_asset_ranks_an_article_about_that_asset_first(
    corpus: Services, question: str, symbol: str, title_start: str
) -> None:
    retrieval = search(corpus, question)

    assert retrieval.relevant, retrieval.reason
    best = retrieval.passages[0].article
    assert symbol in best.assets
    assert best.title.startswith(title_start)


def test_sol_question_ranks_the_validator_bug_story_above_other_sol_mentions(
    corpus: Services,
) -> None:
    # SOL also appears in the Daily Hash sell-off story and the Solana DEX-volume story.
    retrieval = search(corpus, "why did SOL slide 9%?")

    assert retrieval.passages[0].article.title in SOL_TITLES


@pytest.mark.parametrize(
    "question", ["why did SOL fall?", "why did Solana drop 9%?", "what halted Solana?"]
)
def test_syndicated_copies_never_appear_as_two_sources(corpus: Services, question: str) -> None:
    retrieval = search(corpus, question)
    answer = corpus.ask(question)

    assert len({p.article.id for p in retrieval.passages if p.article.title in SOL_TITLES}) <= 1
    assert sum(c.title in SOL_TITLES for c in answer.citations) <= 1


def test_near_identical_story_from_two_outlets_is_one_passage_that_names_both(
    crafted: Services,
) -> None:
    retrieval = search(crafted, "why did Polkadot fall 11%?")

    dot = [p for p in retrieval.passages if "DOT" in p.article.assets]
    assert len(dot) == 1
    [passage] = dot
    outlets = {passage.article.outlet, *passage.also_reported_by}
    assert outlets == {"Outlet One", "Outlet Two"}
    answer = crafted.ask("why did Polkadot fall 11%?")
    assert answer.status == "answered"
    [citation] = [c for c in answer.citations if "DOT" in c.title or "Polkadot" in c.title]
    assert {citation.outlet, *citation.also_reported_by} == {"Outlet One", "Outlet Two"}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("why did APT fall on Sept 3?", APT_SEPT),
        ("why did APT fall on 2025-09-03?", APT_SEPT),
        ("why did APT fall on Dec 12?", APT_DEC),
        ("why did Aptos drop on 12 December 2025?", APT_DEC),
    ],
)
def test_question_naming_a_day_ranks_that_days_article_first(
    crafted: Services, question: str, expected: str
) -> None:
    retrieval = search(crafted, question)

    titles = [p.article.title for p in retrieval.passages]
    assert retrieval.event_date is not None
    assert titles[0] == expected
    answer = crafted.ask(question)
    assert answer.status == "answered", answer.answer
    assert [c.title for c in answer.citations] == [expected]


def test_without_a_day_both_drops_of_the_asset_are_candidates(crafted: Services) -> None:
    titles = [p.article.title for p in search(crafted, "why did APT fall?").passages]

    assert APT_SEPT in titles
    assert APT_DEC in titles


def test_empty_store_finds_nothing_and_says_so(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    services = build_services(settings_for(tmp_path / "empty"), seed=False, embeddings=embeddings)

    retrieval = search(services, "why did ETH fall 14%?")
    answer = services.ask("why did ETH fall 14%?")

    assert retrieval.passages == ()
    assert not retrieval.relevant
    assert answer.status == "no_sources"
    assert answer.citations == ()
