"""Text normalisation, fingerprints, sentence splitting and date parsing shared by the core."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex
from dateutil import parser as dateutil_parser

# Characters that must never reach a terminal or a Discord message as they are: C0 and C1
# controls (ESC sequences repaint a terminal), DEL, and the bidi embeddings, overrides and
# isolates that make text read in another order than it is stored ("Trojan Source").
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates: a file name's undecodable bytes under Python's surrogateescape.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def strip_unsafe(text: str) -> str:
    """Text without control characters (newlines and tabs kept) or bidi overrides."""
    return _SURROGATE.sub("\ufffd", _UNSAFE.sub("", text))


def printable(text: str) -> str:
    """Text safe to print: controls, bidi overrides and undecodable bytes shown as escapes
    (\\x1b, \\u202e, \\xff), newlines and tabs kept."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return _SURROGATE.sub(escape, _UNSAFE.sub(escape, text))


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})
_NON_WORD = re.compile(r"[\W_]+")  # letters of every script count, not only a-z
_SPACES = re.compile(r"\s+")


# Terminal escape sequences, removed whole so that no "[2J" is left behind once the ESC goes:
# CSI (7-bit and 8-bit), then OSC, DCS, SOS, PM and APC strings only when terminated within
# 512 characters (an unterminated one loses its ESC alone, never the article after it), then
# the two- and three-character escapes (ESC c, ESC ( B). Each alternative scans only up to the
# next ESC, so the pattern is linear in the text.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x80-\x9f]{0,512}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]{0,4}[0-~]"
)
# Controls that are blank space (vertical tab, form feed, the separators, NEL): a gap between
# words, not nothing, when strip_unsafe removes the other controls.
_BLANK_CONTROLS = str.maketrans(dict.fromkeys([0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F, 0x85], " "))


def clean(text: str) -> str:
    """Unicode-normalise, drop terminal escape sequences, controls and bidi overrides, remove
    Markdown residue (see `plain`), and collapse runs of blank space, keeping paragraph breaks.
    """
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = plain(strip_unsafe(_ESCAPE_SEQUENCE.sub("", text).translate(_BLANK_CONTROLS)))
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    paragraphs = [_SPACES.sub(" ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


# Markdown and scraping residue, line by line. Every pattern is linear: anchored at a line
# start, or a bounded scan that stops at the next newline.
# A list item ("- ", "* ", "+ ", "• ", "1. ", "2) "): its own paragraph, so its own sentences.
_BULLET = re.compile(r"^[ \t]{0,8}(?:[-*+•▪◦‣]|\d{1,2}[.)])[ \t]+(?=\S)")
_HEADING_LINE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+")
_RULE = re.compile(r"^[ \t]{0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
# "[^12]: https://..." at the end of a brief: the footnotes' targets, not prose.
_FOOTNOTE_DEFINITION = re.compile(r"^[ \t]{0,3}\[\^?\d{1,4}\]:")
# A summary label alone on its line, or opening one: "TL;DR:", "Key takeaways -" (a dash only
# before a space: "Summary-judgment motions" is prose).
_SUMMARY_LABEL = re.compile(
    r"^(?:tl;? ?dr|key (?:takeaways|points)|in brief|the gist|summary)[ \t]*"
    r"(?::[ \t]*|[\-–—](?:[ \t]+|$)|$)",
    re.IGNORECASE,
)
# "\$", "\*", "\_": a Markdown escape of ASCII punctuation.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
# **strong** and __strong__ in pairs around at most 300 characters ("2**10" keeps its marks),
# and code backticks.
_STRONG = re.compile(r"(?<!\\)(\*\*|__)(?=\S)([^\n]{1,300}?)(?<=[^\s\\])\1")
_BACKTICK = re.compile(r"(?<!\\)`")
# *emphasis* and _emphasis_ around at most 300 characters of one line, between non-word
# characters and never escaped: "5*3", "snake_case_name" and "\*" keep theirs.
_EMPHASIS = re.compile(r"(?<![\w*\\])\*(?=[^\s*])([^*\n]{1,300}?)(?<=[^\s\\])\*(?![\w*])")
_UNDERLINE = re.compile(r"(?<![\w_\\])_(?=[^\s_])([^_\n]{1,300}?)(?<=[^\s\\])_(?![\w_])")
# HTML that scraped Markdown carries inline: named tags only ("ETH<BTC ratio > 0.05" is prose).
_HTML_TAG = re.compile(
    r"</?(?:a|img|br|p|div|span|b|i|em|strong|sup|sub|hr|u|s|small|code|pre|ul|ol|li|table|"
    r"thead|tbody|tr|td|th|h[1-6]|figure|figcaption|blockquote|picture|source|iframe)"
    r"(?:[ \t/][^<>\n]{0,500})?>",
    re.IGNORECASE,
)


def plain(text: str) -> str:
    """Text without the Markdown and scraping residue that must never be quoted: footnote
    markers and definitions, backslash escapes, emphasis marks, heading marks, rules, inline
    HTML tags and TL;DR labels. A list item or a heading starts a paragraph of its own, so a
    bullet is never glued to the next one; a line of hard-wrapped prose that happens to begin
    with "7. " or "- " is a list item only where a list may start (after a blank line, a
    heading, a line ending in a colon, or inside a list)."""
    out: list[str] = []
    may_list = True  # where a list item may begin
    in_list = False
    for line in text.split("\n"):
        if _RULE.match(line) or _FOOTNOTE_DEFINITION.match(line):
            out.append("")
            may_list, in_list = True, False
            continue
        if not line.strip():
            out.append(line)
            may_list, in_list = True, False
            continue
        block = False
        heading = _HEADING_LINE.match(line)
        bullet = None if heading or not (may_list or in_list) else _BULLET.match(line)
        if heading:
            line, block = line[heading.end() :], True
        elif bullet:
            line, block, in_list = line[bullet.end() :], True, True
        line = _STRONG.sub(r"\2", _HTML_TAG.sub("", line))
        line = _BACKTICK.sub("", _UNDERLINE.sub(r"\1", _EMPHASIS.sub(r"\1", line)))
        line = _ESCAPED.sub(r"\1", strip_markers(line))
        label = _SUMMARY_LABEL.match(line.lstrip())
        if label:
            line, block = line.lstrip()[label.end() :], True
        may_list = bool(heading or label) or line.rstrip().endswith(":")
        if block:
            out.append("")
        out.append(line)
        if block and heading:
            out.append("")
    return "\n".join(out)


def fingerprint(text: str) -> str:
    """A key equal for syndicated copies differing only in case, spacing, quotes, punctuation."""
    folded = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    folded = _NON_WORD.sub(" ", folded).strip()
    return hashlib.sha256(folded.encode()).hexdigest()[:16]


# Footnote and citation markers a source wrote ("[3]", "[^12][^13]"): in an answer they would
# read as ours, citing a source we never gave.
_MARKERS = re.compile(r"(?<![ \t])[ \t]*\[\^?\d{1,3}\]")


def strip_markers(text: str) -> str:
    """Text without the bracketed footnote or citation numbers its source wrote."""
    return _MARKERS.sub("", text)


MAX_URL_CHARS = 2048
_NOT_IN_URLS = frozenset('<>"\\`^{}|')  # never unencoded in a URL (RFC 3986)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # RFC 1123
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")


def web_url(value: object) -> str | None:
    """The value as an absolute http(s) URL with a host name or address, or None for anything
    else: another scheme, no host, a bad port, blank space, controls, Markdown (a `)` or
    `](` that would close a link early), or over 2,048 characters."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > MAX_URL_CHARS or _UNSAFE.search(url) or _SURROGATE.search(url):
        return None
    if any(ch.isspace() or ch in _NOT_IN_URLS for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    # Brackets belong around an IPv6 host only (RFC 3986); anywhere else they would open a
    # Markdown link: "…/x)[Verify wallet](https://evil.example/v".
    if "[" in parts.path + parts.query + parts.fragment + parts.netloc.rpartition("@")[0] or (
        "]" in parts.path + parts.query + parts.fragment
    ):
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    if len(host) > 253:
        return None
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:  # an empty label, or one over 63 characters
        return None
    if not _HOST.fullmatch(ascii_host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None
    return url


DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_url(url: str) -> str:
    """The one normal form of a web address: scheme and host lower-cased (an IPv6 host in
    brackets), the scheme's default port and the fragment dropped, an empty path as "/"; the
    rest as written. Feeds are stored in this form."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
        host = (parts.hostname or "").lower()
    except ValueError:  # a bad port: nothing to drop, the host part as it is
        port, host = None, parts.netloc.rpartition("@")[2].lower()
    else:
        if ":" in host:
            host = f"[{host}]"
        if port is not None and port != DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def canonical_url(url: str) -> str:
    """The key of an address: its normal form without tracking parameters (utm_*) and without
    a trailing slash. Two addresses of one page share it; stored articles are found by it."""
    parts = urlsplit(normal_url(url))
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith("utm_")]
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


# Bumped when canonical_url changes: stored url keys are rewritten once (ChromaStore.rekey).
URL_KEY_VERSION = "2"  # 2: the default port dropped ("https://x.example:443/a")


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "u.s",
    "u.k",
    "e.u",
    "u.n",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "inc",
    "ltd",
    "corp",
    "co",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "e.g",
    "i.e",
    "vs",
    "etc",
    "st",
    "no",
    "approx",
    "est",
    "jr",
    "sr",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9$€£])")


def sentences(text: str) -> list[str]:
    """Split text into sentences, keeping "U.S." and "$3.1" whole."""
    result: list[str] = []
    for paragraph in re.split(r"\n+", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        start = 0
        pieces: list[str] = []
        for match in _SENTENCE_END.finditer(paragraph):
            # Only the end of the piece: re-reading it from its start for every full stop
            # skipped ("Mr. A Mr. B ...") made the split quadratic.
            piece = paragraph[max(start, match.start() - 40) : match.start()].strip()
            last_word = piece.rsplit(" ", 1)[-1].rstrip(".").lower()
            if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
                continue
            pieces.append(paragraph[start : match.end()].strip())
            start = match.end()
        pieces.append(paragraph[start:].strip())
        result.extend(p for p in pieces if p)
    return result


def parse_datetime(value: object) -> datetime | None:
    """Parse unix seconds, ISO 8601, RFC 2822 or a loose date string into an aware UTC datetime;
    None for anything that is not a representable date (1e300, "inf", year 1 at +05:00)."""
    try:
        return _parse_datetime(value)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_datetime(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.upper() in {"NULL", "NONE", "N/A", "NAN"}:
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                try:
                    moment = dateutil_parser.parse(text)
                except (ValueError, OverflowError):
                    return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_ASCII_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
# A word: letters and digits of any script, with the combining marks inside it (Devanagari
# and Thai vowel signs are part of their words).
_TOKEN = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:[.,][0-9]+)*")
# Accents on Latin and Greek letters (after NFKD): folded away, so "Régulation" matches
# "regulation"; Cyrillic keeps its breve (й is a letter of its own), and marks of other
# scripts (Japanese voicing, Indic vowels) are their letters' own and stay.
_ACCENTS = re.compile(r"(?<=[\u0000-\u03ff])[\u0300-\u036f]+")
# Scripts written without spaces between words: a run of them is cut into overlapping pairs
# of characters, the usual unit of search for Chinese and Japanese (a single one stays).
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens for lexical search, in any script; figures such as 3,100 or
    2.5 stay whole, accents are folded, Chinese and Japanese become character pairs."""
    folded = unicodedata.normalize("NFKC", text).lower()
    if folded.isascii():
        return _ASCII_TOKEN.findall(folded)
    folded = unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFKD", folded)))
    found: list[str] = []
    for word in _TOKEN.findall(folded):
        if not _UNSPACED.search(word):
            found.append(word)
            continue
        at = 0
        for run in _UNSPACED.finditer(word):
            if run.start() > at:
                found.append(word[at : run.start()])
            chars = run.group()
            found += (
                [chars] if len(chars) == 1 else [chars[i : i + 2] for i in range(len(chars) - 1)]
            )
            at = run.end()
        if at < len(word):
            found.append(word[at:])
    return found
