"""Markdown, with or without YAML front matter (Binance announcement exports have none)."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

import yaml
from langchain_core.documents import Document

from bot.core.sources.records import record_to_document
from bot.core.text import clean

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FILENAME_STAMP = re.compile(r"(\d{14})(?:\D*)$")
_FILENAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def looks_like_markdown(content: str) -> bool:
    return bool(_HEADING.search(content[:4096]))


def load(content: str, origin: str) -> tuple[list[Document], list[str]]:
    meta: dict[str, Any] = {}
    body = content
    match = _FRONT_MATTER.match(content.lstrip("\ufeff"))
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as error:
            return [], [f"broken front matter: {str(error).splitlines()[0]}"]
        if isinstance(loaded, dict):
            meta = {str(k): v for k, v in loaded.items()}
        body = content[match.end() :]
    heading = _HEADING.search(body)
    if "title" not in meta and heading and not body[: heading.start()].strip():
        meta["title"] = heading.group(1)
        body = body[heading.end() :]
    text = clean(_plain(body))
    if not text:
        return [], ["no text after the title"]
    if not meta.get("title"):
        meta["title"] = text.split("\n", 1)[0][:120]
    if not any(meta.get(k) for k in ("date", "published_at", "published", "pub_date")):
        stamp = _date_from_name(origin)
        if stamp:
            meta["published_at"] = stamp
    record = {**meta, "body": text}
    return [record_to_document(record, origin)], []


def _date_from_name(origin: str) -> str | None:
    stem = PurePath(origin).stem
    stamp = _FILENAME_STAMP.search(stem)
    if stamp:
        digits = stamp.group(1)
        return (
            f"{digits[0:4]}-{digits[4:6]}-{digits[6:8]}T"
            f"{digits[8:10]}:{digits[10:12]}:{digits[12:14]}Z"
        )
    day = _FILENAME_DATE.search(stem)
    return day.group(1) if day else None


def _plain(markdown: str) -> str:
    """Markdown to plain text, enough for search and quoting: links, emphasis, headings."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^#{1,6}\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.MULTILINE)
    return text
