"""BM25 over chunk texts as an in-memory inverted index with precomputed weights."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np

from bot.core.text import tokens

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
    """BM25 (k1=1.2, b=0.75); a query sums one precomputed posting array per term."""

    def __init__(self, docs: Iterable[tuple[str, str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids: list[str] = []
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths: list[int] = []
        for position, (doc_id, text) in enumerate(docs):
            self.ids.append(doc_id)
            counts = Counter(terms(text))
            lengths.append(sum(counts.values()))
            for term, count in counts.items():
                postings.setdefault(term, []).append((position, count))
        self.size = len(self.ids)
        self._position = {doc_id: i for i, doc_id in enumerate(self.ids)}
        length = np.asarray(lengths, dtype=np.float32)
        average = float(length.mean()) if self.size else 1.0
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.df: dict[str, int] = {}
        for term, rows in postings.items():
            docs_ = np.fromiter((r[0] for r in rows), dtype=np.int32, count=len(rows))
            tf = np.fromiter((r[1] for r in rows), dtype=np.float32, count=len(rows))
            idf = math.log(1 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = k1 * (1 - b + b * length[docs_] / average)
            self._postings[term] = (docs_, (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32))
            self.df[term] = len(rows)

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(self.size, dtype=np.float32)
        for term in set(terms(query)):
            posting = self._postings.get(term)
            if posting is not None:
                total[posting[0]] += posting[1]
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
