"""The list of feeds being polled, in the shared state (SQLite in the data dir, or
PostgreSQL for several hosts): every change is one transaction on one row, so the poller and
an admin's command never lose each other's changes, whichever host they run on."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.errors import InputError, NotFoundError
from bot.feeds.model import Feed, feed_key, normalise_url, now_iso

if TYPE_CHECKING:
    from bot.state import State


class FeedStore:
    """The feeds in `state`, each under its address's key."""

    def __init__(self, state: State) -> None:
        self.state = state

    def list(self) -> builtins.list[Feed]:
        """The feeds, in the order they were added."""
        return [Feed.from_json(row) for row in self.state.feed_rows()]

    def get(self, url: str) -> Feed | None:
        key = feed_key(normalise_url(url))
        return next((f for f in self.list() if feed_key(f.url) == key), None)

    def add(
        self,
        url: str,
        added_by: str,
        *,
        title: str | None = None,
        next_poll: str | None = None,
    ) -> Feed:
        """Store a new feed (due at once, unless `next_poll` says when); a second copy of a
        stored feed is refused."""
        normal = normalise_url(url)
        feed = Feed(
            url=normal, title=title, added_by=added_by, added_at=now_iso(), next_poll=next_poll
        )
        if not self.state.add_feed_row(feed_key(normal), feed.to_json()):
            raise InputError(f"{normal} is already being polled; `feeds list` shows it.")
        return feed

    def remove(self, url: str) -> Feed:
        """Stop polling a feed; the articles it brought stay stored."""
        row = self.state.remove_feed_row(feed_key(normalise_url(url)))
        if row is None:
            raise NotFoundError(
                f"No feed {url.strip()[:200]} is being polled; `feeds list` shows them."
            )
        return Feed.from_json(row)

    def update(self, url: str, change: Callable[[Feed], Feed] | None = None, **values: Any) -> Feed:
        """Replace fields of a stored feed (`values`, or `change(feed)` for a change that
        depends on the stored state) and return it; NotFoundError when it was removed."""

        def changed(row: dict[str, Any]) -> dict[str, Any]:
            feed = Feed.from_json(row)
            feed = change(feed) if change else feed
            return (replace(feed, **values) if values else feed).to_json()

        row = self.state.update_feed_row(feed_key(normalise_url(url)), changed)
        if row is None:
            raise NotFoundError(f"No feed {url.strip()[:200]} is being polled.")
        return Feed.from_json(row)
