"""Stack policies that read several objects together: secrets wired (and the gateway pods every
cross-resource policy starts from; egress_dependencies.py holds egress-covers-dependencies).

At preview these see every resource's planned outputs, Vault objects with their computed
attributes unknown (see README): each reads only the objects and fields it needs, so an unknown
elsewhere never stops it, and an unknown it needs is reported as undecidable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from k8s import (
    CONFIG_MAP,
    MANDATORY,
    SECRET,
    Field,
    describe,
    pod_metadata,
    pod_spec,
    undecidable,
)
from openclaw_secrets import referenced_env
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy

VSO_STATIC_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret"


@dataclass
class Gateway:
    """A workload that mounts an openclaw.json ConfigMap, with that config."""

    urn: str
    where: str
    namespace: str
    labels: Field
    spec: Field
    config_field: Field  # the openclaw.json text (unknown at preview when it depends on an unknown)
    config: dict[str, Any] = field(default_factory=dict)


def _configs(args: StackValidationArgs) -> tuple[dict[tuple[str, str], Field], list[tuple[str, Field]]]:
    """openclaw.json ConfigMaps by (namespace, name), and those that may hold one but whose name,
    namespace or data is unknown (where, the unknown field)."""
    known: dict[tuple[str, str], Field] = {}
    maybe: list[tuple[str, Field]] = []
    for r in args.resources:
        if r.resource_type != CONFIG_MAP:
            continue
        props = Field.root(r.props)
        data, meta = props["data"], props["metadata"]
        text = data if data.unknown else data["openclaw.json"]
        if not text.present():
            continue
        ns, name = meta["namespace"], meta["name"]
        if ns.unknown or name.unknown or data.unknown:
            maybe.append((describe(r.resource_type, r.props), next(f for f in (ns, name, data) if f.unknown)))
        else:
            known[(ns.text() or "", name.text() or "")] = text
    return known, maybe


def gateways(args: StackValidationArgs, report: ReportViolation, why: str) -> Iterator[Gateway]:
    """Every gateway; a workload that may or may not mount a gateway config is reported undecidable."""
    configs, maybe = _configs(args)
    for r in args.resources:
        spec = pod_spec(r.resource_type, r.props)
        if spec is None:
            continue
        where = describe(r.resource_type, r.props)
        ns_field = Field.root(r.props)["metadata"]["namespace"]
        volumes = spec["volumes"]
        names = [volumes] if volumes.unknown else [v if v.unknown else v.at("configMap", "name")
                                                   for v in volumes.items()]
        for name in names:
            if not name.present():
                continue
            if name.unknown or ns_field.unknown:
                if configs or maybe:
                    undecidable(report, where, name if name.unknown else ns_field,
                                f"it decides whether this workload mounts an openclaw.json, and {why}", r.urn)
                continue
            ns = ns_field.text() or ""
            text = configs.get((ns, name.text() or ""))
            if text is None:
                for other, unknown in maybe:
                    undecidable(report, other, unknown, f"it decides whether {where} mounts it, and {why}", r.urn)
                continue
            config: Any = {}
            if not text.unknown:
                try:
                    config = json.loads(text.text() or "")
                except json.JSONDecodeError:
                    config = {}
            yield Gateway(r.urn, where, ns, pod_metadata(r.resource_type, r.props)["labels"], spec, text,
                          config if isinstance(config, dict) else {})


# --- secrets-wired --------------------------------------------------------------------------------

@dataclass
class SecretSource:
    keys: set[str] | None  # None: any key (an operator secret without includes)
    unknown: Field | None = None  # the keys depend on this unknown


def _secret_source(r: Any) -> tuple[Field, SecretSource] | None:
    """(destination name field, keys) of a Secret or VaultStaticSecret; reads keys, never values."""
    props = Field.root(r.props)
    if r.resource_type == SECRET:
        data, string_data = props["data"], props["stringData"]
        unknown = next((f for f in (data, string_data) if f.unknown), None)
        return props.at("metadata", "name"), SecretSource(set(data.keys()) | set(string_data.keys()), unknown)
    if r.resource_type == VSO_STATIC_SECRET:
        destination = props.at("spec", "destination")
        includes = destination.at("transformation", "includes")
        patterns, unknown_patterns = includes.strings()
        keys = {p.strip("^$").replace("\\", "") for p in patterns} if includes.present() else None
        return destination["name"], SecretSource(keys, unknown_patterns[0] if unknown_patterns else None)
    return None


def _secret_keys(args: StackValidationArgs, namespace: str) -> tuple[dict[str, SecretSource], list[tuple[str, Field]]]:
    """Secret name -> its keys, for the secrets of `namespace`; and the secrets whose name or
    namespace is unknown (where, field)."""
    result: dict[str, SecretSource] = {}
    maybe: list[tuple[str, Field]] = []
    for r in args.resources:
        source = _secret_source(r)
        if source is None:
            continue
        name, keys = source
        ns = Field.root(r.props).at("metadata", "namespace")
        if ns.unknown or name.unknown:
            maybe.append((describe(r.resource_type, r.props), ns if ns.unknown else name))
        elif ns.text() == namespace:
            result[name.text() or ""] = keys
    return result, maybe


def _unwired(at: str, var: str) -> str:
    return (f"{at}: openclaw.json references {var} (a ${{{var}}} placeholder or an env SecretRef) but the container "
            f"gets no {var} from a Secret (env valueFrom.secretKeyRef): the gateway refuses to start without it, "
            "or (placeholders from 2026.3.7) runs without the secret")


def _check_var(gw: Gateway, at: str, var: str, env: dict[str, Field], unnamed: list[Field],
               secrets: tuple[dict[str, SecretSource], list[tuple[str, Field]]], report: ReportViolation) -> None:
    entry = env.get(var)
    if entry is None:
        if unnamed:
            undecidable(report, at, unnamed[0], f"it could be {var}, which openclaw.json needs", gw.urn)
        else:
            report(_unwired(at, var), gw.urn)
        return
    ref = entry.at("valueFrom", "secretKeyRef")
    name, key = ref["name"], ref["key"]
    unknown = next((f for f in (ref, name, key) if f.unknown), None)
    if unknown is not None:
        undecidable(report, at, unknown, f"it decides where {var} comes from", gw.urn)
        return
    if ref.value is None:
        report(_unwired(at, var), gw.urn)
        return
    sources, maybe = secrets
    source = sources.get(name.text() or "")
    if source is None:
        for where, field_ in maybe:
            undecidable(report, where, field_, f"it decides whether this is Secret '{name.text()}' that {var} "
                        "comes from", gw.urn)
        if not maybe:
            report(f"{at}: {var} comes from Secret '{name.text()}', which this stack neither "
                   "creates nor syncs from Vault: add it (VaultStaticSecret or Secret)", gw.urn)
    elif source.keys is not None and key.text() not in source.keys:
        if source.unknown is not None:
            undecidable(report, f"Secret '{name.text()}' source", source.unknown,
                        f"it decides whether key '{key.text()}' ({var}) will be there", gw.urn)
        else:
            report(f"{at}: {var} reads key '{key.text()}' of Secret '{name.text()}', which "
                   f"will only hold {sorted(source.keys)}: add the key to the secret's source", gw.urn)


def _secrets_wired(args: StackValidationArgs, report: ReportViolation) -> None:
    why = "every variable it references (${VAR} or env SecretRef) must reach the gateway from a Secret"
    for gw in gateways(args, report, why):
        if gw.config_field.unknown:
            undecidable(report, gw.where + " openclaw.json", gw.config_field, why, gw.urn)
            continue
        needed = referenced_env(gw.config_field.text() or "", gw.config)
        secrets = _secret_keys(args, gw.namespace)
        group = gw.spec["containers"]
        for container in [group] if group.unknown else group.items():
            name = container if container.unknown else container["name"]
            at = f"{gw.where} container '{'?' if name.unknown else name.text()}'"
            env_field = container if container.unknown else container["env"]
            if env_field.unknown:
                if needed:
                    undecidable(report, at, env_field, why, gw.urn)
                continue
            env: dict[str, Field] = {}
            unnamed: list[Field] = []
            for entry in env_field.items():
                var = entry if entry.unknown else entry["name"]
                if var.unknown:
                    unnamed.append(var)
                else:
                    env.setdefault(var.text() or "", entry)
            for var_name in needed:
                _check_var(gw, at, var_name, env, unnamed, secrets, report)


secrets_wired = StackValidationPolicy(
    name="secrets-wired",
    description="Every ${VAR} and env SecretRef of openclaw.json reaches the gateway from a Secret the stack provides.",
    enforcement_level=MANDATORY,
    validate=_secrets_wired,
)


POLICIES = [secrets_wired]
