"""Edges of the cluster reader (components/cluster_reads.py) with a stand-in kubectl that records each
call and answers as told: the whole argv of each call (kubeconfig path or content, context, one call
per kind and namespace in order, cluster-scoped without a namespace, the JSONPath for one object and
for a List), the kubeconfig content written private and removed, the retry without
--show-managed-fields, each failure's message, the parsing of kubectl's lines; and the names an
ObjectRef gives kubectl and a user. tests/test_cluster_kubectl.py runs the real kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.cluster_reads import READER, ClusterReadError, Kubectl, ObjectRef, jsonpath_template, reader_for
from components.config import KubernetesConfig
from tests.support.ascii_locale import ascii_locale

NS = ObjectRef("v1", "Namespace", None, "openclaw")
CM_A = ObjectRef("v1", "ConfigMap", "openclaw", "a")
CM_B = ObjectRef("v1", "ConfigMap", "openclaw", "b")
CM_OTHER = ObjectRef("v1", "ConfigMap", "other", "c")
DEPLOYMENT = ObjectRef("apps/v1", "Deployment", "openclaw", "openclaw")
CLASS = ObjectRef("storage.k8s.io/v1", "StorageClass", None, "local-path")
MANAGERS = ".metadata.managedFields[*].manager"
ONE = '{.metadata.name}{"\\t"}{.metadata.managedFields[*].manager}{"\\n"}'
MANY = "{range .items[*]}" + ONE + "{end}"

# Records its argv (and the kubeconfig file it was given: content and mode) in calls.jsonl, then
# answers from answers.json: the first entry whose "match" is in the argv (stdout, stderr, exit).
FAKE = """#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
argv = sys.argv[1:]
call = {{"argv": argv}}
if "--kubeconfig" in argv:
    path = argv[argv.index("--kubeconfig") + 1]
    call["kubeconfig"] = [open(path).read(), oct(os.stat(path).st_mode & 0o777), path]
with open(os.path.join(here, "calls.jsonl"), "a") as out:
    out.write(json.dumps(call) + "\\n")
for answer in json.load(open(os.path.join(here, "answers.json"))):
    if all(m in argv for m in answer.get("match", [])) and not any(m in argv for m in answer.get("unless", [])):
        sys.stdout.write(answer.get("stdout", ""))
        sys.stderr.write(answer.get("stderr", ""))
        sys.exit(answer.get("exit", 0))
"""


def _kubectl(tmp_path: Path, answers: list[dict[str, Any]]) -> str:
    binary = tmp_path / "kubectl"
    binary.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
    binary.chmod(0o755)
    (tmp_path / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    return str(binary)


def _calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_one_call_per_kind_and_namespace_in_order_with_the_whole_argv(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\n", encoding="utf-8")
    binary = _kubectl(tmp_path, [])
    Kubectl(KubernetesConfig(kubeconfig=str(kubeconfig), context="lab"), binary=binary).read(
        [DEPLOYMENT, CM_OTHER, CM_B, NS, CM_A, CLASS], [MANAGERS])
    base = [binary, "--kubeconfig", str(kubeconfig), "--context", "lab", "get"]
    assert [c["argv"] for c in _calls(tmp_path)] == [
        [*base[1:], "configmap", "b", "a", "--namespace", "openclaw", "--ignore-not-found", "-o",
         f"jsonpath={MANY}", "--show-managed-fields"],
        [*base[1:], "configmap", "c", "--namespace", "other", "--ignore-not-found", "-o", f"jsonpath={ONE}",
         "--show-managed-fields"],
        [*base[1:], "deployment.v1.apps", "openclaw", "--namespace", "openclaw", "--ignore-not-found", "-o",
         f"jsonpath={ONE}", "--show-managed-fields"],
        [*base[1:], "namespace", "openclaw", "--ignore-not-found", "-o", f"jsonpath={ONE}", "--show-managed-fields"],
        [*base[1:], "storageclass.v1.storage.k8s.io", "local-path", "--ignore-not-found", "-o", f"jsonpath={ONE}",
         "--show-managed-fields"]]


def test_without_a_kubeconfig_or_context_kubectl_chooses_as_the_provider_does(tmp_path: Path) -> None:
    binary = _kubectl(tmp_path, [])
    Kubectl(KubernetesConfig(), binary=binary).read([NS], [MANAGERS])
    assert [c["argv"] for c in _calls(tmp_path)] == [
        ["get", "namespace", "openclaw", "--ignore-not-found", "-o", f"jsonpath={ONE}", "--show-managed-fields"]]


def test_a_kubeconfig_given_as_content_is_a_private_file_for_the_read_only(tmp_path: Path) -> None:
    binary = _kubectl(tmp_path, [])
    content = json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "lab"})
    Kubectl(KubernetesConfig(kubeconfig=content), binary=binary).read([NS, CM_A], [MANAGERS])
    calls = _calls(tmp_path)
    assert [c["kubeconfig"][:2] for c in calls] == [[content, "0o600"], [content, "0o600"]]
    (path,) = {c["kubeconfig"][2] for c in calls}
    assert Path(path).name == "config" and Path(path).parent.name.startswith("openclaw-kubeconfig-")
    assert not Path(path).exists() and not Path(path).parent.exists()


def test_a_kubeconfig_content_is_written_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    binary = _kubectl(tmp_path, [])
    content = "# owner: Zoë\n" + json.dumps({"apiVersion": "v1", "kind": "Config"})
    with ascii_locale():   # LANG unset on a node or CI runner
        Kubectl(KubernetesConfig(kubeconfig=content), binary=binary).read([NS], [MANAGERS])
    assert [c["kubeconfig"][0] for c in _calls(tmp_path)] == [content]


def test_kubectls_lines_give_each_asked_object_one_value_per_path(tmp_path: Path) -> None:
    binary = _kubectl(tmp_path, [
        {"match": ["configmap"], "stdout": "a\tm1 m2\tx\textra\nstranger\tm\nb\n"},
        {"match": ["namespace"], "stdout": "openclaw\t\t\n"}])
    found = Kubectl(KubernetesConfig(), binary=binary).read([CM_A, CM_B, NS, DEPLOYMENT], [MANAGERS, ".spec.x"])
    assert found == {CM_A: ["m1 m2", "x"], CM_B: ["", ""], NS: ["", ""]}


def test_a_kubectl_without_the_managed_fields_flag_is_asked_again_without_it(tmp_path: Path) -> None:
    binary = _kubectl(tmp_path, [
        {"match": ["--show-managed-fields"], "stderr": "Error: unknown flag: --show-managed-fields\n", "exit": 1},
        {"stdout": "openclaw\targo\n"}])
    assert Kubectl(KubernetesConfig(), binary=binary).read([NS], [MANAGERS]) == {NS: ["argo"]}
    assert [c["argv"][-1] for c in _calls(tmp_path)] == ["--show-managed-fields", f"jsonpath={ONE}"]


@pytest.mark.parametrize(("stderr", "shown"), [
    ("W0101 a warning\nError from server (Forbidden): namespaces is forbidden\n",
     "Error from server (Forbidden): namespaces is forbidden"),
    ("", "(no message)"),
    ("\n  \n", "(no message)"),
])
def test_a_failed_get_is_an_error_naming_kubectls_last_line_and_is_not_retried(
        tmp_path: Path, stderr: str, shown: str) -> None:
    binary = _kubectl(tmp_path, [{"stderr": stderr, "exit": 1}])
    with pytest.raises(ClusterReadError) as info:
        Kubectl(KubernetesConfig(), binary=binary).read([DEPLOYMENT], [MANAGERS])
    assert str(info.value) == f"kubectl get deployment.v1.apps failed: {shown}"
    assert len(_calls(tmp_path)) == 1


def test_a_kubectl_that_does_not_answer_in_time_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = _kubectl(tmp_path, [])
    given: list[Any] = []

    def hanging(argv: list[str], **kwargs: Any) -> Any:
        given.append(kwargs["timeout"])
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hanging)
    with pytest.raises(ClusterReadError) as info:
        Kubectl(KubernetesConfig(), binary=binary).read([NS], [MANAGERS])
    assert str(info.value) == f"{binary} did not answer within 60 s" and given == [60]


def test_no_kubectl_names_the_binary(tmp_path: Path) -> None:
    with pytest.raises(ClusterReadError) as info:
        Kubectl(KubernetesConfig(), binary=str(tmp_path / "nowhere")).read([NS], [MANAGERS])
    assert str(info.value) == f"{tmp_path / 'nowhere'} is not on PATH"


def test_the_jsonpath_of_one_object_and_of_a_list() -> None:
    assert jsonpath_template([".a", ".b[*].c"], many=False) == (
        '{.metadata.name}{"\\t"}{.a}{"\\t"}{.b[*].c}{"\\n"}')
    assert jsonpath_template([".a"], many=True) == '{range .items[*]}{.metadata.name}{"\\t"}{.a}{"\\n"}{end}'


@pytest.mark.parametrize(("ref", "kubectl_type", "shown"), [
    (NS, "namespace", "Namespace openclaw"),
    (CM_A, "configmap", "ConfigMap openclaw/a"),
    (DEPLOYMENT, "deployment.v1.apps", "Deployment openclaw/openclaw"),
    (CLASS, "storageclass.v1.storage.k8s.io", "StorageClass local-path"),
    (ObjectRef("secrets.hashicorp.com/v1beta1", "VaultAuth", "vault", "x"), "vaultauth.v1beta1.secrets.hashicorp.com",
     "VaultAuth vault/x"),
])
def test_the_names_an_object_has_for_kubectl_and_for_a_user(ref: ObjectRef, kubectl_type: str, shown: str) -> None:
    assert (ref.kubectl_type, str(ref)) == (kubectl_type, shown)


def test_a_kind_asked_with_and_without_a_namespace_is_two_calls(tmp_path: Path) -> None:
    """An object declared without a namespace (kubectl's default one) beside one of the same kind with it."""
    binary = _kubectl(tmp_path, [])
    unplaced = ObjectRef("v1", "ConfigMap", None, "x")
    Kubectl(KubernetesConfig(), binary=binary).read([CM_A, unplaced], [MANAGERS])
    assert [c["argv"][:4] for c in _calls(tmp_path)] == [["get", "configmap", "x", "--ignore-not-found"],
                                                         ["get", "configmap", "a", "--namespace"]]


def test_the_calls_go_in_order_and_the_first_that_fails_is_named(tmp_path: Path) -> None:
    """By kind, then namespace, none before any (a namespace may start with a digit)."""
    binary = _kubectl(tmp_path, [{"match": ["0team"], "stderr": "error: in 0team\n", "exit": 1},
                                 {"unless": ["--namespace"], "stderr": "error: unplaced\n", "exit": 1}])
    with pytest.raises(ClusterReadError) as info:
        Kubectl(KubernetesConfig(), binary=binary).read(
            [ObjectRef("v1", "ConfigMap", "0team", "a"), ObjectRef("v1", "ConfigMap", None, "x")], [MANAGERS])
    assert str(info.value) == "kubectl get configmap failed: error: unplaced"


def test_the_kubectl_reader_uses_the_stacks_kubeconfig_and_context(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _kubectl(tmp_path, [{"stdout": "openclaw\targo\n"}])
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("{}", encoding="utf-8")
    reader = reader_for(KubernetesConfig(kubeconfig=str(kubeconfig), context="lab"))
    assert reader.read([NS], [MANAGERS]) == {NS: ["argo"]}
    assert [c["argv"][:4] for c in _calls(tmp_path)] == [["--kubeconfig", str(kubeconfig), "--context", "lab"]]


def test_the_reader_is_the_one_set_for_the_run_else_kubectl() -> None:
    class Answers:
        def read(self, refs: Any, paths: Any) -> dict[ObjectRef, list[str]]:
            return {}

    answers = Answers()
    token = READER.set(answers)
    try:
        assert reader_for(KubernetesConfig()) is answers
    finally:
        READER.reset(token)
    assert isinstance(reader_for(KubernetesConfig()), Kubectl)
