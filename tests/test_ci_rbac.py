"""The CI identities' RBAC (tools/ci_rbac.py) judged by a small RBAC evaluator (tests/support/rbac_eval.py)
against every API call a preview and an up make (engine/provider_calls.py, read in
pulumi-kubernetes' source), both ways, for each stack and each feature that adds a kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.rbac import READ_ONLY_RULES
from engine.harness import REPO, RunResult, run_stack
from engine.provider_calls import (
    RESOURCES,
    WRITE_VERBS,
    Call,
    UnknownKindError,
    deploy_calls,
    preview_dry_runs,
    preview_reads,
    resource_of,
    unique,
)
from engine.schema import validate_manifests
from engine.vault_fixture import kv_v2_invokes
from tests.support.rbac_eval import Grant, allows, covers, expand, grants_of, rule_allows, wildcards
from tests.vault_fixtures import DIRECT, FAKE_VAULT
from tools import ci_rbac

VARIANTS = {
    "dev": {"stack": "dev"},
    "prod (backup)": {"stack": "prod"},
    "dev with alerts": {"stack": "dev", "overrides": {"openclaw:alerts": {"enabled": True}}},
    "dev, direct secrets": {"stack": "dev", "overrides": DIRECT, "invokes": kv_v2_invokes(FAKE_VAULT)},
}
# A call of the list the deploy identity is denied on purpose, and why.
NOT_GRANTED = {("create", "", "namespaces"): "the namespace exists before the first up (the deploy Role lives in "
               "it; tools/ci_rbac.py): the up adopts it, it never creates one"}


@pytest.fixture(scope="module", params=list(VARIANTS))
def case(request: pytest.FixtureRequest) -> tuple[RunResult, list[dict[str, Any]]]:
    run = run_stack(**VARIANTS[request.param])
    return run, ci_rbac.manifests(run)


def _records(run: RunResult) -> list[Any]:
    return [r for r in run.kubernetes() if r.type != "pulumi:providers:kubernetes"]


def _class(run: RunResult) -> str:
    return str(run.find("PersistentVolumeClaim", "openclaw-data").properties["spec"]["storageClassName"])


def _grants(docs: list[dict[str, Any]], identity: str) -> list[Grant]:
    return grants_of(docs, (ci_rbac.CI_NAMESPACE, identity))


def test_the_manifests_are_schema_valid_and_use_no_wildcard(case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    _, docs = case
    report = validate_manifests(docs)
    assert not report.errors and not report.skipped and len(report.checked) == len(docs)
    for doc in docs:
        assert not wildcards(doc.get("rules") or []), doc["metadata"]["name"]
        for rule in doc.get("rules") or []:
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), rule


def test_every_call_of_a_preview_is_allowed_to_the_preview_identity(
        case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    run, docs = case
    grants = _grants(docs, ci_rbac.PREVIEW)
    missing = [c for c in unique(preview_reads(_records(run), _class(run))) if not allows(grants, c)]
    assert not missing


def test_the_preview_identity_is_refused_every_write(case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    run, docs = case
    grants = _grants(docs, ci_rbac.PREVIEW)
    # The dry runs the provider attempts (and survives being refused), then every write verb on
    # every resource the program has, by name and without, in place and cluster-wide.
    attempts = preview_dry_runs(_records(run))
    for group, resource in {resource_of(r) for r in _records(run)} | {("rbac.authorization.k8s.io", "roles"),
                                                                      ("rbac.authorization.k8s.io", "rolebindings")}:
        for verb in (*WRITE_VERBS, "escalate", "bind", "impersonate"):
            for namespace in ("openclaw", None):
                attempts += [Call(verb, group, resource, namespace, None), Call(verb, group, resource, namespace, "x")]
    allowed = [c for c in attempts if allows(grants, c)]
    assert not allowed
    assert len(attempts) > 300


def test_the_preview_identity_reads_no_secret_it_does_not_need(case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    run, docs = case
    grants = _grants(docs, ci_rbac.PREVIEW)
    ours = {r.properties["metadata"]["name"] for r in _records(run) if r.properties["kind"] == "Secret"}
    for name in ("openclaw-secrets", "vault-token", "default-token"):
        assert allows(grants, Call("get", "", "secrets", "openclaw", name)) == (name in ours)
    assert not allows(grants, Call("list", "", "secrets", "openclaw", None))
    assert not allows(grants, Call("get", "", "secrets", "kube-system", "openclaw-secrets"))


def test_every_call_of_an_up_is_allowed_to_the_deploy_identity(case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    run, docs = case
    grants = _grants(docs, ci_rbac.DEPLOY)
    calls = unique(deploy_calls(_records(run), _class(run)))
    assert len(calls) > 60
    missing = [c for c in calls if not allows(grants, c) and (c.verb, c.group, c.resource) not in NOT_GRANTED]
    assert not missing
    for c in calls:
        if (c.verb, c.group, c.resource) in NOT_GRANTED:
            assert not allows(grants, c)


def _used(rule: dict[str, Any], namespace: str | None, calls: list[Call]) -> bool:
    for wanted in expand(rule):
        needed = any(c.verb == wanted.verb and c.group == wanted.group and c.resource == wanted.resource
                     and (wanted.name is None or c.name == wanted.name)
                     and (namespace is None or c.namespace == namespace) for c in calls)
        if not needed and (wanted.verb, wanted.group, wanted.resource) not in ci_rbac.EXTRA:
            return False
    return True


@pytest.mark.parametrize("identity", [ci_rbac.PREVIEW, ci_rbac.DEPLOY])
def test_every_rule_serves_a_call_or_the_escalation_rule(identity: str,
                                                          case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    """Exactly what is needed: each request a rule allows is one the list has (or a documented extra);
    the deploy identity's copy of each ClusterRole the program creates is what lets it create that."""
    run, docs = case
    records = _records(run)
    calls = (preview_reads(records, _class(run)) if identity == ci_rbac.PREVIEW
             else deploy_calls(records, _class(run)))
    escalation = [rule for r in records if r.properties["kind"] == "ClusterRole" for rule in r.properties["rules"]]
    for grant in _grants(docs, identity):
        for rule in grant.rules:
            escalating = identity == ci_rbac.DEPLOY and rule in escalation
            assert _used(dict(rule), grant.namespace, calls) or escalating, rule


def test_the_deploy_identity_may_create_and_bind_the_programs_cluster_role(
        case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    """Kubernetes lets an identity create or bind a ClusterRole only if its cluster-wide rules cover
    every rule of it (RBAC escalation prevention): the deploy identity holds them, no escalate/bind."""
    run, docs = case
    cluster_wide = [rule for g in _grants(docs, ci_rbac.DEPLOY) if g.namespace is None for rule in g.rules]
    namespaced_only = [rule for g in _grants(docs, ci_rbac.DEPLOY) if g.namespace is not None for rule in g.rules]
    (role,) = [r for r in _records(run) if r.properties["kind"] == "ClusterRole"]
    assert role.properties["rules"] == [{"apiGroups": [g], "resources": rs, "verbs": ["get", "list", "watch"]}
                                        for g, rs in READ_ONLY_RULES.items()]
    for rule in role.properties["rules"]:
        assert covers(cluster_wide, rule), rule
        # A RoleBinding's rules do not count: the same rule only in the namespace would not do.
        assert not covers(namespaced_only, rule)


# --- the evaluator itself, at its edges ----------------------------------------------------------

def test_resource_names_allow_only_named_requests() -> None:
    rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "list"], "resourceNames": ["a"]}
    assert rule_allows(rule, Call("get", "", "secrets", "ns", "a"))
    assert not rule_allows(rule, Call("get", "", "secrets", "ns", "b"))
    assert not rule_allows(rule, Call("create", "", "secrets", "ns", None))
    assert not rule_allows(rule, Call("list", "", "secrets", "ns", None))
    assert not rule_allows(rule, Call("get", "apps", "secrets", "ns", "a"))
    assert not rule_allows(rule, Call("get", "", "secrets/status", "ns", "a"))  # a subresource is its own
    assert not rule_allows({**rule, "resourceNames": []} | {"verbs": ["get"]}, Call("patch", "", "secrets", "ns", "a"))


def test_a_role_binding_grants_in_its_namespace_only() -> None:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}
    in_ns = [Grant((rule,), "openclaw")]
    assert allows(in_ns, Call("list", "", "pods", "openclaw", None))
    assert not allows(in_ns, Call("list", "", "pods", "other", None))
    assert not allows(in_ns, Call("list", "", "pods", None, None))  # all namespaces: a ClusterRoleBinding only
    assert allows([Grant((rule,), None)], Call("list", "", "pods", "other", None))
    assert not allows([Grant(({"nonResourceURLs": ["/api"], "verbs": ["get"]},), None)],
                      Call("get", "", "pods", "openclaw", "x"))


def test_covers_needs_every_verb_and_unrestricted_names() -> None:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
    assert covers([{"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}], rule)
    assert not covers([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], rule)
    assert not covers([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"], "resourceNames": ["p"]}],
                      rule)
    assert covers([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], rule)
    assert wildcards([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}]) == ["apiGroups: ['*']"]


def test_the_call_list_knows_every_kind_the_program_creates(case: tuple[RunResult, list[dict[str, Any]]]) -> None:
    run, _ = case
    for record in _records(run):
        resource_of(record)  # raises UnknownKindError for a kind nobody read the provider's calls for
    with pytest.raises(UnknownKindError):
        resource_of(type(record)(**{**record.__dict__, "properties": {"apiVersion": "v1", "kind": "Pod"}}))


def test_custom_resource_plurals_match_the_vendored_crds() -> None:
    for path in sorted((REPO / "engine" / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            if key in RESOURCES:
                assert RESOURCES[key] == (crd["spec"]["group"], crd["spec"]["names"]["plural"])


# --- the command --------------------------------------------------------------------------------

def test_the_command_writes_valid_manifests_for_a_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ci_rbac.main(["--stack", "prod", "--out", str(tmp_path)]) == 0
    docs = list(yaml.safe_load_all((tmp_path / "ci-rbac.yaml").read_text(encoding="utf-8")))
    assert docs == ci_rbac.manifests(run_stack("prod"))
    out = capsys.readouterr().out
    assert "objects valid" in out and "kubectl apply --server-side --field-manager=openclaw-ci-rbac" in out
    tokens = [d for d in docs if d["kind"] == "Secret"]
    assert {d["type"] for d in tokens} == {"kubernetes.io/service-account-token"}
    assert all("data" not in d and "stringData" not in d for d in tokens)  # the token controller fills them
    assert ci_rbac.main(["--stack", "nope", "--out", str(tmp_path)]) == 2


def test_the_docs_say_how_to_apply_it_once() -> None:
    docs = (REPO / "docs" / "ci-rbac.md").read_text(encoding="utf-8")
    for needle in ("python -m tools.ci_rbac --stack", "kubectl apply --server-side --field-manager=openclaw-ci-rbac",
                   "openclaw-preview-token", "openclaw-deploy-token", "engine/provider_calls.py"):
        assert needle in docs
