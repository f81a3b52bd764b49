"""State: what bot processes must agree on, behind one small interface.

Two implementations share these queries (SQLAlchemy Core renders them for either database):
`SQLiteState`, a file in the data dir (the default: the processes of one host), and
`PostgresState` (MARKETBOT_DATABASE_URL: several hosts). They differ where the databases do:
the clock, the upsert dialect and the writer lock.

What lives here: the daily model-call budget, the answer log behind the feedback buttons, the
feed list with its ETags and back-off, the watches and the alerts they fired, and leases ("this
host polls that feed now"), which expire when their holder stops renewing them, so a host that
dies hands its jobs over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Double, Engine, cast, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.state.schema import (
    ALERT_COLUMNS,
    FEED_COLUMNS,
    WATCH_COLUMNS,
    alerts,
    answers,
    feedback,
    feeds,
    leases,
    meta,
    model_calls,
    watches,
)

log = logging.getLogger(__name__)

Row = dict[str, Any]


class State:
    """The shared state in one database. Thread-safe; every method is one short transaction."""

    name = "database"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Who holds a lease: this process of this host, and this State (tests open several).
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._salt: str | None = None

    # What the implementations provide.

    def _insert(self, table: Any) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT."""
        raise NotImplementedError

    def _clock(self) -> ColumnElement[float]:
        """The database's time, seconds since the epoch, as an SQL expression."""
        raise NotImplementedError

    def writer(self, timeout: float) -> AbstractContextManager[Callable[[], None]]:
        """One writer to the store at a time, across every process sharing this state; Busy
        (a UserError) after `timeout` seconds of waiting. The block gets a check to call before
        each write, which raises LockLost once the lock is no longer held."""
        raise NotImplementedError

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that writes (SQLite takes its write lock at the start of it; reads
        use plain connections and never wait for a writer)."""
        with self.engine.connect() as db:
            db.execution_options(writing=True)
            with db.begin():
                yield db

    def describe(self) -> str:
        """Where the state lives, for status lines (never with a password)."""
        raise NotImplementedError

    def close(self) -> None:
        self.engine.dispose()

    # The daily budget of model calls.

    def take_call(self, place: str, day: str, per_day: int) -> bool:
        """Count one call for `place` on `day`; False, counting nothing, when `per_day` are
        spent. One statement: two hosts taking the last call at once cannot both get it."""
        if per_day <= 0:
            return False
        statement = self._insert(model_calls).values(place=place, day=day, used=1)
        statement = statement.on_conflict_do_update(
            index_elements=[model_calls.c.place, model_calls.c.day],
            set_={"used": model_calls.c.used + 1},
            where=model_calls.c.used < per_day,
        ).returning(model_calls.c.used)
        with self._write() as db:
            return db.execute(statement).first() is not None

    def calls_used(self, place: str, day: str) -> int:
        query = select(model_calls.c.used).where(
            model_calls.c.place == place, model_calls.c.day == day
        )
        with self.engine.connect() as db:
            return int(db.execute(query).scalar() or 0)

    # The answer log and its feedback.

    def salt(self) -> str:
        """A random salt for hashing user ids, the same for every process (the first one to
        ask chooses it)."""
        if self._salt is None:
            with self._write() as db:
                choice = self._insert(meta).values(key="salt", value=secrets.token_hex(16))
                db.execute(choice.on_conflict_do_nothing(index_elements=[meta.c.key]))
                self._salt = str(
                    db.execute(select(meta.c.value).where(meta.c.key == "salt")).scalar()
                )
        return self._salt

    def record_answer(self, answer_id: str, asked_at: str, place: str, data: str) -> None:
        with self._write() as db:
            db.execute(
                answers.insert().values(id=answer_id, asked_at=asked_at, place=place, answer=data)
            )

    def answer(self, answer_id: str) -> str | None:
        with self.engine.connect() as db:
            value = db.execute(select(answers.c.answer).where(answers.c.id == answer_id)).scalar()
        return None if value is None else str(value)

    def add_feedback(self, answer_id: str, user_hash: str, kind: str, given_at: str) -> bool:
        """Record one verdict; False when this user had given it already; KeyError for an
        answer that is not in the log."""
        with self._write() as db:
            if db.execute(select(answers.c.id).where(answers.c.id == answer_id)).first() is None:
                raise KeyError(answer_id)
            statement = self._insert(feedback).values(
                answer_id=answer_id, user_hash=user_hash, kind=kind, given_at=given_at
            )
            added = db.execute(
                statement.on_conflict_do_nothing().returning(feedback.c.answer_id)
            ).first()
        return added is not None

    def feedback_counts(self) -> list[tuple[str, str, str, str, str, int]]:
        """(id, asked_at, place, answer, kind, count) of every answer with feedback, oldest
        first."""
        query = (
            select(
                answers.c.id,
                answers.c.asked_at,
                answers.c.place,
                answers.c.answer,
                feedback.c.kind,
                func.count(),
            )
            .join(feedback, feedback.c.answer_id == answers.c.id)
            .group_by(answers.c.id, feedback.c.kind)
            .order_by(answers.c.asked_at, answers.c.id, feedback.c.kind)
        )
        with self.engine.connect() as db:
            return [tuple(row) for row in db.execute(query)]

    # The feed list.

    def feed_rows(self) -> list[Row]:
        """Every feed, in the order added, as {column: value} (without the key)."""
        query = select(*(feeds.c[name] for name in FEED_COLUMNS)).order_by(feeds.c.seq)
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def add_feed_row(self, key: str, row: Row) -> bool:
        """Store a feed under `key`; False (changing nothing) when one is stored there."""
        return self._insert_new(feeds.c.key, key=key, seq=self._clock(), **_known(row))

    def _insert_new(self, column: Any, **values: Any) -> bool:
        """Insert a row unless its value in `column` (unique) is taken; whether it was."""
        statement = self._insert(column.table).values(**values)
        with self._write() as db:
            added = db.execute(
                statement.on_conflict_do_nothing(index_elements=[column]).returning(column)
            ).first()
        return added is not None

    def remove_feed_row(self, key: str) -> Row | None:
        columns = [feeds.c[name] for name in FEED_COLUMNS]
        with self._write() as db:
            row = db.execute(delete(feeds).where(feeds.c.key == key).returning(*columns)).first()
        return None if row is None else dict(row._mapping)

    def update_feed_row(self, key: str, change: Callable[[Row], Row]) -> Row | None:
        """Replace the feed at `key` with `change(row)`, the row locked meanwhile (another
        host's update waits); None when no feed is stored there."""
        columns = [feeds.c[name] for name in FEED_COLUMNS]
        with self._write() as db:
            found = db.execute(select(*columns).where(feeds.c.key == key).with_for_update()).first()
            if found is None:
                return None
            changed = _known(change(dict(found._mapping)))
            db.execute(update(feeds).where(feeds.c.key == key).values(**changed))
        return changed

    # Watches and their alerts.

    def watch_rows(self) -> list[Row]:
        """Every watch, oldest first."""
        query = select(*(watches.c[n] for n in WATCH_COLUMNS)).order_by(watches.c.added_at)
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def _serialise(self, db: Connection, key: str) -> None:
        """Make the transaction on `db` the only one holding `key` until it ends (SQLite's
        BEGIN IMMEDIATE already makes every writing transaction the only one)."""

    def add_watch_row(self, row: Row, *, same: Row, limit: int) -> Row | None:
        """Store a watch: a watch matching `same` (column: value) is updated in place (its
        alerts kept, so a move already posted is not posted again); a new one is refused
        (None) when its place has `limit` running watches. One transaction, serialised per
        place: two hosts adding at once cannot both pass the limit."""
        with self._write() as db:
            self._serialise(db, f"watches:{row['place']}")
            match = db.execute(
                select(watches.c.id, watches.c.place, watches.c.disabled).where(
                    *(watches.c[k] == v for k, v in same.items())
                )
            ).first()
            here = match is not None and match.disabled is None and match.place == row["place"]
            if not here:  # one more running watch in this place
                count = db.execute(
                    select(func.count())
                    .select_from(watches)
                    .where(watches.c.place == row["place"], watches.c.disabled.is_(None))
                ).scalar_one()
                if count >= limit:
                    return None
            if match is not None:
                changed = {k: v for k, v in row.items() if k != "id"}
                db.execute(update(watches).where(watches.c.id == match.id).values(**changed))
                return {**row, "id": match.id}
            db.execute(watches.insert().values(**row))
        return row

    def remove_watch_rows(self, **where: str) -> list[Row]:
        """Remove the watches matching every `column=value`; the removed rows."""
        columns = [watches.c[n] for n in WATCH_COLUMNS]
        condition = [watches.c[k] == v for k, v in where.items()]
        with self._write() as db:
            removed = db.execute(delete(watches).where(*condition).returning(*columns))
            rows = [dict(row._mapping) for row in removed]
            if rows:
                ids = [r["id"] for r in rows]
                db.execute(delete(alerts).where(alerts.c.watch_id.in_(ids)))
        return rows

    def disable_watches(self, reason: str, **where: str) -> int:
        """Mark the enabled watches matching `where` as stopped, saying why; how many."""
        condition = [watches.c[k] == v for k, v in where.items()]
        with self._write() as db:
            done = db.execute(
                update(watches)
                .where(*condition, watches.c.disabled.is_(None))
                .values(disabled=reason)
            )
        return int(done.rowcount or 0)

    def add_alert_row(self, row: Row) -> bool:
        """Record an alert; False (storing nothing) when its id is there already: another host
        fired the same alert first."""
        return self._insert_new(alerts.c.id, **row)

    def update_alert_row(self, alert_id: str, **values: Any) -> None:
        with self._write() as db:
            db.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))

    def alert_rows(
        self,
        watch_id: str | None = None,
        *,
        since: str | None = None,
        limit: int | None = None,
        falling: bool | None = None,
    ) -> list[Row]:
        """Alerts, newest first: of one watch, or all; `since` an ISO time; of falls or of
        rises only when `falling` says which."""
        query = select(*(alerts.c[n] for n in ALERT_COLUMNS)).order_by(alerts.c.at.desc())
        if watch_id is not None:
            query = query.where(alerts.c.watch_id == watch_id)
        if falling is not None:
            query = query.where(alerts.c.move_pct < 0 if falling else alerts.c.move_pct > 0)
        if since is not None:
            query = query.where(alerts.c.at >= since)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def prune_alerts(self, before: str) -> None:
        """Forget alerts older than `before` (an ISO time): the rule needs the last one of a
        move, and only within a window of it."""
        with self._write() as db:
            db.execute(delete(alerts).where(alerts.c.at < before))

    # Leases.

    def try_lease(self, name: str, seconds: float) -> bool:
        """Take the lease `name` for `seconds` (or extend it, when this State holds it); False
        while another holder's lease has not expired."""
        now = self._clock()
        statement = self._insert(leases).values(
            name=name, holder=self.holder, expires=now + seconds
        )
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.name],
            set_={"holder": statement.excluded.holder, "expires": statement.excluded.expires},
            where=(leases.c.expires < now) | (leases.c.holder == self.holder),
        ).returning(leases.c.holder)
        with self._write() as db:
            return db.execute(statement).first() is not None

    def release_lease(self, name: str) -> None:
        with self._write() as db:
            db.execute(delete(leases).where(leases.c.name == name, leases.c.holder == self.holder))

    def lease_holder(self, name: str) -> str | None:
        """Who holds the lease `name` now, or None when nobody does (or it expired)."""
        query = select(leases.c.holder).where(
            leases.c.name == name, leases.c.expires >= self._clock()
        )
        with self.engine.connect() as db:
            value = db.execute(query).scalar()
        return None if value is None else str(value)

    @contextmanager
    def lease(self, name: str, seconds: float) -> Iterator[bool]:
        """Hold the lease `name` for the block, renewed every third of `seconds` while the block
        runs; yields False (and holds nothing) when another holder has it. If this process dies,
        the lease expires `seconds` after its last renewal and another host may take it."""
        if not self.try_lease(name, seconds):
            yield False
            return
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(seconds / 3):
                try:
                    if not self.try_lease(name, seconds):
                        log.warning("lost the lease %s to another host", name)
                        return
                except Exception:  # a database that is away for a moment: try again
                    log.warning("could not renew the lease %s", name, exc_info=True)

        renewer = threading.Thread(target=renew, name=f"lease {name[:40]}", daemon=True)
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join()
            try:
                self.release_lease(name)
            except Exception:  # it expires on its own
                log.warning("could not release the lease %s", name, exc_info=True)


def _known(row: Row) -> Row:
    return {name: row[name] for name in FEED_COLUMNS if name in row}


def epoch_seconds(expression: ColumnElement[Any]) -> ColumnElement[float]:
    return cast(expression, Double)
