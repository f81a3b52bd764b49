"""Plain text: a short first line is the title, the rest the article."""

from __future__ import annotations

from langchain_core.documents import Document

from bot.core.sources.records import record_to_document
from bot.core.text import clean


def load(content: str, origin: str) -> tuple[list[Document], list[str]]:
    text = clean(content)
    if not text:
        return [], ["no text"]
    first, _, rest = text.partition("\n")
    if len(first) <= 160 and rest.strip() and not first.rstrip().endswith((".", ",", ";")):
        title, body = first.strip(), rest.strip()
    else:
        title, body = "", text
    try:
        return [record_to_document({"title": title, "body": body}, origin)], []
    except ValueError as error:
        return [], [str(error)]
