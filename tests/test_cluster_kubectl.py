"""The program's own cluster reads (components/cluster_reads.py `Kubectl`) run by the real kubectl
against a small API server on 127.0.0.1 that serves discovery and a few objects, so the argv, the
JSONPath templates (one object, a List of several), the kubeconfig handling and the errors are
kubectl's own behaviour, not a guess."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from components.cluster_reads import ClusterReadError, Kubectl, ObjectRef
from components.config import KubernetesConfig
from components.existing_objects import MANAGERS_PATH
from engine.fake_cluster import K3S_STORAGE_CLASS, live_object
from tests.support.loopback_http import serving

SECRET_VALUE = "ZmFrZS1ub3QtYS1zZWNyZXQtMDAwMQ=="  # base64 of fake-not-a-secret-0001
OBJECTS = [
    live_object("v1", "Namespace", "openclaw", None, "argocd-controller", "kube-controller-manager"),
    live_object("v1", "ConfigMap", "a", "openclaw", "pulumi-kubernetes-1234abcd"),
    live_object("v1", "ConfigMap", "b", "openclaw", "argocd-controller"),
    {**live_object("v1", "Secret", "openclaw-secrets", "openclaw", "vault-secrets-operator"),
     "data": {"OPENCLAW_GATEWAY_TOKEN": SECRET_VALUE}},
    live_object("apps/v1", "Deployment", "openclaw", "openclaw", "argocd-controller"),
    K3S_STORAGE_CLASS,
]
RESOURCES = {  # group/version -> (plural, kind, namespaced)
    "v1": [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True), ("secrets", "Secret", True)],
    "apps/v1": [("deployments", "Deployment", True)],
    "storage.k8s.io/v1": [("storageclasses", "StorageClass", False)],
}


class _Api(BaseHTTPRequestHandler):
    forbidden: ClassVar[set[str]] = set()

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        groups = [gv for gv in RESOURCES if "/" in gv]
        if path == "/api":
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                 "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for gv in groups]})
        for gv, resources in RESOURCES.items():
            prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            if path == prefix:
                return self._send(200, {"kind": "APIResourceList", "groupVersion": gv, "resources": [
                    {"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                     "verbs": ["get", "list"]} for plural, kind, namespaced in resources]})
            for plural, kind, namespaced in resources:
                for obj in OBJECTS:
                    meta = obj["metadata"]
                    where = f"/namespaces/{meta.get('namespace')}" if namespaced else ""
                    if obj["kind"] == kind and path == f"{prefix}{where}/{plural}/{meta['name']}":
                        if plural in self.forbidden:
                            return self._send(403, {"kind": "Status", "status": "Failure", "reason": "Forbidden",
                                                    "code": 403, "message": f'{plural} "{meta["name"]}" is '
                                                    'forbidden: User "preview" cannot get resource'})
                        return self._send(200, obj)
        return self._send(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
                                "message": "not found"})


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with serving(_Api) as port:
        yield f"http://127.0.0.1:{port}"


def _kubeconfig(server: str) -> str:
    """Two contexts: the current one points nowhere, `lab` at the test server."""
    return json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
                       "clusters": [{"name": "lab", "cluster": {"server": server}},
                                    {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:1"}}],
                       "users": [{"name": "u", "user": {"token": "fake-not-a-secret-0002"}}],
                       "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "u"}},
                                    {"name": "elsewhere", "context": {"cluster": "nowhere", "user": "u"}}]})


def _reader(api: str, tmp_path: Path, as_content: bool) -> Kubectl:
    text = _kubeconfig(api)
    if as_content:
        return Kubectl(KubernetesConfig(context="lab", kubeconfig=text))
    path = tmp_path / "kubeconfig"
    path.write_text(text, encoding="utf-8")
    return Kubectl(KubernetesConfig(context="lab", kubeconfig=str(path)))


@pytest.mark.parametrize("as_content", [False, True], ids=["path", "content"])
def test_existing_objects_and_their_managers(api: str, tmp_path: Path, as_content: bool) -> None:
    refs = [ObjectRef("v1", "Namespace", None, "openclaw"),
            ObjectRef("v1", "ConfigMap", "openclaw", "a"), ObjectRef("v1", "ConfigMap", "openclaw", "b"),
            ObjectRef("v1", "ConfigMap", "openclaw", "missing"),
            ObjectRef("apps/v1", "Deployment", "openclaw", "openclaw"),  # one name: kubectl prints the object
            ObjectRef("apps/v1", "Deployment", "openclaw", "other")]
    found = _reader(api, tmp_path, as_content).read(refs, [MANAGERS_PATH])
    assert found == {refs[0]: ["argocd-controller kube-controller-manager"],
                     refs[1]: ["pulumi-kubernetes-1234abcd"], refs[2]: ["argocd-controller"],
                     refs[4]: ["argocd-controller"]}


def test_a_single_missing_object_is_absent_not_an_error(api: str, tmp_path: Path) -> None:
    assert _reader(api, tmp_path, False).read([ObjectRef("v1", "ConfigMap", "openclaw", "missing")],
                                              [MANAGERS_PATH]) == {}


def test_fields_of_a_storage_class_unset_ones_empty(api: str, tmp_path: Path) -> None:
    ref = ObjectRef("storage.k8s.io/v1", "StorageClass", None, "local-path-retain")
    found = _reader(api, tmp_path, False).read([ref], [".allowVolumeExpansion", ".provisioner"])
    assert found == {ref: ["", "rancher.io/local-path"]}


def test_a_secret_is_read_for_its_metadata_only(api: str, tmp_path: Path) -> None:
    ref = ObjectRef("v1", "Secret", "openclaw", "openclaw-secrets")
    found = _reader(api, tmp_path, False).read([ref], [MANAGERS_PATH])
    assert found == {ref: ["vault-secrets-operator"]}
    assert SECRET_VALUE not in repr(found)


def test_forbidden_is_an_error_naming_kubectls_message(api: str, tmp_path: Path) -> None:
    _Api.forbidden = {"deployments"}
    try:
        forbidden = r"kubectl get deployment.v1.apps failed: Error from server \(Forbidden\)"
        with pytest.raises(ClusterReadError, match=forbidden):
            _reader(api, tmp_path, False).read([ObjectRef("apps/v1", "Deployment", "openclaw", "openclaw")],
                                               [MANAGERS_PATH])
    finally:
        _Api.forbidden = set()


def test_the_current_context_is_not_used_when_one_is_configured(api: str, tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(_kubeconfig(api), encoding="utf-8")
    with pytest.raises(ClusterReadError, match="kubectl get namespace failed"):
        Kubectl(KubernetesConfig(kubeconfig=str(path))).read([ObjectRef("v1", "Namespace", None, "openclaw")],
                                                             [MANAGERS_PATH])


def test_a_kubectl_without_show_managed_fields_is_asked_again_without_it(api: str, tmp_path: Path) -> None:
    """kubectl 1.20 (Debian 12's) shows managedFields unasked and refuses the flag later ones need."""
    real = shutil.which("kubectl")
    assert real is not None
    old = tmp_path / "kubectl-1.20"
    old.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = --show-managed-fields ] && '
                   '{ echo "Error: unknown flag: --show-managed-fields" >&2; exit 1; }; done\n'
                   f'exec {real} "$@"\n', encoding="utf-8")
    old.chmod(0o755)
    path = tmp_path / "kubeconfig"
    path.write_text(_kubeconfig(api), encoding="utf-8")
    ref = ObjectRef("v1", "Namespace", None, "openclaw")
    reader = Kubectl(KubernetesConfig(context="lab", kubeconfig=str(path)), binary=str(old))
    assert reader.read([ref], [MANAGERS_PATH]) == {ref: ["argocd-controller kube-controller-manager"]}


def test_no_kubectl_is_an_error_not_a_pass() -> None:
    with pytest.raises(ClusterReadError, match="kubectl-missing is not on PATH"):
        Kubectl(KubernetesConfig(), binary="kubectl-missing").read([ObjectRef("v1", "Namespace", None, "x")],
                                                                   [MANAGERS_PATH])
