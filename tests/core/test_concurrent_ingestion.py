"""A feed poll and an admin upload at the same time: each article is stored once, none lost;
and the bot's background poller polls the feeds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.client import make_bot
from bot.feeds import FeedStore
from bot.services import Services
from tests.conftest import MakeServices
from tests.discord_fake import GOOD_TOKEN, FakeDiscord
from tests.feeds.feed_server import FeedServer
from tests.news_files import FIXTURES


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        yield feeds


def test_a_feed_poll_and_uploads_at_once_store_every_article_once(
    make_services: MakeServices, server: FeedServer
) -> None:
    services: Services = make_services(allowed_networks=["127.0.0.1/32"])
    services.add_feed(server.url("/changing.rss"), added_by="cli")  # known, polled below
    upload = (FIXTURES / "generic.jsonl").read_bytes()
    errors: list[BaseException] = []

    def run(work: Any) -> None:
        try:
            work()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [
        threading.Thread(
            target=run, args=(lambda: services.add_feed(server.url("/full.rss"), added_by="cli"),)
        ),
        threading.Thread(
            target=run,
            args=(lambda: services.ingest_upload(upload, "a.jsonl", ingested_by="discord:1"),),
        ),
        threading.Thread(
            target=run,
            args=(lambda: services.ingest_upload(upload, "b.jsonl", ingested_by="discord:2"),),
        ),
        threading.Thread(target=run, args=(lambda: services.poll_feeds(force=True),)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)

    assert errors == []
    articles = services.sources()
    urls = [a.url for a in articles if a.url]
    assert len(urls) == len(set(urls))  # nothing twice
    prints = [a.fingerprint for a in articles]
    assert len(prints) == len(set(prints))
    # Everything each source holds is there: the same runs, one after another, add nothing.
    before = len(articles)
    services.ingest_upload(upload, "c.jsonl", ingested_by="discord:3")
    services.poll_feeds(force=True)
    assert len(services.sources()) == before


async def test_the_bot_polls_its_feeds_in_the_background(
    discord_api: FakeDiscord,
    make_services: MakeServices,
    server: FeedServer,
) -> None:
    services: Services = make_services(allowed_networks=["127.0.0.1/32"])
    feed, _ = services.add_feed(server.url("/changing.rss"), added_by="cli")
    asked = len(server.requests("/changing.rss"))
    client = make_bot(services)
    await client.login(GOOD_TOKEN)
    try:
        poller = client.get_cog("FeedPoller")
        assert poller is not None
        assert poller.poll.minutes == services.settings.feed_poll_minutes
        FeedStore(services.state).update(
            feed.url, next_poll="2000-01-01T00:00:00+00:00"
        )  # its time has come
        await poller.poll.coro(poller)  # one round, as the loop runs it
    finally:
        await client.close()

    assert len(server.requests("/changing.rss")) == asked + 1
    [polled] = services.feeds()
    assert polled.last_polled and polled.last_polled >= (feed.last_polled or "")
