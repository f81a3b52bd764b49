"""make bench, adversarial section: hostile files, pages, feeds and questions against a fresh
data dir, counting attempts, crashes, output violations and data lost. Prints; asserts nothing.

What is generated and why. Every input a source, a page, a feed or a user can send is hostile,
so this section sends the kinds an outside probe found defects with (issue 10), each generated
here from a seeded RNG so that two runs send the same bytes: Markdown and YAML built to make a
parser or a pattern work for ever (alias bombs, 4,000 spaces inside a heading, 20,000 `[`, long
runs of the characters number, money and date patterns read), files that are not what their
name says (binary, NUL, broken UTF-8 and UTF-16, JSON nested past any sane depth or holding a
bare `null`), records that try to replace a stored article with a thinner one (a headline-only
copy under `?utm_source=`, five items at one link), titles and outlets carrying masked links,
mentions, terminal escapes and bidi overrides, FIFOs, devices and undecodable file names; from
a local server on 127.0.0.1, pages and feeds that drip their headers, redirect to data: or
javascript:, bomb, oversize or break their XML; and about a thousand questions made of slang,
Markdown, mentions, control characters and worst-case strings. A crash is any exception that is
not a UserError (the messages users are meant to read). An output violation is a raw control or
bidi character, a masked link to evil.example or raw mention syntax in what a user would see:
the Discord embeds and messages, and the lines the CLI prints. Data lost counts the articles
stored before the attack (and the good records hidden among the hostile ones) that are missing
or changed afterwards. The checks are written here, apart from bot/core/text.py, so that a gap
in the product's own definitions shows up instead of being agreed with; and the section prints
what shows that the hostile text did reach them (answers citing a phishing title, stored titles
holding links), since no violation means little otherwise. Inputs of a megabyte or more repeat
one text, so that embedding it (the one cost that is not the code's to bound) is paid once and
the section stays within a few minutes on two cores.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from bot.cli import _poll_line, _print_report
from bot.core.embed import MiniLMEmbeddings
from bot.core.text import canonical_url, printable, short_hash
from bot.errors import UserError
from bot.exts.admin import report_text
from bot.exts.errors import user_message
from bot.render import (
    SOURCES_PER_PAGE,
    answer_embed,
    answer_text,
    inline_markdown,
    link_or_text,
    quotes_embed,
    sources_embed,
)
from bot.services import build_services
from bot.settings import Settings
from tests.core.deadline import TookTooLong, finishes_within
from tests.feeds.feed_server import RSS as FEED_TYPE
from tests.feeds.feed_server import FeedServer, Route
from tests.news_files import GOOD_FILES
from tests.web.site import LocalSite

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / ".cache" / "adversarial"
SEED = 10
FETCH_TIMEOUT = 2.0
QUESTIONS = 1000
EVIL = "evil.example"
SNOWFLAKE = "123456789012345678"
ATTACK = f"[Claim your ETH airdrop](https://{EVIL}/c) @everyone"
SUPPORT = f"[Binance Support](https://{EVIL}/b)"
PHISH_URL = f"https://news.example/x)[Verify wallet](https://{EVIL}/v"
MENTIONS = (
    "@everyone",
    "@here",
    f"<@{SNOWFLAKE}>",
    f"<@!{SNOWFLAKE}>",
    f"<@&{SNOWFLAKE}>",
    f"<#{SNOWFLAKE}>",
    f"</airdrop:{SNOWFLAKE}>",
)
CONTROLS = (
    "\x1b[2J\x1b[H",
    f"\x1b]8;;https://{EVIL}/o\x07click here\x1b]8;;\x07",
    "\x1b[31mred\x1b[0m",
    "\x07\x08\x00",
    "\x9b31m",
    "\x85",
    "\x7f",
    "\r",
    "\x1b",
)
BIDI = ("\u202e", "\u2066", "\u2067", "\u200f", "\u061c", "\u202b")


# -- what a user would see ----------------------------------------------------------------------

_BIDI_CLASSES = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


@cache
def _unsafe_pattern() -> re.Pattern[str]:
    """C0 controls but newline and tab, DEL, C1, lone surrogates, and every character Unicode
    classes as a bidi embedding, override, isolate or mark (derived from unicodedata here, not
    copied from the product)."""
    bidi = [
        chr(c)
        for c in range(0x10000)
        if unicodedata.bidirectional(chr(c)) in _BIDI_CLASSES or c in (0x200E, 0x200F, 0x061C)
    ]
    return re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + "".join(bidi) + "]")


_MASKED = re.compile(r"\]\(\s*<?\s*([^\s)>]+)")
_AUTOLINK = re.compile(rf"https?://(?:[^\s/\\]*\.)?{re.escape(EVIL)}", re.IGNORECASE)
_TARGET = re.compile(r"\]\([^)\s]*\)")
_MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>|</[\w -]+:\d+>")


def _evil_host(target: str) -> bool:
    try:
        host = urlsplit(target).hostname or ""
    except ValueError:
        return False
    return host == EVIL or host.endswith("." + EVIL)


def problems_in(text: str, *, markup: bool) -> list[tuple[str, str]]:
    """What is wrong with `text` shown to a user, as (kind, the offending part). With `markup`,
    the text is read as Discord Markdown (a message, an embed's description or field value): a
    masked link to evil.example whose `]` is not escaped, a clickable evil.example address,
    raw mention syntax."""
    found = []
    unsafe = _unsafe_pattern().search(text)
    if unsafe:
        code = ord(unsafe[0])
        kind = (
            "lone surrogate"
            if 0xD800 <= code <= 0xDFFF
            else (
                "raw bidi character"
                if unicodedata.category(unsafe[0]) == "Cf"
                else "raw control character"
            )
        )
        found.append((kind, f"U+{code:04X}"))
    if not markup:
        return found
    for match in _MASKED.finditer(text):
        slashes = len(text[: match.start()]) - len(text[: match.start()].rstrip("\\"))
        if slashes % 2 == 0 and _evil_host(match[1]):
            found.append(("masked link to evil.example", match[0][:60]))
            break
    # An address inside one of our link targets is not a link of its own.
    outside = _TARGET.sub(")", text)
    for autolink in _AUTOLINK.finditer(outside):
        if outside[autolink.start() - 1 : autolink.start()] != "\\":
            found.append(("clickable evil.example address", autolink[0]))
            break
    mention = _MENTION.search(text)
    if mention:
        found.append(("raw mention syntax", mention[0]))
    return found


def embed_texts(embed: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(where, text, read as Markdown) for every string of an embed's dict. Discord renders
    links and mentions only in an embed's description and its fields' values; the title, the
    footer and field names are checked for raw characters only."""
    for key in ("title", "description"):
        if embed.get(key):
            yield f"embed {key}", embed[key], key == "description"
    for item in embed.get("fields", []):
        yield "embed field name", item.get("name", ""), False
        yield "embed field value", item.get("value", ""), True
    for key in ("footer", "author"):
        for name, value in (embed.get(key) or {}).items():
            if isinstance(value, str):
                yield f"embed {key} {name}", value, False


# -- attempts and their tally ----------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Errors bot/ logs: an exception its safety nets caught ("could not be read
    (TypeError)") is a crash too, only one that did not reach the user as a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


ERRORS = ErrorLog()  # attached to the "bot" logger while the section runs


@dataclass
class Tally:
    """One category's attempts: how many, which crashed, what users would have seen wrong."""

    name: str
    attempts: int = 0
    refused: int = 0  # ended with a UserError: the one-line message users are meant to get
    # (input, what was raised, where in bot/ it was raised from)
    crashes: list[tuple[str, str, str]] = field(default_factory=list)
    violations: Counter[tuple[str, str]] = field(default_factory=Counter)  # (surface, kind)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)  # first input per kind
    times: list[tuple[float, str]] = field(default_factory=list)  # (seconds, input)
    # Markup a source sent, quoted in terminal text: not clickable nor a ping there; counted
    # apart from the violations.
    terminal_markup: Counter[str] = field(default_factory=Counter)
    # Figures that show the attack reached what was checked (e.g. answers citing a phishing
    # title): zero violations mean little if no hostile text was ever rendered.
    reached: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)  # other figures, one line each
    logged: ErrorLog = field(default_factory=lambda: ERRORS)

    def check(self, label: str, surface: str, text: str, *, markup: bool) -> None:
        for kind, part in problems_in(text, markup=markup):
            self.violations[(surface, kind)] += 1
            self.examples.setdefault((surface, kind), f"{label!r}: {printable(part)}")
        if not markup:
            self.terminal_markup.update(
                kind
                for kind, _ in problems_in(text, markup=True)
                if kind in ("masked link to evil.example", "raw mention syntax")
            )

    def attempt(self, label: str, run: Callable[[], Any], seconds: float = 60.0) -> Any:
        """Run one hostile input within `seconds` (a timer signal ends it where it stands:
        a pattern, a blocking open, a read); its result, or None when it raised."""

        self.attempts += 1
        started = time.perf_counter()
        logged = len(self.logged.records)
        try:
            with finishes_within(seconds, label):
                return run()
        except UserError as error:
            self.refused += 1
            self.check(label, "error message (Discord)", user_message(error), markup=True)
            self.check(label, "error message (CLI)", printable(str(error)), markup=False)
        except TookTooLong:
            self.crashes.append((label, f"still running after {seconds:g} s (cut off)", ""))
        except Exception as error:
            self.crashes.append((label, *_where(error)))
        finally:
            self.times.append((time.perf_counter() - started, label))
            for record in self.logged.records[logged:]:
                caught = record.exc_info[1] if record.exc_info else None
                what, where = _where(caught) if caught else ("", "")
                self.crashes.append(
                    (label, f"logged {record.getMessage()[:80]!r}: {what or 'no exception'}", where)
                )
        return None


def _where(error: BaseException) -> tuple[str, str]:
    """The exception, and the innermost frames of the project's own code it went through."""
    frames = [
        f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} {f.name}"
        for f in traceback.extract_tb(error.__traceback__)
        if f.filename.startswith(str(ROOT / "bot"))
    ]
    return f"{type(error).__name__}: {printable(str(error))[:160]}", " <- ".join(
        reversed(frames[-3:])
    )


# -- the fresh data dir and what it must keep -------------------------------------------------


def build(embeddings: Any) -> Any:
    if DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
    settings = Settings(
        _env_file=None,
        data_dir=DATA_DIR,
        offline=True,
        llm=None,
        exchanges=[],
        allow_private_urls=True,
        fetch_timeout=FETCH_TIMEOUT,
        chroma_idle_seconds=0,  # no server is left running on a folder the next run deletes
    )
    return build_services(settings, embeddings=embeddings)


def snapshot(services: Any) -> dict[str, tuple[str, int]]:
    """Every stored article's id with its fingerprint and chunk count."""
    return {a.id: (a.fingerprint, a.n_chunks) for a in services.store.article_records()}


_ASSETS = ("Ether", "Bitcoin", "Solana", "XRP")
_CAUSES = (
    "spot ETF outflows deepened",
    "leveraged long positions were liquidated",
    "the dollar strengthened after hot payrolls",
    "a large holder moved coins to an exchange",
    "funding rates turned negative",
    "a network upgrade was delayed",
)


def good_body(rng: random.Random, n: int, sentences: int = 4) -> str:
    """A plain, unique news text (its report number makes each one a story of its own)."""
    name = rng.choice(_ASSETS)
    parts = [
        f"{name} fell {rng.randint(2, 19)}% on day {n} of the month to "
        f"${rng.randint(1, 90_000):,} as {rng.choice(_CAUSES)}, according to desk report "
        f"number {n}."
    ]
    for _ in range(sentences - 1):
        parts.append(
            f"Analysts said {rng.choice(_CAUSES)}, and about ${rng.randint(50, 900)} million of "
            f"positions were closed over {rng.randint(2, 48)} hours in report {n}."
        )
    return " ".join(parts)


@dataclass
class Good:
    """Good records hidden among hostile ones: each must be stored afterwards."""

    rng: random.Random
    urls: list[str] = field(default_factory=list)
    made: int = 0
    where: dict[str, str] = field(default_factory=dict)  # url: the file it was hidden in

    def record(self, *, tracked: bool = True) -> dict[str, Any]:
        self.made += 1
        n = self.made
        url = f"https://goodnews.example/mixed/{n}"
        if tracked:
            self.urls.append(url)
        return {
            "title": f"Desk report {n}: market moves",
            "body": good_body(self.rng, 1000 + n),
            "url": url,
            "published_at": f"2025-11-{1 + n % 28:02d}T10:00:00Z",
            "source": "Good Wire",
        }


STORED_URL = "https://goodnews.example/markets/eth-etf-outflows"


# -- hostile files -----------------------------------------------------------------------------


@dataclass
class File:
    name: str | bytes  # bytes: a name that is not UTF-8
    data: bytes


def alias_bomb(depth: int, width: int = 9, where: str = "title") -> bytes:
    lines = ["---", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, depth):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines += [f"{where}: *a{depth - 1}", "---", "", good_text()]
    return "\n".join(lines).encode()


MEGABYTE_LINE = ("bitcoin fell sharply as leveraged longs unwound " * 22_000)[:1_048_576]


def good_text() -> str:
    return "Ether fell 6% on Tuesday as spot ETF outflows deepened and longs were liquidated."


def hostile_files(rng: random.Random, good: Good) -> list[File]:
    files: list[File] = []

    def add(name: str | bytes, data: bytes | str) -> None:
        files.append(File(name, data.encode() if isinstance(data, str) else data))
        for url in good.urls:
            good.where.setdefault(url, printable(os.fsdecode(name)))

    def records(*rows: Any) -> str:
        return json.dumps(list(rows), ensure_ascii=False)

    # YAML alias bombs and huge front matter
    for depth in (4, 6, 8, 10, 12):
        add(f"alias-bomb-{depth}.md", alias_bomb(depth))
    add("alias-bomb-outlet.md", alias_bomb(9, where="source"))
    add(
        "alias-merge.md",
        "---\nbase: &b {title: x, source: y}\n"
        + "\n".join(f"k{i}: {{<<: *b, n: {i}}}" for i in range(2000))
        + "\n---\n"
        + good_text(),
    )
    add(
        "front-matter-2mb.md",
        "---\ntitle: big\nnotes: " + "x" * 2_000_000 + "\n---\n" + good_text(),
    )
    add(
        "front-matter-100k-keys.md",
        "---\n" + "".join(f"k{i}: v\n" for i in range(100_000)) + "---\n" + good_text(),
    )
    add("front-matter-1mb-title.md", "---\ntitle: " + "T" * 1_000_000 + "\n---\n" + good_text())
    # Past the 16 KB front-matter cap, and cheap to embed once read as text.
    add("front-matter-unclosed.md", "---\ntitle: never closed\n" + "k: v\n" * 5_000)
    add("front-matter-deep.md", "---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\n" + good_text())
    add(
        "front-matter-tags.md",
        "---\ntitle: !!python/object/apply:os.system ['echo pwned']\n---\n" + good_text(),
    )
    # patterns' worst cases
    add("heading-4000-spaces.md", "# a" + " " * 4000 + "b\n\n" + good_text())
    add("heading-40000-spaces.md", "# a" + " " * 40_000 + "b\n\n" + good_text())
    add("heading-hashes.md", "#" * 20_000 + " x\n" + good_text())
    add("brackets-20000.md", "# t\n" + "[" * 20_000 + "\n" + good_text())
    add("brackets-20000.txt", "[" * 20_000)
    add("link-openers.md", "# t\n" + "](" * 20_000 + "\n" + good_text())
    add("images.md", "# t\n" + "![" * 20_000 + "\n" + good_text())
    add("nested-links.md", "# t\n" + "[a](" * 10_000 + "\n" + good_text())
    # Runs of the characters number, money, date and Markdown patterns read: 100,000 of them
    # in a heading, a title, an outlet, a date and a link, where every pattern sees them and
    # none of them is embedded; in an article's text (embedded: ~30 chunks each) only for the
    # four the probe named, 20,000 long.
    for char, label in (
        (".", "dots"),
        ("$", "dollars"),
        ("9", "digits"),
        (" ", "spaces"),
        ("%", "percents"),
        ("-", "dashes"),
        ("*", "stars"),
        ("_", "underscores"),
        ("<", "angles"),
        ("\\", "slashes"),
        ("#", "hashes"),
        ("\t", "tabs"),
        ("1,", "thousands"),
        ("1.", "decimals"),
        ("$1,", "money"),
        ("2025-", "dates"),
        ("Nov ", "months"),
        ("e1", "exponents"),
        ("a ", "words"),
        ("[", "brackets"),
    ):
        run = (char * (100_000 // len(char)))[:100_000]
        add(f"run-{label}.md", "# Ether " + run + "\n\n" + good_text())
        add(
            f"run-{label}.json",
            records(
                {
                    "title": "Ether " + run,
                    "body": good_text(),
                    "source": run,
                    "published_at": run,
                    "url": "https://runs.example/" + run,
                }
            ),
        )
        if label in ("dots", "dollars", "digits", "spaces"):
            add(f"run-{label}.txt", "Ether fell 5% " + run[:20_000] + " as funds bled.")
    # A 1 MB line: its text is cut at the article cap (~290 chunks, the section's largest cost);
    # the other megabyte-sized inputs below repeat its words, so they are duplicates of it once
    # cut and cost no embedding.
    add("single-line-1mb.txt", MEGABYTE_LINE)
    add("single-line-1mb-nospace.txt", "Ether fell. " + "a" * 1_048_576)
    add(
        "single-line-1mb.json",
        records(
            {"title": "One long line", "body": MEGABYTE_LINE, "url": "https://longline.example/1"}
        ),
    )
    # binary, NUL, broken encodings
    add("random.bin.txt", rng.randbytes(65_536))
    add("nuls.txt", b"\x00" * 10_000)
    add("nul-inside.txt", b"Ether fell 5%\x00 on Tuesday\x00 as funds bled. " * 50)
    add("png.md", b"\x89PNG\r\n\x1a\n" + rng.randbytes(4096))
    add("elf.json", b"\x7fELF\x02\x01\x01" + rng.randbytes(4096))
    add("bad-utf8.txt", b"Ether fell \xff\xfe 5% \xc3\x28 \xa0\xa1 \xe2\x28\xa1 on Tuesday. " * 40)
    add(
        "overlong-utf8.md", b"# Ether \xc0\xaf\xe0\x80\xaf\n\nEther fell 5% \xf8\x88\x80\x80\x80 x."
    )
    add("surrogates-utf8.txt", b"Ether \xed\xa0\x80\xed\xbf\xbf fell 5% on Tuesday as funds bled.")
    add("truncated-utf8.txt", "Ether fell 5% on Tuesday — as funds bled €".encode()[:-1])
    add(
        "latin1.csv",
        "title,body\nÉther chute,Ether a chuté de 5 % mardi à cause des ETF.\n".encode("latin-1"),
    )
    text16 = "Ether fell 5% on Tuesday as spot ETF outflows deepened across the market."
    add("utf16le-bom.txt", b"\xff\xfe" + text16.encode("utf-16-le"))
    add("utf16be-bom.txt", b"\xfe\xff" + text16.encode("utf-16-be"))
    add("utf16le-nobom.txt", text16.encode("utf-16-le"))
    add("utf16-odd.txt", b"\xff\xfe" + text16.encode("utf-16-le")[:-1])
    add("utf16-lone-surrogate.txt", b"\xff\xfe" + text16.encode("utf-16-le") + b"\x00\xd8")
    add("utf32.txt", text16.encode("utf-32"))
    add("utf7.txt", b"+/v8-Ether fell 5% on Tuesday +AGEAYQ- as funds bled from the market.")
    # deeply nested JSON and JSON scalars
    add("nested-100k.json", "[" * 100_000 + "]" * 100_000)
    add("nested-objects.json", '{"a":' * 50_000 + "1" + "}" * 50_000)
    add("nested-unclosed.json", "[" * 200_000)
    nested = '{"a":' * 5_000 + '"CoinDesk"' + "}" * 5_000
    add(
        "nested-source-info.json",
        "["
        + ",".join(
            [
                json.dumps(good.record()),
                json.dumps(
                    {
                        "title": "Nested outlet",
                        "body": good_text() + " Nested.",
                        "url": "https://goodnews.example/nested-host",
                    }
                )[:-1]
                + ', "source_info": '
                + nested
                + "}",
                json.dumps(good.record()),
            ]
        )
        + "]",
    )
    add("nested-body.json", records(good.record(), {"title": "deep", "body": [[[[[["x"]]]]]] * 2}))
    for scalar in (
        "null",
        "42",
        '"just a string"',
        "true",
        "1e999",
        "NaN",
        "-",
        "-Infinity",
        "[]",
        "{}",
        "[null]",
        '[42, "x", null, []]',
        '{"Data": null}',
        '{"Data": [null, 1, "x"]}',
        '{"articles": "x"}',
        '{"title": null}',
        "0" * 5000,
    ):
        add(f"scalar-{len(files)}.json", scalar)
    add("null.txt", "null")
    add(
        "jsonl-mixed.jsonl",
        "\n".join(
            [
                json.dumps(good.record()),
                "{broken",
                "null",
                json.dumps(good.record()),
                "[1,2",
                '{"title": "' + "[" * 50_000 + '"}',
                json.dumps(good.record()),
            ]
        ),
    )
    add(
        "jsonl-huge-line.jsonl",
        json.dumps(good.record())
        + "\n"
        + json.dumps({"title": "3 MB", "body": MEGABYTE_LINE * 3})
        + "\n"
        + json.dumps(good.record()),
    )
    # CSV
    add(
        "csv-stray-quotes.csv",
        "title,body,url\n"
        + "\n".join(
            [
                ",".join(json.dumps(v) for v in (r["title"], r["body"], r["url"]))
                for r in (good.record(), good.record())
            ]
        )
        + '\nEther "fell,Ether fell 5% "on" Tuesday as ETF "outflows deepened,https://q.example/1\n',
    )
    add("csv-unterminated.csv", 'title,body\n"Ether fell,"never closed ' + "x" * 500_000)
    rows = [good.record(), good.record()]
    add(
        "csv-huge-cell.csv",
        "title,body,url\n" + f'{rows[0]["title"]},"{rows[0]["body"]}",'
        f"{rows[0]['url']}\n"
        + 'Huge cell,"'
        + MEGABYTE_LINE * 11
        + '",https://q.example/2\n'
        + f'{rows[1]["title"]},"{rows[1]["body"]}",{rows[1]["url"]}\n',
    )
    add(
        "csv-10k-columns.csv",
        ",".join(["title", "body", *[f"c{i}" for i in range(10_000)]])
        + "\nEther falls,Ether fell 5% on Tuesday as funds bled.,"
        + "," * 10_000,
    )
    add("csv-header-only.csv", "title,body,url\n")
    add("csv-nul.csv", "title,body\nEther\x00falls,Ether fell 5%\x00 on Tuesday as funds bled.\n")
    add("csv-semicolons.csv", "title;body\n" + ";" * 50_000 + "\n")
    # masked links, mentions, controls and bidi in titles and outlets
    for n, (title, outlet) in enumerate(
        [
            (ATTACK, SUPPORT),
            (f"Ether \x1b[2J\u202eslides [Verify](https://{EVIL}/t) as ETH funds bleed", SUPPORT),
            (f"ETH crash {' '.join(MENTIONS)}", f"Outlet {MENTIONS[2]} \u202eevil\u202c"),
            ("Ether falls " + CONTROLS[1], "\x1b[31mCoinDesk\x1b[0m"),
            (f"\u202e{ATTACK[::-1]}", f"\u2066{SUPPORT}\u2069"),
            (f"[](https://{EVIL}/empty) ETH falls", f"<https://{EVIL}/a>"),
            (f"**ETH** falls ||spoiler|| # heading > quote `code` https://{EVIL}/raw", "@here"),
            (f"ETH falls [x](<https://{EVIL}/angle>)", f"[Support](https://{EVIL}/s 'title')"),
            ("ETH \x9b2J falls \x85 \x00 again", "\x7fOutlet\x08"),
            (f"ETH falls \\[escaped](https://{EVIL}/e)", "\\" * 20),
        ]
    ):
        body = good_body(rng, 500 + n) + f" {ATTACK} {' '.join(MENTIONS)} {CONTROLS[0]}"
        row = {
            "title": title,
            "body": body,
            "url": f"https://news.example/hostile/{n}",
            "published_at": "2098-11-04T12:00:00Z",
            "source": outlet,
            "currencies": ["ETH"],
        }
        add(f"hostile-title-{n}.json", records(row))
        add(
            f"hostile-title-{n}.md",
            "---\n" + f"title: {json.dumps(title)}\nsource: "
            f"{json.dumps(outlet)}\nurl: https://news.example/hostile-md/{n}\n"
            f"date: 2098-11-04\n---\n\n{body}\n",
        )
    add(
        "hostile-link.json",
        records(
            {"title": "Ether slides on liquidations", "body": good_body(rng, 600), "url": PHISH_URL}
        ),
    )
    add(
        "hostile-links.json",
        records(
            *[
                {"title": f"link {n}", "body": good_body(rng, 610 + n), "url": url}
                for n, url in enumerate(
                    [
                        "javascript:alert(1)",
                        "data:text/html,<script>x</script>",
                        "file:///etc/passwd",
                        f"https://{EVIL}@news.example/u",
                        "https://news.example/\x1b[2J",
                        "http://[::1/x",
                        "https://news.example/" + "a" * 5000,
                        f"https://news.example/\u202e{EVIL}",
                        "https://xn--80ak6aa92e.com/apple",
                        "https://news.example:99999/p",
                    ]
                )
            ]
        ),
    )
    add(
        "hostile-title.html",
        f"<html><head><title>{ATTACK}</title><meta property='og:site_name'"
        f" content='{SUPPORT}'><meta property='article:published_time' content='2098-11-04'>"
        f"</head><body><article><h1>{ATTACK} \u202e</h1><p>{good_body(rng, 620)}</p>"
        f"<p>{' '.join(MENTIONS)}</p></article></body></html>",
    )
    # dates
    for n, when in enumerate(
        [
            "2098-11-04T12:00:00Z",
            "Tue, 04 Nov 2098 12:00:00 GMT",
            "4102444800",
            "10000-01-01",
            "0000-00-00",
            "-62135596800",
            "Nov 4 10000",
            "1e308",
            "9" * 400,
            "2025-02-30",
        ]
    ):
        add(
            f"date-{n}.json",
            records(
                {
                    "title": f"Dated {n}",
                    "body": good_body(rng, 700 + n),
                    "url": f"https://dates.example/{n}",
                    "published_at": when,
                }
            ),
        )
    # thinner versions of a stored article, and items sharing one link
    add(
        "headline-only-utm.json",
        records(
            {
                "title": "Ether ETFs bleed",
                "body": "Ether ETFs bleed as investors pull money.",
                "url": STORED_URL + "?utm_source=gn",
            }
        ),
    )
    add(
        "headline-only.csv",
        f"title,body,url\nEther ETFs bleed,Ether ETFs bleed $287 million.,"
        f"{STORED_URL}?utm_medium=social&utm_source=x\n",
    )
    add(
        "summary-only.md",
        f"---\ntitle: Ether ETFs bleed\nurl: {STORED_URL}#top\n---\n\n"
        "Ether fell as spot ETFs bled $287 million, the largest outflow since launch.\n",
    )
    add(
        "junk-body.json",
        records(
            {
                "title": "Subscribe",
                "url": STORED_URL,
                "body": "Subscribe to read this article. Sign in or create a free account.",
            }
        ),
    )
    add(
        "five-one-url.json",
        records(
            *[
                {
                    "title": f"Story {n} of five",
                    "body": good_body(rng, 800 + n),
                    "url": "https://shared.example/same",
                }
                for n in range(5)
            ]
        ),
    )
    add(
        "five-one-url-utm.json",
        records(
            *[
                {
                    "title": f"Variant {n}",
                    "body": good_body(rng, 810 + n),
                    "url": f"https://shared.example/utm?utm_source={n}",
                }
                for n in range(5)
            ]
        ),
    )
    # odd names, each holding good records
    for raw in (
        b"news-\xff\xfe.json",
        b"\x1b[31mred\x1b[0m.json",
        "bidi-\u202egnp.json".encode(),
        b"new\nline.json",
        b"@everyone [x](https:__evil.example_n).json",
    ):
        add(raw, records(good.record()))
    # the rest: HTML and XML oddities, empty files
    add("empty.txt", "")
    add("whitespace.md", " \n\t\n" * 1000)
    add("bom-only.txt", b"\xef\xbb\xbf")
    add("script-only.html", "<html><script>" + "x" * 100_000 + "</script></html>")
    add("nested-divs.html", "<html><body>" + "<div>" * 100_000 + good_text() + "</body></html>")
    add(
        "billion-laughs.html",
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "&lol;" * 10}">' for i in range(9)
        )
        + "]><html><body><p>&lol8;</p></body></html>",
    )
    add("feed.xml", "<?xml version='1.0'?>" + "<!-- -->" * 200 + "<rss><channel/></rss>")
    add("comments.html", "<!--" * 50_000)
    add("attributes.html", "<p " + "a=1 " * 100_000 + ">" + good_text())
    # mutants: good records with random damage (seeded), at links of their own
    # (a mutant may lose its records: they are not counted as good)
    base = records(
        *[{**good.record(tracked=False), "url": f"https://mutant.example/{n}"} for n in range(2)]
    )
    for n in range(24):
        data = bytearray(base.encode())
        for _ in range(rng.randint(1, 40)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[at] = rng.randrange(256)
            elif choice < 0.7:
                data[at:at] = rng.choice(
                    [*MENTIONS, *CONTROLS, *BIDI, ATTACK, "[", '"', "{"]
                ).encode()
            else:
                del data[at : at + rng.randint(1, 50)]
        add(f"mutant-{n}.json", bytes(data))
    return files


def write_files(folder: Path, files: list[File]) -> list[Path]:
    paths = []
    for file in files:
        name = file.name if isinstance(file.name, bytes) else file.name.encode()
        raw = os.path.join(os.fsencode(folder), name.replace(b"/", b"_"))
        with open(raw, "wb") as stream:
            stream.write(file.data)
        paths.append(Path(os.fsdecode(raw)))
    return paths


_SPECIAL_PROBE = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from pathlib import Path
from bot.core.sources import load_path
result = load_path(Path(sys.argv[1]))
print(json.dumps({"documents": len(result.documents), "problems": result.problems}))
"""


def probe_special(path: str) -> str | None:
    """Load a FIFO or device in a child process with 1 GB and 20 s: what it did wrong, or None
    when it refused the file in time (only then is it sent to this process's ingestion)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SPECIAL_PROBE, path],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "load_path still running after 20 s in a child process"
    if done.returncode != 0:
        return f"load_path failed in a child process: {done.stderr.strip().splitlines()[-1:]}"
    return None


@contextlib.contextmanager
def special_files(folder: Path) -> Iterator[list[Path]]:
    """A FIFO nobody writes to, a socket, devices and symlinks to them; the socket closed and
    the FIFO released (opened for writing once) afterwards."""
    fifo = folder / "pipe.json"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "socket.txt"))
    (folder / "zero.json").symlink_to("/dev/zero")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    (folder / "folder.json").mkdir()
    try:
        yield [
            fifo,
            folder / "socket.txt",
            Path("/dev/zero"),
            Path("/dev/urandom"),
            folder / "zero.json",
            folder / "loop.md",
            folder / "folder.json",
            folder / "missing.json",
        ]
    finally:
        sock.close()
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


# -- a local server for what the test servers do not serve ------------------------------------


def _article_page(title: str, body: str, *, outlet: str = "Local Wire", when: str = "") -> bytes:
    published = f"<meta property='article:published_time' content='{when}'>" if when else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta property='og:site_name' content='{outlet}'>{published}</head><body><article>"
        f"<h1>{title}</h1>"
        + "".join(f"<p>{p}</p>" for p in body.split(". "))
        + "</article></body></html>"
    ).encode()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip_body: float = 0.0  # > 0: the body a byte this often, after the headers at once
    length: bool = True  # send a Content-Length


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a bomb or a drip is the point, not news


class HostileSite:
    """Pages the test servers lack (gzip bombs, oversize bodies, bad headers, hostile titles,
    a page that shrinks), on 127.0.0.1 only; `routes` may change while it runs."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                answer = site.routes.get(self.path.split("?", 1)[0], Reply(404, b"missing"))
                self.close_connection = True
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.length:
                        self.send_header("Content-Length", str(len(answer.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if answer.drip_body <= 0:
                        self.wfile.write(answer.body)
                        return
                    for position in range(len(answer.body)):
                        self.wfile.write(answer.body[position : position + 1])
                        self.wfile.flush()
                        if site.stopping.wait(answer.drip_body):
                            return
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> HostileSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def hostile_routes(rng: random.Random) -> dict[str, Reply]:
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    html_bomb = gzip.compress(b"<p>" + b"a" * (64 << 20), compresslevel=9)
    feed = "<?xml version='1.0'?><rss version='2.0'><channel><title>z</title>{}</channel></rss>"
    big = _article_page("Big", "Ether fell. " * 600_000)
    line = (
        "<html><head><title>One line</title></head><body><article><p>"
        + MEGABYTE_LINE
        + "</p></article></body></html>"
    ).encode()
    return {
        "/gzip-bomb": Reply(body=html_bomb, headers={**HTML, "Content-Encoding": "gzip"}),
        "/gzip-bomb-undeclared": Reply(body=bomb, headers=HTML),
        "/gzip-bomb.rss": Reply(
            body=gzip.compress(feed.encode() + b" " * (32 << 20)),
            headers={**RSS, "Content-Encoding": "gzip"},
        ),
        "/deflate-bomb": Reply(body=bomb, headers={**HTML, "Content-Encoding": "deflate"}),
        "/oversized": Reply(body=big, headers=HTML),
        "/oversized-unframed": Reply(body=big, headers=HTML, length=False),
        "/oversized.rss": Reply(
            body=feed.format(
                "<item><title>x</title><description>" + "y" * (6 << 20) + "</description></item>"
            ).encode(),
            headers=RSS,
        ),
        "/single-line": Reply(body=line, headers=HTML),
        "/hostile-title": Reply(
            body=_article_page(
                ATTACK,
                good_body(rng, 900) + " " + " ".join(MENTIONS),
                outlet=SUPPORT,
                when="2098-11-04T12:00:00Z",
            ),
            headers=HTML,
        ),
        "/control-title": Reply(
            body=_article_page(
                "Ether \x1b[2J\x1b]8;;https://evil.example/o\x07slides\u202e as ETH funds bleed",
                good_body(rng, 901),
                outlet="\x1b[31mWire\u202e",
            ),
            headers=HTML,
        ),
        "/control-header": Reply(
            body=_article_page("ETH", good_body(rng, 902)),
            headers={"Content-Type": "text/html; charset=\x1b[2J"},
        ),
        "/charset-bomb": Reply(
            body=_article_page("ETH", good_body(rng, 903)),
            headers={"Content-Type": "text/html; charset=" + "a" * 20_000},
        ),
        "/charset-utf7": Reply(
            body=b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-" * 20,
            headers={"Content-Type": "text/html; charset=utf-7"},
        ),
        "/charset-unknown": Reply(
            body=_article_page("ETH", good_body(rng, 904)),
            headers={"Content-Type": "text/html; charset=x-evil-9"},
        ),
        "/many-headers": Reply(
            body=_article_page("ETH", good_body(rng, 905)),
            headers={**HTML, **{f"X-H{i}": "v" * 50 for i in range(2000)}},
        ),
        "/huge-header": Reply(body=b"", headers={**HTML, "X-Big": "v" * 300_000}),
        "/huge-location": Reply(302, headers={"Location": "/" + "a" * 100_000}),
        "/location-controls": Reply(302, headers={"Location": "/x\x1b[2J\x85\x9b"}),
        "/status-999": Reply(999, _article_page("ETH", good_body(rng, 906)), HTML),
        "/status-299": Reply(299, _article_page("ETH", good_body(rng, 907)), HTML),
        "/no-content-type": Reply(body=_article_page("Untyped", good_body(rng, 908))),
        "/json-type": Reply(
            body=_article_page("Typed", good_body(rng, 909)),
            headers={"Content-Type": "application/json"},
        ),
        "/drip-body": Reply(
            body=_article_page("ETH", good_body(rng, 910)), headers=HTML, drip_body=0.25
        ),
        "/lying-length": Reply(
            body=_article_page("ETH", good_body(rng, 911)),
            headers={**HTML, "Content-Length": "10"},
            length=False,
        ),
        "/nested": Reply(
            body=b"<html><body>" + b"<div>" * 200_000 + b"</body></html>", headers=HTML
        ),
        "/random-bytes": Reply(body=rng.randbytes(200_000), headers=HTML),
        "/utf16-page": Reply(
            body=_article_page("ETH", good_body(rng, 912)).decode().encode("utf-16"),
            headers={"Content-Type": "text/html"},
        ),
    }


# -- hostile feeds -----------------------------------------------------------------------------


def rss(title: str, items: list[dict[str, str]], extra: str = "") -> bytes:
    """An RSS document; every value is escaped text but content:encoded, which is CDATA."""
    body = "".join(
        "<item>"
        + "".join(
            f"<{k}>{xml_escape(v)}</{k}>"
            if k != "content:encoded"
            else f"<content:encoded><![CDATA[{v}]]></content:encoded>"
            for k, v in item.items()
        )
        + "</item>"
        for item in items
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        + extra
        + "<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
        f"<channel><title>{xml_escape(title)}</title><link>https://wire.example/</link>"
        f"<description>d</description>{body}</channel></rss>"
    ).encode()


def hostile_feeds(rng: random.Random, site: HostileSite, stored_page: str) -> dict[str, bytes]:
    def item(n: int, **fields: str) -> dict[str, str]:
        return {
            "title": f"Wire item {n}",
            "link": f"https://wire.example/{n}",
            "guid": f"https://wire.example/{n}",
            "pubDate": f"{1 + n % 28:02d} Nov 2025 10:00:00 GMT",
            "content:encoded": good_body(rng, 2000 + n),
            **fields,
        }

    laughs = (
        "<!DOCTYPE rss [<!ENTITY a 'lol'>"
        + "".join(f"<!ENTITY {chr(98 + i)} '{('&' + chr(97 + i) + ';') * 10}'>" for i in range(9))
        + "]>"
    )
    return {
        "/big300.rss": rss(
            "Three hundred",
            [
                item(n, **{"content:encoded": f"Bitcoin traded sideways in market wrap {n}."})
                for n in range(300)
            ],
        ),
        "/phish.rss": rss(
            SUPPORT,
            [
                item(
                    400 + n,
                    title=ATTACK,
                    link=link,
                    guid=link,
                    pubDate="Tue, 04 Nov 2098 12:00:00 GMT",
                    description=f"{ATTACK} {' '.join(MENTIONS)}",
                )
                for n, link in enumerate(
                    [PHISH_URL, "https://news.example/p1", "javascript:alert(1)"]
                )
            ],
        ),
        "/controls.rss": rss(
            "Wire \x1b[2J\u202e\x9b",
            [
                item(420 + n, title=f"ETH {c} falls {b}", author=f"{c}Author{b}")
                for n, (c, b) in enumerate(zip(CONTROLS, BIDI * 2, strict=False))
            ],
        ),
        "/mentions.rss": rss(
            f"Mentions {' '.join(MENTIONS)}",
            [
                item(440 + n, title=f"ETH falls {m}", description=f"{m} claim now")
                for n, m in enumerate(MENTIONS)
            ],
        ),
        "/same-guid.rss": rss(
            "Same GUID",
            [item(460 + n, guid="urn:same", link="https://wire.example/same") for n in range(5)],
        ),
        "/thin-stored.rss": rss(
            "Thin copies",
            [
                {
                    "title": "Ether ETFs bleed",
                    "link": stored_page + "?utm_source=rss",
                    "description": "Ether ETFs bled.",
                },
                {"title": "Ether ETFs bleed", "link": STORED_URL, "description": "ETH ETFs bleed."},
                {
                    "title": "Ether ETFs bleed",
                    "link": STORED_URL + "?utm_source=feed",
                    "content:encoded": "Ether ETFs bleed as money leaves.",
                },
            ],
        ),
        "/dates.rss": rss(
            "Dates",
            [
                item(480 + n, pubDate=when)
                for n, when in enumerate(
                    [
                        "Tue, 04 Nov 2098 12:00:00 GMT",
                        "Nov 4 10000",
                        "Sat, 01 Jan 10000 00:00:00 GMT",
                        "garbage",
                        "-1",
                        "Tue, 31 Feb 2025 25:61:61 GMT",
                        "9" * 300,
                    ]
                )
            ],
        ),
        "/dripping-links.rss": rss(
            "Links that drip",
            [
                item(
                    500 + n,
                    link=site.url("/drip-body"),
                    **{"content:encoded": ""},
                    description="short",
                )
                for n in range(3)
            ],
        ),
        "/huge-item.rss": rss("Huge item", [item(520, **{"content:encoded": MEGABYTE_LINE * 3})]),
        "/broken-xml.rss": b"<?xml version='1.0'?><rss><channel><title>Half</title><item><title>"
        + b"\xff\xfe<<<&&&" * 100,
        # Titles that are entity references: a billion laughs, and a file read (XXE).
        "/laughs.rss": rss("Laughs", [item(540, title="&j;")], extra=laughs).replace(
            b"&amp;j;", b"&j;"
        ),
        "/xxe.rss": rss(
            "XXE",
            [item(541, title="&x;")],
            extra="<!DOCTYPE rss [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>",
        ).replace(b"&amp;x;", b"&x;"),
        "/deep.rss": b"<?xml version='1.0'?><rss><channel>"
        + b"<x>" * 100_000
        + b"</channel></rss>",
        "/atom.xml": (
            "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title type='html'>&lt;a href='https://{EVIL}'&gt;{SUPPORT}&lt;/a&gt;</title>"
            + "".join(
                f"<entry><title type='html'>&lt;b&gt;{ATTACK}&lt;/b&gt; {n}</title>"
                f"<id>urn:e{n}</id><link href='https://atom.example/{n}'/>"
                f"<updated>2098-11-04T00:00:00Z</updated><content type='html'>"
                f"&lt;p&gt;{good_body(rng, 560 + n)}&lt;/p&gt;</content></entry>"
                for n in range(3)
            )
            + "</feed>"
        ).encode(),
    }


# -- hostile questions -------------------------------------------------------------------------

_BASES = (
    "why did ETH fall 14%?",
    "why did bitcoin drop",
    "what happened to solana",
    "eth airdrop?",
    "binance support",
    "whats the latest",
    "why did XRP pump",
    "why did crypto crash on Nov 4",
    "what moved ether this week",
    "why is the market red",
    "claim airdrop",
    "verify wallet",
)
_SLANG = (
    "eth dumpin hard rn wtf??",
    "btc rekt why",
    "y sol down bad fam",
    "wen moon ser",
    "ser why eth -14% 😭😭",
    "ngmi lol why did doge tank",
    "gm why is crypto bleeding",
    "bruh ETH -9 % ???",
    "is it over for eth",
    "who sold lmao",
    "eth 📉📉📉 why",
    "sol ded?",
)
_MARKDOWN = (
    "**why** did ETH fall?",
    "# why did ETH fall",
    f"[why](https://{EVIL}/q) did ETH fall?",
    "`ETH` fell ||why||",
    "> why did ETH fall",
    "~~ETH~~ why",
    "_why_ did __ETH__ fall",
    "```py\nwhy eth\n```",
    "- why\n- did ETH fall",
    f"<https://{EVIL}/x> eth?",
    "[1] [2](x) eth",
    "\\[x](y) why eth",
    "## ETH\n### fell",
    "1. why 2. eth",
)
_SPECIAL = (
    "why did ETH fall 1e308%?",
    "why did ETH fall 1e308 %",
    "ETH -1e308%",
    "ETH fell 99999999999999999999%",
    "ETH fell NaN%",
    "ETH fell inf%",
    "ETH fell -0%",
    "why did eth fall 14.0000000000000001%",
    "why did ETH fall on Nov 4 10000",
    "Nov 4 10000",
    "Nov 4 0000",
    "Feb 30 2025 eth",
    "eth on 2025-13-45",
    "on 31/31/31",
    "in the year 99999",
    "Nov 4 2098 eth",
    "10000-01-01 eth",
    "1970-01-01 btc",
    "week 53 2025",
    "ETH 14%%%%",
    "ETH fell 14% 15% 16% 17% 18% 19% 20%",
    "0x7fffffff% eth",
    "ETH fell ٣٤%",
    "ETH fell 14 ％",
)


def worst_strings() -> list[str]:
    runs = [
        "[",
        "(",
        "](",
        "1",
        ".",
        "$",
        " ",
        "a ",
        "1.",
        "1,",
        "%",
        "-",
        "#",
        "*",
        "_",
        "<",
        "@",
        "Nov ",
        "2025-",
        "ETH ",
        "why ",
        "e",
        "1e",
        "0.",
        "$1,",
        "\u202e",
        "\x1b[",
        "\\",
        "'",
        '"',
        "ETH fell 14% ",
        "fell ",
        "why did ETH fall ",
        "9%",
        "<@1>",
        "@everyone ",
    ]
    strings = [(run * 500)[:500] for run in runs]
    strings += ["9" * 498 + "%?", " " * 499 + "a", "a" * 500, "a" * 501, "ETH " * 126]
    return strings


def random_unicode(rng: random.Random) -> str:
    ranges = [
        (0x20, 0x7E),
        (0x80, 0x2FF),
        (0x300, 0x36F),
        (0x590, 0x6FF),
        (0x2000, 0x206F),
        (0x4E00, 0x4FFF),
        (0x1F300, 0x1F6FF),
        (0xD800, 0xDFFF),
        (0xE000, 0xF8FF),
        (0xFFF0, 0xFFFF),
        (0x0, 0x1F),
        (0x10000, 0x10FFFF),
    ]
    chars = []
    for _ in range(rng.randint(1, 120)):
        low, high = rng.choice(ranges)
        chars.append(chr(rng.randint(low, high)))
    return "".join(chars)


def hostile_questions(rng: random.Random, count: int) -> list[tuple[str, str | None]]:
    """(question, the earlier question it follows up, if any)."""
    pools = [_SLANG, _MARKDOWN, MENTIONS, CONTROLS, BIDI, _SPECIAL]
    fixed = [
        *_BASES,
        *_SLANG,
        *_MARKDOWN,
        *_SPECIAL,
        *worst_strings(),
        *(f"{m} why did ETH fall?" for m in MENTIONS),
        *(f"why did ETH {c}fall{b}?" for c in CONTROLS for b in BIDI[:2]),
        "",
        "   ",
        "\n\n",
        "\x00",
        "\u200b",
        "e\u0301" * 200,
        "ЕТН fell?",
        "ＥＴＨ fell?",
        "eth" + "\u0336" * 300,
        "\ufeffwhy eth",
        "why\u2028did\u2029eth",
    ]
    questions: list[tuple[str, str | None]] = [(q, None) for q in fixed]
    while len(questions) < count:
        roll = rng.random()
        if roll < 0.2:
            text = random_unicode(rng)
        elif roll < 0.3:
            text = rng.choice(worst_strings())[: rng.randint(1, 500)]
        else:
            parts = [rng.choice(_BASES)] + [
                rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 4))
            ]
            rng.shuffle(parts)
            text = " ".join(parts)
        earlier = rng.choice(questions)[0] if rng.random() < 0.05 else None
        questions.append((text, earlier))
    return questions[:count]


# -- checking what users see ------------------------------------------------------------------


def carries_markup(text: str) -> bool:
    """Whether a source's own text holds a masked link to evil.example or a mention."""
    kinds = {kind for kind, _ in problems_in(text, markup=True)}
    return bool(kinds & {"masked link to evil.example", "raw mention syntax"})


def check_answer(tally: Tally, label: str, answer: Any) -> None:
    sources = [answer.answer, *(f"{c.title}\n{c.outlet}\n{c.quote}" for c in answer.citations)]
    if carries_markup("\n".join(sources)):
        tally.reached["answers quoting or citing a link or a mention from a source"] += 1
    tally.check(label, "answer (CLI/console)", printable(answer_text(answer)), markup=False)
    for name, render in (("answer", answer_embed), ("Sources button", quotes_embed)):
        for where, text, markup in embed_texts(render(answer).to_dict()):
            tally.check(label, f"{name} {where}", text, markup=markup)


def check_report(tally: Tally, label: str, report: Any) -> None:
    """The ingestion report as Discord's /news commands and the CLI's `ingest` show it."""
    tally.check(label, "report (Discord)", report_text(report), markup=True)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.suppress(Exception):
        _print_report(report, False)  # typer.Exit(1) when a file yielded nothing
    tally.check(label, "report (CLI)", printed.getvalue(), markup=False)


def check_feed(tally: Tally, label: str, feed: Any, poll: Any) -> None:
    """A feed as /news feeds add and list show it (made the way the cog makes them) and as
    the CLI's `feeds add` and `feeds poll` print it."""
    if carries_markup(feed.title or ""):
        tally.reached["feed titles holding a link or a mention"] += 1
    name = inline_markdown(feed.title, 100) if feed.title else link_or_text(feed.url)
    lines = [name, link_or_text(feed.url), inline_markdown(feed.last_error or "", 200)]
    lines += [inline_markdown(p, 300) for p in getattr(poll, "problems", [])[:5]]
    tally.check(label, "feed lines (Discord)", "\n".join(lines), markup=True)
    cli = [f"Added {feed.url} ({feed.title or 'untitled'})"]
    if poll is not None and not isinstance(poll, Exception):
        cli += [_poll_line(poll), *(f"  - {p}" for p in poll.problems)]
    tally.check(label, "feed lines (CLI)", printable("\n".join(cli)), markup=False)


# -- the section -------------------------------------------------------------------------------


def run(embeddings: Any | None = None) -> None:
    """Build a fresh store, attack it through every entry point, print the table."""
    print("== adversarial inputs (fresh store, local servers on 127.0.0.1 only, seeded RNG)")
    started = time.perf_counter()
    rng = random.Random(SEED)
    folder = Path(tempfile.mkdtemp(prefix="marketbot-adversarial-"))
    tallies: list[Tally] = []
    services = None
    logging.getLogger("bot").addHandler(ERRORS)
    try:
        with LocalSite() as site, FeedServer() as feeds, HostileSite() as hostile:
            hostile.routes.update(hostile_routes(rng))
            stored_page = hostile.url("/stored-article")
            story = good_body(rng, 1, 12)
            hostile.routes["/stored-article"] = Reply(
                body=_article_page("Ether ETFs bleed for a sixth day", story), headers=HTML
            )
            services = build(embeddings or MiniLMEmbeddings())
            kept, good = seed(services, rng, folder, site, stored_page)
            print(
                f"   before: {len(kept)} articles stored "
                f"({time.perf_counter() - started:.0f} s with the model and the store)"
            )
            phases: list[tuple[str, Callable[[], Tally]]] = [
                ("files", lambda: attack_files(services, rng, folder, good)),
                ("uploads", lambda: attack_uploads(services, rng)),
                ("pages", lambda: attack_pages(services, site, hostile, stored_page)),
                ("feeds", lambda: attack_feeds(services, rng, feeds, hostile, stored_page)),
                ("questions", lambda: attack_questions(services, rng)),
                ("listing", lambda: attack_listing(services)),
            ]
            for name, phase in phases:
                if name == "pages":  # the stored page now serves a third of its story
                    hostile.routes["/stored-article"] = Reply(
                        body=_article_page("Ether ETFs bleed", story[: len(story) // 3]),
                        headers=HTML,
                    )
                phase_started = time.perf_counter()
                tallies.append(phase())
                print(
                    f"   {tallies[-1].name}: {tallies[-1].attempts} attempts in "
                    f"{time.perf_counter() - phase_started:.0f} s"
                )
            lost = data_lost(services, kept, good)
    finally:
        logging.getLogger("bot").removeHandler(ERRORS)
        if services is not None:
            services.close()
        shutil.rmtree(folder, ignore_errors=True)
    print_table(tallies)
    for line in lost[:10]:
        print(f"   lost: {line}")
    print(
        f"   data lost: {len(lost)} of {len(kept) + len(good.urls)} articles "
        f"({len(kept)} stored before the attack, {len(good.urls)} good records among the "
        f"hostile ones); {time.perf_counter() - started:.0f} s in all\n"
    )


def seed(
    services: Any, rng: random.Random, folder: Path, site: Any, stored_page: str
) -> tuple[dict[str, tuple[str, int]], Good]:
    """The bundled corpus (seeded by build), the test fixtures, a long article at STORED_URL
    and one page fetched from the local server: what the attack must leave as it was."""

    full = folder / "stored.json"
    full.write_text(
        json.dumps(
            [
                {
                    "title": "Ether ETFs bleed $287 million as outflows hit a sixth day",
                    "body": good_body(rng, 0, 10),
                    "url": STORED_URL,
                    "published_at": "2025-11-18T14:30:00Z",
                    "source": "Good Wire",
                }
            ]
        )
    )
    services.ingest([*GOOD_FILES, full], ingested_by="bench")
    services.ingest_url(site.url("/article"), ingested_by="bench")
    services.ingest_url(stored_page, ingested_by="bench")
    full.unlink()
    return snapshot(services), Good(rng)


def attack_files(services: Any, rng: random.Random, folder: Path, good: Good) -> Tally:
    tally = Tally("files")
    files_dir = folder / "files"
    files_dir.mkdir()
    paths = write_files(files_dir, hostile_files(rng, good))
    for path in paths:
        label = printable(path.name)[:60]
        report = tally.attempt(label, lambda p=path: services.ingest([p], ingested_by="bench"), 120)
        if report is not None:
            check_report(tally, label, report)
    # Ingestion is idempotent: the same files again must store and rewrite nothing.
    report = tally.attempt("the whole folder again", lambda: services.ingest([files_dir]), 300)
    if report is not None:
        check_report(tally, "the whole folder again", report)
        again = [
            f"{Path(f.origin).name} ({f.stored} new, {f.updated} updated)"
            for f in report.files
            if f.stored + f.updated
        ]
        tally.notes.append(
            f"the unchanged folder ingested again: {report.stored} articles reported new or "
            f"updated and {report.chunks} chunks written (expected 0)"
            + (f": {', '.join(again[:4])}" if again else "")
        )
    special = folder / "special"
    special.mkdir()
    with special_files(special) as specials:
        for path in specials:
            label = str(path)
            failure = probe_special(str(path))
            if failure is not None:
                tally.attempts += 1
                tally.crashes.append((label, failure, ""))
                continue
            report = tally.attempt(label, lambda p=path: services.ingest([p]), 10)
            if report is not None:
                check_report(tally, label, report)
        report = tally.attempt(
            "folder with FIFO, socket, devices", lambda: services.ingest([special]), 60
        )
        if report is not None:
            check_report(tally, "folder with FIFO, socket, devices", report)
    return tally


def attack_uploads(services: Any, rng: random.Random) -> Tally:
    """Discord attachments and pasted text: hostile bytes under hostile file names and titles."""
    tally = Tally("uploads, pasted")
    names = [
        "news.json",
        "\x1b[2J.md",
        "\u202egnp.exe.txt",
        ATTACK + ".json",
        "../../etc/passwd",
        "a" * 5000 + ".csv",
        "",
        "CON",
        "news\x00.txt",
        "\udcff.json",
    ]
    bodies = [
        alias_bomb(10),
        b"# a" + b" " * 4000 + b"b",
        b"[" * 20_000,
        b"null",
        b"\x00" * 999,
        b"\xff\xfe" + "Ether fell 5% as funds bled out.".encode("utf-16-le"),
        json.dumps(
            [
                {
                    "title": ATTACK,
                    "body": good_body(rng, 3000),
                    "source": SUPPORT,
                    "url": PHISH_URL,
                    "published_at": "2098-01-01",
                }
            ]
        ).encode(),
        b'title,body\n"never closed,' + b"x" * 100_000,
        rng.randbytes(5000),
        b"[" * 100_000 + b"]" * 100_000,
    ]
    for n, (name, data) in enumerate(zip(names * 2, bodies + bodies[::-1], strict=True)):
        label = f"upload {n} ({name[:20]!r})"
        report = tally.attempt(
            label, lambda d=data, f=name: services.ingest_upload(d, f, ingested_by="discord:1"), 60
        )
        if report is not None:
            check_report(tally, label, report)
    titles = [ATTACK, SUPPORT, "\x1b[2J\u202e", "", " ", "t" * 100_000, " ".join(MENTIONS)]
    texts = [
        "",
        " ",
        "x",
        good_body(rng, 3100),
        "# a" + " " * 4000 + "b",
        "[" * 20_000,
        MEGABYTE_LINE,
    ]
    for n, (title, text) in enumerate(zip(titles, texts[::-1], strict=True)):
        label = f"paste {n} ({title[:20]!r})"
        report = tally.attempt(
            label, lambda t=title, x=text: services.ingest_text(t, x, ingested_by="discord:1"), 120
        )
        if report is not None:
            check_report(tally, label, report)
    return tally


def attack_pages(services: Any, site: Any, hostile: HostileSite, stored_page: str) -> Tally:
    tally = Tally("pages")
    port = site.port
    urls = [
        site.url(p)
        for p in (
            "/drip/headers",
            "/go/drip-headers",
            "/go/data",
            "/go/javascript",
            "/go/file",
            "/go/broken",
            "/go/nowhere",
            "/go/empty",
            "/loop",
            "/slow",
            "/drip",
            "/download.bin",
            "/chart.png",
            "/broken/unclosed",
            "/broken/truncated",
            "/broken/stray-byte",
            "/broken/short-body",
            "/ru/header",
            "/ru/meta",
            "/missing",
            "/error",
            "/landing",
            "/go/ftp",
            "/go/relative",
            "/go/localhost",
            "/go/ipv6-loopback",
        )
    ]
    urls += [hostile.url(p) for p in hostile.routes if p != "/stored-article"]
    urls += [stored_page, stored_page + "?utm_source=gn"]
    urls += [
        "http://[::1/",
        "javascript:alert(1)",
        "data:text/html,<p>Ether fell 9%</p>",
        "file:///etc/passwd",
        "",
        " ",
        "http://",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:1/",
        f"http://127.0.0.1:{port}/" + "a" * 10_000,
        f"http://user:pw@127.0.0.1:{port}/article",
        f"http://127.0.0.1:{port}/\x1b[2J",
        f"http://127.0.0.1:{port}/%00",
        "http://127.0.0.1:99999/",
        f"HTTP://127.0.0.1:{port}/article",
        f"http://127.0.0.1:{port}/article#\u202e",
        f"http://127.0.0.1:{port}/article\n",
        "http://[::1]:1/",
        "gopher://127.0.0.1:70/",
        f"http://127.0.0.1:{port}/{ATTACK}",
        "\u202ehttp://127.0.0.1/",
        "http://\udcff/",
    ]
    for url in urls:
        label = url[:70]
        report = tally.attempt(label, lambda u=url: services.ingest_url(u, ingested_by="bench"), 30)
        if report is not None:
            check_report(tally, label, report)
    return tally


def attack_feeds(
    services: Any, rng: random.Random, server: Any, hostile: HostileSite, stored_page: str
) -> Tally:
    tally = Tally("feeds")
    for path, body in hostile_feeds(rng, hostile, stored_page).items():
        server.set(path, Route(body, FEED_TYPE))
    server.set("/drip.rss", Route(server.route("/full.rss").body, FEED_TYPE, drip=0.25))
    for path, location in (
        ("/go-data.rss", "data:application/rss+xml,<rss/>"),
        ("/go-js.rss", "javascript:alert(1)"),
        ("/go-nowhere.rss", None),
        ("/go-file.rss", "file:///etc/passwd"),
        ("/go-loop.rss", "/go-loop.rss"),
    ):
        server.set(
            path, Route(server.route("/full.rss").body, FEED_TYPE, status=302, location=location)
        )
    urls = [server.url(p) for p in sorted(server.routes)]
    urls += [
        hostile.url(p)
        for p in ("/gzip-bomb.rss", "/oversized.rss", "/drip-body", "/huge-header", "/charset-bomb")
    ]
    urls += [
        "http://[::1/",
        "",
        "javascript:alert(1)",
        "ftp://127.0.0.1/feed",
        "http://127.0.0.1:1/",
        server.url("/") + "a" * 3000,
        server.url("/full.rss\x1b[2J"),
        "feed://127.0.0.1/x",
        "http://127.0.0.1:99999/",
        f"http://[::1]:{server.url('').rsplit(':', 1)[1]}/full.rss",
        server.url("/full.rss") + "#\u202e",
        server.url("/full.rss"),
    ]  # the last: twice
    for url in urls:
        label = url[:70]
        added = tally.attempt(label, lambda u=url: services.add_feed(u, added_by="bench"), 90)
        if added is not None:
            feed, poll = added
            check_feed(tally, label, feed, poll)
            check_report(tally, label, poll.ingest)
    for path in ("/full.rss", "/atom.xml"):  # healthy when added, hostile when polled
        server.set(path, Route(server.route(path).body, FEED_TYPE, drip=0.25))
    server.set("/changing.rss", Route(b"<rss><channel><item>\xff", FEED_TYPE))
    server.set("/summaries.rss", Route(b"", FEED_TYPE, status=302, location="javascript:x"))
    for path in ("/phish.rss", "/mentions.rss", "/big300.rss"):  # news since they were added
        title = xml_escape(f"{ATTACK} {CONTROLS[2]}")
        text = xml_escape(f"{SUPPORT} {' '.join(MENTIONS)} {good_body(rng, 3300)}")
        server.add_item(
            path,
            f"<item><title>{title}</title><link>https://wire.example/new{path}</link>"
            f"<description>{text}</description></item>",
        )
    polled = tally.attempt("poll every feed", lambda: services.poll_feeds(force=True), 180)
    for feed, outcome in polled or []:
        label = f"poll {feed.url[:60]}"
        check_feed(tally, label, feed, outcome)
        if isinstance(outcome, Exception):  # a FeedError: `feeds poll` prints it after the URL
            tally.check(label, "error message (CLI)", printable(str(outcome)), markup=False)
        else:
            check_report(tally, label, outcome.ingest)
    for url in ("\x1b[2J", ATTACK, "http://[::1/", "nothing"):
        tally.attempt(f"remove {url[:30]!r}", lambda u=url: services.remove_feed(u), 10)
    return tally


def attack_questions(services: Any, rng: random.Random) -> Tally:
    tally = Tally("questions")
    for question, earlier in hostile_questions(rng, QUESTIONS):
        label = repr(question)[:60]
        answer = tally.attempt(
            label, lambda q=question, e=earlier: services.ask(q, follow_up_to=e), 20
        )
        if answer is not None:
            check_answer(tally, label, answer)
    return tally


def attack_listing(services: Any) -> Tally:
    """/sources: every stored article, page by page, and searches with hostile words."""
    tally = Tally("sources listing")
    queries = [
        None,
        "[",
        "@everyone",
        "\x1b[2J",
        EVIL,
        ATTACK,
        "\u202e",
        "eth",
        "(" * 500,
        "*" * 500,
        "\udcff",
        "<@1>",
    ]
    for query in queries:
        label = f"sources {query!r}"[:60]
        articles = tally.attempt(label, lambda q=query: services.sources(q), 20) or []
        if query is None:
            tally.reached["stored articles whose title or outlet holds a link or a mention"] = sum(
                carries_markup(f"{a.title}\n{a.outlet}") for a in articles
            )
        for page in range(1, -(-len(articles) // SOURCES_PER_PAGE) + 1):
            embed = tally.attempt(
                f"{label} page {page}",
                lambda p=page, a=articles, q=query: sources_embed(a, p, q).to_dict(),
                10,
            )
            for where, text, markup in embed_texts(embed or {}):
                tally.check(f"{label} page {page}", f"sources {where}", text, markup=markup)
    return tally


def data_lost(services: Any, kept: dict[str, tuple[str, int]], good: Good) -> list[str]:
    """Articles stored before that are gone or changed, and good records that were not stored."""
    now = snapshot(services)
    lost = []
    for article_id, (print_, chunks) in kept.items():
        if article_id not in now:
            lost.append(f"{article_id} is gone")
        elif now[article_id] != (print_, chunks):
            lost.append(f"{article_id} changed: {chunks} chunks, now {now[article_id][1]}")
    for url in good.urls:
        if short_hash(canonical_url(url)) not in now:
            lost.append(f"the good record at {url} (in {good.where.get(url)}) was not stored")
    return lost


def print_table(tallies: list[Tally]) -> None:
    print(
        f"   {'category':16s} {'attempts':>8s} {'refused':>8s} {'crashes':>8s} "
        f"{'violations':>10s} {'slowest (s)':>11s}"
    )
    for t in tallies:
        slowest = max(t.times, default=(0.0, ""))
        print(
            f"   {t.name:16s} {t.attempts:8d} {t.refused:8d} {len(t.crashes):8d} "
            f"{sum(t.violations.values()):10d} {slowest[0]:11.1f}"
        )
    print("   (refused: a UserError, the one-line message users are meant to get)")
    for t in tallies:
        top = sorted(t.times, reverse=True)[:3]
        print(
            f"   slowest, {t.name}: " + ", ".join(f"{label[:50]!r} {s:.1f} s" for s, label in top)
        )
    for t in tallies:
        for (surface, kind), count in t.violations.most_common():
            print(
                f"   violation, {t.name}: {count} x {kind} in {surface}; first: "
                f"{t.examples[(surface, kind)]}"
            )
        kinds: dict[tuple[str, str], list[str]] = {}
        for label, what, where in t.crashes:
            kinds.setdefault((what if not where else what.split(":")[0], where), []).append(label)
        for (_kind, where), labels in sorted(kinds.items(), key=lambda k: -len(k[1])):
            first = next(w for label, w, _ in t.crashes if label == labels[0])
            print(f"   crash, {t.name}: {len(labels)} x {first}")
            if where:
                print(f"      at {where}")
            print(f"      first inputs: {', '.join(repr(label[:40]) for label in labels[:3])}")
    for t in tallies:
        for what, count in t.reached.items():
            print(f"   reached, {t.name}: {count} {what}")
        for note in t.notes:
            print(f"   {t.name}: {note}")
    markup: Counter[str] = sum((t.terminal_markup for t in tallies), Counter())
    if markup:
        shown = ", ".join(f"{kind} {count}" for kind, count in markup.most_common())
        print(
            "   (not counted: terminal text that quotes a source's markup, plain text in a "
            f"terminal: {shown})"
        )
