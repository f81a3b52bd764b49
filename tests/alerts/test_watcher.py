"""The watcher against a local exchange speaking Binance's API (tests/exchange_fake.py) whose
prices follow a scripted path: a crossing posts once, with the move from the exchange's candles
and the explanation `ask` gives; a flapping price posts once; a further step posts again; an
exchange that answers 429 or garbage posts nothing wrong; a restart re-posts nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import WatchStore
from bot.alerts.watcher import NO_LIVE, Alert, Watcher
from bot.services import Services
from bot.state import open_state
from tests.conftest import MakeServices
from tests.exchange_fake import FakeExchange, ScriptedMarket, ms

START = datetime(2025, 11, 5, 6, tzinfo=UTC)  # the fake's day; its candles end at its clock


def posted(watcher: Watcher) -> list[Alert]:
    """One round as a poster runs it: each alert posted (here: taken) and marked so."""
    alerts = watcher.check()
    for alert in alerts:
        watcher.posted(alert, f"{alert.watch.channel}:{alert.id}")
    return alerts


@pytest.fixture
def binance() -> Iterator[FakeExchange]:
    with FakeExchange("binance") as fake:
        yield fake


@pytest.fixture
def market(binance: FakeExchange) -> ScriptedMarket:
    return ScriptedMarket(binance, START)


@pytest.fixture
def services(make_services: MakeServices, binance: FakeExchange) -> Iterator[Services]:
    built = make_services(
        seed=True,
        exchanges=["binance"],
        exchange_urls={"binance": binance.base_url},
        live_timeout=10,
    )
    yield built
    assert built.market.live is not None
    built.market.live.close()


@pytest.fixture
def watcher(services: Services, market: ScriptedMarket) -> Watcher:
    store = WatchStore(services.state)
    store.add(place="g", channel="c", asset="ETH", threshold=5, window="1h", added_by="discord:7")
    return Watcher(services, store, clock=lambda: market.now)


def test_a_crossing_posts_once_with_the_move_and_its_explanation(
    watcher: Watcher, market: ScriptedMarket, binance: FakeExchange
) -> None:
    market.at(10, eth=2950)
    assert posted(watcher) == []  # -1.7%: under the threshold

    market.at(20, eth=2820)  # -6% within the hour
    [alert] = posted(watcher)

    assert alert.move_pct == pytest.approx(-6.0, abs=0.01)
    assert alert.watch.asset == "ETH" and alert.level == 1
    assert "ETH is down 6.0% in 1h" in alert.headline()
    assert alert.answer.question == "why did ETH fall 6.0% on 5 Nov 2025?"
    assert alert.source.startswith("Binance ETH/USDT 5m")
    assert alert.chart is not None and alert.chart.startswith(b"\x89PNG")
    assert binance.made("/api/v3/klines")[-1].query["interval"] == "5m"
    market.at(21)
    assert posted(watcher) == []  # the same move: not posted twice


def test_a_price_flapping_around_the_threshold_posts_once(
    watcher: Watcher, market: ScriptedMarket
) -> None:
    seen = []
    for i in range(8):
        market.at(10 + i, eth=2845 if i % 2 else 2855)  # -5.17% / -4.83%
        seen += posted(watcher)

    assert len(seen) == 1


def test_a_move_that_keeps_going_posts_at_each_further_step_and_both_ways(
    watcher: Watcher, market: ScriptedMarket
) -> None:
    levels = []
    for minutes, price in ((10, 2840), (15, 2760), (20, 2690), (25, 2700), (30, 2680)):
        market.at(minutes, eth=price)
        levels += [(round(a.move_pct), a.level) for a in posted(watcher)]
    market.at(120, eth=3000)  # back up +12% from the low in the next hour: a new move, up
    market.at(150)
    levels += [(round(a.move_pct), a.level) for a in posted(watcher)]

    assert levels == [(-5, 1), (-10, 2), (12, 2)]


def test_one_request_per_asset_and_window_however_many_channels_watch_it(
    services: Services, watcher: Watcher, market: ScriptedMarket, binance: FakeExchange
) -> None:
    for channel in ("c2", "c3", "c4"):
        watcher.store.add(
            place="g", channel=channel, asset="ETH", threshold=5, window="1h", added_by="x"
        )
    market.at(20, eth=2800)
    before = len(binance.made("/api/v3/klines"))

    alerts = posted(watcher)

    assert len(alerts) == 4  # one post in each channel
    asked = [r.query["symbol"] for r in binance.made("/api/v3/klines")[before:]]
    assert sorted(asked) == ["BTCUSDT", "ETHUSDT"]  # ETH once, and BTC once to compare


@pytest.mark.parametrize("mode", ["429", "garbage", "slow"])
def test_an_exchange_that_fails_posts_nothing_and_records_nothing(
    watcher: Watcher, market: ScriptedMarket, binance: FakeExchange, services: Services, mode: str
) -> None:
    market.at(20, eth=2800)
    binance.set_mode(mode)

    assert watcher.check() == []
    assert services.state.alert_rows() == []


def test_after_a_restart_a_posted_move_is_not_posted_again(
    watcher: Watcher, market: ScriptedMarket, services: Services
) -> None:
    market.at(20, eth=2800)
    [alert] = posted(watcher)
    watcher.posted(alert, "c:1")

    state = open_state(services.settings.data_dir, None)  # what a restarted bot opens
    try:
        again = Watcher(services, WatchStore(state), clock=lambda: market.now)
        market.at(22)
        assert posted(again) == []
        market.at(24, eth=2650)  # -11.7%: the next step is news again
        assert [a.level for a in posted(again)] == [2]
    finally:
        state.close()


def test_without_live_prices_the_watcher_says_so_and_posts_nothing(
    make_services: MakeServices,
) -> None:
    offline = make_services("offline", seed=False)
    WatchStore(offline.state).add(place="g", channel="c", asset="ETH", threshold=0.5, added_by="x")
    watcher = Watcher(offline)

    assert watcher.status() == NO_LIVE
    assert posted(watcher) == []


def test_an_alert_that_was_not_posted_is_offered_again_and_once_posted_never(
    watcher: Watcher, market: ScriptedMarket
) -> None:
    market.at(20, eth=2820)
    [first] = watcher.check()  # the post failed: nobody called posted()

    market.at(21)
    assert watcher.check() == []  # its host may still be posting it: not taken yet
    market.at(24)
    [again] = watcher.check()
    watcher.posted(again, "c:1")
    market.at(25)

    assert again.id == first.id and again.move_pct == first.move_pct
    assert watcher.check() == []


def test_one_alert_that_cannot_be_explained_does_not_lose_the_others(
    watcher: Watcher, market: ScriptedMarket, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher.store.add(place="g", channel="c", asset="SOL", threshold=5, window="1h", added_by="x")
    ask = services.ask

    def failing(question: str, **options: object) -> object:
        if "ETH" in question:
            raise RuntimeError("the store went away")
        return ask(question, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "ask", failing)
    market.at(20, eth=2820)
    market.fake.paths["SOL"].append((market.fake.now_ms, 150.0))  # -6.25%

    assert [a.watch.asset for a in posted(watcher)] == ["SOL"]
    monkeypatch.setattr(services, "ask", ask)
    market.at(24)
    assert [a.watch.asset for a in posted(watcher)] == ["ETH"]  # recorded, explained now


def test_the_headline_gives_btcs_move_over_the_same_window(
    watcher: Watcher, market: ScriptedMarket
) -> None:
    market.fake.paths["BTC"].append((ms(START + timedelta(minutes=15)), 99_000.0))  # -1%
    market.at(20, eth=2820)

    [alert] = posted(watcher)

    assert alert.benchmark == ("BTC", pytest.approx(-1.0, abs=0.01))
    assert "ETH is down 6.0% in 1h; BTC −1.0%: past" in alert.headline()


def test_adding_a_watch_again_keeps_what_it_posted(
    watcher: Watcher, market: ScriptedMarket
) -> None:
    market.at(20, eth=2820)
    assert len(posted(watcher)) == 1

    watcher.store.add(
        place="g",
        channel="c",
        asset="ETH",
        threshold=5,
        window="1h",
        direction="down",
        added_by="discord:8",
    )
    market.at(22)

    assert posted(watcher) == []
    [watch] = watcher.store.all()
    assert watch.direction == "down" and watch.added_by == "discord:8"


def test_a_24h_move_seen_just_after_midnight_is_asked_about_the_day_it_happened(
    services: Services, market: ScriptedMarket
) -> None:
    store = WatchStore(services.state)
    store.add(place="g", channel="c", asset="ETH", threshold=5, window="24h", added_by="x")
    watcher = Watcher(services, store, clock=lambda: market.now)
    market.fake.paths["ETH"].append((ms(START + timedelta(hours=2)), 2820.0))
    market.at(18 * 60 + 30)  # 00:30 on 6 Nov: the window is mostly 5 Nov

    [alert] = posted(watcher)

    assert alert.answer.question == "why did ETH fall 6.0% on 5 Nov 2025?"


def test_another_host_does_not_take_an_alert_this_one_is_posting(
    watcher: Watcher, market: ScriptedMarket, services: Services
) -> None:
    market.at(20, eth=2820)
    [alert] = watcher.check()  # host A: about to post it

    state = open_state(services.settings.data_dir, None)  # host B, the same shared state
    try:
        other = Watcher(services, WatchStore(state), clock=lambda: market.now)
        market.at(21)
        assert other.check() == []
        watcher.posted(alert, "c:1")
        market.at(30)
        assert other.check() == []  # posted: never again
    finally:
        state.close()


def test_a_price_flipping_either_side_of_the_window_open_posts_each_way_once(
    services: Services, market: ScriptedMarket
) -> None:
    store = WatchStore(services.state)
    store.add(place="g", channel="c", asset="ETH", threshold=0.5, window="1h", added_by="x")
    watcher = Watcher(services, store, clock=lambda: market.now)
    seen = []
    for i in range(8):
        market.at(10 + 2 * i, eth=3016 if i % 2 == 0 else 2984)  # +0.53% / -0.53%
        seen += posted(watcher)

    assert [round(a.move_pct, 2) for a in seen] == [0.53, -0.53]


def test_a_changed_threshold_counts_the_posted_steps_in_the_new_one(
    watcher: Watcher, market: ScriptedMarket
) -> None:
    market.at(20, eth=2820)  # -6%: posted at 5%
    assert len(posted(watcher)) == 1

    watcher.store.add(place="g", channel="c", asset="ETH", threshold=2, window="1h", added_by="x")
    market.at(22)
    assert posted(watcher) == []  # -6% was posted: three 2% steps already

    watcher.store.add(place="g", channel="c", asset="ETH", threshold=10, window="1h", added_by="x")
    market.at(24, eth=2660)  # -11.3%: past 10% for the first time
    assert [a.level for a in posted(watcher)] == [1]
