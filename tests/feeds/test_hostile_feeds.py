"""Feeds that hold the poller, redirect where they should not, or list more items than one poll
reads, served by a real HTTP server on 127.0.0.1 (tests/feeds/feed_server.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import bot.feeds
from bot.errors import InputError
from bot.feeds import FeedError, FeedStore, PollReport
from bot.services import Services
from tests.conftest import MakeServices
from tests.feeds.feed_server import FULL_TEXT_RSS, HTML, RSS, FeedServer, Route, numbered_rss

LOCAL = ["127.0.0.1/32"]
TIMEOUT = 3.0  # MARKETBOT_FETCH_TIMEOUT in the probe that found the slowloris


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    return make_services(allowed_networks=LOCAL, fetch_timeout=TIMEOUT)


def dripping(server: FeedServer, path: str) -> str:
    """A feed whose status line and headers come one byte every 0.25 s (about 40 s in all)."""
    server.set(path, Route(FULL_TEXT_RSS.encode(), RSS, drip=0.25))
    return server.url(path)


def test_a_feed_that_drips_its_headers_is_cut_off_and_does_not_hold_up_the_others(
    services: Services, server: FeedServer
) -> None:
    slow, good = dripping(server, "/drip.rss"), server.url("/full.rss")
    store = FeedStore(services.state)
    store.add(slow, "cli")  # first in the list: polled one after the other, it held the rest
    store.add(good, "cli")

    started = time.monotonic()
    results = {feed.url: outcome for feed, outcome in services.poll_feeds(force=True)}
    took = time.monotonic() - started

    assert isinstance(results[slow], FeedError)
    assert str(results[slow]) == f"127.0.0.1 did not answer within {TIMEOUT:g} s."
    report = results[good]
    assert isinstance(report, PollReport) and report.new == 2
    assert took < TIMEOUT + 3  # the dripping feed would have held the poll for 40 s
    [held] = server.requests("/drip.rss")
    [served] = server.requests("/full.rss")
    assert served.done < held.at + TIMEOUT  # answered while the dripping feed was still held
    failed = store.get(slow)
    assert failed is not None and failed.failures == 1
    assert failed.last_error == f"127.0.0.1 did not answer within {TIMEOUT:g} s."


def test_adding_a_feed_that_drips_its_headers_is_refused_at_the_timeout(
    services: Services, server: FeedServer
) -> None:
    url = dripping(server, "/drip.rss")
    started = time.monotonic()

    with pytest.raises(InputError) as raised:
        services.add_feed(url, added_by="cli")

    assert str(raised.value) == f"127.0.0.1 did not answer within {TIMEOUT:g} s."
    assert time.monotonic() - started < TIMEOUT + 3
    assert services.feeds() == [] and services.sources() == []


def test_a_feed_answering_a_redirect_without_a_location_is_refused_not_read(
    services: Services, server: FeedServer
) -> None:
    """The 302 carries a whole feed as its body: it must not be taken for the feed."""
    server.set("/moved.rss", Route(FULL_TEXT_RSS.encode(), RSS, status=302))
    url = server.url("/moved.rss")

    with pytest.raises(InputError) as raised:
        services.add_feed(url, added_by="cli")

    assert str(raised.value) == f"{url} redirected without saying where to."
    assert services.feeds() == [] and services.sources() == []


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("javascript:alert(document.cookie)", "only http and https URLs can be fetched"),
        ("data:application/rss+xml,<rss/>", "only http and https URLs can be fetched"),
        ("http://[::1/feed.rss", "which is not a valid URL"),
    ],
)
def test_a_feed_redirecting_where_no_feed_can_be_is_refused_with_one_line(
    services: Services, server: FeedServer, location: str, said: str
) -> None:
    server.set("/moved.rss", Route(b"", HTML, status=301, location=location))
    url = server.url("/moved.rss")

    with pytest.raises(InputError) as raised:
        services.add_feed(url, added_by="cli")

    assert str(raised.value).startswith(f"{url} redirected to ")
    assert said in str(raised.value) and "\n" not in str(raised.value)
    assert services.feeds() == [] and services.sources() == []


def test_a_feed_of_more_items_than_a_poll_reads_gives_the_newest_and_says_how_many_it_skipped(
    services: Services, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest items are read whatever order the feed lists them in; the report, the
    poll's JSON and the stored feed all say how many older ones were left out."""
    monkeypatch.setattr(bot.feeds.parse, "MAX_ENTRIES", 5)
    days = [3, 17, 1, 9, 22, 5, 14, 30]  # not newest first: the newest 5 are 30, 22, 17, 14, 9
    server.set("/many.rss", Route(numbered_rss(days).encode(), RSS))

    feed, report = services.add_feed(server.url("/many.rss"), added_by="cli")

    titles = sorted(a.title for a in services.sources())
    assert titles == [
        f"Market wrap for 2025-11-{day:02d}: bitcoin trades sideways" for day in (9, 14, 17, 22, 30)
    ]
    assert report.new == 5 and report.skipped == 3
    assert report.to_json()["skipped"] == 3
    assert "the feed lists 8 items; the newest 5 were read and the 3 older ones skipped" in (
        report.problems
    )
    assert feed.items_seen == 8 and feed.items_skipped == 3
    # What the CLI prints of the poll says it too.
    from bot.cli import _poll_line

    assert "3 older items not read (only the newest 5 are)" in _poll_line(report)


def test_summaries_of_different_stories_sharing_one_link_are_each_stored(
    services: Services, server: FeedServer
) -> None:
    """A summary-only feed giving every item its front page as link: the page is fetched once,
    stored as its article, and the other items' summaries are their own stories."""
    server.set(
        "/front.html",
        Route(
            b"<html><head><title>Front page</title></head><body><article><h1>Front page</h1>"
            + b"<p>Bitcoin miners sold reserves as hashprice hit a record low this week.</p>" * 8
            + b"</article></body></html>",
            HTML,
        ),
    )
    link = server.url("/front.html")
    stories = [
        ("Kraken lists two meme coins", "Kraken listed two meme coins; trading opens at 14:00."),
        ("Tether mints $1 billion", "Tether minted another $1 billion of USDT on Tron."),
        ("Solana fees fall", "Average Solana fees fell 30% after a scheduler upgrade."),
    ]
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>0{n} Nov 2025 10:00:00 GMT</pubDate><description>{text}</description></item>"
        for n, (title, text) in enumerate(stories, start=1)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>One Link</title>{items}'
    server.set("/one-link.rss", Route((feed + "</channel></rss>").encode(), RSS))

    _, report = services.add_feed(server.url("/one-link.rss"), added_by="cli")

    titles = {a.title for a in services.sources()}
    assert {title for title, _ in stories[1:]} <= titles, report.problems
    assert report.new == 3
