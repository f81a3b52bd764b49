"""The daily budget of model calls: shared by every process on the state (a data dir's SQLite
file, or one PostgreSQL database for several hosts), never refilled by a restart, never
over-spent by processes taking at once, and new each UTC day."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bot.core.budget
from bot.core.budget import CallBudget
from bot.state import State, open_state
from tests.conftest import StateTarget

TAKE = """
import sys
from pathlib import Path
from bot.core.budget import CallBudget
from bot.state import open_state
budget = CallBudget(open_state(Path(sys.argv[1]), sys.argv[2] or None), 25)
print(sum(budget.take("guild 1") for _ in range(20)))
"""


def test_processes_taking_at_once_never_spend_more_than_the_day_allows(
    state_target: StateTarget, state: State
) -> None:
    # `state` made the tables once, as the bot's first process does; each taker has its own
    # data dir, as on another host (with SQLite they share the one dir).
    data_dir, url = state_target
    takers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                TAKE,
                str(data_dir if url is None else data_dir / f"h{n}"),
                url or "",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    granted = [int(p.communicate(timeout=120)[0]) for p in takers]

    assert sum(granted) == 25  # 80 asked for, 25 allowed, none twice
    restarted = CallBudget(open_state(data_dir, url), 25)
    assert restarted.used("guild 1") == 25 and not restarted.take("guild 1")
    assert restarted.take("guild 2")  # another server has its own budget


def test_a_new_utc_day_brings_a_new_budget(state: State, monkeypatch: pytest.MonkeyPatch) -> None:
    budget = CallBudget(state, 2)
    monkeypatch.setattr(bot.core.budget, "_today", lambda: "2025-11-04")
    assert budget.take("user 7") and budget.take("user 7") and not budget.take("user 7")

    monkeypatch.setattr(bot.core.budget, "_today", lambda: "2025-11-05")

    assert budget.used("user 7") == 0 and budget.take("user 7")


def test_a_budget_of_nothing_grants_nothing(state: State) -> None:
    budget = CallBudget(state, 0)
    assert not budget.take("guild 1") and budget.used("guild 1") == 0
