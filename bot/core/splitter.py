"""Sentence-boundary chunking on top of LangChain's TextSplitter merging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter

from bot.core.text import sentences

# The longest stretch of text handed to sentences() at once. Real paragraphs are far shorter;
# a megabyte "paragraph" (one line of a hostile page) is cut at a sentence end or a space
# first, because finding sentence ends past a run of abbreviations ("Mr. A Mr. A ...") costs
# time in the square of the stretch's length.
MAX_PARAGRAPH_CHARS = 4_000


class SentenceSplitter(TextSplitter):
    """Chunks made of whole sentences (paragraphs first), overlapping by whole sentences."""

    def __init__(self, chunk_size: int = 700, chunk_overlap: int = 120, **kwargs: Any) -> None:
        super().__init__(chunk_size=chunk_size, chunk_overlap=chunk_overlap, **kwargs)
        # A single sentence longer than a chunk is cut at clause, then word boundaries.
        self._long = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=0, separators=["; ", ", ", " ", ""]
        )

    def split_text(self, text: str) -> list[str]:
        pieces: list[str] = []
        for stretch in _stretches(text):
            for sentence in sentences(stretch):
                if len(sentence) > self._chunk_size:
                    pieces.extend(self._long.split_text(sentence))
                else:
                    pieces.append(sentence)
        return self._merge_splits(pieces, " ")


def _stretches(text: str) -> Iterator[str]:
    """The text in pieces of at most MAX_PARAGRAPH_CHARS, each ending at a line break, else a
    sentence end, else a space, else anywhere."""
    start = 0
    while len(text) - start > MAX_PARAGRAPH_CHARS:
        end = start + MAX_PARAGRAPH_CHARS
        cut = text.rfind("\n", start, end)
        if cut <= start:
            cut = max(text.rfind(". ", start, end), text.rfind("? ", start, end))
            cut = cut + 1 if cut > start else text.rfind(" ", start, end)
        if cut <= start:
            cut = end
        yield text[start:cut]
        start = cut
    yield text[start:]
