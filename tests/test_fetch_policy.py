"""Address policy: non-public addresses refused in every spelling, at connect time."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from monitor.config import FetchSettings
from monitor.errors import PermanentFetchError
from monitor.feeds.fetch import Fetcher, user_agent
from monitor.feeds.netpolicy import AddressPolicy, StaticResolver, is_public, literal_address
from tests.feeds_helpers import FeedSite, rss, serve_site

LOOPBACK_ONE = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",
    ],
)
def test_non_public_addresses_are_not_public(address: str) -> None:
    """Loopback, private, link-local, metadata, CGNAT and embedded-IPv4 forms are refused."""
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "1.1.1.1"])
def test_public_addresses_are_public(address: str) -> None:
    """Ordinary internet addresses pass."""
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("news.example", None),
    ],
)
def test_numeric_host_forms_are_read_as_addresses(host: str, expected: str | None) -> None:
    """Decimal, hex, octal and short IPv4 forms are recognised as the address they name."""
    found = literal_address(host)
    assert (str(found) if found else None) == expected


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "localhost", "[::1]", "10.0.0.1"])
def test_policy_refuses_private_hosts_unless_allowed(host: str) -> None:
    """Literal private hosts are refused by default and allowed with allow_private."""
    assert not AddressPolicy().allows_host(host)
    assert AddressPolicy(allow_private=True).allows_host(host)


def test_feed_configured_on_a_private_address_is_exempt() -> None:
    """A feed the operator put on 10.0.0.5 may be fetched; a public one stays strict."""
    assert AddressPolicy().exempting("10.0.0.5").allow_private
    assert not AddressPolicy().exempting("news.example").allow_private


def test_user_agent_names_the_project_and_the_contact() -> None:
    """The User-Agent carries the project name and the configured contact."""
    agent = user_agent("ops@ministry.example")
    assert agent.startswith("treaty-monitor/")
    assert "ops@ministry.example" in agent


@pytest.fixture
async def site() -> AsyncIterator[FeedSite]:
    """A local feed site."""
    async with serve_site(FeedSite(docs={"/feed": rss(1)})) as running:
        yield running


async def test_public_name_resolving_to_loopback_is_refused_at_connect(site: FeedSite) -> None:
    """DNS rebinding: a public-looking name that resolves to 127.0.0.1 is not connected to."""
    resolver = StaticResolver({"feeds.news.example": ["127.0.0.1"]})
    fetcher = Fetcher(FetchSettings(), resolver=resolver)
    url = site.url("/feed", "feeds.news.example")
    try:
        with pytest.raises(PermanentFetchError) as caught:
            await fetcher.fetch(url, configured_url=url)
    finally:
        await fetcher.close()
    assert caught.value.kind == "private_address"
    assert site.hits == {}


async def test_public_name_is_fetched_when_its_address_is_public(site: FeedSite) -> None:
    """The same name is fetched when the policy counts its address as public."""
    resolver = StaticResolver({"feeds.news.example": ["127.0.0.1"]})
    policy = AddressPolicy(treat_as_public=LOOPBACK_ONE)
    fetcher = Fetcher(FetchSettings(), policy=policy, resolver=resolver)
    url = site.url("/feed", "feeds.news.example")
    try:
        result = await fetcher.fetch(url, configured_url=url)
    finally:
        await fetcher.close()
    assert result.status == 200
    assert b"<rss" in result.body
    assert site.headers_seen[0]["User-Agent"].startswith("treaty-monitor/")


async def test_redirect_to_file_url_is_refused(site: FeedSite) -> None:
    """A redirect may never lead to file://, even from a trusted feed."""
    from aiohttp import web

    async def to_file(_request: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": "file:///etc/passwd"})

    site.extra["/feed"] = to_file
    fetcher = Fetcher(FetchSettings(allow_private_networks=True))
    try:
        with pytest.raises(PermanentFetchError) as caught:
            await fetcher.fetch(site.url("/feed"), configured_url=site.url("/feed"))
    finally:
        await fetcher.close()
    assert caught.value.kind == "scheme"


async def test_file_url_not_named_in_the_config_is_refused() -> None:
    """file:// is read only when it is the configured URL itself."""
    fetcher = Fetcher(FetchSettings())
    with pytest.raises(PermanentFetchError) as caught:
        await fetcher.fetch("file:///etc/passwd", configured_url="http://news.example/feed")
    assert caught.value.kind == "scheme"
