"""Admins adding news from the web through Discord: /news add url and /news feeds, through
discord.py's dispatch against the local Discord API fake, with a local news site and feed
server on 127.0.0.1 (trusted through MARKETBOT_ALLOWED_NETWORKS, as a newsroom's own server
would be)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.client import make_bot
from bot.render import link_or_text
from bot.services import Services
from tests.conftest import MakeServices
from tests.discord_fake import GOOD_TOKEN, FakeDiscord, ask_interaction, news_interaction
from tests.feeds.feed_server import FeedServer

ADMIN_ID = "1400000000000000190"


@pytest.fixture
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


async def logged_in(services: Services) -> Any:
    client = make_bot(services)
    await client.login(GOOD_TOKEN)
    client._connection.application_id = int(ask_interaction("x")["application_id"])
    return client


@pytest.fixture
async def newsroom(
    discord_api: FakeDiscord, make_services: MakeServices
) -> AsyncIterator[tuple[Any, Services]]:
    services = make_services(
        "newsroom", admin_user_ids=[int(ADMIN_ID)], allowed_networks=["127.0.0.1/32"]
    )
    client = await logged_in(services)
    try:
        yield client, services
    finally:
        await client.close()


def feeds_interaction(action: str, options: dict[str, str], user_id: str) -> dict[str, Any]:
    """/news feeds ACTION: a subcommand group, as Discord nests it."""
    payload = news_interaction(action, options, user_id=user_id, guild=False)
    payload["data"]["options"] = [
        {"name": "feeds", "type": 2, "options": payload["data"]["options"]}
    ]
    return payload


async def test_an_admin_adds_an_article_by_url(
    newsroom: tuple[Any, Services], discord_api: FakeDiscord, site: FeedServer
) -> None:
    client, services = newsroom
    url = site.url("/articles/solana-halt.html")
    discord_api.interact(
        client, news_interaction("add", {"url": url}, user_id=ADMIN_ID, guild=False)
    )

    callback = await discord_api.wait_for("POST", "/callback")
    reply = await discord_api.wait_for("PATCH", "/messages/@original")
    assert callback.json["type"] == 5 and callback.json["data"]["flags"] & 64
    assert reply.json["content"].startswith("1 found, 1 new")
    [article] = services.sources()
    assert article.url == url and article.ingested_by == f"discord:{ADMIN_ID}"


async def test_a_loopback_url_is_refused_with_the_reason_by_default(
    discord_api: FakeDiscord, make_services: MakeServices, site: FeedServer
) -> None:
    services = make_services("strict", admin_user_ids=[int(ADMIN_ID)])
    client = await logged_in(services)
    try:
        discord_api.interact(
            client,
            news_interaction(
                "add",
                {"url": site.url("/articles/solana-halt.html")},
                user_id=ADMIN_ID,
                guild=False,
            ),
        )
        reply = await discord_api.wait_for("PATCH", "/messages/@original")
    finally:
        await client.close()

    assert "a loopback address" in reply.json["content"]
    assert services.sources() == []
    assert site.requests("/articles/solana-halt.html") == []  # never connected


async def test_feeds_are_added_listed_and_removed_by_an_admin(
    newsroom: tuple[Any, Services], discord_api: FakeDiscord, site: FeedServer
) -> None:
    client, services = newsroom
    feed = site.url("/full.rss")

    discord_api.interact(client, feeds_interaction("add", {"url": feed}, ADMIN_ID))
    added = await discord_api.wait_for("PATCH", "/messages/@original")
    stored = len(services.sources())
    discord_api.interact(
        client,
        {**feeds_interaction("list", {}, ADMIN_ID), "id": "1610000000000000002", "token": "t2"},
    )
    listed = await discord_api.wait_for(
        "PATCH", "/webhooks/1100000000000000001/t2/messages/@original"
    )
    discord_api.interact(
        client,
        {
            **feeds_interaction("remove", {"url": feed}, ADMIN_ID),
            "id": "1610000000000000003",
            "token": "t3",
        },
    )
    removed = await discord_api.wait_for(
        "PATCH", "/webhooks/1100000000000000001/t3/messages/@original"
    )

    assert added.json["content"].startswith("Added ") and f"{stored} new" in added.json["content"]
    assert stored >= 2
    assert link_or_text(feed) in listed.json["content"]
    assert "last read 20" in listed.json["content"]
    # The feed is on loopback: named as text, since a link there would point at the reader.
    assert removed.json["content"] == f"Stopped polling {link_or_text(feed)}; its articles stay."
    assert "<http" not in removed.json["content"]
    assert services.feeds() == [] and len(services.sources()) == stored


async def test_a_non_admin_cannot_add_a_feed(
    newsroom: tuple[Any, Services], discord_api: FakeDiscord, site: FeedServer
) -> None:
    client, services = newsroom
    discord_api.interact(
        client, feeds_interaction("add", {"url": site.url("/full.rss")}, "1400000000000000191")
    )

    callback = await discord_api.wait_for("POST", "/callback")
    assert "Only marketbot's admins" in callback.json["data"]["content"]
    assert services.feeds() == [] and site.requests("/full.rss") == []
