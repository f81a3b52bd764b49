"""The tables of the shared state, one schema for SQLite and PostgreSQL (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import Column, Double, Integer, MetaData, PrimaryKeyConstraint, Table, Text

metadata = MetaData()

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
    Column("place", Text, nullable=False),
    Column("day", Text, nullable=False),
    Column("used", Integer, nullable=False),
    PrimaryKeyConstraint("place", "day"),
)

# Answers given in Discord, whole (as `ask --json` prints them), for the buttons under them.
answers = Table(
    "answers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("asked_at", Text, nullable=False),
    Column("place", Text, nullable=False),
    Column("answer", Text, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("answer_id", Text, nullable=False),
    Column("user_hash", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("given_at", Text, nullable=False),
    PrimaryKeyConstraint("answer_id", "user_hash", "kind"),
)

# The feeds being polled: one row per feed under its canonical key, in the order added.
feeds = Table(
    "feeds",
    metadata,
    Column("key", Text, primary_key=True),
    Column("seq", Double, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("added_by", Text, nullable=False, default=""),
    Column("added_at", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_polled", Text),
    Column("last_ok", Text),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_poll", Text),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("items_skipped", Integer, nullable=False, default=0),
)

FEED_COLUMNS = tuple(c.name for c in feeds.columns if c.name not in ("key", "seq"))

# Leases: who does a job now ("poll this feed"), until when (seconds since the epoch, on the
# database's clock). A holder that dies stops renewing and the lease expires.
leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires", Double, nullable=False),
)
