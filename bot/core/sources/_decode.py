"""Bytes to text, refusing binary data and saying which encoding was guessed."""

from __future__ import annotations

import re


class BinaryError(ValueError):
    pass


def decode(data: bytes) -> tuple[str, str | None]:
    """Return the text and a note when it was not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "decoded as UTF-16"
    if b"\x00" in data[:8192]:
        raise BinaryError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few stray bytes (a footer pasted from elsewhere): keep it UTF-8, or
    # every curly quote of the article would turn into mojibake under Windows-1252.
    lenient = data.decode("utf-8-sig", errors="replace")
    if _has_multibyte_utf8(data) and lenient.count("\ufffd") <= max(3, len(lenient) // 2000):
        return lenient, "a few bytes were not valid UTF-8 and were replaced"
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text[:8192]) * 0.01 or text.count("\ufffd") > len(text) * 0.01:
        raise BinaryError("binary file (not decodable as text)")
    return text, "not valid UTF-8: decoded as Windows-1252"


def _has_multibyte_utf8(data: bytes) -> bool:
    """Whether the bytes hold well-formed multi-byte UTF-8 sequences (so: UTF-8 text)."""
    return _UTF8_SEQUENCE.search(data) is not None


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
