"""Move alerts: the replay of Sep-Dec 2025 over the quality corpus, and the time from a move
to its post in a simulated live run (the watcher against the local Binance fake, its clock
stepped one poll interval at a time). Prints its figures; asserts nothing."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

FIRST, LAST = date(2025, 9, 1), date(2025, 12, 31)
THRESHOLDS = {"crypto": 7.0, "other": 3.0}


def run(services: Any) -> None:
    replay_section(services)
    live_section(services)


def replay_section(services: Any) -> None:
    from bot.alerts.replay import replay

    print(f"== alerts replayed, {FIRST} to {LAST} (daily bars; quality corpus, point in time)")
    totals: Counter[str] = Counter()
    future = 0
    news_days = set(services.retriever.dates)
    timings: list[float] = []
    for symbol in services.market.history.symbols():
        info = services.assets.assets.get(symbol)
        kind = "crypto" if info is None or info.kind == "crypto" else "other"
        threshold = THRESHOLDS[kind]
        counts: Counter[str] = Counter()
        started = time.perf_counter()
        for alert in replay(services, symbol, FIRST, LAST, threshold):
            counts["alerts"] += 1
            counts["explained" if alert.explained else "unexplained"] += 1
            if alert.day in news_days:  # the corpus has news from that very day
                counts["covered"] += 1
                counts["covered explained"] += alert.explained
            cutoff = alert.at
            for citation in alert.answer.citations:
                published = datetime.fromisoformat(citation.published_at)
                if published.tzinfo is None:
                    published = published.replace(tzinfo=UTC)
                future += published >= cutoff
        if counts["alerts"]:
            timings.append((time.perf_counter() - started) * 1000 / counts["alerts"])
            print(
                f"   {symbol:5s} at {threshold:g}%: {counts['alerts']:3d} alerts, "
                f"{counts['explained']:3d} explained, {counts['unexplained']:3d} unexplained"
            )
        totals.update(counts)
    share = totals["explained"] / totals["alerts"] if totals["alerts"] else 0.0
    print(
        f"   all: {totals['alerts']} alerts, {totals['explained']} explained ({share:.0%}), "
        f"{totals['unexplained']} unexplained; citations newer than their alert: {future}"
    )
    covered = totals["covered"]
    print(
        f"   on days the corpus has news from: {covered} alerts, "
        f"{totals['covered explained']} explained"
        + (f" ({totals['covered explained'] / covered:.0%})" if covered else "")
    )
    if timings:
        print(f"   explaining one alert: {sum(timings) / len(timings):.0f} ms on average\n")


def live_section(services: Any, rounds: int = 12) -> None:
    """The watcher polls every MARKETBOT_WATCH_SECONDS; a move that crosses the threshold is
    seen at the next poll. The post's delay = the wait for that poll (simulated clock) + the
    round's own work (measured: candles from the local exchange, the explanation, the chart)."""
    from bot.alerts import WatchStore
    from bot.alerts.watcher import Watcher
    from bot.market.figures import MarketData
    from bot.market.live import LiveMarket
    from tests.exchange_fake import FakeExchange

    interval = services.settings.watch_seconds
    print(f"== alerts live, simulated (local Binance fake; a poll every {interval:g} s)")
    start = datetime(2025, 11, 4, 12, tzinfo=UTC)
    with FakeExchange("binance") as fake:
        live = LiveMarket(["binance"], {"binance": fake.base_url}, timeout=10)
        saved = services.market
        services.market = MarketData(saved.history, live, saved.assets)
        try:
            store = WatchStore(services.state)
            for channel in ("bench-1", "bench-2"):
                store.add(
                    place="bench",
                    channel=channel,
                    asset="ETH",
                    threshold=5,
                    window="1h",
                    added_by="bench",
                )
            clock = [start]
            watcher = Watcher(services, store, clock=lambda: clock[0])
            delays, work = [], []
            for i in range(rounds):
                base = start + timedelta(hours=2 * i)
                crossing = base + timedelta(minutes=30, seconds=7 * i)  # anywhere in an interval
                fake.paths["ETH"] = [
                    (_ms(base - timedelta(days=2)), 3000.0),
                    (_ms(crossing), 2800.0),  # -6.7%
                ]
                fake.paths["BTC"] = [(_ms(base - timedelta(days=2)), 100_000.0)]
                moment = base
                while True:
                    moment += timedelta(seconds=interval)
                    clock[0] = moment
                    fake.now_ms = _ms(moment)
                    started = time.perf_counter()
                    posted = watcher.check()
                    for alert in posted:
                        watcher.posted(alert, f"{alert.watch.channel}:bench")
                    if posted:
                        work.append(time.perf_counter() - started)
                        delays.append((moment - crossing).total_seconds())
                        break
                    if moment > crossing + timedelta(minutes=10):
                        break
            store.state.remove_watch_rows(place="bench")
        finally:
            services.market = saved
            live.close()
    if not work:
        print("   no alert fired in the simulation\n")
        return
    delays.sort()
    work.sort()
    print(
        f"   {len(work)} moves, each posted once to 2 channels: wait for the poll p50 "
        f"{delays[len(delays) // 2]:.0f} s (max {delays[-1]:.0f} s); the round's work p50 "
        f"{work[len(work) // 2] * 1000:.0f} ms (max {work[-1] * 1000:.0f} ms); "
        f"move to post at most {delays[-1] + work[-1]:.1f} s\n"
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
