"""Who is calling, by network address: the one rule for every per-address limit.

``client_address(request_or_scope)`` takes a Django request (``META``) or an ASGI scope (a websocket's
``client`` and ``headers``). The peer's address is the client, unless the peer is one of
``settings.TRUSTED_PROXIES`` (addresses or networks, e.g. ``10.0.0.0/8``): then ``X-Forwarded-For`` is
read from the right, skipping trusted proxies, and the first address that is not one is the client
(a client cannot forge the entries its proxies append). With no trusted proxies (the default) the
header is ignored: anyone could send it.

``address_bucket(address)`` is what limits count by: an IPv4 address itself, an IPv6 address's /64
network (one subscriber usually holds a whole /64).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]):
    networks = []
    for entry in entries:
        entry = entry.strip()
        if entry:
            networks.append(ipaddress.ip_network(entry, strict=False))
    return tuple(networks)


def _parse(value) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str):
        return None
    if len(value) > 64:  # no address is this long: not kept (the cache holds short texts only)
        return _parse_text.__wrapped__(value)
    return _parse_text(value)


@lru_cache(maxsize=4096)  # a caller's address is read several times per request (budgets, limits, logs)
def _parse_text(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _peer_and_forwarded(request_or_scope) -> tuple[str | None, str | None]:
    meta = getattr(request_or_scope, "META", None)
    if meta is not None:
        return meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR")
    scope = request_or_scope if isinstance(request_or_scope, dict) else {}
    client = scope.get("client")
    peer = client[0] if client else None
    forwarded = []
    for name, value in scope.get("headers") or ():
        if name.lower() == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
    return peer, ",".join(forwarded) or None


def client_address(request_or_scope) -> str:
    """The caller's IP address as text (``"unknown"`` when the server cannot tell)."""
    peer_text, forwarded = _peer_and_forwarded(request_or_scope)
    peer = _parse(peer_text)
    if peer is None:
        return UNKNOWN
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    if not networks or not forwarded or not _trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(forwarded.split(",")):
        address = _parse(hop)
        if address is None:
            break  # a malformed entry: trust nothing left of it
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def address_bucket(address: str) -> str:
    """What per-address limits count by: IPv4 as is, IPv6 by its /64 network."""
    parsed = _parse(address)
    if parsed is None:
        return UNKNOWN
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
