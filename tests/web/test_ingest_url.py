"""Services.ingest_url against the local news site: what is stored from a page, what is
refused and why, and that a refusal stores nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.services import Services
from bot.web.fetch import FetchError
from tests.conftest import MakeServices
from tests.web.site import (
    ARTICLE_OUTLET,
    ARTICLE_PARAGRAPHS,
    ARTICLE_TITLE,
    CURLY_QUOTE,
    RU_PARAGRAPHS,
    RU_TITLE,
    LocalSite,
)

LOCAL_ONLY = ["127.0.0.1/32"]
ADMIN = "discord:1400000000000000051"
PUBLISHED = datetime(2025, 11, 18, 14, 30, tzinfo=UTC)


@pytest.fixture
def services(make_services: MakeServices) -> Services:
    """A fresh, empty store whose deployment trusts 127.0.0.1 (the site) and nothing else."""
    return make_services(allow_private_urls=False, allowed_networks=LOCAL_ONLY)


def test_an_article_page_is_stored_with_its_metadata_and_answers_questions(
    services: Services, site: LocalSite
) -> None:
    report = services.ingest_url(site.url("/go/article"), ingested_by=ADMIN)

    assert report.stored == 1 and not report.failed
    [file] = report.files
    assert file.origin == site.url("/article")
    assert (file.found, file.stored, file.problems) == (1, 1, [])
    [article] = services.sources()
    assert article.title == ARTICLE_TITLE
    assert article.url == site.url("/article")  # where the redirect led, not where it began
    assert article.published_at == PUBLISHED
    assert article.outlet == ARTICLE_OUTLET
    assert article.ingested_by == ADMIN
    assert "ETH" in article.assets
    stored = services.store.article(article.id)
    assert stored is not None and ARTICLE_PARAGRAPHS[-1][:60] in stored.body
    assert "Sign in" not in stored.body and "All rights reserved" not in stored.body

    answer = services.ask("why did ETH fall 9%?")

    assert answer.status == "answered"
    assert "$287 million" in answer.answer
    cited = [c for c in answer.citations if c.article_id == article.id]
    assert cited
    assert cited[0].url == site.url("/article")
    assert cited[0].outlet == ARTICLE_OUTLET
    assert cited[0].published_at and cited[0].published_at.startswith("2025-11-18")


def test_a_page_that_is_not_an_article_is_refused_and_nothing_is_stored(
    services: Services, site: LocalSite
) -> None:
    report = services.ingest_url(site.url("/landing"), ingested_by=ADMIN)

    assert report.failed and report.stored == 0
    [file] = report.files
    assert file.found == 0
    [problem] = file.problems
    assert problem.startswith("not an article")
    assert services.sources() == []
    assert services.store.chunk_count() == 0


def test_a_page_with_unclosed_tags_is_stored_whole(services: Services, site: LocalSite) -> None:
    report = services.ingest_url(site.url("/broken/unclosed"), ingested_by=ADMIN)

    assert report.stored == 1, report.files
    [article] = services.sources()
    assert article.title == ARTICLE_TITLE
    assert article.published_at == PUBLISHED
    body = services.store.article(article.id)
    assert body is not None
    assert ARTICLE_PARAGRAPHS[0][:60] in body.body and ARTICLE_PARAGRAPHS[-1][:60] in body.body


def test_a_truncated_page_is_stored_up_to_where_it_breaks_off(
    services: Services, site: LocalSite
) -> None:
    report = services.ingest_url(site.url("/broken/truncated"), ingested_by=ADMIN)

    assert report.stored == 1, report.files
    [article] = services.sources()
    assert article.title == ARTICLE_TITLE
    body = services.store.article(article.id)
    assert body is not None
    assert ARTICLE_PARAGRAPHS[2][:60] in body.body
    assert ARTICLE_PARAGRAPHS[4][:30] not in body.body


def test_one_stray_byte_does_not_garble_the_articles_quotes(
    services: Services, site: LocalSite
) -> None:
    services.ingest_url(site.url("/broken/stray-byte"), ingested_by=ADMIN)

    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None
    assert "\u00e2\u20ac" not in stored.body  # the mojibake of a curly quote: \u201c -> "â€œ"
    assert CURLY_QUOTE in stored.body


@pytest.mark.parametrize("path", ["/ru/header", "/ru/meta"])
def test_a_page_in_a_declared_legacy_charset_is_read_in_that_charset(
    services: Services, site: LocalSite, path: str
) -> None:
    """Windows-1251 declared by the server or by the page itself: the Russian text is stored
    as written, not as Windows-1252 mojibake."""
    services.ingest_url(site.url(path), ingested_by=ADMIN)

    [article] = services.sources()
    stored = services.store.article(article.id)
    assert stored is not None
    assert article.title == RU_TITLE
    assert RU_PARAGRAPHS[0][:60] in stored.body


def test_a_page_whose_body_breaks_off_is_refused_and_nothing_is_stored(
    services: Services, site: LocalSite
) -> None:
    with pytest.raises(FetchError, match="broke off"):
        services.ingest_url(site.url("/broken/short-body"), ingested_by=ADMIN)

    assert services.sources() == []


def test_the_same_url_ingested_twice_is_stored_once(services: Services, site: LocalSite) -> None:
    first = services.ingest_url(site.url("/article"), ingested_by=ADMIN)
    again = services.ingest_url(site.url("/go/article"), ingested_by="cli")

    assert first.stored == 1
    assert again.stored == 0 and not again.failed
    assert again.files[0].duplicates == 1
    [article] = services.sources()
    assert article.ingested_by == ADMIN  # the first to bring it
    assert services.store.chunk_count() == article.n_chunks


def test_a_loopback_url_is_refused_by_default_and_nothing_is_stored(
    make_services: MakeServices, site: LocalSite
) -> None:
    services = make_services()  # the default policy: public addresses only

    with pytest.raises(FetchError) as raised:
        services.ingest_url(site.url("/article"), ingested_by=ADMIN)

    assert "127.0.0.1, a loopback address" in str(raised.value)
    assert "--allow-private" in str(raised.value)
    assert site.requests == []
    assert services.sources() == []


def test_a_trusted_network_does_not_open_the_others(services: Services, site: LocalSite) -> None:
    with pytest.raises(FetchError) as raised:
        services.ingest_url(site.url("/go/metadata"), ingested_by=ADMIN)

    assert "169.254.169.254, a link-local address" in str(raised.value)
    assert site.paths() == ["/go/metadata"]
    assert services.sources() == []


def test_allow_private_lets_one_call_reach_loopback(
    make_services: MakeServices, site: LocalSite
) -> None:
    services = make_services()

    report = services.ingest_url(site.url("/article"), ingested_by="cli", allow_private=True)

    assert report.stored == 1
    assert [a.ingested_by for a in services.sources()] == ["cli"]


def test_the_fetch_limits_come_from_the_settings(
    make_services: MakeServices, site: LocalSite
) -> None:
    services = make_services(allow_private_urls=True, fetch_max_bytes=8 * 1024, fetch_timeout=0.5)

    with pytest.raises(FetchError) as too_big:
        services.ingest_url(site.url("/big/chunked"), ingested_by=ADMIN)
    with pytest.raises(FetchError) as too_slow:
        services.ingest_url(site.url("/slow"), ingested_by=ADMIN)

    assert str(too_big.value) == f"{site.url('/big/chunked')} is larger than 8 KB."
    assert str(too_slow.value) == "127.0.0.1 did not answer within 0.5 s."
    assert services.sources() == []


def test_a_page_whose_server_drips_its_headers_is_refused_at_the_timeout(
    make_services: MakeServices, site: LocalSite
) -> None:
    services = make_services(allowed_networks=LOCAL_ONLY, fetch_timeout=1.0)
    started = time.monotonic()

    with pytest.raises(FetchError) as raised:
        services.ingest_url(site.url("/drip/headers"), ingested_by=ADMIN)

    assert str(raised.value) == "127.0.0.1 did not answer within 1 s."
    assert time.monotonic() - started < 1.0 + 3  # the server would drip for 30 s
    assert services.sources() == []


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/go/data", "only http and https URLs can be fetched"),
        ("/go/javascript", "only http and https URLs can be fetched"),
        ("/go/broken", "which is not a valid URL"),
        ("/go/nowhere", "redirected without saying where to"),
    ],
)
def test_a_page_redirecting_where_it_cannot_be_followed_is_refused_and_nothing_is_stored(
    services: Services, site: LocalSite, path: str, said: str
) -> None:
    with pytest.raises(FetchError, match=said):
        services.ingest_url(site.url(path), ingested_by=ADMIN)

    assert services.sources() == []
    assert services.store.chunk_count() == 0
