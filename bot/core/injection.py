"""Text that tries to instruct a model is data, never instructions.

Articles, feeds and pasted text are scanned at ingestion; what looks like an instruction to a
model ("ignore previous instructions", a fake system prompt, chat-template tokens) or hides text
from human readers (zero-width or Unicode tag characters) flags the article. Flags are stored,
shown in `sources`, and such sentences are never quoted in an answer.
"""

from __future__ import annotations

import re
import unicodedata

_INSTRUCTIONS = [
    (
        "instructions to a model",
        re.compile(
            r"\b(?:ignore|disregard|forget)\b[^.]{0,40}?\b(?:previous|prior|above|"
            r"earlier|all|any|your)\b[^.]{0,30}?\b(?:instructions?|prompts?|rules|directions|"
            r"guidelines)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "a fake system prompt",
        re.compile(
            # Blank space within the line only ([^\S\n]): with \s, a run of newlines was
            # tried from each of them, quadratic.
            r"(?:^|\n)[^\S\n]*(?:#{1,3}[^\S\n]*)?(?:system|assistant)[^\S\n]*"
            r"(?:prompt|message)?[^\S\n]*:"
            r"|\b(?:begin|end|new)\s+system\s+prompt\b|\bsystem\s+prompt\s*:",
            re.IGNORECASE,
        ),
    ),
    (
        "chat-template tokens",
        re.compile(r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?INST\]"),
    ),
    (
        "instructions to a model",
        re.compile(
            r"\byou are now\b[^.]{0,40}\b(?:assistant|ai|bot|model|chatbot|dan)\b"
            r"|\b(?:reveal|print|repeat|show)\b[^.]{0,30}\b(?:system prompt|your "
            r"(?:instructions|prompt))\b"
            r"|\b(?:as an ai|language model)\b[^.]{0,40}\b(?:must|should|will) (?:now )?"
            r"(?:say|answer|reply|respond|recommend)\b",
            re.IGNORECASE,
        ),
    ),
]
# Zero-width characters and Unicode tags render as nothing: text a reader cannot see.
# (U+200D, the zero-width joiner, is left out: emoji sequences use it.)
_HIDDEN = re.compile(r"[\u200b\u200c\u200e\u200f\u2060-\u2064\ufeff\U000e0000-\U000e007f]")
HIDDEN_MIN = 3


def scan(text: str) -> tuple[str, ...]:
    """Why a text looks like it addresses a model or hides text; empty when it does not."""
    text = unicodedata.normalize("NFKC", text)
    reasons = [reason for reason, pattern in _INSTRUCTIONS if pattern.search(text)]
    if len(_HIDDEN.findall(text)) >= HIDDEN_MIN:
        reasons.append("hidden text")
    return tuple(dict.fromkeys(reasons))


def is_instruction(sentence: str) -> bool:
    """Whether one sentence must never be quoted as an answer."""
    return any(pattern.search(sentence) for _, pattern in _INSTRUCTIONS) or (
        len(_HIDDEN.findall(sentence)) >= HIDDEN_MIN
    )
