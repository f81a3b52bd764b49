"""RSS and Atom feeds, polled from a real HTTP server on 127.0.0.1 (tests/feeds/feed_server.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.core.documents import Article
from bot.errors import InputError, NotFoundError
from bot.feeds import Feed, FeedError, FeedStore, PollReport, poll_due
from bot.services import Services
from bot.state import open_state
from tests.conftest import MakeServices, StateTarget, another_host
from tests.feeds.feed_server import NEW_ITEM, FeedServer

LOCAL = {"allowed_networks": ["127.0.0.1/32"]}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    return make_services(**LOCAL)


def stored(services: Services, feed_url: str) -> dict[str, Article]:
    """The articles a feed brought, by title, with their text."""
    articles = [services.store.article(a.id) for a in services.sources()]
    return {a.title: a for a in articles if a and a.ingested_by == f"feed:{feed_url}"}


def by_url(
    results: list[tuple[Feed, PollReport | FeedError]],
) -> dict[str, PollReport | FeedError]:
    return {feed.url: outcome for feed, outcome in results}


def feeds_list(services: Services) -> list[dict[str, object]]:
    """`marketbot feeds list --json`, run in-process (it loads no model)."""
    data_dir = str(services.settings.data_dir)
    result = CliRunner().invoke(app, ["--data-dir", data_dir, "feeds", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_a_full_text_feed_stores_each_item_with_its_title_link_date_outlet_and_feed(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/full.rss")

    feed, report = services.add_feed(url, added_by="admin 42")

    assert report.new == 2 and not report.problems
    assert feed.title == "Chain Ledger Wire" and feed.added_by == "admin 42"
    articles = stored(services, url)
    ether = articles["Ether slides 11% as staking exit queue swells to a record"]
    assert ether.url == "https://chainledger.example/markets/ether-staking-exit-queue"
    assert ether.published_at is not None
    assert ether.published_at.isoformat() == "2025-11-04T14:30:00+00:00"
    assert ether.outlet == "Chain Ledger Wire"
    # The full text of content:encoded, not the one-line description; markup and scripts gone.
    assert "2.4 million ETH" in ether.body and "Mara Ellison" in ether.body
    assert "<p>" not in ether.body and "trackPageView" not in ether.body
    assert "Bitcoin miners sell reserves as hashprice sinks to a two-year low" in articles


def test_a_summary_only_feed_brings_the_linked_articles_full_text_to_answers(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/summaries.rss")

    _, report = services.add_feed(url, added_by="admin")
    answer = services.ask("why did Solana drop 9%?")

    assert report.new == 3
    solana = stored(services, url)["Solana tumbles 9% after block production halts"]
    assert solana.url == server.url("/articles/solana-halt.html")
    assert solana.outlet == "Block Street Journal" and len(solana.body) > 1500
    assert solana.author == "Priya Raman"  # from the article page, kept with the article
    # "47 minutes" is only in the article page, never in the feed's summary.
    assert answer.status == "answered" and "47 minutes" in answer.answer
    assert any(c.url == solana.url and c.outlet == "Block Street Journal" for c in answer.citations)
    assert len(server.requests("/articles/solana-halt.html")) == 1


def test_an_item_whose_article_page_is_missing_keeps_its_summary_and_says_so(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/summaries.rss")

    _, report = services.add_feed(url, added_by="admin")

    doge = stored(services, url)["Dogecoin steadies after whale wallets move 900 million DOGE"]
    assert doge.body.startswith("Large Dogecoin holders moved 900 million DOGE")
    [problem] = report.problems
    assert "doge-whales.html" in problem and "kept the feed's summary" in problem
    assert "404" in problem


def test_once_a_polls_time_for_article_pages_is_used_up_items_keep_their_summaries(
    services: Services, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slow site cannot hold the poller: past the budget no page is fetched, every item is
    still stored (with its summary) and the report says why."""
    import bot.feeds

    monkeypatch.setattr(bot.feeds.poll, "ARTICLE_PAGES_SECONDS", 0.0)
    url = server.url("/summaries.rss")

    _, report = services.add_feed(url, added_by="admin")

    assert report.new == 3
    assert [r.path for r in server.log if "/articles/" in r.path] == []
    assert len(report.problems) == 3
    assert all("time for article pages was used up" in p for p in report.problems)
    doge = stored(services, url)["Dogecoin steadies after whale wallets move 900 million DOGE"]
    assert doge.body.startswith("Large Dogecoin holders moved 900 million DOGE")


def test_an_atom_feed_is_read_and_polled_again_with_if_modified_since(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/atom.xml")

    services.add_feed(url, added_by="admin")
    [(feed, second)] = services.poll_feeds(force=True)

    articles = stored(services, url)
    yields = articles["Treasury yields jump after hot jobs report, crypto slips"]
    assert yields.outlet == "Macro Desk" and "254,000" in yields.body
    assert yields.published_at is not None and yields.published_at.day == 7
    assert "Dollar index hits three-month high as Fed officials sound hawkish" in articles
    assert isinstance(second, PollReport) and second.status == "not modified"
    last = server.requests("/atom.xml")[-1]
    assert last.headers["if-modified-since"] == "Fri, 07 Nov 2025 18:00:00 GMT"
    assert last.status == 304
    assert feed.last_error is None and feed.items_seen == 2


def test_a_second_poll_sends_the_etag_gets_304_and_stores_nothing_again(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/full.rss")
    first_feed, first = services.add_feed(url, added_by="admin")
    count = len(services.sources())

    [(feed, second)] = services.poll_feeds(force=True)

    assert first.new == 2
    assert isinstance(second, PollReport) and second.status == "not modified"
    assert second.new == 0 and len(services.sources()) == count
    [fetch, poll] = server.requests("/full.rss")
    assert "if-none-match" not in fetch.headers
    assert poll.headers["if-none-match"] == first_feed.etag and poll.status == 304
    assert feed.last_ok is not None and feed.failures == 0


def test_an_item_published_between_polls_is_ingested_once(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/changing.rss")
    services.add_feed(url, added_by="admin")

    server.add_item("/changing.rss", NEW_ITEM)
    [(_, changed)] = services.poll_feeds(force=True)
    [(feed, unchanged)] = services.poll_feeds(force=True)

    assert isinstance(changed, PollReport) and changed.status == "read"
    assert changed.new == 1 and changed.duplicates == 2
    articles = stored(services, url)
    link = articles["Chainlink jumps 12% after bank settlement pilot goes live"]
    assert link.url == "https://altbrief.example/chainlink-bank-pilot"
    assert len(articles) == 3
    assert isinstance(unchanged, PollReport) and unchanged.status == "not modified"
    assert feed.items_seen == 3


def test_a_failing_feed_keeps_its_error_and_backs_off_while_another_still_polls(
    services: Services, server: FeedServer
) -> None:
    failing, healthy = server.url("/full.rss"), server.url("/changing.rss")
    services.add_feed(failing, added_by="admin")
    services.add_feed(healthy, added_by="admin")
    server.fail("/full.rss", 500)
    server.add_item("/changing.rss", NEW_ITEM)
    # A moment after both are due (from the feeds' own schedule, not the clock).
    start = max(datetime.fromisoformat(str(f.next_poll)) for f in services.feeds())
    start += timedelta(minutes=1)

    results = by_url(poll_due(services, now=start))

    assert isinstance(results[failing], FeedError) and "HTTP 500" in str(results[failing])
    assert isinstance(results[healthy], PollReport) and results[healthy].new == 1
    row = next(r for r in feeds_list(services) if r["url"] == failing)
    assert "HTTP 500" in str(row["last_error"]) and row["failures"] == 1
    assert row["next_poll"] == (start + timedelta(minutes=30)).isoformat()  # 15 min x 2

    asked = len(server.requests("/full.rss"))
    later = by_url(poll_due(services, now=start + timedelta(minutes=20)))
    assert failing not in later and healthy in later  # backing off; the other one polls
    assert len(server.requests("/full.rss")) == asked

    again = by_url(poll_due(services, now=start + timedelta(minutes=31)))
    assert isinstance(again[failing], FeedError)
    row = next(r for r in feeds_list(services) if r["url"] == failing)
    assert row["failures"] == 2
    assert row["next_poll"] == (start + timedelta(minutes=31 + 60)).isoformat()

    server.restore("/full.rss")
    [(feed, recovered)] = [(f, r) for f, r in services.poll_feeds(force=True) if f.url == failing]
    assert isinstance(recovered, PollReport)
    assert feed.failures == 0 and feed.last_error is None


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/broken.rss", "is not an RSS or Atom feed"),
        ("/page.html", "is not an RSS or Atom feed"),  # served as text/html: parsed, refused
        ("/error.rss", "answered HTTP 500"),
        ("/no-such-feed.rss", "answered HTTP 404"),
    ],
)
def test_what_is_not_a_readable_feed_is_refused_with_the_reason_and_not_stored(
    services: Services, server: FeedServer, path: str, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        services.add_feed(server.url(path), added_by="admin")

    assert services.feeds() == [] and services.sources() == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://news.example/feed.xml", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("news.example/feed.xml", "start it with https://"),
        ("https://reader:secret@news.example/feed.xml", "user name or password"),
    ],
)
def test_an_address_that_is_not_a_web_feed_is_refused(
    services: Services, url: str, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        services.add_feed(url, added_by="admin")

    assert services.feeds() == []


def test_a_feed_on_a_private_address_is_refused_unless_allowed(
    make_services: MakeServices, server: FeedServer
) -> None:
    services = make_services()  # the default policy: public addresses only

    with pytest.raises(InputError, match="loopback"):
        services.add_feed(server.url("/full.rss"), added_by="admin")

    assert services.feeds() == [] and server.requests("/full.rss") == []


def test_adding_a_feed_twice_is_refused_without_fetching_it_again(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/full.rss")
    services.add_feed(url, added_by="admin")

    with pytest.raises(InputError, match="already being polled"):
        services.add_feed(url.replace("http://", "HTTP://") + "#latest", added_by="someone")

    assert [f.url for f in services.feeds()] == [url]
    assert len(server.requests("/full.rss")) == 1


def test_a_removed_feed_is_no_longer_polled_but_its_articles_stay(
    services: Services, server: FeedServer
) -> None:
    url = server.url("/changing.rss")
    services.add_feed(url, added_by="admin")
    titles = set(stored(services, url))

    removed = services.remove_feed(url)
    polled = services.poll_feeds(force=True)

    assert removed.url == url and services.feeds() == [] and polled == []
    assert len(server.requests("/changing.rss")) == 1
    assert set(stored(services, url)) == titles and len(titles) == 2
    with pytest.raises(NotFoundError, match="feeds list"):
        services.remove_feed(url)


def test_two_feed_stores_changing_the_list_at_once_lose_nothing(
    state_target: StateTarget,
) -> None:
    data_dir, url = state_target
    states = [another_host(state_target, name) for name in "ab"]
    stores = [FeedStore(state) for state in states]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def work(number: int, store: FeedStore) -> None:
        try:
            start.wait()
            for item in range(25):
                url = f"https://news{number}.example/feed-{item}.xml"
                store.add(url, f"writer {number}")
                store.update(url, lambda f: Feed.from_json({**f.to_json(), "items_seen": 7}))
                store.update(url, title=f"Feed {number}-{item}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    feeds = FeedStore(open_state(data_dir, url)).list()
    assert len(feeds) == 50 and len({f.url for f in feeds}) == 50
    assert all(f.items_seen == 7 and f.title and f.title.startswith("Feed ") for f in feeds)


def test_a_feed_failing_for_weeks_keeps_a_day_long_back_off_and_never_stops_the_others(
    services: Services, server: FeedServer
) -> None:
    failing, healthy = server.url("/error.rss"), server.url("/full.rss")
    store = FeedStore(services.state)
    store.add(failing, "cli")
    store.add(healthy, "cli")
    store.update(failing, failures=40)  # 2**41 intervals would overflow a timedelta

    results = by_url(services.poll_feeds(force=True))

    assert isinstance(results[failing], FeedError)
    assert isinstance(results[healthy], PollReport) and results[healthy].new >= 2
    after = store.get(failing)
    assert after is not None and after.failures == 41 and after.next_poll is not None
    assert after.last_polled is not None
    wait = datetime.fromisoformat(after.next_poll) - datetime.fromisoformat(after.last_polled)
    assert wait == timedelta(hours=24)
