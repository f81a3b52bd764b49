"""The asset table: which symbols a text mentions, and what a user's word means."""

from __future__ import annotations

import pytest

from bot.core.assets import AssetTable
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def assets() -> AssetTable:
    return AssetTable.load(PROJECT_ROOT / "knowledge" / "assets.json")


@pytest.mark.parametrize("word", ["ETH", "eth", "Ethereum", "ether", "Ether", "$ETH"])
def test_every_name_for_ether_means_eth(assets: AssetTable, word: str) -> None:
    assert assets.resolve(word) == "ETH"
    assert assets.find(f"Traders sold {word} on Tuesday") == ("ETH",)


def test_bitcoin_cash_is_bch_not_btc(assets: AssetTable) -> None:
    assert assets.find("Bitcoin Cash rose 4% overnight") == ("BCH",)
    assert assets.resolve("bitcoin cash") == "BCH"


def test_bitcoin_and_bitcoin_cash_in_one_text_are_both_found_in_order(
    assets: AssetTable,
) -> None:
    assert assets.find("Bitcoin fell while Bitcoin Cash held steady") == ("BTC", "BCH")


@pytest.mark.parametrize(
    "text",
    [
        "Click the link below to read the full report.",
        "Analysts see a link between ETF flows and prices.",
        "Link your wallet to continue.",
    ],
)
def test_the_ordinary_word_link_is_not_chainlink(assets: AssetTable, text: str) -> None:
    assert "LINK" not in assets.find(text)


@pytest.mark.parametrize(
    "text",
    ["LINK climbed 5.1% to $16.20", "Traders piled into $link after the pilot", "Chainlink rose"],
)
def test_link_written_as_a_ticker_or_cashtag_is_chainlink(assets: AssetTable, text: str) -> None:
    assert assets.find(text) == ("LINK",)


def test_symbols_are_listed_in_order_of_first_mention(assets: AssetTable) -> None:
    assert assets.find("SOL fell, ETH slid and bitcoin held; solana later recovered") == (
        "SOL",
        "ETH",
        "BTC",
    )


def test_words_that_merely_contain_a_ticker_are_not_mentions(assets: AssetTable) -> None:
    # "method" contains "eth", "solid" contains "sol", "mbtc" is not "btc".
    assert assets.find("A solid method for pricing") == ()


def test_unknown_words_resolve_to_nothing(assets: AssetTable) -> None:
    assert assets.resolve("peloton") is None
    assert assets.name("ZZZ") == "ZZZ"
    assert assets.name("ETH") == "Ethereum"


def test_suggestions_put_the_exact_ticker_first_then_prefixes(assets: AssetTable) -> None:
    symbols = [a.symbol for a in assets.suggest("eth")]

    assert symbols[0] == "ETH"
    assert "ETHA" in symbols  # the ether ETF's ticker starts with what was typed
    assert symbols.index("ETH") < symbols.index("ETHA")


def test_suggestions_find_assets_by_name_and_alias_and_ignore_case(
    assets: AssetTable,
) -> None:
    assert assets.suggest("DOGE")[0].symbol == "DOGE"
    assert assets.suggest("Chainl")[0].symbol == "LINK"
    assert assets.suggest("$sol")[0].symbol == "SOL"


def test_suggestions_are_capped_and_empty_for_nonsense(assets: AssetTable) -> None:
    assert len(assets.suggest("")) == 25
    assert len(assets.suggest("a", limit=5)) == 5
    assert assets.suggest("zzzqqq") == []
