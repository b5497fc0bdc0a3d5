"""Address blocks that are not the public internet, for the public-egress `except` lists.

The lists follow the IANA special-purpose registries; tests check each against Python's
`ipaddress` so a block that is actually public cannot slip in, and none that is not is missed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

NON_PUBLIC_IPV4: tuple[str, ...] = (
    "0.0.0.0/8",        # "this network"
    "10.0.0.0/8",       # RFC 1918 (k3s pod and service CIDRs live here)
    "100.64.0.0/10",    # CGNAT, Tailscale tailnet
    "127.0.0.0/8",      # loopback
    "169.254.0.0/16",   # link-local, cloud metadata endpoints
    "172.16.0.0/12",    # RFC 1918
    "192.0.0.0/24",     # IETF protocol assignments
    "192.0.2.0/24",     # TEST-NET-1
    "192.88.99.0/24",   # deprecated 6to4 relay anycast
    "192.168.0.0/16",   # RFC 1918
    "198.18.0.0/15",    # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",   # TEST-NET-3
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, broadcast
)

NON_PUBLIC_IPV6: tuple[str, ...] = (
    "::/128",           # unspecified
    "::1/128",          # loopback
    "::ffff:0:0/96",    # IPv4-mapped: would bypass the IPv4 excepts
    "64:ff9b:1::/48",   # local-use NAT64
    "100::/64",         # discard-only
    "2001::/23",        # IETF protocol assignments
    "2001:db8::/32",    # documentation
    "fc00::/7",         # unique local
    "fe80::/10",        # link-local
    "ff00::/8",         # multicast
)


def public_excepts(version: int, extra: Iterable[str] = ()) -> list[str]:
    """The collapsed non-public blocks of one IP version, plus cluster CIDRs outside them."""
    base = NON_PUBLIC_IPV4 if version == 4 else NON_PUBLIC_IPV6
    nets = [ipaddress.ip_network(n) for n in (*base, *extra)]
    if version == 4:
        return [str(n) for n in ipaddress.collapse_addresses(
            n for n in nets if isinstance(n, ipaddress.IPv4Network))]
    return [str(n) for n in ipaddress.collapse_addresses(
        n for n in nets if isinstance(n, ipaddress.IPv6Network))]
