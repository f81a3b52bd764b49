"""Answers with live figures from a local exchange speaking Binance's API, and the labelled
fallbacks when that exchange times out, answers 429 or sends garbage: the bot still answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.render import answer_text
from bot.services import Services
from tests.conftest import MakeServices
from tests.exchange_fake import FakeExchange

QUESTION = "why did ETH fall 14%?"
LiveServices = Callable[..., Services]


@pytest.fixture
def binance() -> Iterator[FakeExchange]:
    with FakeExchange("binance") as fake:
        yield fake


@pytest.fixture
def live_services(make_services: MakeServices, binance: FakeExchange) -> Iterator[LiveServices]:
    built: list[Services] = []

    def make(**overrides: object) -> Services:
        services = make_services(
            f"live{len(built)}",
            seed=True,
            exchanges=["binance"],
            exchange_urls={"binance": binance.base_url},
            **overrides,
        )
        built.append(services)
        return services

    yield make
    for services in built:
        assert services.market.live is not None
        services.market.live.close()


def quote_of(services: Services, question: str = QUESTION) -> dict[str, object]:
    answer = services.ask(question)
    assert answer.status == "answered"
    [quote] = [f.to_json() for f in answer.figures if f.kind == "quote"]
    return quote


def test_a_live_exchange_gives_the_price_with_its_exchange_and_time(
    live_services: LiveServices, binance: FakeExchange
) -> None:
    services = live_services(live_timeout=10)  # generous: only the fake's speed is measured

    answer = services.ask(QUESTION)

    kinds = {f.kind: f.to_json() for f in answer.figures}
    quote = kinds["quote"]
    assert quote["status"] == "live" and quote["source"] == "Binance ETH/USDT"
    assert quote["price"] == 3424.29  # the fake's last trade: the 5 Nov close
    assert "read" in str(quote["text"]) and "UTC" in str(quote["text"])
    assert quote["as_of"]
    perpetual = kinds["derivatives"]
    assert perpetual["funding_rate"] == pytest.approx(0.00003261)
    assert (
        perpetual["open_interest_usd"] is not None
        and perpetual["source"] == "Binance ETH/USDT:USDT"
    )
    assert binance.made("/api/v3/ticker/24hr")
    # The move over the period comes from daily bars whatever the live state.
    assert kinds["move"]["day"] == "2025-11-04"


@pytest.mark.parametrize("mode", ["slow", "429", "garbage"])
def test_a_failing_exchange_still_gets_an_answer_with_labelled_snapshot_figures(
    live_services: LiveServices, binance: FakeExchange, mode: str
) -> None:
    binance.set_mode(mode)
    services = live_services(live_timeout=1.0)

    quote = quote_of(services)

    assert quote["status"] == "snapshot"
    assert "snapshot" in str(quote["text"]) and "no live price" in str(quote["text"])
    answer = services.ask("why did ETH fall 30%?")
    assert answer.premise is not None and answer.premise.verdict == "overstated"
    assert "less than the 30% in the question" in answer_text(answer).split("\n", 1)[0]


def test_after_a_live_reading_a_failure_shows_the_last_known_price_and_when_it_was_read(
    live_services: LiveServices, binance: FakeExchange
) -> None:
    services = live_services(live_timeout=10, quote_ttl=0)
    live = quote_of(services)
    assert live["status"] == "live"

    binance.set_mode("429")
    later = quote_of(services)

    assert later["status"] == "last_known"
    assert later["price"] == live["price"] and later["as_of"] == live["as_of"]
    assert "last known" in str(later["text"])


def test_a_rate_limited_exchange_is_not_asked_again_at_once(
    live_services: LiveServices, binance: FakeExchange
) -> None:
    services = live_services(live_timeout=10, quote_ttl=0)
    assert quote_of(services)["status"] == "live"
    binance.set_mode("429")
    quote_of(services)
    asked = len(binance.made("/api/v3/ticker/24hr"))

    for _ in range(3):
        quote_of(services)

    assert len(binance.made("/api/v3/ticker/24hr")) == asked
