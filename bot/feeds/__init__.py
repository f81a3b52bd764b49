"""RSS and Atom feeds: the list of feeds polled for news, and polling them.

- `model`: a feed as stored and the normaliser of its address;
- `store`: the feed list, in the shared state (`bot.state`);
- `parse`: a feed document to entries, an entry's text, link and date;
- `poll`: one conditional GET of a feed, its items ingested as one batch (the full text when the
  feed carries it, else the linked article page when allowed, else the summary), failures backed
  off exponentially; due feeds `POLL_WORKERS` at a time, each within its own deadline and under
  a lease, so one host polls each feed once per interval.
"""

from bot.feeds.model import Feed, FeedError, feed_key, normalise_url
from bot.feeds.parse import MAX_ENTRIES, html_to_text, parse_feed
from bot.feeds.poll import PollReport, add_feed, poll_due, poll_feed
from bot.feeds.store import FeedStore

__all__ = [
    "MAX_ENTRIES",
    "Feed",
    "FeedError",
    "FeedStore",
    "PollReport",
    "add_feed",
    "feed_key",
    "html_to_text",
    "normalise_url",
    "parse_feed",
    "poll_due",
    "poll_feed",
]
