"""Shared state in PostgreSQL (MARKETBOT_DATABASE_URL), for bot processes on several hosts."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from bot.core.files import Busy, LockLost
from bot.errors import InputError, UserError
from bot.state.base import State, epoch_seconds
from bot.state.schema import metadata

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10
# Whether this session holds the advisory lock on `key` (a bigint: classid and objid halves).
_HELD = text(
    "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid()"
    " AND ((classid::bigint << 32) | objid::bigint) = :key"
)
STATEMENT_SECONDS = 30


def lock_key(name: str) -> int:
    """A name as the signed 64-bit key of a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def engine_url(url: str) -> Any:
    """postgres:// and postgresql:// addresses through psycopg 3; anything else refused."""
    try:
        parsed = make_url(url.strip())
        parsed.port  # noqa: B018 - a port that is not a number raises ValueError
    except (ArgumentError, ValueError):
        raise InputError(
            "MARKETBOT_DATABASE_URL is not a database address: give "
            "postgresql://user:password@host:5432/database."
        ) from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise InputError(
            f"MARKETBOT_DATABASE_URL must be a postgresql:// address, not {parsed.drivername}:."
        )
    if not parsed.host:
        raise InputError("MARKETBOT_DATABASE_URL names no host: postgresql://user@host/db.")
    if any(ch in (parsed.host or "") + (parsed.database or "") for ch in "@/:?#"):
        # A password with @ or / in it, not percent-encoded: the part after it would be
        # taken for the host, and shown in messages.
        raise InputError(
            "MARKETBOT_DATABASE_URL could not be read: percent-encode any @ / : ? # in the "
            "user name or password (@ is %40, / is %2F, : is %3A)."
        )
    return parsed.set(drivername="postgresql+psycopg")


class PostgresState(State):
    """The same tables in PostgreSQL. Every connection is checked before use (a restarted
    server costs one retry, not an error) and bounded in time; the writer lock is an advisory
    lock held by one connection, which the server releases when that host dies."""

    name = "PostgreSQL"

    def __init__(self, url: str, writer_name: str = "marketbot writer") -> None:
        self.url = engine_url(url)
        engine = create_engine(
            self.url,
            pool_pre_ping=True,
            pool_size=4,
            max_overflow=8,
            pool_timeout=STATEMENT_SECONDS,
            connect_args={
                "connect_timeout": CONNECT_SECONDS,
                "application_name": "marketbot",
                # Keepalives both ways, so a host that vanishes (power, network) is noticed in
                # about a minute, and its writer lock released, rather than after two hours.
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
                "options": f"-c statement_timeout={STATEMENT_SECONDS * 1000} "
                "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 "
                "-c tcp_keepalives_count=3",
            },
        )
        super().__init__(engine)
        self._writer_key = lock_key(writer_name)
        # Hosts starting at once: one creates the tables, the others wait and find them.
        try:
            with engine.begin() as db:
                db.execute(select(func.pg_advisory_xact_lock(lock_key("marketbot schema"))))
                metadata.create_all(db)
        except OperationalError as error:
            engine.dispose()
            raise UserError(
                f"Could not connect to the database at {self.describe()} "
                f"(MARKETBOT_DATABASE_URL): {_reason(error)}"
            ) from None
        except DBAPIError as error:  # reached, but refused: no right to create the tables
            engine.dispose()
            raise UserError(
                f"The database at {self.describe()} refused to set up marketbot's tables "
                f"(MARKETBOT_DATABASE_URL; its user must own the database): {_reason(error)}"
            ) from None

    def _insert(self, table: Any) -> Any:
        return insert(table)

    def _serialise(self, db: Connection, key: str) -> None:
        # Under READ COMMITTED a row lock on rows that do not exist yet locks nothing: a lock
        # on the key itself, released when the transaction ends.
        db.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))

    def _clock(self) -> ColumnElement[float]:
        return epoch_seconds(func.extract("epoch", func.clock_timestamp()))

    def writer(self, timeout: float) -> AbstractContextManager[Callable[[], None]]:
        return self._advisory(self._writer_key, timeout)

    @contextmanager
    def _advisory(self, key: int, timeout: float) -> Iterator[Callable[[], None]]:
        """A session advisory lock on a connection of its own, never returned to the pool (a
        pooled connection would carry the lock to its next user): it is closed afterwards,
        which releases the lock whatever happened in between."""
        db = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            deadline = time.monotonic() + timeout
            pause = 0.05
            while not db.execute(select(func.pg_try_advisory_lock(key))).scalar():
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"Another host has been writing for over {timeout:g} s (the "
                        "database's writer lock); try again when it has finished."
                    )
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

            def still_held() -> None:
                try:
                    held = db.execute(_HELD, {"key": key}).scalar()
                except DBAPIError:
                    held = False
                if not held:
                    raise LockLost(
                        "Lost the database's writer lock (its connection dropped) while "
                        "writing; nothing more was written: run it again."
                    )

            yield still_held
        finally:
            try:
                db.execute(select(func.pg_advisory_unlock(key)))
            except Exception:  # the connection is gone, and the lock with it
                log.warning("the writer lock's connection was lost before its release")
            db.invalidate()
            db.close()

    def describe(self) -> str:
        return f"PostgreSQL ({self.url.host}:{self.url.port or 5432}/{self.url.database})"


def _reason(error: DBAPIError) -> str:
    """The driver's first line (it names the host and what failed, never the password)."""
    lines = str(error.orig or error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__
