"""Secrets: never a literal secret in an env var, a ConfigMap or openclaw.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from k8s import CONFIG_MAP, MANDATORY, Field, containers, describe, pod_spec, schema, undecidable
from openclaw_secrets import PLACEHOLDER, is_secret_ref
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.IGNORECASE)
# Shapes of real credentials: provider API keys, Telegram bot tokens, cloud keys, private keys, JWTs.
SECRET_VALUE_PATTERNS = {
    "OpenAI/DeepSeek-style API key": r"\bsk-[A-Za-z0-9_-]{20,}",
    "Anthropic API key": r"\bsk-ant-[A-Za-z0-9_-]{20,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}\b",
    "Telegram bot token": r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b",
    "AWS access key": r"\bAKIA[0-9A-Z]{16}\b",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "JSON web token": r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
}
SECRET_FIELDS = {"apiKey", "botToken", "token", "password", "secret", "webhookSecret"}


def _literal_env(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    name = describe(args.resource_type, args.props)
    for where, container in containers(spec):
        env = container if container.unknown else container["env"]
        if env.unknown:
            undecidable(report, f"{name} {where}", env, "a literal secret could be among its env vars")
            continue
        for entry in env.items():
            var = entry if entry.unknown else entry["name"]
            value = entry if entry.unknown else entry["value"]
            if not value.unknown and value.value in (None, ""):
                continue  # no literal: valueFrom, or empty
            if var.unknown:
                undecidable(report, f"{name} {where}", var, "the env var has a literal value and its name "
                            "decides whether that is a secret")
            elif SECRET_NAME.search(var.text() or ""):
                report(f"{name} {where}: env {var.text()} has a literal value: take it from a Secret with "
                       "valueFrom.secretKeyRef", None)


no_literal_secret_env = ResourceValidationPolicy(
    name="no-literal-secret-env",
    description="Env vars named like tokens, keys, passwords or secrets come from a Secret, never a literal.",
    enforcement_level=MANDATORY,
    validate=_literal_env,
)


def _configmap_data(args: ResourceValidationArgs) -> list[tuple[str, Field]]:
    """(key, value) of a ConfigMap's `data`; a whole unknown `data` is one entry with key ''."""
    if args.resource_type != CONFIG_MAP:
        return []
    data = Field.root(args.props)["data"]
    return [("", data)] if data.unknown else data.entries()


def _no_secret_in_configmap(args: ResourceValidationArgs, report: ReportViolation) -> None:
    extra = args.get_config()["extraPatterns"]
    patterns = {**SECRET_VALUE_PATTERNS, **{f"pattern {p!r}": p for p in extra}}
    where = describe(args.resource_type, args.props)
    for key, value in _configmap_data(args):
        if value.unknown:
            undecidable(report, where, value, "a credential could be in it")
            continue
        text = value.text() or ""
        for label, pattern in patterns.items():
            if re.search(pattern, text):
                report(f"{where} key '{key}' contains what looks like a "
                       f"{label}: move it to a Secret (Vault) and reference it as ${{VAR}} or secretKeyRef", None)


no_secret_in_configmap = ResourceValidationPolicy(
    name="no-secret-in-configmap",
    description="No ConfigMap holds a value shaped like a credential (API keys, bot tokens, private keys).",
    enforcement_level=MANDATORY,
    config_schema=schema({"extraPatterns": {"type": "array", "items": {"type": "string"}, "default": []}}),
    validate=_no_secret_in_configmap,
)


def _secret_fields(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key in SECRET_FIELDS and not is_secret_ref(value) and not isinstance(value, list):
                yield here, value
            elif not is_secret_ref(value):
                yield from _secret_fields(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _secret_fields(value, f"{path}[{i}]")


def _openclaw_placeholders(args: ResourceValidationArgs, report: ReportViolation) -> None:
    value = dict(_configmap_data(args)).get("openclaw.json")
    if value is None:
        data = dict(_configmap_data(args)).get("")
        if data is not None:  # the whole data is unknown: openclaw.json may be in it
            undecidable(report, describe(args.resource_type, args.props), data,
                        "an openclaw.json with inline secrets could be in it")
        return
    where = f"{describe(args.resource_type, args.props)} openclaw.json"
    if value.unknown:
        undecidable(report, where, value, "its secret fields must be ${VAR} placeholders")
        return
    try:
        doc = json.loads(value.text() or "")
    except json.JSONDecodeError as exc:
        report(f"{where}: not valid JSON ({exc}); the policy cannot check its secret fields", None)
        return
    for path, field_value in _secret_fields(doc, ""):
        if not (isinstance(field_value, str) and PLACEHOLDER.match(field_value)):
            report(f"{where}: {path} must be a ${{VAR}} placeholder or a SecretRef "
                   '({"source": "env", "provider": "default", "id": "VAR"}) filled from a Secret, not an inline value',
                   None)


openclaw_json_placeholders = ResourceValidationPolicy(
    name="openclaw-json-placeholders",
    description="apiKey, botToken and token fields of openclaw.json are ${VAR} placeholders or SecretRefs.",
    enforcement_level=MANDATORY,
    validate=_openclaw_placeholders,
)

POLICIES = [no_literal_secret_env, no_secret_in_configmap, openclaw_json_placeholders]
