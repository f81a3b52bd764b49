"""Sentence-boundary chunking on top of LangChain's TextSplitter merging."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter

from bot.core.text import sentences

# The longest stretch of text handed to sentences() at once. Real paragraphs are far shorter;
# a megabyte "paragraph" (one line of a hostile page) is cut at a sentence end or a space
# first, because finding sentence ends past a run of abbreviations ("Mr. A Mr. A ...") costs
# time in the square of the stretch's length.
MAX_PARAGRAPH_CHARS = 4_000


# Paragraphs (a list item, a heading, a brief's story) are packed into one chunk only while
# together they stay this short: a daily brief's twenty bullets are twenty stories, and the
# one about the asked coin must be found and quoted on its own, not averaged with its
# neighbours; a heading or a one-line paragraph still travels with the text after it.
PACK_CHARS = 400
LEAD_CHARS = 120  # shorter than this (a heading), a paragraph always leads the next one


class SentenceSplitter(TextSplitter):
    """Chunks made of whole sentences that never join two long paragraphs, overlapping by
    whole sentences within a paragraph. Sentences in a chunk are separated by line breaks and
    paragraphs by blank lines, so a heading or a list item that ends without a full stop stays
    a sentence of its own, and the composer knows which bullet a sentence belongs to."""

    def __init__(self, chunk_size: int = 700, chunk_overlap: int = 120, **kwargs: Any) -> None:
        super().__init__(chunk_size=chunk_size, chunk_overlap=chunk_overlap, **kwargs)
        # A single sentence longer than a chunk is cut at clause, then word boundaries.
        self._long = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=0, separators=["; ", ", ", " ", ""]
        )

    def split_text(self, text: str) -> list[str]:
        chunks: list[str] = []
        group: list[str] = []  # sentences of the paragraphs packed so far
        size = 0
        for paragraph in _PARAGRAPH_BREAK.split(text):
            pieces = self._pieces(paragraph)
            length = sum(len(p) + 1 for p in pieces)
            if not pieces:
                continue
            pieces[-1] += "\n"  # joined, a blank line: where one paragraph ends in a chunk
            # A short closing sentence ("Risk: High.") ends the paragraph before it; a short
            # line without a full stop (a heading) opens the next one.
            closing = length < LEAD_CHARS and paragraph.rstrip().endswith((".", "!", "?"))
            if size >= LEAD_CHARS and size + length > PACK_CHARS and not closing:
                chunks.extend(self._merge_splits(group, "\n"))
                group, size = [], 0
            group += pieces
            size += length
        if group:
            chunks.extend(self._merge_splits(group, "\n"))
        return chunks

    def _pieces(self, paragraph: str) -> list[str]:
        pieces: list[str] = []
        for stretch in _stretches(paragraph):
            for sentence in sentences(stretch):
                if len(sentence) > self._chunk_size:
                    pieces.extend(self._long.split_text(sentence))
                else:
                    pieces.append(sentence)
        return pieces


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


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
