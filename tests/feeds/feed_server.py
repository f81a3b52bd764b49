"""A real HTTP server on 127.0.0.1 serving RSS and Atom feeds and the article pages they link to.

Each route answers conditional requests as a news site does: an ETag (and/or Last-Modified) on
every answer, 304 Not Modified to a matching If-None-Match / If-Modified-Since. Every request is
logged with its headers (and when it came and when its answer was done) so tests can count
them. Routes can be changed while the server runs (a new item in a feed, a feed that starts
failing). A route can also redirect (a 3xx with or without a Location), or drip: write its
status line and headers one byte every `drip` seconds (slowloris), then its body.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from types import TracebackType

from tests.web.site import QuietServer

RSS = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    body: bytes
    content_type: str
    status: int = 200
    etag: bool = True
    last_modified: str | None = None
    location: str | None = None  # sent with a 3xx status (None: no Location header at all)
    drip: float = 0.0  # > 0: status line and headers one byte at a time, this many seconds apart

    @property
    def tag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    status: int = 200  # what the server answered
    at: float = 0.0  # time.monotonic() when the request arrived
    done: float = 0.0  # time.monotonic() when the answer was written or the client hung up


class FeedServer:
    """`with FeedServer() as server:` serves the default routes at `server.url(path)`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = default_routes()
        self.log: list[Request] = []
        self._healthy: dict[str, Route] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()  # releases dripping answers
        self._server = QuietServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        summaries = SUMMARY_RSS.format(base=self.url("")).encode()
        self.routes["/summaries.rss"] = Route(summaries, RSS)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def requests(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.log if r.path == path]

    def set(self, path: str, route: Route) -> None:
        with self._lock:
            self.routes[path] = route

    def route(self, path: str) -> Route | None:
        with self._lock:
            return self.routes.get(path)

    def add_item(self, path: str, item_xml: str, last_modified: str | None = None) -> None:
        """Publish a new item at the top of an RSS feed (its ETag changes with its bytes)."""
        with self._lock:
            route = self.routes[path]
            head, tail = route.body.decode("utf-8").split("<item>", 1)
            body = head + item_xml.strip() + "\n    <item>" + tail
            self.routes[path] = replace(
                route, body=body.encode(), last_modified=last_modified or route.last_modified
            )

    def fail(self, path: str, status: int = 500) -> None:
        """Make a route answer `status` until `restore(path)`."""
        with self._lock:
            self._healthy.setdefault(path, self.routes[path])
            self.routes[path] = replace(self.routes[path], status=status)

    def restore(self, path: str) -> None:
        with self._lock:
            self.routes[path] = self._healthy.pop(path)

    def record(self, request: Request) -> None:
        with self._lock:
            self.log.append(request)

    def finished(self, request: Request) -> None:
        """Note when the answer to `request` was written (or its client hung up)."""
        with self._lock:
            for position, logged in enumerate(self.log):
                if logged is request:
                    self.log[position] = replace(request, done=time.monotonic())


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            at = time.monotonic()
            path = self.path.split("?", 1)[0]
            route = server.route(path)
            status, content_type, body, headers = self._answer(route)
            asked = {k.lower(): v for k, v in self.headers.items()}
            request = Request(path, asked, status, at)
            server.record(request)  # before answering: a client that has its answer sees it
            try:
                if route is not None and route.drip > 0:
                    self._drip(route.drip, status, content_type, body, headers)
                else:
                    self._send(status, content_type, body, headers)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
                self.close_connection = True
            server.finished(request)

        def _answer(self, route: Route | None) -> tuple[int, str | None, bytes, dict[str, str]]:
            if route is None:
                return 404, HTML, b"<html><body><h1>Not found</h1></body></html>", {}
            if 300 <= route.status < 400 and route.status != 304:
                moved = {"Location": route.location} if route.location is not None else {}
                return route.status, route.content_type, route.body, moved
            if route.status != 200:
                return route.status, HTML, b"<html><body>Internal error</body></html>", {}
            headers: dict[str, str] = {}
            if route.etag:
                headers["ETag"] = route.tag
            if route.last_modified:
                headers["Last-Modified"] = route.last_modified
            if self._not_modified(route):
                return 304, None, b"", headers
            return 200, route.content_type, route.body, headers

        def _not_modified(self, route: Route) -> bool:
            match = self.headers.get("If-None-Match")
            if match is not None:
                tags = {t.strip() for t in match.split(",")}
                return route.etag and (route.tag in tags or "*" in tags)
            since = self.headers.get("If-Modified-Since")
            if since and route.last_modified:
                try:
                    return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(
                        since
                    )
                except (TypeError, ValueError):
                    return False
            return False

        def _send(
            self,
            status: int,
            content_type: str | None,
            body: bytes,
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _drip(
            self,
            interval: float,
            status: int,
            content_type: str | None,
            body: bytes,
            headers: dict[str, str],
        ) -> None:
            """The status line and headers one byte at a time (each in time for any per-read
            timeout), then the body; stops when the server stops."""
            lines = [f"HTTP/1.1 {status} {self.responses[status][0]}"]
            if content_type:
                lines.append(f"Content-Type: {content_type}")
            lines += [f"{name}: {value}" for name, value in headers.items()]
            lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
            head = "\r\n".join(lines).encode("latin-1")
            self.close_connection = True
            for position in range(len(head)):
                self.wfile.write(head[position : position + 1])
                if server.stopping.wait(interval):
                    return
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


# --- The feeds -----------------------------------------------------------------------------

FULL_TEXT_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Chain Ledger Wire</title>
    <link>https://chainledger.example/</link>
    <description>Crypto market news, full text.</description>
    <item>
      <title>Ether slides 11% as staking exit queue swells to a record</title>
      <link>https://chainledger.example/markets/ether-staking-exit-queue</link>
      <guid>https://chainledger.example/markets/ether-staking-exit-queue</guid>
      <pubDate>Tue, 04 Nov 2025 14:30:00 GMT</pubDate>
      <description>Ether fell 11% on Tuesday as validators lined up to leave.</description>
      <content:encoded><![CDATA[
        <p>Ether fell 11% on Tuesday to $3,210, its steepest one-day drop since August, as the
        queue of validators waiting to withdraw staked ETH swelled to a record 2.4 million ETH.</p>
        <p>Analysts at Glassline Research said the exit queue weighed on sentiment because traders
        read it as a sign that large holders, including a liquid staking protocol rebalancing its
        operators, were preparing to sell. Roughly $640 million of leveraged long positions were
        liquidated across exchanges during the fall, according to derivatives data.</p>
        <p>"The queue does not mean all of that ether will be sold," said Mara Ellison, a strategist
        at Glassline, "but the market priced it as if it would."</p>
        <script>trackPageView();</script>
      ]]></content:encoded>
    </item>
    <item>
      <title>Bitcoin miners sell reserves as hashprice sinks to a two-year low</title>
      <link>https://chainledger.example/mining/miners-sell-reserves</link>
      <guid>https://chainledger.example/mining/miners-sell-reserves</guid>
      <pubDate>Mon, 03 Nov 2025 09:15:00 GMT</pubDate>
      <description>Public miners sold more bitcoin than they mined in October.</description>
      <content:encoded><![CDATA[
        <p>Publicly listed bitcoin miners sold 4,100 BTC in October, more than the 3,700 BTC they
        mined, as hashprice, the revenue a miner earns per unit of computing power, sank to its
        lowest level in two years.</p>
        <p>The selling added pressure on bitcoin, which slipped 3% over the week. Miners with older
        machines were hit hardest after the network's difficulty rose for a sixth straight
        adjustment.</p>
      ]]></content:encoded>
    </item>
  </channel>
</rss>
"""

SUMMARY_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Block Street Journal</title>
    <link>{base}/</link>
    <description>Headlines and summaries; full stories on the site.</description>
    <item>
      <title>Solana tumbles 9% after block production halts</title>
      <link>{base}/articles/solana-halt.html</link>
      <guid isPermaLink="true">{base}/articles/solana-halt.html</guid>
      <pubDate>Wed, 05 Nov 2025 16:45:00 GMT</pubDate>
      <description>Solana's SOL token fell sharply on Wednesday after the network stopped
      producing blocks. Read the full story on our site.</description>
    </item>
    <item>
      <title>XRP climbs as spot ETF draws $245 million on debut</title>
      <link>{base}/articles/xrp-etf-debut.html</link>
      <guid isPermaLink="true">{base}/articles/xrp-etf-debut.html</guid>
      <pubDate>Thu, 13 Nov 2025 21:05:00 GMT</pubDate>
      <description>The first U.S. spot XRP fund pulled in strong first-day inflows.</description>
    </item>
    <item>
      <title>Dogecoin steadies after whale wallets move 900 million DOGE</title>
      <link>{base}/articles/doge-whales.html</link>
      <guid isPermaLink="true">{base}/articles/doge-whales.html</guid>
      <pubDate>Fri, 14 Nov 2025 08:00:00 GMT</pubDate>
      <description>Large Dogecoin holders moved 900 million DOGE to exchanges on Thursday, and the
      token held steady near 17 cents as buyers absorbed the supply.</description>
    </item>
  </channel>
</rss>
"""

SOLANA_ARTICLE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Solana tumbles 9% after block production halts | Block Street Journal</title>
  <meta property="og:site_name" content="Block Street Journal">
  <meta property="article:published_time" content="2025-11-05T16:45:00Z">
  <meta name="author" content="Priya Raman">
</head>
<body>
  <nav><a href="/">Home</a> <a href="/markets">Markets</a> <a href="/policy">Policy</a></nav>
  <article>
    <h1>Solana tumbles 9% after block production halts</h1>
    <p class="byline">By Priya Raman, November 5, 2025</p>
    <p>Solana's SOL token fell 9% on Wednesday, sliding to $158, after the network stopped
    producing blocks for 47 minutes, the blockchain's first full outage in more than a year.
    Trading of SOL on several large exchanges was paused while deposits and withdrawals were
    suspended, and the token's decline accelerated once futures traders began unwinding
    leveraged positions.</p>
    <p>Validators traced the halt to a bug in version 2.1.4 of the Agave validator client, which
    caused nodes to reject blocks carrying an unusually large number of vote transactions. Core
    developers published a patched release within the hour, and block production resumed once
    validators holding more than two thirds of the staked SOL had restarted on the fix.</p>
    <p>The outage revived an old criticism of the network. Solana suffered a string of halts in
    2021 and 2022, and a second independent validator client, Firedancer, is meant to make a
    single software bug less able to stop the chain. Only about 8% of stake currently runs
    Firedancer, according to validator dashboards, which means the Agave bug still affected the
    large majority of the network.</p>
    <p>Derivatives data showed about $210 million of long SOL positions were liquidated during
    the fall, the most since the market-wide sell-off in October. Open interest in SOL perpetual
    futures dropped by roughly a fifth, suggesting that traders closed bets rather than adding
    new short positions.</p>
    <p>"A 47-minute stop is short by the standards of 2022, but the market has been pricing
    Solana as if outages were behind it," said Tomas Brandt, head of research at Northgate
    Digital. "That assumption was tested today, and the token paid for it."</p>
    <p>Decentralised exchanges on Solana resumed trading shortly after blocks began to flow
    again, and stablecoin transfers on the network returned to normal volumes by the evening.
    The Solana Foundation said it would publish a full post-mortem of the incident and thanked
    validator operators for their quick response.</p>
  </article>
  <aside><h3>Most read</h3><ul><li>Bitcoin ETFs log fourth day of outflows</li></ul></aside>
  <footer>&copy; 2025 Block Street Journal. All rights reserved.</footer>
</body>
</html>
"""

XRP_ARTICLE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>XRP climbs as spot ETF draws $245 million on debut | Block Street Journal</title>
  <meta property="og:site_name" content="Block Street Journal">
  <meta property="article:published_time" content="2025-11-13T21:05:00Z">
</head>
<body>
  <nav><a href="/">Home</a> <a href="/markets">Markets</a></nav>
  <article>
    <h1>XRP climbs as spot ETF draws $245 million on debut</h1>
    <p>XRP rose 6% on Thursday to $2.48 after the first U.S. spot XRP exchange-traded fund took
    in $245 million on its first day of trading, the largest debut of any crypto fund this year
    and a sign that institutional demand reaches beyond bitcoin and ether.</p>
    <p>The fund, which holds XRP directly with a regulated custodian, traded $58 million worth of
    shares in its first hour. Brokers said much of the early demand came from registered
    investment advisers who had been unable to buy the token for clients through their usual
    platforms.</p>
    <p>The launch followed a long legal fight. The Securities and Exchange Commission sued Ripple
    in 2020, arguing that sales of XRP were unregistered securities offerings; a court ruling in
    2023 that sales on public exchanges were not securities transactions, and the end of the case
    this year, cleared the way for issuers to file for spot funds.</p>
    <p>Analysts cautioned that first-day flows often include seed capital and may not last.
    "Day-one numbers flatter every launch," said Hana Okafor, an ETF analyst at Ridgeway
    Partners. "The test is whether the fund is still gathering assets in a month, when the
    novelty has gone and the market is looking at the next product."</p>
    <p>Trading volume in XRP on spot exchanges doubled from its 30-day average, and funding rates
    on XRP perpetual futures turned positive, indicating that traders were paying to hold long
    positions. Several more issuers are expected to list competing XRP funds before the end of
    the year, which could spread the inflows across more products.</p>
  </article>
  <footer>&copy; 2025 Block Street Journal</footer>
</body>
</html>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Macro Desk</title>
  <id>urn:uuid:8d3f6c1e-macro-desk</id>
  <updated>2025-11-07T18:00:00Z</updated>
  <link href="https://macrodesk.example/"/>
  <entry>
    <title>Treasury yields jump after hot jobs report, crypto slips</title>
    <id>urn:uuid:8d3f6c1e-0001</id>
    <link href="https://macrodesk.example/2025/11/07/yields-jump"/>
    <published>2025-11-07T15:20:00Z</published>
    <updated>2025-11-07T15:40:00Z</updated>
    <content type="html">&lt;p&gt;Ten-year Treasury yields rose 14 basis points to 4.41% on
      Friday after payrolls grew by 254,000 in October, well above forecasts, pushing traders to
      scale back bets on a December rate cut.&lt;/p&gt;&lt;p&gt;Bitcoin slipped 4% and ether 6%
      as the dollar strengthened, with risk assets broadly lower into the weekend.&lt;/p&gt;
    </content>
  </entry>
  <entry>
    <title>Dollar index hits three-month high as Fed officials sound hawkish</title>
    <id>urn:uuid:8d3f6c1e-0002</id>
    <link href="https://macrodesk.example/2025/11/06/dollar-high"/>
    <updated>2025-11-06T12:00:00Z</updated>
    <summary>The dollar index rose to its highest in three months after two Federal Reserve
      officials said inflation was not yet beaten and that rates could stay high for longer.
    </summary>
  </entry>
</feed>
"""

CHANGING_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Altcoin Daily Brief</title>
    <link>https://altbrief.example/</link>
    <description>Short takes on altcoin moves.</description>
    <item>
      <title>Cardano rises 5% ahead of governance vote</title>
      <link>https://altbrief.example/cardano-governance-vote</link>
      <pubDate>Mon, 10 Nov 2025 10:00:00 GMT</pubDate>
      <description>ADA gained 5% as holders prepared for the first on-chain vote on the treasury
      budget, with staking participation at a record.</description>
    </item>
    <item>
      <title>Avalanche slips 4% as token unlock nears</title>
      <link>https://altbrief.example/avalanche-unlock</link>
      <pubDate>Sun, 09 Nov 2025 10:00:00 GMT</pubDate>
      <description>AVAX fell 4% ahead of a scheduled unlock of 9.5 million tokens held by early
      investors and the foundation.</description>
    </item>
  </channel>
</rss>
"""

NEW_ITEM = """
    <item>
      <title>Chainlink jumps 12% after bank settlement pilot goes live</title>
      <link>https://altbrief.example/chainlink-bank-pilot</link>
      <pubDate>Tue, 11 Nov 2025 10:00:00 GMT</pubDate>
      <description>LINK rallied 12% after a group of European banks said their tokenised-bond
      settlement pilot now runs on Chainlink's interoperability protocol.</description>
    </item>
"""

BROKEN_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Half a feed</title><item><title>Bitcoin
"""

NOT_A_FEED = """<!DOCTYPE html><html><head><title>Welcome</title></head>
<body><h1>Welcome to our site</h1><p>Subscribe to our newsletter.</p></body></html>
"""


def numbered_rss(days: list[int]) -> str:
    """A full-text feed with one item per entry of `days`, in that order: item n is published
    on day `days[n]` of November 2025 and titled with that day (so titles sort by date)."""
    items = "".join(
        f"""
    <item>
      <title>Market wrap for 2025-11-{day:02d}: bitcoin trades sideways</title>
      <link>https://wrap.example/2025/11/{day:02d}</link>
      <pubDate>{day:02d} Nov 2025 20:00:00 GMT</pubDate>
      <description>Bitcoin traded in a narrow range on November {day}, ending the day little
      changed as volumes thinned across the largest exchanges.</description>
    </item>"""
        for day in days
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Daily Wrap</title>
    <link>https://wrap.example/</link>
    <description>One market wrap a day.</description>{items}
  </channel>
</rss>
"""


def default_routes() -> dict[str, Route]:
    return {
        "/full.rss": Route(
            FULL_TEXT_RSS.encode(), RSS, last_modified="Tue, 04 Nov 2025 14:35:00 GMT"
        ),
        "/summaries.rss": Route(b"", RSS),  # its links name the server: set in FeedServer()
        "/articles/solana-halt.html": Route(SOLANA_ARTICLE.encode(), HTML),
        "/articles/xrp-etf-debut.html": Route(XRP_ARTICLE.encode(), HTML),
        # /articles/doge-whales.html is missing: that item keeps its summary.
        "/atom.xml": Route(
            ATOM.encode(), ATOM_TYPE, etag=False, last_modified="Fri, 07 Nov 2025 18:00:00 GMT"
        ),
        "/changing.rss": Route(CHANGING_RSS.encode(), RSS),
        "/broken.rss": Route(BROKEN_RSS.encode(), RSS),
        "/page.html": Route(NOT_A_FEED.encode(), HTML),
        "/error.rss": Route(b"", RSS, status=500),
    }
