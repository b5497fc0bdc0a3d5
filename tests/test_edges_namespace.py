"""Edges of the namespace component (components/namespace.py), built on its own: every label (Pod
Security admission at `restricted` in each of its three modes, no selector label), the name it is
given, the protection against deletion, its place in the tree and the output it registers."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.namespace import Namespace, NamespaceArgs
from engine.harness import RunResult
from tests.support.component_outputs import run_with_outputs


def _run(name: str, parent: bool = False) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner") if parent else None
        Namespace("ns", NamespaceArgs(name=name), pulumi.ResourceOptions(parent=owner) if owner else None)
    return run_with_outputs(program)


@pytest.mark.parametrize("name", ["openclaw", "team-a"])
def test_the_namespace_is_named_restricted_in_every_mode_and_carries_no_selector_label(name: str) -> None:
    run, _ = _run(name)
    (namespace,) = [r for r in run.resources if r.type == "kubernetes:core/v1:Namespace"]
    assert namespace.properties["metadata"] == {"name": name, "labels": {
        "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "namespace",
        "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi",
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit-version": "latest", "pod-security.kubernetes.io/warn-version": "latest"}}


def test_the_namespace_is_protected_and_named_under_its_component() -> None:
    """Its URN must not change (a new URN deletes the old namespace, its claim and every agent's memory)."""
    run, _ = _run("openclaw")
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Namespace"]
    (namespace,) = [r for r in run.resources if r.type == "kubernetes:core/v1:Namespace"]
    assert namespace.options.protect is True
    assert (namespace.name, namespace.parent) == ("ns-namespace", component.urn)
    assert component.name == "ns"


def test_the_component_sits_under_the_parent_it_is_given() -> None:
    run, _ = _run("openclaw", parent=True)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Namespace"]
    assert component.parent == owner.urn


@pytest.mark.parametrize("name", ["openclaw", "team-a"])
def test_the_component_registers_the_namespaces_name(name: str) -> None:
    run, outputs = _run(name)
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Namespace"]
    assert outputs[component.urn] == {"name": name}
