"""What the edge tests of secrets-wired and the gateway finder (tests/test_policy_edges_cross_resource*.py) share:
the gateway and its config changed in place, env entries and secret sources, and the messages a user reads."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.records import ResourceRecord
from tests.policy_edges import attached, findings, messages
from tests.test_policy import has_openclaw_json, object_name
from tests.test_policy import pod as _pod

GW = "Deployment openclaw/openclaw container 'gateway'"
DEPLOYMENT = "Deployment openclaw/openclaw"
WHY = "every variable it references (${VAR} or env SecretRef) must reach the gateway from a Secret"
TOKENS = "openclaw-token-secrets"  # the VaultStaticSecret DEEPSEEK_API_KEY and TELEGRAM_BOT_TOKEN come from
Change = Callable[[dict[str, Any]], None]


def unwired(var: str, at: str = GW) -> str:
    return (f"{at}: openclaw.json references {var} (a ${{{var}}} placeholder or an env SecretRef) but the container "
            f"gets no {var} from a Secret (env valueFrom.secretKeyRef): the gateway refuses to start without it, "
            "or (placeholders from 2026.3.7) runs without the secret")


def edit(records: list[ResourceRecord], kind: str, name: str | None, change: Change) -> list[ResourceRecord]:
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


def gateway_with(dev: RunResult, *changes: Change, config: Change | None = None,
             records: list[ResourceRecord] | None = None) -> list[ResourceRecord]:
    """The stack with the Deployment changed, and openclaw.json's document changed by `config`."""
    def deployment(props: dict[str, Any]) -> None:
        for change in changes:
            change(props)
    out = edit(records or dev.resources, "Deployment", "openclaw", deployment)
    if config is not None:
        def edit_json(props: dict[str, Any]) -> None:
            doc = json.loads(props["data"]["openclaw.json"])
            config(doc)
            props["data"]["openclaw.json"] = json.dumps(doc)
        out = edit(out, "ConfigMap", has_openclaw_json(dev), edit_json)
    return out


def need(*variables: str) -> Change:
    """openclaw.json references these variables (as placeholders)."""
    return lambda doc: doc.__setitem__("x", [f"${{{v}}}" for v in variables])


def env_entry(name: str, entry: Any, container: int = 0) -> Change:
    """Set (or with None, drop) the gateway's env var `name`; an entry dict is the whole env item."""
    def change(props: dict[str, Any]) -> None:
        env = _pod(props)["containers"][container].setdefault("env", [])
        env[:] = [e for e in env if e.get("name") != name]
        if entry is not None:
            env.append(entry)
    return change


def from_secret(name: str, secret: Any, key: Any) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def secret_with(dev: RunResult, name: str, namespace: Any = "openclaw", data: Any = None,
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


def wired(analyzer: PolicyAnalyzer, records: list[ResourceRecord]) -> list[str]:
    """secrets-wired's messages; each is shown under the workload it is about (the one Deployment)."""
    found = messages(findings(analyzer, records, "secrets-wired"))
    assert attached(analyzer, records, "secrets-wired") == [("openclaw-gateway-deployment", m) for m in found]
    return found


def vso(change: Change) -> Callable[[list[ResourceRecord]], list[ResourceRecord]]:
    return lambda records: edit(records, "VaultStaticSecret", TOKENS, change)


def with_includes(value: Any) -> Change:
    def change(props: dict[str, Any]) -> None:
        destination = props["spec"]["destination"]
        if value is None:
            destination.pop("transformation")
        else:
            destination["transformation"]["includes"] = value
    return change
