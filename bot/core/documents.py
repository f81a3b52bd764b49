"""Domain objects: articles, chunks, passages, citations and answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from bot.market.premise import Premise


@dataclass(frozen=True)
class Article:
    """One stored news item with its provenance."""

    id: str
    title: str
    body: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    ingested_at: datetime
    ingested_by: str
    assets: tuple[str, ...]
    fingerprint: str
    n_chunks: int = 0
    characters: int = 0  # the text's length, known even when the text was not loaded
    # Why the text looks like it addresses a model or hides text (bot/core/injection.py).
    flags: tuple[str, ...] = ()
    author: str | None = None
    # The longest text ever stored under this id: a thinner version never replaces it, not
    # even by shrinking it a little at a time.
    longest: int = 0

    def summary(self) -> dict[str, Any]:
        """The article's metadata without its body, JSON-ready."""
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "outlet": self.outlet,
            "published_at": iso(self.published_at),
            "ingested_at": iso(self.ingested_at),
            "ingested_by": self.ingested_by,
            "assets": list(self.assets),
            "chunks": self.n_chunks,
            "characters": self.characters or len(self.body),
            "flags": list(self.flags),
            "author": self.author,
        }


@dataclass(frozen=True)
class Chunk:
    """A piece of an article's text, the unit of retrieval."""

    id: str
    article_id: str
    index: int
    text: str
    fingerprint: str = ""  # of the article version this chunk was cut from


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the article it belongs to and why it ranked."""

    chunk: Chunk
    article: Article
    score: float
    dense_similarity: float | None = None
    lexical_score: float | None = None
    also_reported_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    """A numbered source behind one or more sentences of an answer."""

    n: int
    title: str
    outlet: str | None
    url: str | None
    published_at: str | None
    quote: str
    article_id: str
    also_reported_by: tuple[str, ...] = ()  # outlets whose copies of the story were folded in


class Figure(Protocol):
    """A market figure an answer shows: the price now, the day's move, the market's move, a
    perpetual's metrics (bot/market/figures.py), each a frozen dataclass; JSON only at the
    edge (`to_json`, as `ask --json` prints it)."""

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def text(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RecordedFigure:
    """A figure read back from its JSON (the answer log): what was shown, and its numbers."""

    kind: str
    label: str
    text: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "text": self.text, **self.values}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedFigure:
        shown = ("kind", "label", "text")
        return cls(
            str(data.get("kind", "")),
            str(data.get("label", "Figure")),
            str(data.get("text", "")),
            {k: v for k, v in data.items() if k not in shown},
        )


@dataclass(frozen=True)
class Answer:
    """What the user sees, with everything needed to check it."""

    question: str
    status: Literal["answered", "no_sources"]
    answer: str
    citations: tuple[Citation, ...] = ()
    figures: tuple[Figure, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    assets: tuple[str, ...] = ()
    # The question's claimed move against price history (see bot/market/premise.py).
    premise: Premise | None = None
    # Which answer is shown: "extractive" (no model configured, or nothing to generate from),
    # "generated" (the model's, after the grounding guard) or "fallback" (extractive, because
    # the model failed, its budget was spent or the guard left nothing; `note` says which).
    path: Literal["extractive", "generated", "fallback"] = "extractive"
    # With a model configured: the model, its calls, and what the guard removed (generate.py).
    generation: dict[str, Any] | None = None
    note: str | None = None  # shown under the answer
    # The first line: the move as the price data has it, the premise corrected and whether
    # the market moved with it (bot/market/premise.lead); `window` is the move it describes.
    lead: str | None = None
    window: dict[str, Any] | None = None
    # The causes quoted under the move, in order: {"quote", "citation" (its [n]), "market_wide"
    # (about the market's move rather than the asset's)}.
    causes: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The answer as the JSON object `marketbot ask --json` prints."""
        data = asdict(replace(self, figures=(), premise=None))
        data["citations"] = [asdict(c) for c in self.citations]
        data["figures"] = [f.to_json() for f in self.figures]
        data["premise"] = self.premise.to_json() if self.premise else None
        data["assets"] = list(self.assets)
        data["causes"] = [dict(c) for c in self.causes]
        return data


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
