"""A pull request that changes only `openclaw:image.tag`, between any two supported releases, in
either stack: it renders, the render is schema-valid, the pack passes it in both shapes, and the
diff a reviewer sees touches only what a release change may touch (never the volume, the
namespace, the secrets or the network). Cheap: one render and one analysis per (stack, release),
the twelve ordered pairs are diffs of those renders. The release's own validator judges the same
renders in tests/e2e/test_validate.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from components.releases import RELEASES
from engine.analyzer import PolicyAnalyzer, load_policy_config, mandatory, skipped
from engine.harness import RunResult, run_stack
from engine.schema import validate_manifests
from engine.yaml_text import from_yaml
from tools import render
from tools.render_diff import diff_renders, to_markdown

SUPPORTED = sorted(RELEASES, key=lambda v: RELEASES[v].key)
STACKS = ["dev", "prod"]
# What a change of release may change: the Deployment (image, probes, sizing), the gateway config
# (content-addressed: a new ConfigMap replaces the old) and the Service's await timeout (derived from
# the release's startup budget: components/awaits.py). Nothing that holds state or guards the pod.
CONFIG = "ConfigMap openclaw/openclaw-config"  # how the diff names the content-addressed config
SERVICE = "Service openclaw/openclaw"
PLUGINS = "ConfigMap openclaw/openclaw-plugins"
# The backup and drill CronJobs run the release's own image (its Node opens the release's SQLite,
# components/backup_pod.py): only the image and the release they record may change there.
BACKUP_JOBS = {"CronJob openclaw/openclaw-backup", "CronJob openclaw/openclaw-backup-drill"}
MAY_CHANGE = {"Deployment openclaw/openclaw", CONFIG, SERVICE} | BACKUP_JOBS
ONLY = {SERVICE: ("pulumi.com/timeoutSeconds",),
        **{job: ("image: ghcr.io/openclaw/openclaw:", "value: 20") for job in BACKUP_JOBS}}


# The release that last wrote each stack's live volume (openclaw:kubernetes.releaseLock).
LOCKS = {stack: from_yaml((Path(__file__).parent.parent / f"Pulumi.{stack}.yaml").read_text())["config"][
    "openclaw:kubernetes"]["releaseLock"] for stack in STACKS}


def tag_run(stack: str, version: str) -> RunResult:
    return run_stack(stack, overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw",
                                                          "tag": version}})


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[RunResult, Path]]:
    out: dict[tuple[str, str], tuple[RunResult, Path]] = {}
    for stack, version in itertools.product(STACKS, SUPPORTED):
        run = tag_run(stack, version)
        folder = tmp_path_factory.mktemp(f"{stack}-{version}")
        written = render.write_render(run, folder)
        report = validate_manifests(w.document for w in written if w.path.parent.name == "kubernetes")
        assert report.errors == [] and report.checked, (stack, version, report.summary())
        out[(stack, version)] = (run, folder)
    return out


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("version", SUPPORTED)
def test_every_release_renders_valid_and_passes_the_pack_in_both_shapes(
        analyzer: PolicyAnalyzer, renders: dict[tuple[str, str], tuple[RunResult, Path]],
        stack: str, version: str) -> None:
    run, _ = renders[(stack, version)]
    verdicts = analyzer.analyze_shapes(run.resources, load_policy_config(stack))
    for shape, diagnostics in verdicts.items():
        assert mandatory(diagnostics) == [] and skipped(diagnostics) == [], (shape, diagnostics)
        assert not [d for d in diagnostics if d.policy.startswith("release-")], (shape, diagnostics)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(("old", "new"), list(itertools.permutations(SUPPORTED, 2)))
def test_a_tag_only_change_touches_only_the_gateway(renders: dict[tuple[str, str], tuple[RunResult, Path]],
                                                    stack: str, old: str, new: str) -> None:
    diff = diff_renders(renders[(stack, old)][1], renders[(stack, new)][1])
    changed = {c.key.label() for c in diff.changed}
    assert "Deployment openclaw/openclaw" in changed
    # The pinned plugins' ConfigMap comes and goes with a release that pins plugins (2026.9.6), the
    # pre-upgrade snapshot Job with a release of a higher state epoch than the stack's releaseLock.
    come_and_go = {o.key.label() for o in (*diff.added, *diff.removed)}
    pins = bool(RELEASES[old].plugins) != bool(RELEASES[new].plugins)
    lock = RELEASES[LOCKS[stack]]
    snapshots = (RELEASES[old].state_epoch > lock.state_epoch) != (RELEASES[new].state_epoch > lock.state_epoch)
    job = f"Job openclaw/openclaw-pre-upgrade-{lock.version.replace('.', '-')}"
    assert changed <= MAY_CHANGE and come_and_go == ({PLUGINS} if pins else set()) | ({job} if snapshots else set()), (
        changed, diff.added, diff.removed)
    if snapshots and RELEASES[new].state_epoch > lock.state_epoch:
        assert (f"- {job} - **pre-upgrade snapshot of {lock.version} before the migration to {new}**"
                in to_markdown(diff))
    for change in (c for c in diff.changed if c.key.label() in ONLY):
        lines = [line for line in change.unified().splitlines()[2:] if line[:1] in "+-"]
        assert lines and all(any(allowed in line for allowed in ONLY[change.key.label()]) for line in lines), \
            change.unified()
    deployment = next(c for c in diff.changed if c.key.label() == "Deployment openclaw/openclaw")
    assert any(note.startswith("restarts the pod") for note in deployment.notes)
    assert f"image: ghcr.io/openclaw/openclaw:{new}" in deployment.unified()
    same_shape = RELEASES[old].config_shape == RELEASES[new].config_shape and (
        RELEASES[old].secret_ref_fields == RELEASES[new].secret_ref_fields) and (
        RELEASES[old].sessions_visibility_default == RELEASES[new].sessions_visibility_default)
    # The config is replaced exactly when the release reads another shape of it.
    assert (CONFIG in changed) is not same_shape
