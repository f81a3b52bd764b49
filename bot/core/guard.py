"""The grounding guard: what a generated answer may say, checked before anyone sees it.

Every sentence must cite passages that were given ([n] within range); every number in it must
appear in a passage it cites or in the market figures; and each of its clauses (split at
causal and contrastive words: "because", "after", "but", ...) must take most of its content
words from what it cites, so "$999 million", a ninth passage of four, or a cause tacked onto a
quoted fact ("..., because Binance was hacked [1]") is removed. A sentence without a citation
may only restate the figures or say that the sources do not explain something. Sentences that
address a model, carry a link, or give advice or a prediction the source does not make are
removed too; instructions are withheld from the passages, so echoing one finds no support.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.answer import NUMBER
from bot.core.injection import is_instruction
from bot.core.lexical import terms
from bot.core.text import sentences

MARKER = re.compile(r"\[(\d{1,3})\]")
# "It fell 14%. [1] Then ..." cites [1] for the sentence before the marker, not after it.
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:[ \t]*\[\d{1,3}\])+)")
# A clause without a citation may only restate market figures or say that the sources do not
# explain something.
NO_SUPPORT = re.compile(
    r"\b(?:sources?|passages?|articles?)\b[^.]{0,60}\b(?:do not|don't|does not|doesn't|not)\b"
    r"|\bno (?:source|passage|article)\b",
    re.IGNORECASE,
)
# Where a sentence's claims divide: each part must be supported on its own.
_CONNECTIVES = (
    r"because|due to|after|amid|following|driven by|caused by|thanks to|on the back of|"
    r"as a result of|but|while|whereas|although|and then"
)
# A break starts where a run of blank space starts (the lookbehinds): tried at every space of a
# long run, the split was quadratic.
CLAUSE = re.compile(rf"(?<=[.;:!?])\s+|(?<![\s,]),?\s+(?=(?:{_CONNECTIVES})\b)", re.IGNORECASE)
_LEADING_CONNECTIVE = re.compile(rf"^(?:{_CONNECTIVES})\b", re.IGNORECASE)
# Counts written as words are numbers too ("two factors" where the source says three). "One"
# is left out: it is more often a pronoun than a count.
NUMBER_WORD = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundred|thousand|dozens?)\b",
    re.IGNORECASE,
)
LINK = re.compile(r"\]\(|https?://|\bwww\.|<[a-z][a-z0-9+.-]*:", re.IGNORECASE)
ADVICE = re.compile(
    r"\b(?:you|traders|investors|readers|holders|everyone|users)\s+(?:should|must|need to|"
    r"ought to)\b|\b(?:buy|sell|short|send|transfer|deposit)\b[^.]{0,40}\bnow\b"
    r"|\bwe (?:recommend|suggest|advise)\b|\b(?:will|is going to|is set to)\s+(?:rise|rebound|"
    r"recover|fall|drop|crash|reach|hit|double|triple|moon|surge|rally|soar|climb)\b",
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
    answer = markers_inside(unicodedata.normalize("NFKC", answer))
    support = {n: trusted_text(text) for n, text in given.items()}
    kept: list[str] = []
    removed: list[Removal] = []
    for paragraph in answer.split("\n"):
        kept_here: list[str] = []
        for sentence in sentences(paragraph):
            reason = _unsupported(sentence, support, figures)
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


def _unsupported(sentence: str, support: dict[int, str], figures: str) -> str | None:
    cited = [int(n) for n in MARKER.findall(sentence)]
    unknown = [n for n in cited if n not in support]
    if unknown:
        return f"cites [{unknown[0]}], but only {len(support)} passages were given"
    if is_instruction(sentence):
        return "addresses a model"
    if LINK.search(sentence):
        return "contains a link"
    bare = MARKER.sub(" ", sentence)
    backing = " ".join(support[n] for n in cited)
    advice = ADVICE.search(bare)
    if advice and advice.group(0).lower() not in backing.lower():
        return "gives advice or a prediction its sources do not"
    if not cited:
        for clause, claim in _clauses(bare):
            if NO_SUPPORT.search(clause) and not _numbers(clause):
                continue  # "the sources do not explain ..." needs no citation
            if _numbers(clause) <= _numbers(figures) and _share(claim, figures) >= MIN_SUPPORT:
                continue  # a market figure, which the answer shows with its source
            return "cites no passage"
        return None
    known = _numbers(backing) | _numbers(figures)
    invented = [n for n in NUMBER.findall(bare) if _plain(n) not in known]
    written = {w.lower() for w in NUMBER_WORD.findall(f"{backing} {figures}")}
    invented += [w for w in NUMBER_WORD.findall(bare) if w.lower() not in written]
    if invented:
        return f"{invented[0]} is in no cited passage and in no figure"
    found = _share(bare, backing)
    if found < MIN_SUPPORT:
        return f"only {found:.0%} of its words are in the passages it cites"
    for clause, claim in _clauses(bare):
        if len(set(terms(claim))) >= 2 and _share(claim, backing) < MIN_SUPPORT:
            return f"\u201c{clause.rstrip(' .;:!?')}\u201d is not in the passages it cites"
    return None


def _clauses(text: str) -> list[tuple[str, str]]:
    """The clauses of a sentence that say something: each as written, and without the word
    that joins it to the rest ("because", "but"), which is no claim of its own."""
    found = []
    for part in CLAUSE.split(text):
        clause = " ".join(part.split())
        claim = _LEADING_CONNECTIVE.sub("", clause)
        if terms(claim):
            found.append((clause, claim))
    return found


def _share(text: str, source: str) -> float:
    """The share of the content words of `text` found in `source` (1.0 with none)."""
    words = set(terms(text))
    return len(words & set(terms(source))) / len(words) if words else 1.0


def _numbers(text: str) -> set[str]:
    return {_plain(n) for n in NUMBER.findall(text)}


def _plain(number: str) -> str:
    """1,200 and 1200 are one number; so are 8.80 and 8.8."""
    digits = number.replace(",", "")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    return digits
