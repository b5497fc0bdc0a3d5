"""What the takeover from Argo CD does with each object, and how field ownership passes to Pulumi.

Per object (rendered by the program, or known to exist under Argo CD):
- adopt: same kind and name, nothing immutable differs. Argo CD's managedFields entries are handed
  to the takeover's field manager first (`transfer_patch`), then the upserting `pulumi up` applies:
  server-side apply removes every field that manager owned and the program omits. The namespace and
  the PVC are always adopted, never deleted; a PVC whose immutable fields differ stops the plan.
- recreate: same name but an immutable field differs (a Deployment's selector, a binding's roleRef):
  deleted before the `up`, which creates it.
- create: nothing of that name exists (content-addressed ConfigMaps, the namespace's own VaultAuth).
- orphan: an old VaultStaticSecret the program does not declare under that name: deleted with
  `--cascade=orphan` before the `up` (its Secret stays; Kubernetes would garbage-collect it with a
  cascading delete) and the operator's owner labels are taken off the Secret, so the program's
  VaultStaticSecret (`destination.overwrite` on while adopting) may take it over.
- keep: the Secrets the operator writes (operator mode), a shared object in another namespace.
- delete after: old objects under names the program does not use; removed once the new pod runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import quantity_mib
from components.provider import FIELD_MANAGER

INVENTORY = Path(__file__).resolve().parent / "argocd_inventory.yaml"

ADOPT, RECREATE, CREATE, ORPHAN, KEEP, DELETE_AFTER = "adopt", "recreate", "create", "orphan", "keep", "delete after"

# Managers whose fields Pulumi takes over: Argo CD's (server-side and client-side syncs) and the
# kubectl family (hand edits, client-side apply), plus the server's stand-in for untracked fields.
OLD_MANAGERS = frozenset({
    "argocd-controller", "argocd-application-controller", "kubectl-client-side-apply", "kubectl",
    "kubectl-edit", "kubectl-patch", "kubectl-label", "kubectl-annotate", "kubectl-create",
    "kubectl-replace", "kubectl-set", "before-first-apply",
})
# The Vault Secrets Operator's owner labels on a Secret it writes (vault-secrets-operator
# helpers/secrets.go: OwnerLabels, labelOwnerRefUID); with them present `overwrite` does not apply.
VSO_OWNER_LABELS = ("app.kubernetes.io/managed-by", "app.kubernetes.io/name", "app.kubernetes.io/component",
                    "secrets.hashicorp.com/vso-ownerRefUID")
# kubectl resource names: kind -> resource.group.
RESOURCES = {
    "Namespace": "namespace", "PersistentVolumeClaim": "persistentvolumeclaim",
    "ServiceAccount": "serviceaccount", "ClusterRole": "clusterrole.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebinding.rbac.authorization.k8s.io", "Service": "service",
    "Deployment": "deployment.apps", "ConfigMap": "configmap", "Secret": "secret",
    "NetworkPolicy": "networkpolicy.networking.k8s.io",
    "VaultStaticSecret": "vaultstaticsecret.secrets.hashicorp.com",
    "VaultAuth": "vaultauth.secrets.hashicorp.com",
}
# Fields that cannot change in place: a difference means recreate (dotted paths).
IMMUTABLE = {"Deployment": ("spec.selector",), "ClusterRoleBinding": ("roleRef",), "Secret": ("type",)}
NEVER_DELETED = ("Namespace", "PersistentVolumeClaim")
# Defaults the API server fills in: a missing value is this one.
DEFAULTS = {"type": "Opaque"}
SERVER_LABELS = {"kubernetes.io/metadata.name"}  # set on every namespace by the API server


class PlanError(Exception):
    """The takeover cannot go ahead safely; the message says what to fix."""


@dataclass(frozen=True)
class Ref:
    kind: str
    name: str
    namespace: str | None = None

    @property
    def resource(self) -> str:
        return RESOURCES.get(self.kind, self.kind.lower())

    def args(self) -> list[str]:
        """kubectl arguments naming the object."""
        return [self.resource, self.name, *(["-n", self.namespace] if self.namespace else [])]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(frozen=True)
class Decision:
    ref: Ref
    treatment: str
    reason: str
    owner: str = ""  # keep: the VaultStaticSecret that writes this Secret


def ref_of(obj: Mapping[str, Any]) -> Ref:
    meta = obj.get("metadata") or {}
    return Ref(str(obj["kind"]), str(meta["name"]), meta.get("namespace"))


def load_inventory(path: Path = INVENTORY) -> list[dict[str, Any]]:
    """Objects from a YAML file: a `kind: List` (as `kubectl get -o yaml` writes it) or documents."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise PlanError(f"cannot read the inventory {path}: {exc}") from None
    items: list[dict[str, Any]] = []
    for doc in docs:
        items.extend(doc.get("items") or [] if doc.get("kind") == "List" else [doc])
    for item in items:  # a Secret's values have no business here: never kept, never printed
        if isinstance(item, dict) and item.get("kind") == "Secret":
            item.pop("data", None)
            item.pop("stringData", None)
    bad = [i for i, o in enumerate(items) if not (isinstance(o, dict) and o.get("kind")
                                                  and (o.get("metadata") or {}).get("name"))]
    if bad:
        raise PlanError(f"the inventory {path}: items {bad} lack kind or metadata.name")
    return items


def _get(obj: Mapping[str, Any], dotted: str) -> Any:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _pvc_problems(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[str]:
    problems = []
    for path in ("spec.storageClassName", "spec.accessModes"):
        if _get(new, path) != _get(old, path):
            problems.append(f"{path}: the program has {_get(new, path)!r}, the live PVC {_get(old, path)!r}")
    new_size, old_size = _get(new, "spec.resources.requests.storage"), _get(old, "spec.resources.requests.storage")
    if new_size and old_size and quantity_mib(new_size) < quantity_mib(old_size):
        problems.append(f"spec.resources.requests.storage: {new_size} is smaller than the live {old_size}")
    return problems


def decide(rendered: Sequence[Mapping[str, Any]], inventory: Sequence[Mapping[str, Any]]) -> list[Decision]:
    """One decision per object, rendered objects first (in the program's order), then old ones."""
    old = {ref_of(o): o for o in inventory}
    new = {ref_of(o): o for o in rendered}
    destinations = {_get(o, "spec.destination.name"): ref for ref, o in new.items() if ref.kind == "VaultStaticSecret"}
    decisions: list[Decision] = []
    for ref, obj in new.items():
        live = old.get(ref)
        if ref.kind == "PersistentVolumeClaim" and live is not None and (problems := _pvc_problems(obj, live)):
            raise PlanError(f"{ref} cannot be adopted, a PVC cannot change so (the volume would have to be "
                            "replaced): " + "; ".join(problems) + ". Migrate the data first (docs/takeover-runbook.md)")
        if ref.kind in NEVER_DELETED:
            decisions.append(Decision(ref, ADOPT, "holds the agents' state: adopted in place, never recreated"))
        elif live is None:
            why = ("content-addressed: a new name for new content" if ref.kind == "ConfigMap"
                   else "does not exist yet")
            decisions.append(Decision(ref, CREATE, why))
        elif changed := [p for p in IMMUTABLE.get(ref.kind, ())
                         if (_get(live, p) or DEFAULTS.get(p)) != (_get(obj, p) or DEFAULTS.get(p))]:
            if ref.kind == "Secret":  # the pod reads it: never deleted under it
                raise PlanError(f"{ref}: the live Secret's {', '.join(changed)} differs from the program's; "
                                "a Secret cannot change type in place and the pod reads it")
            decisions.append(Decision(ref, RECREATE, f"immutable {', '.join(changed)} differs"))
        else:
            decisions.append(Decision(ref, ADOPT, "same name; Argo CD's fields handed over, then applied"))
    for ref in old:
        if ref in new:
            continue
        if ref.kind == "VaultStaticSecret":
            decisions.append(Decision(ref, ORPHAN, "not declared under this name: deleted without its Secret"))
        elif ref.kind == "Secret" and ref.name in destinations:
            owner = destinations[ref.name]
            decisions.append(Decision(ref, KEEP, f"written by {owner} (adopted, or taking over with "
                                                 "destination.overwrite)", owner.name))
        elif ref.namespace is None:
            decisions.append(Decision(ref, KEEP, "cluster-wide and not declared: left alone, check by hand"))
        elif ref.namespace not in {r.namespace for r in new if r.namespace}:
            decisions.append(Decision(ref, KEEP, "outside the program's namespace (shared): runbook step 5"))
        else:
            decisions.append(Decision(ref, DELETE_AFTER, "not declared by the program: removed after the rollout"))
    return decisions


# --- field ownership ---------------------------------------------------------------------------

def _union(trees: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for tree in trees:
        for key, sub in tree.items():
            merged[key] = _union([merged.get(key, {}), sub])
    return merged


# Fields of an old manager that are not handed over (they would be removed, and must not be): what a
# controller or the API server set and the program never declares. A PVC's binding (argo-cd issue
# 16070: Argo CD can own `spec.volumeName` and the binder's annotations), a namespace's finalizers,
# every object's finalizers. They go to RETAINED, a manager of their own, so they stay.
RETAINED = "takeover-retained"
_PROTECTED: dict[str, tuple[tuple[str, ...], ...]] = {
    "*": (("f:metadata", "f:finalizers"), ("f:metadata", "f:annotations", "f:pv.kubernetes.io/*"),
          ("f:metadata", "f:annotations", "f:volume.beta.kubernetes.io/*"),
          ("f:metadata", "f:annotations", "f:volume.kubernetes.io/*")),
    "PersistentVolumeClaim": (("f:spec", "f:volumeName"), ("f:spec", "f:volumeMode"), ("f:spec", "f:dataSource"),
                              ("f:spec", "f:dataSourceRef")),
    "Namespace": (("f:spec",),),
}


def _protected(kind: str, path: tuple[str, ...]) -> bool:
    for pattern in (*_PROTECTED["*"], *_PROTECTED.get(kind, ())):
        if len(path) >= len(pattern) and all(
                (p[:-1] == k[:len(p) - 1]) if p.endswith("*") else p == k for p, k in zip(pattern, path, strict=False)):
            return True
    return False


def _split(kind: str, tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields to hand over, fields to retain) of a fieldsV1 tree."""
    take: dict[str, Any] = {}
    keep: dict[str, Any] = {}
    for key, sub in tree.items():
        path = (*prefix, key)
        if _protected(kind, path):
            keep[key] = sub
        elif sub:
            t, k = _split(kind, sub, path)
            if t:
                take[key] = t
            if k:
                keep[key] = k
        else:
            take[key] = sub
    return take, keep


def _is_old(live: Mapping[str, Any], entry: Mapping[str, Any], manager: str, old_managers: frozenset[str]) -> bool:
    """An entry to hand over: an old applier's; for a Secret the program writes itself (direct
    mode) every other writer's too, the operator included, or its stale keys would stay."""
    if entry.get("subresource") or entry.get("manager") == manager:
        return False
    return live.get("kind") == "Secret" or entry.get("manager") in old_managers


def transfer_patch(live: Mapping[str, Any], manager: str = FIELD_MANAGER,
                   old_managers: frozenset[str] = OLD_MANAGERS) -> list[dict[str, Any]]:
    """A JSON patch that hands every old manager's fields to `manager` as an Apply entry, as
    pulumi-kubernetes does itself for kubectl on an Update (provider/pkg/await/await.go,
    `fixCSAFieldManagers`) and the Kubernetes docs describe ("Transferring ownership"). Other
    managers (controllers, the status writers) keep theirs. The resourceVersion test makes the
    patch fail instead of overwriting a concurrent change. [] when there is nothing to hand over."""
    entries = list((live.get("metadata") or {}).get("managedFields") or [])
    old = [e for e in entries if _is_old(live, e, manager, old_managers)]
    if not old:
        return []
    others = [e for e in entries if e not in old and e.get("manager") not in (manager, RETAINED)]
    mine = [e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"]
    retained = [e for e in entries if e.get("manager") == RETAINED]
    take, keep = _split(str(live.get("kind")), _union(e.get("fieldsV1") or {} for e in old))
    version = live.get("apiVersion")
    entry = {"manager": manager, "operation": "Apply", "apiVersion": version, "fieldsType": "FieldsV1",
             "fieldsV1": _union([take, *(e.get("fieldsV1") or {} for e in mine)])}
    keep = _union([keep, *(e.get("fieldsV1") or {} for e in retained)])
    kept = [{"manager": RETAINED, "operation": "Update", "apiVersion": version, "fieldsType": "FieldsV1",
             "fieldsV1": keep}] if keep else []
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]},
            {"op": "replace", "path": "/metadata/managedFields", "value": [*others, *kept, entry]}]


def old_owners(live: Mapping[str, Any]) -> list[str]:
    """The old managers still holding fields of a live object (after the transfer: none)."""
    return sorted({str(e.get("manager")) for e in (live.get("metadata") or {}).get("managedFields") or []
                   if _is_old(live, e, FIELD_MANAGER, OLD_MANAGERS)})


_POD_LISTS = ("initContainers", "containers", "volumes")


def stale_fields(live: Mapping[str, Any], rendered: Mapping[str, Any]) -> list[str]:
    """What the live object carries that the program does not declare, where Argo CD's leftovers
    show: labels, selectors, and the pod's containers, volumes, env and mounts by name."""
    found: list[str] = []
    extra = set(_get(live, "metadata.labels") or {}) - set(_get(rendered, "metadata.labels") or {}) - SERVER_LABELS
    found += [f"metadata.labels.{k}" for k in sorted(extra)]
    for path in ("spec.podSelector", "spec.selector"):
        if _get(rendered, path) is not None and _get(live, path) != _get(rendered, path):
            found.append(f"{path}: {json.dumps(_get(live, path), sort_keys=True)}")
    pod_live, pod_new = _get(live, "spec.template.spec") or {}, _get(rendered, "spec.template.spec") or {}
    for key in _POD_LISTS:
        declared = {i.get("name"): i for i in pod_new.get(key) or []}
        for item in pod_live.get(key) or []:
            if item.get("name") not in declared:
                found.append(f"spec.template.spec.{key}[{item.get('name')}]")
                continue
            mine = declared[item["name"]]
            for sub, field in (("env", "name"), ("volumeMounts", "mountPath")):
                names = {e.get(field) for e in mine.get(sub) or []}
                found += [f"spec.template.spec.{key}[{item['name']}].{sub}[{e.get(field)}]"
                          for e in item.get(sub) or [] if e.get(field) not in names]
    return found
