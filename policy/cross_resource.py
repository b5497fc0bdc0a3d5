"""Stack policies that read several objects together: secrets wired, egress covers dependencies."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from k8s import (
    CONFIG_MAP,
    MANDATORY,
    NETWORK_POLICY,
    NS_NAME_LABEL,
    SECRET,
    WORKLOAD_TYPES,
    describe,
    name_of,
    plain,
    pod_spec,
    port_number,
)
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy

VSO_STATIC_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret"
PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


@dataclass
class Gateway:
    """A workload that mounts an openclaw.json ConfigMap, with that config."""

    urn: str
    where: str
    namespace: str
    labels: dict[str, str]
    spec: dict[str, Any]
    config: dict[str, Any]
    config_text: str


def _gateways(args: StackValidationArgs) -> Iterator[Gateway]:
    configs: dict[tuple[str, str], str] = {}
    for r in args.resources:
        if r.resource_type == CONFIG_MAP:
            props = plain(r.props)
            text = (props.get("data") or {}).get("openclaw.json")
            meta = props.get("metadata") or {}
            if text is not None:
                configs[(meta.get("namespace", ""), meta.get("name", ""))] = text
    for r in args.resources:
        spec = pod_spec(r.resource_type, r.props)
        if spec is None:
            continue
        props = plain(r.props)
        ns = (props.get("metadata") or {}).get("namespace", "")
        for volume in spec.get("volumes") or []:
            text = configs.get((ns, (volume.get("configMap") or {}).get("name", "")))
            if text is None:
                continue
            try:
                config = json.loads(text)
            except json.JSONDecodeError:
                config = {}
            template = WORKLOAD_TYPES[r.resource_type]
            meta_path = (*template[:-1], "metadata") if len(template) > 1 else ("metadata",)
            node: Any = props
            for key in meta_path:
                node = (node or {}).get(key)
            yield Gateway(r.urn, describe(r.resource_type, props), ns,
                          dict((node or {}).get("labels") or {}), spec, config, text)


def _secret_keys(args: StackValidationArgs, namespace: str) -> dict[str, set[str] | None]:
    """Secret name -> keys it will hold (None: any key, e.g. an operator secret without includes)."""
    result: dict[str, set[str] | None] = {}
    for r in args.resources:
        props = plain(r.props)
        if (props.get("metadata") or {}).get("namespace") != namespace:
            continue
        if r.resource_type == SECRET:
            keys = set(props.get("data") or {}) | set(props.get("stringData") or {})
            result[(props.get("metadata") or {}).get("name", "")] = keys
        elif r.resource_type == VSO_STATIC_SECRET:
            destination = (props.get("spec") or {}).get("destination") or {}
            includes = (destination.get("transformation") or {}).get("includes")
            result[destination.get("name", "")] = (
                {p.strip("^$").replace("\\", "") for p in includes} if includes else None)
    return result


def _secrets_wired(args: StackValidationArgs, report: ReportViolation) -> None:
    for gw in _gateways(args):
        needed = list(dict.fromkeys(PLACEHOLDER.findall(gw.config_text)))
        secrets = _secret_keys(args, gw.namespace)
        for container in gw.spec.get("containers") or []:
            env = {e.get("name"): e for e in container.get("env") or []}
            for var in needed:
                ref = ((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef")
                at = f"{gw.where} container '{container.get('name')}'"
                if ref is None:
                    report(f"{at}: openclaw.json references ${{{var}}} but the container gets no {var} from a "
                           "Secret (env valueFrom.secretKeyRef): OpenClaw aborts startup on a missing variable",
                           gw.urn)
                    continue
                keys = secrets.get(ref.get("name", ""), set())
                if ref.get("name") not in secrets:
                    report(f"{at}: {var} comes from Secret '{ref.get('name')}', which this stack neither "
                           "creates nor syncs from Vault: add it (VaultStaticSecret or Secret)", gw.urn)
                elif keys is not None and ref.get("key") not in keys:
                    report(f"{at}: {var} reads key '{ref.get('key')}' of Secret '{ref.get('name')}', which "
                           f"will only hold {sorted(keys)}: add the key to the secret's source", gw.urn)


secrets_wired = StackValidationPolicy(
    name="secrets-wired",
    description="Every ${VAR} in openclaw.json reaches the gateway container from a Secret the stack provides.",
    enforcement_level=MANDATORY,
    validate=_secrets_wired,
)


DEPENDENCIES_KEY = "dependencies.json"  # rendered by components/dependencies.py; the preflight reads it too


def _dependencies(args: StackValidationArgs, gw: Gateway) -> list[tuple[str, str, int]] | None:
    """(what, host, port) of every endpoint the configuration declares: the dependency list the
    program rendered into a ConfigMap the workload mounts (the preflight init container checks the
    same file at pod start). None: the workload mounts no such list."""
    mounted = {(v.get("configMap") or {}).get("name") for v in gw.spec.get("volumes") or []} - {None}
    for r in args.resources:
        if r.resource_type != CONFIG_MAP:
            continue
        props = plain(r.props)
        meta = props.get("metadata") or {}
        text = (props.get("data") or {}).get(DEPENDENCIES_KEY)
        if text is None or meta.get("namespace") != gw.namespace or meta.get("name") not in mounted:
            continue
        try:
            entries = json.loads(text)["dependencies"]
            return [(str(d["name"]), str(d["host"]), int(d["port"])) for d in entries]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"ConfigMap '{meta.get('name')}' key {DEPENDENCIES_KEY} is not a dependency list "
                             "({\"dependencies\": [{\"name\", \"host\", \"port\"}, ...]})") from None
    return None


def _selects(policy_selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    wanted = (policy_selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def _egress_rules(args: StackValidationArgs, gw: Gateway) -> list[tuple[str, dict[str, Any]]]:
    rules = []
    for r in args.resources:
        if r.resource_type != NETWORK_POLICY:
            continue
        props = plain(r.props)
        spec = props.get("spec") or {}
        if ((props.get("metadata") or {}).get("namespace") == gw.namespace
                and "Egress" in (spec.get("policyTypes") or []) and _selects(spec.get("podSelector"), gw.labels)):
            rules += [(f"{name_of(props)} egress rule {i}", rule) for i, rule in enumerate(spec.get("egress") or [])]
    return rules


def _allows(rule: dict[str, Any], host: str, port: int) -> bool:
    ports = [port_number(p.get("port")) for p in rule.get("ports") or []]
    if ports and port not in ports:
        return False
    parts = host.split(".")
    in_cluster = len(parts) >= 3 and parts[2] == "svc"
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for peer in rule.get("to") or [{}]:
        selector = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
        if in_cluster and selector.get(NS_NAME_LABEL) == parts[1]:
            return True
        block = peer.get("ipBlock")
        if block and not in_cluster:
            cidr = ipaddress.ip_network(block.get("cidr", "0.0.0.0/32"), strict=False)
            excepts = [ipaddress.ip_network(e, strict=False) for e in block.get("except") or []]
            if address is not None:
                if address in cidr and not any(address in e for e in excepts):
                    return True
            elif cidr.prefixlen == 0:  # a public hostname: only a rule open to the internet covers it
                return True
    return False


def _egress_covers(args: StackValidationArgs, report: ReportViolation) -> None:
    for gw in _gateways(args):
        rules = _egress_rules(args, gw)
        if not rules:
            continue  # no egress policy selects the pod: nothing blocks it (default deny is another policy)
        try:
            deps = _dependencies(args, gw)
        except ValueError as err:
            report(f"{gw.where}: {err}", gw.urn)
            continue
        if deps is None:
            report(f"{gw.where}: mounts openclaw.json but no dependency list (a ConfigMap with key "
                   f"{DEPENDENCIES_KEY}, rendered by components/dependencies.py): egress cannot be checked", gw.urn)
            continue
        dns = any(port_number(p.get("port")) == 53 for _, rule in rules for p in rule.get("ports") or [])
        if deps and not dns:
            report(f"{gw.where}: no egress rule allows DNS (port 53): every named dependency is blocked", gw.urn)
        for what, host, port in deps:
            if not any(_allows(rule, host, port) for _, rule in rules):
                kind = ("namespace peer for '" + host.split(".")[1] + "'" if ".svc" in host
                        else "public ipBlock (0.0.0.0/0 minus non-public space)")
                report(f"{gw.where}: {what} is blocked: none of the {len(rules)} egress rules of the policies "
                       f"selecting this pod allows {host}:{port}; add a {kind} on TCP {port}", gw.urn)


egress_covers_dependencies = StackValidationPolicy(
    name="egress-covers-dependencies",
    description="Every endpoint of the dependency list (database, Kubernetes API, models, Telegram) is allowed by "
                "egress policy.",
    enforcement_level=MANDATORY,
    validate=_egress_covers,
)

POLICIES = [secrets_wired, egress_covers_dependencies]
