"""Render diff: added, removed, changed objects with notes, and the minimal-diff property."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agents
from engine.harness import run_stack
from tools import render
from tools.render_diff import RenderDiff, diff_renders, to_markdown


def _render(path: Path, **overrides: Any) -> Path:
    render.write_render(run_stack("dev", overrides=overrides or None), path)
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(tmp_path_factory.mktemp("baseline"))


def _labels(diff: RenderDiff) -> dict[str, list[str]]:
    return {"added": [o.key.label() for o in diff.added], "removed": [o.key.label() for o in diff.removed],
            "changed": [c.key.label() for c in diff.changed]}


def test_same_render_no_change(baseline: Path, tmp_path: Path) -> None:
    diff = diff_renders(baseline, _render(tmp_path))
    assert diff.empty and diff.unchanged > 40
    assert "No change to any rendered object." in to_markdown(diff)


def test_changing_one_agents_seed_file_changes_its_configmap_and_the_pod_template(
        baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original: Callable[..., dict[str, dict[str, str]]] = agents.render_workspaces
    chosen: list[str] = []

    def edited(*args: Any, **kwargs: Any) -> dict[str, dict[str, str]]:
        files = original(*args, **kwargs)
        agent_id = sorted(files)[-1]  # any agent: the property must hold for each
        chosen.append(agent_id)
        files[agent_id]["TOOLS.md"] += "\n- one more note\n"
        return files

    monkeypatch.setattr(agents, "render_workspaces", edited)
    diff = diff_renders(baseline, _render(tmp_path))
    agent_id = chosen[0]
    assert _labels(diff) == {"added": [], "removed": [], "changed": [
        f"ConfigMap openclaw/openclaw-seed-{agent_id}", "Deployment openclaw/openclaw"]}
    seed_change, deployment_change = diff.changed
    assert seed_change.notes[0].startswith("replaced: new content, new name")
    assert "+  TOOLS.md: |" in seed_change.unified() or "+    - one more note" in seed_change.unified()
    assert deployment_change.notes == ["restarts the pod: the pod template changed (strategy Recreate: the "
                                       "gateway is down while the new pod starts)"]
    # The Deployment differs only in that ConfigMap's name.
    changed_lines = [line for line in deployment_change.unified().splitlines()
                     if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert len(changed_lines) == 2 and all(f"openclaw-seed-{agent_id}-" in line for line in changed_lines)


def test_changing_the_image_changes_only_the_deployment(baseline: Path, tmp_path: Path) -> None:
    # Pinning the same release by digest (a change of release is tests/test_release_matrix.py).
    digest = "sha256:b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"
    diff = diff_renders(baseline, _render(tmp_path, **{"openclaw:image": {"tag": "2026.9.6", "digest": digest}}))
    assert _labels(diff) == {"added": [], "removed": [], "changed": ["Deployment openclaw/openclaw"]}
    # The gateway and its init containers (state guard, seeding, plugins, migration, preflight) run the same image.
    assert diff.changed[0].unified().count(f"+        image: ghcr.io/openclaw/openclaw:2026.9.6@{digest}") == 6


def test_replacements_and_removals_are_called_out(baseline: Path, tmp_path: Path) -> None:
    new = _render(tmp_path, **{"openclaw:storage": {"className": "local-path-retain", "size": "1Gi"},
                               "openclaw:network": {"ipv6Egress": True,
                                                    "apiServerEndpoints": ["192.168.10.10:6443"]},
                               "openclaw:telegram": {"enabled": False}})
    (new / "kubernetes" / "openclaw.networkpolicy.openclaw-allow-dns.yaml").unlink()
    pvc = new / "kubernetes" / "openclaw.persistentvolumeclaim.openclaw-data.yaml"
    pvc.write_text(pvc.read_text(encoding="utf-8").replace("local-path-retain", "local-path"), encoding="utf-8")
    diff = diff_renders(baseline, new)
    labels = _labels(diff)
    assert labels["added"] == ["NetworkPolicy openclaw/openclaw-allow-public-https-ipv6"]
    assert labels["removed"] == ["NetworkPolicy openclaw/openclaw-allow-dns"]
    notes = {c.key.label(): c.notes for c in diff.changed}
    assert any("`spec.storageClassName` cannot change in place" in n
               for n in notes["PersistentVolumeClaim openclaw/openclaw-data"])
    report = to_markdown(diff, "Render diff: stack dev")
    assert report.startswith("## Render diff: stack dev\n\n**1 added, 1 removed, ")
    assert "### Removed\n- NetworkPolicy openclaw/openclaw-allow-dns" in report


def test_secrets_never_shown(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for root, value in ((old, "fake-not-a-secret-0001"), (new, "fake-not-a-secret-0002")):
        (root / "kubernetes").mkdir(parents=True)
        (root / "other").mkdir()
        (root / "kubernetes" / "openclaw.secret.s.yaml").write_text(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: openclaw\n"
            f"stringData:\n  TOKEN: {value}\n", encoding="utf-8")
    report = to_markdown(diff_renders(old, new))
    assert "fake-not-a-secret" not in report
    assert "**0 added, 0 removed, 0 changed**" in report  # hidden values compare equal: nothing to show


def test_render_command_diff(baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "diff.md"
    code = render.main(["--stack", "prod", "--out", str(tmp_path / "prod"), "--diff", str(baseline),
                        "--diff-out", str(out_file), "--no-policy"])
    assert code == 0
    report = out_file.read_text(encoding="utf-8")
    assert report in capsys.readouterr().out
    assert "- NetworkPolicy openclaw/openclaw-allow-public-https-ipv6" in report
    assert "restarts the pod" in report
    assert render.main(["--out", str(tmp_path / "x"), "--diff", str(tmp_path / "nothing")]) == 2
