"""Where a webhook may go: resolve its host once, refuse internal addresses, pin the checked ones.

A destination is checked on every address its name resolves to, and the delivery then connects to
one of exactly those addresses, keeping the host name in the ``Host`` header and, for https, in
SNI and certificate verification. The HTTP client never resolves the name again, so a name that
answers differently a moment later (DNS rebinding) cannot steer a delivery inside.

Refused, unless private destinations are allowed: loopback, private, link-local, shared
(100.64.0.0/10), multicast, reserved and every other non-public address; cloud metadata addresses;
and the IPv6 forms that carry an IPv4 address (mapped, compatible, translated, 6to4, NAT64), judged
by the IPv4 they carry. Teredo and local-use NAT64 addresses are refused whatever they carry.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import httpx

# Cloud metadata endpoints (AWS, Alibaba) that must stay out of reach whatever else the range is.
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})
_SHARED = IPv4Network("100.64.0.0/10")  # RFC 6598; Python's is_private does not include it
_TEREDO = IPv6Network("2001::/32")
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")  # RFC 8215: the IPv4 part's position is the operator's choice
_NAT64 = IPv6Network("64:ff9b::/96")
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
_COMPATIBLE = IPv6Network("::/96")  # deprecated IPv4-compatible form; :: and ::1 are not IPv4
_LOW_32_BITS = 0xFFFFFFFF

Address = IPv4Address | IPv6Address
# host, port -> the addresses it resolves to, best first.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class WebhookRefused(Exception):
    """The destination is not one this worker may call. Never retried."""


class UnresolvedDestination(Exception):
    """The host name did not resolve (now). Retried like any other failed delivery."""


async def resolve(host: str, port: int) -> list[str]:
    """The system resolver, through the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _carried_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _TRANSLATED or (ip in _COMPATIBLE and int(ip) > 1):
        return IPv4Address(int(ip) & _LOW_32_BITS)
    return None


def refusal(ip: Address) -> str | None:
    """Why a webhook may not be sent to ``ip``, or None if it may."""
    if ip.compressed in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, IPv6Address):
        if ip in _TEREDO:
            return "a Teredo tunnel address"
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        carried = _carried_ipv4(ip)
        if carried is not None:
            why = refusal(carried)
            return None if why is None else f"an IPv6 form of {carried}, {why}"
        if ip.is_site_local:
            return "a site-local address"
    elif ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked webhook URL and the addresses a delivery may connect to, in the resolver's order."""

    url: httpx.URL
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def server_name(self) -> str:
        """The name TLS sends (SNI) and verifies the certificate against: the URL's, never the address."""
        return self.url.raw_host.decode("ascii")

    def url_for(self, address: str) -> httpx.URL:
        """The URL with its host replaced by ``address``, so that the client connects there and only there."""
        return self.url.copy_with(host=address)


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebhookRefused("not an absolute http(s) URL")
    return parsed


async def check_destination(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> Destination:
    """Resolve ``url``'s host once and check every address it resolves to.

    Args:
        url: the webhook URL.
        allow_private: skip the address checks (development, in-cluster receivers); still resolved once.
        resolver: name lookup; the system's by default.

    Raises:
        WebhookRefused: not an http(s) URL, or some address is internal.
        UnresolvedDestination: the name did not resolve.
    """
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    try:
        found = await resolver(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise UnresolvedDestination(f"cannot resolve {host!r}: {exc}") from exc
    # Zone ids (fe80::1%eth0) name an interface, not an address.
    addresses = tuple(dict.fromkeys(ip_address(a.split("%", 1)[0]).compressed for a in found))
    if not addresses:
        raise UnresolvedDestination(f"{host!r} resolves to no address")
    if not allow_private:
        refused = [f"{a} ({why})" for a in addresses if (why := refusal(ip_address(a)))]
        if refused:
            raise WebhookRefused(f"{host!r} resolves to internal addresses: {', '.join(refused)}")
    return Destination(url=parsed, addresses=addresses)
