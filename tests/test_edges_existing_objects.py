"""Edges of the existence check (components/existing_objects.py): which registrations are recorded (a
Kubernetes object with a kind and a plain name, its metadata as a dict or as ObjectMetaArgs, its
apiVersion under either key, a namespace that is an Output counted as the program's), each object
looked up once, the whole message a user reads and the warning when the cluster cannot be read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.cluster_reads import ClusterReadError, ObjectRef
from components.config import ConfigError
from components.existing_objects import MANAGERS_PATH, DeclaredObjects, check_existing, foreign_objects, gate
from engine.harness import run_program

NS = ObjectRef("v1", "Namespace", None, "openclaw")
DEPLOYMENT = ObjectRef("apps/v1", "Deployment", "openclaw", "openclaw")
SERVICE = ObjectRef("v1", "Service", "openclaw", "openclaw")


def _declare(type_: str, props: dict[str, Any], default_namespace: str = "team-a") -> list[ObjectRef]:
    declared = DeclaredObjects(default_namespace)
    args = pulumi.ResourceTransformationArgs(None, type_, "x", props, pulumi.ResourceOptions())  # type: ignore[arg-type]
    assert declared.transformation(args) is None   # records, never changes a registration
    return declared.refs


def test_an_object_with_its_metadata_as_args_is_recorded_with_its_namespace() -> None:
    props = {"api_version": "apps/v1", "kind": "Deployment",
             "metadata": k8s.meta.v1.ObjectMetaArgs(name="openclaw", namespace="openclaw")}
    assert _declare("kubernetes:apps/v1:Deployment", props) == [DEPLOYMENT]


def test_a_custom_resource_with_its_metadata_as_a_dict_and_camel_case_api_version_is_recorded() -> None:
    props = {"apiVersion": "secrets.hashicorp.com/v1beta1", "kind": "VaultAuth",
             "metadata": {"name": "openclaw", "namespace": "vault"}}
    assert _declare("kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth", props) == [
        ObjectRef("secrets.hashicorp.com/v1beta1", "VaultAuth", "vault", "openclaw")]


@pytest.mark.parametrize("as_args", [False, True])
def test_a_cluster_scoped_object_has_no_namespace(as_args: bool) -> None:
    metadata: Any = k8s.meta.v1.ObjectMetaArgs(name="openclaw") if as_args else {"name": "openclaw"}
    assert _declare("kubernetes:core/v1:Namespace", {"api_version": "v1", "kind": "Namespace",
                                                      "metadata": metadata}) == [NS]


@pytest.mark.parametrize("as_args", [False, True])
def test_a_namespace_given_as_an_output_is_the_programs_namespace(as_args: bool) -> None:
    namespace = pulumi.Output.from_input("anything")
    metadata: Any = (k8s.meta.v1.ObjectMetaArgs(name="openclaw", namespace=namespace) if as_args
                     else {"name": "openclaw", "namespace": namespace})
    assert _declare("kubernetes:core/v1:Service", {"api_version": "v1", "kind": "Service", "metadata": metadata},
                    default_namespace="openclaw") == [SERVICE]


@pytest.mark.parametrize(("type_", "props"), [
    ("vault:index/policy:Policy", {"kind": "Policy", "metadata": {"name": "openclaw"}}),   # not Kubernetes
    ("kubernetes:yaml/v2:ConfigGroup", {"metadata": {"name": "openclaw"}}),                # no kind
    ("kubernetes:core/v1:Service", {"api_version": "v1", "kind": "Service",               # a name not known yet
                                    "metadata": {"name": pulumi.Output.from_input("openclaw")}}),
    ("kubernetes:core/v1:Service", {"api_version": "v1", "kind": "Service", "metadata": None}),
])
def test_what_is_not_a_named_kubernetes_object_is_not_recorded(type_: str, props: dict[str, Any]) -> None:
    assert _declare(type_, props) == []


class _Reader:
    def __init__(self, live: dict[ObjectRef, list[str]] | None = None, error: str | None = None) -> None:
        self.live = live or {}
        self.error = error
        self.calls: list[tuple[list[ObjectRef], list[str]]] = []

    def read(self, refs: Sequence[ObjectRef], paths: Sequence[str]) -> dict[ObjectRef, list[str]]:
        self.calls.append((list(refs), list(paths)))
        if self.error is not None:
            raise ClusterReadError(self.error)
        return {ref: self.live[ref] for ref in refs if ref in self.live}


def test_each_object_is_looked_up_once_in_order_for_its_field_managers() -> None:
    reader = _Reader()
    assert foreign_objects([SERVICE, NS, SERVICE, DEPLOYMENT], reader) == []
    assert reader.calls == [([DEPLOYMENT, NS, SERVICE], [MANAGERS_PATH])]


def test_an_object_with_a_pulumi_manager_among_others_is_the_programs_own() -> None:
    reader = _Reader({NS: ["argocd-controller pulumi-kubernetes-4f1c2a9e"], SERVICE: ["argocd-controller  kubectl"],
                      DEPLOYMENT: [""]})
    assert foreign_objects([NS, SERVICE, DEPLOYMENT], reader) == [(DEPLOYMENT, []),
                                                                  (SERVICE, ["argocd-controller", "kubectl"])]


@pytest.mark.parametrize("manager", ["pulumi-kubernetes", "pulumi-kubernetes-4f1c2a9e", "pulumi-resource-kubernetes",
                                     "pulumi-openclaw"])
def test_each_pulumi_field_manager_makes_an_object_the_programs_own(manager: str) -> None:
    assert foreign_objects([NS], _Reader({NS: [f"argocd-controller {manager}"]})) == []


@pytest.mark.parametrize("manager", ["pulumi", "pulumi-resource-kubernetes2", "pulumi-openclaw-x",
                                     "argocd-pulumi-kubernetes", "PULUMI-RESOURCE-KUBERNETES"])
def test_a_look_alike_manager_does_not(manager: str) -> None:
    assert foreign_objects([NS], _Reader({NS: [manager]})) == [(NS, [manager])]


def test_the_whole_message_names_each_foreign_object_and_the_way_out() -> None:
    reader = _Reader({NS: ["argocd-controller kube-controller-manager"], DEPLOYMENT: [""]})
    with pytest.raises(ConfigError) as info:
        check_existing([NS, DEPLOYMENT, SERVICE], reader, "prod")
    assert str(info.value) == (
        "openclaw:kubernetes.adoptExisting is false, but 2 object(s) the program would create already exist and "
        "were not created by Pulumi: the up would fail with AlreadyExists on each (the preview's dry run hides it):\n"
        "  - Deployment openclaw/openclaw (field managers: none)\n"
        "  - Namespace openclaw (field managers: argocd-controller, kube-controller-manager)\n"
        "This is the takeover from Argo CD (docs/takeover-runbook.md#objects-that-already-exist): "
        "`python -m tools.takeover --stack prod`, then `pulumi config set --path openclaw:kubernetes.adoptExisting "
        "true` for that one up. If the objects belong to something else, use another namespace or remove them first.")


def test_no_foreign_object_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    assert check_existing([NS], _Reader({NS: ["pulumi-openclaw"]}), "dev") is True
    assert warnings == []


def test_a_cluster_that_cannot_be_read_passes_with_the_whole_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    assert check_existing([NS, SERVICE, NS], _Reader(error="kubectl get namespace failed: Forbidden"), "dev") is True
    assert warnings == [
        "could not check which of the 2 Kubernetes objects already exist (kubectl get namespace failed: Forbidden): "
        "with adoptExisting off, an object someone else created fails the up with AlreadyExists "
        "(docs/takeover-runbook.md#objects-that-already-exist)"]


def _gated(reader: _Reader, declare_after: bool) -> list[Any]:
    resolved: list[Any] = []

    def program() -> None:
        declared = DeclaredObjects("openclaw")
        if not declare_after:
            declared.refs.append(NS)
        ready = gate(declared, reader, "dev")
        # Objects declared after the gate, in the same synchronous body, are checked too.
        declared.refs.append(DEPLOYMENT)
        ready.apply(resolved.append)

    run_program(program)
    return resolved


@pytest.mark.parametrize("declare_after", [False, True])
def test_the_gate_opens_once_every_object_declared_in_the_body_is_checked(declare_after: bool) -> None:
    reader = _Reader()
    assert _gated(reader, declare_after) == [True]
    assert reader.calls == [([DEPLOYMENT] if declare_after else [DEPLOYMENT, NS], [MANAGERS_PATH])]


def test_the_gate_never_opens_on_a_foreign_object_declared_after_it() -> None:
    with pytest.raises(ConfigError) as info:
        _gated(_Reader({DEPLOYMENT: ["argocd-controller"]}), declare_after=True)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("openclaw:kubernetes.adoptExisting is false, but 1 object(s)")
    assert lines[1] == "  - Deployment openclaw/openclaw (field managers: argocd-controller)"
    assert "`python -m tools.takeover --stack dev`" in lines[2]   # the stack the gate was given
