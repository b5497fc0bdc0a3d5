"""Edges of when the pre-upgrade snapshot is due (components/pre_upgrade.py), each branch through the
stack config's loading, the whole warning a user reads, and the Job's wait and node preference as
rendered."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import parse_config
from components.pre_upgrade import snapshot_due, unsnapshotted_migration_warning
from engine.harness import RunResult

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
