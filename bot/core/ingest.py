"""Ingestion: load, normalise, dedupe, split, embed and store articles, idempotently."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.documents import Document

from bot.core.assets import AssetTable
from bot.core.documents import Article, Chunk, utcnow
from bot.core.embed import MiniLMEmbeddings
from bot.core.files import never_lost
from bot.core.injection import scan
from bot.core.sources import LoadResult, iter_files, load_path, origin_of
from bot.core.splitter import SentenceSplitter
from bot.core.store import ChromaStore
from bot.core.text import (
    canonical_url,
    clean,
    fingerprint,
    parse_datetime,
    printable,
    short_hash,
    strip_markers,
    tokens,
    web_url,
)

log = logging.getLogger(__name__)

# The longest text kept of one article, in characters. The longest real articles in our corpora
# (multi-topic daily briefs) hold about 70,000; past the cap an article would cost minutes of
# embedding and hundreds of chunks (a 1 MB single-line page made 1,507).
MAX_ARTICLE_CHARS = 200_000
# A text shorter than this share of the one stored at its link is a thinner version of it (a
# headline, a summary, a cut body): it never replaces the fuller one.
THINNER = 0.6
# Retitled texts at one link sharing this share of their words (Jaccard) are versions of one
# article; headlines sharing SAME_TITLE of their words name one story.
SAME_STORY = 0.5
SAME_TITLE = 0.5
Verdict = Literal["duplicate", "thinner", "kept", "new", "update", "another story"]


@dataclass
class FileReport:
    """What happened to one input file."""

    origin: str
    format: str
    found: int = 0
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    cleaned_up: int = 0

    @property
    def stored(self) -> int:
        return sum(f.stored + f.updated for f in self.files)

    @property
    def failed(self) -> bool:
        """True when some file yielded nothing usable."""
        return any(f.stored + f.updated + f.duplicates == 0 and f.problems for f in self.files)


class Ingestor:
    """Writes Documents into the store; the same article is stored once, whoever sends it."""

    def __init__(
        self,
        store: ChromaStore,
        embeddings: MiniLMEmbeddings,
        assets: AssetTable,
        chunk_size: int = 700,
        chunk_overlap: int = 120,
        batch_chunks: int = 256,
        lock: Callable[[], AbstractContextManager[Callable[[], None]]] | None = None,
    ) -> None:
        # One writer at a time, across every process sharing the state (State.writer).
        self.lock = lock
        self._still_held: Callable[[], None] = never_lost
        # batch_chunks: chunks embedded and written together; each batch is one crash-safe step.
        self.batch_chunks = batch_chunks
        self.store = store
        self.embeddings = embeddings
        self.assets = assets
        self.splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)

    def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        ingested_by: str = "cli",
        outlet: str | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; each file gets its own report."""
        files = list(iter_files(list(paths)))
        results: list[LoadResult] = []
        for number, path in enumerate(files, start=1):
            results.append(load_path(path))
            if progress:
                progress(number, len(files), f"reading {origin_of(path.name)}")
        return self.ingest_results(
            results, ingested_by=ingested_by, outlet=outlet, progress=progress
        )

    def ingest_results(
        self,
        results: Iterable[LoadResult],
        *,
        ingested_by: str,
        outlet: str | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        with self.locked():
            return self._ingest_results(
                list(results), ingested_by=ingested_by, outlet=outlet, progress=progress
            )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time on the store, across processes and hosts: a second ingestion (or
        a forget) waits, so neither mistakes the other's unfinished writes for a crash's
        leftovers, nor stores an article the other is storing."""
        if self.lock is None:
            yield
            return
        with self.lock() as still_held:
            # Checked before each step that another writer must not interleave with: a lock
            # the database dropped (its connection lost) stops the writing with LockLost.
            self._still_held = still_held
            try:
                yield
            finally:
                self._still_held = never_lost

    def _ingest_results(
        self,
        results: list[LoadResult],
        *,
        ingested_by: str,
        outlet: str | None,
        progress: Callable[[int, int, str], None] | None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        by_id, by_print, pending, unfinished = self.store.keys()
        self._still_held()
        if pending or unfinished:
            # A killed ingestion left these half-written: remove what it wrote (an update's
            # previous version stays); the input, ingested again, writes them anew.
            log.warning("cleaning up %d unfinished writes", len(pending) + len(unfinished))
            self.store.forget(pending)
            for article_id, version in unfinished.items():
                self.store.abandon_update(article_id, version)
            report.cleaned_up = len(pending) + len(unfinished)
        stored = set(by_id)  # complete in the store: written as updates, not as new records
        items = self._read(results, report, ingested_by=ingested_by, outlet=outlet)
        batch: list[tuple[Article, list[Chunk]]] = []
        this_run: dict[str, Article] = {}  # articles written by this ingestion, by id
        for done, item in enumerate(items, start=1):
            file_report, where, article = item.report, item.where, item.article
            if item.superseded:
                file_report.problems.append(f"{where}: {item.superseded}")
                verdict: Verdict = "duplicate"
            else:
                article, verdict = self._place(article, by_id, by_print, this_run)
            if verdict == "thinner":
                file_report.duplicates += 1
                file_report.problems.append(
                    f"{where}: a fuller version of this article ({article.url}) is already "
                    "stored and is kept"
                )
            elif verdict == "kept":
                file_report.duplicates += 1
                file_report.problems.append(
                    f"{where}: this article ({article.url}) was stored from another source; "
                    "a feed may not replace it"
                )
            elif verdict == "duplicate":
                file_report.duplicates += 1
            else:
                if verdict == "update":
                    file_report.updated += 1
                else:
                    file_report.stored += 1
                if verdict == "another story":
                    item.notes.append(
                        f"another item has the same link ({article.url}) but tells a "
                        "different story: stored as an article of its own"
                    )
                file_report.problems.extend(f"{where}: {note}" for note in item.notes)
                chunks = self.split(article)
                article = replace(article, n_chunks=len(chunks))
                if any(queued.id == article.id for queued, _ in batch):
                    # One id twice in a batch would be written as one: write the first.
                    report.chunks += self._flush(batch, stored)
                    batch = []
                batch.append((article, chunks))
                by_id[article.id] = article.fingerprint
                by_print[article.fingerprint] = article.id
                this_run[article.id] = article
                if sum(len(c) for _, c in batch) >= self.batch_chunks:
                    report.chunks += self._flush(batch, stored)
                    batch = []
            if progress:
                progress(done, len(items), "embedding")
        report.chunks += self._flush(batch, stored)
        report.seconds = time.perf_counter() - started
        return report

    def _read(
        self,
        results: list[LoadResult],
        report: IngestReport,
        *,
        ingested_by: str,
        outlet: str | None,
    ) -> list[_Item]:
        """Every document as an article, each file with its report; of several versions of one
        article in the input (a story listed twice, an item updated in a feed) only the last,
        or the fullest, is marked to be stored, so that the same input ingested again finds
        everything stored and writes nothing."""
        items: list[_Item] = []
        for result in results:
            file_report = FileReport(
                result.origin,
                result.format,
                found=len(result.documents),
                problems=list(result.problems),
            )
            report.files.append(file_report)
            for document in result.documents:
                where = str(document.metadata.get("origin") or result.origin)
                notes: list[str] = []
                try:
                    article = self.to_article(
                        document, ingested_by=ingested_by, outlet=outlet, notes=notes
                    )
                except ValueError as error:
                    file_report.problems.append(f"{where}: {error}")
                    continue
                items.append(_Item(file_report, where, article, notes))
        kept: dict[str, list[_Item]] = {}  # article id -> the stories at it still to be stored
        for item in items:
            stories = kept.setdefault(item.article.id, [])
            for position, earlier in enumerate(stories):
                if earlier.article.fingerprint == item.article.fingerprint:
                    break  # the same text twice: the store's dedupe reports it
                if not same_story(item.article, earlier.article):
                    continue
                if _prefer(earlier.article, item.article):
                    item.superseded = (
                        f"another version of this article ({item.article.url}) in this input "
                        "is fuller or newer and is kept"
                    )
                else:
                    earlier.superseded = (
                        f"a later version of this article ({item.article.url}) is in this "
                        "input and is kept"
                    )
                    stories[position] = item
                break
            else:
                stories.append(item)
        return items

    def _place(
        self,
        article: Article,
        by_id: dict[str, str],
        by_print: dict[str, str],
        this_run: dict[str, Article],
    ) -> tuple[Article, Verdict]:
        """What storing `article` would do to what is stored: nothing (a duplicate, or a
        thinner version of a stored article), add it, or replace the version at its link.

        A link names one article, but sources reuse links: a headline-only record or a summary
        for a page already stored in full, a feed giving every item the same GUID. The text
        behind a link is replaced only by a version of itself that is not much shorter; a
        different story at the same link is stored beside it."""
        known = by_id.get(article.id)
        owner = by_print.get(article.fingerprint)
        if known == article.fingerprint or (owner is not None and owner != article.id):
            return article, "duplicate"
        if known is None and not (article.url and self.store.articles_at(article.url)):
            return article, "new"
        # Its id is stored, or another is at its link: one stored before links were keyed as
        # they are now ("https://x.example:443/a"), or another story sharing the link.
        stories = self._stories_at(article, this_run)
        if not stories:  # forgotten meanwhile
            return article, "new"
        for previous in stories:
            if not same_story(article, previous):
                continue
            fullest = max(previous.longest, len(previous.body))
            article = replace(article, id=previous.id, longest=max(fullest, len(article.body)))
            if len(article.body) < THINNER * fullest:
                return article, "thinner"
            if not may_replace(article.ingested_by, previous.ingested_by):
                return article, "kept"
            return article, "update"
        own = replace(article, id=short_hash(f"{article.id}:{article.fingerprint}"))
        if own.id in by_id:
            return own, "duplicate"
        return own, "another story"

    def _stories_at(self, article: Article, this_run: dict[str, Article]) -> list[Article]:
        """The articles stored at `article`'s link (or under its id), this run's versions
        first: several stories may share a link."""
        found: dict[str, Article] = {}
        key = canonical_url(article.url) if article.url else None
        for written in this_run.values():
            at_link = key is not None and written.url and canonical_url(written.url) == key
            if written.id == article.id or at_link:
                found[written.id] = written
        stored = [self.store.article(article.id)] + (self.store.articles_at(key) if key else [])
        for previous in stored:
            if previous is not None:
                found.setdefault(previous.id, previous)
        return sorted(found.values(), key=lambda a: a.id != article.id)  # its own id first

    def to_article(
        self,
        document: Document,
        *,
        ingested_by: str,
        outlet: str | None = None,
        notes: list[str] | None = None,
    ) -> Article:
        """Normalise a loaded Document into an Article with its id, fingerprint and assets.
        What had to be changed on the way (a cut text, a future date, a bad link) is added to
        `notes`."""
        notes = notes if notes is not None else []
        meta = document.metadata
        body = strip_markers(clean(document.page_content))
        title = strip_markers(clean(str(meta.get("title") or "")))[:300]
        if len(body) < 20:
            raise ValueError("too little text to be an article")
        if len(body) > MAX_ARTICLE_CHARS:
            notes.append(
                f"{len(body):,} characters of text: only the first {MAX_ARTICLE_CHARS:,} were kept"
            )
            body = _cut(body, MAX_ARTICLE_CHARS)
        raw_url = meta.get("url") or None
        url = web_url(raw_url)
        if raw_url and url is None:
            notes.append(
                f"its link {printable(str(raw_url)[:120])!r} is not a web address; "
                "stored without it"
            )
        print_ = fingerprint(body)
        article_id = short_hash(canonical_url(url)) if url else short_hash("text:" + print_)
        ingested_at = utcnow()
        published = parse_datetime(meta.get("published_at"))
        if published is not None and published > ingested_at:
            notes.append(
                f"published {published:%Y-%m-%d %H:%M} UTC, later than now: dated when it was "
                "ingested instead"
            )
            published = ingested_at
        hinted = [s for s in (self.assets.resolve(h) for h in meta.get("assets_hint") or []) if s]
        found = self.assets.find(f"{title}\n{body}")
        return Article(
            id=article_id,
            title=title or body[:100],
            body=body,
            url=url,
            outlet=outlet or meta.get("outlet") or None,
            published_at=published,
            ingested_at=ingested_at,
            ingested_by=ingested_by,
            assets=tuple(dict.fromkeys([*found, *hinted])),
            fingerprint=print_,
            flags=scan(f"{title}\n{body}"),
            author=str(meta.get("author") or "")[:200] or None,
        )

    def split(self, article: Article) -> list[Chunk]:
        texts = self.splitter.split_text(article.body)
        version = article.fingerprint[:8]
        return [
            Chunk(f"{article.id}:{version}:{i}", article.id, i, text, article.fingerprint)
            for i, text in enumerate(texts)
        ]

    def _flush(self, batch: list[tuple[Article, list[Chunk]]], stored: set[str]) -> int:
        if not batch:
            return 0
        articles = [a for a, _ in batch]
        chunks = [c for _, cs in batch for c in cs]
        chunk_vectors = self.embeddings.encode(
            [embedding_text(article.title, c.text) for article, cs in batch for c in cs]
        )
        # An article's own vector is the mean of its chunks': no second encoder pass.
        article_vectors = np.zeros((len(batch), chunk_vectors.shape[1]), dtype=np.float32)
        start = 0
        for row, (_, cs) in enumerate(batch):
            mean = chunk_vectors[start : start + len(cs)].mean(axis=0)
            article_vectors[row] = mean / (np.linalg.norm(mean) or 1.0)
            start += len(cs)
        self._still_held()
        self.store.begin(articles, article_vectors, known=stored)
        self.store.write_chunks(chunks, chunk_vectors)
        self.store.commit(articles, article_vectors, replacing=stored)
        stored.update(a.id for a in articles)
        log.info("stored %d articles, %d chunks", len(articles), len(chunks))
        return len(chunks)


@dataclass
class _Item:
    """One document of an ingestion, read: where it came from and what became of it."""

    report: FileReport
    where: str
    article: Article
    notes: list[str]
    superseded: str | None = None  # why another version in the same input is stored instead


def same_story(a: Article, b: Article) -> bool:
    """Whether two articles at one link are versions of one story: their headlines are the
    same story's (a headline-only record, a summary, a correction), or, retitled, their texts
    are of comparable length and share most of their words."""
    if same_title(a.title, b.title):
        return True
    short, full = sorted((len(a.body), len(b.body)))
    return short >= THINNER * full and _jaccard(a.body, b.body) >= SAME_STORY


def same_title(a: str, b: str) -> bool:
    """Whether two headlines name the same story: most of their words are shared, counted
    over both (a short text's words are nearly always somewhere in a long one's)."""
    return _jaccard(a, b, skip=_TITLE_FILLER) >= SAME_TITLE


def thinner(a: Article, b: Article) -> bool:
    """Whether a is a thinner version than b: much shorter (a headline, a summary, a cut)."""
    return len(a.body) < THINNER * max(len(b.body), b.longest)


def _prefer(earlier: Article, later: Article) -> bool:
    """Of two versions of one article in one input, whether the earlier one is the one to
    keep: the fuller, else the newer by its date (a feed lists its newest item first), else
    the later in the input."""
    if thinner(later, earlier):
        return True
    if thinner(earlier, later):
        return False
    if earlier.published_at and later.published_at:
        return earlier.published_at > later.published_at
    return False


def may_replace(new_by: str, old_by: str) -> bool:
    """Whether a version ingested by `new_by` may replace one `old_by` stored: a feed may
    only rewrite what it brought itself; people (the CLI, Discord admins) may rewrite any."""
    return not new_by.startswith("feed:") or new_by == old_by


_TITLE_FILLER = frozenset("a an the of to in on for and or as at by is are with from".split())


def _jaccard(a: str, b: str, skip: frozenset[str] = frozenset()) -> float:
    words_a, words_b = set(tokens(a)) - skip, set(tokens(b)) - skip
    union = words_a | words_b
    return len(words_a & words_b) / len(union) if union else 0.0


def _cut(text: str, limit: int) -> str:
    """The text up to `limit` characters, ending at a paragraph or sentence if one is near."""
    room = text[:limit]
    for mark in ("\n\n", ". ", " "):
        end = room.rfind(mark)
        if end >= limit * 0.9:
            return room[: end + (1 if mark == ". " else 0)].rstrip()
    return room


def embedding_text(title: str, chunk: str) -> str:
    """What is embedded for a chunk: its article's title gives short chunks their context."""
    return f"{title}\n{chunk}" if title and not chunk.startswith(title) else chunk
