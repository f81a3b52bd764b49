"""BM25 over chunk texts as an in-memory inverted index with precomputed weights."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
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
    if word[0].isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-2] if word.endswith("at") and len(word) > 7 else word


def terms(text: str) -> list[str]:
    """Stemmed content words of a text, for lexical matching."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS]


class LexicalIndex:
    """BM25 (k1=1.2, b=0.75) over flat postings: a query adds one precomputed slice per term.

    Postings are stored as three arrays (term offsets, document positions, BM25 weights), so
    the index builds with numpy and saves to and loads from one .npz file.
    """

    def __init__(
        self,
        ids: list[str],
        vocabulary: list[str],
        offsets: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
    ) -> None:
        self.ids = ids
        self.size = len(ids)
        self._term = {term: i for i, term in enumerate(vocabulary)}
        self._vocabulary = vocabulary
        self._offsets = offsets
        self._docs = docs
        self._weights = weights
        self._position = {doc_id: i for i, doc_id in enumerate(ids)}

    @classmethod
    def build(
        cls, docs: Iterable[tuple[str, str]], k1: float = 1.2, b: float = 0.75
    ) -> LexicalIndex:
        ids: list[str] = []
        vocabulary: dict[str, int] = {}
        term_ids: list[np.ndarray] = []
        lengths: list[int] = []
        for doc_id, text in docs:
            ids.append(doc_id)
            row = [vocabulary.setdefault(t, len(vocabulary)) for t in terms(text)]
            term_ids.append(np.asarray(row, dtype=np.int64))
            lengths.append(len(row))
        n = len(ids)
        if not n or not vocabulary:
            empty = np.zeros(0, dtype=np.int32)
            offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
            return cls(ids, list(vocabulary), offsets, empty, empty.astype(np.float32))
        length = np.asarray(lengths, dtype=np.float32)
        doc_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
        # One key per (term, document): unique() counts term frequencies, sorted by term.
        keys, tf = np.unique(np.concatenate(term_ids) * n + doc_of, return_counts=True)
        term, doc = keys // n, (keys % n).astype(np.int32)
        df = np.bincount(term, minlength=len(vocabulary))
        offsets = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))[term]
        norm = k1 * (1 - b + b * length[doc] / float(length.mean()))
        weights = (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        return cls(ids, list(vocabulary), offsets, doc, weights)

    def save(self, path: Path, signature: str) -> None:
        """Write the index to an .npz file, tagged with the corpus signature it was built for."""
        # A name of its own per writer: two processes rebuilding at once never share a file.
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(
            tmp,
            ids=np.asarray(self.ids, dtype=str),
            vocabulary=np.asarray(self._vocabulary, dtype=str),
            offsets=self._offsets,
            docs=self._docs,
            weights=self._weights,
            signature=np.asarray(signature),
        )
        tmp.replace(path)  # atomic: a reader never sees half a file

    @classmethod
    def load(cls, path: Path, signature: str) -> LexicalIndex | None:
        """The saved index, or None when there is none or it was built for another corpus."""
        try:
            with np.load(path) as data:
                if str(data["signature"]) != signature:
                    return None
                return cls(
                    data["ids"].tolist(),
                    data["vocabulary"].tolist(),
                    data["offsets"],
                    data["docs"],
                    data["weights"],
                )
        except Exception:  # damaged or foreign file: rebuilding is always correct
            log.warning("ignoring unreadable %s; rebuilding the index", path)
            return None

    def df(self, term: str) -> int:
        """How many documents contain a (stemmed) term."""
        t = self._term.get(term)
        return 0 if t is None else int(self._offsets[t + 1] - self._offsets[t])

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(self.size, dtype=np.float32)
        for term in set(terms(query)):
            t = self._term.get(term)
            if t is not None:
                lo, hi = self._offsets[t], self._offsets[t + 1]
                total[self._docs[lo:hi]] += self._weights[lo:hi]
        return total

    def top(self, total: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k best (doc id, score) pairs with a positive score, from `scores()`."""
        if not self.size:
            return []
        k = min(k, self.size)
        best = np.argpartition(-total, k - 1)[:k]
        best = best[np.argsort(-total[best])]
        return [(self.ids[i], float(total[i])) for i in best if total[i] > 0]

    def score_of(self, total: np.ndarray, doc_ids: Iterable[str]) -> dict[str, float]:
        return {d: float(total[self._position[d]]) for d in doc_ids if d in self._position}
