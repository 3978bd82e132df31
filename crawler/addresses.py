"""Which addresses the crawler may connect to: public ones only, unless a source says otherwise.

A portal's list page can link to, and an article can redirect to, ``127.0.0.1:6379``, a private
range or the cloud metadata address; fetching it would publish internal pages in a public feed.
The check sits in the network backend, on the address actually connected to, for every request
and every redirect hop: the name is resolved once, the addresses are vetted, and the connection
goes to a vetted address (so a second DNS answer, DNS rebinding, never gets a say).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

import anyio
import httpcore
import httpx

from crawler.errors import AddressRefused

ALLOW_HINT = "set 'allow_private: true' for this source if it really is on your network"


def is_public(address: str) -> bool:
    """True for an address on the public internet (IPv4-mapped IPv6 judged as its IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is link-local anyway
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


async def vetted(
    host: str, port: int, allowed: Callable[[str], bool], timeout: float | None = None, *, proxied: bool = False
) -> list[str]:
    """The addresses ``host`` resolves to that ``allowed`` accepts; AddressRefused when there are none.

    ``proxied``: a proxy will connect, resolving the name again, so every address must be allowed and
    a name that does not resolve here cannot be vetted at all."""
    try:
        with anyio.fail_after(timeout):
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        if proxied:
            raise AddressRefused(
                f"address refused: {host} does not resolve here, so it cannot be vetted before the proxy connects"
                f" to it ({ALLOW_HINT})"
            ) from None
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    public = [address for address in addresses if allowed(address)]
    if not public or (proxied and len(public) < len(addresses)):
        shown = next((a for a in addresses if a not in public), "nothing")
        raise AddressRefused(f"address refused: {host} is {shown}, not a public address ({ALLOW_HINT})")
    return public


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address policy in front of every TCP connection."""

    def __init__(self, allowed: Callable[[str], bool] = is_public, inner: httpcore.AsyncNetworkBackend | None = None):
        self._allowed, self._inner = allowed, inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        public = await vetted(host, port, self._allowed, timeout)
        error: httpcore.ConnectError | None = None
        for address in public:  # the vetted address itself, not the name again
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(f"address refused: unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def with_network_backend(transport: httpx.AsyncHTTPTransport, backend: httpcore.AsyncNetworkBackend) -> None:
    """Make ``transport`` connect through ``backend``: the one place procwatch reaches into a private API.

    httpx takes no network backend; its transport's connection pool (httpcore's ``_pool``, private)
    keeps one. pyproject.toml bounds httpcore below 2 for this; a release that moves it fails here,
    loudly, instead of silently connecting without the address policy.
    """
    pool = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        raise RuntimeError(
            "this httpx/httpcore no longer exposes its connection pool's network backend: the address "
            "policy cannot be applied (install httpcore<2)"
        )
    pool._network_backend = backend
