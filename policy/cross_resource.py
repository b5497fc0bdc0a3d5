"""Stack policies that read several objects together: secrets wired, egress covers dependencies.

At preview these see every resource's planned outputs, Vault objects with their computed
attributes unknown (see README): each reads only the objects and fields it needs, so an unknown
elsewhere never stops it, and an unknown it needs is reported as undecidable."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from k8s import (
    CONFIG_MAP,
    MANDATORY,
    NETWORK_POLICY,
    NS_NAME_LABEL,
    SECRET,
    Field,
    describe,
    pod_metadata,
    pod_spec,
    rule_ports,
    undecidable,
)
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy

VSO_STATIC_SECRET = "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret"
PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
Tri = bool | None  # None: unknown at preview


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


def _gateways(args: StackValidationArgs, report: ReportViolation, why: str) -> Iterator[Gateway]:
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


def _check_var(gw: Gateway, at: str, var: str, env: dict[str, Field], unnamed: list[Field],
               secrets: tuple[dict[str, SecretSource], list[tuple[str, Field]]], report: ReportViolation) -> None:
    entry = env.get(var)
    if entry is None:
        if unnamed:
            undecidable(report, at, unnamed[0], f"it could be {var}, which openclaw.json needs", gw.urn)
        else:
            report(f"{at}: openclaw.json references ${{{var}}} but the container gets no {var} from a "
                   "Secret (env valueFrom.secretKeyRef): OpenClaw aborts startup on a missing variable", gw.urn)
        return
    ref = entry.at("valueFrom", "secretKeyRef")
    name, key = ref["name"], ref["key"]
    unknown = next((f for f in (ref, name, key) if f.unknown), None)
    if unknown is not None:
        undecidable(report, at, unknown, f"it decides where {var} comes from", gw.urn)
        return
    if ref.value is None:
        report(f"{at}: openclaw.json references ${{{var}}} but the container gets no {var} from a "
               "Secret (env valueFrom.secretKeyRef): OpenClaw aborts startup on a missing variable", gw.urn)
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
    why = "every ${VAR} it references must reach the gateway from a Secret"
    for gw in _gateways(args, report, why):
        if gw.config_field.unknown:
            undecidable(report, gw.where + " openclaw.json", gw.config_field, why, gw.urn)
            continue
        needed = list(dict.fromkeys(PLACEHOLDER.findall(gw.config_field.text() or "")))
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
    description="Every ${VAR} in openclaw.json reaches the gateway container from a Secret the stack provides.",
    enforcement_level=MANDATORY,
    validate=_secrets_wired,
)


# --- egress-covers-dependencies ---------------------------------------------------------------------

DEPENDENCIES_KEY = "dependencies.json"  # rendered by components/dependencies.py; the preflight reads it too


def _dependencies(args: StackValidationArgs, gw: Gateway, report: ReportViolation,
                  why: str) -> list[tuple[str, str, int]] | None:
    """(what, host, port) of every endpoint the configuration declares: the dependency list the
    program rendered into a ConfigMap the workload mounts (the preflight init container checks the
    same file at pod start). None: the workload mounts no such list. An unknown that decides which
    list it is, or what it holds, is reported as undecidable (and [] returned)."""
    volumes = gw.spec["volumes"]
    if volumes.unknown:
        undecidable(report, gw.where, volumes, why, gw.urn)
        return []
    mounted: set[str] = set()
    for volume in volumes.items():
        name = volume if volume.unknown else volume.at("configMap", "name")
        if name.unknown:
            undecidable(report, gw.where, name, f"it decides which dependency list is mounted, and {why}", gw.urn)
            return []
        if name.present():
            mounted.add(name.text() or "")
    found: list[tuple[str, str, int]] | None = None
    maybe: Field | None = None  # may be the mounted list, but a field that decides it is unknown
    for r in args.resources:
        if r.resource_type != CONFIG_MAP:
            continue
        props = Field.root(r.props)
        data, meta = props["data"], props["metadata"]
        text = data if data.unknown else data[DEPENDENCIES_KEY]
        ns, name = meta["namespace"], meta["name"]
        if not text.present():
            continue
        if ns.unknown or name.unknown:
            maybe = maybe or (ns if ns.unknown else name)
            continue
        if ns.text() != gw.namespace or name.text() not in mounted:
            continue
        if text.unknown:
            maybe = maybe or text
            continue
        try:
            entries = json.loads(text.text() or "")["dependencies"]
            found = [(str(d["name"]), str(d["host"]), int(d["port"])) for d in entries]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"ConfigMap '{name.text()}' key {DEPENDENCIES_KEY} is not a dependency list "
                             "({\"dependencies\": [{\"name\", \"host\", \"port\"}, ...]})") from None
    if found is None and maybe is not None:
        undecidable(report, gw.where, maybe, f"it decides which dependency list the pod mounts, and {why}", gw.urn)
        return []
    return found


def _and(*values: Tri) -> Tri:
    return False if False in values else (None if None in values else True)


def _or(values: list[Tri]) -> Tri:
    return True if True in values else (None if None in values else False)


def _selector_matches(selector: Field, labels: Field) -> tuple[Tri, Field | None]:
    wanted = selector if selector.unknown else selector["matchLabels"]
    if wanted.unknown:
        return None, wanted
    results: list[tuple[Tri, Field | None]] = []
    for key, value in wanted.entries():
        have = labels[key]
        unknown = value if value.unknown else (have if have.unknown else None)
        results.append((None, unknown) if unknown is not None else (have.value == value.value, None))
    verdict = _and(*[r for r, _ in results])
    return verdict, next((f for r, f in results if r is None), None)


def _selects(np: Field, gw: Gateway) -> tuple[Tri, Field | None]:
    """Whether this NetworkPolicy restricts the gateway pod's egress."""
    ns, spec = np["metadata"]["namespace"], np["spec"]
    types, types_unknown = spec["policyTypes"].strings()
    checks: list[tuple[Tri, Field | None]] = [
        (None if ns.unknown else ns.text() == gw.namespace, ns),
        (True if "Egress" in types else (None if types_unknown else False),
         types_unknown[0] if types_unknown else None),
        _selector_matches(spec["podSelector"], gw.labels),
    ]
    verdict = _and(*[c for c, _ in checks])
    return verdict, next((f for c, f in checks if c is None), None)


def _peer_allows(peer: Field, host: str, port: int) -> tuple[Tri, Field | None]:
    if peer.unknown:
        return None, peer
    parts = host.split(".")
    in_cluster = len(parts) >= 3 and parts[2] == "svc"
    if peer.has("namespaceSelector"):
        ns = peer["namespaceSelector"]["matchLabels"][NS_NAME_LABEL]
        if ns.unknown:
            return (None, ns) if in_cluster else (False, None)
        return in_cluster and ns.text() == parts[1], None
    if not peer.has("ipBlock") or in_cluster:
        return False, None
    cidr_field = peer["ipBlock"]["cidr"]
    if cidr_field.unknown:
        return None, cidr_field
    excepts, except_unknown = peer["ipBlock"]["except"].strings()
    try:
        cidr = ipaddress.ip_network(cidr_field.text() or "0.0.0.0/32", strict=False)
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None:
        # A public hostname: only a rule open to the whole internet covers it.
        return cidr.prefixlen == 0, None
    excepted = [ipaddress.ip_network(e, strict=False) for e in excepts]
    if address not in cidr or any(address in e for e in excepted):
        return False, None
    return (None, except_unknown[0]) if except_unknown else (True, None)


def _rule_allows(rule: Field, host: str, port: int) -> tuple[Tri, Field | None]:
    if rule.unknown:
        return None, rule
    numbers, unknown_ports = rule_ports(rule["ports"])
    every_port = not numbers and not unknown_ports
    port_ok: Tri = True if every_port or port in numbers else (None if unknown_ports else False)
    peers = rule["to"]
    if peers.unknown:
        return _and(port_ok, None), peers
    results = [_peer_allows(p, host, port) for p in peers.items()] or [(True, None)]
    peer_ok = _or([r for r, _ in results])
    unknown = (unknown_ports[0] if port_ok is None and unknown_ports else
               next((f for r, f in results if r is None), None))
    return _and(port_ok, peer_ok), unknown


def _rule_has_dns(rule: Field) -> tuple[Tri, Field | None]:
    if rule.unknown:
        return None, rule
    numbers, unknown_ports = rule_ports(rule["ports"])
    if 53 in numbers:
        return True, None
    return (None, unknown_ports[0]) if unknown_ports else (False, None)


@dataclass
class _Restriction:
    """The egress policies that do (True) or may (None) select the gateway pod, with their rules."""

    known: list[Field]  # rules of policies that select it
    maybe: list[tuple[Field, Field]]  # (rule, the unknown selection field) of policies that may
    restricted: Tri
    selection_unknown: Field | None


def _restriction(args: StackValidationArgs, gw: Gateway) -> _Restriction:
    known: list[Field] = []
    maybe: list[tuple[Field, Field]] = []
    restricted: list[Tri] = []
    selection_unknown: Field | None = None
    for r in args.resources:
        if r.resource_type != NETWORK_POLICY:
            continue
        np = Field.root(r.props)
        selects, unknown = _selects(np, gw)
        if selects is False:
            continue
        restricted.append(selects)
        egress = np["spec"]["egress"]
        rules = [egress] if egress.unknown else egress.items()
        if selects:
            known += rules
        else:
            selection_unknown = selection_unknown or unknown
            maybe += [(rule, unknown or rule) for rule in rules]
    return _Restriction(known, maybe, _or(restricted), selection_unknown)


def _judge(restriction: _Restriction, check: Any) -> tuple[Tri, Field | None]:
    """Allowed (True), blocked (False) or undecidable (None, with the unknown it hangs on)."""
    if restriction.restricted is False:
        return True, None  # no egress policy selects the pod: nothing blocks it
    known = [check(rule) for rule in restriction.known]
    if any(r is True for r, _ in known):
        return True, None
    unknowns = [f for r, f in known if r is None and f is not None]
    for rule, selection in restriction.maybe:
        result, field_ = check(rule)
        if result is not False:
            unknowns.append(selection if result is True else (field_ or selection))
    if restriction.restricted is None and restriction.selection_unknown is not None:
        unknowns.append(restriction.selection_unknown)
    return (None, unknowns[0]) if unknowns else (False, None)


def _egress_covers(args: StackValidationArgs, report: ReportViolation) -> None:
    why = "the endpoints it declares must be allowed by egress policy"
    for gw in _gateways(args, report, why):
        try:
            deps = _dependencies(args, gw, report, why)
        except ValueError as err:
            report(f"{gw.where}: {err}", gw.urn)
            continue
        if deps is None:
            report(f"{gw.where}: mounts openclaw.json but no dependency list (a ConfigMap with key "
                   f"{DEPENDENCIES_KEY}, rendered by components/dependencies.py): egress cannot be checked", gw.urn)
            continue
        if not deps:
            continue
        restriction = _restriction(args, gw)
        dns, unknown = _judge(restriction, _rule_has_dns)
        if dns is None and unknown is not None:
            undecidable(report, gw.where, unknown, "it decides whether DNS (port 53) is allowed", gw.urn)
        elif dns is False:
            report(f"{gw.where}: no egress rule allows DNS (port 53): every named dependency is blocked", gw.urn)
        for what, host, port in deps:
            allowed, unknown = _judge(restriction, lambda rule, h=host, p=port: _rule_allows(rule, h, p))
            if allowed is None and unknown is not None:
                undecidable(report, gw.where, unknown, f"it decides whether {what} is reachable", gw.urn)
            elif allowed is False:
                kind = ("namespace peer for '" + host.split(".")[1] + "'" if ".svc" in host
                        else "public ipBlock (0.0.0.0/0 minus non-public space)")
                report(f"{gw.where}: {what} is blocked: none of the {len(restriction.known)} egress rules of the "
                       f"policies selecting this pod allows {host}:{port}; add a {kind} on TCP {port}", gw.urn)


egress_covers_dependencies = StackValidationPolicy(
    name="egress-covers-dependencies",
    description="Every endpoint of the dependency list (database, Kubernetes API, models, Telegram) is allowed by "
                "egress policy.",
    enforcement_level=MANDATORY,
    validate=_egress_covers,
)

POLICIES = [secrets_wired, egress_covers_dependencies]
