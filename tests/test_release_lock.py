"""`openclaw:kubernetes.releaseLock`: a downgrade across a state migration is refused at preview, with
the rollback path; moves within a state epoch pass both ways; an unknown or unset lock."""

from __future__ import annotations

import pytest

from components.config import ConfigError, parse_config
from components.config.release_lock import downgrade_problem
from components.releases import RELEASES
from engine.harness import run_stack

ORIGINS = {"allowedOrigins": ["https://openclaw.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


@pytest.mark.parametrize("lock,tag", [
    ("2026.2.23", "2026.3.7"), ("2026.3.7", "2026.2.23"),      # same epoch (1), up and down
    ("2026.6.35", "2026.2.23"), ("2026.2.23", "2026.6.35"),
    ("2026.2.23", "2026.2.23"),
    ("2026.2.23", "2026.9.6"), ("2026.6.35", "2026.9.6"),      # up one epoch: the migration runs in the pod
    ("2026.9.6", "2026.9.6"),
])
def test_moves_the_volume_can_follow_pass(lock: str, tag: str) -> None:
    assert downgrade_problem(tag, lock) is None
    config = parse_config({"gateway": ORIGINS, "network": NETWORK, "image": {"tag": tag},
                           "kubernetes": {"releaseLock": lock}})
    assert config.kubernetes.release_lock == lock


@pytest.mark.parametrize("tag", ["2026.2.23", "2026.3.7", "2026.6.35"])
def test_a_downgrade_across_the_migration_is_refused_with_the_rollback(tag: str) -> None:
    problem = downgrade_problem(tag, "2026.9.6")
    assert problem == (
        f"openclaw:image.tag: {tag} (state epoch 1) cannot read the live volume, which 2026.9.6 "
        "(openclaw:kubernetes.releaseLock, epoch 2) migrated; a downgrade across a state migration is refused. "
        f"Roll back instead: restore the pre-upgrade snapshot with tag {tag} and set releaseLock to {tag} in "
        "the same change (docs/upgrade-runbook.md#roll-back)")
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGINS, "network": NETWORK, "image": {"tag": tag},
                      "kubernetes": {"releaseLock": "2026.9.6"}})
    assert str(info.value) == f"refusing a change that would replace live state (1):\n  - {problem}"


def test_the_epochs_the_lock_compares() -> None:
    """The edges above follow the model: 2026.9.6 starts epoch 2, every earlier release is epoch 1."""
    assert {v: r.state_epoch for v, r in RELEASES.items()} == {
        "2026.2.23": 1, "2026.3.7": 1, "2026.6.35": 1, "2026.9.6": 2}


@pytest.mark.parametrize("lock", ["2026.9.7", "latest", "2026.2.23-beta.1"])
def test_a_lock_the_model_does_not_know_is_refused(lock: str) -> None:
    problem = downgrade_problem("2026.9.6", lock)
    assert problem is not None and problem.startswith(f"openclaw:kubernetes.releaseLock: {lock!r} is not a release")
    assert "(known: 2026.2.23, 2026.3.7, 2026.6.35, 2026.9.6)" in problem and ".state-release.json" in problem


def test_an_unset_lock_or_an_unknown_tag_is_not_judged_here() -> None:
    assert downgrade_problem("2026.2.23", None) is None
    assert downgrade_problem("2026.1.1", "2026.9.6") is None  # the release model refuses the tag itself
    unlocked = parse_config({"gateway": ORIGINS, "network": NETWORK, "image": {"tag": "2026.2.23"}})
    assert unlocked.kubernetes.release_lock is None


def test_the_preview_fails_before_any_resource() -> None:
    with pytest.raises(ConfigError, match=r"openclaw:image.tag: 2026.2.23 \(state epoch 1\) cannot read"):
        run_stack("prod", overrides={"openclaw:kubernetes": {
            "context": "lumie-prod", "clusterIdentifier": "lumie-prod-k3s", "releaseLock": "2026.9.6"}})
