"""The vector store: chunks and article records in Chroma, embedded or on a `chroma run` server.

Two collections. `<prefix>_chunks` holds every chunk with its embedding; `<prefix>_articles` holds
one record per article (its text, metadata and state). A chunk's id names its article and the
fingerprint of the text it was cut from (`<article>:<fingerprint>:<n>`), and readers only see
chunks whose fingerprint is their complete article's current one.

A new article is written in three steps: its record as `pending`, its chunks, its record as
`complete`. A changed article keeps its old version visible throughout: the record notes
`updating_to`, the new chunks are written beside the old ones, the record switches to the new
fingerprint in one write, and only then are the old chunks deleted. The next writer removes
whatever a killed one left behind (pending records, chunks of an unfinished update), so an
interrupted run never shows half an article and never loses the version it was replacing.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from bot.core.chroma_server import Lease, LocalChromaServer, own_embedded
from bot.core.documents import Article, Chunk
from bot.core.embed import ChromaEmbeddingAdapter, MiniLMEmbeddings
from bot.core.text import URL_KEY_VERSION, canonical_url, parse_datetime, printable
from bot.errors import UserError

log = logging.getLogger(__name__)


class StoreUnreachable(UserError):
    """The Chroma server named by MARKETBOT_CHROMA_URL does not answer."""
P = ParamSpec("P")
R = TypeVar("R")

PAGE = 2000  # rows per Chroma get() page
ROW_CACHE = 20_000  # chunk rows (text and vector, about 2 KB each) kept between questions
WRITE_BATCH = 2000  # rows per Chroma write call, under its max batch size


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float


Connection = tuple[ClientAPI, "Lease | None"]
CALL_TIMEOUT = 60.0  # seconds one call to a Chroma server may take (its client waits forever)


def open_client(
    chroma_url: str | None,
    path: Path,
    *,
    data_dir: Path | None = None,
    embedded: bool = False,
    idle_seconds: float = 300.0,
) -> tuple[ClientAPI, Lease | None, Callable[[], Connection] | None]:
    """A client of the store, the lease that keeps a local server up while it is used, and
    how to connect again when the server went away (None for the embedded store).

    With `chroma_url`, a Chroma server's HTTP client. Else the data dir's own Chroma server
    (bot/core/chroma_server.py), shared by every process on the data dir. With `embedded`, the
    store opened in this process alone (PersistentClient): quicker to start, but refused
    (StoreBusyError) while any other process uses the data dir, and it refuses them."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = chroma_url
        own = (data_dir or path.parent) / "chroma" / "chroma.sqlite3"
        if own.exists():
            log.warning(
                "MARKETBOT_CHROMA_URL is set: the articles in this data dir's own store (%s) "
                "are not used; serve that folder with `chroma run --path` to share them (README: "
                "Several hosts)",
                own.parent,
            )

        def remote() -> Connection:
            try:
                return _http_client(url, settings), None
            except ValueError as error:  # chromadb: "Could not connect to a Chroma server"
                raise StoreUnreachable(
                    f"Could not reach the Chroma server at {printable(url)[:200]} "
                    f"(MARKETBOT_CHROMA_URL): {error}"
                ) from None

        return (*remote(), remote)
    data_dir = data_dir or path.parent
    if embedded:
        own_embedded(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings), None, None
    server = LocalChromaServer(data_dir, path, idle_seconds)

    def local() -> Connection:
        lease = server.connect()
        try:
            return _http_client(lease.url, settings), lease
        except Exception:
            lease.close()
            raise

    return (*local(), local)


def _http_client(url: str, settings: ChromaSettings) -> ClientAPI:
    parts = urlsplit(url)
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        _bypass_proxies_for_loopback()
    client = chromadb.HttpClient(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (443 if parts.scheme == "https" else 8000),
        ssl=parts.scheme == "https",
        settings=settings,
    )
    # Chroma's client waits for ever; a hung server must fail the call, not hold a question.
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(CALL_TIMEOUT, connect=5.0)
    return client


def _bypass_proxies_for_loopback() -> None:
    """httpx sends every request through $http_proxy unless $no_proxy names the host: a
    corporate proxy must never see (or break) a call to our own loopback server."""
    for name in ("no_proxy", "NO_PROXY"):
        hosts = [h.strip() for h in os.environ.get(name, "").split(",") if h.strip()]
        missing = [h for h in ("127.0.0.1", "localhost", "::1") if h not in hosts]
        if missing:
            os.environ[name] = ",".join([*hosts, *missing])


def _reconnecting(method: Callable[P, R]) -> Callable[P, R]:
    """A store call that, when the server went away (a restart, a new port), connects again
    and is made once more. Every write here can be repeated whole."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except httpx.TransportError:
            store = args[0]
            if not isinstance(store, ChromaStore) or store.reconnect is None:
                raise
            log.warning("the store's server went away: connecting again")
            store.reopen()
            return method(*args, **kwargs)

    return call


class ChromaStore:
    """Articles and their chunks in two Chroma collections."""

    def __init__(
        self,
        client: ClientAPI,
        embeddings: MiniLMEmbeddings,
        prefix: str,
        lease: Lease | None = None,
        reconnect: Callable[[], Connection] | None = None,
    ) -> None:
        self.client = client
        self.lease = lease  # keeps the data dir's local server up while this store is open
        self.reconnect = reconnect
        self.prefix = prefix
        self._rows: OrderedDict[str, tuple[str, np.ndarray]] = OrderedDict()
        self._rows_lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._reopening = threading.Lock()
        function: Any = ChromaEmbeddingAdapter(embeddings)
        self._function = function
        self._open_collections()

    def _open_collections(self) -> None:
        config: Any = {"hnsw": {"space": "cosine"}}
        self.chunks: Collection = self.client.get_or_create_collection(
            f"{self.prefix}_chunks", embedding_function=self._function, configuration=config
        )
        self.articles: Collection = self.client.get_or_create_collection(
            f"{self.prefix}_articles", embedding_function=self._function, configuration=config
        )

    def reopen(self) -> None:
        """Connect again (the server restarted, perhaps on another port): a new client and
        lease, the same collections."""
        assert self.reconnect is not None
        with self._reopening:
            client, lease = self.reconnect()
            old, self.client, self.lease = self.lease, client, lease
            self._open_collections()
            if old is not None:
                old.close()

    def close(self) -> None:
        """Release the local server (it stops once no process uses it); the store is done."""
        if self.lease is not None:
            self.lease.close()

    # -- reading ---------------------------------------------------------------------------

    def article_records(self, *, with_text: bool = False) -> Iterator[Article]:
        """Every complete article (metadata, and the text when asked)."""
        offset = 0
        while True:
            page = self._page("articles", {"state": "complete"}, with_text, offset)
            ids = page["ids"]
            if not ids:
                return
            metas = page["metadatas"] or []
            docs = page["documents"] if with_text else None
            for i, article_id in enumerate(ids):
                yield _article(article_id, metas[i], docs[i] if docs else "")
            offset += len(ids)

    def changes_since(self, since: float, known: Set[str]) -> tuple[list[Article], set[str]]:
        """What changed since SINCE (a time.time() of any host, give or take its clock) for
        a reader that holds the complete articles KNOWN: the complete records written since,
        or not in KNOWN, and the ids of KNOWN articles hidden or gone. Reads every id (cheap:
        no metadata) but only the changed records' metadata."""
        ids: set[str] = set()
        offset = 0
        while True:
            page = self._ids_page(offset)
            if not page:
                break
            ids.update(page)
            offset += len(page)
        metas: dict[str, Any] = {}
        offset = 0
        while True:
            changed = self._page("articles", {"changed_ts": {"$gte": since}}, False, offset)
            if not changed["ids"]:
                break
            metas.update(zip(changed["ids"], changed["metadatas"] or [], strict=True))
            offset += len(changed["ids"])
        # Pending ones, a skewed clock's, and known ones the id pages missed (a delete during
        # the paging shifts the offsets): read by id, so none is hidden by mistake.
        unseen = sorted((ids - known - metas.keys()) | (set(known) - ids - metas.keys()))
        for start in range(0, len(unseen), PAGE):
            page = self._by_ids(unseen[start : start + PAGE])
            metas.update(zip(page["ids"], page["metadatas"] or [], strict=True))
        complete = [
            _article(i, meta, None) for i, meta in metas.items() if meta.get("state") == "complete"
        ]
        hidden = {i for i in known if i not in metas and i not in ids}
        hidden |= {i for i, m in metas.items() if m.get("state") != "complete" and i in known}
        return complete, hidden

    @_reconnecting
    def _ids_page(self, offset: int) -> list[str]:
        return list(self.articles.get(include=[], limit=PAGE * 5, offset=offset)["ids"])

    @_reconnecting
    def _by_ids(self, ids: list[str]) -> Any:
        return self.articles.get(ids=ids, include=["metadatas"])

    @_reconnecting
    def _page(self, which: str, where: Any, with_text: bool, offset: int) -> Any:
        """One page of "articles" or "chunks" (named, not passed: connecting again replaces
        the collection objects)."""
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]
        collection: Collection = getattr(self, which)
        return collection.get(where=where, include=include, limit=PAGE, offset=offset)

    @_reconnecting
    def article(self, article_id: str) -> Article | None:
        page = self.articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not page["ids"]:
            return None
        meta = (page["metadatas"] or [{}])[0]
        if meta.get("state") != "complete":
            return None
        return _article(article_id, meta, (page["documents"] or [""])[0])

    @_reconnecting
    def articles_at(self, url: str) -> list[Article]:
        """The complete articles stored at this link (several stories may share one)."""
        page = self.articles.get(
            where={"$and": [{"url_key": canonical_url(url)}, {"state": "complete"}]},
            include=["metadatas", "documents"],
        )
        metas, docs = page["metadatas"] or [], page["documents"] or []
        return [
            _article(article_id, metas[i], docs[i] if i < len(docs) else "")
            for i, article_id in enumerate(page["ids"])
        ]

    @_reconnecting
    def keys(self) -> tuple[dict[str, str], dict[str, str], list[str], dict[str, str]]:
        """For dedupe and recovery: (article id -> fingerprint, fingerprint -> article id,
        pending ids, article id -> fingerprint of an update that never finished)."""
        by_id: dict[str, str] = {}
        by_print: dict[str, str] = {}
        pending: list[str] = []
        unfinished: dict[str, str] = {}
        offset = 0
        while True:
            page = self.articles.get(include=["metadatas"], limit=PAGE, offset=offset)
            if not page["ids"]:
                break
            for article_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True):
                if meta.get("state") == "complete":
                    by_id[article_id] = str(meta.get("fingerprint"))
                    by_print[str(meta.get("fingerprint"))] = article_id
                    if meta.get("updating_to"):
                        unfinished[article_id] = str(meta["updating_to"])
                else:
                    pending.append(article_id)
            offset += len(page["ids"])
        return by_id, by_print, pending, unfinished

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        """(chunk id, article id, text) of every stored chunk, page by page, stale or not:
        callers keep those `is_current` for the article they belong to."""
        return self._chunk_pages(None)

    def chunks_of(self, article_ids: Sequence[str]) -> Iterator[tuple[str, str, str]]:
        """(chunk id, article id, text) of the stored chunks of these articles, stale or not,
        as `iter_chunks` gives them, reading only those articles' chunks."""
        for start in range(0, len(article_ids), 100):
            yield from self._chunk_pages(
                {"article_id": {"$in": list(article_ids[start : start + 100])}}
            )

    def _chunk_pages(self, where: Any) -> Iterator[tuple[str, str, str]]:
        offset = 0
        while True:
            page = self._page("chunks", where, True, offset)
            if not page["ids"]:
                return
            metas = page["metadatas"] or []
            docs = page["documents"] or []
            for i, chunk_id in enumerate(page["ids"]):
                yield chunk_id, str(metas[i]["article_id"]), docs[i]
            offset += len(page["ids"])

    @_reconnecting
    def chunk_count(self) -> int:
        return self.chunks.count()

    @_reconnecting
    def dense(self, query: np.ndarray, k: int) -> list[DenseHit]:
        """The k chunks nearest to a query embedding (cosine similarity, best first)."""
        if k <= 0:
            return []
        result = self.chunks.query(query_embeddings=[query], n_results=k, include=["distances"])
        distances = (result["distances"] or [[]])[0]
        return [
            DenseHit(chunk_id, 1.0 - float(distance))
            for chunk_id, distance in zip(result["ids"][0], distances, strict=True)
        ]

    @_reconnecting
    def chunk_rows(
        self, chunk_ids: Sequence[str], *, vectors: bool = True
    ) -> dict[str, tuple[str, np.ndarray]]:
        """chunk id -> (text, unit vector) for the ids that exist (an empty vector if not asked).

        Rows read with their vectors are kept for the next questions (the last ROW_CACHE of
        them): a chunk's id names the version of the text it holds, so a kept row never goes
        stale, and over HTTP the vectors cost more than the search itself."""
        if not chunk_ids:
            return {}
        empty = np.zeros(0, dtype=np.float32)
        found: dict[str, tuple[str, np.ndarray]] = {}
        with self._rows_lock:
            for chunk_id in chunk_ids:
                row = self._rows.get(chunk_id)
                if row is not None:
                    self._rows.move_to_end(chunk_id)
                    found[chunk_id] = row if vectors else (row[0], empty)
        missing = [c for c in chunk_ids if c not in found]
        if not missing:
            return found
        include: Any = ["documents", "embeddings"] if vectors else ["documents"]
        page = self.chunks.get(ids=missing, include=include)
        docs = page["documents"] or []
        embeddings = page["embeddings"] if vectors else None
        read = {
            chunk_id: (
                docs[i],
                np.asarray(embeddings[i], dtype=np.float32) if embeddings is not None else empty,
            )
            for i, chunk_id in enumerate(page["ids"])
        }
        if vectors:
            with self._rows_lock:
                self._rows.update(read)
                while len(self._rows) > ROW_CACHE:
                    self._rows.popitem(last=False)
        return {**found, **read}

    @_reconnecting
    def seeded(self) -> bool:
        """Whether the bundled corpus was fully ingested into this store once."""
        return bool(self._shared_metadata().get("seeded_at"))

    @_reconnecting
    def mark_seeded(self, when: str) -> None:
        self._set_shared_metadata(seeded_at=when)

    @_reconnecting
    def url_keys_current(self) -> bool:
        """Whether the records' url keys are in the form canonical_url writes now."""
        return self._shared_metadata().get("url_keys") == URL_KEY_VERSION

    @_reconnecting
    def rekey_urls(self) -> int:
        """Rewrite the url key of every record stored when canonical_url wrote another form
        (the articles keep their ids: a link finds its stories by key, and a story keeps the id
        it was stored under), then mark the store current; how many records changed. Call it
        under the writer lock; running it twice changes nothing."""
        changed = offset = 0
        while True:
            page = self.articles.get(include=["metadatas"], limit=PAGE, offset=offset)
            ids, metas = page["ids"], page["metadatas"] or []
            if not ids:
                break
            fixed = {
                article_id: {**meta, "url_key": _url_key(str(meta.get("url") or ""))}
                for article_id, meta in zip(ids, metas, strict=True)
                if meta.get("url_key", "") != _url_key(str(meta.get("url") or ""))
            }
            if fixed:
                metadatas: Any = list(fixed.values())
                self.articles.update(ids=list(fixed), metadatas=metadatas)
            changed += len(fixed)
            offset += len(ids)
        self._set_shared_metadata(url_keys=URL_KEY_VERSION)
        return changed

    @_reconnecting
    def revision(self) -> str:
        """A token that changes whenever the visible corpus changes, in this process or in
        any other one writing to the same Chroma server."""
        return str(self._shared_metadata().get("revision", ""))

    def _shared_metadata(self) -> dict[str, Any]:
        # Collection.metadata is the copy read when the collection was opened: read it anew.
        fresh = self.client.get_collection(self.articles.name, embedding_function=self._function)
        return dict(fresh.metadata or {})

    def _set_shared_metadata(self, **values: str) -> None:
        self.articles.modify(metadata={**self._shared_metadata(), **values})

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call LISTENER whenever this process changes what readers see (other processes'
        changes show in `revision`)."""
        self._listeners.append(listener)

    def _bump_revision(self) -> None:
        self._set_shared_metadata(revision=uuid.uuid4().hex)
        for listener in self._listeners:
            listener()

    # -- writing ---------------------------------------------------------------------------

    @_reconnecting
    def begin(self, articles: Sequence[Article], vectors: np.ndarray, known: set[str]) -> None:
        """Before any chunk is written: new articles get a pending record; articles in `known`
        keep their complete record, which only notes the version being written."""
        new = [i for i, a in enumerate(articles) if a.id not in known]
        if new:
            self.articles.upsert(
                ids=[articles[i].id for i in new],
                embeddings=vectors[new],
                documents=[articles[i].body for i in new],
                metadatas=[_metadata(articles[i], "pending") for i in new],
            )
        updates = [a for a in articles if a.id in known]
        if updates:
            self.articles.update(
                ids=[a.id for a in updates],
                metadatas=[{"updating_to": a.fingerprint} for a in updates],
            )

    @_reconnecting
    def write_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write chunks; their ids are new for every version, so nothing visible changes."""
        for start in range(0, len(chunks), WRITE_BATCH):
            part = chunks[start : start + WRITE_BATCH]
            self.chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + WRITE_BATCH],
                documents=[c.text for c in part],
                metadatas=[
                    {"article_id": c.article_id, "index": c.index, "fingerprint": c.fingerprint}
                    for c in part
                ],
            )

    @_reconnecting
    def commit(
        self, articles: Sequence[Article], vectors: np.ndarray, replacing: Set[str] = frozenset()
    ) -> None:
        """Make these versions the visible ones, then drop the chunks of the earlier versions
        of the articles in `replacing` (a new article has none)."""
        if not articles:
            return
        self.articles.upsert(
            ids=[a.id for a in articles],
            embeddings=vectors,
            documents=[a.body for a in articles],
            metadatas=[_metadata(a, "complete") for a in articles],
        )
        self._bump_revision()
        for article in (a for a in articles if a.id in replacing):
            self._delete_chunks_where(
                {
                    "$and": [
                        {"article_id": article.id},
                        {"fingerprint": {"$ne": article.fingerprint}},
                    ]
                }
            )

    @_reconnecting
    def abandon_update(self, article_id: str, fingerprint: str) -> None:
        """Remove what an unfinished update wrote; the version it was replacing stays."""
        self._delete_chunks_where(
            {"$and": [{"article_id": article_id}, {"fingerprint": fingerprint}]}
        )
        self.articles.update(ids=[article_id], metadatas=[{"updating_to": ""}])

    @_reconnecting
    def delete_chunks(self, article_ids: Sequence[str]) -> None:
        for start in range(0, len(article_ids), 500):
            self._delete_chunks_where(
                {"article_id": {"$in": list(article_ids[start : start + 500])}}
            )

    def _delete_chunks_where(self, where: Any) -> None:
        self.chunks.delete(where=where)

    @_reconnecting
    def forget(self, article_ids: Sequence[str]) -> None:
        """Remove articles: hidden first, then their chunks, then their records."""
        if not article_ids:
            return
        now = time.time()
        self.articles.update(
            ids=list(article_ids),
            metadatas=[{"state": "pending", "changed_ts": now} for _ in article_ids],
        )
        self._bump_revision()
        self.delete_chunks(article_ids)
        self.articles.delete(ids=list(article_ids))


def is_current(chunk_id: str, article: Article | None) -> bool:
    """Whether a chunk belongs to the version of its article that readers see."""
    if article is None:
        return False
    parts = chunk_id.split(":")
    return len(parts) == 3 and article.fingerprint.startswith(parts[1])


def _metadata(article: Article, state: str) -> dict[str, Any]:
    published = article.published_at
    return {
        "title": article.title,
        "url": article.url or "",
        "outlet": article.outlet or "",
        "published_at": published.isoformat() if published else "",
        "published_ts": int(published.timestamp()) if published else -1,
        "ingested_at": article.ingested_at.isoformat(),
        "ingested_by": article.ingested_by,
        "assets": "|" + "|".join(article.assets) + "|",
        "fingerprint": article.fingerprint,
        "n_chunks": article.n_chunks,
        "characters": len(article.body),
        "updating_to": "",
        "state": state,
        "flags": "|".join(article.flags),
        "author": article.author or "",
        "longest": max(article.longest, len(article.body)),
        # Every story at one link, whatever tracking parameters its URL carried.
        "url_key": _url_key(article.url or ""),
        # When the record last changed what readers see (wall clock, this host's): readers
        # ask for the records changed since they last looked instead of reading them all.
        "changed_ts": time.time(),
    }


def _url_key(url: str) -> str:
    return canonical_url(url) if url else ""


def _article(article_id: str, meta: Any, body: str | None) -> Article:
    ingested = parse_datetime(meta.get("ingested_at")) or datetime.fromtimestamp(0).astimezone()
    return Article(
        id=article_id,
        title=str(meta.get("title", "")),
        body=body or "",
        url=str(meta.get("url")) or None,
        outlet=str(meta.get("outlet")) or None,
        published_at=parse_datetime(meta.get("published_at")),
        ingested_at=ingested,
        ingested_by=str(meta.get("ingested_by", "")),
        assets=tuple(a for a in str(meta.get("assets", "")).split("|") if a),
        fingerprint=str(meta.get("fingerprint", "")),
        n_chunks=int(meta.get("n_chunks", 0)),
        characters=int(meta.get("characters", len(body or ""))),
        flags=tuple(f for f in str(meta.get("flags", "")).split("|") if f),
        author=str(meta.get("author") or "") or None,
        longest=int(meta.get("longest") or 0),
    )
