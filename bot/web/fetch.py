"""Fetching pages and feeds for ingestion without letting a URL reach inside our network.

Every hop (the URL and each redirect) is resolved once, every address it resolves to must be a
public one, and the connection goes to the very address that was checked (the hostname travels
in the Host header and TLS SNI), so a DNS answer that changes between check and connect cannot
redirect us to loopback, a private network or a cloud metadata service. Bodies are streamed
with a size cap and an overall deadline; only the content types asked for are accepted.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from bot import __version__
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
REDIRECTS = (301, 302, 303, 307, 308)
Resolver = Callable[[str, int], Sequence[str]]


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
        raise FetchError(f"{host} does not resolve ({error.strerror}).") from None
    except UnicodeError:  # IDNA: an empty label, or one over 63 characters
        raise FetchError(f"{host[:100]!r} is not a valid host name.") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# IPv6 prefixes that carry an IPv4 address a gateway on our own network connects to: NAT64's
# well-known prefix (RFC 6052; DNS64 answers with it on IPv6-only networks) and 6to4.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215, a network's own translator


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
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private or not ip.is_global or ip.is_reserved or ip in NAT64_LOCAL:
        # is_reserved: also IPv6's deprecated IPv4-compatible ::a.b.c.d
        return "a private or reserved address"
    return None


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
        deadline = time.monotonic() + self.timeout
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
        current = url.strip()
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
            while True:
                response = self._get(client, current, headers, deadline)
                try:
                    if response.status_code in REDIRECTS and "location" in response.headers:
                        if len(hops) >= self.max_redirects:
                            raise FetchError(
                                f"{url[:200]} redirects more than {self.max_redirects} times."
                            )
                        hops.append(current)
                        current = urljoin(current, response.headers["location"])
                        continue
                    return self._read(current, response, accept, deadline, tuple(hops))
                finally:
                    response.close()

    def _get(
        self, client: httpx.Client, url: str, headers: dict[str, str], deadline: float
    ) -> httpx.Response:
        try:
            parts = urlsplit(url)
        except ValueError:  # "http://[::1/": an unclosed IPv6 bracket
            raise FetchError(f"{url[:100]!r} is not a valid URL.") from None
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"Only http and https URLs can be fetched, not {parts.scheme or '?'}:")
        host = parts.hostname
        if not host:
            raise FetchError(f"{url[:100]!r} has no host.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError(f"{url[:100]!r} has an invalid port.") from None
        addresses = self._addresses(host, port)
        if not self.allow_private:
            for address in addresses:
                why = forbidden(address)
                if why and not self._trusted(address):
                    raise FetchError(
                        f"Refused {host}: it resolves to {address}, {why}. "
                        "Set MARKETBOT_ALLOW_PRIVATE_URLS=1 (or --allow-private) to allow it."
                    )
        address = addresses[0]
        netloc = f"[{address}]" if ":" in address else address
        default = port == (443 if parts.scheme == "https" else 80)
        name = _host_header(host)
        pinned = urlunsplit(
            (
                parts.scheme,
                netloc if default else f"{netloc}:{port}",
                parts.path or "/",
                parts.query,
                "",
            )
        )
        try:
            request = client.build_request(
                "GET",
                pinned,
                headers={**headers, "Host": name if default else f"{name}:{port}"},
                extensions={"sni_hostname": name.strip("[]"), "timeout": self._timeouts(deadline)},
            )
        except httpx.InvalidURL:  # a control character in the path, say
            raise FetchError(f"{url[:100]!r} is not a valid URL.") from None
        try:
            return client.send(request, stream=True)
        except httpx.TimeoutException:
            raise FetchError(f"{host} did not answer within {self.timeout:g} s.") from None
        except httpx.HTTPError as error:
            raise FetchError(f"Could not fetch from {host}: {type(error).__name__}.") from None

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
            raise FetchError(f"{host} does not resolve.")
        return addresses

    def _timeouts(self, deadline: float) -> dict[str, float]:
        left = max(deadline - time.monotonic(), 0.1)
        return {"connect": left, "read": left, "write": left, "pool": left}

    def _read(
        self,
        url: str,
        response: httpx.Response,
        accept: Sequence[str],
        deadline: float,
        hops: tuple[str, ...],
    ) -> Fetched:
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        if response.status_code == 304:
            return Fetched(url, 304, "", b"", etag, modified, hops)
        if response.status_code >= 400:
            raise FetchError(f"{url[:200]} answered HTTP {response.status_code}.")
        header = response.headers.get("content-type", "")
        content_type = header.split(";")[0].strip().lower()
        declared_charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", header, re.IGNORECASE)
        if accept and content_type and not content_type.startswith(tuple(accept)):
            raise FetchError(
                f"{url[:200]} is {content_type}, not what was asked for ({', '.join(accept[:2])})."
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(
                f"{url[:200]} came {encoding}-compressed though we asked for plain bytes."
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{url[:200]} is larger than {_size(self.max_bytes)}.")
        body = bytearray()
        try:
            for piece in response.iter_raw():  # never decompressed: see Accept-Encoding
                body += piece
                if len(body) > self.max_bytes:
                    raise FetchError(f"{url[:200]} is larger than {_size(self.max_bytes)}.")
                if time.monotonic() > deadline:
                    raise FetchError(f"{url[:200]} took longer than {self.timeout:g} s to send.")
        except httpx.TimeoutException:
            raise FetchError(f"{url[:200]} took longer than {self.timeout:g} s to send.") from None
        except httpx.HTTPError as error:
            raise FetchError(f"{url[:200]} broke off: {type(error).__name__}.") from None
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
