"""The two file disciplines every writer in the data dir shares: one writer at a time, and
files replaced whole."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from bot.errors import UserError

WRITER_WAIT = 900.0  # seconds a writer waits for another (a large ingestion takes minutes)


class Busy(UserError):
    """Another process held a lock for longer than this one would wait."""


class LockLost(UserError):
    """The writer lock was lost while writing (the database dropped its connection)."""


def never_lost() -> None:
    """The check of a lock that cannot be lost while its holder runs (a file lock, or none)."""


@contextmanager
def exclusive(lock_path: Path, timeout: float = WRITER_WAIT) -> Iterator[Callable[[], None]]:
    """Hold an exclusive lock on `lock_path` (across processes; the kernel releases it if the
    holder dies) for the block; raise Busy after `timeout` seconds of waiting, so one stuck
    writer cannot stall every other for ever."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path, timeout=timeout, thread_local=False, preserve_lock_file=True)
    try:
        lock.acquire()
    except Timeout:
        raise Busy(
            f"Another process has been writing for over {timeout:g} s ({lock_path.name} in "
            "the data dir); try again when it has finished."
        ) from None
    try:
        yield never_lost  # a file lock is held until released: the kernel drops it only at exit
    finally:
        lock.release()


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file, fsync and a rename: a crash leaves the old file whole,
    never half of the new one. The file is 0644, like the rest of the data dir."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
