"""Edges of the public-egress `except` lists (components/netblocks.py): each IP version on its own,
an extra block of either version, one inside a listed block and one outside every block."""

from __future__ import annotations

import ipaddress

import pytest

from components.netblocks import public_excepts

V4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
      "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
      "203.0.113.0/24", "224.0.0.0/3"]   # multicast and reserved collapse into one /3
V6 = ["::/127", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7",
      "fe80::/10", "ff00::/8"]          # the unspecified and the loopback address collapse into ::/127


def test_each_version_lists_its_own_blocks_collapsed() -> None:
    assert public_excepts(4) == V4
    assert public_excepts(6) == V6


@pytest.mark.parametrize("version", [4, 6])
def test_an_extra_block_inside_a_listed_one_changes_nothing(version: int) -> None:
    inside = "10.42.0.0/16" if version == 4 else "fd00:42::/48"
    assert public_excepts(version, [inside]) == public_excepts(version)


def test_an_extra_block_outside_every_listed_one_joins_its_own_version_only() -> None:
    v4, v6 = "8.8.8.0/24", "2600:1f18::/32"
    assert public_excepts(4, [v4, v6]) == sorted([*V4, v4], key=ipaddress.IPv4Network)
    assert public_excepts(6, [v4, v6]) == sorted([*V6, v6], key=ipaddress.IPv6Network)

