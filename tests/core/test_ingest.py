"""Ingestion: per-file reports, dedupe by URL and by content, updates, and crash safety."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.core.sources import load_path
from bot.core.store import ChromaStore
from bot.services import Services
from tests.conftest import MakeServices
from tests.news_files import BAD, FIXTURES, GOOD_FILES, write_articles

SOL_TITLES = (
    "Solana Slides 9% After Validator Client Bug Halts Block Production for 40 Minutes",
    "SOL drops 9% as validator bug freezes Solana for 40 minutes",
)


def counts(services: Services) -> tuple[int, int]:
    """(articles, chunks) as Chroma holds them, pending records included."""
    return services.store.articles.count(), services.store.chunk_count()


def chunk_texts(services: Services, article_id: str) -> list[str]:
    return [text for _, owner, text in services.store.iter_chunks() if owner == article_id]


def test_bad_files_are_reported_one_by_one_while_good_files_in_the_same_call_are_stored(
    make_services: MakeServices,
) -> None:
    services = make_services()
    bad = [BAD / "truncated.json", BAD / "binary.txt", BAD / "empty.md", BAD / "unknown.json"]

    report = services.ingest([FIXTURES / "note.txt", *bad, FIXTURES / "generic-list.json"])

    by_name = {Path(f.origin).name: f for f in report.files}
    for path in bad:
        file_report = by_name[path.name]
        assert file_report.found == file_report.stored == 0
        assert file_report.problems, f"{path.name} should say why it was rejected"
    assert by_name["note.txt"].stored == 1
    assert by_name["generic-list.json"].stored == 3
    assert report.failed
    assert len(services.sources()) == 4
    assert services.store.articles.count() == 4


def test_windows_1252_file_is_stored_with_a_note_and_its_accents_intact(
    make_services: MakeServices,
) -> None:
    services = make_services()

    report = services.ingest([BAD / "latin1.txt"])

    [file_report] = report.files
    assert file_report.stored == 1
    assert any("Windows-1252" in p for p in file_report.problems)
    assert not report.failed
    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None
    assert stored.title == "Café chain raises €12 million"
    assert "café chain" in stored.body
    assert "€12 million" in stored.body


def test_ingesting_the_same_files_twice_stores_nothing_the_second_time(
    make_services: MakeServices,
) -> None:
    services = make_services()
    files = [FIXTURES / "generic.jsonl", FIXTURES / "cryptopanic.csv", FIXTURES / "note.txt"]
    first = services.ingest(files)
    before = counts(services)

    second = services.ingest(files)

    assert first.stored == 8
    assert second.stored == 0
    assert second.chunks == 0
    for file_report in second.files:
        assert file_report.duplicates == file_report.found > 0
        assert file_report.stored == file_report.updated == 0
    assert counts(services) == before
    assert len(services.sources()) == 8


def test_syndicated_copy_is_stored_once(make_services: MakeServices) -> None:
    services = make_services()

    report = services.ingest([FIXTURES / "coindesk-export.json"])

    [file_report] = report.files
    assert (file_report.found, file_report.stored, file_report.duplicates) == (6, 5, 1)
    titles = [a.title for a in services.sources()]
    assert len(titles) == 5
    assert sum(title in SOL_TITLES for title in titles) == 1


def test_syndicated_copy_sent_later_from_another_file_is_recognised(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    body = (
        "Cosmos's ATOM token fell 12% to $3.05 on Nov. 10, 2025, after a governance vote "
        "approved doubling the inflation rate to fund a new security programme. Stakers "
        "said the change would dilute holders who do not stake."
    )
    original = {"title": "ATOM falls 12%", "body": body, "url": "https://a.example/atom"}
    copy = {
        "title": "Cosmos slides after inflation vote",
        # Same words; a copy differs in case, curly quotes and spacing.
        "body": "  " + body.replace("'", "\u2019").replace("Stakers", "stakers") + "  ",
        "url": "https://b.example/cosmos-slides",
    }
    services.ingest([write_articles(tmp_path / "a.json", [original])])

    report = services.ingest([write_articles(tmp_path / "b.json", [copy])])

    assert (report.files[0].stored, report.files[0].duplicates) == (0, 1)
    assert [a.url for a in services.sources()] == ["https://a.example/atom"]


def test_different_articles_in_a_non_latin_script_are_both_stored(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    rows = [
        {"title": "Биткоин упал", "body": "Биткоин упал на 7% после заявлений ФРС о ставке."},
        {"title": "Эфир вырос", "body": "Эфир вырос на 7% после запуска сетевого обновления."},
    ]

    report = services.ingest([write_articles(tmp_path / "ru.json", rows)])

    assert (report.files[0].stored, report.files[0].duplicates) == (2, 0)
    assert len(services.sources()) == 2


def test_same_link_with_tracking_parameters_is_the_same_article(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    article = {
        "title": "XRP climbs",
        "body": "XRP gained 6.2% to $3.04 as futures open interest rose to $8.1 billion.",
        "url": "https://news.example/xrp-climbs?utm_source=rss&utm_medium=feed",
    }
    services.ingest([write_articles(tmp_path / "a.json", [article])])

    tidy = {**article, "url": "https://NEWS.example/xrp-climbs/"}
    report = services.ingest([write_articles(tmp_path / "b.json", [tidy])])

    assert report.files[0].duplicates == 1
    assert len(services.sources()) == 1


def test_article_whose_text_changed_at_the_same_link_is_updated_in_place(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    url = "https://news.example/avax-upgrade"
    old = {
        "title": "Avalanche upgrade delayed",
        "body": "Avalanche developers delayed the Octane upgrade by one week to finish audits. "
        "AVAX fell 3% to $28.10 after the announcement.",
        "url": url,
        "published_at": "2025-11-10T10:00:00Z",
    }
    new = {
        **old,
        "body": "Avalanche developers delayed the Octane upgrade by two weeks to finish audits. "
        "AVAX fell 5% to $27.40 after the announcement, its lowest close since July.",
    }
    services.ingest([write_articles(tmp_path / "v1.json", [old])])
    [before] = services.sources()

    report = services.ingest([write_articles(tmp_path / "v2.json", [new])])

    assert (report.files[0].stored, report.files[0].updated) == (0, 1)
    [after] = services.sources()
    assert after.id == before.id
    stored = services.store.article(after.id)
    assert stored is not None
    assert "two weeks" in stored.body
    assert "one week" not in stored.body
    texts = chunk_texts(services, after.id)
    assert len(texts) == after.n_chunks == services.store.chunk_count()
    assert any("$27.40" in t for t in texts)
    assert not any("$28.10" in t for t in texts)
    answer = services.ask("how much did AVAX fall after the upgrade delay?")
    assert "$27.40" in answer.answer
    assert "$28.10" not in answer.answer


def test_two_versions_of_one_link_in_one_file_keep_the_later_version(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    first = {
        "title": "Litecoin halving countdown",
        "body": "Litecoin miners prepare for the halving. LTC rose 4% to $92 on the week.",
        "url": "https://news.example/ltc-halving",
    }
    second = {**first, "body": "Litecoin miners prepare for the halving. LTC rose 6% to $95."}

    report = services.ingest([write_articles(tmp_path / "both.json", [first, second])])

    [file_report] = report.files
    assert (file_report.stored, file_report.updated, file_report.duplicates) == (1, 0, 1)
    assert any("a later version of this article" in p for p in file_report.problems)
    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None and "$95" in stored.body
    assert all("$92" not in t for t in chunk_texts(services, article.id))
    # The same file again finds its article stored: nothing is rewritten.
    again = services.ingest([write_articles(tmp_path / "both.json", [first, second])])
    assert (again.files[0].stored, again.files[0].updated, again.chunks) == (0, 0, 0)


FULL_ARTICLE = {
    "title": "Bitcoin miners sell reserves as hashprice hits a record low",
    "body": " ".join(
        [
            "Bitcoin miners sold 9,200 BTC from their reserves in November, the most in a month "
            "since the 2024 halving, as hashprice fell to a record low of $41 per petahash.",
            "Public miners' shares fell as much as 11% on the week.",
            "Analysts at the firm said the selling came from mid-sized operators with older "
            "machines, whose margins turned negative when the network's difficulty rose 4%.",
            "Larger miners with cheap power kept their coins and bought more machines.",
        ]
        * 4
    ),
    "url": "https://news.example/miners-sell",
    "published_at": "2025-11-06T17:45:12Z",
    "source": "Example News",
}


def test_a_headline_or_summary_for_a_stored_link_never_replaces_its_article(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    services.ingest([write_articles(tmp_path / "full.json", [FULL_ARTICLE])])
    [before] = services.sources()
    thinner = [
        # A headline-only record of the same story, the link carrying a tracking parameter.
        {"title": FULL_ARTICLE["title"], "url": FULL_ARTICLE["url"] + "?utm_source=gn"},
        # Its summary, as a feed would carry it.
        {**FULL_ARTICLE, "body": str(FULL_ARTICLE["body"]).split(". ")[0] + "."},
    ]

    for n, record in enumerate(thinner):
        report = services.ingest([write_articles(tmp_path / f"thin{n}.json", [record])])

        [file_report] = report.files
        assert (file_report.stored, file_report.updated, file_report.duplicates) == (0, 0, 1)
        assert any("a fuller version" in p for p in file_report.problems)
    [after] = services.sources()
    stored = services.store.article(after.id)
    assert after.id == before.id and stored is not None
    assert stored.body == FULL_ARTICLE["body"]


def test_a_fuller_version_at_a_stored_link_replaces_the_thinner_one(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    headline = {"title": FULL_ARTICLE["title"], "url": FULL_ARTICLE["url"]}
    services.ingest([write_articles(tmp_path / "headline.json", [headline])])

    report = services.ingest([write_articles(tmp_path / "full.json", [FULL_ARTICLE])])

    assert report.files[0].updated == 1
    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None and stored.body == FULL_ARTICLE["body"]


def test_items_sharing_one_link_but_telling_different_stories_are_each_stored(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    stories = [
        (
            "Solana validators ship a client fix",
            "Solana validators shipped a fix for the "
            "client bug that halted blocks for 40 minutes; SOL recovered 3% to $212.",
        ),
        (
            "Cardano treasury vote passes",
            "Holders approved a 50 million ADA treasury grant "
            "for developer tooling after a week of on-chain voting, the first under the charter.",
        ),
        (
            "Avalanche subnet fees cut",
            "Avalanche cut subnet deployment fees by 90% to court "
            "gaming studios; AVAX traded flat near $27 while C-chain transactions doubled.",
        ),
        (
            "Polkadot parachain auction ends",
            "A lending protocol won the latest parachain slot "
            "with 2.1 million DOT locked by 9,000 contributors, its backers said on Tuesday.",
        ),
        (
            "Chainlink oracle outage",
            "Price feeds on two chains froze for 12 minutes when a "
            "node operator's cloud region failed; LINK slipped 2% and lenders paused markets.",
        ),
    ]
    items = [
        {"title": title, "body": body, "url": "https://news.example/feed-item"}  # one GUID
        for title, body in stories
    ]

    report = services.ingest([write_articles(tmp_path / "feed.json", items)])

    [file_report] = report.files
    assert (file_report.stored, file_report.updated, file_report.duplicates) == (5, 0, 0)
    assert sum("different story" in p for p in file_report.problems) == 4
    stored = {a.title for a in services.sources()}
    assert stored == {item["title"] for item in items}

    again = services.ingest([write_articles(tmp_path / "feed.json", items)])
    assert (again.files[0].stored, again.files[0].updated, again.files[0].duplicates) == (0, 0, 5)
    assert len(services.sources()) == 5


def test_a_long_article_and_short_stories_sharing_its_link_are_each_stored(
    make_services: MakeServices, tmp_path: Path
) -> None:
    """The usual shape of a link reused by a feed: one full item, then one-line items."""
    services = make_services()
    url = {"url": FULL_ARTICLE["url"]}
    # Their words are nearly all somewhere in the long article: only their stories differ.
    short = [
        {
            "title": "Public miners' shares rose",
            "body": "Public miners' shares rose 4% as bitcoin kept its record.",
            **url,
        },
        {
            "title": "Network difficulty fell in November",
            "body": "The network's difficulty fell as older machines turned off in November.",
            **url,
        },
    ]

    report = services.ingest([write_articles(tmp_path / "feed.json", [FULL_ARTICLE, *short])])

    [file_report] = report.files
    assert (file_report.stored, file_report.duplicates) == (3, 0)
    assert sum("different story" in p for p in file_report.problems) == 2
    assert {a.title for a in services.sources()} == {
        FULL_ARTICLE["title"],
        *(row["title"] for row in short),
    }


def test_an_article_cannot_be_shrunk_a_little_at_a_time(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    body = str(FULL_ARTICLE["body"])
    services.ingest([write_articles(tmp_path / "v0.json", [FULL_ARTICLE])])
    shorter = body[: int(len(body) * 0.75)].rsplit(". ", 1)[0] + "."  # about 70%
    shortest = shorter[: int(len(shorter) * 0.75)].rsplit(". ", 1)[0] + "."  # 70% of that
    assert len(shortest) > 0.6 * len(shorter) and len(shortest) < 0.6 * len(body)

    first = services.ingest(
        [write_articles(tmp_path / "v1.json", [{**FULL_ARTICLE, "body": shorter}])]
    )
    second = services.ingest(
        [write_articles(tmp_path / "v2.json", [{**FULL_ARTICLE, "body": shortest}])]
    )

    assert first.files[0].updated == 1  # a cut of a third may be an editor's
    assert second.files[0].updated == 0  # but not a second cut against the fullest text
    assert any("a fuller version" in p for p in second.files[0].problems)
    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None and stored.body == shorter


def test_a_feed_cannot_rewrite_an_article_another_source_stored(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    services.ingest([write_articles(tmp_path / "news.json", [FULL_ARTICLE])])
    planted = {**FULL_ARTICLE, "body": str(FULL_ARTICLE["body"]) + " Send ETH to claim a refund."}
    document = load_path(write_articles(tmp_path / "planted.json", [planted]))

    by_feed = services.ingestor.ingest_results([document], ingested_by="feed:https://x.example/")
    by_admin = services.ingest([write_articles(tmp_path / "fixed.json", [planted])])

    assert (by_feed.files[0].updated, by_feed.files[0].duplicates) == (0, 1)
    assert any("a feed may not replace it" in p for p in by_feed.files[0].problems)
    assert by_admin.files[0].updated == 1  # people may correct any article


def test_of_two_versions_in_one_feed_the_newer_is_stored_whatever_their_order(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    newer = {
        **FULL_ARTICLE,
        "published_at": "2025-11-07T09:00:00Z",
        "body": str(FULL_ARTICLE["body"]) + " Update: miners sold 1,000 BTC more.",
    }
    older = {**FULL_ARTICLE, "published_at": "2025-11-06T17:45:12Z"}

    services.ingest([write_articles(tmp_path / "feed.json", [newer, older])])  # newest first

    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None and stored.body == newer["body"]


def test_a_second_story_at_a_link_is_updated_in_place_when_it_changes(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    other = {
        "title": "Kraken lists two meme coins",
        "url": FULL_ARTICLE["url"],
        "body": "Kraken listed two meme coins on Tuesday; trading opens at 14:00 UTC.",
    }
    services.ingest([write_articles(tmp_path / "a.json", [FULL_ARTICLE, other])])
    edited = {**other, "body": str(other["body"]) + " Deposits open an hour earlier."}

    report = services.ingest([write_articles(tmp_path / "b.json", [edited])])

    assert report.files[0].updated == 1
    assert len(services.sources()) == 2


def test_a_publish_date_in_the_future_is_clamped_to_the_ingestion_time_and_said(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    row = {**FULL_ARTICLE, "published_at": "2098-01-01T00:00:00Z"}

    report = services.ingest([write_articles(tmp_path / "future.json", [row])])

    [article] = services.sources()
    assert article.published_at is not None
    assert article.published_at <= article.ingested_at
    assert any("2098-01-01" in p and "later than now" in p for p in report.files[0].problems)
    assert services.retriever.coverage()["last_date"] != "1 Jan 2098"


def test_a_link_that_is_not_a_plain_web_address_is_not_stored_and_said(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    row = {
        **FULL_ARTICLE,
        "url": "https://news.example/x)[Verify wallet](https://evil.example/v",
    }

    report = services.ingest([write_articles(tmp_path / "link.json", [row])])

    [article] = services.sources()
    assert article.url is None
    assert any("not a web address" in p for p in report.files[0].problems)


def test_an_article_longer_than_the_cap_is_cut_at_a_boundary_and_said(
    make_services: MakeServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core import ingest

    monkeypatch.setattr(ingest, "MAX_ARTICLE_CHARS", 3_000)
    services = make_services()
    row = {**FULL_ARTICLE, "body": str(FULL_ARTICLE["body"]) * 5}  # about 7,000 characters

    report = services.ingest([write_articles(tmp_path / "long.json", [row])])

    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None
    assert 2_700 <= len(stored.body) <= 3_000 and stored.body.endswith(".")
    assert any("only the first 3,000 were kept" in p for p in report.files[0].problems)


def test_record_too_short_to_be_an_article_is_reported_and_skipped(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services()
    rows = [
        {"title": "", "body": "BTC up", "url": "https://x.example/short"},
        {"title": "Mining difficulty hits a record", "body": "Bitcoin mining difficulty rose 4%."},
    ]

    report = services.ingest([write_articles(tmp_path / "rows.json", rows)])

    [file_report] = report.files
    assert file_report.stored == 1
    assert any("too little text" in p for p in file_report.problems)


def test_crash_before_commit_leaves_nothing_half_written_and_a_rerun_matches_a_clean_run(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [FIXTURES / "generic-list.json", FIXTURES / "note.txt"]
    real_commit = ChromaStore.commit
    commits = 0

    def commit_then_crash(
        self: ChromaStore, articles: list, vectors: object, replacing: object = ()
    ) -> None:
        nonlocal commits
        commits += 1
        if commits == 2:
            raise RuntimeError("simulated crash")
        real_commit(self, articles, vectors, replacing)

    monkeypatch.setattr(ChromaStore, "commit", commit_then_crash)
    # One article per write step, and the second commit dies: the process "crashes" after
    # the second article's chunks are written but before it is marked complete.
    crashed = make_services("crashed", ingest_batch_chunks=1)
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashed.ingest(files)
    monkeypatch.setattr(ChromaStore, "commit", real_commit)

    _, _, pending, _ = crashed.store.keys()
    [half_written] = pending
    assert crashed.store.chunk_count() > 0  # its chunks did reach Chroma...
    assert crashed.store.article(half_written) is None  # ...but nobody sees them
    visible = crashed.sources()
    assert [a.title for a in visible] == [
        "Solana DEX Volume Hits $5.2 Billion as Memecoin Trading Returns"
    ]
    answer = crashed.ask("why did Cardano's ADA fall 7%?")
    assert half_written not in {c.article_id for c in answer.citations}
    assert "120 million ADA" not in answer.answer

    restarted = make_services("crashed")  # a new process opening the same data dir
    rerun = restarted.ingest(files)
    clean = make_services("clean")
    clean.ingest(files)

    assert rerun.cleaned_up == 1
    assert counts(restarted) == counts(clean)
    assert restarted.store.keys()[2] == []
    summary = sorted((a.id, a.fingerprint, a.n_chunks) for a in restarted.sources())
    assert summary == sorted((a.id, a.fingerprint, a.n_chunks) for a in clean.sources())
    assert len(summary) == 4
    answer = restarted.ask("why did Cardano's ADA fall 7%?")
    assert half_written in {c.article_id for c in answer.citations}


def test_an_update_that_crashes_keeps_the_previous_version_and_completes_on_rerun(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = "https://news.example/avax-upgrade"
    old = {
        "title": "Avalanche upgrade delayed",
        "body": "Avalanche developers delayed the Octane upgrade by one week to finish audits. "
        "AVAX fell 3% to $28.10 after the announcement.",
        "url": url,
    }
    new = {**old, "body": old["body"].replace("one week", "two weeks").replace("$28.10", "$27.40")}
    other = {
        "title": "Litecoin halving",
        "body": "Litecoin miners prepare for the halving now.",
        "url": "https://news.example/ltc",
    }
    services = make_services("data")
    services.ingest([write_articles(tmp_path / "v1.json", [old])])

    def crash(self: ChromaStore, articles: list, vectors: object, replacing: object = ()) -> None:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ChromaStore, "commit", crash)
    with pytest.raises(RuntimeError):
        services.ingest([write_articles(tmp_path / "v2.json", [new])])
    monkeypatch.undo()

    restarted = make_services("data")  # a new process: the update never finished
    [article] = restarted.sources()
    assert "$28.10" in (restarted.store.article(article.id) or article).body
    assert "$28.10" in restarted.ask("how much did AVAX fall after the upgrade delay?").answer
    restarted.ingest([write_articles(tmp_path / "other.json", [other])])  # cleans up
    assert {a.title for a in restarted.sources()} == {old["title"], other["title"]}
    assert "$28.10" in restarted.ask("how much did AVAX fall after the upgrade delay?").answer

    report = restarted.ingest([write_articles(tmp_path / "v2.json", [new])])

    assert report.files[0].updated == 1
    texts = chunk_texts(restarted, article.id)
    assert any("$27.40" in t for t in texts) and not any("$28.10" in t for t in texts)
    assert "$27.40" in restarted.ask("how much did AVAX fall after the upgrade delay?").answer


def test_every_good_fixture_file_ingests_without_problems(corpus: Services) -> None:
    # The shared corpus fixture ingested GOOD_FILES; here we check what a user would see.
    titles = {a.title for a in corpus.sources()}

    assert len(GOOD_FILES) == 9
    assert "Binance Will Halt Deposits on the Example Network" in titles
    assert "Bitcoin Falls Below $100,000 as ETF Outflows and Liquidations Hit Crypto" in titles
    # 6 + 3 + 3 + 4 + 2 + 1 + 1 + 1 items, less the syndicated copy, plus the seed article.
    assert len(titles) == 21 - 1 + 1


def test_a_second_writer_waits_for_the_first_instead_of_cleaning_up_its_work(
    make_services: MakeServices, tmp_path: Path
) -> None:
    first = make_services("shared")
    second = make_services("shared")  # another process on the same data dir
    article = {
        "title": "Polkadot upgrade ships",
        "body": "Polkadot shipped its async backing upgrade; DOT rose 4% to $4.20.",
        "url": "https://news.example/dot",
    }
    path = write_articles(tmp_path / "dot.json", [article])
    done = threading.Event()

    def ingest() -> None:
        second.ingest([path])
        done.set()

    with first.ingestor.locked():  # the first writer is mid-way through its own batches
        worker = threading.Thread(target=ingest)
        worker.start()
        assert not done.wait(1.5), "the second ingestion did not wait for the lock"
    worker.join(timeout=60)

    assert done.is_set()
    assert [a.title for a in first.sources()] == ["Polkadot upgrade ships"]
