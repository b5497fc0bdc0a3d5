"""RBAC: roles bound to workload service accounts are read-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from k8s import MANDATORY, Field, describe, schema, undecidable
from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy

ROLE_TYPES = {"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "ClusterRole",
              "kubernetes:rbac.authorization.k8s.io/v1:Role": "Role"}
BINDING_TYPES = {"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
                 "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"}
# A finding: (message, or the unknown field and why it matters)
Finding = tuple[str, Field | None, str]


def _rule_findings(where: str, rule: Field, cfg: Mapping[str, Any]) -> list[Finding]:
    if rule.unknown:
        return [(where, rule, "the rule's verbs and resources are what this policy judges")]
    found: list[Finding] = []
    lists = {f: rule[f].strings() for f in ("verbs", "resources", "apiGroups", "nonResourceURLs")}
    wild = [f for f, (known, _) in lists.items() if "*" in known]
    if wild:
        found.append((f"{where}: wildcard '*' in {', '.join(wild)}: list exactly what the agents read", None, ""))
    verbs, resources = lists["verbs"][0], lists["resources"][0]
    extra = [v for v in verbs if v != "*" and v not in cfg["allowedVerbs"]]
    if extra:
        found.append((f"{where}: verbs {extra} are not read-only: keep to {cfg['allowedVerbs']}", None, ""))
    forbidden = [r for r in resources if r in cfg["forbiddenResources"]]
    if forbidden:
        found.append((f"{where}: grants {forbidden}: workload accounts must never read secrets or open "
                      "exec/attach/port-forward/token endpoints; remove them", None, ""))
    for f, (_, unknown) in lists.items():
        found += [(where, u, f"an unknown entry of {f} could be '*' or beyond {cfg['allowedVerbs']}")
                  for u in unknown if f in ("verbs", "resources", "apiGroups")]
    return found


def _role_findings(role: PolicyResource, cfg: Mapping[str, Any]) -> list[Finding]:
    where = describe(role.resource_type, role.props)
    rules = Field.root(role.props)["rules"]
    if rules.unknown:
        return [(where, rules, "the role's rules are what this policy judges")]
    found: list[Finding] = []
    for i, rule in enumerate(rules.items()):
        found += _rule_findings(f"{where} rule {i}", rule, cfg)
    return found


def _binds_service_account(subjects: Field) -> tuple[bool | None, Field | None]:
    if subjects.unknown:
        return None, subjects
    unknown: Field | None = None
    for subject in subjects.items():
        kind = subject if subject.unknown else subject["kind"]
        if kind.is_("ServiceAccount"):
            return True, None
        if kind.unknown:
            unknown = unknown or kind
    return (None, unknown) if unknown is not None else (False, None)


def _read_only(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = args.get_config()
    roles: dict[tuple[str, str, str], PolicyResource] = {}
    unnamed: list[tuple[PolicyResource, Field]] = []  # roles whose name or namespace is unknown
    for r in args.resources:
        if r.resource_type in ROLE_TYPES:
            meta = Field.root(r.props)["metadata"]
            name, ns = meta["name"], meta["namespace"]
            if name.unknown or ns.unknown:
                unnamed.append((r, name if name.unknown else ns))
                continue
            roles[(ROLE_TYPES[r.resource_type], ns.text() or "", name.text() or "")] = r
    for r in args.resources:
        if r.resource_type not in BINDING_TYPES:
            continue
        binding = Field.root(r.props)
        where = describe(r.resource_type, r.props)
        binds_sa, sa_unknown = _binds_service_account(binding["subjects"])
        if binds_sa is False:
            continue
        ref = binding["roleRef"]
        kind, name = ref["kind"], ref["name"]
        ns = binding["metadata"]["namespace"] if kind.is_("Role") else Field("")
        missing = next((f for f in (kind, name, ns) if f.unknown), None)
        if missing is not None:
            undecidable(report, where, missing, "it decides which role the binding grants", r.urn)
            continue
        role = roles.get((kind.text() or "", ns.text() or "", name.text() or ""))
        if role is None:
            if unnamed:
                other, field = unnamed[0]
                undecidable(report, describe(other.resource_type, other.props), field,
                            f"it decides whether this is the {kind.text()} '{name.text()}' that {where} binds",
                            other.urn)
                continue
            report(f"{where} binds a service account to {kind.text()} '{name.text()}', which this stack does not "
                   "define, so it cannot be checked: define the role in the program", r.urn)
            continue
        for message, unknown, why in _role_findings(role, cfg):
            if unknown is not None:
                undecidable(report, message, unknown, why, role.urn)
            elif binds_sa is None and sa_unknown is not None:
                undecidable(report, where, sa_unknown, f"if it is a ServiceAccount: {message}", r.urn)
            else:
                report(message, role.urn)


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
