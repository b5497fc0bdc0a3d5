"""The two forms a secret takes in openclaw.json (policy/openclaw_secrets.py), read by secrets-wired at
their edges in both shapes: each `${VAR}` form just inside and just outside the placeholder syntax, each
SecretRef source and each way a SecretRef is malformed, wherever it sits in the document (top level,
inside objects and lists, beside other refs), and a variable named twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from tests.policy_edges import findings, messages
from tests.test_policy import has_openclaw_json, mutate

GW = "Deployment openclaw/openclaw container 'gateway'"


def _unwired(var: str) -> str:
    return (f"{GW}: openclaw.json references {var} (a ${{{var}}} placeholder or an env SecretRef) but the container "
            f"gets no {var} from a Secret (env valueFrom.secretKeyRef): the gateway refuses to start without it, "
            "or (placeholders from 2026.3.7) runs without the secret")


def _wired(analyzer: PolicyAnalyzer, dev: RunResult, extra: Any) -> list[str]:
    """secrets-wired's findings with `extra` under the key "x" of the rendered openclaw.json."""
    def change(props: dict[str, Any]) -> None:
        doc = json.loads(props["data"]["openclaw.json"])
        doc["x"] = extra
        props["data"]["openclaw.json"] = json.dumps(doc)
    return messages(findings(analyzer, mutate(dev, "ConfigMap", has_openclaw_json(dev), change), "secrets-wired"))


def _ref(source: str, var: str, provider: Any = "default") -> dict[str, Any]:
    return {"source": source, "provider": provider, "id": var}


def test_the_rendered_config_is_wired(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Its env SecretRefs (OPENCLAW_GATEWAY_TOKEN, TELEGRAM_BOT_TOKEN...) all reach the gateway."""
    assert _wired(analyzer, dev, {}) == []


@pytest.mark.parametrize(("text", "needed"), [
    ("${FAKE_VAR}", ["FAKE_VAR"]), ("${_FAKE}", ["_FAKE"]), ("${FAKE_1}", ["FAKE_1"]), ("${F}", ["F"]),
    ("x-${FAKE_A}-y ${FAKE_B}", ["FAKE_A", "FAKE_B"]), ("${FAKE_A}${FAKE_B}", ["FAKE_A", "FAKE_B"]),
    ("${fake_var}", []), ("${Fake}", []), ("${1FAKE}", []), ("$FAKE_VAR", []), ("${FAKE-VAR}", []), ("${}", []),
    ("{FAKE_VAR}", []), ("${FAKE_VAR", []), ("$ {FAKE_VAR}", []),
])
def test_each_placeholder_form(analyzer: PolicyAnalyzer, dev: RunResult, text: str, needed: list[str]) -> None:
    assert _wired(analyzer, dev, {"url": text}) == sorted(_unwired(v) for v in needed)


def test_a_placeholder_in_a_list_counts(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert _wired(analyzer, dev, {"a": ["b", "${FAKE_ITEM}"]}) == [_unwired("FAKE_ITEM")]


@pytest.mark.parametrize(("text", "needed"), [
    ("$${FAKE_LITERAL}", []), ("x $${FAKE_LITERAL} y", []), ("$$${FAKE_LITERAL}", []),
    ("$${FAKE_LITERAL}${FAKE_REAL}", ["FAKE_REAL"]), ("$ ${FAKE_REAL}", ["FAKE_REAL"]),
    ("$${fake}${FAKE_REAL}", ["FAKE_REAL"]), ("$${FAKE-X}${FAKE_REAL}", ["FAKE_REAL"]),
])
def test_an_escaped_placeholder_is_a_literal(analyzer: PolicyAnalyzer, dev: RunResult, text: str,
                                            needed: list[str]) -> None:
    """`$${VAR}` is OpenClaw's escape for a literal `${VAR}` (every release from 2026.2.23:
    src/config/env-substitution.ts `parseEnvTokenAt`): it needs no variable."""
    assert _wired(analyzer, dev, {"prompt": text}) == sorted(_unwired(v) for v in needed)


@pytest.mark.parametrize(("ref", "needed"), [
    (_ref("env", "FAKE_VAR"), ["FAKE_VAR"]), (_ref("env", "FAKE_VAR", provider=""), ["FAKE_VAR"]),
    (_ref("file", "FAKE_VAR"), []), (_ref("exec", "FAKE_VAR"), []),
    (_ref("vault", "FAKE_VAR"), []), (_ref("ENV", "FAKE_VAR"), []), (_ref("env", ""), []),
    (_ref("env", "FAKE_VAR", provider=None), []), (_ref("env", "FAKE_VAR", provider=1), []),
    ({"source": "env", "provider": "default", "id": 7}, []), ({"source": "env", "id": "FAKE_VAR"}, []),
    ({"source": "env", "provider": "default"}, []), ({"provider": "default", "id": "FAKE_VAR"}, []),
    (_ref("env", "FAKE_VAR") | {"extra": "x"}, []), (["env", "default", "FAKE_VAR"], []),
])
def test_each_secret_ref_form(analyzer: PolicyAnalyzer, dev: RunResult, ref: Any, needed: list[str]) -> None:
    """An env SecretRef names a variable; another source, or an object that is not a SecretRef, names none."""
    assert _wired(analyzer, dev, {"apiKey": ref}) == sorted(_unwired(v) for v in needed)


def test_env_refs_anywhere_in_the_document(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """Top level, in an object, in a list, in a list of lists, beside a file ref and a malformed one,
    inside an object that only looks like a ref: each is found on its own."""
    extra = [
        _ref("env", "FAKE_IN_LIST"),
        [[_ref("env", "FAKE_DEEP")]],
        {"a": _ref("file", "/run/secret"), "b": _ref("env", "FAKE_AFTER_FILE")},
        {"a": _ref("vault", "FAKE_NOT"), "b": {"c": _ref("env", "FAKE_NESTED")}},
        {"source": "env", "provider": "default", "id": "FAKE_NOT2", "inner": _ref("env", "FAKE_IN_NON_REF")},
    ]
    assert _wired(analyzer, dev, extra) == sorted(_unwired(v) for v in (
        "FAKE_IN_LIST", "FAKE_DEEP", "FAKE_AFTER_FILE", "FAKE_NESTED", "FAKE_IN_NON_REF"))


def test_a_ref_at_the_top_of_the_document(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    def change(props: dict[str, Any]) -> None:
        props["data"]["openclaw.json"] = json.dumps(_ref("env", "FAKE_TOP"))
    records = mutate(dev, "ConfigMap", has_openclaw_json(dev), change)
    assert messages(findings(analyzer, records, "secrets-wired")) == [_unwired("FAKE_TOP")]


def test_a_variable_named_twice_is_one_finding(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    extra = {"a": "${FAKE_TWICE}", "b": _ref("env", "FAKE_TWICE"), "c": [_ref("env", "FAKE_TWICE"), "${FAKE_TWICE}"]}
    assert _wired(analyzer, dev, extra) == [_unwired("FAKE_TWICE")]


def test_a_wired_variable_in_either_form(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The gateway gets DEEPSEEK_API_KEY from a Secret: a placeholder or a ref to it needs nothing more."""
    assert _wired(analyzer, dev, {"a": "${DEEPSEEK_API_KEY}", "b": _ref("env", "DEEPSEEK_API_KEY")}) == []
