"""The tables of the shared state, one schema for SQLite and PostgreSQL (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

metadata = MetaData()


def _text(*names: str) -> list[Column[str]]:
    """Required text columns (times are ISO 8601 text, the same in both databases)."""
    return [Column(name, Text, nullable=False) for name in names]


# Small facts: the salt of the feedback hashes, the schema's version.
meta = Table(
    "marketbot_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# Model calls per place and UTC day (the daily budget).
model_calls = Table(
    "model_calls",
    metadata,
    *_text("place", "day"),
    Column("used", Integer, nullable=False),
    PrimaryKeyConstraint("place", "day"),
)

# Answers given in Discord, whole (as `ask --json` prints them), for the buttons under them.
answers = Table(
    "answers",
    metadata,
    Column("id", Text, primary_key=True),
    *_text("asked_at", "place", "answer"),
)

feedback = Table(
    "feedback",
    metadata,
    *_text("answer_id", "user_hash", "kind", "given_at"),
    PrimaryKeyConstraint("answer_id", "user_hash", "kind"),
)

# The feeds being polled: one row per feed under its canonical key, in the order added.
feeds = Table(
    "feeds",
    metadata,
    Column("key", Text, primary_key=True),
    Column("seq", Double, nullable=False),
    Column("url", Text, nullable=False),
    Column("added_by", Text, nullable=False, default=""),
    # When and how it was last read (ISO times, HTTP validators, the last error), or None.
    *(
        Column(name, Text)
        for name in ("title", "added_at", "etag", "last_modified", "last_polled", "last_ok")
    ),
    Column("last_error", Text),
    Column("next_poll", Text),
    *(
        Column(name, Integer, nullable=False, default=0)
        for name in ("failures", "items_seen", "items_skipped")
    ),
)

FEED_COLUMNS = tuple(c.name for c in feeds.columns if c.name not in ("key", "seq"))

# Leases: who does a job now ("poll this feed"), until when (seconds since the epoch, on the
# database's clock). A holder that dies stops renewing and the lease expires.
leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    *_text("holder"),
    Column("expires", Double, nullable=False),
)

# Move alerts. A watch: a channel's asset, threshold (%), window and direction, who added it,
# and why it stopped (a channel the bot can no longer post to), if it did.
watches = Table(
    "watches",
    metadata,
    Column("id", Text, primary_key=True),
    *_text("place", "channel", "asset", "window", "direction", "added_by", "added_at"),
    Column("threshold", Double, nullable=False),
    Column("disabled", Text),
)

WATCH_COLUMNS = tuple(c.name for c in watches.columns)

# Each alert a watch fired: the move (when, how far, how many thresholds), the message posted
# (channel:message), whether news explained it, and when that message was updated with news.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),
    *_text("watch_id", "at", "window_start"),
    Column("move_pct", Double, nullable=False),
    Column("level", Integer, nullable=False),
    Column("message", Text),
    Column("explained", Integer, nullable=False, default=0),
    Column("updated_at", Text),
)

Index("alerts_by_watch", alerts.c.watch_id, alerts.c.at)

ALERT_COLUMNS = tuple(c.name for c in alerts.columns)
