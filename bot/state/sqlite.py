"""The default state: one SQLite file in the data dir, shared by the processes of one host."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.sql.elements import ColumnElement

from bot.core.files import exclusive
from bot.state.base import State, epoch_seconds
from bot.state.schema import metadata


class SQLiteState(State):
    """`path` (data_dir/state.sqlite3), in WAL mode; every transaction takes SQLite's write
    lock at its start (BEGIN IMMEDIATE), so a read-modify-write is never interleaved. The writer
    lock is a file lock beside it, which the kernel releases when its holder dies."""

    name = "SQLite"

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        engine = create_engine(
            f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _connect(connection: Any, _record: Any) -> None:
            connection.isolation_level = None  # SQLAlchemy's BEGIN below, not pysqlite's
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            writing = connection.get_execution_options().get("writing")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

        super().__init__(engine)
        with self._write() as db:
            metadata.create_all(db)

    def _insert(self, table: Any) -> Any:
        return insert(table)

    def _clock(self) -> ColumnElement[float]:
        return epoch_seconds((func.julianday("now") - 2440587.5) * 86400.0)

    def writer(self, timeout: float) -> AbstractContextManager[Callable[[], None]]:
        return exclusive(self.path.with_name("ingest.lock"), timeout)

    def describe(self) -> str:
        return f"SQLite ({self.path.name} in the data dir)"
