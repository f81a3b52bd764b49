"""Loaders: turn files in the formats people have into LangChain Documents, detected by content.

Each loader returns Documents whose page_content is the article text and whose metadata holds
title, url, outlet, published_at (ISO 8601 or None), assets_hint and origin. Problems are
reported per item; one bad record never stops the rest of the file.

Only regular files are read, and at most MAX_FILE_BYTES of each: a FIFO, a device or a socket
is refused without being opened, so `ingest /dev/zero` or a pipe nobody writes to costs one
line of the report, not the run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from bot.core.sources import _decode, _json, html, markdown, records, text
from bot.core.text import printable

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
    origin = origin_of(origin)
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


_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:rdf)\b", re.IGNORECASE)


def _is_feed(head: str) -> bool:
    """Whether the text opens as an RSS, Atom or RDF document, after an optional XML
    declaration and comments. Plain scanning, not one pattern: a pattern with a repeated lazy
    comment takes time exponential in the number of comments before a root that is not a
    feed's (80 empty comments: for ever)."""
    rest = head
    if rest.startswith("<?xml"):
        end = rest.find(">")
        if end < 0:
            return False
        rest = rest[end + 1 :].lstrip()
    while rest.startswith("<!--"):
        end = rest.find("-->", 4)
        if end < 0:
            return False
        rest = rest[end + 3 :].lstrip()
    return _FEED_ROOT.match(rest) is not None


def _dispatch(content: str, origin: str) -> LoadResult:
    head = content.lstrip()[:512]
    if head.startswith(("{", "[")):
        return _load_json(content, origin)
    if head.startswith(_JSON_SCALAR_STARTS):
        scalar = _json_scalar(content)
        if scalar is not None:
            return LoadResult(
                origin,
                "json",
                problems=[
                    f"the file holds only the JSON value {scalar}: not an article or a news export"
                ],
            )
    if head.startswith("<"):
        if _is_feed(head):
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


_JSON_SCALAR_STARTS = ('"', "-", *"0123456789", "true", "false", "null", "NaN", "Infinity")


def _json_scalar(content: str) -> str | None:
    """The JSON value a file holds alone ("null", "42", '"x"'), shown in at most 40 characters;
    None when the file is not one JSON value."""
    try:
        value = json.loads(content)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict | list):
        return None
    shown = content.strip()
    return printable(shown if len(shown) <= 40 else shown[:37] + "...")


def _load_json(content: str, origin: str) -> LoadResult:
    try:
        data, cut = _json.loads(content)
    except RecursionError:
        return LoadResult(origin, "json", problems=["nested too deeply to read"])
    except json.JSONDecodeError as error:
        lines = [line for line in content.splitlines() if line.strip()]
        objects = sum(1 for line in lines if line.lstrip().startswith("{"))
        # JSON Lines when it starts as them and most lines are objects: a stray `null` or
        # `[1,2` line costs that line, not the file.
        if len(lines) > 1 and lines[0].lstrip().startswith("{") and objects * 2 > len(lines):
            return _result(origin, "jsonl", records.load_jsonl(lines, origin))
        if error.pos <= len(content) - len(content.lstrip()) + 1:
            # Broken at its first character: "[Reuters] Bitcoin fell..." is prose, not JSON.
            return _dispatch_prose(content, origin)
        return LoadResult(
            origin,
            "json",
            problems=[f"not valid JSON ({error.msg}: line {error.lineno}, column {error.colno})"],
        )
    result = _load_json_value(data, origin)
    if cut:
        result.problems.append(
            f"{cut} value{'s' if cut > 1 else ''} nested more than {_json.MAX_DEPTH} levels "
            "deep left out (the rest of each record is kept)"
        )
    return result


def _load_json_value(data: object, origin: str) -> LoadResult:
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
    """Files named directly, and the supported regular files inside folders (recursively,
    sorted). A folder's symlinks to folders are not followed (no loop can hold the walk), and
    its FIFOs, devices and sockets are skipped without being opened."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()  # a regular file, or a symlink to one
                    and not child.name.startswith(".")
                    and (child.suffix.lower() in SUPPORTED_SUFFIXES)
                ):
                    yield child
        else:
            yield path


def origin_of(name: str | Path) -> str:
    """A file name as the report and the stored articles show it: a byte that is not UTF-8
    reads \\xff, an ESC \\x1b, a newline \\n, so the name can be stored and printed as it is.
    Applying it twice changes nothing."""
    return printable(str(name)).replace("\n", "\\n").replace("\t", "\\t")


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class _TooLarge(Exception):
    pass


def load_path(path: Path) -> LoadResult:
    """Load one regular file, reporting anything else (missing, a folder, a FIFO or device, too
    large, unreadable) as a problem rather than raising."""
    origin = origin_of(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            return LoadResult(origin, "folder", problems=["is a folder"])
        if not stat.S_ISREG(info.st_mode):
            return _special(origin, info.st_mode)
        if info.st_size > MAX_FILE_BYTES:
            return _too_large(origin, f"file is {info.st_size / 1024 / 1024:.0f} MB")
        data = _read_regular(path)
    except FileNotFoundError:
        return LoadResult(origin, "missing", problems=["no such file"])
    except _TooLarge:
        return _too_large(origin, "file grew past the limit while it was read")
    except _Special as special:
        return _special(origin, special.mode)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return LoadResult(origin, "unreadable", problems=[f"cannot read: {reason}"])
    except ValueError:  # a NUL byte in the name
        return LoadResult(origin, "unreadable", problems=["not a valid file name"])
    return load_bytes(data, origin)


class _Special(Exception):
    def __init__(self, mode: int) -> None:
        self.mode = mode


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file, at most MAX_FILE_BYTES of them. Opened without blocking
    and checked again once open, so a path swapped for a FIFO after the first check is
    refused, not waited on; read in bounded steps, so a file growing faster than it is read
    is refused at the cap, not read for ever."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise _Special(mode)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(descriptor, min(1 << 20, MAX_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise _TooLarge
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _special(origin: str, mode: int) -> LoadResult:
    kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "a special file")
    return LoadResult(origin, "special", problems=[f"{kind}, not a regular file: not read"])


def _too_large(origin: str, what: str) -> LoadResult:
    limit = f"{MAX_FILE_BYTES >> 20} MB" if MAX_FILE_BYTES >= 1 << 20 else f"{MAX_FILE_BYTES} B"
    return LoadResult(origin, "too-large", problems=[f"{what}, over the {limit} limit"])
