"""Shared state (budget, answer log, feeds, leases, the writer lock): `open_state(settings)`."""

from __future__ import annotations

from pathlib import Path

from bot.state.base import State
from bot.state.legacy import import_data_dir
from bot.state.sqlite import SQLiteState

__all__ = ["SQLiteState", "State", "open_state", "sqlite_state"]

STATE_FILE = "state.sqlite3"


def sqlite_state(data_dir: Path) -> SQLiteState:
    """The data dir's own state, with what earlier versions kept there copied in."""
    state = SQLiteState(Path(data_dir) / STATE_FILE)
    import_data_dir(state, data_dir, own_file=state.path)
    return state


def open_state(data_dir: Path, database_url: str | None = None) -> State:
    """PostgreSQL when `database_url` is set (the data dir's state copied into it the first
    time), else the data dir's SQLite file."""
    if not database_url:
        return sqlite_state(data_dir)
    from bot.state.postgres import PostgresState  # imports psycopg: only when configured

    state = PostgresState(database_url)
    import_data_dir(state, data_dir)
    return state
