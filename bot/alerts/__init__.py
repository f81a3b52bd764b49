"""Move alerts: channels watch assets; when one moves past its threshold the bot posts why.

model: watches, moves and the rule that decides when a move is posted (pure); store: watches
and their alerts in the shared state; watcher: live prices to posts; replay: the same rule
over stored price history, explained only from news published before each alert.
"""

from bot.alerts.model import DIRECTIONS, WINDOWS, Move, Watch, decide
from bot.alerts.store import WatchStore

__all__ = ["DIRECTIONS", "WINDOWS", "Move", "Watch", "WatchStore", "decide"]
