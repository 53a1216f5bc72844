"""Address policy: non-public addresses refused in every spelling, at connect time."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.abc import ResolveResult
from pydantic import ValidationError

from monitor.config import FetchSettings
from monitor.errors import PermanentFetchError
from monitor.feeds.fetch import Fetcher, user_agent
from monitor.feeds.netpolicy import (
    AddressPolicy,
    ForbiddenAddress,
    PolicyResolver,
    StaticResolver,
    is_metadata_name,
    is_public,
    literal_address,
)
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


def test_feed_configured_on_a_private_address_opens_only_its_own_host() -> None:
    """A feed on 10.0.0.5 opens 10.0.0.5 (its port, or both web ports), not private networks."""
    policy = AddressPolicy().exempting("http://10.0.0.5/feed")
    assert not policy.allow_private
    assert policy.allows_host("10.0.0.5", 80)
    assert policy.allows_host("10.0.0.5", 443)
    assert not policy.allows_host("10.0.0.5", 6379)
    assert not policy.allows_host("10.0.0.6", 80)
    assert not policy.allows_host("localhost", 80)
    odd_port = AddressPolicy().exempting("http://10.0.0.5:8080/feed")
    assert odd_port.allows_host("10.0.0.5", 8080)
    assert not odd_port.allows_host("10.0.0.5", 80)
    assert AddressPolicy().exempting("http://news.example/feed") == AddressPolicy()
    assert not AddressPolicy().exempting("http://10.0.0.5:99999/feed").allows_host("10.0.0.5")


def test_listed_hosts_open_to_a_private_feeds_redirects_only() -> None:
    """Listed hosts (any port, or the one given) are opened for a private feed, not a public one."""
    listed = ["10.0.0.6", "feeds.intranet:8080", "[fd00::7]:81"]
    private = AddressPolicy().exempting("http://10.0.0.5/feed", listed)
    assert private.allows_host("10.0.0.6", 9000)
    assert private.allows(ipaddress.ip_address("10.9.9.9"), "feeds.intranet", 8080)
    assert not private.allows(ipaddress.ip_address("10.9.9.9"), "feeds.intranet", 8081)
    assert private.allows_host("[fd00::7]", 81)
    assert not private.allows_host("10.0.0.7", 80)
    public = AddressPolicy().exempting("http://news.example/feed", listed)
    assert not public.allows_host("10.0.0.6", 80)


METADATA_HOSTS = [
    "169.254.169.254",
    "169.254.170.2",
    "[fe80::1]",
    "[fd00:ec2::254]",
    "100.100.100.200",
    "[::ffff:169.254.169.254]",
    "0xa9fea9fe",
    "metadata",
    "metadata.google.internal",
    "METADATA.GOOGLE.INTERNAL.",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
]


@pytest.mark.parametrize("host", METADATA_HOSTS)
def test_metadata_hosts_are_refused_even_with_private_networks_allowed(host: str) -> None:
    """Link-local and metadata addresses and names are refused by every policy."""
    for policy in (
        AddressPolicy(allow_private=True),
        AddressPolicy(treat_as_public=(ipaddress.ip_network("0.0.0.0/0"),)),
        AddressPolicy().exempting(f"http://{host}/feed", [host]),
    ):
        assert not policy.allows_host(host, 80)


@pytest.mark.parametrize("host", ["internal", "news.internal", "metadata.example", "metadatax"])
def test_ordinary_names_are_not_taken_for_metadata(host: str) -> None:
    """Only metadata-style names are refused by name; other names go on to resolution."""
    assert not is_metadata_name(host)


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"])
async def test_resolver_answer_with_a_metadata_address_is_refused(address: str) -> None:
    """A name the resolver maps to a metadata address is refused where it resolves."""
    resolver = PolicyResolver(
        AddressPolicy(allow_private=True), StaticResolver({"feeds.news.example": [address]})
    )
    with pytest.raises(ForbiddenAddress):
        await resolver.resolve("feeds.news.example", 80)


async def test_metadata_name_is_refused_without_resolving_it() -> None:
    """`metadata.google.internal` is refused before the inner resolver is asked."""
    asked: list[str] = []

    class Recording(StaticResolver):
        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            asked.append(host)
            return await super().resolve(host, port, family)

    resolver = PolicyResolver(
        AddressPolicy(allow_private=True), Recording({"metadata.google.internal": ["127.0.0.1"]})
    )
    with pytest.raises(ForbiddenAddress):
        await resolver.resolve("metadata.google.internal", 80)
    assert asked == []


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


async def test_name_resolving_to_loopback_and_metadata_is_refused_before_connecting(
    site: FeedSite,
) -> None:
    """With private networks allowed, a name that also resolves to 169.254.169.254 is refused."""
    resolver = StaticResolver({"feeds.news.example": ["127.0.0.1", "169.254.169.254"]})
    fetcher = Fetcher(FetchSettings(allow_private_networks=True), resolver=resolver)
    url = site.url("/feed", "feeds.news.example")
    try:
        with pytest.raises(PermanentFetchError) as caught:
            await fetcher.fetch(url, configured_url=url)
    finally:
        await fetcher.close()
    assert caught.value.kind == "private_address"
    assert site.hits == {}


async def test_metadata_name_is_refused_even_when_it_resolves_to_loopback(site: FeedSite) -> None:
    """A feed or redirect naming metadata.google.internal is refused before any connection."""
    resolver = StaticResolver({"metadata.google.internal": ["127.0.0.1"]})
    fetcher = Fetcher(FetchSettings(allow_private_networks=True), resolver=resolver)
    url = site.url("/feed", "metadata.google.internal")
    site.extra["/hop"] = _redirect_to(url)
    try:
        with pytest.raises(PermanentFetchError) as direct:
            await fetcher.fetch(url, configured_url=url)
        with pytest.raises(PermanentFetchError) as redirected:
            await fetcher.fetch(site.url("/hop"), configured_url=site.url("/hop"))
    finally:
        await fetcher.close()
    assert direct.value.kind == redirected.value.kind == "private_address"
    assert "metadata" in str(direct.value)
    assert "metadata" in str(redirected.value)
    assert site.hits == {"/hop": 1}


def _redirect_to(location: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def redirect(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    return redirect


@pytest.fixture
async def other_host() -> AsyncIterator[FeedSite]:
    """A second feed server on 127.0.0.2: another private host."""
    async with serve_site(FeedSite(docs={"/secret": rss(1)}), host="127.0.0.2") as running:
        yield running


async def test_private_feed_may_not_redirect_to_another_private_host(
    site: FeedSite, other_host: FeedSite
) -> None:
    """A feed configured on 127.0.0.1 redirecting to 127.0.0.2 is refused; .2 sees nothing."""
    site.extra["/feed"] = _redirect_to(other_host.url("/secret", "127.0.0.2"))
    fetcher = Fetcher(FetchSettings())
    try:
        with pytest.raises(PermanentFetchError) as caught:
            await fetcher.fetch(site.url("/feed"), configured_url=site.url("/feed"))
    finally:
        await fetcher.close()
    assert caught.value.kind == "private_address"
    assert f"127.0.0.2:{other_host.port}" in str(caught.value)
    assert "private_redirect_hosts" in str(caught.value)
    assert site.hits == {"/feed": 1}
    assert other_host.hits == {}


async def test_private_feed_may_not_redirect_to_another_port_on_its_host(site: FeedSite) -> None:
    """Another service on the feed's own loopback address (another port) is not reached."""
    async with serve_site(FeedSite(docs={"/admin": rss(1)})) as service:
        site.extra["/feed"] = _redirect_to(service.url("/admin"))
        fetcher = Fetcher(FetchSettings())
        try:
            with pytest.raises(PermanentFetchError) as caught:
                await fetcher.fetch(site.url("/feed"), configured_url=site.url("/feed"))
        finally:
            await fetcher.close()
    assert caught.value.kind == "private_address"
    assert service.hits == {}


async def test_private_feed_redirects_within_its_own_host(site: FeedSite) -> None:
    """A redirect that stays on the configured host and port is followed."""
    site.extra["/old"] = _redirect_to(site.url("/feed"))
    fetcher = Fetcher(FetchSettings())
    try:
        result = await fetcher.fetch(site.url("/old"), configured_url=site.url("/old"))
    finally:
        await fetcher.close()
    assert result.status == 200
    assert site.hits == {"/old": 1, "/feed": 1}


@pytest.mark.parametrize("where", ["feed", "global"])
async def test_private_feed_may_redirect_to_a_listed_host(
    site: FeedSite, other_host: FeedSite, where: str
) -> None:
    """127.0.0.2 is reached when listed for the feed or in fetch.private_redirect_hosts."""
    site.extra["/feed"] = _redirect_to(other_host.url("/secret", "127.0.0.2"))
    listed = [f"127.0.0.2:{other_host.port}"]
    settings = FetchSettings(private_redirect_hosts=listed if where == "global" else [])
    fetcher = Fetcher(settings)
    try:
        result = await fetcher.fetch(
            site.url("/feed"),
            configured_url=site.url("/feed"),
            redirect_hosts=listed if where == "feed" else (),
        )
    finally:
        await fetcher.close()
    assert result.status == 200
    assert other_host.hits == {"/secret": 1}


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("feeds.intranet:notaport", "not a host or host:port"),
        ("", "not a host or host:port"),
        ("169.254.169.254", "always refused"),
        ("metadata.google.internal:80", "always refused"),
    ],
)
def test_a_malformed_or_metadata_redirect_host_is_a_config_error(entry: str, reason: str) -> None:
    """`private_redirect_hosts` takes host or host:port, never metadata; errors name the field."""
    with pytest.raises(ValidationError, match="private_redirect_hosts") as caught:
        FetchSettings(private_redirect_hosts=[entry])
    assert reason in str(caught.value)


async def test_feed_configured_on_localhost_is_fetched_through_the_resolver(site: FeedSite) -> None:
    """`localhost` opens itself by name at the resolver: the private feed is fetched."""
    fetcher = Fetcher(FetchSettings())
    url = site.url("/feed", "localhost")
    try:
        result = await fetcher.fetch(url, configured_url=url)
    finally:
        await fetcher.close()
    assert result.status == 200
    assert site.hits == {"/feed": 1}


@pytest.mark.parametrize("listed", [False, True])
async def test_private_feed_may_not_redirect_to_a_public_host_unless_listed(
    site: FeedSite, other_host: FeedSite, listed: bool
) -> None:
    """A private feed's redirect leaves its host only for a listed one, even a public one."""
    # cdn.news.example resolves to 127.0.0.2, which this policy counts as public.
    resolver = StaticResolver({"cdn.news.example": ["127.0.0.2"]})
    policy = AddressPolicy(treat_as_public=(ipaddress.ip_network("127.0.0.2/32"),))
    site.extra["/feed"] = _redirect_to(other_host.url("/secret", "cdn.news.example"))
    settings = FetchSettings(private_redirect_hosts=["cdn.news.example"] if listed else [])
    fetcher = Fetcher(settings, policy=policy, resolver=resolver)
    try:
        if listed:
            result = await fetcher.fetch(site.url("/feed"), configured_url=site.url("/feed"))
            assert result.status == 200
        else:
            with pytest.raises(PermanentFetchError) as caught:
                await fetcher.fetch(site.url("/feed"), configured_url=site.url("/feed"))
            assert caught.value.kind == "private_address"
            assert f"cdn.news.example:{other_host.port}" in str(caught.value)
    finally:
        await fetcher.close()
    assert other_host.hits == ({"/secret": 1} if listed else {})
