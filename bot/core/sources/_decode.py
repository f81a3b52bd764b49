"""Bytes to text, refusing binary data and saying which encoding was guessed."""

from __future__ import annotations


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
    text = data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text[:8192]) * 0.01 or text.count("\ufffd") > len(text) * 0.01:
        raise BinaryError("binary file (not decodable as text)")
    return text, "not valid UTF-8: decoded as Windows-1252"
