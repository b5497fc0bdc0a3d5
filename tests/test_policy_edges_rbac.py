"""rbac-read-only (policy/rbac.py) at its edges, in both shapes: each allowed verb and each forbidden
resource on its own, a wildcard in each list, who a binding binds, and which role it names."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult, object_name
from engine.marshal import UNKNOWN
from engine.records import ResourceRecord
from tests.policy_edges import attached, findings, messages, undecidable
from tests.test_policy import mutate

POLICY = "rbac-read-only"
ROLE = "ClusterRole openclaw-readonly"
READ_ONLY = "['get', 'list', 'watch']"
FORBIDDEN = ["secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token"]
RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"


def _rule(**fields: list[str]) -> Any:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]} | fields
    return lambda p: p.__setitem__("rules", [rule])  # the only rule: nothing else draws a finding


def _role_findings(analyzer: PolicyAnalyzer, dev: RunResult, config: dict[str, Any] | None = None,
                   **fields: list[str]) -> list[str]:
    return messages(findings(analyzer, mutate(dev, "ClusterRole", "openclaw-readonly", _rule(**fields)), POLICY,
                             config))


@pytest.mark.parametrize("verb", ["get", "list", "watch"])
def test_each_read_verb_on_its_own_passes(analyzer: PolicyAnalyzer, dev: RunResult, verb: str) -> None:
    assert _role_findings(analyzer, dev, verbs=[verb]) == []


@pytest.mark.parametrize("verb", ["create", "update", "patch", "delete", "deletecollection", "impersonate",
                                  "escalate", "bind", "Get"])
def test_each_other_verb_is_refused(analyzer: PolicyAnalyzer, dev: RunResult, verb: str) -> None:
    assert _role_findings(analyzer, dev, verbs=["get", verb]) == [
        f"{ROLE} rule 0: verbs [{verb!r}] are not read-only: keep to {READ_ONLY}"]


@pytest.mark.parametrize("resource", FORBIDDEN)
def test_each_forbidden_resource_on_its_own_is_refused(analyzer: PolicyAnalyzer, dev: RunResult,
                                                       resource: str) -> None:
    assert _role_findings(analyzer, dev, resources=["pods", resource]) == [
        f"{ROLE} rule 0: grants [{resource!r}]: workload accounts must never read secrets or open "
        "exec/attach/port-forward/token endpoints; remove them"]


@pytest.mark.parametrize("resource", ["pods/log", "pods/status", "serviceaccounts", "configmaps"])
def test_resources_next_to_forbidden_ones_pass(analyzer: PolicyAnalyzer, dev: RunResult, resource: str) -> None:
    assert _role_findings(analyzer, dev, resources=[resource]) == []


@pytest.mark.parametrize("field", ["verbs", "resources", "apiGroups", "nonResourceURLs"])
def test_a_wildcard_in_each_list(analyzer: PolicyAnalyzer, dev: RunResult, field: str) -> None:
    found = _role_findings(analyzer, dev, **{field: ["*"]})
    wildcard = f"{ROLE} rule 0: wildcard '*' in {field}: list exactly what the agents read"
    if field == "resources":  # '*' is also a forbidden resource
        assert found == sorted([wildcard, f"{ROLE} rule 0: grants ['*']: workload accounts must never read secrets "
                                          "or open exec/attach/port-forward/token endpoints; remove them"])
    else:
        assert found == [wildcard]


def test_wildcards_in_two_lists_are_named_together(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    assert _role_findings(analyzer, dev, verbs=["*"], apiGroups=["*"]) == [
        f"{ROLE} rule 0: wildcard '*' in verbs, apiGroups: list exactly what the agents read"]


def test_configured_lists_replace_the_defaults(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = {POLICY: {"enforcementLevel": "mandatory", "allowedVerbs": ["get"], "forbiddenResources": ["pods"]}}
    assert _role_findings(analyzer, dev, config, verbs=["list"], resources=["secrets"]) == [
        f"{ROLE} rule 0: verbs ['list'] are not read-only: keep to ['get']"]
    assert _role_findings(analyzer, dev, config, resources=["pods"]) == [
        f"{ROLE} rule 0: grants ['pods']: workload accounts must never read secrets or open "
        "exec/attach/port-forward/token endpoints; remove them"]


def test_each_rule_is_judged_by_its_index(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "ClusterRole", "openclaw-readonly", lambda p: p["rules"][2]["verbs"].append("delete"))
    assert messages(findings(analyzer, records, POLICY)) == [
        f"{ROLE} rule 2: verbs ['delete'] are not read-only: keep to {READ_ONLY}"]


def _subjects(*kinds: str) -> Any:
    return lambda p: p.__setitem__("subjects", [{"kind": k, "name": "x", **({"namespace": "openclaw"}
                                                                            if k == "ServiceAccount" else {})}
                                                for k in kinds])


def _with_secrets_role(dev: RunResult) -> list[ResourceRecord]:
    return mutate(dev, "ClusterRole", "openclaw-readonly", lambda p: p["rules"][0]["resources"].append("secrets"))


def _binding(records: list[ResourceRecord], change: Any) -> list[ResourceRecord]:
    out = []
    for record in records:
        if record.type == RBAC + "ClusterRoleBinding":
            props = copy.deepcopy(record.properties)
            change(props)
            record = dataclasses.replace(record, properties=props)
        out.append(record)
    return out


@pytest.mark.parametrize(("kinds", "judged"), [
    (("ServiceAccount",), True), (("User", "ServiceAccount"), True), (("ServiceAccount", "Group"), True),
    (("User",), False), (("Group", "User"), False), ((), False),
])
def test_only_bindings_of_a_service_account_are_judged(analyzer: PolicyAnalyzer, dev: RunResult,
                                                       kinds: tuple[str, ...], judged: bool) -> None:
    found = findings(analyzer, _binding(_with_secrets_role(dev), _subjects(*kinds)), POLICY)
    assert [m.split(":")[0] for m in messages(found)] == ([f"{ROLE} rule 0"] if judged else [])


def _copy(record: ResourceRecord, kind: str, name: str, namespace: str | None, change: Any) -> ResourceRecord:
    props = {**copy.deepcopy(record.properties), "kind": kind,
             "metadata": {"name": name, **({"namespace": namespace} if namespace else {})}}
    change(props)
    return dataclasses.replace(record, type=RBAC + kind, name=name, urn=f"{record.urn}-{kind}-{name}",
                               properties=props)


def _role_and_binding(dev: RunResult, role_ns: str, binding_ns: str, ref_kind: str = "Role",
                      ref_name: str = "reader") -> list[ResourceRecord]:
    role = next(r for r in dev.resources if r.type == RBAC + "ClusterRole")
    binding = next(r for r in dev.resources if r.type == RBAC + "ClusterRoleBinding")
    assert object_name(role) == "openclaw-readonly"
    extra = [_copy(role, "Role", "reader", role_ns, lambda p: p["rules"][0]["resources"].append("pods/exec")),
             _copy(binding, "RoleBinding", "reader-binding", binding_ns,
                   lambda p: p.__setitem__("roleRef", {**p["roleRef"], "kind": ref_kind, "name": ref_name}))]
    return [*dev.resources, *extra]


def test_a_role_binding_is_judged_against_the_role_in_its_namespace(analyzer: PolicyAnalyzer,
                                                                   dev: RunResult) -> None:
    found = messages(findings(analyzer, _role_and_binding(dev, "openclaw", "openclaw"), POLICY))
    assert [m.split(": grants")[0] for m in found] == ["Role openclaw/reader rule 0"]
    assert "['pods/exec']" in found[0]


def test_a_role_in_another_namespace_is_not_the_one_bound(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = messages(findings(analyzer, _role_and_binding(dev, "other", "openclaw"), POLICY))
    assert found == ["RoleBinding openclaw/reader-binding binds a service account to Role 'reader', which this "
                     "stack does not define, so it cannot be checked: define the role in the program"]


def test_a_role_binding_may_name_a_cluster_role(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = _role_and_binding(dev, "openclaw", "openclaw", ref_kind="ClusterRole", ref_name="openclaw-readonly")
    assert messages(findings(analyzer, records, POLICY)) == []
    bad = [dataclasses.replace(r, properties={**r.properties, "rules": [{"apiGroups": [""], "resources": ["secrets"],
                                                                         "verbs": ["get"]}]})
           if r.type == RBAC + "ClusterRole" else r for r in records]
    # Both bindings (the program's and this one) grant it: one finding each, on the role.
    assert [m.split(": grants")[0] for m in messages(findings(analyzer, bad, POLICY))] == [f"{ROLE} rule 0"] * 2


UNKNOWN_ENTRY = "an unknown entry of {} could be '*' or beyond ['get', 'list', 'watch']"


@pytest.mark.parametrize(("kind", "change", "expected"), [
    ("ClusterRole", lambda p: p["rules"].__setitem__(0, UNKNOWN),
     [undecidable(f"{ROLE} rule 0 rules[0]", "the rule's verbs and resources are what this policy judges")]),
    ("ClusterRole", lambda p: p.__setitem__("rules", UNKNOWN),
     [undecidable(f"{ROLE} rules", "the role's rules are what this policy judges")]),
    ("ClusterRole", lambda p: p["rules"][0]["verbs"].__setitem__(0, UNKNOWN),
     [undecidable(f"{ROLE} rule 0 rules[0].verbs[0]", UNKNOWN_ENTRY.format("verbs"))]),
    ("ClusterRole", lambda p: p["rules"][0]["resources"].__setitem__(0, UNKNOWN),
     [undecidable(f"{ROLE} rule 0 rules[0].resources[0]", UNKNOWN_ENTRY.format("resources"))]),
    ("ClusterRole", lambda p: p["rules"][0]["apiGroups"].__setitem__(0, UNKNOWN),
     [undecidable(f"{ROLE} rule 0 rules[0].apiGroups[0]", UNKNOWN_ENTRY.format("apiGroups"))]),
    # a non-resource URL grants nothing on resources: an unknown one cannot widen a ClusterRole's reach here
    ("ClusterRole", lambda p: p["rules"][0].__setitem__("nonResourceURLs", [UNKNOWN]), []),
    ("ClusterRoleBinding", lambda p: p["roleRef"].__setitem__("name", UNKNOWN),
     [undecidable("ClusterRoleBinding openclaw-readonly-binding roleRef.name",
                   "it decides which role the binding grants")]),
    ("ClusterRoleBinding", lambda p: p["roleRef"].__setitem__("kind", UNKNOWN),
     [undecidable("ClusterRoleBinding openclaw-readonly-binding roleRef.kind",
                   "it decides which role the binding grants")]),
    ("ClusterRole", lambda p: p["metadata"].__setitem__("name", UNKNOWN),
     [undecidable("ClusterRole (name unknown at preview) metadata.name", "it decides whether this is the "
                   "ClusterRole 'openclaw-readonly' that ClusterRoleBinding openclaw-readonly-binding binds")]),
    # who is bound decides nothing while the role is read-only
    ("ClusterRoleBinding", lambda p: p.__setitem__("subjects", UNKNOWN), []),
    ("ClusterRoleBinding", lambda p: p["subjects"][0].__setitem__("kind", UNKNOWN), []),
], ids=["rule", "rules", "verb", "resource", "apiGroup", "nonResourceURL", "roleRef name", "roleRef kind",
        "role name", "subjects", "subject kind"])
def test_each_unknown_that_decides_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult, kind: str, change: Any,
                                                  expected: list[str]) -> None:
    assert messages(findings(analyzer, mutate(dev, kind, None, change), POLICY)) == expected


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p.__setitem__("subjects", UNKNOWN), "subjects"),
    (lambda p: p["subjects"].__setitem__(0, {"kind": UNKNOWN, "name": "x"}), "subjects[0].kind"),
    (lambda p: p.__setitem__("subjects", [{"kind": "User", "name": "x"}, {"kind": UNKNOWN, "name": "y"}]),
     "subjects[1].kind"),
])
def test_an_unknown_subject_decides_whether_a_bad_role_matters(analyzer: PolicyAnalyzer, dev: RunResult,
                                                               change: Any, field: str) -> None:
    records = _binding(_with_secrets_role(dev), change)
    grants = (f"{ROLE} rule 0: grants ['secrets']: workload accounts must never read secrets or open "
              "exec/attach/port-forward/token endpoints; remove them")
    assert messages(findings(analyzer, records, POLICY)) == [
        undecidable(f"ClusterRoleBinding openclaw-readonly-binding {field}", f"if it is a ServiceAccount: {grants}")]


def test_each_finding_is_attached_to_the_resource_to_fix(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    role, binding = (next(r.urn.rsplit("::", 1)[-1] for r in dev.resources if r.type == RBAC + kind)
                     for kind in ("ClusterRole", "ClusterRoleBinding"))
    # a role that breaks the rule: on the role
    assert [a for a, _ in attached(analyzer, _with_secrets_role(dev), POLICY)] == [role]
    # a binding to a role the stack does not define: on the binding
    records = _role_and_binding(dev, "other", "openclaw")
    assert [a for a, _ in attached(analyzer, records, POLICY)] == [records[-1].urn.rsplit("::", 1)[-1]]
    # an unknown roleRef: on the binding; an unknown subject with a bad role: on the binding
    assert [a for a, _ in attached(analyzer, mutate(dev, "ClusterRoleBinding", None,
                                                    lambda p: p["roleRef"].__setitem__("name", UNKNOWN)), POLICY)] == [
        binding]
    bad_subject = _binding(_with_secrets_role(dev), lambda p: p.__setitem__("subjects", UNKNOWN))
    assert [a for a, _ in attached(analyzer, bad_subject, POLICY)] == [binding]
    # an unknown entry of the role, or a role whose name is unknown: on the role
    assert [a for a, _ in attached(analyzer, mutate(dev, "ClusterRole", None,
                                                    lambda p: p["rules"][0]["verbs"].__setitem__(0, UNKNOWN)),
                                   POLICY)] == [role]
    assert [a for a, _ in attached(analyzer, mutate(dev, "ClusterRole", None,
                                                    lambda p: p["metadata"].__setitem__("name", UNKNOWN)),
                                   POLICY)] == [role]


def test_a_role_whose_namespace_is_unknown(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = [dataclasses.replace(r, properties={**r.properties, "metadata": {**r.properties["metadata"],
                                                                               "namespace": UNKNOWN}})
               if r.type == RBAC + "Role" else r for r in _role_and_binding(dev, "openclaw", "openclaw")]
    assert messages(findings(analyzer, records, POLICY)) == [undecidable(
        "Role (namespace unknown)/reader metadata.namespace", "it decides whether this is the Role 'reader' that "
        "RoleBinding openclaw/reader-binding binds")]


def test_every_binding_is_judged_whatever_comes_before_it(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    """The program's binding first (binding no service account, or naming an unknown role), then a
    RoleBinding of a service account to a Role that opens exec: that one is still judged."""
    exec_finding = ("Role openclaw/reader rule 0: grants ['pods/exec']: workload accounts must never read secrets "
                    "or open exec/attach/port-forward/token endpoints; remove them")
    records = _role_and_binding(dev, "openclaw", "openclaw")
    users_only = _binding(records, _subjects("User"))
    assert messages(findings(analyzer, users_only, POLICY)) == [exec_finding]
    unknown_ref = _binding(records, lambda p: p["roleRef"].__setitem__("name", UNKNOWN))
    assert messages(findings(analyzer, unknown_ref, POLICY)) == sorted([exec_finding, undecidable(
        "ClusterRoleBinding openclaw-readonly-binding roleRef.name", "it decides which role the binding grants")])


def test_a_role_after_one_whose_name_is_unknown_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    role = next(r for r in dev.resources if r.type == RBAC + "ClusterRole")
    unnamed = _copy(role, "ClusterRole", "x", None, lambda p: p["metadata"].__setitem__("name", UNKNOWN))
    records = [unnamed, *_with_secrets_role(dev)]
    assert messages(findings(analyzer, records, POLICY)) == [
        f"{ROLE} rule 0: grants ['secrets']: workload accounts must never read secrets or open "
        "exec/attach/port-forward/token endpoints; remove them"]


@pytest.mark.parametrize("unnamed_role", [False, True])
def test_a_binding_after_one_to_a_role_not_found_is_still_judged(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                 unnamed_role: bool) -> None:
    exec_finding = ("Role openclaw/reader rule 0: grants ['pods/exec']: workload accounts must never read secrets "
                    "or open exec/attach/port-forward/token endpoints; remove them")
    records = _binding(_role_and_binding(dev, "openclaw", "openclaw"),
                       lambda p: p["roleRef"].__setitem__("name", "missing"))
    if unnamed_role:
        role = next(r for r in dev.resources if r.type == RBAC + "ClusterRole")
        records = [_copy(role, "ClusterRole", "x", None, lambda p: p["metadata"].__setitem__("name", UNKNOWN)),
                   *records]
        first = undecidable("ClusterRole (name unknown at preview) metadata.name", "it decides whether this is the "
                             "ClusterRole 'missing' that ClusterRoleBinding openclaw-readonly-binding binds")
    else:
        first = ("ClusterRoleBinding openclaw-readonly-binding binds a service account to ClusterRole 'missing', "
                 "which this stack does not define, so it cannot be checked: define the role in the program")
    assert messages(findings(analyzer, records, POLICY)) == sorted([exec_finding, first])
