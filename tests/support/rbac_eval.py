"""A small evaluator of Kubernetes RBAC, enough to judge rendered Roles, ClusterRoles and their
bindings against a list of API calls (engine/provider_calls.py), the way the API server does:

- authorization (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac, `RuleAllows`): a rule allows
  a request when its verbs, apiGroups and resources each contain the request's (or `*`), a
  subresource matching `resource/subresource` only, and, if the rule lists resourceNames, the
  request names one of them (so such a rule never allows create, list, watch or deletecollection,
  which name no object). A RoleBinding grants its role's rules in its own namespace only; a
  ClusterRoleBinding everywhere, and alone grants cluster-scoped objects and requests across all
  namespaces;
- escalation (k8s.io/component-helpers auth/rbac/validation, `ConfirmNoEscalation` and
  `policy_comparator.go` `Covers`): creating or updating a ClusterRole, or binding it, needs every
  one of its rules covered by the creator's cluster-wide rules, unless the creator may `escalate`
  (or `bind`) that role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.provider_calls import Call

Rule = Mapping[str, Any]


@dataclass(frozen=True)
class Grant:
    """The rules one binding gives its subject, and where: a namespace, or None (cluster-wide)."""

    rules: tuple[Rule, ...]
    namespace: str | None


def _has(values: Iterable[str], wanted: str) -> bool:
    values = list(values)
    return "*" in values or wanted in values


def rule_allows(rule: Rule, call: Call) -> bool:
    if "nonResourceURLs" in rule and not rule.get("resources"):
        return False
    if not _has(rule.get("verbs") or [], call.verb) or not _has(rule.get("apiGroups") or [], call.group):
        return False
    resources = rule.get("resources") or []
    if not ("*" in resources or call.resource in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or (call.name is not None and call.name in names)


def allows(grants: Sequence[Grant], call: Call) -> bool:
    for grant in grants:
        in_scope = grant.namespace is None or (call.namespace is not None and grant.namespace == call.namespace)
        if in_scope and any(rule_allows(rule, call) for rule in grant.rules):
            return True
    return False


def expand(rule: Rule) -> list[Call]:
    """Every single request a rule allows (no wildcards expected: see `wildcards`)."""
    names = list(rule.get("resourceNames") or []) or [None]
    return [Call(verb, group, resource, None, name) for verb in rule.get("verbs") or []
            for group in rule.get("apiGroups") or [] for resource in rule.get("resources") or [] for name in names]


def covers(owner: Sequence[Rule], rule: Rule) -> bool:
    """Whether cluster-wide rules `owner` cover `rule` (ConfirmNoEscalation): each request the rule
    allows is allowed by one of them, a rule without resourceNames only by rules without them."""
    grant = [Grant(tuple(owner), None)]
    for call in expand(rule):
        if call.name is None:
            unrestricted = [r for r in owner if not r.get("resourceNames")]
            if not allows([Grant(tuple(unrestricted), None)], call):
                return False
        elif not allows(grant, call):
            return False
    return True


def wildcards(rules: Iterable[Rule]) -> list[str]:
    found = []
    for rule in rules:
        for key in ("verbs", "apiGroups", "resources", "resourceNames"):
            if any("*" in str(v) for v in rule.get(key) or []):
                found.append(f"{key}: {rule.get(key)}")
    return found


def grants_of(documents: Sequence[Mapping[str, Any]], subject: tuple[str, str]) -> list[Grant]:
    """The grants a ServiceAccount (namespace, name) receives from the bindings among `documents`,
    whose roles must be among them too."""
    roles = {(d["kind"], (d["metadata"].get("namespace")), d["metadata"]["name"]): d for d in documents
             if d["kind"] in ("Role", "ClusterRole")}
    grants = []
    for doc in documents:
        if doc["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s.get("kind") == "ServiceAccount" and (s.get("namespace"), s.get("name")) == subject
                   for s in doc.get("subjects") or []):
            continue
        ref = doc["roleRef"]
        scope = doc["metadata"].get("namespace") if doc["kind"] == "RoleBinding" else None
        role_ns = scope if ref["kind"] == "Role" else None
        role = roles[(ref["kind"], role_ns, ref["name"])]
        grants.append(Grant(tuple(role.get("rules") or []), scope))
    return grants
