"""Edges of when the pre-upgrade snapshot is due (components/pre_upgrade.py), each branch through the
stack config's loading, the whole warning a user reads, and the Job's wait and node preference as
rendered."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import parse_config
from components.pre_upgrade import snapshot_due, unsnapshotted_migration_warning
from engine.harness import RunResult, run_stack
from tests.support.component_outputs import recording_outputs

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}


def _cfg(tag: str, lock: str | None) -> Any:
    raw: dict[str, Any] = {"gateway": ORIGIN, "image": {"tag": tag}}
    if lock is not None:
        raw["kubernetes"] = {"releaseLock": lock}
    return parse_config(raw)


@pytest.mark.parametrize(("tag", "lock", "due"), [
    ("2026.9.6", "2026.2.23", "2026.2.23"), ("2026.9.6", "2026.6.35", "2026.6.35"),
    ("2026.9.6", "2026.9.6", None), ("2026.9.6", None, None), ("2026.6.35", "2026.2.23", None),
    ("2026.6.35", None, None),
])
def test_a_snapshot_is_due_only_for_a_lock_of_a_lower_epoch(tag: str, lock: str | None, due: str | None) -> None:
    found = snapshot_due(_cfg(tag, lock))
    assert (found.version if found else None) == due


@pytest.mark.parametrize(("tag", "lock"), [("2026.9.6", "2026.2.23"), ("2026.9.6", "2026.9.6"), ("2026.6.35", None)])
def test_no_warning_with_a_lock_or_without_a_migration(tag: str, lock: str | None) -> None:
    assert unsnapshotted_migration_warning(_cfg(tag, lock)) is None


def test_the_warning_without_a_lock_says_what_to_set() -> None:
    assert unsnapshotted_migration_warning(_cfg("2026.9.6", None)) == (
        "openclaw:image.tag 2026.9.6 migrates a volume written by an earlier release (state epoch 2), but "
        "openclaw:kubernetes.releaseLock is not set: no pre-upgrade snapshot is taken before the migration. Set "
        "releaseLock to the release that last ran on the volume (the state-guard's log line or .state-release.json on "
        "the volume says which), and the program snapshots it first (docs/upgrade-runbook.md#snapshot)")


def test_the_job_waits_past_its_deadline_and_prefers_the_gateways_node(dev: RunResult) -> None:
    (job,) = [r for r in dev.kubernetes() if r.type.endswith("batch/v1:Job")]
    annotations = job.properties["metadata"]["annotations"]
    deadline = job.properties["spec"]["activeDeadlineSeconds"]
    assert annotations["pulumi.com/timeoutSeconds"] == str(deadline + 60)
    assert (annotations["openclaw.io/pre-upgrade-snapshot-of"], annotations["openclaw.io/pre-upgrade-for"]) == (
        "2026.2.23", "2026.9.6")
    assert job.properties["spec"]["template"]["spec"]["affinity"] == {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "openclaw"}}, "topologyKey": "kubernetes.io/hostname"}}]}}


def _reserve(size: str) -> int:
    """SNAPSHOT_RESERVE_BYTES of dev's Job (backups off) with the volume at `size`."""
    from tests.test_pre_upgrade_job import _containers, _jobs, _run
    storage = {"className": "local-path-retain", "size": size}
    (job,) = _jobs(_run("dev", "2026.9.6", "2026.2.23", **{"openclaw:storage": storage}))
    (container,) = _containers(job)
    return int(next(e["value"] for e in container["env"] if e["name"] == "SNAPSHOT_RESERVE_BYTES"))


@pytest.mark.parametrize(("size", "reserve"), [
    ("640Mi", 64 * 1024 * 1024),                 # a tenth is exactly the floor
    ("641Mi", 641 * 1024 * 1024 // 10),          # just above: a tenth of the claim
    ("2Gi", 2 * 1024 ** 3 // 10),
])
def test_the_job_keeps_a_tenth_of_the_claim_free_at_least_64mi(size: str, reserve: int) -> None:
    """The reserve follows the stack's volume size (openclaw:storage.size), not a default."""
    assert _reserve(size) == reserve


def test_the_job_tells_checkov_why_its_tag_only_image_is_kept(dev: RunResult) -> None:
    """The old release's image is referenced by its release tag (no digest): the digest and pull-policy
    checks are skipped with a reason, as for the backup's own checks."""
    (job,) = [r for r in dev.kubernetes() if r.type.endswith("batch/v1:Job")]
    skipped = sorted(v.split("=", 1)[0] for k, v in job.properties["metadata"]["annotations"].items()
                     if k.startswith("checkov.io/skip"))
    assert skipped == ["CKV_K8S_15", "CKV_K8S_35", "CKV_K8S_40", "CKV_K8S_43"]


def test_the_component_registers_the_jobs_name_as_its_output() -> None:
    """What `pulumi stack` shows under the component (tests/support/component_outputs.py records it)."""
    with recording_outputs() as outputs:
        run = run_stack("dev")
    (component,) = [r.urn for r in run.resources if r.type == "openclaw:index:PreUpgradeSnapshot"]
    assert outputs[component] == {"job_name": "openclaw-pre-upgrade-2026-2-23"}
    assert run.find("Job", "openclaw-pre-upgrade-2026-2-23") is not None
