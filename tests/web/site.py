"""A small news website on 127.0.0.1 (and on [::1], same port, where the host has IPv6).

`LocalSite` is a `http.server.ThreadingHTTPServer` on its own thread, speaking real HTTP/1.1
(Content-Length or chunked bodies, keep-alive), that serves what the open web serves a fetcher:

* `/article`: a news article page (<article>, headline, byline, `article:published_time`,
  several paragraphs about ether ETF outflows), with an ETag and Last-Modified, answering
  304 to a matching If-None-Match;
* `/landing`: a login page with almost no text;
* `/broken/unclosed`: the article with unclosed tags and no </body></html>;
  `/broken/truncated`: the article cut off mid-sentence, mid-tag;
  `/broken/stray-byte`: the article with curly quotes and one byte that is not UTF-8;
  `/broken/short-body`: a Content-Length larger than the body the server sends before hanging up;
* `/download.bin` (application/octet-stream) and `/chart.png` (image/png);
* `/big` (a body of `BIG_BYTES` with Content-Length) and `/big/chunked` (the same, chunked,
  with no Content-Length);
* `/slow` (answers only after `SLOW_SECONDS`) and `/drip` (headers at once, then the body a few
  bytes at a time for `SLOW_SECONDS`); both are released at once when the site stops;
* `/drip/headers`: slowloris, the status line and headers written one byte every
  `DRIP_INTERVAL` seconds (for `HEADER_DRIP_SECONDS` in all), each byte in time for any
  per-read timeout; `/go/drip-headers` redirects there;
* redirects: `/go/article` (302 to `/article`), `/go/relative` (301, a relative Location),
  `/go/private` (to http://10.0.0.7/), `/go/metadata` (to the cloud metadata service),
  `/go/ipv6-loopback` (to http://[::1]:PORT/host), `/go/localhost` (to http://localhost:PORT/
  host), `/go/ftp` (to an ftp: URL), `/go/data`, `/go/javascript` and `/go/file` (to data:,
  javascript: and file: URLs), `/go/broken` (a Location that is not a URL), `/go/nowhere` (a 302
  with no Location at all, and the article as its body) and `/go/empty` (an empty Location),
  `/loop` (to itself, forever);
* `/ru/header`: a Russian article in Windows-1251, its charset only in the Content-Type header;
  `/ru/meta`: the same, its charset only in a `<meta http-equiv>` tag;
* `/missing` (404 page) and `/error` (500 page);
* `/host`: a page saying which Host header it received.

Every request is recorded (path, Host header, the headers) in `requests`, so a test can check
that a refused URL never reached the server, and which Host a pinned connection carried.
`connections()` records every socket connect the process attempts meanwhile, whatever the
address, for the claims "nothing connected at all".
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ARTICLE_TITLE = "Ether Slides 9% as Spot ETH ETFs Bleed $287 Million in a Day"
ARTICLE_OUTLET = "Example Markets Daily"
ARTICLE_PUBLISHED = "2025-11-18T14:30:00Z"
ARTICLE_ETAG = '"eth-etf-outflows-v1"'
ARTICLE_LAST_MODIFIED = "Tue, 18 Nov 2025 14:30:00 GMT"
# Sentences only the article says, to find it in an answer.
ARTICLE_FACT = "$287 million"

ARTICLE_PARAGRAPHS = (
    "Ether fell 9% on Tuesday to $2,870, its lowest level since July, as investors pulled "
    "$287 million from U.S. spot ether exchange-traded funds in a single session, the largest "
    "daily outflow since the products launched.",
    "The selling was led by the biggest fund in the category, which alone saw $163 million "
    "leave, according to flow data compiled by Example Markets Daily. It was the sixth straight "
    "day of net redemptions across the ether ETFs, bringing the week's outflows to roughly "
    "$790 million.",
    "Traders said the redemptions fed on themselves. As the price broke below $3,000, a level "
    "that had held for most of October, leveraged long positions on derivatives exchanges were "
    "forced to close. About $410 million of ether longs were liquidated over 24 hours, and "
    "funding rates on perpetual futures turned negative for the first time in a month.",
    '"The ETF bid was the one steady buyer this market had," said Dana Whitfield, head of '
    'research at a digital-asset brokerage. "When that buyer turns into a seller, there is '
    'nobody underneath to catch the fall."',
    "Bitcoin held up better, slipping 3% to $91,400, while smaller tokens that trade as "
    "leveraged bets on ether, including several layer-2 networks, dropped between 12% and 18%. "
    "The ratio of ether to bitcoin fell to its weakest level in five years.",
    "Analysts pointed to a stronger dollar and to comments from Federal Reserve officials that "
    "pushed back on a December rate cut as the backdrop for the risk-off mood. Staking yields, "
    "which spot ether ETFs do not pass on to their holders, also drew investors toward "
    "products that do.",
    "Some desks saw the washout as a chance to buy. Options data showed demand for calls "
    "struck at $3,500 for the end of December, and on-chain trackers recorded large wallets "
    "adding to positions as the price fell below $2,900.",
)

ARTICLE_HTML = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{ARTICLE_TITLE} | {ARTICLE_OUTLET}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Ether fell 9% as spot ETH ETFs recorded $287 million of
outflows, the largest since launch.">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{ARTICLE_OUTLET}">
<meta property="og:title" content="{ARTICLE_TITLE}">
<meta property="article:published_time" content="{ARTICLE_PUBLISHED}">
<meta name="author" content="Maya Okafor">
<link rel="stylesheet" href="/static/site.css">
</head>
<body>
<header class="masthead">
  <a href="/" class="logo">{ARTICLE_OUTLET}</a>
  <nav>
    <a href="/markets">Markets</a> <a href="/crypto">Crypto</a> <a href="/login">Sign in</a>
  </nav>
</header>
<main>
<article>
  <h1>{ARTICLE_TITLE}</h1>
  <p class="byline">By <span class="author">Maya Okafor</span> &middot;
    <time datetime="{ARTICLE_PUBLISHED}">November 18, 2025, 2:30 PM UTC</time></p>
  {"".join(f"<p>{p}</p>{chr(10)}  " for p in ARTICLE_PARAGRAPHS)}
</article>
<aside class="newsletter"><p>Get the morning crypto briefing in your inbox.</p></aside>
</main>
<footer><p>&copy; 2025 {ARTICLE_OUTLET}. All rights reserved.</p></footer>
</body>
</html>
"""

LANDING_HTML = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in | {ARTICLE_OUTLET}</title></head>
<body>
<header><a href="/" class="logo">{ARTICLE_OUTLET}</a></header>
<main class="login">
  <h1>Welcome back</h1>
  <form method="post" action="/login">
    <label>Email <input type="email" name="email"></label>
    <label>Password <input type="password" name="password"></label>
    <button type="submit">Sign in</button>
  </form>
  <p><a href="/subscribe">Subscribe</a> to read unlimited articles.</p>
</main>
</body>
</html>
"""

# The article with its closing tags lost: no </p>, </article>, </main>, </body>, </html>.
UNCLOSED_HTML = (
    ARTICLE_HTML.replace("</p>", "")
    .replace("</article>", "")
    .replace("</main>", "<div><span><em>")
    .replace("</body>\n</html>\n", "")
)
# The article as pages in the wild are: curly quotes, and one stray byte that is not UTF-8
# (from an ad snippet) in the footer, although header and <meta> both say UTF-8.
CURLY_QUOTE = "“The ETF bid was the one steady buyer this market had,” said Dana"
STRAY_BYTE_HTML = (
    ARTICLE_HTML.replace(
        '"The ETF bid was the one steady buyer this market had," said Dana', CURLY_QUOTE
    )
    .encode()
    .replace(b"All rights reserved.", b"All rights reserved. \xa9\xff")
)
# The article cut off in the middle of its fourth paragraph, inside a tag.
TRUNCATED_HTML = ARTICLE_HTML[: ARTICLE_HTML.index(ARTICLE_PARAGRAPHS[3][:40]) + 30] + '<a hre="'

NOT_FOUND_HTML = (
    "<!DOCTYPE html><html><head><title>Page not found</title></head>"
    "<body><h1>404</h1><p>This page does not exist.</p></body></html>"
)
ERROR_HTML = (
    "<!DOCTYPE html><html><head><title>Error</title></head>"
    "<body><h1>Something went wrong</h1></body></html>"
)


def _png(width: int, height: int) -> bytes:
    """A valid grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png(64, 32)

BIG_BYTES = 256 * 1024  # /big and /big/chunked; tests cap fetches well below this
SLOW_SECONDS = 10.0  # /slow and /drip; tests time out well before this
DRIP_INTERVAL = 0.25  # /drip/headers: one byte of the status line and headers this often
HEADER_DRIP_SECONDS = 30.0  # /drip/headers, in all: what a fetch cut off at its timeout never sees
METADATA_URL = "http://169.254.169.254/latest/meta-data/"
PRIVATE_URL = "http://10.0.0.7/"


@dataclass(frozen=True)
class Request:
    path: str
    host: str | None
    headers: dict[str, str]


class LocalSite:
    """The site; use as a context manager (`with LocalSite() as site:`)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.port = 0
        self.ipv6 = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalSite:
        handler = type("Handler", (_Handler,), {"site": self})
        v4 = QuietServer(("127.0.0.1", 0), handler)
        self._servers.append(v4)
        self.port = v4.server_address[1]
        if socket.has_ipv6:
            with suppress(OSError):  # no IPv6 here, or the port is taken on ::1
                self._servers.append(_Server6(("::1", self.port), handler))
                self.ipv6 = True
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, args=(0.02,), name="local-site", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases /slow and /drip
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(10)

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use ----------------------------------------------------------------------

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def pause(self, seconds: float) -> bool:
        """Sleep unless the site is stopping; True when it is."""
        return self._stopping.wait(seconds)


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print a traceback when a client hangs up (what
    a fetch cut off at its deadline does)."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is fine
            super().handle_error(request, client_address)


class _Server6(QuietServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite
    protocol_version = "HTTP/1.1"
    server_version = "ExampleNews/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.site.record(Request(self.path, self.headers.get("Host"), dict(self.headers)))
        route = ROUTES.get(path)
        if route is None:
            self._send(404, NOT_FOUND_HTML.encode())
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self.close_connection = True

    # -- helpers -----------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def _redirect(self, location: str, status: int = 302) -> None:
        self._send(status, b"", headers={"Location": location})

    # -- routes ------------------------------------------------------------------------------

    def article(self) -> None:
        validators = {"ETag": ARTICLE_ETAG, "Last-Modified": ARTICLE_LAST_MODIFIED}
        if self.headers.get("If-None-Match") == ARTICLE_ETAG:
            self._send(304, headers=validators)
            return
        self._send(200, ARTICLE_HTML.encode(), headers=validators)

    def landing(self) -> None:
        self._send(200, LANDING_HTML.encode())

    def unclosed(self) -> None:
        self._send(200, UNCLOSED_HTML.encode())

    def truncated(self) -> None:
        self._send(200, TRUNCATED_HTML.encode())

    def stray_byte(self) -> None:
        self._send(200, STRAY_BYTE_HTML)

    def russian_by_header(self) -> None:
        self._send(200, _russian_page(""), "text/html; charset=windows-1251")

    def russian_by_meta(self) -> None:
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        self._send(200, _russian_page(meta), "text/html")

    def short_body(self) -> None:
        body = ARTICLE_HTML.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 3])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def octet_stream(self) -> None:
        self._send(200, b"\x00\x01binary\xff" * 64, "application/octet-stream")

    def png(self) -> None:
        self._send(200, PNG, "image/png")

    def big(self) -> None:
        self._send(200, _big_page(BIG_BYTES))

    def big_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        body = _big_page(BIG_BYTES)
        for start in range(0, len(body), 4096):
            piece = body[start : start + 4096]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def slow(self) -> None:
        if self.site.pause(SLOW_SECONDS):
            return
        self._send(200, ARTICLE_HTML.encode())

    def drip(self) -> None:
        body = ARTICLE_HTML.encode()
        steps = 100
        size = len(body) // steps + 1
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), size):
            self.wfile.write(body[start : start + size])
            self.wfile.flush()
            if self.site.pause(SLOW_SECONDS / steps):
                self.close_connection = True
                return

    def drip_headers(self) -> None:
        body = ARTICLE_HTML.encode()
        bytes_to_drip = int(HEADER_DRIP_SECONDS / DRIP_INTERVAL)
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nX-Padding: "
        ).encode()
        head += b"x" * max(bytes_to_drip - len(head), 0) + b"\r\n\r\n"
        self.close_connection = True
        for position in range(len(head)):
            self.wfile.write(head[position : position + 1])
            if self.site.pause(DRIP_INTERVAL):
                return
        self.wfile.write(body)

    def go_drip_headers(self) -> None:
        self._redirect(self.site.url("/drip/headers"))

    def go_article(self) -> None:
        self._redirect(self.site.url("/article"))

    def go_relative(self) -> None:
        self._redirect("/go/article", 301)

    def go_private(self) -> None:
        self._redirect(PRIVATE_URL)

    def go_metadata(self) -> None:
        self._redirect(METADATA_URL, 307)

    def go_ipv6_loopback(self) -> None:
        self._redirect(self.site.url("/host", "[::1]"))

    def go_localhost(self) -> None:
        self._redirect(self.site.url("/host", "localhost"))

    def go_ftp(self) -> None:
        self._redirect("ftp://files.example.com/eth.html")

    def go_data(self) -> None:
        self._redirect("data:text/html,<p>Ether fell 9%</p>")

    def go_javascript(self) -> None:
        self._redirect("javascript:alert(document.cookie)")

    def go_file(self) -> None:
        self._redirect("file:///etc/passwd")

    def go_broken(self) -> None:
        self._redirect("http://[::1/host")

    def go_nowhere(self) -> None:
        self._send(302, ARTICLE_HTML.encode())  # a redirect that does not say where to

    def go_empty(self) -> None:
        self._send(302, ARTICLE_HTML.encode(), headers={"Location": ""})

    def loop(self) -> None:
        self._redirect("/loop")

    def missing(self) -> None:
        self._send(404, NOT_FOUND_HTML.encode())

    def error(self) -> None:
        self._send(500, ERROR_HTML.encode())

    def host(self) -> None:
        seen = self.headers.get("Host", "")
        self._send(200, f"<html><body><p>Host: {seen}</p></body></html>".encode())


RU_TITLE = "Эфир подешевел на 9% на фоне оттока из биржевых фондов"
RU_PARAGRAPHS = (
    "Во вторник эфир подешевел на 9%, до 2870 долларов, минимума с июля: инвесторы вывели "
    "287 миллионов долларов из американских спотовых биржевых фондов на эфир за одну сессию.",
    "Это шестой день подряд чистых погашений в фондах на эфир; отток за неделю приблизился "
    "к 900 миллионам долларов, сообщают аналитики.",
    "Трейдеры связывают распродажу с ожиданиями по ставке ФРС и с ликвидациями длинных позиций "
    "на рынке деривативов, которые превысили 400 миллионов долларов за сутки.",
)


def _russian_page(head: str) -> bytes:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in RU_PARAGRAPHS)
    return (
        f'<!DOCTYPE html><html lang="ru"><head>{head}<title>{RU_TITLE}</title></head><body>'
        f"<main><article><h1>{RU_TITLE}</h1>{paragraphs}</article></main></body></html>"
    ).encode("cp1251")


def _big_page(size: int) -> bytes:
    head = b"<!DOCTYPE html><html><head><title>Market data dump</title></head><body><pre>"
    tail = b"</pre></body></html>"
    row = b"2025-11-18T14:30:00Z ETH-USD 2870.11 2871.40 2868.02 2870.55 1841.2\n"
    rows = row * ((size - len(head) - len(tail)) // len(row) + 1)
    return (head + rows)[: size - len(tail)] + tail


ROUTES = {
    "/article": _Handler.article,
    "/landing": _Handler.landing,
    "/broken/unclosed": _Handler.unclosed,
    "/broken/truncated": _Handler.truncated,
    "/broken/stray-byte": _Handler.stray_byte,
    "/broken/short-body": _Handler.short_body,
    "/download.bin": _Handler.octet_stream,
    "/chart.png": _Handler.png,
    "/big": _Handler.big,
    "/big/chunked": _Handler.big_chunked,
    "/slow": _Handler.slow,
    "/drip": _Handler.drip,
    "/drip/headers": _Handler.drip_headers,
    "/go/drip-headers": _Handler.go_drip_headers,
    "/go/article": _Handler.go_article,
    "/go/relative": _Handler.go_relative,
    "/go/private": _Handler.go_private,
    "/go/metadata": _Handler.go_metadata,
    "/go/ipv6-loopback": _Handler.go_ipv6_loopback,
    "/go/localhost": _Handler.go_localhost,
    "/go/ftp": _Handler.go_ftp,
    "/go/data": _Handler.go_data,
    "/go/javascript": _Handler.go_javascript,
    "/go/file": _Handler.go_file,
    "/go/broken": _Handler.go_broken,
    "/go/nowhere": _Handler.go_nowhere,
    "/go/empty": _Handler.go_empty,
    "/loop": _Handler.loop,
    "/ru/header": _Handler.russian_by_header,
    "/ru/meta": _Handler.russian_by_meta,
    "/missing": _Handler.missing,
    "/error": _Handler.error,
    "/host": _Handler.host,
}


# -- every connect the process attempts --------------------------------------------------------

_recording: list[list[tuple[Any, ...]]] = []
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _recording:
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            for log in _recording:
                log.append(tuple(address))


@contextmanager
def connections() -> Iterator[list[tuple[Any, ...]]]:
    """The (host, port, ...) of every TCP/UDP connect attempted while the block runs."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    log: list[tuple[Any, ...]] = []
    _recording.append(log)
    try:
        yield log
    finally:
        _recording.remove(log)
