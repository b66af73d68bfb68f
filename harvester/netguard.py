"""The private-address guard: no fetched link may reach the user's own network.

A link from a Telegram post is untrusted input. Without a guard, a link to
``http://192.168.1.1/`` or a public name that resolves to ``127.0.0.1`` (or a
redirect to one) would make the fetcher probe the user's LAN, router or cloud
metadata service (``169.254.169.254``).

The guard sits in the connection layer, not in front of it: the httpx
transports built here use a network backend that resolves the host name
itself, refuses it if ANY resolved address is non-public, and then connects to
exactly the address it checked. So there is no window between the check and
the connect for DNS rebinding, every redirect hop (each one opens or reuses a
checked connection) is covered, and TLS still verifies and sends SNI for the
host name (httpcore passes the name, not the address, to the TLS layer).

``Settings.allow_private`` turns the guard off; ``Settings.allow_hosts`` lets
through host names (exact, or ``.example.org`` for a domain and its
subdomains) and CIDR blocks (``10.1.0.0/16``; a single address is a /32).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from .identity import ascii_host

IPAddress = typing.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
ALLOWED_SCHEMES = ("http", "https")

# Networks whose addresses embed an IPv4 address that the OS may route to.
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class GuardError(Exception):
    """Base of the guard's refusals."""


class RefusedURL(GuardError):
    """A URL the guard will not fetch: its scheme, or an address it resolves to. ``str()`` says why."""


class NameNotFound(GuardError):
    """The host name does not resolve (a permanent failure for a link)."""


def _ascii(host: str) -> str:
    """``host`` as the request goes to it: an internationalized name in punycode, as links are stored
    (getaddrinfo would read ``straße.de`` by IDNA 2003 as ``strasse.de``, another host)."""
    return host if host.isascii() else ascii_host(host) or host


def check_scheme(url: str | httpx.URL) -> None:
    scheme = httpx.URL(str(url)).scheme if not isinstance(url, httpx.URL) else url.scheme
    if scheme not in ALLOWED_SCHEMES:
        raise RefusedURL(f"refused: unsupported scheme {scheme + ':' if scheme else '(none)'}")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped, 6to4, NAT64, Teredo, IPv4-compatible."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = address.packed
    if packed[:12] == bytes(12) and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_public(address: IPAddress) -> bool:
    """Whether an address is globally routable unicast: not loopback, private, link-local, multicast, reserved, ..."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    ):
        return False
    if isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"):
        return False  # carrier-grade NAT: shared, not public
    return address.is_global


@dataclass(frozen=True)
class Policy:
    """What the guard lets through; built from :class:`harvester.settings.Settings`."""

    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings) -> "Policy":
        return cls(allow_private=settings.allow_private, allow_hosts=tuple(settings.allow_hosts))

    def _networks(self):
        for entry in self.allow_hosts:
            try:
                yield ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                continue

    def _host_allowed(self, host: str) -> bool:
        host = _ascii(host.lower().rstrip("."))
        for entry in self.allow_hosts:
            entry = _ascii(entry.strip().lower())
            if entry.startswith("*."):
                entry = entry[1:]
            if entry.startswith("."):
                if host == entry[1:] or host.endswith(entry):
                    return True
            elif host == entry:
                return True
        return False

    def check(self, host: str, addresses: typing.Sequence[IPAddress]) -> None:
        """Raise :class:`RefusedURL` unless every address of ``host`` may be connected to."""
        if self.allow_private or self._host_allowed(host):
            return
        networks = list(self._networks())
        for address in addresses:
            if is_public(address) or any(address in network for network in networks if network.version == address.version):
                continue
            raise RefusedURL(f"refused: {host} resolves to a private address ({address})")


def _parse_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _addresses(infos) -> list[IPAddress]:
    seen: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if family == socket.AF_INET6 and sockaddr[3]:
            address = ipaddress.IPv6Address(f"{address}%{sockaddr[3]}")
        if address not in seen:
            seen.append(address)
    return seen


def _resolution_error(host: str, error: socket.gaierror) -> Exception:
    if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return NameNotFound(f"DNS: {host}: name not found")
    # EAI_AGAIN and friends: a resolver that is down now may answer later.
    return httpcore.ConnectError(f"DNS: {host}: {error.strerror or error}")


def resolve_sync(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (``getaddrinfo`` also normalizes ``2130706433``, ``0177.0.0.1``, ``0x7f.1``)."""
    try:
        return _addresses(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except socket.gaierror as error:
        raise _resolution_error(host, error) from None
    except UnicodeError:
        raise NameNotFound(f"DNS: {host}: not a valid host name") from None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """:func:`resolve_sync`, off the event loop (the resolver blocks)."""
    loop = asyncio.get_running_loop()
    try:
        return _addresses(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except socket.gaierror as error:
        raise _resolution_error(host, error) from None
    except UnicodeError:
        raise NameNotFound(f"DNS: {host}: not a valid host name") from None


async def check_url(url: str | httpx.URL, policy: Policy, resolver=resolve) -> list[IPAddress]:
    """Check one URL up front (the transports check again at connect time): scheme and every resolved address."""
    # urllib, not httpx: httpx rejects legacy spellings like 0177.0.0.1 that a resolver (and a browser) accept.
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise RefusedURL(f"refused: unsupported scheme {scheme + ':' if scheme else '(none)'}")
    host = _ascii(parts.hostname or "")
    literal = _parse_literal(host)
    addresses = [literal] if literal is not None else await resolver(host, parts.port or (443 if scheme == "https" else 80))
    policy.check(host, addresses)
    return addresses


def _order(addresses: list[IPAddress]) -> list[IPAddress]:
    # IPv4 first: a host's IPv6 route is more often broken on home networks than its IPv4 one.
    return sorted(addresses, key=lambda address: address.version)


class GuardedAsyncBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, then connects to the checked address.

    ``resolver(host, port) -> [addresses]`` is injectable so tests can make a
    public-looking name resolve to a private address.
    """

    def __init__(self, policy: Policy, resolver=None, backend: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self.resolver = resolver or resolve
        self.backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        literal = _parse_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(timeout):
                    addresses = await self.resolver(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"DNS: {host}: timed out") from None
        if not addresses:
            raise NameNotFound(f"DNS: {host}: name not found")
        self.policy.check(host, addresses)
        last_error: Exception | None = None
        for address in _order(addresses):
            try:
                return await self.backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error  # type: ignore[misc]

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise RefusedURL("refused: unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


class GuardedSyncBackend(httpcore.NetworkBackend):
    """The blocking twin of :class:`GuardedAsyncBackend`, for sync ``httpx.Client`` users (site adapters)."""

    def __init__(self, policy: Policy, resolver=None, backend: httpcore.NetworkBackend | None = None):
        self.policy = policy
        self.resolver = resolver or resolve_sync
        self.backend = backend or httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        literal = _parse_literal(host)
        addresses = [literal] if literal is not None else self.resolver(host, port)
        if not addresses:
            raise NameNotFound(f"DNS: {host}: name not found")
        self.policy.check(host, addresses)
        last_error: Exception | None = None
        for address in _order(addresses):
            try:
                return self.backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error  # type: ignore[misc]

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise RefusedURL("refused: unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


def _pool_options(limits: httpx.Limits, http2: bool) -> dict:
    return dict(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
    )


class _PoolPerOrigin:
    """One httpcore pool per origin, behind the interface of one pool.

    httpcore's pool scans all its connections, for every connection, on every
    request (quadratic): with a hundred hosts kept alive that costs more CPU
    than the requests. Small pools per origin keep each scan to a few
    connections; a pool with no connections left costs a few hundred bytes.
    """

    def __init__(self, make_pool):
        self._make_pool = make_pool
        self._pools: dict[tuple, httpcore.AsyncConnectionPool] = {}

    async def handle_async_request(self, request: httpcore.Request):
        key = (request.url.scheme, request.url.host, request.url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = self._make_pool()
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()


class GuardedAsyncTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connections go through :class:`GuardedAsyncBackend`.

    httpx has no public hook for a network backend, so the transport's
    connection pool (``_pool``, its name since httpx 0.18) is replaced: by one
    pool per origin, each with the guarded backend and ``limits`` applied per
    origin. Proxies from the environment are not used: the guard must see the
    address actually connected to.
    """

    def __init__(self, policy: Policy, *, http2: bool = True, limits: httpx.Limits = httpx.Limits(), resolver=None, verify=True):
        super().__init__(http2=http2, limits=limits, trust_env=False, verify=verify)
        ssl_context = self._pool._ssl_context  # one SSL context for all: building one is slow
        backend = GuardedAsyncBackend(policy, resolver=resolver)
        options = _pool_options(limits, http2)
        self._pool = _PoolPerOrigin(
            lambda: httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=backend, **options)
        )


class GuardedSyncTransport(httpx.HTTPTransport):
    """The blocking twin of :class:`GuardedAsyncTransport`."""

    def __init__(self, policy: Policy, *, http2: bool = True, limits: httpx.Limits = httpx.Limits(), resolver=None, verify=True):
        super().__init__(http2=http2, limits=limits, trust_env=False, verify=verify)
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            network_backend=GuardedSyncBackend(policy, resolver=resolver),
            **_pool_options(limits, http2),
        )
