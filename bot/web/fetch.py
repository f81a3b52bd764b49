"""Fetching pages and feeds for ingestion without letting a URL reach inside our network.

Every hop (the URL and each redirect) is resolved once, every address it resolves to must be a
public one (not in any range of the IANA special-purpose address registries, see
`SPECIAL_IPV4` and `SPECIAL_IPV6`), and the connection goes to the very address that was
checked (the hostname travels in the Host header and TLS SNI), so a DNS answer that changes
between check and connect cannot redirect us to loopback, a private network or a cloud
metadata service. Redirects are followed by this module, never by httpx, so a Location that is
not an http(s) URL gets a sentence, not an exception. Bodies are streamed with a size cap; only
the content types asked for are accepted.

The timeout is a deadline for the whole exchange (lookups, connects, headers, bodies, every
redirect hop): httpx's read timeout is per read, so a server dripping one byte at a time would
hold a fetch for as long as it liked. The exchange runs on a worker thread that the caller
stops waiting for at the deadline, and the sockets it opened are shut down then, which wakes
any read blocked on them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

from bot import __version__
from bot.core.text import printable
from bot.errors import InputError

USER_AGENT = (
    f"marketbot/{__version__} (news ingestion for a Discord bot; "
    "+https://github.com/marketbot/marketbot)"
)
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
    "application/feed+json",
)
Resolver = Callable[[str, int], Sequence[str]]
# How long after its deadline a fetch waits for its worker to say what stopped it (the sockets
# are shut down at the deadline, so a read returns at once; a DNS lookup may not).
GRACE_SECONDS = 1.0


class FetchError(InputError):
    """A URL we will not or could not fetch; the message says why."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = field(default_factory=tuple)
    charset: str | None = None  # as the Content-Type header declared it

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchError(f"{printable(host[:100])} does not resolve ({error.strerror}).") from None
    except (UnicodeError, ValueError):  # IDNA: an empty label, or one over 63 characters
        raise FetchError(f"{host[:100]!r} is not a valid host name.") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# -- the address policy ---------------------------------------------------------------------------

LOOPBACK = "a loopback address"
LINK_LOCAL = "a link-local address (cloud metadata lives there)"
MULTICAST = "a multicast address"
PRIVATE = "a private or reserved address"


class Special(NamedTuple):
    """A range no fetch may reach: what it is, the RFC that reserves it, what users are told."""

    network: str
    name: str
    rfc: str
    reason: str = PRIVATE


# The IANA IPv4 Special-Purpose Address Registry (RFC 6890), every entry, and multicast. A few
# entries are globally reachable anycast or AS112 services; no news site lives there, so they
# are refused too. More specific ranges come before the ranges holding them.
SPECIAL_IPV4 = (
    Special("0.0.0.0/32", "this host on this network", "RFC 1122 3.2.1.3"),
    Special("0.0.0.0/8", "this network", "RFC 791 3.2"),
    Special("10.0.0.0/8", "private use", "RFC 1918"),
    Special("100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598"),
    Special("127.0.0.0/8", "loopback", "RFC 1122 3.2.1.3", LOOPBACK),
    Special("169.254.0.0/16", "link local", "RFC 3927", LINK_LOCAL),
    Special("172.16.0.0/12", "private use", "RFC 1918"),
    Special("192.0.0.0/29", "IPv4 service continuity prefix", "RFC 7335"),
    Special("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
    Special("192.0.0.9/32", "Port Control Protocol anycast", "RFC 7723"),
    Special("192.0.0.10/32", "Traversal Using Relays around NAT anycast", "RFC 8155"),
    Special("192.0.0.170/31", "NAT64/DNS64 discovery", "RFC 8880, RFC 7050"),
    Special("192.0.0.0/24", "IETF protocol assignments", "RFC 6890 2.1"),
    Special("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
    Special("192.31.196.0/24", "AS112-v4", "RFC 7535"),
    Special("192.52.193.0/24", "automatic multicast tunneling", "RFC 7450"),
    Special("192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526"),
    Special("192.168.0.0/16", "private use", "RFC 1918"),
    Special("192.175.48.0/24", "direct delegation AS112 service", "RFC 7534"),
    Special("198.18.0.0/15", "benchmarking", "RFC 2544"),
    Special("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
    Special("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
    Special("224.0.0.0/4", "multicast", "RFC 5771", MULTICAST),
    Special("255.255.255.255/32", "limited broadcast", "RFC 8190, RFC 919 7"),
    Special("240.0.0.0/4", "reserved", "RFC 1112 4"),
)

# The IANA IPv6 Special-Purpose Address Registry (RFC 6890), with the deprecated site-local and
# IPv4-compatible ranges and multicast. 2001::/23 holds a few globally reachable anycast
# services (2001:1::1-3, AMT, AS112, ORCHIDv2, drone IDs): refused like the rest of it.
# ::ffff:0:0/96 (IPv4-mapped, RFC 4291), 64:ff9b::/96 (NAT64, RFC 6052) and 2002::/16 (6to4,
# RFC 3056) are judged by the IPv4 address they carry: see `forbidden`. Entries outside
# 2000::/3 that are not listed here (the dummy prefix 100:0:0:1::/64, say) fall to
# GLOBAL_UNICAST below.
SPECIAL_IPV6 = (
    Special("::/128", "unspecified", "RFC 4291 2.5.2"),
    Special("::1/128", "loopback", "RFC 4291 2.5.3", LOOPBACK),
    Special("::/96", "deprecated IPv4-compatible", "RFC 4291 2.5.5.1"),
    Special("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "RFC 8215"),
    Special("100::/64", "discard only", "RFC 6666"),
    Special("2001::/32", "Teredo", "RFC 4380, RFC 8190"),
    Special("2001:1::1/128", "Port Control Protocol anycast", "RFC 7723"),
    Special("2001:1::2/128", "Traversal Using Relays around NAT anycast", "RFC 8155"),
    Special("2001:1::3/128", "DNS-SD service registration protocol anycast", "RFC 9665"),
    Special("2001:2::/48", "benchmarking", "RFC 5180"),
    Special("2001:3::/32", "automatic multicast tunneling", "RFC 7450"),
    Special("2001:4:112::/48", "AS112-v6", "RFC 7535"),
    Special("2001:10::/28", "deprecated ORCHID", "RFC 4843"),
    Special("2001:20::/28", "ORCHIDv2", "RFC 7343"),
    Special("2001:30::/28", "drone remote ID entity tags", "RFC 9374"),
    Special("2001::/23", "IETF protocol assignments", "RFC 2928"),
    Special("2001:db8::/32", "documentation", "RFC 3849"),
    Special("2620:4f:8000::/48", "direct delegation AS112 service", "RFC 7534"),
    Special("3fff::/20", "documentation", "RFC 9637"),
    Special("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"),
    Special("fc00::/7", "unique local", "RFC 4193, RFC 8190"),
    Special("fe80::/10", "link-local unicast", "RFC 4291 2.5.6", LINK_LOCAL),
    Special("fec0::/10", "deprecated site-local", "RFC 3879"),
    Special("ff00::/8", "multicast", "RFC 4291 2.7", MULTICAST),
)
# Only 2000::/3 is allocated for global unicast (RFC 4291 2.4, the IANA IPv6 address space
# registry); every address outside it is reserved, local or multicast.
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

# IPv6 prefixes that carry an IPv4 address a gateway on our own network connects to: NAT64's
# well-known prefix (RFC 6052; DNS64 answers with it on IPv6-only networks) and 6to4.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

_NETWORKS = {
    4: [(ipaddress.ip_network(s.network), s) for s in SPECIAL_IPV4],
    6: [(ipaddress.ip_network(s.network), s) for s in SPECIAL_IPV6],
}


def _special(address: str) -> Special | None:
    """The special-purpose range `address` lies in (checked as written, nothing unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    for network, entry in _NETWORKS[ip.version]:
        if ip in network:
            return entry
    return None


def forbidden(address: str) -> str | None:
    """Why an address may not be fetched (loopback, private, ...), or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in NAT64 or ip.sixtofour is not None:
            inner = ip.sixtofour or ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            why = forbidden(str(inner))
            via = "6to4" if ip.sixtofour else "NAT64"
            return f"which {via} turns into {inner}, {why}" if why else None
    entry = _special(str(ip))
    if entry is not None:
        return entry.reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in GLOBAL_UNICAST:
        return PRIVATE
    # Python's own view, in case it knows a range this table does not.
    if ip.is_loopback:
        return LOOPBACK
    if ip.is_link_local:
        return LINK_LOCAL
    if ip.is_multicast:
        return MULTICAST
    if ip.is_private or not ip.is_global or ip.is_reserved:
        return PRIVATE
    return None


# -- URLs -----------------------------------------------------------------------------------------

_BRACKETED = re.compile(r"\[([^\[\]]*)\](?::\d*)?")


def host_problem(parts: SplitResult) -> str | None:
    """Why the host of a split http(s) URL cannot be used ("is not a valid URL", ...), or None.

    urlsplit is lenient where a fetch must not be: it reads `[v1.fe]` as the host `v1.fe` and
    `[::1]junk` as `::1`, and lets control characters through."""
    hostinfo = parts.netloc.rpartition("@")[2]
    if "[" in hostinfo or "]" in hostinfo:
        bracketed = _BRACKETED.fullmatch(hostinfo)
        if bracketed is None:
            return "is not a valid URL"
        try:
            ipaddress.IPv6Address(bracketed.group(1))
        except ValueError:
            return "is not a valid URL"
    host = parts.hostname
    if not host:
        return "has no host"
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in host):
        return "is not a valid URL"
    try:
        port = parts.port
    except ValueError:
        return "has an invalid port"
    if port == 0:
        return "has an invalid port"
    return None


class Target(NamedTuple):
    """An http(s) URL that may be fetched, split: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    query: str

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)


class _Unusable(Exception):
    """A URL that is not an http(s) URL we can fetch; `reason` completes "the URL ..."."""

    def __init__(self, reason: str, scheme: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.scheme = scheme  # set when the reason is the scheme


def _target(url: str) -> Target:
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/": an unclosed IPv6 bracket; NFKC tricks in the host
        raise _Unusable("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _Unusable("is not an http or https URL", parts.scheme or "?")
    problem = host_problem(parts)
    if problem:
        raise _Unusable(problem)
    host, port = str(parts.hostname), parts.port or (443 if scheme == "https" else 80)
    return Target(scheme, host, port, parts.path or "/", parts.query)


def _first_target(url: str) -> Target:
    """The URL the user gave, or FetchError saying why it cannot be fetched."""
    try:
        return _target(url)
    except _Unusable as unusable:
        if unusable.scheme:
            message = f"Only http and https URLs can be fetched, not {unusable.scheme}:"
        else:
            message = f"{url[:100]!r} {unusable.reason}."
        raise FetchError(message) from None


def _redirect_target(url: str, response: httpx.Response) -> tuple[str, Target]:
    """Where a redirect from `url` leads, or FetchError saying why it cannot be followed."""
    location = response.headers.get("location", "").strip()
    if not location:
        raise FetchError(f"{printable(url[:200])} redirected without saying where to.")
    try:
        following = urljoin(url, location)
    except ValueError:
        following = location
    shown = printable(following[:100]) + ("…" if len(following) > 100 else "")
    try:
        return following, _target(following)
    except _Unusable as unusable:
        if unusable.scheme:
            why = "but only http and https URLs can be fetched"
        else:
            why = f"which {unusable.reason}"
        raise FetchError(f"{printable(url[:200])} redirected to {shown}, {why}.") from None


# -- the fetch ------------------------------------------------------------------------------------


class _Exchange:
    """One fetch's deadline and the sockets it opened: at the deadline they are shut down,
    which wakes a read blocked on any of them (closing would not)."""

    def __init__(self, deadline: float, host: str) -> None:
        self.deadline = deadline
        self.host = host  # the host being asked, for the message when time runs out
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace extension: hold on to every socket it connects."""
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        # A duplicate descriptor of the same socket: TLS detaches the original object, and a
        # shutdown through either reaches the connection.
        held = sock.dup()
        with self._lock:
            if not self.expired:
                self._sockets.append(held)
                return
        _shut(held)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            held, self._sockets = self._sockets, []
        for sock in held:
            _shut(sock)

    def release(self) -> None:
        with self._lock:
            held, self._sockets = self._sockets, []
        for sock in held:
            sock.close()

    def timeouts(self) -> dict[str, float]:
        left = max(self.deadline - time.monotonic(), 0.1)
        return {"connect": left, "read": left, "write": left, "pool": left}


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class SafeFetcher:
    """GET with SSRF protection, size and time limits, and conditional requests."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = 10.0,
        max_bytes: int = 5 * 1024 * 1024,
        max_redirects: int = 5,
        resolver: Resolver = system_resolver,
        allowed_networks: Sequence[str] = (),
    ) -> None:
        self.allow_private = allow_private
        # Internal hosts a deployment trusts (a newsroom's own server), however private.
        self.allowed_networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.resolver = resolver

    def fetch(
        self,
        url: str,
        *,
        accept: Sequence[str] = HTML_TYPES,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """GET `url`, following redirects, all of it within `timeout` seconds; FetchError
        (with the reason) for anything refused, failed or too slow."""
        url = url.strip()
        exchange = _Exchange(time.monotonic() + self.timeout, printable(url[:100]))
        outcome: list[Fetched | BaseException] = []

        def run() -> None:
            try:
                outcome.append(self._fetch(url, accept, etag, last_modified, exchange))
            except BaseException as error:  # handed to the caller, whatever it is
                outcome.append(error)

        worker = threading.Thread(target=run, name="fetch", daemon=True)
        worker.start()
        worker.join(max(exchange.deadline - time.monotonic(), 0.0))
        if worker.is_alive():
            exchange.expire()
            worker.join(GRACE_SECONDS)
        exchange.release()
        if not outcome:  # still waiting on something no socket shutdown ends (a DNS lookup)
            raise FetchError(f"{exchange.host} did not answer within {self.timeout:g} s.")
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _fetch(
        self,
        url: str,
        accept: Sequence[str],
        etag: str | None,
        last_modified: str | None,
        exchange: _Exchange,
    ) -> Fetched:
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": ", ".join([*accept, "*/*;q=0.1"]),
            # Uncompressed only: a few KB of zstd or gzip can unpack to gigabytes before any
            # size check sees them.
            "Accept-Encoding": "identity",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        hops: list[str] = []
        current, target = url, _first_target(url)
        # The transport, not httpx.Client: the client parses every Location itself (even when
        # not following it) and raises InvalidURL, uncaught, on `data:` or `javascript:` ones.
        with httpx.HTTPTransport(trust_env=False) as transport:
            while True:
                response = self._get(transport, current, target, headers, exchange)
                try:
                    if 300 <= response.status_code < 400 and response.status_code != 304:
                        following, next_target = _redirect_target(current, response)
                        if len(hops) >= self.max_redirects:
                            raise FetchError(
                                f"{printable(url[:200])} redirects more than "
                                f"{self.max_redirects} times."
                            )
                        hops.append(current)
                        current, target = following, next_target
                        continue
                    return self._read(current, response, accept, exchange, tuple(hops))
                finally:
                    response.close()

    def _get(
        self,
        transport: httpx.HTTPTransport,
        url: str,
        target: Target,
        headers: dict[str, str],
        exchange: _Exchange,
    ) -> httpx.Response:
        host = target.host
        exchange.host = printable(host[:100])
        addresses = self._addresses(host, target.port)
        if not self.allow_private:
            for address in addresses:
                why = forbidden(address)
                if why and not self._trusted(address):
                    raise FetchError(
                        f"Refused {printable(host[:100])}: it resolves to {address}, {why}. "
                        "Set MARKETBOT_ALLOW_PRIVATE_URLS=1 (or --allow-private) to allow it."
                    )
        # Every address is tried in turn (all checked above): a host whose first address is
        # down is still reached at the next, within the one deadline.
        refused_at: list[str] = []
        for address in addresses:
            request = self._pinned(url, target, address, headers, exchange)
            if exchange.expired:  # given up on while resolving: never connect after that
                raise FetchError(f"{exchange.host} did not answer within {self.timeout:g} s.")
            try:
                response = transport.handle_request(request)
            except httpx.ConnectError:
                if exchange.expired:
                    break
                refused_at.append(address)
                continue
            except httpx.TimeoutException:
                raise FetchError(
                    f"{exchange.host} did not answer within {self.timeout:g} s."
                ) from None
            except httpx.HTTPError as error:
                if exchange.expired:  # its socket was shut down at the deadline
                    raise FetchError(
                        f"{exchange.host} did not answer within {self.timeout:g} s."
                    ) from None
                raise FetchError(
                    f"Could not fetch from {exchange.host}: {type(error).__name__}."
                ) from None
            response.request = request
            return response
        if exchange.expired:
            raise FetchError(f"{exchange.host} did not answer within {self.timeout:g} s.")
        raise FetchError(
            f"Could not connect to {exchange.host} (tried {', '.join(refused_at[:4])})."
        )

    def _pinned(
        self, url: str, target: Target, address: str, headers: dict[str, str], exchange: _Exchange
    ) -> httpx.Request:
        """The request for TARGET sent to ADDRESS, naming the host in Host and SNI."""
        netloc = f"[{address}]" if ":" in address else address
        name = _host_header(target.host)
        pinned = urlunsplit(
            (
                target.scheme,
                netloc if target.default_port else f"{netloc}:{target.port}",
                target.path,
                target.query,
                "",
            )
        )
        try:
            return httpx.Request(
                "GET",
                pinned,
                headers={
                    **headers,
                    "Host": name if target.default_port else f"{name}:{target.port}",
                },
                extensions={
                    "sni_hostname": name.strip("[]"),
                    "timeout": exchange.timeouts(),
                    "trace": exchange.trace,
                },
            )
        except httpx.InvalidURL:  # a control character in the path, say
            raise FetchError(f"{url[:100]!r} is not a valid URL.") from None

    def _trusted(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in network for network in self.allowed_networks)

    def _addresses(self, host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        addresses = list(self.resolver(host, port))
        if not addresses:
            raise FetchError(f"{printable(host[:100])} does not resolve.")
        return addresses

    def _read(
        self,
        url: str,
        response: httpx.Response,
        accept: Sequence[str],
        exchange: _Exchange,
        hops: tuple[str, ...],
    ) -> Fetched:
        shown = printable(url[:200])
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        if response.status_code == 304:
            return Fetched(url, 304, "", b"", etag, modified, hops)
        if response.status_code >= 400:
            raise FetchError(f"{shown} answered HTTP {response.status_code}.")
        if response.status_code < 200:
            raise FetchError(f"{shown} answered HTTP {response.status_code}, not a page.")
        header = response.headers.get("content-type", "")
        content_type = header.split(";")[0].strip().lower()
        declared_charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", header, re.IGNORECASE)
        if accept and content_type and not content_type.startswith(tuple(accept)):
            raise FetchError(
                f"{shown} is {printable(content_type[:100])}, not what was asked for "
                f"({', '.join(accept[:2])})."
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(
                f"{shown} came {printable(encoding[:40])}-compressed though we asked for plain "
                "bytes."
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{shown} is larger than {_size(self.max_bytes)}.")
        too_slow = f"{shown} took longer than {self.timeout:g} s to send."
        body = bytearray()
        try:
            for piece in response.iter_raw():  # never decompressed: see Accept-Encoding
                body += piece
                if len(body) > self.max_bytes:
                    raise FetchError(f"{shown} is larger than {_size(self.max_bytes)}.")
                if time.monotonic() > exchange.deadline:
                    raise FetchError(too_slow)
        except httpx.TimeoutException:
            raise FetchError(too_slow) from None
        except httpx.HTTPError as error:
            if exchange.expired:
                raise FetchError(too_slow) from None
            raise FetchError(f"{shown} broke off: {type(error).__name__}.") from None
        charset = declared_charset.group(1) if declared_charset else None
        return Fetched(
            url, response.status_code, content_type, bytes(body), etag, modified, hops, charset
        )


def _host_header(host: str) -> str:
    """The host as the Host header and SNI carry it: ASCII (IDNA for an international name),
    an IPv6 address in brackets."""
    if ":" in host:
        return f"[{host}]"
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            raise FetchError(f"{host[:100]!r} is not a valid host name.") from None
    return host


def _size(n: int) -> str:
    """5242880 -> '5 MB', 8192 -> '8 KB': the limit as a person reads it."""
    if n >= 1 << 20:
        return f"{n / (1 << 20):.3g} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.3g} KB"
    return f"{n} bytes"
