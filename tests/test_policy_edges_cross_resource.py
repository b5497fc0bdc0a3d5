"""secrets-wired and the gateway finder (policy/cross_resource.py) at their edges, in both shapes: each
way a variable reaches (or misses) the gateway, each kind of secret source and its keys, the namespace
and name that match a secret or a config just inside and just outside, objects in any order, and the whole
message. Unknowns and several gateways: test_policy_edges_cross_resource_unknowns.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.policy_edges import attached, findings
from tests.policy_edges_wiring import (
    DEPLOYMENT,
    GW,
    TOKENS,
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

# --- the rendered stacks ---------------------------------------------------------------------------

def test_the_rendered_stacks_are_wired(analyzer: PolicyAnalyzer, dev: RunResult, prod: RunResult) -> None:
    """Every gateway policy starts from the gateways found here; the egress policy matches their labels."""
    policies = {"secrets-wired", "egress-covers-dependencies"}
    assert findings(analyzer, dev.resources, policies) == []
    assert findings(analyzer, prod.resources, policies, stack="prod") == []


# --- a variable reaching the gateway ---------------------------------------------------------------

def test_a_variable_missing_from_the_env(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = gateway_with(dev, config=need("FAKE_MISSING"))
    assert findings(analyzer, records, "secrets-wired") == [("secrets-wired", "mandatory", unwired("FAKE_MISSING"))]
    assert attached(analyzer, records, "secrets-wired") == [("openclaw-gateway-deployment", unwired("FAKE_MISSING"))]


@pytest.mark.parametrize("entry", [
    {"name": "DEEPSEEK_API_KEY", "value": "fake-not-a-secret"}, {"name": "DEEPSEEK_API_KEY"},
    {"name": "DEEPSEEK_API_KEY", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}])
def test_a_variable_not_from_a_secret(analyzer: PolicyAnalyzer, dev: RunResult, entry: dict[str, Any]) -> None:
    records = gateway_with(dev, env_entry("DEEPSEEK_API_KEY", entry))
    assert wired(analyzer, records) == [unwired("DEEPSEEK_API_KEY")]


def test_each_container_of_the_gateway_pod_needs_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A second regular container gets nothing: it is named; init containers are not judged."""
    def sidecar(props: dict[str, Any]) -> None:
        _pod(props)["containers"].append({"name": "side", "image": "docker.io/library/busybox:1.36"})
    found = wired(analyzer, gateway_with(dev, sidecar))
    needed = ["OPENCLAW_GATEWAY_TOKEN", "TELEGRAM_BOT_TOKEN"]  # the rendered config's env SecretRefs
    side = f"{DEPLOYMENT} container 'side'"
    assert [m for m in found if m.startswith(side + ":")] == found
    assert {m.split(" references ")[1].split(" ")[0] for m in found} >= set(needed)
    nameless = wired(analyzer, gateway_with(dev, lambda p: _pod(p)["containers"].append({"image": "x"}),
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
    entry = env_entry("DEEPSEEK_API_KEY", from_secret("DEEPSEEK_API_KEY", secret, key))
    found = wired(analyzer, gateway_with(dev, entry))
    holds = {TOKENS: "['DEEPSEEK_API_KEY', 'TELEGRAM_BOT_TOKEN']",
             "openclaw-secrets": "['OPENCLAW_DB_PASSWORD', 'OPENCLAW_GATEWAY_TOKEN']"}
    expected = {None: [],
                "key": [f"{GW}: DEEPSEEK_API_KEY reads key '{key}' of Secret '{secret}', which will only hold "
                        f"{holds.get(secret)}: add the key to the secret's source"],
                "secret": [f"{GW}: DEEPSEEK_API_KEY comes from Secret '{secret}', which this stack neither creates nor "
                           "syncs from Vault: add it (VaultStaticSecret or Secret)"]}
    assert found == expected[problem]


# --- the secret sources ----------------------------------------------------------------------------

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
    found = wired(analyzer, vso(with_includes(includes))(dev.resources))
    missing = [] if holds is None else ["DEEPSEEK_API_KEY"] + (["TELEGRAM_BOT_TOKEN"] if includes == [] else [])
    assert found == [f"{GW}: {var} reads key '{var}' of Secret '{TOKENS}', which will only hold {holds}: add the key "
                     "to the secret's source" for var in missing]


@pytest.mark.parametrize(("data", "string_data", "holds_both"), [
    ({"DEEPSEEK_API_KEY": "ZmFrZQ==", "TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}, None, True),
    (None, {"DEEPSEEK_API_KEY": "fake-not-a-secret", "TELEGRAM_BOT_TOKEN": "fake-not-a-secret"}, True),
    ({"DEEPSEEK_API_KEY": "ZmFrZQ=="}, {"TELEGRAM_BOT_TOKEN": "fake-not-a-secret"}, True),
    ({"TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}, None, False),
    (None, {"TELEGRAM_BOT_TOKEN": "fake-not-a-secret"}, False),
])
def test_a_plain_secret_holds_its_data_and_string_data_keys(analyzer: PolicyAnalyzer, dev: RunResult, data: Any,
                                                            string_data: Any, holds_both: bool) -> None:
    records = [r for r in dev.resources if object_name(r) != TOKENS or r.properties.get("kind") != "VaultStaticSecret"]
    records.append(secret_with(dev, TOKENS, data=data, string_data=string_data))
    keys = sorted({*(data or {}), *(string_data or {})})
    assert wired(analyzer, records) == ([] if holds_both else [
        f"{GW}: DEEPSEEK_API_KEY reads key 'DEEPSEEK_API_KEY' of Secret '{TOKENS}', which will only hold {keys}: "
        "add the key to the secret's source"])


@pytest.mark.parametrize("namespace", ["default", None])
def test_a_secret_in_another_namespace_is_not_the_one(analyzer: PolicyAnalyzer, dev: RunResult,
                                                      namespace: str | None) -> None:
    records = [r for r in dev.resources if object_name(r) != TOKENS or r.properties.get("kind") != "VaultStaticSecret"]
    records.append(secret_with(dev, TOKENS, namespace=namespace, data={"DEEPSEEK_API_KEY": "ZmFrZQ==",
                                                                 "TELEGRAM_BOT_TOKEN": "ZmFrZQ=="}))
    assert wired(analyzer, records) == [
        f"{GW}: {var} comes from Secret '{TOKENS}', which this stack neither creates nor syncs from Vault: add it "
        "(VaultStaticSecret or Secret)" for var in ("DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN")]


def test_objects_in_any_order(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The config ConfigMap after the others, the config volume after the others, the Deployment first:
    the same verdict."""
    def config_last(props: dict[str, Any]) -> None:
        volumes = _pod(props)["volumes"]
        volumes.sort(key=lambda v: v.get("name") == "config")
    records = gateway_with(dev, config_last, config=need("FAKE_MISSING"))
    config = has_openclaw_json(dev)
    deployment = [r for r in records if r.properties.get("kind") == "Deployment"]
    ordered = deployment + [r for r in records if r not in deployment and object_name(r) != config] + [
        r for r in records if object_name(r) == config]
    assert wired(analyzer, ordered) == [unwired("FAKE_MISSING")]


def test_a_namespace_left_out_on_both_sides_still_matches(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A ConfigMap and a workload with no namespace go to the same one: the config is found."""
    def no_ns(props: dict[str, Any]) -> None:
        props["metadata"].pop("namespace")
    records = edit(gateway_with(dev, no_ns, config=need("FAKE_MISSING")), "ConfigMap", has_openclaw_json(dev), no_ns)
    assert unwired("FAKE_MISSING", "Deployment openclaw container 'gateway'") in wired(analyzer, records)
    other = edit(gateway_with(dev, config=need("FAKE_MISSING")), "ConfigMap", has_openclaw_json(dev),
                  lambda p: p["metadata"].__setitem__("namespace", "other"))
    assert wired(analyzer, other) == []


def test_a_config_that_is_not_json_is_read_for_placeholders(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """OpenClaw reads JSON5; a text json.loads refuses still names its `${VAR}` placeholders."""
    records = edit(dev.resources, "ConfigMap", has_openclaw_json(dev), lambda p: p["data"].__setitem__(
        "openclaw.json", "{ // json5\n gateway: { auth: { token: '${FAKE_TOKEN}' } }, }"))
    assert wired(analyzer, records) == [unwired("FAKE_TOKEN")]
    listed = edit(dev.resources, "ConfigMap", has_openclaw_json(dev), lambda p: p["data"].__setitem__(
        "openclaw.json", json.dumps([{"source": "env", "provider": "default", "id": "FAKE_IN_LIST"}])))
    assert wired(analyzer, listed) == []  # not an object: no config, nothing referenced
