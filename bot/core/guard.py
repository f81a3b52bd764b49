"""The grounding guard: what a generated answer may say, checked before anyone sees it.

Every sentence must cite passages that were given ([n] within range), every number in it must
appear in a passage it cites or in the market figures, and its content words must mostly come
from what it cites, so an answer cannot invent "$999 million", cite a ninth passage of four, or
repeat an instruction hidden in an article (instructions are withheld from the passages, so a
sentence that follows one finds no support). Unsupported sentences are removed and reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.answer import NUMBER
from bot.core.injection import is_instruction
from bot.core.lexical import terms
from bot.core.text import sentences

MARKER = re.compile(r"\[(\d{1,3})\]")
# "It fell 14%. [1] Then ..." cites [1] for the sentence before the marker, not after it.
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:[ \t]*\[\d{1,3}\])+)")
# A sentence without a citation may only restate market figures or say that the sources do not
# explain something.
NO_SUPPORT = re.compile(
    r"\b(?:sources?|passages?|articles?)\b[^.]{0,60}\b(?:do not|don't|does not|doesn't|not)\b"
    r"|\bno (?:source|passage|article)\b",
    re.IGNORECASE,
)
MIN_SUPPORT = 0.5  # share of a sentence's content words found in what it cites


@dataclass(frozen=True)
class Removal:
    sentence: str
    reason: str


@dataclass(frozen=True)
class Guarded:
    """The answer as it may be shown, and what was taken out of it."""

    text: str
    removed: tuple[Removal, ...] = field(default_factory=tuple)

    @property
    def cited(self) -> set[int]:
        return {int(n) for n in MARKER.findall(self.text)}

    @property
    def usable(self) -> bool:
        """Something cited is left."""
        return bool(self.cited)


def trusted_text(passage: str) -> str:
    """A passage without the sentences that address a model: what may support a claim."""
    return " ".join(s for s in sentences(passage) if not is_instruction(s))


def guard(answer: str, passages: Mapping[int, str] | Sequence[str], figures: str = "") -> Guarded:
    """Keep the sentences of `answer` that its passages (numbered from 1) or the figures
    support; report the others with the reason."""
    given = dict(passages) if isinstance(passages, Mapping) else dict(enumerate(passages, 1))
    answer = markers_inside(answer)
    support = {n: trusted_text(text) for n, text in given.items()}
    figure_numbers = _numbers(figures)
    kept: list[str] = []
    removed: list[Removal] = []
    for paragraph in answer.split("\n"):
        kept_here: list[str] = []
        for sentence in sentences(paragraph):
            reason = _unsupported(sentence, support, figure_numbers)
            if reason:
                removed.append(Removal(sentence, reason))
            else:
                kept_here.append(sentence)
        if kept_here:
            kept.append(" ".join(kept_here))
    return Guarded("\n".join(kept).strip(), tuple(removed))


def markers_inside(text: str) -> str:
    """Markers written after a sentence's full stop moved before it, where they belong."""
    return _MARKER_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


def _unsupported(sentence: str, support: dict[int, str], figure_numbers: set[str]) -> str | None:
    cited = [int(n) for n in MARKER.findall(sentence)]
    unknown = [n for n in cited if n not in support]
    if unknown:
        return f"cites [{unknown[0]}], but only {len(support)} passages were given"
    if is_instruction(sentence):
        return "addresses a model"
    bare = MARKER.sub(" ", sentence)
    if not cited:
        numbers = _numbers(bare)
        if NO_SUPPORT.search(bare) and not numbers:
            return None  # "the sources do not explain ..." is allowed without a citation
        if numbers and numbers <= figure_numbers:
            return None  # a market figure, which the answer shows with its source
        return "cites no passage"
    backing = " ".join(support[n] for n in cited)
    known = _numbers(backing) | figure_numbers
    invented = [n for n in NUMBER.findall(bare) if _plain(n) not in known]
    if invented:
        return f"{invented[0]} is in no cited passage and in no figure"
    words = set(terms(bare))
    if words:
        found = len(words & set(terms(backing))) / len(words)
        if found < MIN_SUPPORT:
            return f"only {found:.0%} of its words are in the passages it cites"
    return None


def _numbers(text: str) -> set[str]:
    return {_plain(n) for n in NUMBER.findall(text)}


def _plain(number: str) -> str:
    """1,200 and 1200 are one number; so are 8.80 and 8.8."""
    digits = number.replace(",", "")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    return digits
