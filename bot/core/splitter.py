"""Sentence-boundary chunking on top of LangChain's TextSplitter merging."""

from __future__ import annotations

from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter

from bot.core.text import sentences


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
        for sentence in sentences(text):
            if len(sentence) > self._chunk_size:
                pieces.extend(self._long.split_text(sentence))
            else:
                pieces.append(sentence)
        return self._merge_splits(pieces, " ")
