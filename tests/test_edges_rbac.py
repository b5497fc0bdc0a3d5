"""Edges of the gateway's identity (components/rbac.py), built on its own: the ServiceAccount in the
namespace it is given, the ClusterRole's every rule (get/list/watch of named resources per group,
never a secret, never a wildcard), the binding of exactly that account to exactly that role, the
labels of each object, their place in the tree and the output the component registers."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.rbac import Rbac, RbacArgs
from engine.harness import RunResult
from engine.records import ResourceRecord
from tests.support.component_outputs import run_with_outputs

LABELS = {"app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "rbac",
          "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}
READ = ["get", "list", "watch"]


def _run(namespace: str, parent: bool = False) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner") if parent else None
        Rbac("id", RbacArgs(namespace=namespace), pulumi.ResourceOptions(parent=owner) if owner else None)
    return run_with_outputs(program)


def _kind(run: RunResult, kind: str) -> ResourceRecord:
    (record,) = [r for r in run.resources if r.properties.get("kind") == kind]
    return record


@pytest.mark.parametrize("namespace", ["openclaw", "team-a"])
def test_the_service_account_is_openclaw_in_the_namespace_given(namespace: str) -> None:
    run, _ = _run(namespace)
    account = _kind(run, "ServiceAccount")
    assert account.properties["metadata"] == {"name": "openclaw", "namespace": namespace, "labels": LABELS}


def test_the_cluster_role_reads_each_group_s_named_resources_only() -> None:
    role = _kind(_run("openclaw")[0], "ClusterRole")
    assert role.properties["metadata"] == {"name": "openclaw-readonly", "labels": LABELS}
    assert role.properties["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "services", "nodes", "namespaces", "events", "configmaps"],
         "verbs": READ},
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
         "verbs": READ},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": READ},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": READ},
        {"apiGroups": ["argoproj.io"], "resources": ["applications"], "verbs": READ}]


@pytest.mark.parametrize("namespace", ["openclaw", "team-a"])
def test_the_binding_gives_that_role_to_that_account_only(namespace: str) -> None:
    binding = _kind(_run(namespace)[0], "ClusterRoleBinding")
    assert binding.properties["metadata"] == {"name": "openclaw-readonly-binding", "labels": LABELS}
    assert binding.properties["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                             "name": "openclaw-readonly"}
    assert binding.properties["subjects"] == [{"kind": "ServiceAccount", "name": "openclaw", "namespace": namespace}]


def test_each_object_is_named_under_the_component_and_the_component_under_its_parent() -> None:
    run, _ = _run("openclaw", parent=True)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Rbac"]
    assert (component.name, component.parent) == ("id", owner.urn)
    assert {(r.properties["kind"], r.name, r.parent) for r in run.resources if r.custom} == {
        ("ServiceAccount", "id-service-account", component.urn), ("ClusterRole", "id-cluster-role", component.urn),
        ("ClusterRoleBinding", "id-cluster-role-binding", component.urn)}


def test_the_component_registers_the_service_account_name() -> None:
    run, outputs = _run("openclaw")
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Rbac"]
    assert outputs[component.urn] == {"service_account_name": "openclaw"}
