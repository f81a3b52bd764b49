"""Record-shaped news: the CoinDesk/CryptoCompare export, JSON lists, JSON Lines and CSV.

Each field is read within a cap, and a field that cannot be read costs that field, a record
that cannot be read costs that record: never the rest of the file.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
from collections.abc import Iterable
from typing import Any

from langchain_core.documents import Document

from bot.core.sources import _json
from bot.core.text import clean, parse_datetime

TITLE_KEYS = ("title", "headline", "name")
BODY_KEYS = ("body", "text", "content", "maintext", "description", "summary")
URL_KEYS = ("article_url", "url", "link", "sourceUrl", "guid")
DATE_KEYS = (
    "published_at",
    "published_on",
    "pub_date_iso",
    "pub_date",
    "date_publish",
    "date",
    "newsDatetime",
    "published",
    "datetime",
    "time",
    "timestamp",
)
OUTLET_KEYS = ("source_info", "outlet", "source", "publisher", "sourceDomain", "site")
ASSET_KEYS = ("currencies", "assets", "tickers", "mentioned_companies")
_NULLS = {"", "null", "none", "nan", "n/a"}
MAX_FIELD_CHARS = 10 * 1024 * 1024
MAX_TITLE_CHARS = 300
MAX_AUTHOR_CHARS = 200
MAX_URL_CHARS = 2_048  # a longer "URL" is dropped, not cut: a cut one would lead elsewhere
MAX_DATE_CHARS = 100
# An outlet written as text ('{"name": "CoinDesk", "img": ..., "lang": "EN"}', or as a Python
# dict) is about 100 characters: a longer or more nested one is not parsed.
MAX_MAPPING_CHARS = 2_048
MAX_MAPPING_BRACKETS = 8
MAX_LIST_ITEMS = 20  # authors, assets: items of a list field that are read


def is_record(value: object) -> bool:
    return isinstance(value, dict) and _first(value, TITLE_KEYS + BODY_KEYS) is not None


def load_records(rows: Iterable[Any], origin: str) -> tuple[list[Document], list[str]]:
    """Map each record to a Document; report records that are not articles by position."""
    documents: list[Document] = []
    problems: list[str] = []
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(f"item {position}: not an object")
            continue
        try:
            document = record_to_document(row, f"{origin}#{position}")
        except ValueError as error:
            problems.append(f"item {position}: {error}")
            continue
        except RecursionError:
            problems.append(f"item {position}: nested too deeply to read")
            continue
        documents.append(document)
    return documents, problems


def load_jsonl(lines: list[str], origin: str) -> tuple[list[Document], list[str]]:
    rows: list[Any] = []
    problems: list[str] = []
    broken = object()  # a line already reported (a `null` line is None, and is reported below)
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(_json.loads(line)[0])
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not valid JSON ({error.msg})")
            rows.append(broken)
        except RecursionError:
            problems.append(f"line {number}: nested too deeply to read")
            rows.append(broken)
    documents: list[Document] = []
    for number, row in enumerate(rows, start=1):
        if row is broken:
            continue
        if not isinstance(row, dict):
            problems.append(f"line {number}: not an object")
            continue
        try:
            documents.append(record_to_document(row, f"{origin}#{number}"))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
        except RecursionError:
            problems.append(f"line {number}: nested too deeply to read")
    return documents, problems


def looks_like_csv(content: str) -> bool:
    first = content.lstrip()[:4096].split("\n", 1)[0].lower()  # a header line, not the file
    if "," not in first and ";" not in first and "\t" not in first:
        return False
    fields = {f.strip().strip('"') for f in first.replace(";", ",").replace("\t", ",").split(",")}
    return bool(fields & {k.lower() for k in TITLE_KEYS + BODY_KEYS})


MAX_BROKEN_ROWS = 100  # past this many broken rows a file is not CSV in any useful sense


def load_csv(content: str, origin: str) -> tuple[list[Document], list[str]]:
    first = content.lstrip().split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.DictReader(io.StringIO(content.lstrip()), delimiter=delimiter)
    documents: list[Document] = []
    problems: list[str] = []
    broken = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # One broken row (a cell over the limit, a stray NUL) costs that row: the reader
            # goes on at the next line.
            broken += 1
            problems.append(f"line {reader.line_num}: broken CSV ({error})")
            if broken >= MAX_BROKEN_ROWS:
                problems.append(f"{broken} broken rows: the rest of the file was not read")
                break
            continue
        number = reader.line_num
        if None in row:  # more cells than header columns
            row.pop(None)
        row = {key.strip(): value for key, value in row.items() if key}
        try:
            documents.append(record_to_document(row, f"{origin}#{number}"))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
    return documents, problems


def record_to_document(row: dict[str, Any], origin: str) -> Document:
    """One record to a Document; a headline without text becomes a headline-only article."""
    row = {**{str(k).lower(): v for k, v in row.items()}, **row}  # "Title" reads as "title"
    title = _text(_first(row, TITLE_KEYS))[:MAX_TITLE_CHARS]
    body = _text(_first(row, BODY_KEYS), joiner="\n\n")
    if not title and not body:
        raise ValueError("no title or text")
    if not body:  # a headline-only item: its headline is its text
        body = title
    if not title:
        title = body.split("\n", 1)[0][:120]
    raw_date = _first(row, DATE_KEYS)
    if isinstance(raw_date, str) and len(raw_date) > MAX_DATE_CHARS:
        raw_date = None
    published = parse_datetime(raw_date)
    url = _text(_first(row, URL_KEYS)) or None
    if url and (len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://"))):
        url = None
    metadata = {
        "title": title,
        "url": url,
        "outlet": _outlet(row),
        "published_at": published.isoformat() if published else None,
        "assets_hint": _assets_hint(row),
        "origin": origin,
        "author": _text(_first(row, ("author", "authors", "byline", "creator")))[:MAX_AUTHOR_CHARS]
        or None,
    }
    return Document(page_content=body, metadata=metadata)


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of keys with a value: not null, not "NULL", not an empty list or mapping."""
    for key in keys:
        value = row.get(key)
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        if isinstance(value, str) and value.strip().lower() in _NULLS:
            continue
        return value
    return None


def _text(value: Any, joiner: str = ", ") -> str:
    """A field as clean text: a string, a number, or a list of them joined (authors); a
    mapping or anything nested has no text (str() of it would be a Python repr, or huge)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list):
        items = [v for v in value[:MAX_LIST_ITEMS] if isinstance(v, str | int | float)]
        return clean(joiner.join(map(str, items)))
    return ""


def _outlet(row: dict[str, Any]) -> str | None:
    value = _first(row, OUTLET_KEYS)
    if isinstance(value, str) and value.strip().startswith("{"):
        value = _mapping(value.strip())
    if isinstance(value, dict):
        value = value.get("name") or value.get("title")
    text = _text(value)
    return text[:80] or None


def _mapping(text: str) -> Any:
    """A mapping written as text, as JSON or as a Python dict literal ("{'name': 'CoinDesk'}"),
    read only when short and shallow; None for anything else."""
    if len(text) > MAX_MAPPING_CHARS or text.count("{") + text.count("[") > MAX_MAPPING_BRACKETS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:  # bounded above: 2 KB and 8 brackets are far inside the parser's own limits
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _assets_hint(row: dict[str, Any]) -> list[str]:
    value = _first(row, ASSET_KEYS)
    if isinstance(value, list):
        items = [str(v) for v in value[:MAX_LIST_ITEMS] if isinstance(v, str | int | float)]
    elif isinstance(value, str):
        items = value[:2_000].replace("|", ",").split(",")
    else:
        return []
    hints = (clean(item).upper() for item in items)
    return [hint for hint in hints if 0 < len(hint) <= 40][:MAX_LIST_ITEMS]
