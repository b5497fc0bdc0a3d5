"""A stack's config as the Pulumi CLI gives it to the program: `Pulumi.yaml` project defaults, then
`Pulumi.<stack>.yaml`, then the caller's overrides; values as text, encrypted ones noted as secret keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.vault_mocks import HarnessError
from engine.yaml_text import from_yaml

REPO = Path(__file__).resolve().parent.parent


def _config_text(value: Any) -> str:
    """Config values reach the program as strings; objects and lists as JSON, as the CLI does."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None,
                 root: Path = REPO) -> tuple[dict[str, str], list[str]]:
    """The merged config (`<namespace>:<key>` -> text) and the secret keys of a stack."""
    project = from_yaml((root / "Pulumi.yaml").read_text(encoding="utf-8"))  # safe_load, with libyaml
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise HarnessError(f"no stack file {stack_file.name}; stacks here: {', '.join(known)}")
    merged: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{project['name']}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            merged[full] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            merged[full] = decl["value"]
        elif not isinstance(decl, dict):
            merged[full] = decl
    merged.update((from_yaml(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {})
    merged.update(overrides or {})
    secret_keys: list[str] = []
    config: dict[str, str] = {}
    for key, value in merged.items():
        if value is None:  # an override of None removes the key
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Encrypted in the stack file; the harness has no key, and needs none.
            secret_keys.append(key)
            value = "fake-not-a-secret-0000"
        config[key] = _config_text(value)
    return config, secret_keys
