"""ccxt exchanges as marketbot uses them: async, rate-limited, short timeouts, public data only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support as ccxt_async

# Quote currencies tried for an asset, in order: the deepest markets first.
QUOTES = ("USDT", "USD", "USDC")


def make_exchange(exchange_id: str, base_url: str | None, timeout: float) -> Any:
    """A ccxt async exchange; `base_url` replaces the scheme and host of every API URL it
    calls (a proxy, a testnet, or a local server in tests), keeping the paths."""
    factory = getattr(ccxt_async, exchange_id, None)
    if factory is None or exchange_id not in ccxt_async.exchanges:
        raise ValueError(f"ccxt has no exchange {exchange_id!r}")
    options: dict[str, Any] = {"adjustForTimeDifference": False}
    if exchange_id in ("binance", "binanceus"):
        # Spot for prices, linear perpetuals for funding and open interest; not the coin-
        # margined or options markets, whose lists we would load for nothing.
        options["fetchMarkets"] = {"types": ["spot", "linear"]}
    exchange = factory(
        {
            "enableRateLimit": True,  # ccxt spaces calls by the exchange's published limits
            "timeout": int(timeout * 1000),
            "options": options,
        }
    )
    if base_url:
        exchange.urls["api"] = _rebased(exchange.urls["api"], base_url)
    return exchange


def _rebased(urls: Any, base_url: str) -> Any:
    base = urlsplit(base_url)
    if isinstance(urls, dict):
        return {key: _rebased(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        parts = urlsplit(urls)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
    return urls


def market_for(exchange: Any, symbol: str) -> str | None:
    """The exchange's spot market for an asset (ETH -> ETH/USDT), if it lists one."""
    for quote in QUOTES:
        pair = f"{symbol}/{quote}"
        market = exchange.markets.get(pair) if exchange.markets else None
        if market and market.get("spot") and market.get("active") is not False:
            return pair
    return None


def perpetual_for(exchange: Any, symbol: str) -> str | None:
    """The exchange's USDT-margined perpetual for an asset (ETH/USDT:USDT), if any."""
    pair = f"{symbol}/USDT:USDT"
    market = exchange.markets.get(pair) if exchange.markets else None
    return pair if market and market.get("swap") else None
