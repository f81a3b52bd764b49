"""ChromaStore on its own, over a real embedded Chroma under tmp_path: what is written is read
back, a half-written article is never seen, a link finds its stories whatever tracking it
carries, and readers can tell what changed since they last looked."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings
from langchain_core.documents import Document

from bot.core.assets import AssetTable
from bot.core.documents import Article
from bot.core.embed import MiniLMEmbeddings
from bot.core.ingest import Ingestor
from bot.core.sources import LoadResult
from bot.core.store import ChromaStore, is_current
from bot.settings import PROJECT_ROOT

ETHER = (
    "Ether fell 9% on Tuesday as leveraged long positions were liquidated across exchanges, "
    "traders said, while spot ETF outflows continued for a third day.\n\n"
    "Data from CoinGlass showed more than $1.2 billion of long positions were closed within "
    "24 hours, the largest wipe-out since August, as the price broke below $3,400.\n\n"
    "Analysts pointed to a hawkish Federal Reserve and thin weekend liquidity as the reasons "
    "the sell-off gathered pace, and said funding rates had turned negative on most venues."
)
SOLANA = (
    "Solana's SOL token slid 7% after a validator client bug halted block production for "
    "forty minutes on Wednesday, before a patched release restored the network.\n\n"
    "Developers said no funds were at risk, but several exchanges paused SOL deposits and "
    "withdrawals until the chain had produced blocks steadily for an hour."
)
ETHER_URL = "https://news.example/markets/ether-slides?id=7&utm_source=newsletter"
# A reader that looked after every write here: 1 Jan 2100, as time.time() counts.
LATER = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def assets() -> AssetTable:
    return AssetTable.load(PROJECT_ROOT / "knowledge" / "assets.json")


@pytest.fixture
def client(tmp_path: Path) -> ClientAPI:
    return chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )


@pytest.fixture
def store(client: ClientAPI, embeddings: MiniLMEmbeddings) -> ChromaStore:
    return ChromaStore(client, embeddings, "test")


@pytest.fixture
def ingestor(store: ChromaStore, embeddings: MiniLMEmbeddings, assets: AssetTable) -> Ingestor:
    return Ingestor(store, embeddings, assets)


def story(
    title: str,
    body: str,
    url: str | None = None,
    published: str = "2025-11-04T12:00:00Z",
    outlet: str = "Example Wire",
) -> Document:
    metadata = {"title": title, "url": url, "published_at": published, "outlet": outlet}
    return Document(page_content=body, metadata=metadata)


def ether_and_solana(ingestor: Ingestor) -> list[Article]:
    """Two unrelated stories, stored as one input."""
    return ingest(
        ingestor,
        story("Ether slides as longs unwind", ETHER, ETHER_URL),
        story("Solana halts block production", SOLANA, "https://news.example/sol"),
    )


def ingest(ingestor: Ingestor, *documents: Document, by: str = "test") -> list[Article]:
    """Ingest documents as one input file; the stored articles, in the input's order."""
    report = ingestor.ingest_results(
        [LoadResult("test.json", "json", list(documents))], ingested_by=by
    )
    assert not report.failed, report.files[0].problems
    found = {a.title: a for a in ingestor.store.article_records(with_text=True)}
    return [found[str(d.metadata["title"])] for d in documents]


def current_chunks(store: ChromaStore, article: Article) -> list[str]:
    """The texts a reader sees of an article: its current version's chunks, in order."""
    rows = [
        (cid, text) for cid, _, text in store.chunks_of([article.id]) if is_current(cid, article)
    ]
    return [text for _, text in sorted(rows, key=lambda row: int(row[0].rsplit(":", 1)[1]))]


def test_an_ingested_article_is_read_back_with_its_text_and_provenance(
    store: ChromaStore, ingestor: Ingestor
) -> None:
    [written] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL), by="cli")

    article = store.article(written.id)

    assert article is not None
    assert article.title == "Ether slides as longs unwind"
    assert article.body == ETHER
    assert article.url == ETHER_URL
    assert article.outlet == "Example Wire"
    assert article.published_at == datetime(2025, 11, 4, 12, 0, tzinfo=UTC)
    assert article.ingested_by == "cli"
    assert "ETH" in article.assets
    assert article.characters == len(ETHER)
    assert store.article("no-such-id") is None


def test_an_article_without_a_link_or_outlet_reads_back_without_them(
    store: ChromaStore, ingestor: Ingestor
) -> None:
    [written] = ingest(ingestor, story("Solana halts", SOLANA, url=None, outlet=""))

    article = store.article(written.id)

    assert article is not None
    assert article.url is None and article.outlet is None  # not "" or "None"
    assert store.articles_at("https://news.example/") == []


def test_the_chunks_of_an_article_hold_its_whole_text_and_only_its_own(
    store: ChromaStore, ingestor: Ingestor
) -> None:
    ether, sol = ether_and_solana(ingestor)

    texts = current_chunks(store, ether)

    assert len(texts) == ether.n_chunks > 1
    for paragraph in ETHER.split("\n\n"):
        assert any(paragraph in text for text in texts), paragraph
    assert not any("Solana" in text for text in texts)
    assert {owner for _, owner, _ in store.chunks_of([ether.id, sol.id])} == {ether.id, sol.id}
    assert list(store.chunks_of([])) == []
    assert store.chunk_count() == ether.n_chunks + sol.n_chunks


@pytest.mark.parametrize(
    "asked",
    [
        ETHER_URL,
        "https://news.example/markets/ether-slides?id=7",  # without its tracking
        "https://news.example/markets/ether-slides?utm_medium=email&id=7&utm_campaign=x",
        "https://NEWS.example:443/markets/ether-slides/?id=7",  # case, default port, slash
        "https://news.example/markets/ether-slides?id=7#comments",
    ],
)
def test_a_link_finds_its_story_whatever_tracking_it_carries(
    store: ChromaStore, ingestor: Ingestor, asked: str
) -> None:
    [written] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))

    assert [a.id for a in store.articles_at(asked)] == [written.id]
    assert store.articles_at(asked)[0].body == ETHER


@pytest.mark.parametrize(
    "other",
    [
        "https://news.example/markets/ether-slides?id=8",  # another query is another page
        "https://news.example/markets/ether-slides",
        "http://news.example/markets/ether-slides?id=7",  # another scheme
        "https://news.example:8443/markets/ether-slides?id=7",  # a port that is not the default
        "https://other.example/markets/ether-slides?id=7",
    ],
)
def test_another_address_does_not_find_the_story(
    store: ChromaStore, ingestor: Ingestor, other: str
) -> None:
    ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))

    assert store.articles_at(other) == []


def test_an_article_is_invisible_until_its_chunks_are_written_and_it_is_committed(
    store: ChromaStore, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    article = ingestor.to_article(story("Ether slides", ETHER, ETHER_URL), ingested_by="test")
    chunks = ingestor.split(article)
    article_vectors = embeddings.encode([article.title])
    before = store.revision()

    store.begin([article], article_vectors, known=set())
    store.write_chunks(chunks, embeddings.encode([c.text for c in chunks]))

    assert store.article(article.id) is None
    assert store.articles_at(ETHER_URL) == []
    assert list(store.article_records()) == []
    assert store.changes_since(0.0, set()) == ([], set())
    assert store.revision() == before  # readers have nothing new to look for

    store.commit([article], article_vectors)

    assert store.revision() != before
    stored = store.article(article.id)
    assert stored is not None and stored.body == ETHER
    assert [a.id for a in store.article_records()] == [article.id]
    assert current_chunks(store, stored) == [c.text for c in chunks]


def test_a_changed_article_shows_its_old_version_until_the_new_one_is_committed(
    store: ChromaStore, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    [old] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))
    old_texts = current_chunks(store, old)
    corrected = ETHER.replace("9%", "11%")
    new = ingestor.to_article(
        story("Ether slides as longs unwind", corrected, ETHER_URL), ingested_by="test"
    )
    assert new.id == old.id and new.fingerprint != old.fingerprint
    chunks = ingestor.split(new)
    vectors = embeddings.encode([new.title])

    store.begin([new], vectors, known={old.id})
    store.write_chunks(chunks, embeddings.encode([c.text for c in chunks]))

    seen = store.article(old.id)
    assert seen is not None and seen.body == ETHER  # the old version, whole
    assert current_chunks(store, seen) == old_texts

    store.commit([new], vectors, replacing={old.id})

    seen = store.article(old.id)
    assert seen is not None and seen.body == corrected
    assert current_chunks(store, seen) == [c.text for c in chunks]
    # The old version's chunks are gone, not merely hidden.
    assert {cid for cid, _, _ in store.chunks_of([old.id])} == {c.id for c in chunks}


def test_an_abandoned_update_leaves_the_version_it_was_replacing(
    store: ChromaStore, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    [old] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))
    old_ids = {cid for cid, _, _ in store.chunks_of([old.id])}
    new = ingestor.to_article(
        story("Ether slides as longs unwind", ETHER + " Updated.", ETHER_URL), ingested_by="test"
    )
    chunks = ingestor.split(new)
    store.begin([new], embeddings.encode([new.title]), known={old.id})
    store.write_chunks(chunks, embeddings.encode([c.text for c in chunks]))

    store.abandon_update(old.id, new.fingerprint)

    seen = store.article(old.id)
    assert seen is not None and seen.body == ETHER
    assert {cid for cid, _, _ in store.chunks_of([old.id])} == old_ids
    _, _, pending, unfinished = store.keys()
    assert pending == [] and unfinished == {}  # nothing left for the next writer to clean


def test_forgetting_an_article_removes_it_its_chunks_and_its_link_and_nothing_else(
    store: ChromaStore, ingestor: Ingestor
) -> None:
    ether, sol = ether_and_solana(ingestor)
    before = store.revision()
    changes: list[str] = []
    store.on_change(lambda: changes.append(store.revision()))

    store.forget([ether.id])

    assert store.article(ether.id) is None
    assert store.articles_at(ETHER_URL) == []
    assert list(store.chunks_of([ether.id])) == []
    assert [a.id for a in store.article_records()] == [sol.id]
    assert store.chunk_count() == sol.n_chunks
    assert store.article(sol.id) is not None
    assert store.revision() != before
    assert changes, "this process's readers were told"


def test_forgetting_nothing_changes_nothing(store: ChromaStore, ingestor: Ingestor) -> None:
    [ether] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))
    before = (store.revision(), store.chunk_count())

    store.forget([])

    assert (store.revision(), store.chunk_count()) == before
    assert store.article(ether.id) is not None


def test_a_reader_learns_what_was_added_changed_and_removed_since_it_looked(
    store: ChromaStore, ingestor: Ingestor
) -> None:
    ether, sol = ether_and_solana(ingestor)
    everything = {ether.id, sol.id}

    # A fresh reader gets every complete article; an up-to-date one gets nothing.
    fresh, gone = store.changes_since(0.0, set())
    assert {a.id for a in fresh} == everything and gone == set()
    assert store.changes_since(LATER, everything) == ([], set())

    # A reader that knows only Ether is told of Solana, whatever its clock says.
    added, gone = store.changes_since(LATER, {ether.id})
    assert [a.id for a in added] == [sol.id] and gone == set()
    assert added[0].title == "Solana halts block production"

    # A story changed: a reader that looked before the change gets the new version.
    looked = time.time() - 600  # the margin readers keep for clocks
    [corrected] = ingest(
        ingestor, story("Ether slides as longs unwind", ETHER.replace("9%", "11%"), ETHER_URL)
    )
    changed, gone = store.changes_since(looked, everything)
    assert corrected.id == ether.id
    assert ether.id in {a.id for a in changed} and gone == set()
    assert {a.id: a.fingerprint for a in changed}[ether.id] == corrected.fingerprint

    # A story forgotten: a reader that knew it is told to drop it.
    store.forget([sol.id])
    changed, gone = store.changes_since(LATER, everything)
    assert changed == [] and gone == {sol.id}


def test_an_article_half_forgotten_is_hidden_from_readers_that_knew_it(
    store: ChromaStore, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    [ether] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))
    # Another writer's new article, begun but not committed, is no news either.
    sol = ingestor.to_article(story("Solana halts", SOLANA), ingested_by="test")
    store.begin([sol], embeddings.encode([sol.title]), known=set())
    looked = time.time() - 600  # when the reader last looked, less the clock margin
    # A forget killed after hiding the record (as forget() does) and before deleting it.
    store.articles.update(
        ids=[ether.id], metadatas=[{"state": "pending", "changed_ts": time.time()}]
    )

    changed, gone = store.changes_since(looked, {ether.id})

    assert changed == [] and gone == {ether.id}


def test_every_store_on_the_collections_sees_a_write_in_its_revision(
    client: ClientAPI,
    store: ChromaStore,
    ingestor: Ingestor,
    embeddings: MiniLMEmbeddings,
) -> None:
    other = ChromaStore(client, embeddings, "test")  # another reader of the same collections
    before = other.revision()

    [ether] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))
    after_write = other.revision()
    store.forget([ether.id])

    assert after_write != before
    assert other.revision() not in (before, after_write)
    assert other.revision() == store.revision()


def test_a_store_with_another_prefix_is_another_corpus(
    client: ClientAPI, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    [ether] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, ETHER_URL))

    other = ChromaStore(client, embeddings, "elsewhere")

    assert other.article(ether.id) is None
    assert list(other.article_records()) == [] and other.chunk_count() == 0


def test_stale_link_keys_are_rewritten_once_and_the_story_keeps_its_id(
    store: ChromaStore, ingestor: Ingestor
) -> None:
    url = "https://news.example:443/markets/ether"
    [ether] = ingest(ingestor, story("Ether slides as longs unwind", ETHER, url))
    # As a store written when keys kept the default port holds it.
    store.articles.update(ids=[ether.id], metadatas=[{"url_key": url}])
    assert store.articles_at("https://news.example/markets/ether") == []
    assert not store.url_keys_current()

    assert store.rekey_urls() == 1

    [found] = store.articles_at("https://news.example/markets/ether")
    assert found.id == ether.id and found.body == ETHER and found.url == url
    assert store.url_keys_current()
    assert store.rekey_urls() == 0  # a second run changes nothing
    assert [a.id for a in store.articles_at(url)] == [ether.id]


def test_a_new_store_is_neither_seeded_nor_marked_current_until_told(
    client: ClientAPI, store: ChromaStore, embeddings: MiniLMEmbeddings
) -> None:
    assert not store.seeded()
    assert not store.url_keys_current()

    store.mark_seeded("2025-11-05T00:00:00Z")
    assert store.rekey_urls() == 0  # an empty store has nothing to rewrite

    reopened = ChromaStore(client, embeddings, "test")
    assert reopened.seeded() and reopened.url_keys_current()


def test_the_nearest_chunks_to_a_question_are_its_articles_best_first(
    store: ChromaStore, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    ether, sol = ether_and_solana(ingestor)
    owners = {cid: owner for cid, owner, _ in store.chunks_of([ether.id, sol.id])}

    hits = store.dense(embeddings.encode(["why did solana's network stop?"])[0], k=3)

    assert len(hits) == 3
    assert owners[hits[0].chunk_id] == sol.id
    similarities = [h.similarity for h in hits]
    assert similarities == sorted(similarities, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in similarities)
    assert store.dense(embeddings.encode(["anything"])[0], k=0) == []


def test_a_chunk_is_read_back_with_the_vector_it_was_written_with(
    store: ChromaStore, ingestor: Ingestor, embeddings: MiniLMEmbeddings
) -> None:
    article = ingestor.to_article(story("Ether slides", ETHER, ETHER_URL), ingested_by="test")
    chunks = ingestor.split(article)
    vectors = embeddings.encode([c.text for c in chunks])
    store.begin([article], vectors[:1], known=set())
    store.write_chunks(chunks, vectors)
    store.commit([article], vectors[:1])
    wanted = [chunks[0].id, "missing:00000000:0"]

    rows = store.chunk_rows(wanted)
    texts_only = store.chunk_rows(wanted, vectors=False)

    assert set(rows) == {chunks[0].id}  # an id that does not exist is left out
    text, vector = rows[chunks[0].id]
    assert text == chunks[0].text
    np.testing.assert_allclose(vector, vectors[0], atol=1e-6)
    assert texts_only[chunks[0].id][0] == chunks[0].text
    assert store.chunk_rows([]) == {}
    # Its own vector is the nearest there is: the collection measures cosine similarity.
    [hit] = store.dense(vectors[0], k=1)
    assert hit.chunk_id == chunks[0].id and hit.similarity == pytest.approx(1.0, abs=1e-4)
