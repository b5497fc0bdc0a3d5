"""secrets-wired and the gateway finder at preview, in both shapes: every unknown that decides a verdict (with the
resource the finding is attached to), and a gateway after one with an unknown config still judged."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from engine.records import ResourceRecord
from tests.policy_edges import attached, findings, messages, undecidable_at
from tests.policy_edges_wiring import (
    DEPLOYMENT,
    GW,
    TOKENS,
    WHY,
    edit,
    env_entry,
    from_secret,
    gateway_with,
    need,
    secret_with,
    unwired,
    vso,
    wired,
    with_includes,
)
from tests.test_policy import has_openclaw_json, object_name
from tests.test_policy import pod as _pod

# --- unknowns ----------------------------------------------------------------------------------------

def test_an_unknown_config_text(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = has_openclaw_json(dev)
    for change, path in ((lambda p: p["data"].__setitem__("openclaw.json", UNKNOWN), "data.openclaw.json"),):
        records = edit(dev.resources, "ConfigMap", config, change)
        assert wired(analyzer, records) == [undecidable_at(f"{DEPLOYMENT} openclaw.json", path, WHY)]


@pytest.mark.parametrize("field", ["namespace", "name", "data"])
def test_a_config_map_whose_identity_is_unknown(analyzer: PolicyAnalyzer, dev: RunResult, field: str) -> None:
    """It may be the gateway's config: every workload that mounts no known config is undecidable."""
    config = has_openclaw_json(dev)

    def change(props: dict[str, Any]) -> None:
        if field == "data":
            props["data"] = UNKNOWN
        else:
            props["metadata"][field] = UNKNOWN
    records = edit(dev.resources, "ConfigMap", config, change)
    where = {"namespace": f"ConfigMap (namespace unknown)/{config}", "name": "ConfigMap openclaw/(name unknown at "
             "preview)", "data": f"ConfigMap openclaw/{config}"}[field]
    path = {"namespace": "metadata.namespace", "name": "metadata.name", "data": "data"}[field]
    found = wired(analyzer, records)
    expected = undecidable_at(where, path, f"it decides whether {DEPLOYMENT} mounts it, and {WHY}")
    assert expected in found and set(found) == {expected}
    # once per config volume the Deployment mounts that names no known config
    assert len(found) == sum(1 for v in _pod(next(r.properties for r in records if r.properties.get("kind") ==
                                                  "Deployment"))["volumes"] if "configMap" in v)


def test_a_config_map_without_openclaw_json_is_not_a_candidate(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    other = next(object_name(r) for r in dev.resources if r.properties.get("kind") == "ConfigMap"
                 and "openclaw.json" not in r.properties.get("data", {}))
    records = edit(dev.resources, "ConfigMap", other, lambda p: p["metadata"].__setitem__("name", UNKNOWN))
    assert wired(analyzer, records) == []


@pytest.mark.parametrize("what", ["volumes", "volume", "name", "namespace"])
def test_an_unknown_mount_decides_whether_it_is_a_gateway(analyzer: PolicyAnalyzer, dev: RunResult,
                                                          what: str) -> None:
    def change(props: dict[str, Any]) -> None:
        volumes = _pod(props)["volumes"]
        index = next(i for i, v in enumerate(volumes) if v.get("name") == "config")
        if what == "volumes":
            _pod(props)["volumes"] = UNKNOWN
        elif what == "volume":
            volumes[index] = UNKNOWN
        elif what == "name":
            volumes[index]["configMap"]["name"] = UNKNOWN
        else:
            props["metadata"]["namespace"] = UNKNOWN
    records = gateway_with(dev, change)
    volumes = "spec.template.spec.volumes"
    path, where = {"volumes": (volumes, DEPLOYMENT), "volume": (f"{volumes}[3]", DEPLOYMENT),
                   "name": (f"{volumes}[3].configMap.name", DEPLOYMENT),
                   "namespace": ("metadata.namespace", "Deployment (namespace unknown)/openclaw")}[what]
    found = findings(analyzer, records, "secrets-wired")
    expected = ("secrets-wired", "mandatory",
                undecidable_at(where, path, f"it decides whether this workload mounts an openclaw.json, and {WHY}"))
    assert expected in found and {f[2] for f in found} <= {expected[2]} | {
        undecidable_at(where, f"{volumes}[{i}].configMap.name" if what != "namespace" else path,
                     f"it decides whether this workload mounts an openclaw.json, and {WHY}") for i in range(20)}
    assert {resource for resource, _ in attached(analyzer, records, "secrets-wired")} == {"openclaw-gateway-deployment"}


def test_two_unknown_mounts_are_each_undecidable(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        for v in _pod(props)["volumes"]:
            if v.get("name") in ("config", "preflight"):
                v["configMap"]["name"] = UNKNOWN
    found = wired(analyzer, gateway_with(dev, change))
    assert len(found) == 2 and all("configMap.name is unknown" in m for m in found)


def test_an_unknown_mount_without_any_config_is_no_gateway(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """No openclaw.json in the stack: a workload's unknown volume cannot be a gateway."""
    config = has_openclaw_json(dev)
    records = [r for r in gateway_with(dev, lambda p: _pod(p).__setitem__("volumes", UNKNOWN))
               if object_name(r) != config]
    assert wired(analyzer, records) == []


@pytest.mark.parametrize("what", ["containers", "container", "env", "entry", "name"])
def test_unknown_env_of_the_gateway(analyzer: PolicyAnalyzer, dev: RunResult, what: str) -> None:
    base = "spec.template.spec.containers"

    def change(props: dict[str, Any]) -> None:
        containers = _pod(props)["containers"]
        env = containers[0]["env"]
        index = next(i for i, e in enumerate(env) if e["name"] == "DEEPSEEK_API_KEY")
        if what == "containers":
            _pod(props)["containers"] = UNKNOWN
        elif what == "container":
            containers[0] = UNKNOWN
        elif what == "env":
            containers[0]["env"] = UNKNOWN
        elif what == "entry":
            env[index] = UNKNOWN
        else:
            env[index]["name"] = UNKNOWN
    found = wired(analyzer, gateway_with(dev, change))
    if what in ("containers", "container", "env"):
        at = f"{DEPLOYMENT} container '?'" if what != "env" else GW
        path = {"containers": base, "container": f"{base}[0]", "env": f"{base}[0].env"}[what]
        assert found == [undecidable_at(at, path, WHY)]
    else:
        path = f"{base}[0].env[6]" + (".name" if what == "name" else "")
        assert found == [undecidable_at(GW, path, "it could be DEEPSEEK_API_KEY, which openclaw.json needs")]


def test_unknown_env_with_nothing_needed_is_fine(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = gateway_with(dev, lambda p: _pod(p)["containers"][0].__setitem__("env", UNKNOWN),
                           config=lambda d: d.clear())
    assert wired(analyzer, records) == []


@pytest.mark.parametrize("what", ["ref", "name", "key"])
def test_an_unknown_secret_key_ref(analyzer: PolicyAnalyzer, dev: RunResult, what: str) -> None:
    ref: Any = {"name": TOKENS, "key": "DEEPSEEK_API_KEY"}
    if what == "ref":
        ref = UNKNOWN
    else:
        ref[what] = UNKNOWN
    found = wired(analyzer, gateway_with(dev, env_entry("DEEPSEEK_API_KEY", {"name": "DEEPSEEK_API_KEY",
                                                                     "valueFrom": {"secretKeyRef": ref}})))
    path = "spec.template.spec.containers[0].env[8].valueFrom.secretKeyRef" + ("" if what == "ref" else f".{what}")
    assert found == [undecidable_at(GW, path, "it decides where DEEPSEEK_API_KEY comes from")]


@pytest.mark.parametrize("field", ["namespace", "name"])
def test_a_secret_whose_identity_is_unknown(analyzer: PolicyAnalyzer, dev: RunResult, field: str) -> None:
    """It may be the secret a variable names that the stack does not otherwise provide."""
    entry = env_entry("DEEPSEEK_API_KEY", from_secret("DEEPSEEK_API_KEY", "fake-secret", "DEEPSEEK_API_KEY"))
    records = gateway_with(dev, entry)
    if field == "namespace":
        records = edit(records, "VaultStaticSecret", TOKENS, lambda p: p["metadata"].__setitem__("namespace", UNKNOWN))
        where, path = f"VaultStaticSecret (namespace unknown)/{TOKENS}", "metadata.namespace"
    else:
        records = edit(records, "VaultStaticSecret", TOKENS, lambda p: p["spec"]["destination"].__setitem__(
            "name", UNKNOWN))
        where, path = f"VaultStaticSecret openclaw/{TOKENS}", "spec.destination.name"
    found = wired(analyzer, records)
    assert undecidable_at(where, path, "it decides whether this is Secret 'fake-secret' that DEEPSEEK_API_KEY comes "
                        "from") in found
    assert all("comes from Secret 'fake-secret', which this stack neither" not in m for m in found)


@pytest.mark.parametrize("kind", ["includes", "include", "data", "stringData"])
def test_unknown_keys_of_a_source(analyzer: PolicyAnalyzer, dev: RunResult, kind: str) -> None:
    """A key the source may hold: undecidable, not refused; a key it surely holds is fine."""
    want = "DEEPSEEK_API_KEY2"
    records = gateway_with(dev, env_entry("DEEPSEEK_API_KEY", from_secret("DEEPSEEK_API_KEY", TOKENS, want)))
    if kind in ("includes", "include"):
        records = vso(with_includes(UNKNOWN if kind == "includes" else ["^TELEGRAM_BOT_TOKEN$", UNKNOWN]))(records)
        path = "spec.destination.transformation.includes" + ("" if kind == "includes" else "[1]")
        where = f"Secret '{TOKENS}' source"
    else:
        records = [r for r in records if object_name(r) != TOKENS or r.properties.get("kind") != "VaultStaticSecret"]
        known = {"DEEPSEEK_API_KEY": "ZmFrZQ==", "TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}
        records.append(secret_with(dev, TOKENS, data=UNKNOWN if kind == "data" else known,
                               string_data=UNKNOWN if kind == "stringData" else None))
        path, where = kind, f"Secret '{TOKENS}' source"
    found = wired(analyzer, records)
    expected = [undecidable_at(where, path, f"it decides whether key '{want}' (DEEPSEEK_API_KEY) will be there")]
    if kind in ("includes", "data"):  # no key is known: TELEGRAM_BOT_TOKEN's may not be there either
        expected.append(undecidable_at(where, path, "it decides whether key 'TELEGRAM_BOT_TOKEN' (TELEGRAM_BOT_TOKEN) "
                                     "will be there"))
    assert found == sorted(expected)


def test_a_container_after_one_with_unknown_env_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        _pod(props)["containers"][0]["env"] = UNKNOWN
        _pod(props)["containers"].append({"name": "side", "image": "docker.io/library/busybox:1.36"})
    found = wired(analyzer, gateway_with(dev, change, config=lambda d: d.__setitem__("x", "${FAKE_ONE}")))
    side = f"{DEPLOYMENT} container 'side'"
    assert undecidable_at(GW, "spec.template.spec.containers[0].env", WHY) in found
    assert unwired("FAKE_ONE", side) in found and unwired("OPENCLAW_GATEWAY_TOKEN", side) in found
    assert all(m.startswith(side) for m in found if not m.startswith("undecidable")) and len(found) > 3


def test_an_included_key_is_read_whole(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Only the anchors come off a pattern: XAI_API_KEY (xAI's key) keeps its leading X."""
    records = vso(with_includes(["^DEEPSEEK_API_KEY$", "^TELEGRAM_BOT_TOKEN$", "^XAI_API_KEY$"]))(gateway_with(
        dev, env_entry("XAI_API_KEY", from_secret("XAI_API_KEY", TOKENS, "XAI_API_KEY")), config=need("XAI_API_KEY")))
    assert wired(analyzer, records) == []


# --- several gateways --------------------------------------------------------------------------------

def _second_gateway(dev: RunResult, records: list[ResourceRecord], text: str) -> list[ResourceRecord]:
    """A second gateway after the first: Deployment `openclaw-b` mounting its own ConfigMap `config-b`."""
    config = has_openclaw_json(dev)
    deployment = next(r for r in records if r.properties.get("kind") == "Deployment" and object_name(r) == "openclaw")
    config_map = next(r for r in records if r.properties.get("kind") == "ConfigMap" and object_name(r) == config)
    props = copy.deepcopy(deployment.properties)
    props["metadata"]["name"] = "openclaw-b"
    for volume in _pod(props)["volumes"]:
        if volume.get("configMap", {}).get("name") == config:
            volume["configMap"]["name"] = "config-b"
    data = copy.deepcopy(config_map.properties)
    data["metadata"]["name"] = "config-b"
    data["data"]["openclaw.json"] = text
    return [*records,
            dataclasses.replace(deployment, name="gateway-b", urn=deployment.urn + "-b", properties=props),
            dataclasses.replace(config_map, name="config-b", urn=config_map.urn + "-b", properties=data)]


def test_a_gateway_after_one_with_an_unknown_config_is_still_judged(analyzer: PolicyAnalyzer,
                                                                    dev: RunResult) -> None:
    """The first gateway's openclaw.json is unknown at preview: that one is undecidable, and the
    second gateway, whose config references a variable it does not get, is still reported."""
    first = edit(dev.resources, "ConfigMap", has_openclaw_json(dev),
                  lambda p: p["data"].__setitem__("openclaw.json", UNKNOWN))
    records = _second_gateway(dev, first, json.dumps({"x": "${FAKE_ONLY_B}"}))
    found = messages(findings(analyzer, records, "secrets-wired"))
    assert sorted(found) == sorted([undecidable_at(f"{DEPLOYMENT} openclaw.json", "data.openclaw.json", WHY),
                                    unwired("FAKE_ONLY_B", "Deployment openclaw/openclaw-b container 'gateway'")])
    # and with the first one known and wired, only the second is reported
    known = _second_gateway(dev, dev.resources, json.dumps({"x": "${FAKE_ONLY_B}"}))
    assert messages(findings(analyzer, known, "secrets-wired")) == [
        unwired("FAKE_ONLY_B", "Deployment openclaw/openclaw-b container 'gateway'")]
