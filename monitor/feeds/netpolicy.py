"""Which addresses a fetch may connect to, checked on the resolved address at connect time.

A feed URL, or a redirect from it, must not reach loopback, private, link-local, carrier-grade
NAT, multicast or cloud-metadata addresses, whatever form the host takes: IPv4-mapped and
6to4/Teredo/NAT64 IPv6, or numeric hosts (``2130706433``, ``0x7f.1``, ``017700000001``), which
the system resolver turns into addresses like any name. The check runs in the aiohttp resolver
(every name) and on literal hosts before each request (aiohttp skips the resolver for those), so
a name that resolves to a public address first and a private one later (DNS rebinding) is caught
on the connection that would use it.

A feed the operator configured on a private address (``http://10.0.0.5/feed``) may be fetched
without ``allow_private_networks``, but only that host (and port) is opened: its redirects may
stay there or go to a host listed in ``private_redirect_hosts``; any other host, private or
public, is refused. Link-local and cloud-metadata addresses and names are refused
always, even with ``allow_private_networks``: nothing a feed offers is worth an instance's
credentials.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
# Link-local (where AWS, GCP, Azure, OCI and DigitalOcean serve metadata), AWS's IPv6 metadata
# endpoint and Alibaba Cloud's.
_METADATA_NETS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)
_METADATA_NAMES = frozenset({"metadata", "metadata.goog", "instance-data"})
_METADATA_LABELS = frozenset({"metadata", "instance-data"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# A host a policy opens to private addresses: (normalised host, port or None for any port).
Endpoint = tuple[str, int | None]


class ForbiddenAddress(OSError):
    """A connection to a non-public address was refused by policy."""


def embedded_ipv4(addr: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), else itself."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr.teredo is not None:
            return addr.teredo[1]
        if addr in _NAT64:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return addr


def is_public(addr: IPAddress) -> bool:
    """Whether ``addr`` is a globally routable unicast address."""
    inner = embedded_ipv4(addr)
    for candidate in {addr, inner}:
        if not candidate.is_global or candidate.is_multicast or candidate.is_reserved:
            return False
    return True


def is_metadata(addr: IPAddress) -> bool:
    """Whether ``addr`` is link-local or a cloud metadata address, in any IPv6 wrapping."""
    return any(
        candidate in net for candidate in {addr, embedded_ipv4(addr)} for net in _METADATA_NETS
    )


def is_metadata_name(host: str) -> bool:
    """Whether ``host`` names a metadata service (``metadata.google.internal``, ``instance-data``).

    Besides the fixed names, any ``*.internal`` name whose first label is ``metadata`` or
    ``instance-data`` (``instance-data.ec2.internal``, ``metadata.azure.internal``) counts.
    """
    name = normalise_host(host)
    if name in _METADATA_NAMES:
        return True
    labels = name.split(".")
    return len(labels) > 1 and labels[-1] == "internal" and labels[0] in _METADATA_LABELS


def normalise_host(host: str) -> str:
    """``host`` as the policy compares it: lower case, no brackets or final dot, canonical IPs."""
    name = host.strip().strip("[]").rstrip(".").lower()
    addr = literal_address(name)
    return str(addr) if addr is not None else name


def parse_endpoint(entry: str) -> Endpoint:
    """``host``, ``host:port`` or ``[v6]:port`` → (normalised host, port or None)."""
    entry = entry.strip()
    if literal_address(entry) is not None and ":" in entry.strip("[]"):
        return normalise_host(entry), None  # a bare IPv6 address
    parts = urlsplit(f"//{entry}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{entry!r}: not a host or host:port") from exc
    if not parts.hostname:
        raise ValueError(f"{entry!r}: not a host or host:port")
    return normalise_host(parts.hostname), port


def url_endpoints(url: str) -> frozenset[Endpoint]:
    """The endpoints a feed URL names: its host on its port (http↔https default ports both)."""
    parts = urlsplit(url)
    host = normalise_host(parts.hostname or "")
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:  # a port out of range: the fetch fails anyway, open nothing
        return frozenset()
    ports = {port}
    if port in _DEFAULT_PORTS.values():
        ports |= set(_DEFAULT_PORTS.values())  # an http → https upgrade stays on the host
    return frozenset((host, p) for p in ports)


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally: dotted, bracketed IPv6, or numeric forms; else None."""
    host = host.strip().strip("[]").rstrip(".")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    # inet_aton takes the legacy forms resolvers accept: 0x7f.1, 0177.0.0.1, 2130706433
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Allow only public addresses, unless private networks are allowed.

    ``treat_as_public`` lists networks to handle as public (tests run on 127.0.0.1 and need the
    feed's own address to count as public to exercise the policy end to end).
    ``private_endpoints``, when set, are the only hosts (and ports) allowed, private or not: a
    private feed's own and those listed for it. Metadata addresses and names are refused whatever
    the other fields say.
    """

    allow_private: bool = False
    treat_as_public: tuple[IPNetwork, ...] = ()
    private_endpoints: frozenset[Endpoint] = frozenset()

    def allows(self, addr: IPAddress, host: str = "", port: int | None = None) -> bool:
        """Whether a connection to ``addr`` (resolved from ``host``, on ``port``) is allowed."""
        if is_metadata(addr):
            return False
        if self.allow_private:
            return True
        if self.private_endpoints:  # a feed on a private address: its own and listed hosts only
            return self._exempt(host or str(addr), port)
        return is_public(addr) or any(addr in net for net in self.treat_as_public)

    def allows_host(self, host: str, port: int | None = None) -> bool:
        """Whether a host is allowed as far as can be told without resolving it."""
        if is_metadata_name(host):
            return False
        name = host.lower().rstrip(".")
        if name in _LOCAL_NAMES or name.endswith(".localhost"):
            if self.allow_private or self._exempt(host, port):
                return True
            return any(self.allows(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1"))
        addr = literal_address(host)
        return addr is None or self.allows(addr, host, port)

    def refusal(self, host: str) -> str:
        """Why ``host`` was refused, for the feed's error message."""
        addr = literal_address(host)
        if is_metadata_name(host) or (addr is not None and is_metadata(addr)):
            return "a link-local or cloud-metadata address, always refused"
        if self.private_endpoints:
            return (
                "a feed on a private address may redirect only within its own host and port, "
                "or to private_redirect_hosts"
            )
        return "not a public address (fetch.allow_private_networks is off)"

    def _exempt(self, host: str, port: int | None) -> bool:
        if not self.private_endpoints or not host:
            return False
        name = normalise_host(host)
        return (name, None) in self.private_endpoints or (name, port) in self.private_endpoints

    def exempting(self, configured_url: str, listed: Iterable[str] = ()) -> AddressPolicy:
        """The policy for a feed at ``configured_url``; a private feed opens only its own host.

        ``listed`` (``host`` or ``host:port``) are further hosts its redirects may reach.
        """
        host = urlsplit(configured_url).hostname or ""
        if self.allow_private or self.allows_host(host):
            return self
        endpoints = url_endpoints(configured_url) | {parse_endpoint(e) for e in listed}
        return replace(self, private_endpoints=frozenset(endpoints))


class PolicyResolver(AbstractResolver):
    """Resolves through ``inner`` and drops every address the policy forbids."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Addresses of ``host`` the policy allows; :class:`ForbiddenAddress` if none.

        A metadata name is refused before it is resolved; a name that resolves to a metadata
        address is refused outright, whatever else it resolves to.
        """
        if is_metadata_name(host):
            raise ForbiddenAddress(f"{host} names a cloud metadata service, always refused")
        results = await self.inner.resolve(host, port, family)
        addresses = [_address(r) for r in results]
        if any(a is not None and is_metadata(a) for a in addresses):
            raise ForbiddenAddress(f"{host} resolves to a link-local or metadata address")
        allowed = [
            r
            for r, a in zip(results, addresses, strict=True)
            if a is not None and self.policy.allows(a, host, port)
        ]
        if results and not allowed:
            raise ForbiddenAddress(f"{host}:{port}: {self.policy.refusal(host)}")
        return allowed

    async def close(self) -> None:
        """Close the inner resolver."""
        await self.inner.close()


class StaticResolver(AbstractResolver):
    """A fixed name → addresses table (for tests and benchmarks: no DNS leaves the machine)."""

    def __init__(self, table: dict[str, Iterable[str]]) -> None:
        self.table = {name.lower(): tuple(addrs) for name, addrs in table.items()}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The table's addresses for ``host``."""
        addrs = self.table.get(host.lower())
        if not addrs:
            raise OSError(f"{host}: name not known")
        return [_result(host, a, port) for a in addrs]

    async def close(self) -> None:
        """Nothing to close."""


def _address(result: ResolveResult) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(result["host"]).split("%", 1)[0])
    except ValueError:
        return None


def _result(host: str, addr: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return ResolveResult(
        hostname=host, host=addr, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
    )
