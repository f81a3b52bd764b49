"""Hybrid retrieval for news: dense and BM25 scores fused, aware of assets and event dates,
with syndicated copies of one story collapsed into one passage."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

import numpy as np

from bot.core.assets import AssetTable
from bot.core.documents import Article, Chunk, Passage
from bot.core.embed import MiniLMEmbeddings
from bot.core.lexical import STOPWORDS, LexicalIndex, stem, terms
from bot.core.question import Question, resolve_date, without_dates
from bot.core.store import ChromaStore, is_current
from bot.core.text import short_hash, strip_markers, tokens

log = logging.getLogger(__name__)

CANDIDATES = 40
# Reading a chunk's row (text and vector) costs about ten ranked ids of a dense query (embedded
# Chroma, 100k chunks: 2,000 rows in 75 ms; 4,000 ids in 30 ms, 100,000 in 400 ms). A view of
# the news before a moment scans its own rows when that is cheaper than widening the query.
ROW_COST = 10
CLOCK_MARGIN = 600.0  # seconds other hosts' clocks may be behind: their recent writes are re-read
CONTEXT_AROUND = 4  # chunks either side of a ranked one that an answer may also quote
SYNDICATED_SIMILARITY = 0.92
PER_ARTICLE = 4
# Words that say nothing about which story is meant.
GENERIC = frozenset(
    stem(word)
    for word in "price prices market markets crypto cryptocurrency coin coins token tokens stock "
    "stocks fall fell drop dropped rise rose happen happened move moved much many going go get "
    "got big pump pumped dump dumped crash crashed rally surge suddenly really cause caused "
    "reason explain tank tanked nuke nuked plunge plunged spike spiked ppl people guys lol wtf "
    "yesterday today week weekend still now back".split()
)
# Words of physical harm and natural disaster that a market question uses literally only:
# news that calls a crash a "massacre" or an "earthquake" reports no one dying and no
# epicentre. Asked about and absent from the best passages, the corpus has only the metaphor.
LITERAL_ONLY = frozenset(
    stem(word)
    for word in "died fatalities injured injuries richter aftershock aftershocks evacuated "
    "evacuation hospitalized hospitalised rainfall snowfall".split()
)
# A year (1600-2099) only where a year is meant ("in 2014", "back in 2022", "Aug 2024", "2024's"):
# "fell below 2000" is a price.
_YEAR = re.compile(
    r"\b(?:in|since|during|of|from|year|jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|"
    r"aug\w*|sep\w*|oct\w*|nov\w*|dec\w*)\.?,?\s+((?:1[6-9]|20)\d{2})\b|\b((?:1[6-9]|20)\d{2})'s\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Corpus:
    """One consistent version of what the retriever holds in memory, or a view of it that
    holds only the news published before a moment (see `before`)."""

    articles: dict[str, Article]
    lexical: LexicalIndex
    dates: list[date]
    # A view's: the lexical positions of its articles (the index is the whole corpus's, and
    # is never copied), and the corpus it is a view of.
    visible: np.ndarray | None = None
    whole: _Corpus | None = None

    def chunk_count(self) -> int:
        """Chunks readers see: the lexical index's, or while it is being built (empty), the
        articles' own count; a view's, its articles' own count."""
        if self.whole is not None:
            return sum(a.n_chunks for a in self.articles.values())
        return self.lexical.size or sum(a.n_chunks for a in self.articles.values())

    def has_words(self) -> bool:
        """Whether the lexical index holds the corpus's words (not while it is built)."""
        return self.lexical.size > 0

    @cached_property
    def _position_articles(self) -> tuple[list[str], np.ndarray]:
        """The article ids, and for each lexical position the index of its article among
        them (len(ids) for a position whose article is not loaded). Computed once per
        corpus version, on the first view of it."""
        ids = list(self.articles)
        index = {article_id: i for i, article_id in enumerate(ids)}
        missing = len(ids)
        positions = np.fromiter(
            (index.get(article_of(chunk_id), missing) for chunk_id in self.lexical.ids),
            dtype=np.int64,
            count=len(self.lexical.ids),
        )
        return ids, positions

    def before(self, cutoff: datetime) -> _Corpus:
        """The view of the news published strictly before `cutoff` (an aware datetime): an
        article without a published date is left out, since it may be from after it."""
        ids, positions = self._position_articles
        past = {
            i: a
            for i, a in self.articles.items()
            if a.published_at is not None and a.published_at < cutoff
        }
        allowed = np.fromiter((i in past for i in ids), dtype=bool, count=len(ids))
        visible = np.append(allowed, False)[positions]
        dates = [a.published_at.date() for a in past.values() if a.published_at]
        return _Corpus(past, self.lexical, dates, visible, self)

    def counter(self, *texts: str) -> Callable[[str], int]:
        """How many chunks hold a (stemmed) term: the lexical index's count; in a view, the
        count among the view's chunks, for the terms of `texts` (the question's words)."""
        visible = self.visible
        if visible is None:
            return self.lexical.df
        words: dict[str, str] = {}
        for text in texts:
            for word in tokens(text):
                if word not in STOPWORDS:
                    words.setdefault(stem(word), word)
        counts: dict[str, int] = {}

        def df(term: str) -> int:
            if term not in counts:
                # A word's scores are positive exactly where a chunk holds its stem (the
                # index counts only over every chunk).
                held = self.lexical.scores(words.get(term, term)) > 0
                counts[term] = int(np.count_nonzero(held & visible))
            return counts[term]

        return df


@dataclass(frozen=True)
class Retrieval:
    """Passages best first, and what the relevance gate decided."""

    passages: tuple[Passage, ...]
    relevant: bool
    reason: str
    event_date: date | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The other chunks of the best articles: an explanation is read from whole articles.
    context: tuple[Passage, ...] = ()


class HybridRetriever:
    """Ranks chunks by a fusion of dense similarity and BM25, then asset and date fit.

    Holds the complete articles' metadata and the BM25 index in memory; chunk texts and
    vectors are read from the store per question. The BM25 index is saved in `cache_dir`,
    tagged with a signature of the corpus, so a restart over an unchanged corpus loads it.
    """

    def __init__(
        self,
        store: ChromaStore,
        embeddings: MiniLMEmbeddings,
        assets: AssetTable,
        cache_dir: Path | None = None,
        refresh_seconds: float = 10.0,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.assets = assets
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._pending_save: tuple[LexicalIndex, Path, str] | None = None
        self._saver: threading.Thread | None = None
        # Replaced whole on reload; a search reads it once, so it never mixes two versions.
        self._corpus = _Corpus({}, LexicalIndex.build([]), [])
        self._chunk_assets: dict[str, frozenset[str]] = {}
        self._coverage: dict[str, str] | None = None
        self._stale = True
        # Other processes may write to the same Chroma server: every `refresh_seconds` the
        # store's revision is compared with the one loaded.
        self.refresh_seconds = refresh_seconds
        self._revision: str | None = None
        self._checked_at = 0.0
        self._read_at: float | None = None  # wall clock when the article records were read
        # Serving (a bot, the console): an index that must be built from every chunk is built
        # in the background while questions are ranked by meaning alone (see serve()).
        self.background = False
        self._builder: threading.Thread | None = None
        self._building = False  # set and cleared under the lock
        store.on_change(self.invalidate)  # this process's writes: seen at the next search

    def serve(self) -> None:
        """For a process that keeps answering: read the corpus now rather than at the first
        question, and when the lexical index has to be built from every chunk (no saved one,
        or a damaged one) build it in the background; questions meanwhile are ranked by the
        dense side alone and wait for nothing."""
        self.background = True

        def warm() -> None:
            try:
                self.load()
            except Exception:  # the first question tries again, and says what failed
                log.exception("reading the corpus at start failed")

        threading.Thread(target=warm, name="retriever warm", daemon=True).start()

    def building(self) -> bool:
        """Whether the lexical index is being built in the background now (until it is in
        place)."""
        return self._building

    def invalidate(self) -> None:
        """The store changed: bring the in-memory views up to date before the next search
        (called by the store on every write this process makes)."""
        self._stale = True

    def catch_up(self) -> None:
        """Load now whatever another process wrote, not at the next refresh."""
        with self._lock:
            self._checked_at = -math.inf
        self.load()

    @property
    def revision(self) -> str | None:
        """The store revision the in-memory views were loaded at."""
        return self._revision

    def load(self) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._stale and now - self._checked_at >= self.refresh_seconds:
                self._checked_at = now
                if self.store.revision() != self._revision:
                    log.info("the corpus changed in another process: reloading")
                    self._stale = True
            if not self._stale:
                return
            # Cleared before reading: a write landing meanwhile marks it stale again.
            self._stale = False
            try:
                self._reload(now)
            except BaseException:
                self._stale = True
                raise

    def _reload(self, now: float) -> None:
        """Bring the in-memory views up to the store (under the lock)."""
        started = time.perf_counter()
        # Read before the corpus: a write landing during the load shows as a new revision.
        self._revision = self.store.revision()
        self._checked_at = now
        read_at = time.time()
        articles = self._changed_articles()
        if articles is None:
            articles = {a.id: a for a in self.store.article_records()}
        signature = corpus_signature(articles.values())
        path = self.cache_dir / "lexical-index.npz" if self.cache_dir else None
        building = self.building()
        lexical = None if building else self._updated(articles)
        if lexical is not None:
            if path:  # saved off the question's path; a restart before it rebuilds
                self._save_later(lexical, path, signature)
        elif not building and path and path.exists():
            lexical = LexicalIndex.load(path, signature)
        if lexical is None and building:
            lexical = self._corpus.lexical  # the placeholder, until the build replaces it
        elif lexical is None and self.background:
            lexical = LexicalIndex.build([])
            self._builder = threading.Thread(
                target=self._build_in_background,
                args=(articles, read_at, path, signature),
                name="lexical build",
                daemon=True,
            )
            self._builder.start()
            self._building = True  # under the lock: the builder clears it under the lock too
        elif lexical is None:
            lexical = self._build(articles)
            if path:
                lexical.save(path, signature)
        dates = [a.published_at.date() for a in articles.values() if a.published_at]
        self._corpus = _Corpus(articles, lexical, dates)
        self._read_at = read_at  # with the corpus: a failed reload looks again from before
        self._chunk_assets = {}
        self._coverage = None
        log.info(
            "retriever loaded %d articles, %d chunks in %.1f s",
            len(articles),
            lexical.size,
            time.perf_counter() - started,
        )

    def _build(self, articles: dict[str, Article]) -> LexicalIndex:
        """The lexical index of every current chunk of ARTICLES, read from the store."""
        return LexicalIndex.build(
            (chunk_id, f"{articles[article_id].title}\n{text}")
            for chunk_id, article_id, text in self.store.iter_chunks()
            # pending articles and unfinished or replaced versions stay invisible
            if is_current(chunk_id, articles.get(article_id))
        )

    def _build_in_background(
        self, articles: dict[str, Article], read_at: float, path: Path | None, signature: str
    ) -> None:
        """Build the index as the corpus was at READ_AT, then put it in place with that
        corpus and mark the retriever stale: the next search catches up with what changed
        while it was built, as after any write. Whatever happens, the retriever stops waiting
        for it: a failed build leaves nothing loaded, so the next search starts another."""
        started = time.perf_counter()
        built: LexicalIndex | None = None
        try:
            built = self._build(articles)
        except Exception:
            log.exception("building the lexical index failed; the next search tries again")
        finally:
            with self._lock:
                self._building = False
                self._stale = True
                if built is None:
                    self._corpus = _Corpus({}, LexicalIndex.build([]), [])
                else:
                    dates = [a.published_at.date() for a in articles.values() if a.published_at]
                    self._corpus = _Corpus(articles, built, dates)
                    self._read_at = read_at
                    self._chunk_assets = {}
                    self._coverage = None
                    if path:  # queued under the lock: a newer index is never overwritten
                        self._save_later(built, path, signature)
        if built is not None:
            log.info(
                "built the lexical index of %d chunks in the background in %.1f s",
                built.size,
                time.perf_counter() - started,
            )

    def _changed_articles(self) -> dict[str, Article] | None:
        """The loaded articles brought up to date from the records changed since they were
        read (a clock margin covers other hosts'), or None when nothing is loaded yet."""
        loaded = self._corpus.articles
        if not loaded or self._read_at is None:
            return None
        complete, hidden = self.store.changes_since(self._read_at - CLOCK_MARGIN, set(loaded))
        articles = {i: a for i, a in loaded.items() if i not in hidden}
        articles.update((a.id, a) for a in complete)
        return articles

    def _updated(self, articles: dict[str, Article]) -> LexicalIndex | None:
        """The loaded index brought up to ARTICLES by reading only the chunks of the articles
        added or changed since, or None when there is nothing loaded to update (or so much
        changed that reading everything is as quick)."""
        loaded = self._corpus.articles
        if not loaded:
            return None

        def version(article: Article | None) -> tuple[str, int, str] | None:
            return (
                None if article is None else (article.fingerprint, article.n_chunks, article.title)
            )

        changed = [i for i, a in articles.items() if version(loaded.get(i)) != version(a)]
        gone = {i for i in loaded if i not in articles}
        if len(changed) + len(gone) > max(200, len(articles) // 5):
            return None
        stale = gone | {i for i in changed if i in loaded}
        removed = [c for c in self._corpus.lexical.ids if c.split(":", 1)[0] in stale]
        added = [
            (chunk_id, f"{articles[article_id].title}\n{text}")
            for chunk_id, article_id, text in self.store.chunks_of(changed)
            if is_current(chunk_id, articles.get(article_id))
        ]
        return self._corpus.lexical.updated(removed, added)

    def _save_later(self, lexical: LexicalIndex, path: Path, signature: str) -> None:
        """Save in one background thread, the newest index only: a burst of writes queues
        one save, not one per write."""
        with self._save_lock:
            self._pending_save = (lexical, path, signature)
            if self._saver is None:
                self._saver = threading.Thread(target=self._save_newest, daemon=True)
                self._saver.start()

    def _save_newest(self) -> None:
        while True:
            with self._save_lock:
                job, self._pending_save = self._pending_save, None
                if job is None:
                    self._saver = None
                    return
            lexical, path, signature = job
            try:
                lexical.save(path, signature)
            except OSError as error:  # a full disk costs a rebuild at the next start, no more
                log.warning("could not save the lexical index: %r", error)

    def coverage(self, before: datetime | None = None) -> dict[str, str]:
        """What the corpus covers, for replies that found nothing; kept until it changes.
        With `before`, what the news published before that moment covered (computed each
        time: a decline as at a past moment names no later story)."""
        self.load()
        if before is not None:
            return _coverage(self._corpus.before(before).articles.values())
        if self._coverage is None:
            self._coverage = _coverage(self._corpus.articles.values())
        return self._coverage

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index over the visible chunks."""
        self.load()
        return self._corpus.lexical

    @property
    def articles(self) -> dict[str, Article]:
        self.load()
        return self._corpus.articles

    @property
    def dates(self) -> list[date]:
        """The days the corpus has news from (what a date without a year is read against)."""
        self.load()
        return self._corpus.dates

    def dates_before(self, cutoff: datetime) -> list[date]:
        """The days of the news published strictly before `cutoff`."""
        self.load()
        return self._corpus.before(cutoff).dates

    def event_date(self, question: Question, corpus: _Corpus | None = None) -> date | None:
        """The day a question is about, if it names one."""
        dates = (corpus or self._corpus).dates
        for when in question.dates:
            resolved = resolve_date(when, dates, question.asked_on)
            if resolved:
                return resolved
        return None

    def search(self, question: Question, k: int = 6) -> Retrieval:
        """The k best passages for a question, and whether they are relevant enough to answer.
        With `question.news_before`, only from the news published strictly before it: the
        candidates are the best of that news, however much later news ranks above it."""
        self.load()
        corpus = self._corpus
        if question.news_before is not None:
            corpus = corpus.before(question.news_before)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query_vector = self.embeddings.encode([question.text])[0]
        timings["embed"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        if corpus.whole is None:
            dense = {
                h.chunk_id: h.similarity
                for h in self.store.dense(query_vector, min(CANDIDATES, corpus.chunk_count()))
                if is_current(h.chunk_id, corpus.articles.get(article_of(h.chunk_id)))
            }
        else:
            dense = self._dense_in_view(query_vector, corpus)
        timings["dense"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        lexical_query = " ".join([question.text, *(self.assets.name(a) for a in question.assets)])
        lexical_scores = corpus.lexical.scores(lexical_query)
        if corpus.visible is not None:  # masked before the top is taken, not after
            lexical_scores[~corpus.visible] = 0
        lexical_top = dict(corpus.lexical.top(lexical_scores, CANDIDATES))
        timings["lexical"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        candidates = list(dict.fromkeys([*dense, *lexical_top]))
        rows = self.store.chunk_rows(candidates)
        # The day asked about, even with no news: the price data still has the move.
        event = self.event_date(question, corpus)
        if not rows and question.news_before is not None:
            when = f"{question.news_before:%-d %b %Y %H:%M} UTC"
            return Retrieval((), False, f"I have no news from before {when}", event, timings)
        if not rows:
            return Retrieval((), False, "the corpus is empty", event, timings)
        lexical = corpus.lexical.score_of(lexical_scores, rows)
        top_lexical = max(lexical.values(), default=0.0) or 1.0
        key_terms = [
            t
            for t in terms(without_dates(question.text))
            if t not in GENERIC and not t.isdigit() and self.assets.resolve(t) is None
        ]
        scored: list[tuple[float, str, float, float]] = []
        for chunk_id, (text, vector) in rows.items():
            similarity = dense.get(chunk_id)
            if similarity is None:
                similarity = float(vector @ query_vector)
            lex = lexical.get(chunk_id, 0.0)
            article = corpus.articles[article_of(chunk_id)]
            score = 0.6 * similarity + 0.4 * (lex / top_lexical)
            score *= self._asset_fit(question, article, chunk_id, text)
            score *= date_fit(event, article)
            scored.append((score, chunk_id, similarity, lex))
        scored.sort(reverse=True)
        passages = self._collapse(scored, rows, k, corpus)
        timings["fuse"] = (time.perf_counter() - started) * 1000
        relevant, reason = self._gate(question, passages, key_terms, corpus, event)
        context = self._context(passages) if relevant else []
        return Retrieval(tuple(passages), relevant, reason, event, timings, tuple(context))

    def _dense_in_view(self, query_vector: np.ndarray, view: _Corpus) -> dict[str, float]:
        """The CANDIDATES chunks of a view nearest to the query (cosine, best first). The
        store ranks every chunk, later news included: it is asked for as many as the view's
        share of the store says should hold CANDIDATES of its own, then four times more
        while they are not there, up to the whole store. A view small beside that reads its
        own chunks and ranks them exactly instead."""
        assert view.whole is not None
        own, total = view.chunk_count(), view.whole.chunk_count()
        if not own or not total:
            return {}
        k = min(total, max(CANDIDATES, math.ceil(CANDIDATES * total / own * 1.5)))
        if own * ROW_COST <= k:
            ids = [
                f"{a.id}:{a.fingerprint[:8]}:{i}"
                for a in view.articles.values()
                for i in range(a.n_chunks)
            ]
            rows = self.store.chunk_rows(ids)
            near = {chunk_id: float(row[1] @ query_vector) for chunk_id, row in rows.items()}
            best = sorted(near, key=near.__getitem__, reverse=True)[:CANDIDATES]
            return {chunk_id: near[chunk_id] for chunk_id in best}
        while True:
            hits = self.store.dense(query_vector, k)
            found = {
                h.chunk_id: h.similarity
                for h in hits
                if is_current(h.chunk_id, view.articles.get(article_of(h.chunk_id)))
            }
            if len(found) >= min(CANDIDATES, own) or k >= total or len(hits) < k:
                return dict(list(found.items())[:CANDIDATES])
            k = min(total, k * 4)

    def _context(
        self, passages: list[Passage], articles: int = 3, around: int = CONTEXT_AROUND
    ) -> list[Passage]:
        """The chunks of the best `articles` articles that did not rank themselves, within
        `around` chunks of one that did (a long article's far end is another story, and
        reading it costs every answer)."""
        have = {p.chunk.id for p in passages}
        best: dict[str, Passage] = {}
        ranked: dict[str, set[int]] = {}
        for passage in passages:
            best.setdefault(passage.article.id, passage)
            ranked.setdefault(passage.article.id, set()).add(passage.chunk.index)
        wanted = {
            f"{p.article.id}:{p.article.fingerprint[:8]}:{i}": p
            for p in list(best.values())[:articles]
            for i in range(p.article.n_chunks)
            if any(abs(i - r) <= around for r in ranked[p.article.id])
        }
        wanted = {chunk_id: p for chunk_id, p in wanted.items() if chunk_id not in have}
        rows = self.store.chunk_rows(list(wanted), vectors=False)
        return [
            Passage(
                Chunk(chunk_id, p.article.id, chunk_index(chunk_id), rows[chunk_id][0]),
                p.article,
                p.score * 0.9,
            )
            for chunk_id, p in wanted.items()
            if chunk_id in rows
        ]

    def chunk_assets(self, chunk_id: str, text: str) -> frozenset[str]:
        """The assets a chunk names (memoised: a chunk's text never changes under its id)."""
        found = self._chunk_assets.get(chunk_id)
        if found is None:
            found = frozenset(self.assets.find(text))
            if len(self._chunk_assets) > 200_000:
                self._chunk_assets.clear()
            self._chunk_assets[chunk_id] = found
        return found

    def _asset_fit(self, question: Question, article: Article, chunk_id: str, text: str) -> float:
        if not question.assets:
            return 1.0
        wanted = set(question.assets)
        if wanted & self.chunk_assets(chunk_id, text):
            return 1.0
        if wanted & set(article.assets):
            return 0.8
        return 0.45

    def _collapse(
        self,
        scored: list[tuple[float, str, float, float]],
        rows: dict[str, tuple[str, np.ndarray]],
        k: int,
        corpus: _Corpus,
    ) -> list[Passage]:
        kept: list[tuple[Passage, np.ndarray]] = []
        per_article: dict[str, int] = {}
        for score, chunk_id, similarity, lex in scored:
            text, vector = rows[chunk_id]
            article = corpus.articles[article_of(chunk_id)]
            twin = next(
                (
                    index
                    for index, (passage, other) in enumerate(kept)
                    if passage.article.id != article.id
                    and float(vector @ other) >= SYNDICATED_SIMILARITY
                ),
                None,
            )
            if twin is not None:
                passage, other = kept[twin]
                outlet = article.outlet or "another outlet"
                if outlet != passage.article.outlet and outlet not in passage.also_reported_by:
                    also = (*passage.also_reported_by, outlet)
                    kept[twin] = (replace(passage, also_reported_by=also), other)
                continue
            if per_article.get(article.id, 0) >= PER_ARTICLE or len(kept) >= k:
                continue
            per_article[article.id] = per_article.get(article.id, 0) + 1
            chunk = Chunk(chunk_id, article.id, chunk_index(chunk_id), text)
            kept.append((Passage(chunk, article, score, similarity, lex), vector))
        return [p for p, _ in kept]

    def _gate(
        self,
        question: Question,
        passages: list[Passage],
        key_terms: list[str],
        corpus: _Corpus,
        event: date | None,
    ) -> tuple[bool, str]:
        if not passages:
            return False, "nothing matched"
        # A view (news before a moment) counts words in its own chunks: a word only later
        # news holds is one the sources never mention.
        df = corpus.counter(question.text, question.unknown_asset or "")
        size = corpus.lexical.size if corpus.visible is None else corpus.chunk_count()
        # While the lexical index is being built, whether the corpus holds a word is judged
        # by the passages found instead.
        found: list[set[str]] = []

        def holds(term: str) -> bool:
            if corpus.has_words():
                return bool(df(term))
            if not found:
                text = " ".join(f"{p.article.title} {p.chunk.text}" for p in passages)
                found.append(set(terms(text)))
            return term in found[0]

        if question.unknown_asset and not question.assets:
            word = question.unknown_asset
            words = terms(word)  # "ALL" or "IT" stem to nothing: no verdict on those
            if words and not any(holds(t) for t in words):  # nor does an article
                return False, f"I don't know an asset called {word}"
        if question.assets:
            wanted = set(question.assets)
            if not any(
                wanted & (set(p.article.assets) | self.chunk_assets(p.chunk.id, p.chunk.text))
                for p in passages
            ):
                names = ", ".join(question.assets)
                return False, f"no stored article mentions {names}"
        years = {int(y) for pair in _YEAR.findall(question.text) for y in pair if y}
        dates = corpus.dates
        if years and not years & {d.year for d in dates}:
            span = f"{min(dates):%b %Y} to {max(dates):%b %Y}" if dates else ""
            return False, f"my sources cover {span}, nothing from {', '.join(map(str, years))}"
        # A day asked about (with its year or without: a year the corpus covers can still
        # end before that day) needs news from around it, not another day's story.
        if event and dates and not any(abs((d - event).days) <= 14 for d in dates):
            return False, f"I have no news from around {event:%-d %b %Y}"
        best = passages[0]
        similarity = max(p.dense_similarity or 0.0 for p in passages)
        top_terms = set(terms(" ".join(f"{p.article.title} {p.chunk.text}" for p in passages[:3])))
        rare = max(3, size // 100)
        rare_hit = any(0 < df(t) <= rare and t in top_terms for t in key_terms)
        unknown = [t for t in key_terms if not holds(t)]
        if unknown and not rare_hit and not question.assets and similarity < 0.55:
            words = [w for w in tokens(question.text) if stem(w) in unknown]
            return False, "my sources never mention " + ", ".join(dict.fromkeys(words[:3]))
        literal = [t for t in key_terms if t in LITERAL_ONLY and t not in top_terms]
        if literal:
            words = [w for w in tokens(question.text) if stem(w) in literal]
            shown = ", ".join(f"\u201c{w}\u201d" for w in dict.fromkeys(words[:3]))
            return False, f"nothing in my sources reports {shown} in a literal sense"
        coverage = sum(t in top_terms for t in key_terms) / len(key_terms) if key_terms else 1.0
        if similarity < 0.3 and coverage < 0.5:
            return False, "no passage is close to the question"
        if best.score < 0.2:
            return False, "the best passage is only loosely related"
        return True, "relevant"


def article_of(chunk_id: str) -> str:
    return chunk_id.split(":", 1)[0]


def chunk_index(chunk_id: str) -> int:
    return int(chunk_id.rsplit(":", 1)[1])


def corpus_signature(articles: Iterable[Article]) -> str:
    """Changes whenever an article is added, changed or removed."""
    return short_hash("\n".join(sorted(f"{a.id}:{a.fingerprint}:{a.n_chunks}" for a in articles)))


def date_fit(event: date | None, article: Article) -> float:
    if event is None:
        return 1.0
    if article.published_at is None:
        return 0.85
    delta = (article.published_at.date() - event).days
    if -1 <= delta <= 3:
        return 1.0
    distance = -1 - delta if delta < -1 else delta - 3
    return max(0.35, 1.0 - distance / 10)


def _coverage(articles: Iterable[Article]) -> dict[str, str]:
    """What these articles cover: their count, first and last days, main assets, newest."""
    corpus = list(articles)

    # No article was published after it was stored: a date in the future (one stored
    # before ingestion refused them) counts as the day it was stored, so it cannot
    # stay "latest" for ever.
    def when(article: Article) -> datetime:
        published = article.published_at
        return min(published, article.ingested_at) if published else article.ingested_at

    def headline(title: str, limit: int = 100) -> str:  # one line, to name in a sentence
        line = " ".join(strip_markers(title).split())
        return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"

    dates = sorted(when(a).date() for a in corpus if a.published_at)
    counts = Counter(s for a in corpus for s in a.assets)
    newest = sorted(corpus, key=when)[-3:][::-1]
    titles = "; ".join(f"\u201c{headline(a.title)}\u201d" for a in newest)
    return {
        "article_count": f"{len(corpus)} article{'s' if len(corpus) != 1 else ''}",
        "first_date": f"{dates[0]:%-d %b %Y}" if dates else "?",
        "last_date": f"{dates[-1]:%-d %b %Y}" if dates else "?",
        "top_assets": ", ".join(s for s, _ in counts.most_common(6)) or "nothing yet",
        "recent_titles": f"Latest: {titles}." if newest else "",
    }
