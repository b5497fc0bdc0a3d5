"""Edges of the explicit Kubernetes provider (components/provider.py): each switch from the stack
config (adoption on and off), its parent and the gate it waits for; and the takeover's field manager
annotation on each Kubernetes object, its metadata as ObjectMetaArgs or a dict, with and without
annotations of its own, every other field kept, other resources untouched."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.config import KubernetesConfig
from components.provider import kubernetes_provider, with_field_manager
from engine.harness import RunResult, run_program
from engine.records import ResourceRecord

ANNOTATION = {"pulumi.com/patchFieldManager": "pulumi-openclaw"}


def _run(config: KubernetesConfig, gated: bool) -> tuple[RunResult, ResourceRecord]:
    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        check = k8s.core.v1.ConfigMap("check", metadata={"name": "check"}) if gated else None
        kubernetes_provider("k", config, owner, gate=[check] if check is not None else None)

    run = run_program(program)
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes" and r.name == "k"]
    return run, provider


@pytest.mark.parametrize("adopt", [False, True])
def test_each_switch_of_the_provider(adopt: bool) -> None:
    _, provider = _run(KubernetesConfig(context="lab", kubeconfig="/etc/k3s.yaml", cluster_identifier="lumie",
                                        adopt_existing=adopt), gated=False)
    switch = "true" if adopt else "false"
    assert provider.properties == {"context": "lab", "kubeconfig": "/etc/k3s.yaml", "clusterIdentifier": "lumie",
                                   "enableServerSideApply": "true", "upsertExistingObjects": switch,
                                   "enablePatchForce": switch, "enableSecretMutable": "true"}


@pytest.mark.parametrize("gated", [False, True])
def test_the_provider_sits_under_its_parent_and_waits_for_the_gate(gated: bool) -> None:
    run, provider = _run(KubernetesConfig(), gated=gated)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    assert provider.parent == owner.urn
    checks = [r.urn for r in run.resources if r.name == "check"]
    assert list(provider.dependencies) == checks


def _transform(type_: str, props: dict[str, Any]) -> Any:
    opts = pulumi.ResourceOptions(protect=True)
    result = with_field_manager(pulumi.ResourceTransformationArgs(None, type_, "x", props, opts))  # type: ignore[arg-type]
    if result is not None:
        assert result.opts is opts
    return result


@pytest.mark.parametrize("own", [None, {"a": "1"}])
def test_metadata_as_args_gets_the_annotation_beside_its_own(own: dict[str, str] | None) -> None:
    metadata = k8s.meta.v1.ObjectMetaArgs(name="openclaw", namespace="openclaw", labels={"l": "v"}, annotations=own)
    result = _transform("kubernetes:core/v1:Service", {"kind": "Service", "metadata": metadata, "spec": {"s": 1}})
    annotated = result.props["metadata"]
    assert (annotated.name, annotated.namespace, annotated.labels) == ("openclaw", "openclaw", {"l": "v"})
    assert annotated.annotations == {**(own or {}), **ANNOTATION}
    assert result.props["kind"] == "Service" and result.props["spec"] == {"s": 1}
    assert metadata.annotations == own   # the program's own object is not changed


@pytest.mark.parametrize("own", [None, {"a": "1"}])
def test_metadata_as_a_dict_gets_the_annotation_beside_its_own(own: dict[str, str] | None) -> None:
    metadata: dict[str, Any] = {"name": "openclaw", **({"annotations": own} if own is not None else {})}
    result = _transform("kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth",
                        {"kind": "VaultAuth", "metadata": metadata})
    assert result.props == {"kind": "VaultAuth", "metadata": {"name": "openclaw", "annotations": {**(own or {}),
                                                                                                 **ANNOTATION}}}


def test_metadata_of_another_shape_is_passed_as_it_is() -> None:
    metadata = pulumi.Output.from_input({"name": "x"})
    assert _transform("kubernetes:core/v1:ConfigMap", {"metadata": metadata}).props == {"metadata": metadata}


@pytest.mark.parametrize(("type_", "props"), [
    ("vault:index/policy:Policy", {"metadata": {"name": "x"}}),
    ("kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap"}),
    ("kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap", "metadata": None}),
])
def test_other_resources_and_objects_without_metadata_are_untouched(type_: str, props: dict[str, Any]) -> None:
    assert _transform(type_, props) is None
