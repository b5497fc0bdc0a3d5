"""secrets-wired and the gateway finder (policy/cross_resource.py) at their edges, in both shapes: each
way a variable reaches (or misses) the gateway, each kind of secret source and its keys, the namespace
and name that match a secret or a config just inside and just outside, objects in any order, every
unknown that decides a verdict (with the resource the finding is attached to), and the whole message."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from engine.records import ResourceRecord
from tests.policy_edges import attached, findings, messages, undecidable
from tests.test_policy import has_openclaw_json, object_name
from tests.test_policy import pod as _pod

GW = "Deployment openclaw/openclaw container 'gateway'"
DEPLOYMENT = "Deployment openclaw/openclaw"
WHY = "every variable it references (${VAR} or env SecretRef) must reach the gateway from a Secret"
TOKENS = "openclaw-token-secrets"  # the VaultStaticSecret DEEPSEEK_API_KEY and TELEGRAM_BOT_TOKEN come from
Change = Callable[[dict[str, Any]], None]


def _undecidable(where: str, path: str, why: str) -> str:
    return undecidable(f"{where} {path}", why)


def _unwired(var: str, at: str = GW) -> str:
    return (f"{at}: openclaw.json references {var} (a ${{{var}}} placeholder or an env SecretRef) but the container "
            f"gets no {var} from a Secret (env valueFrom.secretKeyRef): the gateway refuses to start without it, "
            "or (placeholders from 2026.3.7) runs without the secret")


def _edit(records: list[ResourceRecord], kind: str, name: str | None, change: Change) -> list[ResourceRecord]:
    out, hit = [], False
    for r in records:
        if r.properties.get("kind") == kind and (name is None or object_name(r) == name) and not hit:
            hit = True
            props = copy.deepcopy(r.properties)
            change(props)
            r = dataclasses.replace(r, properties=props)
        out.append(r)
    assert hit, (kind, name)
    return out


def _gateway(dev: RunResult, *changes: Change, config: Change | None = None,
             records: list[ResourceRecord] | None = None) -> list[ResourceRecord]:
    """The stack with the Deployment changed, and openclaw.json's document changed by `config`."""
    def deployment(props: dict[str, Any]) -> None:
        for change in changes:
            change(props)
    out = _edit(records or dev.resources, "Deployment", "openclaw", deployment)
    if config is not None:
        def edit_json(props: dict[str, Any]) -> None:
            doc = json.loads(props["data"]["openclaw.json"])
            config(doc)
            props["data"]["openclaw.json"] = json.dumps(doc)
        out = _edit(out, "ConfigMap", has_openclaw_json(dev), edit_json)
    return out


def _need(*variables: str) -> Change:
    """openclaw.json references these variables (as placeholders)."""
    return lambda doc: doc.__setitem__("x", [f"${{{v}}}" for v in variables])


def _env(name: str, entry: Any, container: int = 0) -> Change:
    """Set (or with None, drop) the gateway's env var `name`; an entry dict is the whole env item."""
    def change(props: dict[str, Any]) -> None:
        env = _pod(props)["containers"][container].setdefault("env", [])
        env[:] = [e for e in env if e.get("name") != name]
        if entry is not None:
            env.append(entry)
    return change


def _from(name: str, secret: Any, key: Any) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _secret(dev: RunResult, name: str, namespace: Any = "openclaw", data: Any = None,
            string_data: Any = None) -> ResourceRecord:
    """A plain Secret the stack creates (keys only; values made up)."""
    template = next(r for r in dev.resources if r.properties.get("kind") == "VaultStaticSecret")
    meta: dict[str, Any] = {"name": name} | ({} if namespace is None else {"namespace": namespace})
    props: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    if data is not None:
        props["data"] = data
    if string_data is not None:
        props["stringData"] = string_data
    urn = template.urn.rsplit("::", 1)[0].rsplit("$", 1)[0] + f"$kubernetes:core/v1:Secret::{name}"
    return dataclasses.replace(template, type="kubernetes:core/v1:Secret", name=f"secret-{name}", urn=urn,
                               properties=props)


def _wired(analyzer: PolicyAnalyzer, records: list[ResourceRecord]) -> list[str]:
    """secrets-wired's messages; each is shown under the workload it is about (the one Deployment)."""
    found = messages(findings(analyzer, records, "secrets-wired"))
    assert attached(analyzer, records, "secrets-wired") == [("openclaw-gateway-deployment", m) for m in found]
    return found


# --- the rendered stacks ---------------------------------------------------------------------------

def test_the_rendered_stacks_are_wired(analyzer: PolicyAnalyzer, dev: RunResult, prod: RunResult) -> None:
    """Every gateway policy starts from the gateways found here; the egress policy matches their labels."""
    policies = {"secrets-wired", "egress-covers-dependencies"}
    assert findings(analyzer, dev.resources, policies) == []
    assert findings(analyzer, prod.resources, policies, stack="prod") == []


# --- a variable reaching the gateway ---------------------------------------------------------------

def test_a_variable_missing_from_the_env(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = _gateway(dev, config=_need("FAKE_MISSING"))
    assert findings(analyzer, records, "secrets-wired") == [("secrets-wired", "mandatory", _unwired("FAKE_MISSING"))]
    assert attached(analyzer, records, "secrets-wired") == [("openclaw-gateway-deployment", _unwired("FAKE_MISSING"))]


@pytest.mark.parametrize("entry", [
    {"name": "DEEPSEEK_API_KEY", "value": "fake-not-a-secret"}, {"name": "DEEPSEEK_API_KEY"},
    {"name": "DEEPSEEK_API_KEY", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}])
def test_a_variable_not_from_a_secret(analyzer: PolicyAnalyzer, dev: RunResult, entry: dict[str, Any]) -> None:
    records = _gateway(dev, _env("DEEPSEEK_API_KEY", entry))
    assert _wired(analyzer, records) == [_unwired("DEEPSEEK_API_KEY")]


def test_each_container_of_the_gateway_pod_needs_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A second regular container gets nothing: it is named; init containers are not judged."""
    def sidecar(props: dict[str, Any]) -> None:
        _pod(props)["containers"].append({"name": "side", "image": "docker.io/library/busybox:1.36"})
    found = _wired(analyzer, _gateway(dev, sidecar))
    needed = ["OPENCLAW_GATEWAY_TOKEN", "TELEGRAM_BOT_TOKEN"]  # the rendered config's env SecretRefs
    side = f"{DEPLOYMENT} container 'side'"
    assert [m for m in found if m.startswith(side + ":")] == found
    assert {m.split(" references ")[1].split(" ")[0] for m in found} >= set(needed)
    nameless = _wired(analyzer, _gateway(dev, lambda p: _pod(p)["containers"].append({"image": "x"}),
                                         config=lambda d: d.clear()))
    assert nameless == []


@pytest.mark.parametrize(("secret", "key", "problem"), [
    (TOKENS, "DEEPSEEK_API_KEY", None),
    (TOKENS, "TELEGRAM_BOT_TOKEN", None),            # another key the secret holds: the variable takes it
    (TOKENS, "DEEPSEEK_API_KEY2", "key"), (TOKENS, "deepseek_api_key", "key"), (TOKENS, "", "key"),
    ("openclaw-secrets", "DEEPSEEK_API_KEY", "key"),
    ("openclaw-token-secrets2", "DEEPSEEK_API_KEY", "secret"), ("", "DEEPSEEK_API_KEY", "secret"),
])
def test_which_secret_and_key(analyzer: PolicyAnalyzer, dev: RunResult, secret: str, key: str,
                              problem: str | None) -> None:
    found = _wired(analyzer, _gateway(dev, _env("DEEPSEEK_API_KEY", _from("DEEPSEEK_API_KEY", secret, key))))
    holds = {TOKENS: "['DEEPSEEK_API_KEY', 'TELEGRAM_BOT_TOKEN']",
             "openclaw-secrets": "['OPENCLAW_DB_PASSWORD', 'OPENCLAW_GATEWAY_TOKEN']"}
    expected = {None: [],
                "key": [f"{GW}: DEEPSEEK_API_KEY reads key '{key}' of Secret '{secret}', which will only hold "
                        f"{holds.get(secret)}: add the key to the secret's source"],
                "secret": [f"{GW}: DEEPSEEK_API_KEY comes from Secret '{secret}', which this stack neither creates nor "
                           "syncs from Vault: add it (VaultStaticSecret or Secret)"]}
    assert found == expected[problem]


# --- the secret sources ----------------------------------------------------------------------------

def _vso(change: Change) -> Callable[[list[ResourceRecord]], list[ResourceRecord]]:
    return lambda records: _edit(records, "VaultStaticSecret", TOKENS, change)


def _includes(value: Any) -> Change:
    def change(props: dict[str, Any]) -> None:
        destination = props["spec"]["destination"]
        if value is None:
            destination.pop("transformation")
        else:
            destination["transformation"]["includes"] = value
    return change


@pytest.mark.parametrize(("includes", "holds"), [
    (None, None),                                                     # no includes: every key of the path
    (["^DEEPSEEK_API_KEY$", "^TELEGRAM_BOT_TOKEN$"], None),
    (["DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN"], None),
    (["^TELEGRAM_BOT_TOKEN$"], "['TELEGRAM_BOT_TOKEN']"),
    (["^DEEPSEEK_API_KEY2$", "^TELEGRAM_BOT_TOKEN$"], "['DEEPSEEK_API_KEY2', 'TELEGRAM_BOT_TOKEN']"),
    (["^DEEPSEEK\\_API\\_KEY$", "^TELEGRAM_BOT_TOKEN$"], None),
    ([], "[]"),                                                       # includes nothing: no key at all
])
def test_a_vault_static_secret_holds_the_keys_it_includes(analyzer: PolicyAnalyzer, dev: RunResult, includes: Any,
                                                          holds: str | None) -> None:
    found = _wired(analyzer, _vso(_includes(includes))(dev.resources))
    missing = [] if holds is None else ["DEEPSEEK_API_KEY"] + (["TELEGRAM_BOT_TOKEN"] if includes == [] else [])
    assert found == [f"{GW}: {var} reads key '{var}' of Secret '{TOKENS}', which will only hold {holds}: add the key "
                     "to the secret's source" for var in missing]


@pytest.mark.parametrize(("data", "string_data", "wired"), [
    ({"DEEPSEEK_API_KEY": "ZmFrZQ==", "TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}, None, True),
    (None, {"DEEPSEEK_API_KEY": "fake-not-a-secret", "TELEGRAM_BOT_TOKEN": "fake-not-a-secret"}, True),
    ({"DEEPSEEK_API_KEY": "ZmFrZQ=="}, {"TELEGRAM_BOT_TOKEN": "fake-not-a-secret"}, True),
    ({"TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}, None, False),
    (None, {"TELEGRAM_BOT_TOKEN": "fake-not-a-secret"}, False),
])
def test_a_plain_secret_holds_its_data_and_string_data_keys(analyzer: PolicyAnalyzer, dev: RunResult, data: Any,
                                                            string_data: Any, wired: bool) -> None:
    records = [r for r in dev.resources if object_name(r) != TOKENS or r.properties.get("kind") != "VaultStaticSecret"]
    records.append(_secret(dev, TOKENS, data=data, string_data=string_data))
    keys = sorted({*(data or {}), *(string_data or {})})
    assert _wired(analyzer, records) == ([] if wired else [
        f"{GW}: DEEPSEEK_API_KEY reads key 'DEEPSEEK_API_KEY' of Secret '{TOKENS}', which will only hold {keys}: "
        "add the key to the secret's source"])


@pytest.mark.parametrize("namespace", ["default", None])
def test_a_secret_in_another_namespace_is_not_the_one(analyzer: PolicyAnalyzer, dev: RunResult,
                                                      namespace: str | None) -> None:
    records = [r for r in dev.resources if object_name(r) != TOKENS or r.properties.get("kind") != "VaultStaticSecret"]
    records.append(_secret(dev, TOKENS, namespace=namespace, data={"DEEPSEEK_API_KEY": "ZmFrZQ==",
                                                                 "TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}))
    assert _wired(analyzer, records) == [
        f"{GW}: {var} comes from Secret '{TOKENS}', which this stack neither creates nor syncs from Vault: add it "
        "(VaultStaticSecret or Secret)" for var in ("DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN")]


def test_objects_in_any_order(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The config ConfigMap after the others, the config volume after the others, the Deployment first:
    the same verdict."""
    def config_last(props: dict[str, Any]) -> None:
        volumes = _pod(props)["volumes"]
        volumes.sort(key=lambda v: v.get("name") == "config")
    records = _gateway(dev, config_last, config=_need("FAKE_MISSING"))
    config = has_openclaw_json(dev)
    deployment = [r for r in records if r.properties.get("kind") == "Deployment"]
    ordered = deployment + [r for r in records if r not in deployment and object_name(r) != config] + [
        r for r in records if object_name(r) == config]
    assert _wired(analyzer, ordered) == [_unwired("FAKE_MISSING")]


def test_a_namespace_left_out_on_both_sides_still_matches(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A ConfigMap and a workload with no namespace go to the same one: the config is found."""
    def no_ns(props: dict[str, Any]) -> None:
        props["metadata"].pop("namespace")
    records = _edit(_gateway(dev, no_ns, config=_need("FAKE_MISSING")), "ConfigMap", has_openclaw_json(dev), no_ns)
    assert _unwired("FAKE_MISSING", "Deployment openclaw container 'gateway'") in _wired(analyzer, records)
    other = _edit(_gateway(dev, config=_need("FAKE_MISSING")), "ConfigMap", has_openclaw_json(dev),
                  lambda p: p["metadata"].__setitem__("namespace", "other"))
    assert _wired(analyzer, other) == []


def test_a_config_that_is_not_json_is_read_for_placeholders(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """OpenClaw reads JSON5; a text json.loads refuses still names its `${VAR}` placeholders."""
    records = _edit(dev.resources, "ConfigMap", has_openclaw_json(dev), lambda p: p["data"].__setitem__(
        "openclaw.json", "{ // json5\n gateway: { auth: { token: '${FAKE_TOKEN}' } }, }"))
    assert _wired(analyzer, records) == [_unwired("FAKE_TOKEN")]
    listed = _edit(dev.resources, "ConfigMap", has_openclaw_json(dev), lambda p: p["data"].__setitem__(
        "openclaw.json", json.dumps([{"source": "env", "provider": "default", "id": "FAKE_IN_LIST"}])))
    assert _wired(analyzer, listed) == []  # not an object: no config, nothing referenced


# --- unknowns ----------------------------------------------------------------------------------------

def test_an_unknown_config_text(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = has_openclaw_json(dev)
    for change, path in ((lambda p: p["data"].__setitem__("openclaw.json", UNKNOWN), "data.openclaw.json"),):
        records = _edit(dev.resources, "ConfigMap", config, change)
        assert _wired(analyzer, records) == [_undecidable(f"{DEPLOYMENT} openclaw.json", path, WHY)]


@pytest.mark.parametrize("field", ["namespace", "name", "data"])
def test_a_config_map_whose_identity_is_unknown(analyzer: PolicyAnalyzer, dev: RunResult, field: str) -> None:
    """It may be the gateway's config: every workload that mounts no known config is undecidable."""
    config = has_openclaw_json(dev)

    def change(props: dict[str, Any]) -> None:
        if field == "data":
            props["data"] = UNKNOWN
        else:
            props["metadata"][field] = UNKNOWN
    records = _edit(dev.resources, "ConfigMap", config, change)
    where = {"namespace": f"ConfigMap (namespace unknown)/{config}", "name": "ConfigMap openclaw/(name unknown at "
             "preview)", "data": f"ConfigMap openclaw/{config}"}[field]
    path = {"namespace": "metadata.namespace", "name": "metadata.name", "data": "data"}[field]
    found = _wired(analyzer, records)
    expected = _undecidable(where, path, f"it decides whether {DEPLOYMENT} mounts it, and {WHY}")
    assert expected in found and set(found) == {expected}
    # once per config volume the Deployment mounts that names no known config
    assert len(found) == sum(1 for v in _pod(next(r.properties for r in records if r.properties.get("kind") ==
                                                  "Deployment"))["volumes"] if "configMap" in v)


def test_a_config_map_without_openclaw_json_is_not_a_candidate(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    other = next(object_name(r) for r in dev.resources if r.properties.get("kind") == "ConfigMap"
                 and "openclaw.json" not in r.properties.get("data", {}))
    records = _edit(dev.resources, "ConfigMap", other, lambda p: p["metadata"].__setitem__("name", UNKNOWN))
    assert _wired(analyzer, records) == []


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
    records = _gateway(dev, change)
    volumes = "spec.template.spec.volumes"
    path, where = {"volumes": (volumes, DEPLOYMENT), "volume": (f"{volumes}[3]", DEPLOYMENT),
                   "name": (f"{volumes}[3].configMap.name", DEPLOYMENT),
                   "namespace": ("metadata.namespace", "Deployment (namespace unknown)/openclaw")}[what]
    found = findings(analyzer, records, "secrets-wired")
    expected = ("secrets-wired", "mandatory",
                _undecidable(where, path, f"it decides whether this workload mounts an openclaw.json, and {WHY}"))
    assert expected in found and {f[2] for f in found} <= {expected[2]} | {
        _undecidable(where, f"{volumes}[{i}].configMap.name" if what != "namespace" else path,
                     f"it decides whether this workload mounts an openclaw.json, and {WHY}") for i in range(20)}
    assert {resource for resource, _ in attached(analyzer, records, "secrets-wired")} == {"openclaw-gateway-deployment"}


def test_two_unknown_mounts_are_each_undecidable(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        for v in _pod(props)["volumes"]:
            if v.get("name") in ("config", "preflight"):
                v["configMap"]["name"] = UNKNOWN
    found = _wired(analyzer, _gateway(dev, change))
    assert len(found) == 2 and all("configMap.name is unknown" in m for m in found)


def test_an_unknown_mount_without_any_config_is_no_gateway(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """No openclaw.json in the stack: a workload's unknown volume cannot be a gateway."""
    config = has_openclaw_json(dev)
    records = [r for r in _gateway(dev, lambda p: _pod(p).__setitem__("volumes", UNKNOWN))
               if object_name(r) != config]
    assert _wired(analyzer, records) == []


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
    found = _wired(analyzer, _gateway(dev, change))
    if what in ("containers", "container", "env"):
        at = f"{DEPLOYMENT} container '?'" if what != "env" else GW
        path = {"containers": base, "container": f"{base}[0]", "env": f"{base}[0].env"}[what]
        assert found == [_undecidable(at, path, WHY)]
    else:
        path = f"{base}[0].env[6]" + (".name" if what == "name" else "")
        assert found == [_undecidable(GW, path, "it could be DEEPSEEK_API_KEY, which openclaw.json needs")]


def test_unknown_env_with_nothing_needed_is_fine(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = _gateway(dev, lambda p: _pod(p)["containers"][0].__setitem__("env", UNKNOWN), config=lambda d: d.clear())
    assert _wired(analyzer, records) == []


@pytest.mark.parametrize("what", ["ref", "name", "key"])
def test_an_unknown_secret_key_ref(analyzer: PolicyAnalyzer, dev: RunResult, what: str) -> None:
    ref: Any = {"name": TOKENS, "key": "DEEPSEEK_API_KEY"}
    if what == "ref":
        ref = UNKNOWN
    else:
        ref[what] = UNKNOWN
    found = _wired(analyzer, _gateway(dev, _env("DEEPSEEK_API_KEY", {"name": "DEEPSEEK_API_KEY",
                                                                     "valueFrom": {"secretKeyRef": ref}})))
    path = "spec.template.spec.containers[0].env[8].valueFrom.secretKeyRef" + ("" if what == "ref" else f".{what}")
    assert found == [_undecidable(GW, path, "it decides where DEEPSEEK_API_KEY comes from")]


@pytest.mark.parametrize("field", ["namespace", "name"])
def test_a_secret_whose_identity_is_unknown(analyzer: PolicyAnalyzer, dev: RunResult, field: str) -> None:
    """It may be the secret a variable names that the stack does not otherwise provide."""
    records = _gateway(dev, _env("DEEPSEEK_API_KEY", _from("DEEPSEEK_API_KEY", "fake-secret", "DEEPSEEK_API_KEY")))
    if field == "namespace":
        records = _edit(records, "VaultStaticSecret", TOKENS, lambda p: p["metadata"].__setitem__("namespace", UNKNOWN))
        where, path = f"VaultStaticSecret (namespace unknown)/{TOKENS}", "metadata.namespace"
    else:
        records = _edit(records, "VaultStaticSecret", TOKENS, lambda p: p["spec"]["destination"].__setitem__(
            "name", UNKNOWN))
        where, path = f"VaultStaticSecret openclaw/{TOKENS}", "spec.destination.name"
    found = _wired(analyzer, records)
    assert _undecidable(where, path, "it decides whether this is Secret 'fake-secret' that DEEPSEEK_API_KEY comes "
                        "from") in found
    assert all("comes from Secret 'fake-secret', which this stack neither" not in m for m in found)


@pytest.mark.parametrize("kind", ["includes", "include", "data", "stringData"])
def test_unknown_keys_of_a_source(analyzer: PolicyAnalyzer, dev: RunResult, kind: str) -> None:
    """A key the source may hold: undecidable, not refused; a key it surely holds is fine."""
    want = "DEEPSEEK_API_KEY2"
    records = _gateway(dev, _env("DEEPSEEK_API_KEY", _from("DEEPSEEK_API_KEY", TOKENS, want)))
    if kind in ("includes", "include"):
        records = _vso(_includes(UNKNOWN if kind == "includes" else ["^TELEGRAM_BOT_TOKEN$", UNKNOWN]))(records)
        path = "spec.destination.transformation.includes" + ("" if kind == "includes" else "[1]")
        where = f"Secret '{TOKENS}' source"
    else:
        records = [r for r in records if object_name(r) != TOKENS or r.properties.get("kind") != "VaultStaticSecret"]
        known = {"DEEPSEEK_API_KEY": "ZmFrZQ==", "TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}
        records.append(_secret(dev, TOKENS, data=UNKNOWN if kind == "data" else known,
                               string_data=UNKNOWN if kind == "stringData" else None))
        path, where = kind, f"Secret '{TOKENS}' source"
    found = _wired(analyzer, records)
    expected = [_undecidable(where, path, f"it decides whether key '{want}' (DEEPSEEK_API_KEY) will be there")]
    if kind in ("includes", "data"):  # no key is known: TELEGRAM_BOT_TOKEN's may not be there either
        expected.append(_undecidable(where, path, "it decides whether key 'TELEGRAM_BOT_TOKEN' (TELEGRAM_BOT_TOKEN) "
                                     "will be there"))
    assert found == sorted(expected)


def test_a_container_after_one_with_unknown_env_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        _pod(props)["containers"][0]["env"] = UNKNOWN
        _pod(props)["containers"].append({"name": "side", "image": "docker.io/library/busybox:1.36"})
    found = _wired(analyzer, _gateway(dev, change, config=lambda d: d.__setitem__("x", "${FAKE_ONE}")))
    side = f"{DEPLOYMENT} container 'side'"
    assert _undecidable(GW, "spec.template.spec.containers[0].env", WHY) in found
    assert _unwired("FAKE_ONE", side) in found and _unwired("OPENCLAW_GATEWAY_TOKEN", side) in found
    assert all(m.startswith(side) for m in found if not m.startswith("undecidable")) and len(found) > 3


def test_an_included_key_is_read_whole(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Only the anchors come off a pattern: XAI_API_KEY (xAI's key) keeps its leading X."""
    records = _vso(_includes(["^DEEPSEEK_API_KEY$", "^TELEGRAM_BOT_TOKEN$", "^XAI_API_KEY$"]))(_gateway(
        dev, _env("XAI_API_KEY", _from("XAI_API_KEY", TOKENS, "XAI_API_KEY")), config=_need("XAI_API_KEY")))
    assert _wired(analyzer, records) == []


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
    first = _edit(dev.resources, "ConfigMap", has_openclaw_json(dev),
                  lambda p: p["data"].__setitem__("openclaw.json", UNKNOWN))
    records = _second_gateway(dev, first, json.dumps({"x": "${FAKE_ONLY_B}"}))
    found = messages(findings(analyzer, records, "secrets-wired"))
    assert sorted(found) == sorted([_undecidable(f"{DEPLOYMENT} openclaw.json", "data.openclaw.json", WHY),
                                    _unwired("FAKE_ONLY_B", "Deployment openclaw/openclaw-b container 'gateway'")])
    # and with the first one known and wired, only the second is reported
    known = _second_gateway(dev, dev.resources, json.dumps({"x": "${FAKE_ONLY_B}"}))
    assert messages(findings(analyzer, known, "secrets-wired")) == [
        _unwired("FAKE_ONLY_B", "Deployment openclaw/openclaw-b container 'gateway'")]
