"""Loaders: turn files in the formats people have into LangChain Documents, detected by content.

Each loader returns Documents whose page_content is the article text and whose metadata holds
title, url, outlet, published_at (ISO 8601 or None), assets_hint and origin. Problems are
reported per item; one bad record never stops the rest of the file.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from bot.core.sources import _decode, html, markdown, records, text

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES = {
    ".json",
    ".jsonl",
    ".ndjson",
    ".csv",
    ".md",
    ".markdown",
    ".html",
    ".htm",
    ".txt",
    ".text",
    "",
}


@dataclass
class LoadResult:
    """What one file yielded: its detected format, the documents, and per-item problems."""

    origin: str
    format: str
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_bytes(data: bytes, origin: str) -> LoadResult:
    """Detect the format of data by its content and load it."""
    if not data.strip():
        return LoadResult(origin, "empty", problems=["empty file: nothing to ingest"])
    if len(data) > MAX_FILE_BYTES:
        size = len(data) / 1024 / 1024
        return LoadResult(
            origin,
            "too-large",
            problems=[f"file is {size:.0f} MB, over the {MAX_FILE_BYTES >> 20} MB limit"],
        )
    try:
        content, note = _decode.decode(data)
    except _decode.BinaryError as error:
        return LoadResult(origin, "binary", problems=[str(error)])
    try:
        result = _dispatch(content, origin)
    except RecursionError:
        return LoadResult(origin, "unknown", problems=["nested too deeply to read"])
    except Exception as error:  # a loader's bug must cost one file, never the whole run
        log.exception("loader failed on %s", origin)
        return LoadResult(
            origin,
            "unknown",
            problems=[f"could not be read ({type(error).__name__}); the rest of the run goes on"],
        )
    if note and result.documents:
        result.problems.insert(0, note)
    return result


def load_page(data: bytes, url: str, charset: str | None = None) -> LoadResult:
    """A fetched web page: its main text, title and dates, or the reason it is not an
    article (no main text, binary, broken markup). `charset` is the one the server declared."""
    if not data.strip():
        return LoadResult(url, "empty", problems=["the page is empty"])
    try:
        content, _ = _decode.decode(data, charset)
    except _decode.BinaryError as error:
        return LoadResult(url, "binary", problems=[str(error)])
    try:
        return _result(url, "html", html.load(content, url, url=url))
    except Exception as error:  # a loader's bug costs this page, never the bot
        log.exception("page loader failed on %s", url)
        return LoadResult(url, "html", problems=[f"could not be read ({type(error).__name__})"])


# An RSS, Atom or RDF document, with or without an XML declaration or leading comments.
_FEED_START = re.compile(r"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:rdf)\b", re.S)


def _dispatch(content: str, origin: str) -> LoadResult:
    head = content.lstrip()[:512]
    lower_head = head.lower()
    if head.startswith(("{", "[")):
        return _load_json(content, origin)
    if head.startswith("<"):
        if re.match(
            r"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:rdf)\b", lower_head, re.S
        ):
            return LoadResult(
                origin,
                "feed",
                problems=["this is an RSS/Atom feed: add it as a feed, not as a file"],
            )
        return _result(origin, "html", html.load(content, origin))
    return _dispatch_prose(content, origin)


def _dispatch_prose(content: str, origin: str) -> LoadResult:
    if content.lstrip().startswith("---\n") or (
        origin.lower().endswith((".md", ".markdown")) or markdown.looks_like_markdown(content)
    ):
        return _result(origin, "markdown", markdown.load(content, origin))
    if records.looks_like_csv(content):
        return _result(origin, "csv", records.load_csv(content, origin))
    return _result(origin, "text", text.load(content, origin))


def _load_json(content: str, origin: str) -> LoadResult:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as error:
        lines = [line for line in content.splitlines() if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines):
            return _result(origin, "jsonl", records.load_jsonl(lines, origin))
        if error.pos <= len(content) - len(content.lstrip()) + 1:
            # Broken at its first character: "[Reuters] Bitcoin fell..." is prose, not JSON.
            return _dispatch_prose(content, origin)
        return LoadResult(
            origin,
            "json",
            problems=[f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"],
        )
    if isinstance(data, dict) and isinstance(data.get("Data"), list):
        return _result(origin, "coindesk-api", records.load_records(data["Data"], origin))
    if isinstance(data, dict):
        for key in ("articles", "items", "data", "news", "results"):
            if isinstance(data.get(key), list):
                return _result(origin, "json", records.load_records(data[key], origin))
        if records.is_record(data):
            return _result(origin, "json", records.load_records([data], origin))
    if isinstance(data, list):
        return _result(origin, "json", records.load_records(data, origin))
    return LoadResult(
        origin,
        "json",
        problems=[
            'JSON is not a news export: expected {"Data": [...]}, a list of articles, or one '
            "article with a title and body"
        ],
    )


def _result(origin: str, fmt: str, loaded: tuple[list[Document], list[str]]) -> LoadResult:
    documents, problems = loaded
    if not documents and not problems:
        problems = [f"no article found in this {fmt} file"]
    return LoadResult(origin, fmt, documents, problems)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Files named directly, and the supported files inside folders (recursively, sorted)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and not child.name.startswith(".")
                    and (child.suffix.lower() in SUPPORTED_SUFFIXES)
                ):
                    yield child
        else:
            yield path


def load_path(path: Path) -> LoadResult:
    """Load one file, reporting an unreadable path as a problem rather than raising."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            size = path.stat().st_size / 1024 / 1024
            return LoadResult(
                str(path),
                "too-large",
                problems=[f"file is {size:.0f} MB, over the {MAX_FILE_BYTES >> 20} MB limit"],
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(str(path), "missing", problems=["no such file"])
    except IsADirectoryError:
        return LoadResult(str(path), "folder", problems=["is a folder"])
    except OSError as error:
        return LoadResult(str(path), "unreadable", problems=[f"cannot read: {error.strerror}"])
    return load_bytes(data, str(path))
