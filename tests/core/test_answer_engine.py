"""What an answer says, seen from outside: the day a question means, the move and its causes
about the asset asked, and text that reads as prose."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from bot.core.embed import MiniLMEmbeddings
from bot.render import explanation
from bot.services import Services, build_services
from bot.settings import PROJECT_ROOT
from tests.conftest import MakeServices, settings_for
from tests.news_files import FIXTURES, write_articles

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
    assert answer.premise.direction == "down"
    assert answer.premise.verdict == "consistent"  # 15.9% from the 3 Nov open


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


def cause_lines(answer_text: str) -> list[str]:
    return [line for line in answer_text.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize(
    ("question", "own", "others"),
    [
        ("why did dogecoin fall?", "DOGE", ("Solana", "SOL", "AVAX", "Avalanche", "TON")),
        ("why did AVAX drop?", "AVAX", ("DOGE", "Dogecoin", "exploit", "lending protocol")),
        ("why did TON jump 9%?", "TON", ("liquidated", "DOGE", "AVAX", "Solana")),
    ],
)
def test_a_question_about_one_coin_in_a_brief_is_answered_from_that_coins_bullet(
    briefed: Services, question: str, own: str, others: tuple[str, ...]
) -> None:
    answer = briefed.ask(question)

    assert answer.status == "answered"
    assert own in answer.answer.split("\n", 1)[0]
    for other in others:  # the brief's other stories are not this coin's causes
        assert other not in answer.answer, (other, answer.answer)


def test_causes_are_few_short_and_not_forecasts(seeded: Services) -> None:
    answer = seeded.ask("why did ETH fall 14%?")
    causes = cause_lines(answer.answer)

    assert 1 <= len(causes) <= 3
    assert all(len(line) <= 320 for line in causes), causes
    # The seed's sentiment line predicts a bottom ("perhaps indicating that short-term selling
    # pressure is nearing an end"): what may come next is not what made the move.
    assert "nearing an end" not in answer.answer
    assert not any(re.match(r"- (They|It|He|She)\b", line) for line in causes)
    # Causes, not theme labels filled by keyword.
    assert not any(re.match(r"- (Macro|Sentiment|Regulation): ", line) for line in causes)
    # The same causes as data (`ask --json`), each with the [n] of a citation shown.
    assert len(answer.causes) == len(causes)
    numbers = {c.n for c in answer.citations}
    for cause, line in zip(answer.causes, causes, strict=True):
        assert cause["citation"] in numbers
        assert line.endswith(f"{cause['quote']} [{cause['citation']}]")
    shown = answer.to_json()
    assert [c["quote"] for c in shown["causes"]] == [c["quote"] for c in answer.causes]
    assert all(c["quote"] in shown["answer"] for c in shown["causes"])


LONG_CAUSE = (
    "Chainlink's token was hit from several sides at once; the oracle network's largest "
    "staking pool paused withdrawals after a configuration error left some rewards unpaid; "
    "two market makers cut their LINK inventories ahead of the quarterly token unlock; "
    "and a widely followed analyst moved her price target lower in a note to clients, "
    "citing weaker fee growth on the networks that buy its price feeds."
)


def test_a_long_cause_is_cut_to_its_clauses_in_the_sources_own_words(
    make_services: MakeServices,
) -> None:
    services = make_services()
    services.ingest_text(
        "Chainlink slides 11% as staking pool pauses withdrawals",
        f"LINK fell 11% on Tuesday. {LONG_CAUSE}",
        ingested_by="test",
    )

    answer = services.ask("why did LINK fall 11%?")
    causes = cause_lines(answer.answer)

    assert len(LONG_CAUSE) > 300
    assert causes and all(len(line) <= 320 for line in causes), causes
    cut = next(line for line in causes if "…" in line)
    for piece in re.sub(r" \[\d\]$", "", cut[2:]).split("…"):
        assert piece.strip(" .") in LONG_CAUSE  # exact words, nothing added


def snapshot_bars(symbol: str) -> list[dict[str, str]]:
    with (PROJECT_ROOT / "knowledge" / "prices" / f"{symbol}.csv").open() as rows:
        return list(csv.DictReader(rows))


def day_move(bar: dict[str, str]) -> float:
    return (float(bar["close"]) - float(bar["open"])) / float(bar["open"]) * 100


def test_the_lead_states_the_move_from_the_price_data_and_the_market_beside_it(
    seeded: Services,
) -> None:
    [bar] = [b for b in snapshot_bars("ETH") if b["date"] == "2025-11-04"]
    answer = seeded.ask("why did ETH fall 14%?")
    first = explanation(answer).split("\n", 1)[0]

    assert answer.window is not None and answer.window["end"] == "2025-11-04"
    assert first.startswith(f"ETH fell {abs(day_move(bar)):.1f}% on 4 Nov 2025")
    assert "BTC fell" in first and "market-wide" in first
    assert answer.to_json()["lead"] == answer.lead


def test_a_wrong_direction_is_corrected_in_the_first_line(seeded: Services) -> None:
    first = explanation(seeded.ask("why did ETH pump 10% on nov 4?")).split("\n", 1)[0]

    assert first.startswith("ETH did not rise: it fell")


def test_the_window_is_the_move_the_claim_matches_not_the_storys_publish_day(
    make_services: MakeServices, tmp_path: Path
) -> None:
    bars = snapshot_bars("MSTR")
    at = min(range(1, len(bars) - 3), key=lambda i: day_move(bars[i]))  # the biggest fall
    fall, moved = day_move(bars[at]), date.fromisoformat(bars[at]["date"])
    published = date.fromisoformat(bars[at + 2]["date"])  # the story came two sessions later
    story = tmp_path / "mstr.md"
    story.write_text(
        f"---\ntitle: Strategy shares extend slide as bitcoin treasury fears grow\n"
        f"date: {published.isoformat()}\n---\n"
        f"MSTR fell {abs(fall):.0f}% earlier this week after bitcoin slid and investors "
        "questioned the premium paid for the company's bitcoin holdings.\n"
    )
    services = make_services()
    services.ingest([story])

    answer = services.ask(f"why did MSTR nuke {abs(fall) + 3:.0f}%?")

    assert answer.window is not None
    assert answer.window["end"] == moved.isoformat()
    assert explanation(answer).startswith(f"MSTR fell {abs(fall):.1f}% on {moved:%-d %b %Y}")


@pytest.mark.parametrize(
    "question",
    ["why did FLOOPCOIN crash 80%?", "why is $ZORPX pumping today?", "floopcoin down 40%, why?"],
)
def test_an_asset_nobody_knows_is_named_not_answered_with_another_story(
    corpus: Services, question: str
) -> None:
    answer = corpus.ask(question)
    word = re.sub(r"[^A-Za-z]", "", question.split()[2 if question.startswith("why") else 0])

    assert answer.status == "no_sources"
    assert f"I don't know an asset called {word}" in answer.answer
    assert not answer.citations


def test_a_coin_the_news_names_but_the_alias_table_does_not_is_still_looked_up(
    make_services: MakeServices,
) -> None:
    services = make_services()
    services.ingest_text(
        "Zorpcoin jumps 40% after exchange listing",
        "ZORPCOIN jumped 40% on Monday after a large exchange listed it for spot trading.",
        ingested_by="test",
    )

    answer = services.ask("why did ZORPCOIN jump 40%?")

    assert answer.status == "answered"
    assert "listed it for spot trading" in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "should I buy ETH?",
        "give me an entry, TP and SL for ETH",
        "will ETH go up tomorrow?",
        "ETH price prediction for next month?",
    ],
)
def test_advice_and_predictions_are_declined_with_the_figures_only(
    seeded: Services, question: str
) -> None:
    answer = seeded.ask(question)

    assert answer.status == "no_sources"
    assert "I don't give trading advice or predictions" in answer.answer
    assert not answer.citations and not re.search(r"\[\d+\]", answer.answer)  # no quote
    assert [f.label for f in answer.figures][:1] == ["ETH price"]  # the price, still
    assert answer.lead is None  # and no move


def test_a_question_about_a_forecast_in_the_news_is_still_answered(seeded: Services) -> None:
    assert seeded.ask("why did ETH fall 14%?").status == "answered"
    assert "trading advice" not in seeded.ask("what caused the ETH crash on nov 4?").answer


def test_a_day_without_trading_asked_about_shows_the_session_before_it(seeded: Services) -> None:
    # Asked on Sunday 9 Nov 2025: "yesterday" is a Saturday, when MSTR did not trade.
    answer = seeded.ask("why did MSTR fall yesterday?", asked_on=date(2025, 11, 9))

    moves = [f.to_json() for f in answer.figures if f.label.startswith("MSTR on")]
    assert moves and "7 Nov 2025" in str(moves[0]["label"])  # Friday's session


def test_a_weeks_move_is_not_set_beside_the_markets_day(seeded: Services) -> None:
    answer = seeded.ask("why did ETH fall 20% in the week to nov 4?")

    assert answer.lead is not None and "week" in str(answer.window and answer.window["label"])
    assert "the same day" not in answer.lead


def test_a_follow_up_keeps_the_asset_and_day_and_the_day_after_moves_it(
    seeded: Services,
) -> None:
    earlier = "why did ETH fall 14% on 4 Nov?"
    first = seeded.ask(earlier, asked_on=DAY_AFTER_THE_CRASH)
    other_coin = seeded.ask("and BTC?", follow_up_to=earlier, asked_on=DAY_AFTER_THE_CRASH)
    day_after = seeded.ask("and the day after?", follow_up_to=earlier, asked_on=date(2025, 11, 20))

    assert first.window is not None and first.window["start"] == "2025-11-04"
    assert other_coin.assets == ("BTC",)
    assert other_coin.window is not None and other_coin.window["end"] == "2025-11-04"
    assert other_coin.lead is not None and other_coin.lead.startswith("BTC fell")
    assert day_after.assets == ("ETH",)
    assert day_after.window is not None and day_after.window["end"] == "2025-11-05"
    assert day_after.lead is not None and "5 Nov 2025" in day_after.lead


def test_a_date_after_the_news_ends_is_not_answered_with_another_day(seeded: Services) -> None:
    # The corpus (the seed) is from November 2025: a December day of the same year, asked
    # without its year, is still a day the corpus has nothing on.
    answer = seeded.ask("why did ETH dump on 20 Dec?", asked_on=date(2025, 12, 28))

    assert answer.status == "no_sources"
    assert "20 Dec 2025" in answer.answer
    assert "5 Nov 2025" in answer.answer  # what the corpus does cover
    assert not answer.citations


def test_a_topic_the_news_names_only_as_a_metaphor_is_not_answered_literally(
    seeded: Services,
) -> None:
    # The seed calls 4 Nov a "day of terror"; it reports no one hurt.
    literal = seeded.ask("how many people were injured in the crypto day of terror?")
    market = seeded.ask("what happened to crypto prices on the day of terror?")

    assert literal.status == "no_sources"
    assert "\u201cinjured\u201d" in literal.answer and not literal.citations
    assert market.status == "answered"


@pytest.fixture(scope="module")
def with_xrp_news(
    tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings
) -> Services:
    """The seed (the market's crash of 4 Nov 2025) and one older story about XRP alone."""
    folder = tmp_path_factory.mktemp("xrp")
    services = build_services(settings_for(folder / "data"), seed=True, embeddings=embeddings)
    story = {
        "title": "XRP climbs as Ripple signs a payments partner in Brazil",
        "body": "XRP rose 3% on Monday after Ripple announced a payments partnership with a "
        "Brazilian bank. Traders said the deal revived hopes for wider use of the token in "
        "cross-border payments.",
        "url": "https://news.example.com/xrp-brazil-partner",
        "published_at": "2025-10-20T09:00:00Z",
        "source": "Example Wire",
    }
    other = {
        "title": "Zcash jumps as a privacy upgrade ships",
        "body": "Zcash surged 20% on 4 November after developers shipped a privacy upgrade, "
        "bucking the market-wide sell-off as traders rotated into privacy coins.",
        "url": "https://news.example.com/zcash-upgrade",
        "published_at": "2025-11-05T08:00:00Z",
        "source": "Example Wire",
    }
    report = services.ingest([write_articles(folder / "xrp.json", [story, other])])
    assert report.files[0].stored == 2
    return services


def test_a_coin_that_fell_with_the_market_is_explained_by_the_markets_news_labelled_so(
    with_xrp_news: Services,
) -> None:
    answer = with_xrp_news.ask("why did XRP dump on 4 Nov?", asked_on=DAY_AFTER_THE_CRASH)

    assert answer.status == "answered"
    # The lead is the coin's own move, and says the market moved with it.
    assert answer.lead is not None and answer.lead.startswith("XRP fell 4.5% on 4 Nov 2025")
    assert "market-wide" in answer.lead
    # The causes are the market's, from news of that day, and say so; the October story
    # about XRP alone explains nothing about 4 Nov.
    assert answer.causes and all(c["market_wide"] for c in answer.causes)
    assert all(f"Market-wide: {c['quote']}" in answer.answer for c in answer.causes)
    assert {c.published_at for c in answer.citations} == {"2025-11-05"}
    assert "Brazil" not in answer.answer
    assert "Zcash" not in answer.answer  # another coin's own story is not the market's


def test_a_move_no_news_explains_is_stated_from_the_data_without_a_guess(
    with_xrp_news: Services,
) -> None:
    # 5 Nov: XRP rebounded 6.3%, while the only news of those days is about the crash.
    answer = with_xrp_news.ask("why did XRP pump on 5 Nov?", asked_on=date(2025, 11, 6))

    assert answer.lead is not None and answer.lead.startswith("XRP rose 6.3% on 5 Nov 2025")
    assert answer.status == "answered"
    assert not answer.causes and not answer.citations
    assert "don't say what drove" in answer.answer


def test_a_day_named_in_the_question_is_that_days_move_not_the_weeks(seeded: Services) -> None:
    # 5 Nov 2025: ETH rose 4.2% on the day, in a week it fell 12% (30 Oct open to 5 Nov close).
    answer = seeded.ask("why did eth dump on 5 nov?", asked_on=date(2025, 11, 6))

    assert answer.window is not None and answer.window["start"] == "2025-11-05"
    assert answer.lead is not None and answer.lead.startswith("ETH did not fall: it rose 4.2%")


@pytest.mark.parametrize(
    ("question", "symbol"),
    [("why did doge rip 20% on nov 5?", "DOGE"), ("why did link dump yesterday", "LINK")],
)
def test_a_coin_named_by_a_word_that_is_usually_prose_is_read_as_the_coin(
    seeded: Services, question: str, symbol: str
) -> None:
    # "doge" and "link" are words in articles; as the subject of "why did ... pump" they
    # are the coin.
    answer = seeded.ask(question, asked_on=date(2025, 11, 6))

    assert answer.assets == (symbol,)
    assert answer.lead is not None and answer.lead.startswith(symbol)


def test_a_figure_asked_for_is_answered_with_its_own_sentence(seeded: Services) -> None:
    answer = seeded.ask("how many investors were forced into margin calls?")

    assert answer.status == "answered"
    assert "470,000" in answer.answer
    # One statement, from one source, of one sentence: the figure's own.
    [statement] = [line for line in answer.answer.splitlines() if line.strip()]
    quoted = statement.split(": ", 1)[1].removesuffix(" [1]")
    assert len(answer.citations) == 1
    assert len(re.findall(r"[.!?](?:\s|$)", quoted)) <= 1, quoted


@pytest.mark.parametrize(
    ("question", "ticker"),
    [("did the SEC approve the zorbit (ZRB) ETF?", "ZRB"), ("what is $QUUXA used for?", "QUUXA")],
)
def test_a_ticker_nobody_knows_is_named_whatever_the_question_asks(
    corpus: Services, question: str, ticker: str
) -> None:
    answer = corpus.ask(question)

    assert answer.status == "no_sources"
    assert f"I don't know an asset called {ticker}" in answer.answer
    assert not answer.citations
