"""The secret policies (policy/secret_policies.py, policy/openclaw_secrets.py) at their edges, in both
shapes: each secret-like env name and each container on its own, each credential shape just inside
and just outside its pattern, each secret field of openclaw.json, each SecretRef source.
Every value here is made up (zeros and repeated letters): shaped like a credential, never one."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages, undecidable
from tests.test_policy import has_openclaw_json, mutate, openclaw_json

GATEWAY_CONTAINERS = ["state-guard", "seed", "plugins", "migrate", "preflight", "gateway"]
DEPLOYMENT = "Deployment openclaw/openclaw"


def _env(container: str, name: str, value: Any) -> Any:
    def apply(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        (found,) = [c for c in pod["initContainers"] + pod["containers"] if c["name"] == container]
        found.setdefault("env", []).append({"name": name, "value": value} if value is not None else {"name": name})
    return apply


def _label(container: str) -> str:
    return f"container '{container}'" if container == "gateway" else f"init container '{container}'"


@pytest.mark.parametrize("container", GATEWAY_CONTAINERS)
def test_a_literal_secret_env_in_each_container(analyzer: PolicyAnalyzer, dev: RunResult, container: str) -> None:
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", _env(container, "BOT_TOKEN", "fake-not-a-secret")),
                     "no-literal-secret-env")
    assert found == [("no-literal-secret-env", "mandatory", f"{DEPLOYMENT} {_label(container)}: env BOT_TOKEN has a "
                      "literal value: take it from a Secret with valueFrom.secretKeyRef")]


ENV_NAMES = {"GITHUB_TOKEN": True, "CLIENT_SECRET": True, "DB_PASSWORD": True, "SMTP_PASSWD": True,
             "OPENAI_API_KEY": True, "OPENAI_APIKEY": True, "SSH_PRIVATE_KEY": True, "SSH_PRIVATEKEY": True,
             "GCP_CREDENTIAL": True, "db_password": True,
             "LOG_LEVEL": False, "API_URL": False, "PUBLIC_KEY": False, "PRIVATE_DIR": False, "PASS": False}


def test_which_env_names_are_secrets(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Each name in an env entry of its own: exactly the secret-like ones are reported."""
    def change(props: dict[str, Any]) -> None:
        for name in ENV_NAMES:
            _env("gateway", name, "fake-not-a-secret")(props)

    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "no-literal-secret-env")
    assert sorted(m.split(": ")[1] for m in messages(found)) == sorted(
        f"env {name} has a literal value" for name, secret in ENV_NAMES.items() if secret)


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_or_absent_value_is_no_literal(analyzer: PolicyAnalyzer, dev: RunResult, value: str | None) -> None:
    assert findings(analyzer, mutate(dev, "Deployment", "openclaw", _env("seed", "BOT_TOKEN", value)),
                    "no-literal-secret-env") == []


OPENAI = "OpenAI/DeepSeek-style API key"
# (value, the shapes it has); each shape once just inside, once just outside its pattern.
SHAPES: list[tuple[str, set[str]]] = [
    ("sk-" + "0" * 20, {OPENAI}), ("sk-" + "0" * 19, set()), ("xsk-" + "0" * 20, set()),
    ("sk-ant-" + "0" * 20, {OPENAI, "Anthropic API key"}), ("sk-ant-" + "0" * 19, {OPENAI}),
    ("AIza" + "0" * 35, {"Google API key"}), ("AIza" + "0" * 34, set()), ("AIza" + "0" * 36, set()),
    ("12345678:" + "A" * 35, {"Telegram bot token"}), ("1234567890:" + "A" * 35, {"Telegram bot token"}),
    ("1234567:" + "A" * 35, set()), ("12345678901:" + "A" * 35, set()), ("12345678:" + "A" * 34, set()),
    ("AKIA" + "0" * 16, {"AWS access key"}), ("AKIA" + "0" * 15, set()), ("AKIA" + "a" * 16, set()),
    ("ghp_" + "0" * 36, {"GitHub token"}), ("gho_" + "0" * 36, {"GitHub token"}), ("ghu_" + "0" * 36, {"GitHub token"}),
    ("ghs_" + "0" * 36, {"GitHub token"}), ("ghr_" + "0" * 36, {"GitHub token"}), ("ghx_" + "0" * 36, set()),
    ("ghp_" + "0" * 35, set()),
    ("-----BEGIN RSA PRIVATE KEY-----", {"private key"}), ("-----BEGIN PRIVATE KEY-----", {"private key"}),
    ("-----BEGIN PUBLIC KEY-----", set()),
    ("eyJ" + "0" * 10 + "." + "0" * 10 + "." + "0" * 10, {"JSON web token"}),
    ("eyJ" + "0" * 10 + "." + "0" * 10 + "." + "0" * 9, set()),
    ("nothing like a credential", set()),
]


def test_each_credential_shape_in_a_configmap(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Each value under a key of its own: exactly its shapes are reported, once each."""
    keys = {f"v{i}": value for i, (value, _) in enumerate(SHAPES)}
    records = mutate(dev, "ConfigMap", None, lambda p: p["data"].update(keys))
    found: dict[str, list[str]] = {}
    for message in messages(findings(analyzer, records, "no-secret-in-configmap")):
        key = message.split(" key '")[1].split("'")[0]
        found.setdefault(key, []).append(message.split("looks like a ")[1].split(": move it")[0])
    assert found == {f"v{i}": sorted(shapes) for i, (_, shapes) in enumerate(SHAPES) if shapes}
    assert all(sorted(labels) == labels for labels in found.values())


def test_extra_patterns(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = {"no-secret-in-configmap": {"enforcementLevel": "mandatory", "extraPatterns": [r"corp-[0-9]{6}\b"]}}
    records = mutate(dev, "ConfigMap", None, lambda p: p["data"].__setitem__("notes.txt", "id corp-000000"))
    assert [m.split("looks like a ")[1] for m in messages(findings(analyzer, records, "no-secret-in-configmap",
                                                                   config))] == [
        "pattern 'corp-[0-9]{6}\\\\b': move it to a Secret (Vault) and reference it as ${VAR} or secretKeyRef"]
    records = mutate(dev, "ConfigMap", None, lambda p: p["data"].__setitem__("notes.txt", "id corp-00000"))
    assert findings(analyzer, records, "no-secret-in-configmap", config) == []


def _json_findings(analyzer: PolicyAnalyzer, dev: RunResult, change: Any) -> list[str]:
    records = mutate(dev, "ConfigMap", has_openclaw_json(dev), openclaw_json(change))
    return messages(findings(analyzer, records, "openclaw-json-placeholders"))


def _inline(dev: RunResult, path: str) -> str:
    return (f"ConfigMap openclaw/{has_openclaw_json(dev)} openclaw.json: {path} must be a ${{VAR}} placeholder "
            'or a SecretRef ({"source": "env", "provider": "default", "id": "VAR"}) filled from a Secret, '
            "not an inline value")


SECRET_FIELDS = ["apiKey", "botToken", "token", "password", "secret", "webhookSecret"]
VALUES: list[tuple[Any, bool]] = [
    ("${VAR}", False), ("${_VAR_1}", False), ("${var}", True), ("x${VAR}", True), ("${VAR}x", True), ("${1VAR}", True),
    ("fake-not-a-secret", True), (0, True), (None, True),
    ({"source": "env", "provider": "default", "id": "VAR"}, False),
    ({"source": "file", "provider": "default", "id": "/run/x"}, False),
    ({"source": "exec", "provider": "default", "id": "x"}, False),
    ({"source": "vault", "provider": "default", "id": "VAR"}, True),
    ({"source": "env", "provider": "default", "id": ""}, True),
    ({"source": "env", "provider": 1, "id": "VAR"}, True),
    ({"source": "env", "provider": "default", "id": 1}, True),
    ({"source": "env", "provider": "default", "id": "VAR", "extra": "x"}, True),
]


def test_each_secret_field_of_openclaw_json(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Each secret field with each value, in an account of its own (a list inside an object)."""
    cases = [(field, value, inline) for field in SECRET_FIELDS for value, inline in VALUES]

    def change(doc: dict[str, Any]) -> None:
        doc["x"] = {"accounts": [{"name": "a", field: value} for field, value, _ in cases]}

    found = _json_findings(analyzer, dev, change)
    assert sorted(found) == sorted(_inline(dev, f"x.accounts[{i}].{field}")
                                   for i, (field, _, inline) in enumerate(cases) if inline)


def test_a_field_named_like_no_secret_is_not_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    change = lambda d: d.__setitem__("x", {"apiKeys": "a", "tokens": "b", "Token": "c"})  # noqa: E731
    assert _json_findings(analyzer, dev, change) == []


def test_a_top_level_secret_field(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = _json_findings(analyzer, dev, lambda d: d.__setitem__("token", "fake-not-a-secret"))
    assert found == [_inline(dev, "token")]


def test_openclaw_json_that_is_not_json(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "ConfigMap", has_openclaw_json(dev), lambda p: p["data"].__setitem__("openclaw.json", "{x"))
    found = messages(findings(analyzer, records, "openclaw-json-placeholders"))
    assert len(found) == 1 and found[0].startswith(
        f"ConfigMap openclaw/{has_openclaw_json(dev)} openclaw.json: not valid JSON (")
    assert found[0].endswith("); the policy cannot check its secret fields")


def _gateway(props: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = props["spec"]["template"]["spec"]["containers"][0]
    return container


GW = f"{DEPLOYMENT} container 'gateway' spec.template.spec.containers[0]"
NAME_DECIDES = "the env var has a literal value and its name decides whether that is a secret"


@pytest.mark.parametrize(("change", "expected"), [
    (lambda p: _gateway(p).__setitem__("env", UNKNOWN),
     [undecidable(f"{GW}.env", "a literal secret could be among its env vars")]),
    (lambda p: p["spec"]["template"]["spec"]["containers"].__setitem__(0, UNKNOWN),
     [undecidable(f"{DEPLOYMENT} container '?' spec.template.spec.containers[0]",
                   "a literal secret could be among its env vars")]),
    (lambda p: _gateway(p)["env"].append(UNKNOWN), [undecidable(f"{GW}.env[9]", NAME_DECIDES)]),
    (lambda p: _gateway(p)["env"].append({"name": UNKNOWN, "value": "x"}),
     [undecidable(f"{GW}.env[9].name", NAME_DECIDES)]),
    (lambda p: _gateway(p)["env"].append({"name": UNKNOWN, "value": ""}), []),     # no literal, whatever its name
    (lambda p: _gateway(p)["env"].append({"name": "X_TOKEN", "value": UNKNOWN}),  # computed, still a literal
     [f"{DEPLOYMENT} container 'gateway': env X_TOKEN has a literal value: take it from a Secret with "
      "valueFrom.secretKeyRef"]),
], ids=["env", "container", "entry", "name", "name, empty value", "value"])
def test_unknown_env(analyzer: PolicyAnalyzer, dev: RunResult, change: Any, expected: list[str]) -> None:
    assert len(_gateway(dev.find("Deployment", "openclaw").properties)["env"]) == 9
    assert messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "no-literal-secret-env")) == \
        expected


@pytest.mark.parametrize(("change", "expected"), [
    (lambda p: p.__setitem__("data", UNKNOWN), [
        ("no-secret-in-configmap", "data", "a credential could be in it"),
        ("openclaw-json-placeholders", "data", "an openclaw.json with inline secrets could be in it")]),
    (lambda p: p["data"].__setitem__("openclaw.json", UNKNOWN), [
        ("no-secret-in-configmap", "data.openclaw.json", "a credential could be in it"),
        ("openclaw-json-placeholders", "openclaw.json data.openclaw.json",
         "its secret fields must be ${VAR} placeholders")]),
], ids=["data", "openclaw.json"])
def test_unknown_configmap_data(analyzer: PolicyAnalyzer, dev: RunResult, change: Any,
                                expected: list[tuple[str, str, str]]) -> None:
    name = has_openclaw_json(dev)
    found = findings(analyzer, mutate(dev, "ConfigMap", name, change),
                     {"no-secret-in-configmap", "openclaw-json-placeholders"})
    assert [(p, m) for p, _, m in found] == [(p, undecidable(f"ConfigMap openclaw/{name} {where}", why))
                                             for p, where, why in expected]


def test_a_list_under_a_secret_field_is_searched_not_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """A list is no secret value itself (OpenClaw's secret fields are strings or SecretRefs): the
    objects in it are searched like any other."""
    def change(doc: dict[str, Any]) -> None:
        doc["x"] = {"token": ["${A}", {"apiKey": "fake-not-a-secret"}, {"apiKey": "${B}"}]}

    assert _json_findings(analyzer, dev, change) == [_inline(dev, "x.token[1].apiKey")]


def test_a_container_after_one_with_unknown_env_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod["initContainers"][0]["env"] = UNKNOWN
        _env("gateway", "BOT_TOKEN", "fake-not-a-secret")(props)

    assert messages(findings(analyzer, mutate(dev, "Deployment", "openclaw", change), "no-literal-secret-env")) == [
        f"{DEPLOYMENT} container 'gateway': env BOT_TOKEN has a literal value: take it from a Secret with "
        "valueFrom.secretKeyRef",
        undecidable(f"{DEPLOYMENT} init container 'state-guard' spec.template.spec.initContainers[0].env",
                     "a literal secret could be among its env vars")]


def test_a_key_after_an_unknown_one_is_still_searched(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "ConfigMap", None, lambda p: p.__setitem__("data", {"a": UNKNOWN, "b": "sk-" + "0" * 20}))
    name = next(r for r in records if r.properties.get("data", {}).get("a") == UNKNOWN).properties["metadata"]["name"]
    assert messages(findings(analyzer, records, "no-secret-in-configmap")) == [
        f"ConfigMap openclaw/{name} key 'b' contains what looks like a {OPENAI}: move it to a Secret (Vault) and "
        "reference it as ${VAR} or secretKeyRef",
        undecidable(f"ConfigMap openclaw/{name} data.a", "a credential could be in it")]


def test_an_openclaw_json_that_is_a_list_is_searched_from_its_root(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "ConfigMap", has_openclaw_json(dev), lambda p: p["data"].__setitem__(
        "openclaw.json", '[{"token": "fake-not-a-secret"}]'))
    assert messages(findings(analyzer, records, "openclaw-json-placeholders")) == [_inline(dev, "[0].token")]
