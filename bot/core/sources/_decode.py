"""Bytes to text, refusing binary data and saying which encoding was guessed."""

from __future__ import annotations

import codecs
import re


class BinaryError(ValueError):
    pass


def decode(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Return the text and a note when it was not UTF-8. `declared` is the charset a server
    sent (HTTP Content-Type); without it, the document's own declaration (`<meta charset>`,
    `<?xml encoding?>`) is read. Valid multi-byte UTF-8 wins over any declaration: servers
    often declare ISO-8859-1 by default, while legacy single-byte text is never valid UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "decoded as UTF-16"
    if b"\x00" in data[:8192]:
        raise BinaryError("binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, None
    charset = _codec(declared) or _codec(_declared_in(data))
    if charset and not charset.startswith("utf-8"):
        return _text(data.decode(charset, errors="replace")), f"decoded as {charset} (as declared)"
    # Mostly UTF-8 with a few stray bytes (a footer pasted from elsewhere): keep it UTF-8, or
    # every curly quote of the article would turn into mojibake under Windows-1252.
    lenient = data.decode("utf-8-sig", errors="replace")
    if _has_multibyte_utf8(data) and lenient.count("\ufffd") <= max(3, len(lenient) // 2000):
        return lenient, "a few bytes were not valid UTF-8 and were replaced"
    return _text(
        data.decode("cp1252", errors="replace")
    ), "not valid UTF-8: decoded as Windows-1252"


def _text(text: str) -> str:
    """The decoded text, unless control characters or undecodable bytes show it is binary."""
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text[:8192]) * 0.01 or text.count("\ufffd") > len(text) * 0.01:
        raise BinaryError("binary file (not decodable as text)")
    return text


# A tag is scanned only up to the next "<" or ">", so the search is linear in the bytes read.
_DECLARATION = re.compile(
    rb"""<meta\b[^<>]*?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})"""
    rb"""|<\?xml\b[^<>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})""",
    re.IGNORECASE,
)
DECLARATION_BYTES = 4096  # where a declaration must be: HTML requires it in the first 1,024


def _declared_in(data: bytes) -> str | None:
    """The charset an HTML or XML document declares in its first kilobytes."""
    found = _DECLARATION.search(data[:DECLARATION_BYTES])
    return (found.group(1) or found.group(2)).decode("ascii") if found else None


def _codec(name: str | None) -> str | None:
    """The Python codec for a charset name, or None for unknown or unsafe ones. ISO-8859-1 and
    US-ASCII mean Windows-1252, as browsers read them."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    if codec in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    if codec.startswith(("utf-16", "utf-32", "utf-7")) or codec in ("rot-13", "hex", "base64"):
        return None  # not a way a page declares its text (or not a text encoding at all)
    return codec


def _has_multibyte_utf8(data: bytes) -> bool:
    """Whether the bytes hold well-formed multi-byte UTF-8 sequences (so: UTF-8 text)."""
    return _UTF8_SEQUENCE.search(data) is not None


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
