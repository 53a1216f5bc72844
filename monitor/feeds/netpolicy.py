"""Which addresses a fetch may connect to, checked on the resolved address at connect time.

A feed URL, or a redirect from it, must not reach loopback, private, link-local, carrier-grade
NAT, multicast or cloud-metadata addresses, whatever form the host takes: IPv4-mapped and
6to4/Teredo/NAT64 IPv6, or numeric hosts (``2130706433``, ``0x7f.1``, ``017700000001``), which
the system resolver turns into addresses like any name. The check runs in the aiohttp resolver
(every name) and on literal hosts before each request (aiohttp skips the resolver for those), so
a name that resolves to a public address first and a private one later (DNS rebinding) is caught
on the connection that would use it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


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
    """

    allow_private: bool = False
    treat_as_public: tuple[IPNetwork, ...] = ()

    def allows(self, addr: IPAddress) -> bool:
        """Whether a connection to ``addr`` is allowed."""
        if self.allow_private or any(addr in net for net in self.treat_as_public):
            return True
        return is_public(addr)

    def allows_host(self, host: str) -> bool:
        """Whether a host is allowed as far as can be told without resolving it."""
        if self.allow_private:
            return True
        if host.lower().rstrip(".") in _LOCAL_NAMES or host.lower().endswith(".localhost"):
            return any(self.allows(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1"))
        addr = literal_address(host)
        return addr is None or self.allows(addr)

    def exempting(self, configured_host: str) -> AddressPolicy:
        """The policy for a feed on ``configured_host``: private allowed if the feed is private."""
        if self.allow_private or self.allows_host(configured_host):
            return self
        return AddressPolicy(allow_private=True, treat_as_public=self.treat_as_public)


class PolicyResolver(AbstractResolver):
    """Resolves through ``inner`` and drops every address the policy forbids."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Addresses of ``host`` the policy allows; :class:`ForbiddenAddress` if none."""
        results = await self.inner.resolve(host, port, family)
        allowed = [r for r in results if self._allowed(r)]
        if results and not allowed:
            raise ForbiddenAddress(f"{host} resolves only to non-public addresses")
        return allowed

    def _allowed(self, result: ResolveResult) -> bool:
        try:
            addr = ipaddress.ip_address(str(result["host"]).split("%", 1)[0])
        except ValueError:
            return False
        return self.policy.allows(addr)

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


def _result(host: str, addr: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return ResolveResult(
        hostname=host, host=addr, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
    )
