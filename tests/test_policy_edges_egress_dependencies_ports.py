"""egress-covers-dependencies (policy/egress_dependencies.py), in both shapes: what a `ports` entry
opens (NetworkPolicyPort: `port` to `endPort`, every port of its protocol without `port`) decides
whether DNS and a dependency are reached, at each end of a range."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.test_policy_edges_egress_dependencies_list import judged
from tests.test_policy_edges_egress_dependencies_rules import DB_BLOCKED, NO_DNS, changed, put, rule


def span(first: int, last: int, protocol: str = "TCP") -> dict[str, Any]:
    return {"protocol": protocol, "port": first, "endPort": last}


DNS_ENTRIES: list[tuple[str, list[dict[str, Any]], bool]] = [
    ("53-53", [span(53, 53, "UDP")], True),
    ("up to 53", [span(40, 53, "UDP")], True),
    ("from 53", [span(53, 60, "UDP")], True),
    ("from 54", [span(54, 60, "UDP")], False),
    ("up to 52", [span(40, 52, "UDP")], False),
    ("every UDP port (no port)", [{"protocol": "UDP"}], True),
    ("a named port", [{"protocol": "UDP", "port": "dns"}], False),
    ("a second entry reaches it", [span(54, 60, "UDP"), span(50, 53, "UDP")], True),
]


@pytest.mark.parametrize(("entries", "allows"), [e[1:] for e in DNS_ENTRIES], ids=[e[0] for e in DNS_ENTRIES])
def test_dns_is_allowed_by_an_entry_that_opens_53(analyzer: PolicyAnalyzer, dev: RunResult,
                                                  entries: list[dict[str, Any]], allows: bool) -> None:
    found = judged(analyzer, changed(dev, ("allow-dns", put(rule(), "ports", entries))))
    assert found == ([] if allows else [NO_DNS])


DB_ENTRIES: list[tuple[str, dict[str, Any], bool]] = [
    ("5432-5432", span(5432, 5432), True),
    ("up to 5432", span(5400, 5432), True),
    ("from 5432", span(5432, 5500), True),
    ("from 5433", span(5433, 5500), False),
    ("up to 5431", span(5400, 5431), False),
    ("every TCP port (no port)", {"protocol": "TCP"}, True),
]


@pytest.mark.parametrize(("entry", "allows"), [e[1:] for e in DB_ENTRIES], ids=[e[0] for e in DB_ENTRIES])
def test_the_database_is_reached_by_an_entry_that_opens_its_port(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                 entry: dict[str, Any], allows: bool) -> None:
    found = judged(analyzer, changed(dev, ("allow-postgres", put(rule(), "ports", [entry]))))
    assert found == ([] if allows else [DB_BLOCKED])
