"""Who sent a request: the peer address, or the client a trusted proxy names.

``X-Forwarded-For`` is only believed when the peer is a proxy listed in
``[server] trusted_proxies``; anyone else could write any address into it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp.web_request import BaseRequest

__all__ = ["Network", "client_ip", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDR blocks (``"10.0.0.1"``, ``"10.0.0.0/8"``).

    Raises:
        ValueError: an entry is neither.
    """
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def client_ip(request: BaseRequest, trusted: tuple[Network, ...] = ()) -> str:
    """The client's address as plughost believes it.

    The peer address of the connection, unless that peer is a trusted proxy:
    then ``X-Forwarded-For`` is read from the right, skipping trusted proxies,
    and the first address not trusted is the client (each proxy appends the
    address it received the request from, so only the right end is vouched for).

    Example::

        client_ip(request, parse_networks(["127.0.0.1"]))
    """
    peer = request.remote or "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", ())
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
