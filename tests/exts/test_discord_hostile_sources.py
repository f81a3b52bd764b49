"""Titles, outlets, links and quotes are text: a hostile source cannot put a clickable link, a
mention or a heading into what the bot sends. Everything goes through discord.py's own dispatch
against the local fake of Discord's REST API, and is asserted as the JSON Discord receives."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.client import make_bot
from bot.feeds import FeedStore
from bot.services import Services
from tests.conftest import MakeServices
from tests.discord_fake import (
    GOOD_TOKEN,
    FakeDiscord,
    Request,
    ask_interaction,
    component_interaction,
    news_interaction,
    returned_message,
)
from tests.legacy_store import store_uncleaned

ADMIN_ID = "1400000000000000290"
ASKER = "1400000000000000291"

SNOWFLAKE = "123456789012345678"
MENTIONS = (
    "@everyone",
    "@here",
    f"<@{SNOWFLAKE}>",
    f"<@!{SNOWFLAKE}>",
    f"<@&{SNOWFLAKE}>",
    f"<#{SNOWFLAKE}>",
    f"</airdrop:{SNOWFLAKE}>",
)
HOSTILE = [
    {
        "title": "[Claim your ETH airdrop](https://evil.example/c) @everyone",
        "url": "https://news.example/x)[Verify wallet](https://evil.example/v",
        "source": "[Binance Support](https://evil.example/b)",
        "published_at": "2098-11-04T12:00:00Z",
        "currencies": ["ETH"],
        "body": (
            "Ether fell 14% on Tuesday as leveraged long positions were liquidated across "
            f"exchanges, @everyone <@{SNOWFLAKE}> <@&{SNOWFLAKE}> said ||claim now||. "
            "The sell-off was triggered by a hawkish Federal Reserve and **forced selling** "
            f"of long positions <#{SNOWFLAKE}> </airdrop:{SNOWFLAKE}> <@!{SNOWFLAKE}> @here. "
            "# Liquidations cascaded as open interest fell to a `three-month` low, > quoted."
        ),
    },
    {
        "title": "Ether \x1b[2J\u202eslides [Verify](https://evil.example/t) as ETH funds bleed",
        "url": "https://news.example/y)[Verify](https://evil.example/v",
        "source": "News [Wire](https://evil.example/w) @here",
        "published_at": "2025-11-04T10:00:00Z",
        "currencies": ["ETH"],
        "body": (
            "Ether dropped 14% on 4 November as the Federal Reserve signalled no rate cuts. "
            "Outflows from ether funds added to the selling pressure, ~~analysts~~ said."
        ),
    },
]


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON body: content, titles, descriptions, field names and values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(([^)\s]*)\)")
RAW_URL = re.compile(r"https?://[^\s<>)]+")


def clickable_hosts(text: str) -> list[str | None]:
    """The hosts Discord would make a link to: masked links, then bare URLs outside them."""
    hosts = [urlsplit(target).hostname for _, target in MASKED_LINK.findall(text)]
    return hosts + [urlsplit(url).hostname for url in RAW_URL.findall(MASKED_LINK.sub(" ", text))]


def assert_harmless(sent: list[Request]) -> str:
    """No link to evil.example, no mention syntax from a source, no control or bidi character
    in anything the bot sent; all the text, joined, for further checks."""
    texts = [s for request in sent for s in strings(request.json)]
    for text in texts:
        assert "evil.example" not in clickable_hosts(text), text
        for mention in MENTIONS:
            assert mention not in text, (mention, text)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
        assert not re.search(r"^\s*#", text, re.MULTILINE), text  # no heading
    return "\n".join(texts)


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    """A store holding only the hostile articles, ingested the way an upload is."""
    services = make_services("hostile", admin_user_ids=[int(ADMIN_ID)])
    report = services.ingest_upload(
        json.dumps(HOSTILE).encode(), "news.json", ingested_by=f"discord:{ADMIN_ID}"
    )
    assert report.stored == len(HOSTILE), [f.problems for f in report.files]
    # What a store written before ingestion cleaned titles and refused future dates holds.
    for article in services.sources():
        body = services.store.article(article.id).body
        [record] = [r for r in HOSTILE if body.startswith(str(r["body"])[:40])]
        store_uncleaned(
            services,
            article.id,
            title=record["title"],
            outlet=record["source"],
            published_at=datetime.fromisoformat(str(record["published_at"])),
        )
    return services


@pytest.fixture
async def bot(discord_api: FakeDiscord, services: Services) -> AsyncIterator[Any]:
    client = make_bot(services)
    await client.login(GOOD_TOKEN)
    client._connection.application_id = int(ask_interaction("x")["application_id"])
    try:
        yield client
    finally:
        await client.close()


async def send(
    bot: Any, fake: FakeDiscord, payload: dict[str, Any], interaction_id: str
) -> Request:
    """Dispatch an interaction under its own id and token; the follow-up the bot sends."""
    payload = {**payload, "id": interaction_id, "token": f"token-{interaction_id}"}
    fake.interact(bot, payload)
    return await fake.wait_for(
        "PATCH", f"/webhooks/{payload['application_id']}/token-{interaction_id}/messages/@original"
    )


async def test_an_answer_and_its_quotes_carry_no_link_or_mention_a_source_planted(
    bot: Any, discord_api: FakeDiscord
) -> None:
    answered = await send(
        bot,
        discord_api,
        ask_interaction(
            # Worded as the hostile article is, so that it is the one quoted.
            "why did ETH fall 14% as leveraged long positions were liquidated?",
            user_id=ASKER,
        ),
        "1620000000001",
    )
    [[sources_button, *_], *_] = [row["components"] for row in answered.json["components"]]
    quotes = await send(
        bot,
        discord_api,
        component_interaction(
            sources_button["custom_id"], returned_message(discord_api, answered), user_id=ASKER
        ),
        "1620000000002",
    )

    text = assert_harmless([answered, quotes])
    [embed] = answered.json["embeds"]
    assert "Ether fell 14%" in embed["description"]  # the hostile article was the one quoted
    assert "[1]" in embed["description"]
    sources = next(f for f in embed["fields"] if f["name"] == "Sources")["value"]
    # Shown as text: the outlet's and the title's brackets are there, but escaped.
    assert r"\[Binance Support\](https\://evil.example/b)" in sources
    assert "Claim your ETH airdrop" in sources
    assert "(no link)" in sources  # a link target holding a space is no link at all
    # Any link left is to the article's own host (ingestion may have refused the address).
    assert {h for h in clickable_hosts(text) if h} <= {"news.example"}
    assert "@\u200beveryone" in text  # the text is kept, the mention is not


async def test_sources_lists_hostile_titles_as_text(bot: Any, discord_api: FakeDiscord) -> None:
    payload = ask_interaction("", command="sources", option="query", user_id=ASKER)
    payload["data"]["options"] = []

    listed = await send(bot, discord_api, payload, "1620000000003")

    text = assert_harmless([listed])
    assert "Claim your ETH airdrop" in text and "slides" in text


async def test_a_declined_question_names_the_latest_titles_as_text(
    bot: Any, discord_api: FakeDiscord
) -> None:
    declined = await send(
        bot, discord_api, ask_interaction("why did dogecoin pump?", user_id=ASKER), "1620000000004"
    )

    [embed] = declined.json["embeds"]
    assert "Latest:" in embed["description"]
    assert "Claim your ETH airdrop" in embed["description"]
    assert_harmless([declined])


async def test_a_chart_caption_names_hostile_titles_as_text(
    bot: Any, discord_api: FakeDiscord
) -> None:
    payload = ask_interaction("eth", command="chart", option="asset", user_id=ASKER)
    payload["data"]["options"] += [
        {"name": "days", "type": 4, "value": 14},
        {"name": "around", "type": 3, "value": "2025-11-04"},
    ]

    charted = await send(bot, discord_api, payload, "1620000000005")

    assert "[1] " in charted.json["content"] and "slides" in charted.json["content"]
    assert_harmless([charted])


async def test_admin_replies_show_hostile_titles_and_feeds_as_text(
    bot: Any, discord_api: FakeDiscord, services: Services
) -> None:
    FeedStore(services.state).add(
        "https://feeds.example/rss", "cli", title="[Binance Support](https://evil.example/b) @here"
    )
    [article, *_] = services.sources()

    def news(subcommand: str, options: dict[str, str]) -> dict[str, Any]:
        return news_interaction(subcommand, options, user_id=ADMIN_ID, guild=False)

    feeds = news("list", {})
    feeds["data"]["options"] = [{"name": "feeds", "type": 2, "options": feeds["data"]["options"]}]
    status = await send(bot, discord_api, news("status", {}), "1620000000006")
    listed = await send(bot, discord_api, feeds, "1620000000007")
    forgot = await send(bot, discord_api, news("forget", {"id": article.id}), "1620000000008")

    for reply in (status, listed, forgot):
        assert_harmless([reply])
    assert "Claim your ETH airdrop" in status.json["content"]
    assert "Binance Support" in listed.json["content"]
    assert "<https://feeds.example/rss>" in listed.json["content"]
    assert forgot.json["content"].startswith(f"Forgot {article.id}: ")


async def test_an_error_message_repeating_what_was_typed_shows_it_as_text(
    bot: Any, discord_api: FakeDiscord
) -> None:
    typed = "[C](https://evil.example/p) @everyone"

    payload = ask_interaction(typed, command="price", option="asset", user_id=ASKER)
    discord_api.interact(bot, {**payload, "id": "1620000000009", "token": "token-1620000000009"})
    refused = await discord_api.wait_for("POST", "/interactions/1620000000009/")

    # Refused before anything was shown: a private reply, as text.
    assert refused.json["type"] == 4 and refused.json["data"]["flags"] & 64
    assert "I don't know the asset" in refused.json["data"]["content"]
    assert "C" in refused.json["data"]["content"]
    assert_harmless([replace(refused, json=refused.json["data"])])
