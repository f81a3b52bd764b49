"""The daily budget of model calls: shared by every process on a data dir, never refilled by a
restart, never over-spent by processes taking at once, and new each UTC day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bot.core.budget
from bot.core.budget import CallBudget

TAKE = """
import sys
from pathlib import Path
from bot.core.budget import CallBudget
budget = CallBudget(Path(sys.argv[1]), 25)
print(sum(budget.take("guild 1") for _ in range(20)))
"""


def test_processes_taking_at_once_never_spend_more_than_the_day_allows(tmp_path: Path) -> None:
    path = tmp_path / "model_calls.sqlite3"
    CallBudget(path, 25).close()  # created once, as the bot's first process does
    takers = [
        subprocess.Popen([sys.executable, "-c", TAKE, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    granted = [int(p.communicate(timeout=120)[0]) for p in takers]

    assert sum(granted) == 25  # 80 asked for, 25 allowed, none twice
    restarted = CallBudget(path, 25)
    assert restarted.used("guild 1") == 25 and not restarted.take("guild 1")
    assert restarted.take("guild 2")  # another server has its own budget


def test_a_new_utc_day_brings_a_new_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    budget = CallBudget(tmp_path / "calls.sqlite3", 2)
    monkeypatch.setattr(bot.core.budget, "_today", lambda: "2025-11-04")
    assert budget.take("user 7") and budget.take("user 7") and not budget.take("user 7")

    monkeypatch.setattr(bot.core.budget, "_today", lambda: "2025-11-05")

    assert budget.used("user 7") == 0 and budget.take("user 7")
