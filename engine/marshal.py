"""The values the Pulumi engine sends a policy analyzer, marshalled as it does.

What the engine sends, and so what this client sends (pulumi/pulumi, pinned by requirements):
- `Analyze`, once per registered resource (custom, component and provider alike), with its
  *inputs* after the provider's Check (pkg/resource/deploy/step_generator.go `analyzeAll`), the
  options protect, ignoreChanges, deleteBeforeReplace, additionalSecretOutputs, aliases,
  customTimeouts and parent, and its provider resource with the provider's inputs.
- `AnalyzeStack`, once, with every resource's *outputs* (step_generator.go `AnalyzeResources`:
  "called on the final outputs"), plus parent, dependencies and property dependencies. At
  preview these are the outputs each provider plans (`Create`/`Update` with `preview: true`).
- Values are marshalled with `KeepUnknowns: true, KeepSecrets: true, SkipInternalKeys: true`
  (pkg/resource/plugin/analyzer_plugin.go): an unknown is the string sentinel
  `04da6b54-80e4-46f7-96ec-b56ff0331ba9` (pkg/resource/plugin/rpc.go marshals every unknown as the
  string one), a secret is `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  "value": <plaintext>}`, and `__`-prefixed keys (pulumi-kubernetes' `__inputs`) are dropped.
  pulumi-policy unwraps the secret for `validate` (deserialize.py without `proxy_secrets`): a policy
  sees a secret's plaintext, which is why messages never quote values.

Two shapes (`SHAPES`), as the engine drives the pack:
- `up`: every value known (after `pulumi up`, or a preview of an unchanged stack: a same step keeps
  its old outputs, pkg/resource/deploy/step.go).
- `preview`: the first preview, every resource created. pulumi-kubernetes returns a new object's
  inputs as its planned outputs when it cannot dry-run (provider/pkg/provider/provider.go `Create`:
  "return them as-is", PR #1355), or the server's dry-run object with `status` removed, whose extra
  fields are known server defaults; either way no field of ours becomes unknown. The Terraform
  bridge plans a new resource with `diff.ProposedState` and marshals it with `KeepUnknowns: preview`
  (pulumi-terraform-bridge pkg/tfbridge/provider.go `Create`): every Computed attribute the program
  does not set is unknown, `id` always (`PREVIEW_COMPUTED` lists the Vault ones, read from
  terraform-provider-vault's schemas). In this program no input is built from such an attribute,
  so `Analyze` inputs are the same in both shapes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.records import ResourceRecord

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi/pulumi pkg/resource/plugin/rpc.go UnknownStringValue
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}  # sdk/go/common/resource/sig
SHAPES = ("preview", "up")
# Computed attributes (Optional+Computed or Computed in terraform-provider-vault, no Default) the
# bridge plans as unknown when the program does not set them, and what Vault sets on `up`.
# vault/resource_policy.go: allow_overwrite Optional+Computed; vault/resource_kubernetes_auth_backend_role.go:
# alias_name_source Optional+Computed (token_* fields have Defaults or are plain Optional).
PREVIEW_COMPUTED: dict[str, dict[str, Any]] = {
    "vault:index/policy:Policy": {"allowOverwrite": True},
    "vault:kubernetes/authBackendRole:AuthBackendRole": {"aliasNameSource": "serviceaccount_uid"},
}
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _secret(value: Any) -> dict[str, Any]:
    return {**SECRET_SIG, "value": value}


def engine_properties(record: ResourceRecord) -> dict[str, Any]:
    """The record's values as the engine marshals them for an analyzer: each Pulumi secret wrapped
    in the secret signature (`KeepSecrets: true`)."""
    props = copy.deepcopy(record.properties)
    for path in record.secret_paths:
        parts = [(m.group(1), m.group(2)) for m in _PATH_PART.finditer(path)]
        if not parts:
            continue
        node: Any = props
        for key, index in parts[:-1]:
            node = node[int(index)] if index is not None else node.get(key, {})
        key, index = parts[-1]
        if index is not None and isinstance(node, list) and int(index) < len(node):
            node[int(index)] = _secret(node[int(index)])
        elif isinstance(node, dict) and key in node:
            node[key] = _secret(node[key])
    return props


def planned_outputs(record: ResourceRecord, shape: str) -> dict[str, Any]:
    """What `AnalyzeStack` receives for this resource in a shape (see the module docstring)."""
    outputs = engine_properties(record)
    if record.type.startswith("vault:") and record.custom:
        computed = {"id": f"{record.name}-id", **PREVIEW_COMPUTED.get(record.type, {})}
        for key, value in computed.items():
            if key not in outputs:
                outputs[key] = UNKNOWN if shape == "preview" else value
    return outputs


def provider_records(records: Iterable[ResourceRecord]) -> dict[str, ResourceRecord]:
    """The provider resources among `records`, by URN."""
    return {r.urn: r for r in records if r.type.startswith("pulumi:providers:")}


def provider_record(record: ResourceRecord, providers: Mapping[str, ResourceRecord]) -> ResourceRecord | None:
    return providers.get(record.provider.rsplit("::", 1)[0]) if record.provider else None
