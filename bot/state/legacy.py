"""State kept in a data dir before it moved behind `State`, or on its way to PostgreSQL, is
copied in once: feeds.json, answers.sqlite3 and model_calls.sqlite3 (written by earlier
versions), and state.sqlite3 when the configured state is another database. Rows already
there win; each file is renamed `<name>.imported` once copied, never deleted."""

from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from bot.core.files import exclusive
from bot.state.base import State
from bot.state.schema import FEED_COLUMNS, answers, feedback, feeds, meta, model_calls

log = logging.getLogger(__name__)

IMPORT_WAIT = 120.0


def import_data_dir(state: State, data_dir: Path, *, own_file: Path | None = None) -> list[str]:
    """Copy what `data_dir` holds from before into `state`; the names of the files copied.
    `own_file` is the state's own SQLite file (never copied into itself)."""
    data_dir = Path(data_dir)
    candidates = ("answers.sqlite3", "model_calls.sqlite3", "feeds.json", "state.sqlite3")
    present = [
        data_dir / name
        for name in candidates
        if (data_dir / name).exists() and (own_file is None or data_dir / name != own_file)
    ]
    if not present:
        return []
    copied = []
    with exclusive(data_dir / "state-import.lock", IMPORT_WAIT):
        for path in present:
            if not path.exists():  # another process on this data dir copied it meanwhile
                continue
            try:
                if path.suffix == ".json":
                    _copy_feeds(state, path)
                else:
                    _copy_sqlite(state, path)
            except Exception:
                log.exception("could not copy %s into the %s state; it stays", path, state.name)
                continue
            kept = _keep(path)
            copied.append(path.name)
            log.warning("copied %s into the %s state (kept as %s)", path, state.name, kept.name)
    return copied


def _keep(path: Path) -> Path:
    """Rename a copied file to `<name>.imported` (`.imported.2`, ... when that exists), with
    its SQLite sidecars, so the kept copy opens with everything it held."""
    kept = path.with_name(path.name + ".imported")
    number = 1
    while kept.exists():
        number += 1
        kept = path.with_name(f"{path.name}.imported.{number}")
    path.rename(kept)
    for sidecar in ("-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + sidecar)
        if extra.exists():
            extra.rename(kept.with_name(kept.name + sidecar))
    return kept


def _copy_sqlite(state: State, path: Path) -> None:
    # Read-write, so that a write-ahead log left by a process that was killed is read and
    # folded into the file (a read-only connection could not replay it).
    with closing(sqlite3.connect(path, timeout=30)) as source:
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
        if "salt" in tables:  # answers.sqlite3's salt: keep its users' hashes meaningful
            row = source.execute("SELECT value FROM salt ORDER BY rowid LIMIT 1").fetchone()
            if row:
                _copy(state, meta, [{"key": "salt", "value": row[0]}])
                if state.salt() != row[0]:
                    log.warning(
                        "%s had its own salt: votes it recorded cannot be matched to the same "
                        "people's new votes (they may vote once more on those answers)",
                        path.name,
                    )
        for table in (meta, model_calls, answers, feedback, feeds):
            if table.name in tables:
                cursor = source.execute(f'SELECT * FROM "{table.name}"')
                present = [d[0] for d in cursor.description]
                wanted = {c.name for c in table.columns}
                rows = [
                    {
                        name: value
                        for name, value in zip(present, record, strict=True)
                        if name in wanted
                    }
                    for record in cursor
                ]
                _copy(state, table, rows)


def _copy_feeds(state: State, path: Path) -> None:
    from bot.feeds import Feed, feed_key

    data = json.loads(path.read_text(encoding="utf-8"))
    for position, row in enumerate(data["feeds"]):
        feed = Feed.from_json(row)
        values = {name: value for name, value in feed.to_json().items() if name in FEED_COLUMNS}
        _copy(state, feeds, [{"key": feed_key(feed.url), "seq": float(position), **values}])


def _copy(state: State, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = list(table.primary_key.columns)
    with state._write() as db:
        for start in range(0, len(rows), 500):
            statement = state._insert(table).values(rows[start : start + 500])
            db.execute(statement.on_conflict_do_nothing(index_elements=keys))
