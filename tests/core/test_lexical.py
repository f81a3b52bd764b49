"""The BM25 index: ranking, and the saved copy a restart loads instead of rebuilding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.lexical import LexicalIndex
from tests.conftest import MakeServices
from tests.news_files import write_articles

DOCS = [
    ("a", "Bitcoin liquidations topped $1 billion as leveraged longs were wiped out"),
    ("b", "Solana validators halted block production after a client bug"),
    ("c", "Ether ETF outflows continued for a third day"),
]


def test_the_document_sharing_the_rare_query_words_ranks_first() -> None:
    index = LexicalIndex.build(DOCS)

    ranked = index.top(index.scores("why were longs liquidated?"), 3)

    assert [doc for doc, _ in ranked] == ["a"]  # the others share no term
    assert index.df("solana") == 1 and index.df("unheard") == 0


def test_a_saved_index_loads_only_for_the_corpus_it_was_built_for(tmp_path: Path) -> None:
    index = LexicalIndex.build(DOCS)
    path = tmp_path / "lexical-index.npz"
    index.save(path, "corpus-v1")

    loaded = LexicalIndex.load(path, "corpus-v1")

    assert loaded is not None
    query = "solana client bug"
    assert loaded.top(loaded.scores(query), 3) == index.top(index.scores(query), 3)
    assert LexicalIndex.load(path, "corpus-v2") is None


def test_a_restart_after_new_articles_never_answers_from_the_stale_saved_index(
    make_services: MakeServices, tmp_path: Path
) -> None:
    first = make_services("shared")
    first.ingest(
        [
            write_articles(
                tmp_path / "one.json",
                [
                    {
                        "title": "Dogecoin jumps on payments news",
                        "body": "Dogecoin rose 12% after a payments firm said it would take DOGE.",
                        "url": "https://news.example/doge",
                        "published_at": "2025-11-03T10:00:00Z",
                    }
                ],
            )
        ]
    )
    first.ask("why did dogecoin jump?")  # builds and saves the index for one article
    assert (tmp_path / "shared" / "lexical-index.npz").exists()

    first.ingest(
        [
            write_articles(
                tmp_path / "two.json",
                [
                    {
                        "title": "Cardano slides after upgrade delay",
                        "body": "Cardano fell 8% after developers postponed the Chang upgrade.",
                        "url": "https://news.example/ada",
                        "published_at": "2025-11-04T10:00:00Z",
                    }
                ],
            )
        ]
    )
    restarted = make_services("shared")

    answer = restarted.ask("why did cardano slide?")

    assert restarted.retriever.lexical.df("chang") == 1
    assert answer.status == "answered"
    assert any("Cardano" in c.title for c in answer.citations)


def test_a_damaged_saved_index_is_rebuilt_not_fatal(
    make_services: MakeServices, tmp_path: Path
) -> None:
    services = make_services("data", seed=True)
    services.ask("why did ETH fall?")
    saved = tmp_path / "data" / "lexical-index.npz"
    saved.write_bytes(saved.read_bytes()[:200])  # truncated, as by a crash or a full disk

    restarted = make_services("data")
    answer = restarted.ask("why did ETH fall 14%?")

    assert answer.status == "answered"
    assert restarted.retriever.lexical.size > 0


# -- kept up to date instead of rebuilt ---------------------------------------------------

WORDS = (
    "bitcoin ether solana liquidations longs shorts etf outflows inflows fed rate cut dollar "
    "validators halt bug exchange hack stablecoin depeg whales funding leverage rally slide"
).split()


def corpus(seed: int, n: int) -> list[tuple[str, str]]:
    import random

    rng = random.Random(seed)
    return [
        (f"art{seed}-{i}:v1:0", " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))))
        for i in range(n)
    ]


QUERIES = ["bitcoin liquidations", "ether etf outflows", "solana validators halt bug", "fed"]


def assert_same(index: LexicalIndex, fresh: LexicalIndex) -> None:
    assert index.size == fresh.size
    for query in QUERIES:
        got = index.top(index.scores(query), 10_000)  # every match: ties cannot reorder a cut
        want = fresh.top(fresh.scores(query), 10_000)
        assert {d for d, _ in got} == {d for d, _ in want}, query
        scores = dict(got)
        for doc, score in want:
            assert abs(scores[doc] - score) < 1e-4 * max(1.0, score), (query, doc)
    for word in WORDS:
        assert index.df(word) == fresh.df(word), word


def test_an_updated_index_scores_exactly_as_one_built_afresh() -> None:
    docs = corpus(1, 300)
    index = LexicalIndex.build(docs)
    removed = [d for d, _ in docs[::7]]
    replaced = [(d, "bitcoin bitcoin halt") for d, _ in docs[3::50]]
    added = corpus(2, 25) + replaced

    updated = index.updated(removed, added)

    kept = {d: t for d, t in docs if d not in set(removed)}
    kept.update(dict(added))
    assert_same(updated, LexicalIndex.build(kept.items()))
    assert index.size == 300  # the index searches under way hold is left as it was


def test_many_small_updates_stay_exact_through_compaction(tmp_path: Path) -> None:
    docs = dict(corpus(3, 120))
    index = LexicalIndex.build(docs.items())
    for round_ in range(40):  # more rounds than segments allowed: compacted on the way
        new = corpus(100 + round_, 3)
        gone = list(docs)[round_ * 2 : round_ * 2 + 2]
        index = index.updated(gone, new)
        for doc_id in gone:
            del docs[doc_id]
        docs.update(new)
    fresh = LexicalIndex.build(docs.items())

    assert_same(index, fresh)
    index.save(tmp_path / "index.npz", "sig")
    loaded = LexicalIndex.load(tmp_path / "index.npz", "sig")
    assert loaded is not None
    assert_same(loaded, fresh)


def test_the_first_answer_after_an_ingest_reads_only_the_new_article(
    make_services: MakeServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = make_services("data", seed=True)
    assert services.ask("why did ETH fall 14%?").status == "answered"  # loaded once
    before = services.retriever.lexical.size

    def everything(self: object) -> Any:
        raise AssertionError("the whole store was read again")

    report = services.ingest_text(
        "Cardano slides after upgrade delay",
        "Cardano fell 8% on 4 November after developers postponed the Chang upgrade again.",
        ingested_by="cli",
    )
    with monkeypatch.context() as patched:  # neither every chunk nor every record is read
        patched.setattr(type(services.store), "iter_chunks", everything)
        patched.setattr(type(services.store), "article_records", everything)
        answer = services.ask("why did cardano slide after the chang upgrade delay?")

    assert report.stored == 1
    assert services.retriever.lexical.size > before
    assert services.retriever.lexical.df("chang") == 1
    assert any("Cardano" in c.title for c in answer.citations)

    [article] = [a for a in services.sources() if a.title.startswith("Cardano")]
    services.forget(article.id)
    with monkeypatch.context() as patched:
        patched.setattr(type(services.store), "iter_chunks", everything)
        patched.setattr(type(services.store), "article_records", everything)
        assert services.retriever.lexical.df("chang") == 0
        assert services.retriever.lexical.size == before
        assert article.id not in services.retriever.articles


# -- words in any script ------------------------------------------------------------------

# Real headlines: footnotes of the daily briefs (Chinese-language outlets) and names from
# Yahoo Finance stories; the Russian and Korean lines are written for the test.
HEADLINES = [
    ("okx", "OKX 將於2026 年02 月23 日20:00 | 幣安廣場上的深潮TechFlow"),
    ("crosscurve", "CrossCurve Bridge 攻擊事件：因偽造訊息漏洞導致300 萬 ..."),
    ("poppe", "Michaël van de Poppe says BTC is at the most important level"),
    ("ferre", "Yahoo Finance Senior Reporter Ines Ferré examines gold's rally"),
    ("ru", "Биткоин упал на 5% после решения ФРС"),
    ("ko", "비트코인 가격 급락 이후 반등"),
]


def test_words_beyond_ascii_are_whole_and_found() -> None:
    from bot.core.text import tokens

    assert tokens("Régulation") == ["regulation"]  # not "r" and "gulat"
    assert tokens("हिन्दी समाचार") == ["हिन्दी", "समाचार"]  # vowel signs stay in their words
    assert tokens("ไทยแลนด์") == ["ไทยแลนด์"]
    assert tokens("мой") == ["мой"]  # й is a letter, not и with an accent
    assert "漏洞" in tokens(HEADLINES[1][1])  # "vulnerability", a pair of characters
    index = LexicalIndex.build(HEADLINES)

    def best(query: str) -> str:
        return index.top(index.scores(query), 1)[0][0]

    assert best("CrossCurve 漏洞") == "crosscurve"
    assert best("偽造訊息") == "crosscurve"
    assert best("深潮") == "okx"
    assert best("Michael van de Poppe") == "poppe"  # typed without the accent
    assert best("Ferre gold") == "ferre"
    assert best("биткоин упал") == "ru"
    assert best("비트코인 급락") == "ko"
