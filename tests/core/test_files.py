"""The data dir's writer lock: one writer at a time across processes, a waiter that gives up
with a clear message instead of hanging for ever, and a lock a dead holder cannot keep."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.files import Busy, exclusive
from bot.errors import UserError

HOLD = """
import sys, time
from pathlib import Path
from bot.core.files import exclusive
with exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def holder(lock: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_writer_waiting_too_long_is_told_so_and_a_dead_holder_lets_go(tmp_path: Path) -> None:
    lock = tmp_path / "data" / "ingest.lock"
    process = holder(lock)
    try:
        started = time.monotonic()
        with pytest.raises(Busy) as refused, exclusive(lock, timeout=0.5):
            pass
        assert time.monotonic() - started >= 0.5
        assert isinstance(refused.value, UserError)  # shown to the user as it is
        assert "Another process has been writing for over 0.5 s" in str(refused.value)
        assert "ingest.lock" in str(refused.value)
    finally:
        process.kill()  # kill -9: the kernel releases the lock with the process
        process.wait()

    with exclusive(lock, timeout=5):
        assert lock.exists()
