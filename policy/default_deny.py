"""The default deny: every namespace with workloads has a NetworkPolicy that selects every pod and
denies all ingress and egress (a stack policy: it judges the namespaces against all the policies)."""

from __future__ import annotations

from k8s import MANDATORY, NETWORK_POLICY, WORKLOAD_TYPES, Field, describe, undecidable
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy


def _all(checks: list[tuple[bool | None, Field]]) -> tuple[bool | None, Field | None]:
    """Tri-state AND: False if any check is False, else None (with the first unknown) if any is unknown."""
    if any(result is False for result, _ in checks):
        return False, None
    unknown = next((field for result, field in checks if result is None), None)
    return (None, unknown) if unknown is not None else (True, None)


def _empty_selector(selector: Field) -> bool | None:
    if selector.unknown:
        return None
    parts = [selector["matchLabels"], selector["matchExpressions"]]
    if any(p.present() and not p.unknown and p.value for p in parts):
        return False
    return None if any(p.unknown for p in parts) else True


def _is_default_deny(np: Field, ns: str) -> tuple[bool | None, Field | None]:
    spec, namespace = np["spec"], np["metadata"]["namespace"]
    types, types_unknown = spec["policyTypes"].strings()
    has_types = True if {"Ingress", "Egress"} <= set(types) else (None if types_unknown else False)
    ingress, egress = spec["ingress"], spec["egress"]
    return _all([
        (None if namespace.unknown else (namespace.value or "default") == ns, namespace),
        (_empty_selector(spec["podSelector"]), spec["podSelector"]),
        (has_types, types_unknown[0] if types_unknown else spec["policyTypes"]),
        (None if ingress.unknown else not ingress.value, ingress),
        (None if egress.unknown else not egress.value, egress),
    ])


def _default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    workload_namespaces: dict[str, str] = {}
    for r in args.resources:
        if r.resource_type in WORKLOAD_TYPES:
            ns_field = Field.root(r.props)["metadata"]["namespace"]
            if ns_field.unknown:
                undecidable(report, describe(r.resource_type, r.props), ns_field,
                            "it decides which namespace needs a default deny", r.urn)
                continue
            workload_namespaces.setdefault(ns_field.text() or "default", r.urn)
    policies = [r for r in args.resources if r.resource_type == NETWORK_POLICY]
    for ns, urn in sorted(workload_namespaces.items()):
        maybe: list[tuple[str, Field]] = []
        found = False
        for r in policies:
            verdict, unknown = _is_default_deny(Field.root(r.props), ns)
            found = found or verdict is True
            if verdict is None and unknown is not None:
                maybe.append((describe(r.resource_type, r.props), unknown))
        if found:
            continue
        for where, unknown in maybe:
            undecidable(report, where, unknown, f"it decides whether namespace '{ns}' has a default deny", urn)
        if not maybe:
            report(f"namespace '{ns}' runs workloads but has no default-deny NetworkPolicy: add one with "
                   "podSelector: {}, policyTypes: [Ingress, Egress] and no rules", urn)


namespace_default_deny = StackValidationPolicy(
    name="namespace-default-deny",
    description="Every namespace with workloads has a NetworkPolicy that denies all ingress and egress by default.",
    enforcement_level=MANDATORY,
    validate=_default_deny,
)

POLICIES = [namespace_default_deny]
