"""Taking over from Argo CD: one explicit provider, adoption by switch, the volume never replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError
from tools import render
from tools.harness import REPO, RunResult, run_stack

DEV_K8S = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]["openclaw:kubernetes"]


def _k8s(**changes: Any) -> dict[str, Any]:
    return {"openclaw:kubernetes": {**DEV_K8S, **changes}}


def _provider(run: RunResult) -> Any:
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    return provider


def test_every_kubernetes_object_uses_the_explicit_provider(dev: RunResult) -> None:
    provider = _provider(dev)
    assert provider.properties["context"] == "default"
    assert provider.properties["clusterIdentifier"] == "lumie-k3s"
    assert provider.properties["enableServerSideApply"] == "true"
    objects = dev.kubernetes()
    assert len(objects) > 40
    for record in objects:
        assert record.provider.startswith(provider.urn + "::"), record.name


def test_adoption_is_off_by_default_and_reaches_the_provider_when_on(dev: RunResult) -> None:
    assert _provider(dev).properties["upsertExistingObjects"] == "false"
    assert _provider(dev).properties["enablePatchForce"] == "false"
    adopting = _provider(run_stack("dev", overrides=_k8s(adoptExisting=True)))
    assert adopting.properties["upsertExistingObjects"] == "true"
    assert adopting.properties["enablePatchForce"] == "true"
    # A cluster identifier keeps a context rename an update, not a replacement of every object.
    assert adopting.properties["clusterIdentifier"] == "lumie-k3s"


def test_volume_and_namespace_are_protected(dev: RunResult) -> None:
    pvc = dev.find("PersistentVolumeClaim", "openclaw-data")
    assert pvc.options.protect and pvc.options.retain_on_delete
    assert not pvc.options.delete_before_replace and not pvc.options.replace_on_changes
    assert dev.find("Namespace", "openclaw").options.protect


@pytest.mark.parametrize(("overrides", "key", "words"), [
    ({"openclaw:storage": {"className": "local-path", "size": "500Mi"}}, "openclaw:storage.className",
     "'local-path' differs from the live volume's 'local-path-retain'"),
    ({"openclaw:storage": {"className": "local-path-retain", "size": "100Mi"}}, "openclaw:storage.size",
     "100Mi is smaller than the live volume's 500Mi"),
    (_k8s(volumeLock={**DEV_K8S["volumeLock"], "accessModes": ["ReadWriteMany"]}),
     "openclaw:kubernetes.volumeLock.accessModes", "the live volume has ['ReadWriteMany']"),
    ({"openclaw:namespace": "openclaw-v2"}, "openclaw:namespace", "differs from the live namespace 'openclaw'"),
])
def test_a_change_that_would_replace_live_state_fails(overrides: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        run_stack("dev", overrides=overrides)
    message = str(info.value)
    assert message.startswith("refusing a change that would replace live state (1):")
    line = message.splitlines()[1]
    assert line.startswith(f"  - {key}: ") and words in line, message


def test_growing_the_volume_is_allowed() -> None:
    run = run_stack("dev", overrides={"openclaw:storage": {"className": "local-path-retain", "size": "1Gi"}})
    assert run.find("PersistentVolumeClaim", "openclaw-data").properties["spec"]["resources"]["requests"] == {
        "storage": "1Gi"}


def test_render_marks_adopted_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_stack("dev", overrides=_k8s(adoptExisting=True))
    written = render.write_render(run, tmp_path)
    adoption = yaml.safe_load((tmp_path / "adoption.yaml").read_text(encoding="utf-8"))
    listed = {(o["kind"], o["name"]) for o in adoption["objects"]}
    assert ("PersistentVolumeClaim", "openclaw-data") in listed and ("Namespace", "openclaw") in listed
    assert len(listed) == len(run.kubernetes())
    assert not any(o["kind"].startswith("vault:") for o in adoption["objects"])
    table = render.format_table(written, tmp_path)
    assert table.splitlines()[0].endswith("ON FIRST UP")
    assert "adopt if it exists" in next(line for line in table.splitlines() if "openclaw-data" in line)


def test_render_without_adoption_writes_no_adoption_list(tmp_path: Path, dev: RunResult) -> None:
    (tmp_path / "adoption.yaml").write_text("stale", encoding="utf-8")
    written = render.write_render(dev, tmp_path)
    assert not (tmp_path / "adoption.yaml").exists()
    assert "ON FIRST UP" not in render.format_table(written, tmp_path)
