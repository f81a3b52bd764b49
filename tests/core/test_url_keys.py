"""One normal form of a web address for the whole project: feeds, article ids and the keys
that find a link's stories agree (the scheme's default port, case, fragments), and a store
written when links were keyed with the port kept is re-keyed once, so the same story arriving
without the port updates the stored article instead of becoming a second one."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

import bot.core.ingest
import bot.core.store
from bot.core.text import canonical_url, normal_url, short_hash
from bot.feeds import feed_key, normalise_url
from tests.conftest import MakeServices


@pytest.mark.parametrize(
    ("given", "normal", "key"),
    [
        (
            "https://News.Example:443/Story/",
            "https://news.example/Story/",
            "https://news.example/Story",
        ),
        ("HTTP://news.example:80", "http://news.example/", "http://news.example/"),
        (
            "http://news.example:8080/a#part",
            "http://news.example:8080/a",
            "http://news.example:8080/a",
        ),
        (
            "https://[2001:DB8::1]:443/a?utm_source=x&id=7",
            "https://[2001:db8::1]/a?utm_source=x&id=7",
            "https://[2001:db8::1]/a?id=7",
        ),
        ("https://news.example:80/a", "https://news.example:80/a", "https://news.example:80/a"),
    ],
)
def test_an_address_has_one_normal_form_and_one_key(given: str, normal: str, key: str) -> None:
    assert normal_url(given) == normal
    assert canonical_url(given) == key
    assert canonical_url(normal) == key  # the key of the normal form is the same key


def test_feeds_and_articles_agree_on_the_default_port() -> None:
    assert normalise_url("https://news.example:443/rss") == "https://news.example/rss"
    assert feed_key("https://news.example:443/rss") == feed_key("https://NEWS.example/rss")
    # An item linked with the port and the same story linked without: one article id.
    assert short_hash(canonical_url("https://news.example:443/a")) == short_hash(
        canonical_url("https://news.example/a")
    )


def old_canonical_url(url: str) -> str:
    """canonical_url as it was before the port was normalised (kept to build an old store)."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith("utm_")]
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


STORY = {
    "title": "Ether slides as leveraged longs unwind",
    "body": "Ether fell 9% on Tuesday as leveraged long positions were liquidated across "
    "exchanges, traders said, while spot ETF outflows continued for a third day.",
    "published_at": "2025-11-04T12:00:00Z",
    "outlet": "Example Wire",
}


def test_a_store_keyed_the_old_way_is_re_keyed_once_and_keeps_one_article_per_story(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier version stored the story from a link that carried the port.
    with monkeypatch.context() as old:
        old.setattr(bot.core.ingest, "canonical_url", old_canonical_url)
        old.setattr(bot.core.store, "canonical_url", old_canonical_url)
        before = make_services("data")
        record = {**STORY, "url": "https://news.example:443/markets/ether-slides"}
        before.ingest_upload(json.dumps([record]).encode(), "news.json", ingested_by="cli")
        before.store._set_shared_metadata(url_keys="")  # as a store from before the mark
        [stored] = [a for a in before.sources() if a.ingested_by == "cli"]
        assert stored.id == short_hash("https://news.example:443/markets/ether-slides")
        before.store.close()

    after = make_services("data")  # opening it re-keys the links once
    assert after.store.url_keys_current()
    assert after.store.rekey_urls() == 0  # nothing left to change
    fuller = {
        **STORY,
        "body": STORY["body"] + " Analysts pointed to a break below $3,400 as the trigger.",
        "url": "https://news.example/markets/ether-slides",
    }
    report = after.ingest_upload(json.dumps([fuller]).encode(), "news.json", ingested_by="cli")

    [article] = [a for a in after.sources() if a.ingested_by == "cli"]
    assert article.id == stored.id  # the stored story, updated: not a second article
    assert article.url == "https://news.example/markets/ether-slides"
    assert "Analysts pointed" in (after.store.article(article.id) or article).body
    assert report.files[0].updated == 1
