"""Edges of the state volume (components/storage.py): the size check against the live claim (read
from the cluster, else `kubernetes.volumeLock.size`, else no claim yet) from both sides of equal,
each answer of the StorageClass, each whole message and warning; and the claim itself: every
field, its protection, its place in the tree and the output the component registers."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.cluster_reads import ObjectRef
from components.config import ConfigError, parse_config
from components.storage import Storage, StorageArgs, check_volume_growth, live_claim_size
from engine.fake_cluster import FakeCluster, live_object
from tests.support.component_outputs import run_with_outputs

CLAIM = ObjectRef("v1", "PersistentVolumeClaim", "team-a", "openclaw-data")
CLASS = ObjectRef("storage.k8s.io/v1", "StorageClass", None, "fast")
RUNBOOK = "docs/takeover-runbook.md#changing-the-volume-later"


def _config(size: str, lock: str | None = None) -> Any:
    kubernetes = {"volumeLock": {"storageClass": "fast", "size": lock}} if lock else {}
    return parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]}, "namespace": "team-a",
                         "storage": {"className": "fast", "size": size}, "kubernetes": kubernetes})


def _claim(size: str | None) -> dict[str, Any]:
    spec = {"resources": {"requests": {"storage": size}}} if size else {}
    return live_object("v1", "PersistentVolumeClaim", "openclaw-data", "team-a", "pulumi-openclaw", spec=spec)


def _class(**fields: Any) -> dict[str, Any]:
    return live_object("storage.k8s.io/v1", "StorageClass", "fast", None, provisioner="example.test/csi", **fields)


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: said.append(message))
    return said


# --- the live size --------------------------------------------------------------------------------------

def test_the_live_size_is_the_claims_own_read_in_its_namespace() -> None:
    cluster = FakeCluster([_claim("2Gi")])
    assert live_claim_size(_config("1Gi", lock="500Mi"), cluster) == "2Gi"
    assert cluster.calls == [((CLAIM,), (".spec.resources.requests.storage",))]


@pytest.mark.parametrize("lock", [None, "500Mi"])
def test_no_claim_or_a_claim_without_a_size_is_none_whatever_the_lock(lock: str | None) -> None:
    assert live_claim_size(_config("1Gi", lock), FakeCluster([])) is None
    assert live_claim_size(_config("1Gi", lock), FakeCluster([_claim(None)])) is None


@pytest.mark.parametrize("lock", [None, "500Mi"])
def test_an_unreadable_cluster_gives_the_locks_size_with_a_warning(lock: str | None, warnings: list[str]) -> None:
    assert live_claim_size(_config("1Gi", lock), FakeCluster(unreadable="connection refused")) == lock
    assert warnings == ["could not read PersistentVolumeClaim team-a/openclaw-data (connection refused): judging "
                        "openclaw:storage.size against openclaw:kubernetes.volumeLock.size"]


# --- growing and shrinking --------------------------------------------------------------------------------

@pytest.mark.parametrize(("live", "wanted"), [("1Gi", "1024Mi"), ("1024Mi", "1Gi"), ("500Mi", "500Mi")])
def test_the_same_size_in_any_unit_asks_nothing_more(live: str, wanted: str) -> None:
    cluster = FakeCluster([_claim(live)])
    check_volume_growth(_config(wanted), cluster)
    assert [refs for refs, _ in cluster.calls] == [(CLAIM,)]


def test_no_claim_yet_asks_nothing_more() -> None:
    cluster = FakeCluster([])
    check_volume_growth(_config("5Gi"), cluster)
    assert [refs for refs, _ in cluster.calls] == [(CLAIM,)]


def test_one_mib_less_than_the_live_claim_is_refused_with_the_whole_message() -> None:
    with pytest.raises(ConfigError) as info:
        check_volume_growth(_config("1023Mi"), FakeCluster([_claim("1Gi"), _class(allowVolumeExpansion=True)]))
    assert str(info.value) == ("openclaw:storage.size: 1023Mi is smaller than the live volume team-a/openclaw-data "
                               "(1Gi): a claim never shrinks; set it back to 1Gi")


def test_one_mib_more_on_a_class_that_allows_expansion_passes_after_reading_it() -> None:
    cluster = FakeCluster([_claim("1Gi"), _class(allowVolumeExpansion=True)])
    check_volume_growth(_config("1025Mi"), cluster)
    assert cluster.calls[1] == ((CLASS,), (".allowVolumeExpansion", ".provisioner"))


@pytest.mark.parametrize(("fields", "shown"), [
    ({"allowVolumeExpansion": False}, ("example.test/csi", "false")),
    ({}, ("example.test/csi", "unset")),
])
def test_growing_on_a_class_without_expansion_is_refused_with_the_whole_message(
        fields: dict[str, Any], shown: tuple[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        check_volume_growth(_config("1025Mi"), FakeCluster([_claim("1Gi"), _class(**fields)]))
    provisioner, expansion = shown
    assert str(info.value) == (
        f"openclaw:storage.size: 1025Mi grows the live volume team-a/openclaw-data (1Gi), but its StorageClass fast "
        f"(provisioner {provisioner}) does not allow volume expansion (allowVolumeExpansion is {expansion}): the up "
        f"would fail when it patches the claim. Keep openclaw:storage.size at 1Gi, or copy the data to a new, larger "
        f"volume ({RUNBOOK}); a class whose provisioner can resize needs `allowVolumeExpansion: true` first (then set "
        "openclaw:kubernetes.volumeLock.size to the new size)")


def test_a_class_without_a_provisioner_is_named_unknown() -> None:
    without = live_object("storage.k8s.io/v1", "StorageClass", "fast", None)
    with pytest.raises(ConfigError, match=r"its StorageClass fast \(provisioner unknown\) does not allow"):
        check_volume_growth(_config("2Gi"), FakeCluster([_claim("1Gi"), without]))


def test_a_missing_class_is_named_with_the_whole_message() -> None:
    with pytest.raises(ConfigError) as info:
        check_volume_growth(_config("2Gi"), FakeCluster([_claim("1Gi")]))
    assert str(info.value) == ("openclaw:storage.className: StorageClass 'fast' does not exist in the cluster: the "
                               "claim openclaw-data would never be resized (nor bound); name an existing class")


def test_a_class_that_cannot_be_read_is_a_warning(warnings: list[str]) -> None:
    class ClaimOnly(FakeCluster):
        def read(self, refs: Any, paths: Any) -> dict[ObjectRef, list[str]]:
            self.unreadable = "forbidden" if refs[0].kind == "StorageClass" else None
            return super().read(refs, paths)

    check_volume_growth(_config("2Gi"), ClaimOnly([_claim("1Gi")]))
    assert warnings == ["openclaw:storage.size 2Gi grows the volume (1Gi), but StorageClass fast could not be read "
                        "(forbidden): the up fails if it does not allow volume expansion"]


def test_an_unreadable_cluster_judges_against_the_lock(warnings: list[str]) -> None:
    check_volume_growth(_config("1Gi", lock="500Mi"), FakeCluster(unreadable="connection refused"))
    assert warnings[1] == ("openclaw:storage.size 1Gi grows the volume (500Mi), but StorageClass fast could not be "
                           "read (connection refused): the up fails if it does not allow volume expansion")


# --- the claim ---------------------------------------------------------------------------------------------

def _storage(parent: bool = False) -> tuple[Any, dict[str, dict[str, Any]]]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner") if parent else None
        Storage("st", StorageArgs(namespace="team-a", storage_class="fast", size="3Gi"),
                pulumi.ResourceOptions(parent=owner) if owner else None)
    return run_with_outputs(program)


def test_the_claim_every_field_protected_and_retained() -> None:
    run, outputs = _storage()
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Storage"]
    (claim,) = [r for r in run.resources if r.custom]
    assert claim.properties == {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "openclaw-data", "namespace": "team-a", "labels": {
            "app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "storage",
            "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                 "resources": {"requests": {"storage": "3Gi"}}}}
    assert (claim.options.protect, claim.options.retain_on_delete) == (True, True)
    assert (claim.name, claim.parent, component.name) == ("st-pvc", component.urn, "st")
    assert outputs[component.urn] == {"claim_name": "openclaw-data"}


def test_the_component_sits_under_the_parent_it_is_given() -> None:
    run, _ = _storage(parent=True)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Storage"]
    assert component.parent == owner.urn
