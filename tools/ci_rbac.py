"""The CI identities' RBAC, as manifests a cluster admin applies once (docs/ci-rbac.md):

    python -m tools.ci_rbac --stack dev --out out/ci-rbac/dev     # writes ci-rbac.yaml, validates it

It cannot deploy itself: the deploy identity may not grant itself rights. Derived from the stack's
render (the kinds, names and options the program really has), so a new kind or feature changes it:
- `openclaw-preview` (`pulumi preview --refresh` of pull requests): read-only. It reads every object
  of the program by name, the lists the provider's refresh reads, and the StorageClass; every write,
  dry run included, is refused, which the provider tolerates at preview (engine/provider_calls.py);
- `openclaw-deploy` (deploy.yml's `up`): exactly the calls of engine/provider_calls.py, namespaced
  rights by a Role in the app namespace; cluster-scoped rights by name where Kubernetes allows it
  (create cannot be limited by name); and the read-only rights `openclaw-readonly` grants, because
  creating or binding a ClusterRole needs every right it grants (no `escalate`/`bind`: with them
  the deploy identity could grant anything through that role).
Both ServiceAccounts live in `openclaw-ci`, with a token Secret each for the CI kubeconfigs. The app
namespace is part of the manifests: the Roles live in it, so it exists before the first `up`, which
adopts it (`kubernetes.adoptExisting`, docs/takeover-runbook.md#objects-that-already-exist).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.harness import HarnessError, RunResult, run_stack
from engine.provider_calls import WAIT_FOR, resource_of
from engine.records import ResourceRecord
from engine.schema import validate_manifests
from engine.yaml_text import to_yaml

CI_NAMESPACE = "openclaw-ci"
PREVIEW, DEPLOY = "openclaw-preview", "openclaw-deploy"
FIELD_MANAGER = "openclaw-ci-rbac"  # `kubectl apply --server-side --field-manager` of the admin
RBAC = "rbac.authorization.k8s.io"
LABELS = {"app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/component": "ci"}
# Allowed beyond the calls read in the provider's source, with the reason (tests/test_ci_rbac.py
# holds every rule to a call or to this list).
EXTRA = {("list", "discovery.k8s.io", "endpointslices"): "a newer provider may await a Service on "
         "EndpointSlices instead of Endpoints: a read in the app namespace, so the up never hangs on it",
         ("watch", "discovery.k8s.io", "endpointslices"): "as above"}


def _rule(group: str, resources: Sequence[str], verbs: Sequence[str], names: Sequence[str] = ()) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": [group], "resources": sorted(resources), "verbs": sorted(verbs)}
    if names:
        rule["resourceNames"] = sorted(set(names))
    return rule


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def _objects(run: RunResult) -> list[ResourceRecord]:
    return [r for r in run.kubernetes() if r.type != "pulumi:providers:kubernetes"]


def _names(records: Sequence[ResourceRecord]) -> list[str]:
    return [str(r.properties["metadata"]["name"]) for r in records]


def _by_resource(records: Sequence[ResourceRecord], namespaced: bool) -> dict[tuple[str, str], list[ResourceRecord]]:
    grouped: dict[tuple[str, str], list[ResourceRecord]] = {}
    for record in records:
        if ("namespace" in record.properties["metadata"]) == namespaced:
            grouped.setdefault(resource_of(record), []).append(record)
    return dict(sorted(grouped.items()))


def _deletable(records: Sequence[ResourceRecord]) -> bool:
    return any(not (r.options.protect or r.options.retain_on_delete) for r in records)


def _storage_class(run: RunResult) -> str:
    (claim,) = [r for r in _objects(run) if r.properties["kind"] == "PersistentVolumeClaim"]
    return str(claim.properties["spec"]["storageClassName"])


def preview_rules(run: RunResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(cluster-wide rules, rules in the app namespace) of the read-only preview identity."""
    objects = _objects(run)
    cluster = [_rule(g, [r], ["get"], _names(recs)) for (g, r), recs in _by_resource(objects, False).items()]
    cluster.append(_rule("storage.k8s.io", ["storageclasses"], ["get"], [_storage_class(run)]))
    namespaced = []
    for (group, resource), records in _by_resource(objects, True).items():
        # Secrets by name only; the app namespace holds only the program's objects otherwise, whose
        # names change with their content (ConfigMaps).
        namespaced.append(_rule(group, [resource], ["get"], _names(records) if resource == "secrets" else ()))
    kinds = {r.properties["kind"] for r in objects}
    lists = ([("apps", "replicasets"), ("", "pods"), ("", "persistentvolumeclaims")] if "Deployment" in kinds
             else []) + ([("", "endpoints")] if "Service" in kinds else []) + ([("", "pods")] if "Job" in kinds else [])
    namespaced += [_rule(g, [r], ["list"]) for g, r in dict.fromkeys(lists)]
    return cluster, namespaced


def deploy_rules(run: RunResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(cluster-wide rules, rules in the app namespace) of the deploy identity."""
    objects = _objects(run)
    cluster: list[dict[str, Any]] = []
    for (group, resource), records in _by_resource(objects, False).items():
        names = _names(records)
        if resource != "namespaces":  # the namespace exists first (its Role lives there): never created
            cluster.append(_rule(group, [resource], ["create"]))
        cluster.append(_rule(group, [resource], ["get", "patch", *(["delete"] if _deletable(records) else [])], names))
        if _deletable(records):
            cluster.append(_rule(group, [resource], ["list", "watch"]))  # the deletion's informer
    cluster.append(_rule("storage.k8s.io", ["storageclasses"], ["get"], [_storage_class(run)]))
    cluster.append(_rule("", ["events"], ["list", "watch"]))  # events of cluster-scoped objects
    # Every right of the ClusterRoles the program creates: without them Kubernetes refuses to create
    # or bind those roles (RBAC escalation prevention).
    for role in (r for r in objects if r.properties["kind"] == "ClusterRole"):
        cluster += [dict(rule) for rule in role.properties.get("rules") or []]
    namespaced: list[dict[str, Any]] = []
    informed: set[tuple[str, str]] = {("", "events")}
    for (group, resource), records in _by_resource(objects, True).items():
        deletable = _deletable(records)
        if resource == "secrets":  # created by name only after the create
            namespaced += [_rule(group, [resource], ["create"]),
                           _rule(group, [resource], ["get", "patch", *(["delete"] if deletable else [])],
                                 _names(records))]
        else:
            namespaced.append(_rule(group, [resource], ["create", "get", "patch", *(["delete"] if deletable else [])]))
        if deletable or any(WAIT_FOR in (r.properties["metadata"].get("annotations") or {}) for r in records):
            informed.add((group, resource))
        kinds = {r.properties["kind"] for r in records}
        if "Deployment" in kinds:
            informed |= {("apps", "deployments"), ("apps", "replicasets"), ("", "pods"), ("", "persistentvolumeclaims")}
        if "Service" in kinds:
            informed |= {("", "services"), ("", "endpoints"), ("discovery.k8s.io", "endpointslices")}
        if "Job" in kinds:  # the pre-upgrade snapshot: awaited until Complete (provider job.go)
            informed |= {("batch", "jobs"), ("", "pods")}
    namespaced += [_rule(g, [r], ["list", "watch"]) for g, r in sorted(informed)]
    return cluster, namespaced


def _roles(identity: str, namespace: str, cluster: list[dict[str, Any]],
           namespaced: list[dict[str, Any]]) -> list[dict[str, Any]]:
    name = f"openclaw-ci-{identity.removeprefix('openclaw-')}"
    subject = [{"kind": "ServiceAccount", "name": identity, "namespace": CI_NAMESPACE}]
    return [
        {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": _meta(name), "rules": cluster},
        {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": _meta(name), "subjects": subject,
         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name}},
        {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": _meta(name, namespace), "rules": namespaced},
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": _meta(name, namespace), "subjects": subject,
         "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name}},
    ]


def manifests(run: RunResult) -> list[dict[str, Any]]:
    (namespace,) = [str(r.properties["metadata"]["name"]) for r in _objects(run) if r.properties["kind"] == "Namespace"]
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(CI_NAMESPACE)},
        # Bare: the program's first up adopts it and sets its labels (Pod Security and the rest).
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    ]
    for identity in (PREVIEW, DEPLOY):
        docs += [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(identity, CI_NAMESPACE),
             "automountServiceAccountToken": False},
            # The token controller fills it; its token goes into the CI kubeconfig (docs/ci-rbac.md).
            {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
             "metadata": {**_meta(f"{identity}-token", CI_NAMESPACE),
                          "annotations": {"kubernetes.io/service-account.name": identity}}},
        ]
    docs += _roles(PREVIEW, namespace, *preview_rules(run))
    docs += _roles(DEPLOY, namespace, *deploy_rules(run))
    return docs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ci_rbac", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--out", type=Path, required=True, help="folder for ci-rbac.yaml")
    args = parser.parse_args(argv)
    try:
        run = run_stack(args.stack)
    except HarnessError as exc:
        print(f"ci_rbac: {exc}", file=sys.stderr)
        return 2
    docs = manifests(run)
    report = validate_manifests(docs)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "ci-rbac.yaml"
    path.write_text("".join(f"---\n{to_yaml(d)}" for d in docs), encoding="utf-8")
    print(f"wrote {path} ({len(docs)} objects) for stack {args.stack}")
    print(report.summary())
    print(f"apply once, as a cluster admin: kubectl apply --server-side --field-manager={FIELD_MANAGER} -f {path}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
