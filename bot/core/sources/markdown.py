"""Markdown, with or without YAML front matter (Binance announcement exports have none).

Everything here reads untrusted text, so every pattern is linear: none has two quantifiers
that can both take the same character, and a scan from one opening bracket stops at the next.
Front matter is bounded before YAML sees it: at most 16 KB, no aliases (a few hundred bytes of
nested aliases expand to gigabytes), at most 10 levels deep, and each field cut to its cap.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePath
from typing import Any

import yaml
from langchain_core.documents import Document

from bot.core.sources.records import MAX_TITLE_CHARS, record_to_document
from bot.core.text import clean

MAX_FRONT_MATTER_CHARS = 16 * 1024
MAX_FRONT_MATTER_DEPTH = 10
MAX_META_CHARS = 2_000  # any other front-matter string (a URL, an outlet, a date)
MAX_META_ITEMS = 50  # items of a front-matter list or mapping (tags, assets)

_OPENING = re.compile(r"---[ \t]*\r?\n")
_CLOSING = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
# A heading's text is the rest of its line; its closing hashes are removed in _heading_text.
_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*)$", re.MULTILINE)
_FILENAME_STAMP = re.compile(r"(\d{14})(?:\D*)$")
_FILENAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
# Link text and image alt text hold no "[" (so a scan stops at the next one), destinations no
# bracket or parenthesis: each character is scanned from one opening bracket at most.
_IMAGE = re.compile(r"!\[[^\[\]]*\]\([^()\[\]]*\)")
_LINK = re.compile(r"\[([^\[\]]+)\]\([^()\[\]]*\)")


class FrontMatterError(Exception):
    """Front matter that is refused: the reason, in words."""


def looks_like_markdown(content: str) -> bool:
    return bool(_HEADING.search(content[:4096]))


def load(content: str, origin: str) -> tuple[list[Document], list[str]]:
    try:
        meta, body = _front_matter(content.lstrip("\ufeff"))
    except FrontMatterError as error:
        return [], [f"front matter refused: {error}"]
    heading = _HEADING.search(body)
    if "title" not in meta and heading and not body[: heading.start()].strip():
        meta["title"] = _heading_text(heading.group(1))
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
    try:
        return [record_to_document(record, origin)], []
    except ValueError as error:
        return [], [str(error)]


def _front_matter(content: str) -> tuple[dict[str, Any], str]:
    """The front matter's fields and the body after it; no fields when there is no block (a
    first `---` line that is never closed is a rule, not front matter)."""
    opening = _OPENING.match(content)
    if not opening:
        return {}, content
    closing = _CLOSING.search(content, opening.end())
    if not closing:
        return {}, content
    block = content[opening.end() : closing.start()]
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(
            f"it is {len(block) // 1024} KB long, over the {MAX_FRONT_MATTER_CHARS // 1024} KB "
            "a news header needs"
        )
    try:
        loaded = yaml.load(block, Loader=_FrontMatterLoader)
    except yaml.YAMLError as error:
        raise FrontMatterError(f"broken YAML ({str(error).splitlines()[0]})") from None
    except (ValueError, OverflowError) as error:  # an int of 5,000 digits, a date in year 0
        raise FrontMatterError(f"a value cannot be read ({error})") from None
    meta: dict[str, Any] = {}
    if isinstance(loaded, dict):
        for key, value in list(loaded.items())[:MAX_META_ITEMS]:
            meta[str(key)[:100]] = _bounded(value)
        if isinstance(meta.get("title"), str):
            meta["title"] = meta["title"][:MAX_TITLE_CHARS]
    return meta, content[closing.end() :].removeprefix("\n")


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases, and with a depth limit: news front matter needs
    neither, and they are how a small file becomes a huge document or a deep recursion."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise FrontMatterError(
                "it uses YAML aliases (*name), which a news header never needs and which can "
                "expand a small file into gigabytes"
            )
        if self._depth >= MAX_FRONT_MATTER_DEPTH:
            raise FrontMatterError(f"it is nested more than {MAX_FRONT_MATTER_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_SCALARS = (bool, int, float, dt.date)


def _bounded(value: Any) -> Any:
    """A front-matter value within its caps: strings cut, lists and mappings shortened, other
    YAML types (binary, sets) dropped."""
    if isinstance(value, str):
        return value[:MAX_META_CHARS]
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [_bounded(item) for item in value[:MAX_META_ITEMS]]
    if isinstance(value, dict):
        items = list(value.items())[:MAX_META_ITEMS]
        return {str(key)[:100]: _bounded(item) for key, item in items}
    return None


def _heading_text(line: str) -> str:
    """A heading line without its optional closing hashes ("## Title ##")."""
    text = line.rstrip()
    without = text.rstrip("#")
    if without != text and (not without or without[-1] in " \t"):
        text = without.rstrip()
    return text


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
    """Markdown's images and links as their text; `clean` removes the rest (emphasis,
    headings, list marks, footnotes), since outlets' JSON and feeds carry Markdown too."""
    return _LINK.sub(r"\1", _IMAGE.sub("", markdown))
