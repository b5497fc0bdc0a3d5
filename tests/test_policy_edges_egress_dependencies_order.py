"""egress-covers-dependencies (policy/egress_dependencies.py) at its edges, in both shapes: what comes
first in the stack hides nothing after it (a gateway without destinations, a list the pod does not
mount)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.test_policy_edges_egress_dependencies_list import GW, KEY, PUBLIC, blocked, judged, list_map, only, with_list


@pytest.mark.parametrize(("case", "change"), [
    ("an empty list", only()),
    ("a malformed list", only({"name": "db"})),
    ("no list", None),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_gateway_after_one_without_destinations_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                  case: str, change: Any) -> None:
    """A second gateway with a list of its own, after the first: its blocked destination is reported."""
    first = list_map(dev.resources)
    own = json.loads(first.properties["data"][KEY])
    own["dependencies"] = [{"name": "web", "host": "example.com", "port": 80}]
    own_map = dataclasses.replace(first, name=f"{first.name}-b", urn=f"{first.urn}-b", properties={
        **first.properties, "metadata": {**first.properties["metadata"], "name": "own-list"},
        "data": {**first.properties["data"], KEY: json.dumps(own)}})
    gateway = next(r for r in dev.resources if r.properties.get("kind") == "Deployment")

    def second(props: dict[str, Any]) -> dict[str, Any]:
        props["metadata"]["name"] = "openclaw-b"
        for volume in props["spec"]["template"]["spec"]["volumes"]:
            if volume.get("configMap", {}).get("name") == first.properties["metadata"]["name"]:
                volume["configMap"]["name"] = "own-list"
        return props

    records = dev.resources if change is None else with_list(dev, change)
    if change is None:
        records = [r for r in records if r is not first]
    records = [*records, own_map, dataclasses.replace(gateway, name=f"{gateway.name}-b", urn=f"{gateway.urn}-b",
                                                      properties=second(json.loads(json.dumps(gateway.properties))))]
    found = judged(analyzer, records)
    assert [m for m in found if "openclaw-b" in m] == [
        blocked("web", "example.com", 80, f"add a {PUBLIC} on TCP 80").replace(GW, "Deployment openclaw/openclaw-b")]
    assert len(found) == (1 if case == "an empty list" else 2)


@pytest.mark.parametrize(("case", "change"), [
    ("another namespace", lambda p: p["metadata"].__setitem__("namespace", "other")),
    ("a name the pod does not mount", lambda p: p["metadata"].__setitem__("name", "other")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_list_the_pod_does_not_mount_before_its_own_is_ignored(analyzer: PolicyAnalyzer, dev: RunResult, case: str,
                                                                  change: Callable[[dict[str, Any]], Any]) -> None:
    """A stray list first in the stack, with a destination nothing allows: the pod's own list decides."""
    known = list_map(dev.resources)
    props = json.loads(json.dumps(known.properties))
    change(props)
    props["data"][KEY] = json.dumps({"dependencies": [{"name": "web", "host": "example.com", "port": 80}]})
    stray = dataclasses.replace(known, name=f"{known.name}-stray", urn=f"{known.urn}-stray", properties=props)
    assert judged(analyzer, [stray, *dev.resources]) == []
