"""The marketbot command line: ingest, ask, sources, forget, feeds, feedback, commands, sync,
run."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot.core.text import printable, strip_unsafe
from bot.errors import UserError
from bot.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="marketbot: explains market moves from a cited corpus of news.",
)
# Piped, rich would cut tables to 80 columns: a pipe gets the whole rows (COLUMNS still wins).
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 250)
err = Console(stderr=True)


# What the CLI prints quotes sources and file names: control characters, bidi overrides and
# undecodable bytes are shown as escapes (printable), and rich reads no markup or :emoji: in it.
def _say(text: str) -> None:
    """A line (or lines) of plain output on stdout, as it is, never wrapped."""
    print(printable(text), flush=True)


def _complain(text: str) -> None:
    """A message on stderr, shown as written."""
    err.print(printable(text), markup=False, highlight=False, emoji=False, soft_wrap=True)


def _json(value: Any, **options: Any) -> str:
    """JSON whose strings carry no raw control, bidi or lone surrogate character: those are
    written as \\u escapes, which read back as the same text."""
    text = json.dumps(value, ensure_ascii=False, **options)
    if strip_unsafe(text) == text:
        return text
    return "".join(c if strip_unsafe(c) == c else f"\\u{ord(c):04x}" for c in text)


def _cell(value: object) -> Text:
    """A table cell holding text, not rich markup."""
    return Text(printable(str(value)))


class State:
    offline: bool = False
    data_dir: Path | None = None


def _settings() -> Settings:
    overrides: dict[str, Any] = {}
    if State.offline:
        overrides["offline"] = True
    if State.data_dir is not None:
        overrides["data_dir"] = State.data_dir
    try:
        settings = Settings(**overrides)
    except ValidationError as error:  # a setting out of range: which one, and why, in a line
        problems = "; ".join(
            f"MARKETBOT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise UserError(f"A setting is wrong: {problems}") from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings


def _services(settings: Settings | None = None) -> Any:
    from bot.services import build_services

    return build_services(settings or _settings())


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    offline: Annotated[bool, typer.Option("--offline", help="Make no network connection.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Override MARKETBOT_DATA_DIR.")] = None,
) -> None:
    State.offline = offline
    State.data_dir = data_dir
    if ctx.invoked_subcommand is None:
        run()


@app.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help="Files, folders or article URLs.")],
    outlet: Annotated[str | None, typer.Option(help="Outlet name for items that lack one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private", help="Let URLs reach loopback and private addresses (testing)."
        ),
    ] = False,
) -> None:
    """Ingest news files and folders (CoinDesk export, JSON, JSONL, CSV, Markdown, HTML, text)
    and article pages by URL (http and https; public addresses only unless --allow-private)."""
    from bot.core.ingest import IngestReport

    urls = [s for s in sources if s.lower().startswith(("http://", "https://"))]
    paths = [Path(s) for s in sources if s not in urls]
    services = _services()
    report = IngestReport()
    for url in urls:
        fetched = services.ingest_url(url, ingested_by="cli", allow_private=allow_private or None)
        report.files += fetched.files
        report.chunks += fetched.chunks
        report.seconds += fetched.seconds
    if not paths:
        _print_report(report, as_json)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    ) as progress:
        task = progress.add_task("reading", total=None)

        def report_progress(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, description=escape(printable(what)))

        from_files = services.ingest(paths, outlet=outlet, progress=report_progress)
    report.files += from_files.files
    report.chunks += from_files.chunks
    report.seconds += from_files.seconds
    _print_report(report, as_json)


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "files": [f.to_json() for f in report.files],
                    "chunks": report.chunks,
                    "stored": report.stored,
                    "seconds": round(report.seconds, 2),
                }
            )
        )
    else:
        # Plain print: a report piped to a file must not be wrapped at the terminal width.
        for f in report.files:
            _say(
                f"{f.origin}: {f.format}, {f.found} found, {f.stored} new, "
                f"{f.updated} updated, {f.duplicates} already stored"
            )
            for problem in f.problems:
                _say(f"  - {problem}")
        from bot.render import counted

        print(
            f"{counted(report.stored, 'article')} stored ({counted(report.chunks, 'chunk')}) "
            f"in {report.seconds:.1f} s"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[list[str], typer.Argument(help="The question, or - to read stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer a question; with `-`, answer one question per stdin line (JSON Lines with --json)."""
    services = _services()
    text = " ".join(question)
    if text.strip() == "-":
        for line in sys.stdin:
            if line.strip():
                _answer(services, line.strip(), as_json)
        return
    _answer(services, text, as_json)


def _answer(services: Any, question: str, as_json: bool) -> None:
    from bot.render import answer_text

    try:
        answer = services.ask(question)
    except UserError as error:
        if as_json:
            print(
                json.dumps({"question": question, "status": "error", "error": str(error)}),
                flush=True,
            )
            return
        _complain(str(error))
        raise typer.Exit(2) from error
    if as_json:
        print(_json(answer.to_json()), flush=True)
    else:
        _say(answer_text(answer))


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the stored articles, newest first."""
    articles = _services().sources()
    if as_json:
        print(_json([a.summary() for a in articles]))
        return
    table = Table("id", "published", "outlet", "title", "assets", "added by", "flags")
    for a in articles:
        table.add_row(
            _cell(a.id),
            a.published_at.strftime("%Y-%m-%d") if a.published_at else "?",
            _cell(a.outlet or "unknown"),
            _cell(a.title[:70]),
            _cell(" ".join(a.assets[:5])),
            _cell(a.ingested_by),
            _cell(", ".join(a.flags)),
            style="yellow" if a.flags else None,
        )
    out.print(table)
    from bot.render import counted

    out.print(counted(len(articles), "article"))


@app.command()
def forget(article_id: Annotated[str, typer.Argument(help="The id `sources` shows.")]) -> None:
    """Remove an article and all its chunks."""
    article = _services().forget(article_id)
    _say(f"Forgot {article.id}: {article.title}")


def _market(settings: Settings) -> Any:
    """Prices without the embedding model: the asset table, the history, the exchanges."""
    from bot.core import network
    from bot.core.assets import AssetTable
    from bot.services import build_market

    if settings.offline:
        network.forbid_remote_connections()
    return build_market(settings, AssetTable.load(settings.knowledge_dir / "assets.json"))


@app.command()
def price(
    asset: Annotated[str, typer.Argument(help="A ticker or name: ETH, ether, SPY.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The price now (live, last known or snapshot), with its source and time."""
    settings = _settings()
    market = _market(settings)
    try:
        quote, others = market.price(asset, settings.live_timeout)
    finally:
        if market.live is not None:
            market.live.close()
    figures = [quote, *others]
    if as_json:
        print(_json([f.to_json() for f in figures]))
    else:
        for figure in figures:
            _say(f"{figure.label}: {figure.text}")


@app.command()
def chart(
    asset: Annotated[str, typer.Argument(help="A ticker or name: ETH, ether, SPY.")],
    days: Annotated[int, typer.Option(min=1, max=365, help="Days to show.")] = 7,
    out_path: Annotated[Path | None, typer.Option("--out", help="PNG file to write.")] = None,
    around: Annotated[
        str | None, typer.Option(help="Centre on this day (YYYY-MM-DD), e.g. an event's.")
    ] = None,
) -> None:
    """A PNG chart of the price, with the stored articles about the asset marked."""
    from bot.market.history import parse_day

    services = _services()
    png, caption = services.chart(asset, days, parse_day(around) if around else None)
    path = out_path or Path(f"{services.market.symbol(asset)}-{days}d.png")
    path.write_bytes(png)
    _say(caption)  # it names the articles marked on the chart
    _say(f"wrote {path}")


prices_app = typer.Typer(help="Price history for premise checks and charts.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")


@prices_app.command("import")
def prices_import(
    path: Annotated[Path, typer.Argument(help="A Binance kline CSV or a Yahoo-style CSV.")],
    symbol: Annotated[
        str | None, typer.Option(help="The asset (default: from the file name, ETHUSDT_1d -> ETH).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Where the numbers come from.")] = None,
) -> None:
    """Load daily history into the data dir (it extends and corrects the bundled snapshot)."""
    from bot.market.history import PriceHistory, symbol_from_filename

    settings = _settings()
    history = PriceHistory(settings.knowledge_dir / "prices", settings.data_dir / "prices")
    try:
        data = path.read_bytes()
    except OSError as error:
        _complain(f"Cannot read {path}: {error.strerror}")
        raise typer.Exit(2) from error
    name = symbol or symbol_from_filename(path.name)
    try:
        count, first, last = history.import_csv(data, name, source or f"imported from {path.name}")
    except UserError as error:
        _complain(f"{path.name}: {error}")
        raise typer.Exit(2) from error
    print(f"{name.upper()}: {count} daily bars, {first} to {last}")


feeds_app = typer.Typer(help="RSS and Atom feeds polled for news.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
AllowPrivate = Annotated[
    bool,
    typer.Option("--allow-private", help="Let feeds reach loopback and private addresses."),
]


def _feed_store() -> Any:
    from bot.feeds import FeedStore
    from bot.services import state_for

    return FeedStore(state_for(_settings()))


def _poll_line(report: Any) -> str:
    from bot.feeds.parse import MAX_ENTRIES

    if report.status == "not modified":
        return f"{report.feed.url}: not modified, nothing new"
    if report.status == "polled elsewhere":
        return f"{report.feed.url}: another bot process is polling it now"
    if report.status == "not due":
        return (
            f"{report.feed.url}: read a moment ago by another process; "
            f"next poll {report.feed.next_poll}"
        )
    skipped = (
        f"; {report.skipped} older items not read (only the newest {MAX_ENTRIES} are)"
        if report.skipped
        else ""
    )
    return (
        f"{report.feed.url}: {report.found} items, {report.new} new, {report.updated} updated, "
        f"{report.duplicates} already stored{skipped}"
    )


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="The feed's address (RSS or Atom).")],
    allow_private: AllowPrivate = False,
) -> None:
    """Add a feed: it is fetched once (refused unless it is a feed), stored and ingested."""
    if _feed_store().get(url) is not None:  # refused before the model loads
        raise UserError(f"{url.strip()} is already being polled; `feeds list` shows it.")
    feed, report = _services().add_feed(url, added_by="cli", allow_private=allow_private or None)
    _say(f"Added {feed.url} ({feed.title or 'untitled'})")
    _say(_poll_line(report))
    for problem in report.problems:
        _say(f"  - {problem}")


@feeds_app.command("list")
def feeds_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The feeds, with when each was last read and its last error."""
    feeds = _feed_store().list()
    rows = [
        {
            "url": f.url,
            "title": f.title,
            "added_by": f.added_by,
            "last_ok": f.last_ok,
            "last_error": f.last_error,
            "failures": f.failures,
            "next_poll": f.next_poll,
            "items": f.items_seen,
            "skipped": f.items_skipped,
        }
        for f in feeds
    ]
    if as_json:
        print(_json(rows))
        return
    table = Table("url", "title", "added by", "last read", "next poll", "items", "last error")
    for row in rows:
        table.add_row(
            _cell(row["url"]),
            _cell((row["title"] or "")[:40]),
            _cell(row["added_by"]),
            _cell(row["last_ok"] or "never"),
            _cell(row["next_poll"] or "now"),
            f"{row['items']} ({row['skipped']} older not read)"
            if row["skipped"]
            else str(row["items"]),
            _cell(f"{row['last_error']} ({row['failures']} failures)" if row["last_error"] else ""),
            style="red" if row["last_error"] else None,
        )
    out.print(table)
    from bot.render import counted

    out.print(counted(len(rows), "feed"))


@feeds_app.command("remove")
def feeds_remove(
    url: Annotated[str, typer.Argument(help="The address `feeds list` shows.")],
) -> None:
    """Stop polling a feed; the articles it brought stay."""
    feed = _feed_store().remove(url)
    _say(f"Removed {feed.url}; its articles stay (`forget` removes one).")


@feeds_app.command("poll")
def feeds_poll(
    force: Annotated[bool, typer.Option("--force", help="Poll every feed, due or not.")] = False,
    allow_private: AllowPrivate = False,
) -> None:
    """Poll the feeds that are due (every feed with --force) and ingest their new items;
    exits 1 when a feed failed."""
    from bot.feeds import FeedError

    results = _services().poll_feeds(force, allow_private=allow_private or None)
    if not results:
        print("No feed is due; --force polls them all.")
    for feed, outcome in results:
        if isinstance(outcome, FeedError):
            _say(f"{feed.url}: error: {outcome} (retried after {feed.next_poll})")
            continue
        _say(_poll_line(outcome))
        for problem in outcome.problems:
            _say(f"  - {problem}")
    if any(isinstance(outcome, FeedError) for _, outcome in results):
        raise typer.Exit(1)


watch_app = typer.Typer(help="Move alerts: assets a channel watches.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")
alerts_app = typer.Typer(help="Move alerts over past prices.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
Channel = Annotated[
    str,
    typer.Option("--channel", help="A Discord channel id; the console's own by default."),
]


def _channel(channel: str) -> str:
    """A Discord channel's id, or the console's own channel."""
    channel = channel.strip()
    if channel != "console" and not (channel.isascii() and channel.isdigit()):
        raise UserError("--channel is a Discord channel's id (digits) or `console`.")
    return channel


def _watch_store(settings: Settings) -> Any:
    from bot.alerts import WatchStore
    from bot.services import state_for

    return WatchStore(state_for(settings), settings.max_watches)


@watch_app.command("add")
def watch_add(
    asset: Annotated[str, typer.Argument(help="A ticker or name: ETH, ether, SPY.")],
    threshold: Annotated[str, typer.Argument(help="The move that posts, in %: 5")],
    window: Annotated[str, typer.Option(help="1h, 4h or 24h.")] = "24h",
    direction: Annotated[str, typer.Option(help="up, down or both.")] = "both",
    channel: Channel = "console",
    server: Annotated[str, typer.Option(help="The channel's server id (for its limit).")] = "",
) -> None:
    """Watch an asset: post why when it moves past the threshold.

    A Discord channel's watches are posted by the running bot, the console's by `watch run`.
    """
    from bot.alerts.watcher import check_watchable
    from bot.render import watch_added_text

    settings = _settings()
    channel = _channel(channel)
    market = _market(settings)
    symbol = market.symbol(asset)
    check_watchable(market.assets, symbol)
    if channel != "console" and not (server.isascii() and server.isdigit()):
        raise UserError("A Discord channel's watch needs its server: --server ID (for the limit).")
    if channel == "console" and server:
        raise UserError("--server goes with a Discord --channel; the console has no server.")
    store = _watch_store(settings)
    previous = store.find(channel, symbol, window)
    watch = store.add(
        place=server or channel,
        channel=channel,
        asset=symbol,
        threshold=threshold,
        window=window,
        direction=direction,
        added_by="cli",
    )
    _say(watch_added_text(watch, previous, f"in {watch.channel}"))


@watch_app.command("list")
def watch_list(
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only this channel's watches.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The watches, with who added them and why any stopped."""
    import dataclasses

    from bot.alerts.watcher import NO_LIVE

    settings = _settings()
    store = _watch_store(settings)
    watches = store.in_channel(channel) if channel else store.all()
    if as_json:
        print(_json([dataclasses.asdict(w) for w in watches]))
        return
    if not [e for e in settings.exchanges if not settings.offline or e in settings.exchange_urls]:
        _say(NO_LIVE)
    for w in watches:
        stopped = f" (stopped: {w.disabled})" if w.disabled else ""
        _say(f"{w.channel}: {w.describe()}, added by {w.added_by} on {w.added_at[:10]}{stopped}")
    if not watches:
        where = f" in {channel}" if channel else ""
        _say(f"No watches{where}: `marketbot watch add ETH 5` adds one.")


@watch_app.command("remove")
def watch_remove(
    asset: Annotated[str, typer.Argument(help="The asset watched.")],
    window: Annotated[str | None, typer.Option(help="Only this window's watch.")] = None,
    channel: Channel = "console",
) -> None:
    """Stop watching an asset in a channel."""
    settings = _settings()
    removed = _watch_store(settings).remove(
        _channel(channel), _market(settings).symbol(asset), window
    )
    for watch in removed:
        _say(f"Stopped watching {watch.describe()} in {watch.channel}.")


@watch_app.command("run")
def watch_run(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
) -> None:
    """Run the console's watches: print each alert (and its update) as it fires.

    Reads the prices of the watches added without --channel every MARKETBOT_WATCH_SECONDS.
    Discord channels' watches are posted by the running bot.
    """
    import time

    from bot.alerts.watcher import NO_LIVE, Watcher
    from bot.render import alert_text, counted

    settings = _settings()
    services = _services(settings)
    watcher = Watcher(
        services, _watch_store(settings), serves=lambda w: not w.channel.isdigit(), name="console"
    )
    status = watcher.status()
    if status == NO_LIVE:
        _complain(status)
        raise typer.Exit(1)
    if status:
        _complain(status)
    while True:
        printed = 0
        for alert in watcher.check():
            _say(f"--- to {alert.watch.channel} ---\n{alert_text(alert)}\n")
            watcher.posted(alert, f"{alert.watch.channel}:printed")
            printed += 1
        for alert in watcher.updates():
            printed += 1
            _say(f"--- update of the {alert.watch.asset} alert in {alert.watch.channel} ---")
            _say(f"{alert_text(alert)}\n")
            watcher.updated(alert)
        if once:
            if not printed:
                served = [w for w in watcher.store.enabled() if watcher.serves(w)]
                watches = counted(len(served), "console watch", "console watches")
                _say(f"No alert this round ({watches}).")
            return
        time.sleep(settings.watch_seconds)


@alerts_app.command("replay")
def alerts_replay(
    asset: Annotated[str, typer.Argument(help="A ticker or name: ETH.")],
    first: Annotated[str, typer.Option("--from", help="The first day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="The last day, YYYY-MM-DD.")],
    threshold: Annotated[str, typer.Option(help="The move that fires, in %: 7")],
    window: Annotated[str, typer.Option(help="24h (the history holds daily bars).")] = "24h",
    direction: Annotated[str, typer.Option(help="up, down or both.")] = "both",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The alerts a watch would have fired over stored prices, explained as at each one.

    Only news published before an alert explains it; at most 400 days; a summary on stderr.
    """
    from bot.alerts.replay import replay
    from bot.market.history import parse_day
    from bot.render import answer_text

    settings = _settings()
    start, end = parse_day(first), parse_day(last)
    services = _services(settings)
    fired = explained = 0
    for alert in replay(services, asset, start, end, threshold, window, direction):
        fired += 1
        explained += alert.explained
        if as_json:
            print(_json(alert.to_json()), flush=True)
            continue
        verb = "up" if alert.move_pct > 0 else "down"
        since = f" since {alert.since:%-d %b}" if alert.since else ""
        _say(
            f"=== {alert.day}: {alert.asset} {verb} {abs(alert.move_pct):.1f}% "
            f"(close to close{since}) ==="
        )
        _say(answer_text(alert.answer, today=alert.day) + "\n")
    from bot.render import counted

    _complain(f"{counted(fired, 'alert')}, {explained} explained, {fired - explained} unexplained")


@app.command()
def feedback() -> None:
    """Answers people rated with the buttons under them, as JSON lines (evaluation data)."""
    from bot.core.feedback import AnswerLog
    from bot.services import state_for

    answers = AnswerLog(state_for(_settings()))
    for row in answers.export():
        sys.stdout.write(_json(row) + "\n")


@app.command(name="commands")
def list_commands(
    as_json: Annotated[bool, typer.Option("--json", help="Print the payloads as JSON.")] = True,
) -> None:
    """Print the application commands the bot registers with Discord (what `sync` sends)."""
    import asyncio

    from bot.client import command_payloads

    payloads = asyncio.run(command_payloads())
    if as_json:
        print(json.dumps(payloads, indent=2, ensure_ascii=False))
    else:
        for payload in payloads:
            print(f"/{payload['name']}: {payload['description']}")


@app.command()
def sync(
    guild: Annotated[int | None, typer.Option(help="Sync to one server at once (testing).")] = None,
) -> None:
    """Register the slash commands with Discord: run it when commands change, not every start."""
    import asyncio

    from bot.client import sync_commands

    settings = _settings()
    if settings.discord_token is None:
        err.print("Set MARKETBOT_DISCORD_TOKEN to sync commands with Discord.")
        raise typer.Exit(2)
    count = asyncio.run(sync_commands(settings.discord_token.get_secret_value(), guild))
    where = f"server {guild}" if guild else "all servers (global commands take up to an hour)"
    out.print(f"Synced {count} commands to {where}.", highlight=False)


@app.command()
def run() -> None:
    """The main job: the Discord bot when MARKETBOT_DISCORD_TOKEN is set, else the console."""
    settings = _settings()
    if settings.discord_token is not None:
        from bot.discord_main import run_discord

        err.print("Loading the model and the corpus, then connecting to Discord…")
        services = _services(settings)
        services.retriever.serve()
        message = run_discord(services, settings)
        if message:
            _complain(message)
            raise typer.Exit(1)
        return
    from bot.console import run_console

    err.print("Loading the model and the corpus…")
    services = _services(settings)
    services.retriever.serve()
    run_console(services, sys.stdin, out)


def main() -> None:
    try:
        app()
    except UserError as error:
        _complain(str(error))
        sys.exit(2)
