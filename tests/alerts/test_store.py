"""Watches in the shared state (SQLite and PostgreSQL): who added them, the per-server limit,
one watch per channel, asset and window, stopped channels, and all of it after a restart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.alerts import WatchStore
from bot.errors import InputError, NotFoundError
from bot.state import State, open_state
from tests.conftest import StateTarget


def add(store: WatchStore, asset: str = "ETH", channel: str = "c1", **options: object) -> object:
    values: dict[str, object] = {
        "place": "g1",
        "channel": channel,
        "asset": asset,
        "threshold": 5,
        "added_by": "discord:42",
        **options,
    }
    return store.add(**values)  # type: ignore[arg-type]


def test_a_watch_is_kept_with_who_added_it_and_seen_after_a_restart(
    state: State, state_target: StateTarget
) -> None:
    add(WatchStore(state), "ETH", window="4h", direction="down")

    reopened = open_state(*state_target)
    try:
        [watch] = WatchStore(reopened).all()
    finally:
        reopened.close()

    assert (watch.asset, watch.threshold, watch.window, watch.direction) == ("ETH", 5, "4h", "down")
    assert watch.added_by == "discord:42" and watch.channel == "c1" and watch.disabled is None
    assert watch.describe() == "ETH 5% down within 4h"


def test_adding_the_same_asset_and_window_again_replaces_the_watch(state: State) -> None:
    store = WatchStore(state)
    add(store, threshold=5)
    add(store, threshold=8)
    add(store, window="1h")

    watches = sorted(store.in_channel("c1"), key=lambda w: w.window)

    assert [(w.window, w.threshold) for w in watches] == [("1h", 5), ("24h", 8)]


def test_a_server_has_at_most_its_limit_of_watches(state: State) -> None:
    store = WatchStore(state, per_server=3)
    for asset in ("BTC", "ETH", "SOL"):
        add(store, asset)

    with pytest.raises(InputError, match="3 watches"):
        add(store, "DOGE")
    add(store, "ETH", threshold=9)  # replacing one is not a new one
    add(store, "DOGE", channel="c9", place="g2")  # another server has its own limit

    assert len(store.all()) == 4


def test_removing_a_watch_and_one_that_is_not_there(state: State) -> None:
    store = WatchStore(state)
    add(store, "ETH")
    add(store, "ETH", window="1h")
    add(store, "BTC")

    removed = store.remove("c1", "ETH")

    assert {w.window for w in removed} == {"24h", "1h"}
    assert [w.asset for w in store.all()] == ["BTC"]
    with pytest.raises(NotFoundError):
        store.remove("c1", "ETH")
    with pytest.raises(NotFoundError):
        store.remove("c2", "BTC")  # another channel's watch is not this channel's to remove


def test_a_channel_the_bot_lost_stops_its_watches_and_says_why(state: State) -> None:
    store = WatchStore(state)
    add(store, "ETH")
    add(store, "BTC")
    add(store, "SOL", channel="c2")

    assert store.disable_channel("c1", "the bot can no longer post here (Missing Access)") == 2

    assert [w.asset for w in store.enabled()] == ["SOL"]
    assert {w.disabled for w in store.in_channel("c1")} == {
        "the bot can no longer post here (Missing Access)"
    }
    add(store, "ETH")  # added again: it runs again
    assert {w.asset for w in store.enabled()} == {"SOL", "ETH"}


def test_hosts_adding_at_once_never_pass_the_servers_limit(state: State) -> None:
    store = WatchStore(state, per_server=3)
    assets = ["BTC", "ETH", "SOL", "DOGE", "ADA", "AVAX", "LINK", "LTC"]

    def one(asset: str) -> str:
        try:
            add(store, asset)
            return "added"
        except InputError:
            return "refused"

    with ThreadPoolExecutor(len(assets)) as pool:
        results = list(pool.map(one, assets))
    with ThreadPoolExecutor(6) as pool:  # the same watch six times at once: one watch
        list(pool.map(lambda _: add(store, "XRP", channel="c7", place="g7"), range(6)))

    assert results.count("added") == 3 and len(store.in_channel("c1")) == 3
    assert len(store.in_channel("c7")) == 1


def test_starting_a_stopped_watch_again_counts_against_the_limit(state: State) -> None:
    store = WatchStore(state, per_server=2)
    add(store, "ETH")
    add(store, "BTC")
    store.disable_channel("c1", "the bot can no longer post here")
    add(store, "SOL", channel="c2")
    add(store, "DOGE", channel="c2")

    with pytest.raises(InputError, match="2 watches running"):
        add(store, "ETH")  # would be a third running watch

    assert len(store.enabled()) == 2
