"""Record-shaped news: the CoinDesk/CryptoCompare export, JSON lists, JSON Lines and CSV."""

from __future__ import annotations

import ast
import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from langchain_core.documents import Document

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
        documents.append(document)
    return documents, problems


def load_jsonl(lines: list[str], origin: str) -> tuple[list[Document], list[str]]:
    rows: list[Any] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not valid JSON ({error.msg})")
            rows.append(None)
    documents: list[Document] = []
    for number, row in enumerate(rows, start=1):
        if row is None:
            continue
        if not isinstance(row, dict):
            problems.append(f"line {number}: not an object")
            continue
        try:
            documents.append(record_to_document(row, f"{origin}#{number}"))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
    return documents, problems


def looks_like_csv(content: str) -> bool:
    first = content.lstrip().split("\n", 1)[0].lower()
    if "," not in first and ";" not in first and "\t" not in first:
        return False
    fields = {f.strip().strip('"') for f in first.replace(";", ",").replace("\t", ",").split(",")}
    return bool(fields & {k.lower() for k in TITLE_KEYS + BODY_KEYS})


def load_csv(content: str, origin: str) -> tuple[list[Document], list[str]]:
    first = content.lstrip().split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.DictReader(io.StringIO(content.lstrip()), delimiter=delimiter)
    documents: list[Document] = []
    problems: list[str] = []
    try:
        for row in reader:
            number = reader.line_num
            if None in row:  # more cells than header columns
                row.pop(None)
            row = {key.strip(): value for key, value in row.items() if key}
            try:
                documents.append(record_to_document(row, f"{origin}#{number}"))
            except ValueError as error:
                problems.append(f"line {number}: {error}")
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: broken CSV ({error})")
    return documents, problems


def record_to_document(row: dict[str, Any], origin: str) -> Document:
    """One record to a Document; a headline without text becomes a headline-only article."""
    row = {**{str(k).lower(): v for k, v in row.items()}, **row}  # "Title" reads as "title"
    title = _text(_first(row, TITLE_KEYS))
    body = _text(_first(row, BODY_KEYS))
    if not title and not body:
        raise ValueError("no title or text")
    if not body:  # a headline-only item: its headline is its text
        body = title
    if not title:
        title = body.split("\n", 1)[0][:120]
    raw_date = _first(row, DATE_KEYS)
    published = parse_datetime(raw_date)
    url = _text(_first(row, URL_KEYS)) or None
    if url and not url.lower().startswith(("http://", "https://")):
        url = None
    metadata = {
        "title": title,
        "url": url,
        "outlet": _outlet(row),
        "published_at": published.isoformat() if published else None,
        "assets_hint": _assets_hint(row),
        "origin": origin,
        "author": _text(_first(row, ("author", "authors", "byline", "creator"))) or None,
    }
    return Document(page_content=body, metadata=metadata)


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = row.get(key)
        if value is not None and str(value).strip().lower() not in _NULLS:
            return value
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return clean(value)


def _outlet(row: dict[str, Any]) -> str | None:
    value = _first(row, OUTLET_KEYS)
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("title")
    text = _text(value)
    return text[:80] or None


def _assets_hint(row: dict[str, Any]) -> list[str]:
    value = _first(row, ASSET_KEYS)
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = value.replace("|", ",").split(",")
    else:
        return []
    return [item.strip().upper() for item in items if item.strip()][:20]
