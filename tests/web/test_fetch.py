"""SafeFetcher against a real local web server: which URLs it refuses (before connecting),
which redirects it follows, where it connects, and the size, time and type limits."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import httpx
import pytest

from bot.errors import InputError
from bot.web.fetch import FetchError, SafeFetcher, forbidden
from tests.web.site import (
    ARTICLE_ETAG,
    ARTICLE_HTML,
    ARTICLE_LAST_MODIFIED,
    ARTICLE_TITLE,
    HEADER_DRIP_SECONDS,
    PNG,
    LocalSite,
    connections,
)

LOCAL_ONLY = ["127.0.0.1/32"]  # the test server is trusted; every other private range is not


class Resolver:
    """A DNS stand-in: each name answers the next of its answer lists (the last one repeats);
    every call is recorded."""

    def __init__(self, **answers: Sequence[str] | list[Sequence[str]]) -> None:
        self.answers = {
            name.replace("_", "."): value if isinstance(value[0], list) else [value]
            for name, value in answers.items()
        }
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answers = self.answers[host]
        return list(answers[min(len(self.calls_for(host)) - 1, len(answers) - 1)])

    def calls_for(self, host: str) -> list[str]:
        return [call for call in self.calls if call == host]


def refused(fetcher: SafeFetcher, url: str) -> str:
    """The message of the FetchError fetching url raises, checking nothing connected."""
    with connections() as attempted, pytest.raises(FetchError) as raised:
        fetcher.fetch(url)
    assert attempted == []
    return str(raised.value)


# -- the default policy: public addresses only ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "address", "reason"),
    [
        ("http://127.0.0.1:{port}/article", "127.0.0.1", "a loopback address"),
        ("http://127.0.0.2:{port}/article", "127.0.0.2", "a loopback address"),
        ("http://localhost:{port}/article", "127.0.0.1", "a loopback address"),
        ("http://[::1]:{port}/article", "::1", "a loopback address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/article",
            str(ipaddress.ip_address("::ffff:127.0.0.1")),  # ::ffff:7f00:1 before Python 3.13
            "a loopback address",
        ),
        ("http://0.0.0.0:{port}/article", "0.0.0.0", "a private or reserved address"),
        ("http://10.0.0.7/", "10.0.0.7", "a private or reserved address"),
        ("http://10.255.1.2:8080/admin", "10.255.1.2", "a private or reserved address"),
        ("http://192.168.1.1/", "192.168.1.1", "a private or reserved address"),
        ("http://172.16.0.1/", "172.16.0.1", "a private or reserved address"),
        ("http://172.31.255.254/", "172.31.255.254", "a private or reserved address"),
        ("http://[fd12:3456::1]/", "fd12:3456::1", "a private or reserved address"),
        ("http://100.64.0.1/", "100.64.0.1", "a private or reserved address"),
        (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "169.254.169.254",
            "a link-local address (cloud metadata lives there)",
        ),
        (
            "http://[fe80::1]/",
            "fe80::1",
            "a link-local address (cloud metadata lives there)",
        ),
        ("http://224.0.0.1/", "224.0.0.1", "a multicast address"),
        ("http://[ff02::1]/", "ff02::1", "a multicast address"),
    ],
)
def test_the_default_policy_refuses_internal_addresses_without_connecting(
    site: LocalSite, url: str, address: str, reason: str
) -> None:
    message = refused(SafeFetcher(), url.format(port=site.port))

    assert f"resolves to {address}, {reason}." in message
    assert "--allow-private" in message and "MARKETBOT_ALLOW_PRIVATE_URLS=1" in message
    assert site.requests == []


def test_a_name_is_refused_when_any_of_its_addresses_is_private(site: LocalSite) -> None:
    resolver = Resolver(news_example=["93.184.216.34", "10.0.0.7"])

    message = refused(SafeFetcher(resolver=resolver), "http://news.example/markets/eth")

    assert message.startswith("Refused news.example: it resolves to 10.0.0.7, a private")
    assert resolver.calls == ["news.example"]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (
            "64:ff9b::a9fe:a9fe",
            "which NAT64 turns into 169.254.169.254, a link-local address (cloud metadata",
        ),
        ("64:ff9b::a00:7", "which NAT64 turns into 10.0.0.7, a private or reserved address"),
        ("64:ff9b:1::a00:7", "a private or reserved address"),
        ("2002:7f00:1::1", "which 6to4 turns into 127.0.0.1, a loopback address"),
        ("::a9fe:a9fe", "a private or reserved address"),  # IPv4-compatible, deprecated
    ],
)
def test_an_ipv6_address_carrying_an_internal_ipv4_one_is_refused(answer: str, said: str) -> None:
    """On an IPv6-only network DNS64 answers every name with 64:ff9b::/96 and a NAT64 gateway
    inside our network connects to the IPv4 address in its last 32 bits."""
    resolver = Resolver(news_example=[answer])

    message = refused(SafeFetcher(resolver=resolver), "http://news.example/markets/eth")

    assert f"Refused news.example: it resolves to {answer}, {said}" in message


def test_an_ipv6_address_carrying_a_public_ipv4_one_is_allowed() -> None:
    # What DNS64 answers for a public IPv4-only site: an IPv6-only deployment must reach it.
    assert forbidden("64:ff9b::5db8:d822") is None  # 93.184.216.34
    assert forbidden("2606:4700:4700::1111") is None


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file:"),
        ("ftp://files.example.com/eth.html", "ftp:"),
        ("gopher://127.0.0.1:{port}/_GET%20/article", "gopher:"),
        ("javascript:alert(document.cookie)", "javascript:"),
        ("data:text/html,<p>ETH fell</p>", "data:"),
    ],
)
def test_only_http_and_https_urls_are_fetched(site: LocalSite, url: str, scheme: str) -> None:
    message = refused(SafeFetcher(allow_private=True), url.format(port=site.port))

    assert message == f"Only http and https URLs can be fetched, not {scheme}"
    assert site.requests == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://[::1/article", "is not a valid URL"),
        ("http:///article", "has no host"),
        ("http://127.0.0.1:99999/article", "has an invalid port"),
        ("http://" + "a" * 64 + ".example/article", "is not a valid host name"),
        ("http://127.0.0.1:{port}/article\x00.html", "is not a valid URL"),
    ],
)
def test_a_malformed_url_is_refused_with_a_reason_not_a_crash(
    site: LocalSite, url: str, said: str
) -> None:
    message = refused(SafeFetcher(allow_private=True), url.format(port=site.port))

    assert said in message
    assert site.requests == []


def test_a_refusal_is_an_input_error_the_user_sees() -> None:
    with pytest.raises(InputError):
        SafeFetcher().fetch("http://10.0.0.7/")


def test_allow_private_fetches_from_loopback(site: LocalSite) -> None:
    fetched = SafeFetcher(allow_private=True).fetch(site.url("/article"))

    assert fetched.status == 200
    assert fetched.url == site.url("/article")
    assert fetched.content_type == "text/html"
    assert fetched.body == ARTICLE_HTML.encode()
    assert fetched.redirects == ()
    [request] = site.requests
    assert request.host == f"127.0.0.1:{site.port}"
    assert request.headers["User-Agent"].startswith("marketbot/")
    assert request.headers["Accept"].startswith("text/html")


def test_an_ipv6_literal_travels_in_brackets_in_the_host_header(site: LocalSite) -> None:
    if not site.ipv6:
        pytest.skip("no IPv6 loopback on this host")

    fetched = SafeFetcher(allow_private=True).fetch(site.url("/host", "[::1]"))

    [request] = site.requests
    assert request.host == f"[::1]:{site.port}"
    assert f"Host: [::1]:{site.port}" in fetched.body.decode()


def test_an_international_host_name_travels_as_idna(site: LocalSite) -> None:
    resolver = Resolver(**{"bücher.example": ["127.0.0.1"]})

    fetched = SafeFetcher(allow_private=True, resolver=resolver).fetch(
        site.url("/host", "bücher.example")
    )

    assert fetched.status == 200
    [request] = site.requests
    assert request.host == f"xn--bcher-kva.example:{site.port}"


# -- a trusted network, and redirects ------------------------------------------------------------


def test_a_trusted_network_is_fetched_but_only_that_network(site: LocalSite) -> None:
    fetcher = SafeFetcher(allowed_networks=LOCAL_ONLY)

    fetched = fetcher.fetch(site.url("/article"))
    message = refused(fetcher, site.url("/article", "127.0.0.2"))

    assert ARTICLE_TITLE.encode() in fetched.body
    assert "Refused 127.0.0.2: it resolves to 127.0.0.2, a loopback address." in message
    assert site.paths() == ["/article"]


@pytest.mark.parametrize(
    ("path", "address", "reason"),
    [
        ("/go/private", "10.0.0.7", "a private or reserved address"),
        ("/go/metadata", "169.254.169.254", "a link-local address (cloud metadata lives there)"),
        ("/go/ipv6-loopback", "::1", "a loopback address"),
    ],
)
def test_a_redirect_out_of_the_trusted_network_is_refused_before_connecting(
    site: LocalSite, path: str, address: str, reason: str
) -> None:
    with connections() as attempted, pytest.raises(FetchError) as raised:
        SafeFetcher(allowed_networks=LOCAL_ONLY).fetch(site.url(path))

    assert f"Refused {address}: it resolves to {address}, {reason}." in str(raised.value)
    assert {host for host, *_ in attempted} == {"127.0.0.1"}
    assert site.paths() == [path]  # the [::1] listener saw nothing either


def test_a_redirect_to_localhost_is_judged_by_the_addresses_it_resolves_to(
    site: LocalSite,
) -> None:
    ipv4_only = Resolver(localhost=["127.0.0.1"])
    dual_stack = Resolver(localhost=["::1", "127.0.0.1"])

    followed = SafeFetcher(allowed_networks=LOCAL_ONLY, resolver=ipv4_only).fetch(
        site.url("/go/localhost")
    )
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allowed_networks=LOCAL_ONLY, resolver=dual_stack).fetch(
            site.url("/go/localhost")
        )

    assert followed.url == site.url("/host", "localhost")
    assert followed.redirects == (site.url("/go/localhost"),)
    assert site.requests[1].host == f"localhost:{site.port}"
    assert "Refused localhost: it resolves to ::1, a loopback address." in str(raised.value)
    assert site.paths() == ["/go/localhost", "/host", "/go/localhost"]


def test_redirects_within_the_site_are_followed_and_listed(site: LocalSite) -> None:
    fetched = SafeFetcher(allowed_networks=LOCAL_ONLY).fetch(site.url("/go/relative"))

    assert fetched.status == 200
    assert fetched.url == site.url("/article")
    assert fetched.redirects == (site.url("/go/relative"), site.url("/go/article"))
    assert ARTICLE_TITLE.encode() in fetched.body
    assert site.paths() == ["/go/relative", "/go/article", "/article"]


def test_a_redirect_loop_stops_with_a_clear_message(site: LocalSite) -> None:
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allowed_networks=LOCAL_ONLY, max_redirects=3).fetch(site.url("/loop"))

    assert str(raised.value) == f"{site.url('/loop')} redirects more than 3 times."
    assert site.paths() == ["/loop"] * 4


NOT_HTTP = "but only http and https URLs can be fetched."


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/go/ftp", f"redirected to ftp://files.example.com/eth.html, {NOT_HTTP}"),
        ("/go/data", f"redirected to data:text/html,<p>Ether fell 9%</p>, {NOT_HTTP}"),
        ("/go/javascript", f"redirected to javascript:alert(document.cookie), {NOT_HTTP}"),
        ("/go/file", f"redirected to file:///etc/passwd, {NOT_HTTP}"),
        ("/go/broken", "redirected to http://[::1/host, which is not a valid URL."),
    ],
)
def test_a_redirect_to_an_unusable_url_is_refused_with_one_line_saying_where(
    site: LocalSite, path: str, said: str
) -> None:
    with connections() as attempted, pytest.raises(FetchError) as raised:
        SafeFetcher(allowed_networks=LOCAL_ONLY).fetch(site.url(path))

    assert str(raised.value) == f"{site.url(path)} {said}"
    assert "\n" not in str(raised.value)
    assert {host for host, *_ in attempted} == {"127.0.0.1"}
    assert site.paths() == [path]


@pytest.mark.parametrize("path", ["/go/nowhere", "/go/empty"])
def test_a_redirect_without_a_location_is_refused_not_read_as_the_page(
    site: LocalSite, path: str
) -> None:
    """The 302's body is the article: it must not be taken for the page the redirect meant."""
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allowed_networks=LOCAL_ONLY).fetch(site.url(path))

    assert str(raised.value) == f"{site.url(path)} redirected without saying where to."
    assert site.paths() == [path]


# -- DNS rebinding: the address checked is the address connected to -----------------------------


def test_the_fetch_connects_to_the_checked_address_with_the_name_in_the_host_header(
    site: LocalSite,
) -> None:
    rebinding = Resolver(news_example=[["127.0.0.1"], ["10.0.0.7"]])

    with connections() as attempted:
        fetched = SafeFetcher(allowed_networks=LOCAL_ONLY, resolver=rebinding).fetch(
            site.url("/host", "news.example")
        )

    assert rebinding.calls == ["news.example"]
    assert {host for host, *_ in attempted} == {"127.0.0.1"}
    [request] = site.requests
    assert request.host == f"news.example:{site.port}"
    assert f"Host: news.example:{site.port}" in fetched.body.decode()
    assert fetched.url == site.url("/host", "news.example")


def test_each_hop_is_resolved_once_and_a_rebinding_on_a_redirect_is_refused(
    site: LocalSite,
) -> None:
    stable = Resolver(news_example=["127.0.0.1"])
    rebinding = Resolver(news_example=[["127.0.0.1"], ["10.0.0.7"]])
    start = site.url("/go/relative", "news.example")

    # news.example/go/relative -> news.example/go/article -> 127.0.0.1/article
    fetched = SafeFetcher(allowed_networks=LOCAL_ONLY, resolver=stable).fetch(start)
    with connections() as attempted, pytest.raises(FetchError) as raised:
        SafeFetcher(allowed_networks=LOCAL_ONLY, resolver=rebinding).fetch(start)

    assert stable.calls == ["news.example", "news.example"]
    assert fetched.url == site.url("/article")
    assert fetched.redirects == (start, site.url("/go/article", "news.example"))
    assert rebinding.calls == ["news.example", "news.example"]
    assert "Refused news.example: it resolves to 10.0.0.7" in str(raised.value)
    assert {host for host, *_ in attempted} == {"127.0.0.1"}
    assert site.paths() == ["/go/relative", "/go/article", "/article", "/go/relative"]


# -- size, time and type limits, status codes, conditional requests ------------------------------


@pytest.mark.parametrize("path", ["/big", "/big/chunked"])
def test_a_body_over_the_size_cap_is_refused(site: LocalSite, path: str) -> None:
    fetcher = SafeFetcher(allow_private=True, max_bytes=8 * 1024)

    with pytest.raises(FetchError) as raised:
        fetcher.fetch(site.url(path))

    assert str(raised.value) == f"{site.url(path)} is larger than 8 KB."
    assert fetcher.fetch(site.url("/article")).body == ARTICLE_HTML.encode()  # under the cap


def test_a_server_that_does_not_answer_in_time_is_given_up_on(site: LocalSite) -> None:
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True, timeout=0.5).fetch(site.url("/slow"))

    assert str(raised.value) == "127.0.0.1 did not answer within 0.5 s."


def test_a_body_that_trickles_in_is_given_up_on(site: LocalSite) -> None:
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True, timeout=0.5).fetch(site.url("/drip"))

    assert str(raised.value) == f"{site.url('/drip')} took longer than 0.5 s to send."


@pytest.mark.parametrize("path", ["/drip/headers", "/go/drip-headers"])
def test_a_server_that_drips_its_headers_is_cut_off_at_the_timeout(
    site: LocalSite, path: str
) -> None:
    """Slowloris: every byte comes in time for a per-read timeout, so only a deadline on the
    whole exchange (every redirect hop included) ends it."""
    started = time.monotonic()
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True, timeout=1.0).fetch(site.url(path))
    took = time.monotonic() - started

    assert str(raised.value) == "127.0.0.1 did not answer within 1 s."
    assert took < 1.0 + 3  # it would have dripped for HEADER_DRIP_SECONDS
    assert HEADER_DRIP_SECONDS > 1.0 + 3


class StalledResolver:
    """A DNS server that never answers (until the test ends)."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def __call__(self, host: str, port: int) -> list[str]:
        self.released.wait(30)
        return ["127.0.0.1"]


@pytest.fixture
def stalled() -> Iterator[StalledResolver]:
    resolver = StalledResolver()
    yield resolver
    resolver.released.set()


def test_a_name_that_does_not_resolve_in_time_is_given_up_on_at_the_timeout(
    site: LocalSite, stalled: StalledResolver
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True, timeout=1.0, resolver=stalled).fetch(
            site.url("/article", "news.example")
        )

    assert str(raised.value) == "news.example did not answer within 1 s."
    assert time.monotonic() - started < 1.0 + 3
    stalled.released.set()
    time.sleep(0.2)
    assert site.requests == []  # the abandoned lookup never goes on to connect


def test_a_body_cut_short_is_reported(site: LocalSite) -> None:
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True).fetch(site.url("/broken/short-body"))

    assert str(raised.value).startswith(f"{site.url('/broken/short-body')} broke off")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/download.bin", "application/octet-stream"), ("/chart.png", "image/png")],
)
def test_a_page_of_the_wrong_content_type_is_refused(
    site: LocalSite, path: str, content_type: str
) -> None:
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True).fetch(site.url(path))

    assert str(raised.value) == (
        f"{site.url(path)} is {content_type}, not what was asked for "
        "(text/html, application/xhtml+xml)."
    )


def test_the_accepted_content_types_are_the_callers_choice(site: LocalSite) -> None:
    fetched = SafeFetcher(allow_private=True).fetch(site.url("/chart.png"), accept=("image/png",))

    assert fetched.content_type == "image/png"
    assert fetched.body == PNG


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/error", 500)])
def test_an_error_status_is_reported_with_its_code(site: LocalSite, path: str, status: int) -> None:
    with pytest.raises(FetchError) as raised:
        SafeFetcher(allow_private=True).fetch(site.url(path))

    assert str(raised.value) == f"{site.url(path)} answered HTTP {status}."


def test_an_unchanged_page_answers_304_not_modified(site: LocalSite) -> None:
    fetcher = SafeFetcher(allow_private=True)

    first = fetcher.fetch(site.url("/article"))
    again = fetcher.fetch(site.url("/article"), etag=first.etag, last_modified=first.last_modified)

    assert not first.not_modified
    assert first.etag == ARTICLE_ETAG and first.last_modified == ARTICLE_LAST_MODIFIED
    assert again.not_modified
    assert again.status == 304 and again.body == b""
    assert again.etag == ARTICLE_ETAG
    sent = site.requests[1].headers
    assert sent["If-None-Match"] == ARTICLE_ETAG
    assert sent["If-Modified-Since"] == ARTICLE_LAST_MODIFIED
    assert "If-None-Match" not in site.requests[0].headers


def test_a_compressed_body_is_refused_before_it_is_unpacked() -> None:
    """A few KB of zstd can unpack to gigabytes: only plain bodies are accepted."""
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []
    bomb = gzip.compress(b"\0" * 5_000_000)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Accept-Encoding", ""))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            self.wfile.write(bomb)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(FetchError, match="gzip-compressed"):
            SafeFetcher(allow_private=True, max_bytes=1_000_000).fetch(
                f"http://127.0.0.1:{server.server_address[1]}/"
            )
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["identity"]


class _Unreachable(httpx.HTTPTransport):
    """The real transport, except that connecting to DOWN fails as a refused connection
    would, without a packet sent there."""

    down = "192.0.2.1"  # TEST-NET-1: documentation only, never connected to
    tried: ClassVar[list[str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _Unreachable.tried.append(request.url.host)
        if request.url.host == self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return super().handle_request(request)


def test_a_host_whose_first_address_is_down_is_reached_at_the_next(
    site: LocalSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.web.fetch.httpx.HTTPTransport", _Unreachable)
    _Unreachable.tried = []
    resolver = Resolver(news_example=[_Unreachable.down, "127.0.0.1"])
    fetcher = SafeFetcher(allowed_networks=["192.0.2.0/24", *LOCAL_ONLY], resolver=resolver)

    fetched = fetcher.fetch(site.url("/article", "news.example"))
    only_down = SafeFetcher(
        allowed_networks=["192.0.2.0/24"], resolver=Resolver(news_example=[_Unreachable.down])
    )
    message = refused(only_down, site.url("/article", "news.example"))

    assert ARTICLE_TITLE.encode() in fetched.body
    assert _Unreachable.tried[:2] == [_Unreachable.down, "127.0.0.1"]
    assert [r.host for r in site.requests] == [f"news.example:{site.port}"]
    assert message == "Could not connect to news.example (tried 192.0.2.1)."
