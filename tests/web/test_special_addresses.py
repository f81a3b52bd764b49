"""The address policy against the IANA IPv4 and IPv6 Special-Purpose Address Registries: one
address from every range is refused, public addresses are allowed, and the two addresses the
probe got through (192.0.0.8, fec0::1) are refused before any connection, end to end."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.services import Services
from bot.web.fetch import FetchError, SafeFetcher, forbidden
from tests.conftest import MakeServices
from tests.web.site import LocalSite, connections

# (an address in the range, the range, the RFC that reserves it)
SPECIAL_IPV4 = [
    ("0.1.2.3", "0.0.0.0/8", "RFC 791: this network"),
    ("0.0.0.0", "0.0.0.0/32", "RFC 1122: this host"),
    ("10.20.30.40", "10.0.0.0/8", "RFC 1918: private use"),
    ("100.127.255.1", "100.64.0.0/10", "RFC 6598: shared address space (carrier NAT)"),
    ("127.8.9.10", "127.0.0.0/8", "RFC 1122: loopback"),
    ("169.254.1.1", "169.254.0.0/16", "RFC 3927: link local"),
    ("172.20.1.1", "172.16.0.0/12", "RFC 1918: private use"),
    ("192.0.0.1", "192.0.0.0/24", "RFC 6890: IETF protocol assignments"),
    ("192.0.0.5", "192.0.0.0/29", "RFC 7335: IPv4 service continuity prefix"),
    ("192.0.0.8", "192.0.0.8/32", "RFC 7600: IPv4 dummy address"),
    ("192.0.0.9", "192.0.0.9/32", "RFC 7723: PCP anycast"),
    ("192.0.0.10", "192.0.0.10/32", "RFC 8155: TURN anycast"),
    ("192.0.0.170", "192.0.0.170/32", "RFC 8880: NAT64/DNS64 discovery"),
    ("192.0.2.44", "192.0.2.0/24", "RFC 5737: documentation (TEST-NET-1)"),
    ("192.31.196.1", "192.31.196.0/24", "RFC 7535: AS112-v4"),
    ("192.52.193.1", "192.52.193.0/24", "RFC 7450: AMT"),
    ("192.88.99.1", "192.88.99.0/24", "RFC 7526: deprecated 6to4 relay anycast"),
    ("192.168.77.1", "192.168.0.0/16", "RFC 1918: private use"),
    ("192.175.48.6", "192.175.48.0/24", "RFC 7534: direct delegation AS112 service"),
    ("198.19.0.1", "198.18.0.0/15", "RFC 2544: benchmarking"),
    ("198.51.100.7", "198.51.100.0/24", "RFC 5737: documentation (TEST-NET-2)"),
    ("203.0.113.9", "203.0.113.0/24", "RFC 5737: documentation (TEST-NET-3)"),
    ("224.0.0.251", "224.0.0.0/4", "RFC 5771: multicast"),
    ("239.255.255.250", "224.0.0.0/4", "RFC 5771: multicast"),
    ("240.0.0.1", "240.0.0.0/4", "RFC 1112: reserved"),
    ("255.255.255.254", "240.0.0.0/4", "RFC 1112: reserved"),
    ("255.255.255.255", "255.255.255.255/32", "RFC 919: limited broadcast"),
]
SPECIAL_IPV6 = [
    ("::", "::/128", "RFC 4291: unspecified"),
    ("::1", "::1/128", "RFC 4291: loopback"),
    ("::ffff:10.0.0.1", "::ffff:0:0/96", "RFC 4291: IPv4-mapped (here of a private one)"),
    ("::10.0.0.1", "::/96", "RFC 4291: deprecated IPv4-compatible"),
    ("64:ff9b::192.168.0.1", "64:ff9b::/96", "RFC 6052: NAT64 (here of a private one)"),
    ("64:ff9b:1::1", "64:ff9b:1::/48", "RFC 8215: local-use IPv4/IPv6 translation"),
    ("100::1", "100::/64", "RFC 6666: discard-only"),
    ("100:0:0:1::1", "outside 2000::/3", "RFC 4291: not global unicast"),
    ("2001::1", "2001::/32", "RFC 4380: Teredo"),
    ("2001:1::1", "2001:1::1/128", "RFC 7723: PCP anycast"),
    ("2001:1::3", "2001:1::3/128", "RFC 9665: DNS-SD SRP anycast"),
    ("2001:2::1", "2001:2::/48", "RFC 5180: benchmarking"),
    ("2001:3::1", "2001:3::/32", "RFC 7450: AMT"),
    ("2001:4:112::1", "2001:4:112::/48", "RFC 7535: AS112-v6"),
    ("2001:10::1", "2001:10::/28", "RFC 4843: deprecated ORCHID"),
    ("2001:20::1", "2001:20::/28", "RFC 7343: ORCHIDv2"),
    ("2001:30::1", "2001:30::/28", "RFC 9374: drone remote ID"),
    ("2001:1ff::1", "2001::/23", "RFC 2928: IETF protocol assignments"),
    ("2001:db8::1", "2001:db8::/32", "RFC 3849: documentation"),
    ("2002:c0a8:1::1", "2002::/16", "RFC 3056: 6to4 (here of a private one)"),
    ("2620:4f:8000::1", "2620:4f:8000::/48", "RFC 7534: direct delegation AS112 service"),
    ("3fff::1", "3fff::/20", "RFC 9637: documentation"),
    ("5f00::1", "5f00::/16", "RFC 9602: segment routing SIDs"),
    ("fc00::1", "fc00::/7", "RFC 4193: unique local"),
    ("fdff:ffff::1", "fc00::/7", "RFC 4193: unique local"),
    ("fe80::1", "fe80::/10", "RFC 4291: link local"),
    ("febf::1", "fe80::/10", "RFC 4291: link local"),
    ("fec0::1", "fec0::/10", "RFC 3879: deprecated site local"),
    ("feff::1", "fec0::/10", "RFC 3879: deprecated site local"),
    ("ff02::1", "ff00::/8", "RFC 4291: multicast"),
    ("ff0e::1", "ff00::/8", "RFC 4291: multicast"),
    ("4000::1", "outside 2000::/3", "RFC 4291: not global unicast"),
    ("e000::1", "outside 2000::/3", "RFC 4291: not global unicast"),
]
PUBLIC = [
    "93.184.216.34",
    "1.1.1.1",
    "8.8.8.8",
    "151.101.1.69",
    "192.0.1.1",  # next to 192.0.0.0/24 and 192.0.2.0/24, but neither
    "198.20.0.1",  # next to 198.18.0.0/15
    "100.128.0.1",  # next to 100.64.0.0/10
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "2001:200::1",  # next to 2001::/23
    "2001:4860:4860::8888",
    "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
    "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
    "::ffff:93.184.216.34",
]


@pytest.mark.parametrize(
    ("address", "network", "rfc"), SPECIAL_IPV4 + SPECIAL_IPV6, ids=lambda v: str(v)
)
def test_every_special_purpose_range_is_refused(address: str, network: str, rfc: str) -> None:
    assert forbidden(address), f"{address} ({network}, {rfc}) was allowed"


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden(address) is None


@pytest.mark.parametrize(
    ("url", "address"),
    [("http://192.0.0.8/", "192.0.0.8"), ("http://[fec0::1]/", "fec0::1")],
)
def test_the_addresses_the_probe_reached_are_refused_before_connecting(
    site: LocalSite, make_services: MakeServices, url: str, address: str
) -> None:
    services: Services = make_services(allowed_networks=["127.0.0.1/32"])

    with connections() as attempted:
        with pytest.raises(FetchError) as fetched:
            SafeFetcher().fetch(url)
        with pytest.raises(FetchError) as ingested:
            services.ingest_url(url, ingested_by="cli")
        with pytest.raises(InputError) as added:
            services.add_feed(url, added_by="cli")

    for raised in (fetched, ingested, added):
        assert f"it resolves to {address}, a private or reserved address." in str(raised.value)
    assert attempted == []
    assert site.requests == []
    assert services.sources() == [] and services.feeds() == []
