"""RBAC: roles bound to workload service accounts are read-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k8s import MANDATORY, describe, name_of, plain, schema
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy

ROLE_TYPES = {"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "ClusterRole",
              "kubernetes:rbac.authorization.k8s.io/v1:Role": "Role"}
BINDING_TYPES = {"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
                 "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"}


def _check_rules(where: str, rules: list[dict[str, Any]], cfg: Mapping[str, Any], report: ReportViolation,
                 urn: str) -> None:
    for i, rule in enumerate(rules):
        at = f"{where} rule {i}"
        verbs, resources = rule.get("verbs") or [], rule.get("resources") or []
        groups, urls = rule.get("apiGroups") or [], rule.get("nonResourceURLs") or []
        wild = [f for f, values in (("verbs", verbs), ("resources", resources), ("apiGroups", groups),
                                    ("nonResourceURLs", urls)) if "*" in values]
        if wild:
            report(f"{at}: wildcard '*' in {', '.join(wild)}: list exactly what the agents read", urn)
        extra = [v for v in verbs if v != "*" and v not in cfg["allowedVerbs"]]
        if extra:
            report(f"{at}: verbs {extra} are not read-only: keep to {cfg['allowedVerbs']}", urn)
        forbidden = [r for r in resources if r in cfg["forbiddenResources"]]
        if forbidden:
            report(f"{at}: grants {forbidden}: workload accounts must never read secrets or open "
                   "exec/attach/port-forward/token endpoints; remove them", urn)


def _read_only(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = args.get_config()
    roles: dict[tuple[str, str, str], Any] = {}
    for r in args.resources:
        if r.resource_type in ROLE_TYPES:
            meta = r.props.get("metadata") or {}
            roles[(ROLE_TYPES[r.resource_type], meta.get("namespace") or "", meta.get("name") or "")] = r
    for r in args.resources:
        if r.resource_type not in BINDING_TYPES:
            continue
        props = plain(r.props)
        if not any(s.get("kind") == "ServiceAccount" for s in props.get("subjects") or []):
            continue
        ref = props.get("roleRef") or {}
        ns = ((props.get("metadata") or {}).get("namespace") or "") if ref.get("kind") == "Role" else ""
        role = roles.get((ref.get("kind", ""), ns, ref.get("name", "")))
        if role is None:
            report(f"{describe(r.resource_type, props)} binds a service account to "
                   f"{ref.get('kind')} '{ref.get('name')}', which this stack does not define, so it cannot be "
                   "checked: define the role in the program", r.urn)
            continue
        role_props = plain(role.props)
        _check_rules(f"{ROLE_TYPES[role.resource_type]} {name_of(role_props)}", role_props.get("rules") or [],
                     cfg, report, role.urn)


rbac_read_only = StackValidationPolicy(
    name="rbac-read-only",
    description="Roles bound to workload service accounts only get/list/watch, never secrets or wildcards.",
    enforcement_level=MANDATORY,
    config_schema=schema({
        "allowedVerbs": {"type": "array", "items": {"type": "string"}, "default": ["get", "list", "watch"]},
        "forbiddenResources": {"type": "array", "items": {"type": "string"},
                               "default": ["secrets", "pods/exec", "pods/attach", "pods/portforward",
                                           "serviceaccounts/token", "*"]},
    }),
    validate=_read_only,
)

POLICIES = [rbac_read_only]
