"""The BM25 index: ranking, and the saved copy a restart loads instead of rebuilding."""

from __future__ import annotations

from pathlib import Path

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
