"""The terminal console: the same commands as Discord, typed at a prompt."""

from __future__ import annotations

import logging
import re
from typing import Any, TextIO

from rich.console import Console

from bot.core.text import printable
from bot.errors import InputError, UserError
from bot.market.history import parse_day
from bot.render import answer_text, price_text

HELP = """Commands:
  /ask QUESTION   answer a question (a plain line does the same)
  /reply TEXT     a follow-up to the last answer, as a reply is on Discord ("and SOL?",
                  "and the day after?"): it keeps the asset, day and window it leaves out
  /sources [Q]    what I know about, newest first (Q: a word or asset to filter by)
  /price ASSET    the price now, with its source and time
  /chart ASSET [DAYS] [YYYY-MM-DD]  a PNG chart of DAYS days (default 7) up to today or
                  around that day, saved in the data dir
  /watch add ASSET THRESHOLD [1h|4h|24h] [up|down]   watch an asset in this console
  /watch list     the watches, and why any stopped
  /watch remove ASSET [WINDOW]   stop watching
                  (`marketbot watch run` prints what the watches would post)
  /help           this list
  /quit           leave (Ctrl-D too)"""


# The last question answered in this process, per services: what /reply follows up.
_LAST: dict[int, str] = {}


def run_console(services: Any, stdin: TextIO, out: Console) -> None:
    """Read commands until /quit or end of input; one bad line never ends the session."""
    out.print("marketbot console. Ask why a market moved, or type /help.", highlight=False)
    interactive = stdin.isatty()
    while True:
        if interactive:
            out.print("> ", end="", highlight=False)
        line = stdin.readline()
        if not line:
            return
        try:
            reply = handle_line(services, line.strip())
        except Exception:  # one bad line never ends the session
            logging.getLogger(__name__).exception("console command failed")
            reply = "Something went wrong with that command; it was logged."
        if reply is None:
            return
        if reply:
            # soft_wrap: the terminal wraps long lines; rich must not break them itself. A
            # reply quotes sources: rich reads neither markup nor :emoji: codes in it.
            out.print(reply, markup=False, highlight=False, emoji=False, soft_wrap=True)


def handle_line(services: Any, line: str) -> str | None:
    """The console's reply to one line; None means quit. Control characters and bidi
    overrides from the sources are shown as visible escapes (\\x1b, \\u202e)."""
    reply = _reply(services, line)
    return None if reply is None else printable(reply)


def _reply(services: Any, line: str) -> str | None:
    if not line:
        return ""
    command, _, rest = line.partition(" ") if line.startswith("/") else ("/ask", "", line)
    command = command.lower()
    try:
        if command in ("/quit", "/exit"):
            return None
        if command == "/help":
            return HELP
        if command == "/ask":
            answer = services.ask(rest, place="console")
            _LAST[id(services)] = answer.question
            return answer_text(answer)
        if command == "/reply":
            earlier = _LAST.get(id(services))
            if earlier is None:
                return "Nothing to reply to yet: ask a question first."
            answer = services.ask(rest, place="console", follow_up_to=earlier)
            _LAST[id(services)] = answer.question
            return f"{answer.question}\n\n{answer_text(answer)}"
        if command == "/price":
            quote, others = services.price(rest)
            return price_text([quote, *others])
        if command == "/chart":
            return chart_reply(services, rest)
        if command == "/watch":
            return watch_reply(services, rest)
        if command == "/sources":
            articles = services.sources(rest or None)
            rows = [
                f"{a.id}  {a.published_at:%Y-%m-%d}  {a.title}"
                if a.published_at
                else f"{a.id}  ????-??-??  {a.title}"
                for a in articles[:20]
            ]
            rows = [
                f"{row}  [flagged: {', '.join(a.flags)}]" if a.flags else row
                for row, a in zip(rows, articles, strict=False)
            ]
            total = f"({len(articles)} article{'' if len(articles) == 1 else 's'}"
            total += f" matching \u201c{rest}\u201d)" if rest else ")"
            return "\n".join([*rows, total])
        return f"Unknown command {command}. Type /help."
    except UserError as error:
        return str(error)


def chart_reply(services: Any, rest: str) -> str:
    """/chart ASSET [DAYS]: the chart is written to the data dir, the reply says where."""
    words = rest.split()
    days, around = 7, None
    if len(words) > 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[-1]):
        around = parse_day(words.pop())
    if len(words) > 1 and re.fullmatch(r"[0-9]{1,3}", words[-1]):
        days = int(words.pop())
    if not words:
        raise InputError("Say which asset, e.g. /chart ETH 30, or /chart ETH 14 2025-11-04")
    png, caption = services.chart(" ".join(words), days, around)
    folder = services.settings.data_dir / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{services.market.symbol(' '.join(words))}-{days}d.png"
    path.write_bytes(png)
    return f"{caption}\nChart saved to {path}"


def watch_reply(services: Any, rest: str) -> str:
    """/watch add|list|remove, on the console's own channel ("console")."""
    from bot.alerts import WatchStore
    from bot.alerts.watcher import Watcher
    from bot.render import watch_added_text, watches_text

    store = WatchStore(services.state, services.settings.max_watches)
    action, *words = rest.split() or ["list"]
    action = action.lower()
    if action == "list":
        return watches_text(store.in_channel("console"), Watcher(services).status())
    if action == "add" and len(words) >= 2:
        from bot.alerts.watcher import check_watchable

        options = [w.lower() for w in words[2:]]
        window = next((w for w in options if w in ("1h", "4h", "24h")), None)
        direction = next((w for w in options if w in ("up", "down", "both")), None)
        unknown = [w for w in options if w not in (window, direction)]
        if unknown or len(options) > 2:
            raise InputError(
                f"Not a window (1h, 4h, 24h) or a direction (up, down, both): "
                f"{' '.join(unknown or options)[:40]}"
            )
        symbol = services.market.symbol(words[0])
        check_watchable(services.assets, symbol)
        previous = store.find("console", symbol, window)
        watch = store.add(
            place="console",
            channel="console",
            asset=symbol,
            threshold=words[1],
            window=window,
            direction=direction,
            added_by="console",
        )
        note = Watcher(services).status() or "`marketbot watch run` posts its alerts here."
        return f"{watch_added_text(watch, previous)}\n{note}"
    if action == "remove" and words:
        window = words[1] if len(words) > 1 else None
        removed = store.remove("console", services.market.symbol(words[0]), window)
        return "\n".join(f"Stopped watching {w.describe()}." for w in removed)
    raise InputError("Try /watch add ETH 5 [1h|4h|24h] [up|down], /watch list or /watch remove ETH")
