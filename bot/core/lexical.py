"""BM25 over chunk texts as an in-memory inverted index with precomputed weights."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.core.text import tokens

log = logging.getLogger(__name__)

STOPWORDS = frozenset(
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers him his how i if in into is it its "
    "itself just me more most my no nor not now of off on once only or other our out over "
    "own same she should so some such than that the their them then there these they this "
    "those through to too under until up very was we were what when where which while who "
    "whom why will with would you your yours s t don today yesterday week month ".split()
)


_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ers", "ed", "es", "er", "s")


@lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """A light suffix stripper: liquidated, liquidation and liquidations share "liquid"."""
    if word[0].isdigit() or not word.isascii():  # the suffixes are English ones
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-2] if word.endswith("at") and len(word) > 7 else word


def terms(text: str) -> list[str]:
    """Stemmed content words of a text, for lexical matching."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS]


# Part of every saved index's signature: a saved index made by other tokenizing code is stale.
LEXICAL_VERSION = "3"
K1, B = 1.2, 0.75
MAX_SEGMENTS = 16  # past this, or a quarter of the positions deleted, the index is compacted


@dataclass(frozen=True)
class _Segment:
    """Postings of some documents, flat and sorted by term: for term row t, the slice
    offsets[t]:offsets[t+1] of `docs` (global positions) and `tf` (term frequencies)."""

    vocabulary: dict[str, int]
    offsets: np.ndarray
    docs: np.ndarray
    tf: np.ndarray

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        t = self.vocabulary.get(term)
        if t is None:
            return None
        lo, hi = self.offsets[t], self.offsets[t + 1]
        return self.docs[lo:hi], self.tf[lo:hi]

    @classmethod
    def of(cls, rows: list[list[str]], base: int) -> _Segment:
        """The segment of documents at positions base, base+1, ... with these terms."""
        vocabulary: dict[str, int] = {}
        term_ids = [
            np.asarray([vocabulary.setdefault(t, len(vocabulary)) for t in row], dtype=np.int64)
            for row in rows
        ]
        return cls.from_ids(vocabulary, term_ids, base)

    @classmethod
    def from_ids(
        cls, vocabulary: dict[str, int], term_ids: list[np.ndarray], base: int
    ) -> _Segment:
        n = len(term_ids)
        lengths = [len(row) for row in term_ids]
        if not n or not sum(lengths):
            empty = np.zeros(0, dtype=np.int32)
            offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
            return cls(vocabulary, offsets, empty, empty.astype(np.float32))
        doc_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
        # One key per (term, document): unique() counts term frequencies, sorted by term.
        keys, tf = np.unique(np.concatenate(term_ids) * n + doc_of, return_counts=True)
        term, doc = keys // n, keys % n
        df = np.bincount(term, minlength=len(vocabulary))
        offsets = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        return cls(vocabulary, offsets, (doc + base).astype(np.int32), tf.astype(np.float32))


class LexicalIndex:
    """BM25 (k1=1.2, b=0.75) over flat postings, kept up to date without rebuilding.

    Documents live at positions; a change appends a segment with the new documents' postings
    and marks the removed ones' positions dead, so adding a few articles to 100k chunks costs
    what tokenizing those articles costs. The BM25 weights are computed per query from the
    live documents' statistics, so scores are exactly those of an index built afresh over
    the same documents. Many segments or many dead positions are compacted into one (array
    work only: nothing is tokenized again). The index saves to and loads from one .npz file.
    """

    def __init__(
        self, ids: list[str], lengths: np.ndarray, alive: np.ndarray, segments: list[_Segment]
    ) -> None:
        self.ids = ids
        self._lengths = lengths
        self._alive = alive
        self._segments = segments
        self.size = int(alive.sum())  # live documents
        self._position = {doc_id: i for i, doc_id in enumerate(ids) if alive[i]}
        live = lengths[alive]
        average = float(live.mean()) if live.size else 1.0
        self._norm = (K1 * (1 - B + B * lengths / (average or 1.0))).astype(np.float32)

    @classmethod
    def build(cls, docs: Iterable[tuple[str, str]]) -> LexicalIndex:
        ids: list[str] = []
        rows: list[list[str]] = []
        for doc_id, text in docs:
            ids.append(doc_id)
            rows.append(terms(text))
        lengths = np.asarray([len(r) for r in rows], dtype=np.float32)
        return cls(ids, lengths, np.ones(len(ids), dtype=bool), [_Segment.of(rows, 0)])

    def updated(self, removed: Iterable[str], added: Iterable[tuple[str, str]]) -> LexicalIndex:
        """A new index without the documents REMOVED and with those ADDED (an id both removed
        and added is replaced); this one is left as it was, for searches under way."""
        alive = self._alive.copy()
        for doc_id in removed:
            position = self._position.get(doc_id)
            if position is not None:
                alive[position] = False
        new = [(d, t) for d, t in added]
        for doc_id, _ in new:  # added again: the older copy goes
            position = self._position.get(doc_id)
            if position is not None:
                alive[position] = False
        rows = [terms(text) for _, text in new]
        base = len(self.ids)
        ids = self.ids + [d for d, _ in new]
        lengths = np.concatenate([self._lengths, np.asarray([len(r) for r in rows], np.float32)])
        alive = np.concatenate([alive, np.ones(len(new), dtype=bool)])
        segments = [*self._segments, _Segment.of(rows, base)] if new else list(self._segments)
        index = LexicalIndex(ids, lengths, alive, segments)
        dead = len(ids) - index.size
        if len(segments) > MAX_SEGMENTS or dead > max(64, len(ids) // 4):
            index = index.compacted()
        return index

    def compacted(self) -> LexicalIndex:
        """The same documents in one segment, dead positions dropped."""
        keep = np.flatnonzero(self._alive)
        remap = np.full(len(self.ids), -1, dtype=np.int64)
        remap[keep] = np.arange(keep.size)
        vocabulary: dict[str, int] = {}
        terms_, docs, tfs = [], [], []
        for segment in self._segments:
            words = list(segment.vocabulary)
            union = np.asarray([vocabulary.setdefault(w, len(vocabulary)) for w in words], np.int64)
            per_row = np.diff(segment.offsets)
            term_of = np.repeat(union, per_row) if union.size else np.zeros(0, np.int64)
            mine = remap[segment.docs]
            live = mine >= 0
            terms_.append(term_of[live])
            docs.append(mine[live])
            tfs.append(segment.tf[live])
        term = np.concatenate(terms_) if terms_ else np.zeros(0, np.int64)
        doc = np.concatenate(docs) if docs else np.zeros(0, np.int64)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        order = np.lexsort((doc, term))
        df = np.bincount(term, minlength=len(vocabulary))
        offsets = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        segment = _Segment(vocabulary, offsets, doc[order].astype(np.int32), tf[order])
        return LexicalIndex(
            [self.ids[i] for i in keep],
            self._lengths[keep],
            np.ones(keep.size, dtype=bool),
            [segment],
        )

    def save(self, path: Path, signature: str) -> None:
        """Write the index to an .npz file, tagged with the corpus signature it was built for."""
        index = (
            self if len(self._segments) == 1 and self.size == len(self.ids) else self.compacted()
        )
        [segment] = index._segments
        # A name of its own per writer: two processes rebuilding at once never share a file.
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(
            tmp,
            ids=np.asarray(index.ids, dtype=str),
            lengths=index._lengths,
            vocabulary=np.asarray(list(segment.vocabulary), dtype=str),
            offsets=segment.offsets,
            docs=segment.docs,
            tf=segment.tf,
            signature=np.asarray(f"{LEXICAL_VERSION}:{signature}"),
        )
        tmp.replace(path)  # atomic: a reader never sees half a file

    @classmethod
    def load(cls, path: Path, signature: str) -> LexicalIndex | None:
        """The saved index, or None when there is none or it was built for another corpus
        (or by other tokenizing code)."""
        try:
            with np.load(path) as data:
                if str(data["signature"]) != f"{LEXICAL_VERSION}:{signature}":
                    return None
                ids = data["ids"].tolist()
                vocabulary = {w: i for i, w in enumerate(data["vocabulary"].tolist())}
                segment = _Segment(vocabulary, data["offsets"], data["docs"], data["tf"])
                return cls(ids, data["lengths"], np.ones(len(ids), dtype=bool), [segment])
        except Exception:  # damaged or foreign file: rebuilding is always correct
            log.warning("ignoring unreadable %s; rebuilding the index", path)
            return None

    def df(self, term: str) -> int:
        """How many live documents contain a (stemmed) term."""
        count = 0
        for segment in self._segments:
            found = segment.postings(term)
            if found is not None:
                count += int(np.count_nonzero(self._alive[found[0]]))
        return count

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(len(self.ids), dtype=np.float32)
        n = self.size
        for term in set(terms(query)):
            found = [p for s in self._segments if (p := s.postings(term)) is not None]
            df = sum(int(np.count_nonzero(self._alive[docs])) for docs, _ in found)
            if not df:
                continue
            idf = np.float32(np.log(1 + (n - df + 0.5) / (df + 0.5)))
            for docs, tf in found:
                total[docs] += idf * tf * (K1 + 1) / (tf + self._norm[docs])
        if n < len(self.ids):
            total[~self._alive] = 0
        return total

    def top(self, total: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k best (doc id, score) pairs with a positive score, from `scores()`."""
        if not self.size:
            return []
        k = min(k, len(self.ids))
        best = np.argpartition(-total, k - 1)[:k]
        best = best[np.argsort(-total[best])]
        return [(self.ids[i], float(total[i])) for i in best if total[i] > 0]

    def score_of(self, total: np.ndarray, doc_ids: Iterable[str]) -> dict[str, float]:
        return {d: float(total[self._position[d]]) for d in doc_ids if d in self._position}
