"""The offline render command: files on disk, one per object, and a clean error on bad config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.harness import HarnessError, run_stack
from tools import render


def test_render_writes_one_file_per_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert render.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    files = sorted((tmp_path / "kubernetes").glob("*.yaml"))
    run = run_stack("dev")
    assert len(files) == len(run.kubernetes())
    kinds = set()
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert list(doc)[:3] == ["apiVersion", "kind", "metadata"]
        kinds.add(doc["kind"])
        scope = doc["metadata"].get("namespace", "cluster")
        assert path.name == f"{scope}.{doc['kind'].lower()}.{doc['metadata']['name']}.yaml"
    assert {"Namespace", "Deployment", "Service", "PersistentVolumeClaim", "ConfigMap", "NetworkPolicy",
            "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} <= kinds
    outputs = yaml.safe_load((tmp_path / "outputs.yaml").read_text(encoding="utf-8"))
    assert outputs["serviceAddress"] == "openclaw.openclaw.svc.cluster.local:18789"
    table = capsys.readouterr().out
    assert "Deployment" in table and "kubernetes/openclaw.deployment.openclaw.yaml" in table


def test_render_is_deterministic(tmp_path: Path) -> None:
    render.main(["--stack", "dev", "--out", str(tmp_path / "a")])
    render.main(["--stack", "dev", "--out", str(tmp_path / "b")])
    for path in (tmp_path / "a" / "kubernetes").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / "kubernetes" / path.name).read_bytes()


def test_multiline_content_is_a_readable_block(tmp_path: Path) -> None:
    render.main(["--stack", "dev", "--out", str(tmp_path)])
    (config,) = (tmp_path / "kubernetes").glob("openclaw.configmap.openclaw-config-*.yaml")
    assert "openclaw.json: |" in config.read_text(encoding="utf-8")


def test_unknown_stack_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert render.main(["--stack", "nope", "--out", str(tmp_path)]) == 2
    assert "no stack file Pulumi.nope.yaml; stacks here: dev, prod" in capsys.readouterr().err
    with pytest.raises(HarnessError):
        run_stack("nope")


def test_auto_named_objects_get_deterministic_names() -> None:
    from engine.mocks import _checked_inputs
    first = _checked_inputs("kubernetes:core/v1:ConfigMap", "x-config", {"kind": "ConfigMap", "metadata": {}})
    second = _checked_inputs("kubernetes:core/v1:ConfigMap", "x-config", {"kind": "ConfigMap"})
    assert first["metadata"]["name"] == second["metadata"]["name"]
    assert first["metadata"]["name"].startswith("x-config-") and len(first["metadata"]["name"]) == len("x-config-") + 8
    named = _checked_inputs("kubernetes:core/v1:ConfigMap", "x", {"kind": "ConfigMap", "metadata": {"name": "keep"}})
    assert named["metadata"]["name"] == "keep"
