"""What server-side apply leaves behind when Argo CD's objects are adopted, with and without handing
field ownership over first (tests/support/ssa.py models the API server's rules; tools/takeover_plan.py
computes the patch on real managedFields)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import ssa
from tests.takeover_fixtures import NS, live_json, new_object, old_object, patched, takeover_render
from tools.takeover_plan import old_owners, stale_fields, transfer_patch


def _takeover_up(old: dict[str, Any], new: dict[str, Any], argo: ssa.Manager, transfer: bool) -> dict[str, Any]:
    live = ssa.create(old, argo)
    live = ssa.update(live, {**old, "status": {"replicas": 1}}, ("k3s", "Update"))  # a controller's field
    if transfer:
        as_json = live_json(live, old["apiVersion"], old["kind"])
        handed = patched(as_json, transfer_patch(as_json))
        assert old_owners(handed) == []
        live = ssa.from_managed_fields(live.fields, handed["metadata"]["managedFields"])
    desired = {k: v for k, v in new.items() if k != "status"}
    return ssa.apply(live, desired, "pulumi-openclaw", force=True).object


@pytest.fixture
def rendered() -> list[dict[str, Any]]:
    return takeover_render()



def _by_name(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _by_name(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_by_name(v) for v in value]
        return sorted(items, key=lambda i: json.dumps(i, sort_keys=True)) if all(
            isinstance(i, dict) and "name" in i for i in items) else items
    return value


@pytest.mark.parametrize("argo", [("argocd-controller", "Update"), ("argocd-controller", "Apply"),
                                  ("kubectl-client-side-apply", "Update")])
def test_without_the_transfer_argo_cds_pod_fields_survive_the_upsert(rendered: list[dict[str, Any]],
                                                                      argo: ssa.Manager) -> None:
    old, new = old_object("Deployment", NS), new_object(rendered, "Deployment", NS)
    left = stale_fields(_takeover_up(old, new, argo, transfer=False), new)
    assert left == [
        "metadata.labels.app.kubernetes.io/instance",
        "spec.template.spec.initContainers[init-workspace]",
        "spec.template.spec.containers[gateway].env[OPENCLAW_GATEWAY_BIND]",
        "spec.template.spec.containers[gateway].env[ANTHROPIC_API_KEY]",
        "spec.template.spec.containers[gateway].env[OPENAI_API_KEY]",
        "spec.template.spec.containers[gateway].env[GOOGLE_API_KEY]",
        # Still mounting a ConfigMap the runbook deletes (the old `config` volume merges with the
        # program's by name: its ConfigMap name is replaced).
        "spec.template.spec.volumes[workspace-seed]"]


@pytest.mark.parametrize("argo", [("argocd-controller", "Update"), ("argocd-controller", "Apply"),
                                  ("kubectl-client-side-apply", "Update")])
def test_with_the_transfer_the_deployment_is_exactly_the_programs(rendered: list[dict[str, Any]],
                                                                 argo: ssa.Manager) -> None:
    old, new = old_object("Deployment", NS), new_object(rendered, "Deployment", NS)
    result = _takeover_up(old, new, argo, transfer=True)
    assert stale_fields(result, new) == []
    # Exactly the program's object (keyed list items may sit in another order, as in the API server).
    assert _by_name({k: v for k, v in result.items() if k != "status"}) == _by_name(new)
    assert result["status"] == {"replicas": 1}  # the controller's field is not Argo CD's to hand over


def test_default_deny_keeps_argo_cds_label_without_the_transfer(rendered: list[dict[str, Any]]) -> None:
    old = old_object("NetworkPolicy", "openclaw-default-deny")
    new = new_object(rendered, "NetworkPolicy", "openclaw-default-deny")
    assert new["spec"]["podSelector"] == {}
    argo = ("argocd-controller", "Update")
    without = _takeover_up(old, new, argo, transfer=False)
    # podSelector is a LabelSelector, `+structType=atomic` in apimachinery: the forced apply replaces it
    # whole, so matchLabels {app: openclaw} does NOT survive; Argo CD's label does.
    assert without["spec"]["podSelector"] == {}
    assert stale_fields(without, new) == ["metadata.labels.app.kubernetes.io/instance"]
    assert stale_fields(_takeover_up(old, new, argo, transfer=True), new) == []


def test_an_unforced_apply_conflicts_and_clearing_managed_fields_is_not_enough(rendered: list[dict[str, Any]]) -> None:
    old, new = old_object("Deployment", NS), new_object(rendered, "Deployment", NS)
    live = ssa.create(old, ("argocd-controller", "Update"))
    with pytest.raises(ssa.ConflictError):
        ssa.apply(live, new, "pulumi-openclaw", force=False)  # why enablePatchForce is on while adopting
    # `managedFields: [{}]` (the docs' reset) leaves no owner; the next apply attributes every live
    # field to `before-first-apply`, so Argo CD's leftovers still stay.
    cleared = ssa.LiveObject(live.fields, {})
    assert "spec.template.spec.initContainers[init-workspace]" in stale_fields(
        ssa.apply(cleared, new, "pulumi-openclaw", force=True).object, new)


def test_fields_v1_round_trip(rendered: list[dict[str, Any]]) -> None:
    live = ssa.create(new_object(rendered, "Deployment", NS), ("pulumi-openclaw", "Apply"))
    (entry,) = ssa.managed_fields(live, "apps/v1")
    assert entry["manager"] == "pulumi-openclaw" and entry["fieldsType"] == "FieldsV1"
    assert '"k:{\\"name\\":\\"seed\\"}"' in json.dumps(entry["fieldsV1"])
    assert ssa.from_managed_fields(live.fields, [entry]).managed == live.managed


def test_transfer_patch_keeps_other_managers_and_skips_what_has_nothing_to_hand_over() -> None:
    live = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "resourceVersion": "7", "managedFields": [
        {"manager": "argocd-controller", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:selector": {}}}},
        {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:x": {}}}}},
        {"manager": "k3s", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:status": {}}, "subresource": "status"}]}}
    test, replace = transfer_patch(live)
    assert test == {"op": "test", "path": "/metadata/resourceVersion", "value": "7"}
    assert [e["manager"] for e in replace["value"]] == ["k3s", "pulumi-openclaw"]
    assert replace["value"][1] == {"manager": "pulumi-openclaw", "operation": "Apply", "apiVersion": "v1",
                                   "fieldsType": "FieldsV1",
                                   "fieldsV1": {"f:spec": {"f:selector": {}}, "f:metadata": {"f:labels": {"f:x": {}}}}}
    done = {**live, "metadata": {**live["metadata"], "managedFields": replace["value"]}}
    assert transfer_patch(done) == [] and old_owners(done) == []


def test_a_secret_hands_over_the_operators_fields_too() -> None:
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "resourceVersion": "3", "managedFields": [
        {"manager": "vault-secrets-operator", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:ANTHROPIC_API_KEY": {}}}}]}}
    assert old_owners(live) == ["vault-secrets-operator"]
    assert [e["manager"] for e in transfer_patch(live)[1]["value"]] == ["pulumi-openclaw"]


def test_the_pvcs_binding_stays_when_argo_cd_owned_it(rendered: list[dict[str, Any]]) -> None:
    # argo-cd issue 16070: an adopting Argo CD sync can own the PVC's volumeName and the binder's
    # annotations. Handed over, the program's apply (which omits them) would remove them: the API
    # server refuses a PVC spec change, and the binding annotations belong to the controller.
    old = old_object("PersistentVolumeClaim", "openclaw-data")
    old["spec"]["volumeName"] = "pvc-0001"
    old["metadata"]["annotations"] = {"pv.kubernetes.io/bind-completed": "yes"}
    new = new_object(rendered, "PersistentVolumeClaim", "openclaw-data")
    live = ssa.create(old, ("argocd-controller", "Apply"))
    everything = ssa.LiveObject(live.fields, {("pulumi-openclaw", "Apply"): set().union(*live.managed.values())})
    assert "volumeName" not in ssa.apply(everything, new, "pulumi-openclaw", force=True).object["spec"]
    as_json = live_json(live, "v1", "PersistentVolumeClaim")
    handed = patched(as_json, transfer_patch(as_json))
    assert [e["manager"] for e in handed["metadata"]["managedFields"]] == ["takeover-retained", "pulumi-openclaw"]
    assert old_owners(handed) == []
    result = ssa.apply(ssa.from_managed_fields(live.fields, handed["metadata"]["managedFields"]), new,
                       "pulumi-openclaw", force=True).object
    assert result["spec"]["volumeName"] == "pvc-0001"
    assert result["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                                 "pulumi.com/patchFieldManager": "pulumi-openclaw"}
    assert stale_fields(result, new) == []  # Argo CD's instance label is gone
    assert result["spec"]["storageClassName"] == "local-path-retain"
