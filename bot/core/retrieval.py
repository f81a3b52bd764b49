"""Hybrid retrieval for news: dense and BM25 scores fused, aware of assets and event dates,
with syndicated copies of one story collapsed into one passage."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from bot.core.assets import AssetTable
from bot.core.documents import Article, Chunk, Passage
from bot.core.embed import MiniLMEmbeddings
from bot.core.lexical import LexicalIndex, stem, terms
from bot.core.question import Question, resolve_date, without_dates
from bot.core.store import ChromaStore
from bot.core.text import tokens

log = logging.getLogger(__name__)

CANDIDATES = 40
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
_YEAR = re.compile(r"(?<![\d$.,])((?:19|20)\d{2})(?![\d%])")


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
    """Ranks chunks by a fusion of dense similarity and BM25, then asset and date fit."""

    def __init__(
        self, store: ChromaStore, embeddings: MiniLMEmbeddings, assets: AssetTable
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.assets = assets
        self._lock = threading.Lock()
        self._articles: dict[str, Article] = {}
        self._lexical = LexicalIndex([])
        self._texts: dict[str, tuple[str, str]] = {}
        self._by_article: dict[str, list[str]] = {}
        self._dates: list[date] = []
        self._stale = True

    def invalidate(self) -> None:
        """The store changed: rebuild the in-memory views before the next search."""
        self._stale = True

    def load(self) -> None:
        with self._lock:
            if not self._stale:
                return
            articles = {a.id: a for a in self.store.article_records()}
            by_article: dict[str, list[str]] = {}
            texts: dict[str, tuple[str, str]] = {}
            docs: list[tuple[str, str]] = []
            for chunk_id, article_id, text in self.store.iter_chunks():
                article = articles.get(article_id)
                if article is None:  # pending: not visible
                    continue
                texts[chunk_id] = (article_id, text)
                by_article.setdefault(article_id, []).append(chunk_id)
                docs.append((chunk_id, f"{article.title}\n{text}"))
            self._lexical = LexicalIndex(docs)
            self._articles = articles
            self._texts = texts
            self._by_article = by_article
            self._dates = [a.published_at.date() for a in articles.values() if a.published_at]
            self._stale = False
            log.info("retriever loaded %d articles, %d chunks", len(articles), len(texts))

    @property
    def articles(self) -> dict[str, Article]:
        self.load()
        return self._articles

    def event_date(self, question: Question) -> date | None:
        for when in question.dates:
            resolved = resolve_date(when, self._dates)
            if resolved:
                return resolved
        return None

    def search(self, question: Question, k: int = 6) -> Retrieval:
        """The k best passages for a question, and whether they are relevant enough to answer."""
        import time

        self.load()
        timings: dict[str, float] = {}
        started = time.perf_counter()
        query_vector = self.embeddings.encode([question.text])[0]
        timings["embed"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        dense = {
            h.chunk_id: h.similarity
            for h in self.store.dense(query_vector, CANDIDATES)
            if h.chunk_id in self._texts
        }
        timings["dense"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        lexical_query = " ".join([question.text, *(self.assets.name(a) for a in question.assets)])
        lexical_scores = self._lexical.scores(lexical_query)
        lexical_top = dict(self._lexical.top(lexical_scores, CANDIDATES))
        timings["lexical"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        candidates = list(dict.fromkeys([*dense, *lexical_top]))
        if not candidates:
            return Retrieval((), False, "the corpus is empty", None, timings)
        vectors = self.store.chunk_embeddings(candidates)
        lexical = self._lexical.score_of(lexical_scores, candidates)
        top_lexical = max(lexical.values(), default=0.0) or 1.0
        event = self.event_date(question)
        key_terms = [
            t
            for t in terms(without_dates(question.text))
            if t not in GENERIC and not t.isdigit() and self.assets.resolve(t) is None
        ]
        scored: list[tuple[float, str, float, float]] = []
        for chunk_id in candidates:
            vector = vectors.get(chunk_id)
            similarity = dense.get(chunk_id)
            if similarity is None:
                similarity = float(vector @ query_vector) if vector is not None else 0.0
            lex = lexical.get(chunk_id, 0.0)
            article_id, text = self._texts[chunk_id]
            article = self._articles[article_id]
            score = 0.6 * similarity + 0.4 * (lex / top_lexical)
            score *= self._asset_fit(question, article, text)
            score *= _date_fit(event, article)
            scored.append((score, chunk_id, similarity, lex))
        scored.sort(reverse=True)
        passages = self._collapse(scored, vectors, k)
        timings["fuse"] = (time.perf_counter() - started) * 1000
        relevant, reason = self._gate(question, passages, key_terms)
        context = self._context(passages) if relevant else []
        return Retrieval(tuple(passages), relevant, reason, event, timings, tuple(context))

    def _context(self, passages: list[Passage], articles: int = 2) -> list[Passage]:
        """The chunks of the best `articles` articles that did not rank themselves."""
        have = {p.chunk.id for p in passages}
        best: dict[str, Passage] = {}
        for passage in passages:
            best.setdefault(passage.article.id, passage)
        context: list[Passage] = []
        for passage in list(best.values())[:articles]:
            for chunk_id in self._by_article.get(passage.article.id, []):
                if chunk_id in have:
                    continue
                _, text = self._texts[chunk_id]
                index = int(chunk_id.rsplit(":", 1)[1])
                chunk = Chunk(chunk_id, passage.article.id, index, text)
                context.append(Passage(chunk, passage.article, passage.score * 0.9))
        return context

    def _asset_fit(self, question: Question, article: Article, text: str) -> float:
        if not question.assets:
            return 1.0
        wanted = set(question.assets)
        if wanted & set(self.assets.find(text)):
            return 1.0
        if wanted & set(article.assets):
            return 0.8
        return 0.45

    def _collapse(
        self, scored: list[tuple[float, str, float, float]], vectors: dict[str, np.ndarray], k: int
    ) -> list[Passage]:
        kept: list[tuple[Passage, np.ndarray | None]] = []
        per_article: dict[str, int] = {}
        for score, chunk_id, similarity, lex in scored:
            article_id, text = self._texts[chunk_id]
            article = self._articles[article_id]
            vector = vectors.get(chunk_id)
            twin = None
            if vector is not None:
                for index, (passage, other) in enumerate(kept):
                    if (
                        other is not None
                        and passage.article.id != article_id
                        and float(vector @ other) >= SYNDICATED_SIMILARITY
                    ):
                        twin = index
                        break
            if twin is not None:
                passage, other = kept[twin]
                outlet = article.outlet or "another outlet"
                if outlet != passage.article.outlet and outlet not in passage.also_reported_by:
                    kept[twin] = (
                        Passage(
                            passage.chunk,
                            passage.article,
                            passage.score,
                            passage.dense_similarity,
                            passage.lexical_score,
                            (*passage.also_reported_by, outlet),
                        ),
                        other,
                    )
                continue
            if per_article.get(article_id, 0) >= PER_ARTICLE or len(kept) >= k:
                continue
            per_article[article_id] = per_article.get(article_id, 0) + 1
            index_ = int(chunk_id.rsplit(":", 1)[1])
            chunk = Chunk(chunk_id, article_id, index_, text)
            kept.append((Passage(chunk, article, score, similarity, lex), vector))
        return [p for p, _ in kept]

    def _gate(
        self, question: Question, passages: list[Passage], key_terms: list[str]
    ) -> tuple[bool, str]:
        if not passages:
            return False, "nothing matched"
        if question.assets:
            wanted = set(question.assets)
            if not any(
                wanted & (set(p.article.assets) | set(self.assets.find(p.chunk.text)))
                for p in passages
            ):
                names = ", ".join(question.assets)
                return False, f"no stored article mentions {names}"
        years = {int(y) for y in _YEAR.findall(question.text)}
        covered_years = {d.year for d in self._dates}
        if years and not years & covered_years:
            span = f"{min(self._dates):%b %Y} to {max(self._dates):%b %Y}" if self._dates else ""
            return False, f"my sources cover {span}, nothing from {', '.join(map(str, years))}"
        event = self.event_date(question)
        if (
            event
            and question.dates
            and question.dates[0].year
            and not any(abs((d - event).days) <= 14 for d in self._dates)
        ):
            return False, f"I have no news from around {event:%-d %b %Y}"
        best = passages[0]
        similarity = max(p.dense_similarity or 0.0 for p in passages)
        top_terms = set(terms(" ".join(f"{p.article.title} {p.chunk.text}" for p in passages[:3])))
        rare = max(3, self._lexical.size // 100)
        rare_hit = any(0 < self._lexical.df.get(t, 0) <= rare and t in top_terms for t in key_terms)
        unknown = [t for t in key_terms if t not in self._lexical.df]
        if unknown and not rare_hit and not question.assets and similarity < 0.55:
            words = [w for w in tokens(question.text) if stem(w) in unknown]
            return False, "my sources never mention " + ", ".join(dict.fromkeys(words[:3]))
        coverage = sum(t in top_terms for t in key_terms) / len(key_terms) if key_terms else 1.0
        if similarity < 0.3 and coverage < 0.5:
            return False, "no passage is close to the question"
        if best.score < 0.2:
            return False, "the best passage is only loosely related"
        return True, "relevant"


def _date_fit(event: date | None, article: Article) -> float:
    if event is None:
        return 1.0
    if article.published_at is None:
        return 0.85
    delta = (article.published_at.date() - event).days
    if -1 <= delta <= 3:
        return 1.0
    distance = -1 - delta if delta < -1 else delta - 3
    return max(0.35, 1.0 - distance / 30)


def now_utc() -> datetime:
    return datetime.now(UTC)
