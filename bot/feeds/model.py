"""A feed as stored, and the one way the project writes a feed's address."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.core.text import canonical_url, normal_url
from bot.errors import InputError
from bot.web.fetch import host_problem

MAX_URL_CHARS = 2000


class FeedError(InputError):
    """A feed that could not be read or is not a feed; the message says why."""


def now_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Feed:
    """A feed being polled and what its last polls did. Times are ISO 8601 strings (UTC)."""

    url: str
    title: str | None = None
    added_by: str = ""
    added_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_polled: str | None = None
    last_ok: str | None = None
    last_error: str | None = None
    failures: int = 0
    next_poll: str | None = None
    items_seen: int = 0  # items in the feed the last time it was read
    items_skipped: int = 0  # of those, older ones beyond the MAX_ENTRIES newest: not read

    def due(self, now: datetime | None = None) -> bool:
        """True when the feed should be polled at `now` (never polled, or its time has come)."""
        when = _parse_iso(self.next_poll)
        return when is None or when <= (now or datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Feed:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def normalise_url(url: str) -> str:
    """The feed URL as stored: scheme and host lower-cased, default port and fragment dropped.
    Anything but an absolute http(s) URL is refused with the reason."""
    text = url.strip()
    if not text:
        raise InputError(
            "Give the feed's address, e.g. https://www.coindesk.com/arc/outboundfeeds/rss/"
        )
    if len(text) > MAX_URL_CHARS:
        raise InputError(f"Feed addresses are limited to {MAX_URL_CHARS} characters.")
    if any(ch.isspace() for ch in text):
        raise InputError("A feed address cannot contain spaces.")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):
        raise InputError("A feed address cannot contain control characters.")
    invalid = f"{text[:100]!r} is not a valid feed address."
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed [ around an IPv6 address, a host that NFKC changes
        raise InputError(invalid) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if not scheme or "//" not in text:
            raise InputError(f"{text[:100]!r} is not a feed address: start it with https://.")
        raise InputError(f"Only http and https feeds can be added, not {scheme}: addresses.")
    problem = host_problem(parts)
    if problem == "has no host":
        raise InputError(f"{text[:100]!r} has no host.")
    if problem == "has an invalid port":
        raise InputError(f"{text[:100]!r} has an invalid port.")
    if problem:
        raise InputError(invalid)
    if parts.username or parts.password:
        raise InputError("Feed addresses with a user name or password are not supported.")
    return normal_url(text)


def feed_key(url: str) -> str:
    """Two addresses of the same feed (case, trailing slash, tracking parameters) share a key."""
    try:
        return canonical_url(url)
    except ValueError:  # a hand-edited feeds.json: the address is its own key
        return url
