"""Every Kubernetes API call a preview and an up of the program make, object by object, read in
pulumi-kubernetes (provider/pkg at commit 94977969d, after v4.32.0; the program pins 4.34.2) and in
the program's own reads (components/cluster_reads.py). tests/test_ci_rbac.py evaluates the CI
identities' RBAC (tools/ci_rbac.py) against this list, both ways.

Per object, where the provider makes which call (Create/Read/Update/Delete are
provider/pkg/provider/provider.go; the rest provider/pkg/await/ unless named):
- create: `Creation` (await.go) POSTs the object (`client.Create`, field manager
  "pulumi-kubernetes"), or with `upsertExistingObjects` (the takeover) PATCHes it with server-side
  apply; an apply that creates is also authorized as `create` (kube-apiserver
  endpoints/handlers/patch.go, `createAuthorizerAttributes`). At preview the same request is sent
  with dryRun=All.
- update: `Update` GETs the live object, then `ssaUpdate` PATCHes: the JSON patch of
  `fixCSAFieldManagers` (not at preview), the apply patch (dryRun=All at preview), and
  `ssa.Relinquish` when the field manager changed (provider.go `Update`).
- read (refresh, and the program's existence check): GET by name (await.go `Read`); then
  `awaitRead`: a Deployment also LISTs replicasets, pods and persistentvolumeclaims in its namespace
  (deployment.go `Read`), a Service LISTs endpoints (service.go `Read`).
- wait after create/update (not at preview): every object gets an Events observer,
  `NewEventAggregator` (watchers.go): an informer, i.e. LIST and WATCH of `events` in the object's
  namespace, all namespaces for a cluster-scoped object (informers/factory.go `ForNamespace("")`).
  A Deployment informs on deployments, replicasets, pods and persistentvolumeclaims
  (deployment.go `Await`); a Service on services and endpoints (service.go `Await`); a Job on jobs
  and pods until its `Complete` condition, and its refresh LISTs pods while it is not complete
  (job.go `Await`, `Read`, NewPodAggregator); an object with
  `pulumi.com/waitFor` on its own kind (condition/custom.go through `DynamicSource.Watch`); a PVC is
  polled by GET (watcher.go `ForObject`) and its StorageClass is read with GET (awaiters.go
  `pvcBindMode`). Other kinds (Namespace, ConfigMap, NetworkPolicy, ServiceAccount on Kubernetes
  >= 1.24, Secret of type Opaque, RBAC, CronJob, custom resources without waitFor) are ready at once.
  An informer whose LIST is refused never syncs and `Subscribe` waits (factory.go,
  `WaitForCacheSync` on the provider's own context): a missing LIST/WATCH hangs the up.
- delete: DELETE, then `Deletion` waits through a `DeletionSource`: GET, and an informer (LIST,
  WATCH) on the kind in the namespace (cluster-wide for cluster-scoped kinds). Never for a resource
  that is `protect`ed or `retainOnDelete` (the engine does not ask the provider to delete it).
- The provider never PUTs (`client.Update` is for CRDs only, await.go `updateResource`), and its
  discovery and OpenAPI reads (`/api`, `/apis`, `/openapi/v2`) are non-resource URLs every
  authenticated user may read (the default `system:discovery` ClusterRole).

At preview a dry-run create or patch the identity may not make is no error: `Create` returns the
inputs as planned outputs when the dry run is Forbidden ("unable to compute Server-side dry-run and
defaulting to client-side"), and so does `Update` ("could not preview Update"). So the preview
identity is read-only and its previews stay green; it needs the reads (refresh, `Update`'s GET, the
program's own checks), and every write is attempted and refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.records import ResourceRecord

# apiVersion/kind -> (API group, resource): the kinds the program creates and the ones the
# provider reads for them. A new kind fails `resource_of` until it is added here.
RESOURCES: dict[tuple[str, str], tuple[str, str]] = {
    ("v1", "Namespace"): ("", "namespaces"),
    ("v1", "ConfigMap"): ("", "configmaps"),
    ("v1", "Secret"): ("", "secrets"),
    ("v1", "Service"): ("", "services"),
    ("v1", "ServiceAccount"): ("", "serviceaccounts"),
    ("v1", "PersistentVolumeClaim"): ("", "persistentvolumeclaims"),
    ("apps/v1", "Deployment"): ("apps", "deployments"),
    ("batch/v1", "CronJob"): ("batch", "cronjobs"),
    ("batch/v1", "Job"): ("batch", "jobs"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networking.k8s.io", "networkpolicies"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("secrets.hashicorp.com/v1beta1", "VaultAuth"): ("secrets.hashicorp.com", "vaultauths"),
    ("secrets.hashicorp.com/v1beta1", "VaultStaticSecret"): ("secrets.hashicorp.com", "vaultstaticsecrets"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("monitoring.coreos.com", "prometheusrules"),
}
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
WAIT_FOR = "pulumi.com/waitFor"


class UnknownKindError(KeyError):
    """A kind the list does not know: read what the provider does for it and add it to RESOURCES."""


@dataclass(frozen=True)
class Call:
    verb: str
    group: str
    resource: str
    namespace: str | None  # None: a cluster-scoped object, or every namespace (list/watch)
    name: str | None  # None: create, list, watch
    why: str = ""

    def key(self) -> tuple[str, str, str, str | None, str | None]:
        return self.verb, self.group, self.resource, self.namespace, self.name


def resource_of(record: ResourceRecord) -> tuple[str, str]:
    key = (str(record.properties.get("apiVersion")), str(record.properties.get("kind")))
    if key not in RESOURCES:
        raise UnknownKindError(f"{key}: not in engine/provider_calls.py RESOURCES")
    return RESOURCES[key]


def _meta(record: ResourceRecord) -> tuple[str | None, str]:
    meta = record.properties.get("metadata") or {}
    return meta.get("namespace"), str(meta["name"])


def _reads_for_refresh(record: ResourceRecord, ns: str | None) -> list[Call]:
    kind = record.properties.get("kind")
    if kind == "Deployment":
        return [Call("list", g, r, ns, None, "deployment.go Read") for g, r in
                (("apps", "replicasets"), ("", "pods"), ("", "persistentvolumeclaims"))]
    if kind == "Service":
        return [Call("list", "", "endpoints", ns, None, "service.go Read")]
    if kind == "Job":  # a Job not complete yet: its pods' errors (job.go Read, NewPodAggregator)
        return [Call("list", "", "pods", ns, None, "job.go Read")]
    return []


def preview_reads(records: Iterable[ResourceRecord], storage_class: str) -> list[Call]:
    """What a preview (`pulumi preview --refresh`) must be allowed to read."""
    calls = [Call("get", "storage.k8s.io", "storageclasses", None, storage_class,
                  "program: check_volume_growth (read only when the size grows)")]
    for record in records:
        group, resource = resource_of(record)
        ns, name = _meta(record)
        calls.append(Call("get", group, resource, ns, name, "refresh Read, Update's live GET, existence check"))
        calls += _reads_for_refresh(record, ns)
    return calls


def preview_dry_runs(records: Iterable[ResourceRecord]) -> list[Call]:
    """The dry-run writes a preview attempts (Forbidden is tolerated: provider.go Create/Update)."""
    calls = []
    for record in records:
        group, resource = resource_of(record)
        ns, name = _meta(record)
        calls += [Call("create", group, resource, ns, None, "Creation dry run"),
                  Call("patch", group, resource, ns, name, "ssaUpdate / upsert dry run")]
    return calls


def _deletable(record: ResourceRecord) -> bool:
    return not (record.options.protect or record.options.retain_on_delete)


def deploy_calls(records: Sequence[ResourceRecord], storage_class: str) -> list[Call]:
    """What an up (with --refresh) makes, for every object of the program."""
    calls = preview_reads(records, storage_class)
    for record in records:
        group, resource = resource_of(record)
        ns, name = _meta(record)
        kind = record.properties.get("kind")
        annotations = (record.properties.get("metadata") or {}).get("annotations") or {}
        calls += [Call("create", group, resource, ns, None, "await.go Creation"),
                  Call("patch", group, resource, ns, name, "ssaUpdate, fixCSAFieldManagers, Relinquish, upsert"),
                  Call("list", "", "events", ns, None, "watchers.go NewEventAggregator"),
                  Call("watch", "", "events", ns, None, "watchers.go NewEventAggregator")]
        informed: list[tuple[str, str]] = []
        if kind == "Deployment":
            informed += [("apps", "deployments"), ("apps", "replicasets"), ("", "pods"), ("", "persistentvolumeclaims")]
        if kind == "Service":
            informed += [("", "services"), ("", "endpoints")]
        if kind == "Job":  # job.go Await: until Complete (or Failed), with its pods' errors
            informed += [("batch", "jobs"), ("", "pods")]
        if WAIT_FOR in annotations:
            informed.append((group, resource))
        if _deletable(record):
            calls.append(Call("delete", group, resource, ns, name, "await.go Deletion"))
            informed.append((group, resource))  # condition.NewDeletionSource
        for g, r in informed:
            calls += [Call("list", g, r, ns, None, "informer"), Call("watch", g, r, ns, None, "informer")]
        if kind == "PersistentVolumeClaim":
            class_name = (record.properties.get("spec") or {}).get("storageClassName")
            calls.append(Call("get", "storage.k8s.io", "storageclasses", None, str(class_name),
                              "awaiters.go pvcBindMode"))
    return calls


def unique(calls: Iterable[Call]) -> list[Call]:
    seen: dict[tuple[str, str, str, str | None, str | None], Call] = {}
    for call in calls:
        seen.setdefault(call.key(), call)
    return sorted(seen.values(), key=lambda c: (c.verb, c.group, c.resource, c.namespace or "", c.name or ""))
