"""The takeover's phases run against a cluster (tools/takeover_apply.py, here a fake kubectl): each
mutating command after its server-side dry run, the field ownership handed over, a failure stopping the
phase, what survived named; and the command line (`python -m tools.takeover`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ssa
from tests.takeover_fixtures import INVENTORY, NS, live_json, old_object, patched, takeover_render
from tools import takeover
from tools.takeover_plan import (
    ADOPT,
    decide,
    load_inventory,
    old_owners,
    ref_of,
    transfer_patch,
)


@pytest.fixture
def rendered() -> list[dict[str, Any]]:
    return takeover_render()


# --- running a phase against a cluster ------------------------------------------------------------

class FakeCluster:
    """kubectl against objects in memory: get, JSON patches (test/replace), anything else succeeds."""

    def __init__(self, objects: Sequence[dict[str, Any]], fail_on: str = "") -> None:
        self.objects = {self._key(takeover.Ref(o["kind"], o["metadata"]["name"],
                                               o["metadata"].get("namespace")).args()): copy.deepcopy(o)
                        for o in objects}
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    @staticmethod
    def _key(args: Sequence[str]) -> tuple[str, ...]:
        return tuple(args[:2]) + (tuple(args[args.index("-n"):args.index("-n") + 2]) if "-n" in args else ())

    def __call__(self, argv: Sequence[str]) -> tuple[int, str, str]:
        argv = list(argv)
        self.calls.append(argv)
        if self.fail_on and self.fail_on in " ".join(argv):
            return 1, "", "admission webhook denied the request"
        key = self._key(argv[1:])
        if argv[0] == "get":
            return (0, json.dumps(self.objects[key]), "") if key in self.objects else (1, "", "NotFound")
        if argv[0] == "patch" and "--type=json" in argv and "--dry-run=server" not in argv:
            self.objects[key] = patched(self.objects[key], json.loads(argv[argv.index("-p") + 1]))
        return 0, "", ""


def _cluster_objects(rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    objects = []
    for old in INVENTORY:
        live = live_json(ssa.create(old, ("argocd-controller", "Update")), old["apiVersion"], old["kind"])
        objects.append(live)
    pvc = next(o for o in objects if o["kind"] == "PersistentVolumeClaim")
    pvc["status"], pvc["spec"]["volumeName"] = {"phase": "Bound"}, "pvc-0001"
    objects.append({"kind": "PersistentVolume", "apiVersion": "v1", "metadata": {"name": "pvc-0001"},
                    "spec": {"persistentVolumeReclaimPolicy": "Retain"}})
    return objects


def test_the_before_phase_runs_each_command_after_its_dry_run_and_hands_ownership_over(
        rendered: list[dict[str, Any]]) -> None:
    cluster = FakeCluster(_cluster_objects(rendered))
    steps = takeover.build_steps("dev", decide(rendered, INVENTORY), INVENTORY)
    logged: list[str] = []
    assert takeover.execute(steps, "before", cluster, {ref_of(o): o for o in rendered}, logged.append) == 0
    mutating = [c for c in cluster.calls if c[0] in ("patch", "delete", "label")]
    for i, call in enumerate(mutating):
        if "--dry-run=server" not in call:
            assert mutating[i - 1] == [*call, "--dry-run=server"], call
    assert ["delete", "applications.argoproj.io", "openclaw", "-n", "argocd", "--cascade=orphan"] in mutating
    adopted = {(d.ref.kind, d.ref.name) for d in decide(rendered, INVENTORY) if d.treatment == ADOPT}
    handed = [obj for obj in cluster.objects.values() if (obj["kind"], obj["metadata"]["name"]) in adopted]
    assert len(handed) == len(adopted) == 10
    for obj in handed:
        assert old_owners(obj) == [], obj["kind"]
        assert [e["manager"] for e in obj["metadata"]["managedFields"]] == ["pulumi-openclaw"]
    assert logged[0] == "first, by hand:\nvault policy read openclaw\nvault read auth/kubernetes/role/openclaw"
    assert logged[-1].startswith("next, by hand:\npulumi config set --path openclaw:kubernetes.adoptExisting true")


def test_a_failing_dry_run_stops_before_the_real_command(rendered: list[dict[str, Any]]) -> None:
    cluster = FakeCluster(_cluster_objects(rendered), fail_on="delete applications.argoproj.io")
    steps = takeover.build_steps("dev", decide(rendered, INVENTORY), INVENTORY)
    logged: list[str] = []
    assert takeover.execute(steps, "before", cluster, {}, logged.append) == 1
    assert cluster.calls[-1][-1] == "--dry-run=server" and cluster.calls[-1][0] == "delete"
    assert logged[-1].startswith("FAILED: `kubectl delete applications.argoproj.io openclaw -n argocd "
                                 "--cascade=orphan --dry-run=server` failed: admission webhook denied")


def test_the_after_phase_names_what_survived(rendered: list[dict[str, Any]]) -> None:
    objects = _cluster_objects(rendered)
    cluster = FakeCluster(objects)  # nothing handed over, no up: the old Deployment is still there
    steps = [s for s in takeover.build_steps("dev", decide(rendered, INVENTORY), INVENTORY)
             if s.kind != "verify" or (s.ref and s.ref.kind == "Deployment")]
    logged: list[str] = []
    assert takeover.execute(steps, "after", cluster, {ref_of(o): o for o in rendered}, logged.append,
                            attempts=1) == 1
    assert logged[-1].startswith("FAILED: Deployment openclaw/openclaw keeps what the program does not declare: "
                                 "old field manager argocd-controller; metadata.labels.app.kubernetes.io/instance")
    assert not any(c[0] == "delete" for c in cluster.calls)  # nothing removed before the checks pass


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], rendered: list[dict[str, Any]]) -> None:
    assert takeover.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "PersistentVolumeClaim openclaw/openclaw-data" in out and "# ===== the up =====" in out
    live = tmp_path / "live.json"
    as_json = live_json(ssa.create(old_object("Service", NS), ("argocd-controller", "Update")), "v1", "Service")
    live.write_text(json.dumps(as_json), encoding="utf-8")
    assert takeover.main(["--transfer-patch", str(live)]) == 0
    assert json.loads(capsys.readouterr().out) == transfer_patch(as_json)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"kind": "List", "items": [{"kind": "Service"}]}), encoding="utf-8")
    assert takeover.main(["--stack", "dev", "--inventory", str(bad)]) == 2
    assert "items [0] lack kind or metadata.name" in capsys.readouterr().err


def test_an_inventory_from_kubectl_output(tmp_path: Path) -> None:
    # The runbook's dump: one object, a List, then Secrets by name only; a Secret's data never kept.
    text = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: openclaw}\n---\n"
            "apiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: openclaw}}\n"
            "---\nkind: Secret\nmetadata: {name: openclaw-secrets, namespace: openclaw}\n"
            "---\nkind: Secret\nmetadata: {name: s2, namespace: openclaw}\n"
            "data: {K: ZmFrZS1ub3QtYS1zZWNyZXQtMDAwMA==}\n")
    path = tmp_path / "live.yaml"
    path.write_text(text, encoding="utf-8")
    items = load_inventory(path)
    assert [(o["kind"], o["metadata"]["name"]) for o in items] == [
        ("Namespace", "openclaw"), ("ConfigMap", "a"), ("Secret", "openclaw-secrets"), ("Secret", "s2")]
    assert "data" not in items[3]
