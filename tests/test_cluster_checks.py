"""What the preview refuses after reading the cluster, before any Kubernetes object is registered:
objects the program would create that exist and are not Pulumi's (adoption off), and a volume size
the live claim's StorageClass cannot reach. The cluster is a fake answering the same reads
(engine/fake_cluster.py); tests/test_cluster_kubectl.py runs the real reader against kubectl."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from components.cluster_reads import ObjectRef
from components.config import ConfigError
from components.existing_objects import MANAGERS_PATH
from engine.fake_cluster import K3S_STORAGE_CLASS, FakeCluster, live_object
from engine.harness import REPO, RunResult, run_stack
from engine.records import ResourceRecord

DEV_K8S = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]["openclaw:kubernetes"]


def _ref(record: ResourceRecord) -> ObjectRef:
    meta = record.properties["metadata"]
    return ObjectRef(record.properties["apiVersion"], record.properties["kind"], meta.get("namespace"), meta["name"])


def _run(cluster: FakeCluster, seen: list[ResourceRecord] | None = None, **overrides: Any) -> RunResult:
    return run_stack("dev", overrides=overrides or None, cluster=cluster,
                     on_record=seen.append if seen is not None else None)


def _refused(cluster: FakeCluster, **overrides: Any) -> tuple[str, list[ResourceRecord]]:
    seen: list[ResourceRecord] = []
    with pytest.raises(ConfigError) as info:
        _run(cluster, seen, **overrides)
    return str(info.value), seen


# --- objects that exist ---------------------------------------------------------------------------

def test_every_declared_object_is_looked_up(dev: RunResult) -> None:
    cluster = FakeCluster()
    _run(cluster)
    (existence,) = [refs for refs, paths in cluster.calls if paths == (MANAGERS_PATH,)]
    assert set(existence) == {_ref(r) for r in dev.kubernetes()}
    assert len(existence) == len(dev.kubernetes()) > 40


def _one_per_kind(dev: RunResult) -> list[ResourceRecord]:
    kinds: dict[str, ResourceRecord] = {}
    for record in dev.kubernetes():
        kinds.setdefault(record.properties["kind"], record)
    return list(kinds.values())


def test_an_existing_object_of_each_kind_stops_the_run_before_anything_is_registered(dev: RunResult) -> None:
    kinds = _one_per_kind(dev)
    assert {r.properties["kind"] for r in kinds} >= {"Namespace", "PersistentVolumeClaim", "Deployment", "Service",
                                                      "ClusterRole", "ClusterRoleBinding", "NetworkPolicy",
                                                      "VaultStaticSecret", "VaultAuth", "ConfigMap"}
    for record in kinds:
        ref = _ref(record)
        argo = live_object(ref.api_version, ref.kind, ref.name, ref.namespace, "argocd-controller", "kube-controller")
        message, seen = _refused(FakeCluster([K3S_STORAGE_CLASS, argo]))
        lines = message.splitlines()
        assert lines[0].startswith("openclaw:kubernetes.adoptExisting is false, but 1 object(s)"), message
        assert lines[1] == f"  - {ref} (field managers: argocd-controller, kube-controller)"
        assert "docs/takeover-runbook.md#objects-that-already-exist" in lines[2]
        assert "python -m tools.takeover --stack dev" in lines[2]
        # Nothing of Kubernetes was registered, not even the provider: the up cannot have applied any of it.
        assert not [r.type for r in seen if "kubernetes" in r.type], ref


def test_every_foreign_object_is_listed_once_in_order() -> None:
    objects = [live_object("v1", "Namespace", "openclaw", None, "argocd-controller"),
               live_object("apps/v1", "Deployment", "openclaw", "openclaw"),  # no managedFields at all
               live_object("rbac.authorization.k8s.io/v1", "ClusterRole", "openclaw-readonly", None,
                           "kubectl-client-side-apply")]
    message, _ = _refused(FakeCluster([K3S_STORAGE_CLASS, *objects]))
    assert message.splitlines()[1:4] == [  # by apiVersion, kind, namespace, name
        "  - Deployment openclaw/openclaw (field managers: none)",
        "  - ClusterRole openclaw-readonly (field managers: kubectl-client-side-apply)",
        "  - Namespace openclaw (field managers: argocd-controller)"]
    assert "3 object(s)" in message.splitlines()[0]


@pytest.mark.parametrize("manager", ["pulumi-kubernetes-4f1c2a9e", "pulumi-kubernetes", "pulumi-openclaw",
                                     "pulumi-resource-kubernetes"])
def test_objects_a_pulumi_field_manager_wrote_are_the_programs_own(manager: str) -> None:
    objects = [live_object("v1", "Namespace", "openclaw", None, "kube-controller", manager),
               live_object("apps/v1", "Deployment", "openclaw", "openclaw", manager, "kube-controller-manager")]
    run = _run(FakeCluster([K3S_STORAGE_CLASS, *objects]))
    assert run.find("Deployment", "openclaw")


@pytest.mark.parametrize("manager", ["pulumi", "argocd-pulumi-kubernetes", "pulumi-openclaw2", "kubectl"])
def test_look_alike_managers_are_not(manager: str) -> None:
    message, _ = _refused(FakeCluster([K3S_STORAGE_CLASS, live_object("v1", "Namespace", "openclaw", None, manager)]))
    assert f"Namespace openclaw (field managers: {manager})" in message


def test_with_adoption_on_existing_objects_are_taken_over_not_refused() -> None:
    cluster = FakeCluster([K3S_STORAGE_CLASS, live_object("v1", "Namespace", "openclaw", None, "argocd-controller")])
    run = _run(cluster, **{"openclaw:kubernetes": {**DEV_K8S, "adoptExisting": True}})
    assert run.find("Namespace", "openclaw")
    assert not [paths for _, paths in cluster.calls if paths == (MANAGERS_PATH,)]  # not even asked


def test_a_cluster_that_cannot_be_read_is_a_warning(caplog: pytest.LogCaptureFixture, dev: RunResult) -> None:
    run = _run(FakeCluster(unreadable="kubectl is not on PATH"))
    assert run.find("Namespace", "openclaw")
    assert (f"could not check which of the {len(dev.kubernetes())} Kubernetes objects already exist (kubectl is not "
            "on PATH)") in caplog.text


# --- growing the volume -----------------------------------------------------------------------------

def _claim(size: str) -> dict[str, Any]:
    return live_object("v1", "PersistentVolumeClaim", "openclaw-data", "openclaw", "pulumi-openclaw",
                       spec={"storageClassName": "local-path-retain", "resources": {"requests": {"storage": size}}})


def _size(size: str) -> dict[str, Any]:
    return {"openclaw:storage": {"className": "local-path-retain", "size": size}}


def test_growing_on_a_class_without_expansion_is_refused_at_preview() -> None:
    message, seen = _refused(FakeCluster([K3S_STORAGE_CLASS, _claim("500Mi")]), **_size("501Mi"))
    assert message.startswith("openclaw:storage.size: 501Mi grows the live volume openclaw/openclaw-data (500Mi), "
                              "but its StorageClass local-path-retain (provisioner rancher.io/local-path) does not "
                              "allow volume expansion (allowVolumeExpansion is unset)")
    assert "Keep openclaw:storage.size at 500Mi" in message
    assert "docs/takeover-runbook.md#changing-the-volume-later" in message
    assert not [r.type for r in seen if r.custom]  # checked before any resource was registered


@pytest.mark.parametrize(("live", "wanted"), [("500Mi", "500Mi"), ("512Mi", "0.5Gi"), ("1Gi", "1024Mi")])
def test_the_same_size_in_any_unit_is_no_growth(live: str, wanted: str) -> None:
    cluster = FakeCluster([K3S_STORAGE_CLASS, _claim(live)])
    _run(cluster, **_size(wanted))
    assert not [refs for refs, _ in cluster.calls if refs[0].kind == "StorageClass"]  # the class is not read


def test_growing_on_a_class_that_allows_it_passes() -> None:
    expandable = {**K3S_STORAGE_CLASS, "allowVolumeExpansion": True}
    run = _run(FakeCluster([expandable, _claim("500Mi")]), **_size("1Gi"))
    assert run.find("PersistentVolumeClaim", "openclaw-data").properties["spec"]["resources"]["requests"] == {
        "storage": "1Gi"}


def test_an_explicit_false_is_refused_too() -> None:
    message, _ = _refused(FakeCluster([{**K3S_STORAGE_CLASS, "allowVolumeExpansion": False}, _claim("500Mi")]),
                          **_size("1Gi"))
    assert "(allowVolumeExpansion is false)" in message


def test_a_missing_class_is_named() -> None:
    message, _ = _refused(FakeCluster([_claim("500Mi")]), **_size("1Gi"))
    assert message.startswith("openclaw:storage.className: StorageClass 'local-path-retain' does not exist")


def test_a_smaller_size_than_the_live_claim_is_refused() -> None:
    # The lock says 500Mi; the live claim was grown to 1Gi by hand since.
    message, _ = _refused(FakeCluster([K3S_STORAGE_CLASS, _claim("1Gi")]), **_size("1023Mi"))
    assert message == ("openclaw:storage.size: 1023Mi is smaller than the live volume openclaw/openclaw-data (1Gi): "
                       "a claim never shrinks; set it back to 1Gi")


def test_no_live_claim_is_no_growth() -> None:
    run = _run(FakeCluster(), **_size("1Gi"))  # a fresh cluster: the claim is created at 1Gi
    assert run.find("PersistentVolumeClaim", "openclaw-data")


def test_an_unreadable_cluster_judges_against_the_lock_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    cluster = FakeCluster(unreadable="connection refused")
    _run(cluster, **_size("1Gi"))  # the lock says 500Mi: a growth, and the class cannot be read either
    text = caplog.text
    assert "judging openclaw:storage.size against openclaw:kubernetes.volumeLock.size" in text
    assert "openclaw:storage.size 1Gi grows the volume (500Mi), but StorageClass local-path-retain could not be read" \
        in text


def test_a_program_that_fails_after_the_gate_fails_instead_of_waiting_for_it() -> None:
    """The provider waits for the existence check; a program that raises half-way (here: no
    vault:address, refused inside the secrets component) must still end, with its own error."""
    script = ("from engine.harness import run_stack\n"
              "run_stack('dev', overrides={'vault:address': None})\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode != 0 and "vault:address is not set" in done.stderr
