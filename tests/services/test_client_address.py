"""common.client_address: the one rule for who is calling (per-address limits, HTTP and websockets)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from common.client_address import address_bucket, client_address


def request(remote="198.51.100.1", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def scope(client=("198.51.100.1", 5000), forwarded=None):
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"type": "websocket", "client": client, "headers": headers}


@pytest.mark.parametrize("make", [request, scope])
def test_without_trusted_proxies_the_header_is_ignored(make, settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(make(forwarded="203.0.113.7")) == "198.51.100.1"


@pytest.mark.parametrize("make", [request, scope])
def test_behind_trusted_proxies_the_first_untrusted_hop_from_the_right(make, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    peer = "10.1.2.3" if make is request else ("10.1.2.3", 5000)
    # The client forged the leftmost entry; its real address is what the first proxy appended.
    assert client_address(make(peer, forwarded="1.1.1.1, 203.0.113.7, 192.0.2.1")) == "203.0.113.7"
    assert client_address(make(peer, forwarded="10.9.9.9")) == "10.9.9.9"  # all trusted: the leftmost
    assert client_address(make(peer, forwarded="junk, 203.0.113.7")) == "203.0.113.7"
    assert client_address(make(peer, forwarded="203.0.113.7, junk")) == "10.1.2.3"  # nothing past junk
    # A peer that is not a trusted proxy: its header is not believed.
    assert client_address(make("198.51.100.9" if make is request else ("198.51.100.9", 1),
                               forwarded="203.0.113.7")) == "198.51.100.9"


def test_unknown_and_odd_peers():
    assert client_address(scope(client=None)) == "unknown"
    assert client_address(request(remote="")) == "unknown"
    assert client_address(request(remote="::ffff:198.51.100.4")) == "198.51.100.4"
    assert client_address(scope(client=("2001:db8::1", 1))) == "2001:db8::1"


def test_limits_count_ipv6_by_its_64_network():
    assert address_bucket("2001:db8:1:2:aaaa::1") == address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_bucket("198.51.100.4") == "198.51.100.4"
    assert address_bucket("unknown") == "unknown"
