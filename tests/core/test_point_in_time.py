"""Answers as the bot would have given them at a past moment (`ask(..., as_of=...)`): only news
published before that moment is retrieved or cited, and the figures come from the daily bars
complete by then, with no live exchange call."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import retrieval
from bot.core.documents import Answer
from bot.core.embed import MiniLMEmbeddings
from bot.core.question import parse
from bot.services import Services, build_services
from bot.settings import PROJECT_ROOT
from tests.conftest import MakeServices, settings_for
from tests.exchange_fake import FakeExchange
from tests.news_files import write_articles

QUESTION = "why did ETH fall?"
# Between the two stories below: the first is news at that moment, the second is not yet.
AS_OF = datetime(2025, 11, 10, tzinfo=UTC)

EARLIER = {
    "title": "Ether slides 9% as leveraged longs are wiped out",
    "body": "ETH fell 9% on Tuesday as more than $2 billion of leveraged long positions were "
    "liquidated across exchanges. Traders blamed the sell-off on the exploit of the Balancer "
    "protocol, which drained more than $100 million from its pools.",
    "url": "https://wire.example/ether-slides-longs-wiped-out",
    "published_at": "2025-11-05T08:00:00Z",
    "source": "Example Wire",
}
LATER = {
    "title": "Why did ETH fall? Ether falls 7% as a large fund dumps its holdings",
    "body": "ETH fell 7% on Thursday after an investment fund sold 200,000 ETH on exchanges, "
    "according to on-chain data. The sale came as spot Ethereum ETFs recorded their largest "
    "weekly outflows since launch.",
    "url": "https://desk.example/why-did-eth-fall-fund-dumps",
    "published_at": "2025-11-21T09:00:00Z",
    "source": "Market Desk",
}
UNRELATED = {
    "title": "Solana validators ship a client upgrade",
    "body": "Solana validators began running a new client release on Wednesday that cuts "
    "block times, developers said. The upgrade passed its test network trial last month.",
    "url": "https://wire.example/solana-client-upgrade",
    "published_at": "2025-10-01T10:00:00Z",
    "source": "Example Wire",
}


def build(
    folder: Path, embeddings: MiniLMEmbeddings, articles: list[dict[str, str]], seed: bool = False
) -> Services:
    """A store in `folder` holding these articles (and the seed, with `seed`)."""
    services = build_services(settings_for(folder / "data"), seed=seed, embeddings=embeddings)
    report = services.ingest([write_articles(folder / "news.json", articles)])
    assert report.files[0].stored == len(articles), report.files[0]
    return services


def published(services: Services, answer: Answer) -> list[datetime]:
    """When each cited article was published, to the second (citations carry the day only)."""
    found = []
    for citation in answer.citations:
        article = services.store.article(citation.article_id)
        assert article is not None and article.published_at is not None
        found.append(article.published_at)
    return found


def snapshot_close(symbol: str, day: str) -> float:
    """A day's close in the bundled price snapshot."""
    with (PROJECT_ROOT / "knowledge" / "prices" / f"{symbol}.csv").open() as rows:
        return next(float(r["close"]) for r in csv.DictReader(rows) if r["date"] == day)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """An earlier story on ETH's fall, and a later one that matches the question better."""
    return build(tmp_path_factory.mktemp("both"), embeddings, [EARLIER, LATER, UNRELATED])


def test_an_answer_as_of_a_moment_cites_only_news_published_before_it(both: Services) -> None:
    now = both.ask(QUESTION)
    then = both.ask(QUESTION, as_of=AS_OF)

    # Today the later story is the best match, and is cited...
    assert now.status == "answered"
    assert LATER["title"] in {c.title for c in now.citations}
    # ... but at AS_OF it did not exist yet: the earlier one explains the fall.
    assert then.status == "answered"
    assert then.citations and all(when < AS_OF for when in published(both, then))
    assert {c.title for c in then.citations} == {EARLIER["title"]}
    assert "liquidated" in then.answer
    assert "investment fund" not in then.answer


def test_an_article_is_news_only_once_it_is_published(both: Services) -> None:
    out = datetime.fromisoformat(LATER["published_at"])

    at_publication = both.ask(QUESTION, as_of=out)
    a_second_later = both.ask(QUESTION, as_of=out + timedelta(seconds=1))

    assert LATER["title"] not in {c.title for c in at_publication.citations}
    assert LATER["title"] in {c.title for c in a_second_later.citations}


def test_the_figures_of_an_answer_as_of_a_moment_end_before_it(both: Services) -> None:
    answer = both.ask(QUESTION, as_of=AS_OF)

    [quote] = [f.to_json() for f in answer.figures if f.kind == "quote"]
    assert quote["status"] == "snapshot"
    assert datetime.fromisoformat(str(quote["as_of"])) < AS_OF
    assert answer.premise is not None and answer.premise.windows
    for window in answer.premise.windows:  # each from bars complete by AS_OF
        closed = datetime.combine(window.end, datetime.min.time(), UTC) + timedelta(days=1)
        assert closed <= AS_OF
    assert answer.window is not None and answer.window["end"] == "2025-11-04"


def test_a_day_whose_bar_is_still_moving_is_not_a_figure_yet(both: Services) -> None:
    # At noon on 4 Nov 2025 ETH is falling, but the day's bar closes at midnight: the last
    # figures known then are those of 3 Nov.
    noon = datetime(2025, 11, 4, 12, tzinfo=UTC)

    now = both.ask("why did ETH fall today?", asked_on=date(2025, 11, 4))
    then = both.ask("why did ETH fall today?", as_of=noon)

    assert now.window is not None and now.window["end"] == "2025-11-04"
    [quote] = [f.to_json() for f in then.figures if f.kind == "quote"]
    assert quote["price"] == snapshot_close("ETH", "2025-11-03")
    assert datetime.fromisoformat(str(quote["as_of"])) < noon
    days = [str(f.to_json().get("day")) for f in then.figures if f.kind in ("move", "context")]
    assert days and all(day <= "2025-11-03" for day in days)
    assert then.premise is not None
    assert all(w.end <= date(2025, 11, 3) for w in then.premise.windows)


UNDATED = {
    "title": "Why did ETH fall? Ether falls as a large fund dumps its coins",
    "body": "ETH fell 7% after an investment fund sold 200,000 ETH on exchanges, according "
    "to on-chain data. The sale came as spot Ethereum ETFs recorded heavy outflows.",
    "url": "https://desk.example/why-did-eth-fall-undated",
    "published_at": "",
    "source": "Market Desk",
}


def test_an_article_without_a_date_is_not_cited_as_of_a_moment(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    services = build(tmp_path, embeddings, [UNDATED, EARLIER])

    now = services.ask(QUESTION)
    then = services.ask(QUESTION, as_of=AS_OF)

    assert UNDATED["title"] in {c.title for c in now.citations}
    assert {c.title for c in then.citations} == {EARLIER["title"]}


def test_with_only_later_news_on_the_subject_the_answer_cites_nothing(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    services = build(tmp_path, embeddings, [LATER, UNRELATED])

    now = services.ask(QUESTION)
    then = services.ask(QUESTION, as_of=AS_OF)

    assert LATER["title"] in {c.title for c in now.citations}
    assert not then.citations
    # The decline says what the news covered then: not the later story, nor its words.
    assert "fund" not in then.answer and "Why did ETH fall?" not in then.answer
    assert then.status == "no_sources" or "don't say what drove" in then.answer


def test_words_only_later_news_holds_are_words_the_sources_never_mentioned_then(
    both: Services,
) -> None:
    question = "what did on-chain data show about the fund?"

    now = both.ask(question)
    then = both.ask(question, as_of=AS_OF)

    assert now.status == "answered" and "on-chain data" in now.answer
    assert then.status == "no_sources" and not then.citations
    assert "my sources never mention chain, data" in then.answer


def test_an_answer_as_of_a_moment_before_all_the_news_says_it_has_none(
    both: Services,
) -> None:
    answer = both.ask(QUESTION, as_of=datetime(2025, 9, 1, tzinfo=UTC))

    assert answer.status == "no_sources" and not answer.citations
    assert "Solana" not in answer.answer and "Ether" not in answer.answer


CAUSES = (
    "a large fund sold its holdings",
    "spot ETFs saw heavy outflows",
    "a whale moved coins to an exchange",
    "staking withdrawals spiked",
    "a futures expiry forced sellers out",
    "a stablecoin briefly lost its peg",
    "gas fees collapsed",
    "a layer-2 network halted",
    "options traders bought puts",
    "funding rates turned negative",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def stories(count: int, *, after: bool = True, about: str = "") -> list[dict[str, str]]:
    """`count` distinct stories on why ETH fell (`about` something), published after AS_OF
    (or before it)."""
    made = []
    for i in range(count):
        cause, weekday = CAUSES[i % len(CAUSES)], WEEKDAYS[i // len(CAUSES)]
        when = AS_OF + timedelta(days=3, hours=i) if after else AS_OF - timedelta(days=40, hours=i)
        made.append(
            {
                "title": f"Why did ETH fall{about}? Ether falls {5 + i % 7}% as {cause}",
                "body": f"ETH fell {5 + i % 7}% on {weekday}{about} as {cause}, traders said. "
                f"Ethereum fell further after the report, story number {i + 1}.",
                "url": f"https://desk.example/eth-falls{about.replace(' ', '-')}-{i + 1}"
                + ("" if after else "-earlier"),
                "published_at": when.isoformat(),
                "source": "Market Desk",
            }
        )
    return made


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """Sixty later stories on ETH's fall, all closer to the question than the one earlier."""
    return build(tmp_path_factory.mktemp("crowded"), embeddings, [*stories(60), EARLIER])


@pytest.fixture(params=["its own chunks scanned", "the store asked for more"])
def dense_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both ways a view of past news finds its nearest chunks: reading its own (a small view)
    or a dense query widened past the later news (a large one)."""
    if request.param == "the store asked for more":
        monkeypatch.setattr(retrieval, "ROW_COST", 10**9)
    yield


def test_the_best_earlier_story_is_found_under_many_later_ones(
    crowded: Services, dense_way: None
) -> None:
    now = crowded.ask(QUESTION)
    then = crowded.ask(QUESTION, as_of=AS_OF)

    assert EARLIER["title"] not in {c.title for c in now.citations}  # outranked today
    assert then.status == "answered"
    assert {c.title for c in then.citations} == {EARLIER["title"]}


def test_the_best_earlier_story_is_among_the_candidates_by_meaning_alone(
    crowded: Services, dense_way: None
) -> None:
    # The question shares no word with the earlier story (only with the later ones: price,
    # Ethereum), so only the dense side can find it: its candidates must be past ones.
    question = parse("what made the price of ethereum crash?", crowded.assets)

    found = crowded.retriever.search(replace(question, news_before=AS_OF))

    assert [p.article.title for p in found.passages][:1] == [EARLIER["title"]]


NAMED = {
    "title": "Lisbon meetup recap",
    "body": "The Lisbon meetup drew four hundred developers, who heard talks on hiring, "
    "office space, coffee and Zorblat, a proposal for ETH staking.",
    "url": "https://wire.example/lisbon-meetup-recap",
    "published_at": (AS_OF - timedelta(days=2)).isoformat(),
    "source": "Example Wire",
}


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> Services:
    """An earlier story found by a name it shares with the question, not by its meaning: 60
    earlier stories on ETH's fall are nearer by meaning, and 60 later ones on ETH's fall
    after that upgrade share more of its words."""
    return build(
        tmp_path_factory.mktemp("named"),
        embeddings,
        [*stories(60, about=" after the Zorblat upgrade"), *stories(60, after=False), NAMED],
    )


def test_an_earlier_story_is_found_by_a_word_that_later_stories_share_more(
    named: Services,
) -> None:
    question = parse("why did ETH fall after the Zorblat upgrade?", named.assets)

    found = named.retriever.search(replace(question, news_before=AS_OF))

    assert NAMED["title"] in [p.article.title for p in found.passages]
    assert all(p.article.published_at and p.article.published_at < AS_OF for p in found.passages)


LIVE_CALLS = ("/ticker", "/klines", "/premiumIndex", "/openInterest")


def test_figures_as_of_a_moment_make_no_live_call_and_use_only_complete_bars(
    make_services: MakeServices,
) -> None:
    # The seed (published 5 Nov 2025) reports the crash of 4 Nov; the exchange's clock stands
    # at the end of 5 Nov. At noon on 5 Nov, 5 Nov's bar is still moving.
    noon = datetime(2025, 11, 5, 12, tzinfo=UTC)
    with FakeExchange("binance") as binance:
        services = make_services(
            seed=True,
            exchanges=["binance"],
            exchange_urls={"binance": binance.base_url},
            live_timeout=10,
        )
        try:
            then = services.ask("why did ETH fall 14%?", as_of=noon)
            asked_then = [r for r in binance.made() if any(c in r.path for c in LIVE_CALLS)]
            now = services.ask("why did ETH fall 14%?")
        finally:
            assert services.market.live is not None
            services.market.live.close()

    assert not asked_then
    kinds = {f.kind: f.to_json() for f in then.figures}
    assert "derivatives" not in kinds  # read live only
    quote = kinds["quote"]
    assert quote["status"] == "snapshot"
    assert quote["price"] == snapshot_close("ETH", "2025-11-04")  # not 5 Nov's, then unknown
    assert datetime.fromisoformat(str(quote["as_of"])) < noon
    assert kinds["move"]["day"] == "2025-11-04"
    assert then.premise is not None
    assert all(w.end <= date(2025, 11, 4) for w in then.premise.windows)
    # Asked now, the same bot reads the exchange: the assertions above could fail.
    assert {f.kind: f.to_json() for f in now.figures}["quote"]["status"] == "live"
    assert any("/ticker" in r.path for r in binance.made())


MARKET_LATER = {
    "title": "Why the crypto market crashed on 4 November: an exchange insolvency rumour",
    "body": "The crypto market crashed on 4 November after a rumour spread that a large "
    "exchange was insolvent, according to traders. Bitcoin fell 5% and the whole market "
    "followed as the rumour triggered a wave of withdrawals from the exchange.",
    "url": "https://desk.example/crypto-market-crash-rumour",
    "published_at": "2025-11-06T12:00:00Z",
    "source": "Market Desk",
}
XRP_OCTOBER = {
    "title": "XRP climbs as Ripple signs a payments partner in Brazil",
    "body": "XRP rose 3% on Monday after Ripple announced a payments partnership with a "
    "Brazilian bank. Traders said the deal revived hopes for wider use of the token in "
    "cross-border payments.",
    "url": "https://wire.example/xrp-brazil-partner",
    "published_at": "2025-10-20T09:00:00Z",
    "source": "Example Wire",
}


def test_the_markets_news_standing_in_for_a_coins_is_from_before_the_moment_too(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    # XRP fell with the market on 4 Nov and no news of XRP's own says why (the October story
    # is another day's): the market's news of that day explains it. The seed (5 Nov) is that
    # news at `as_of`; the rumour story is not yet.
    services = build(tmp_path, embeddings, [MARKET_LATER, XRP_OCTOBER], seed=True)
    as_of = datetime(2025, 11, 6, tzinfo=UTC)

    now = services.ask("why did XRP dump on 4 Nov?", asked_on=date(2025, 11, 7))
    then = services.ask("why did XRP dump on 4 Nov?", as_of=as_of)

    assert MARKET_LATER["title"] in {c.title for c in now.citations}
    assert then.causes and all(c["market_wide"] for c in then.causes)
    assert then.citations and all(when < as_of for when in published(services, then))
    assert "rumour" not in then.answer


BTC_LATER = {
    "title": "Bitcoin's 4 November fall was driven by a miner selling spree",
    "body": "Bitcoin fell 5% on 4 November as large miners sold their reserves to cover "
    "power costs, on-chain data published on Thursday shows. BTC miners moved 30,000 BTC to "
    "exchanges in the days before the fall.",
    "url": "https://desk.example/bitcoin-miner-selling",
    "published_at": "2025-11-06T10:00:00Z",
    "source": "Market Desk",
}


def test_a_follow_up_asked_as_of_a_moment_keeps_its_cutoff(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    services = build(tmp_path, embeddings, [EARLIER, BTC_LATER])
    earlier = "why did ETH fall on 4 Nov?"
    as_of = datetime(2025, 11, 6, tzinfo=UTC)

    now = services.ask("and BTC?", follow_up_to=earlier, asked_on=date(2025, 11, 7))
    then = services.ask("and BTC?", follow_up_to=earlier, as_of=as_of)

    assert BTC_LATER["title"] in {c.title for c in now.citations}
    # The follow-up is about BTC on the earlier question's day, with news from before as_of.
    assert then.assets == ("BTC",)
    assert then.window is not None and then.window["end"] == "2025-11-04"
    assert BTC_LATER["title"] not in {c.title for c in then.citations}
    assert all(when < as_of for when in published(services, then))
    assert "miner" not in then.answer


def test_as_of_must_be_an_aware_moment_and_says_the_day_itself(both: Services) -> None:
    with pytest.raises(ValueError, match="aware"):
        both.ask(QUESTION, as_of=datetime(2025, 11, 10))
    with pytest.raises(ValueError, match="not both"):
        both.ask(QUESTION, as_of=AS_OF, asked_on=date(2025, 11, 10))
