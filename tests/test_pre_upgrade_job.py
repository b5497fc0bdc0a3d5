"""The pre-upgrade snapshot Job (components/pre_upgrade.py): rendered exactly when
`openclaw:kubernetes.releaseLock` is of a lower state epoch than the tag's release, with the OLD
release's image, the backup labels, both backup modes, the Deployment waiting for it, its await
timeout derived, and the policy pack judging it in both shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.awaits import PROVIDER_SLACK_SECONDS, TIMEOUT_ANNOTATION
from components.backup_pod import PRE_UPGRADE_DIR
from components.pre_upgrade import SNAPSHOT_OF_ANNOTATION, UPGRADE_TO_ANNOTATION
from engine.analyzer import PolicyAnalyzer, load_policy_config, mandatory
from engine.harness import RunResult, run_stack
from engine.records import ResourceRecord
from engine.yaml_text import from_yaml
from tests.test_policy import mutate
from tools import render
from tools.render_diff import diff_renders, to_markdown

JOB = "openclaw-pre-upgrade-2026-2-23"
REPO = Path(__file__).resolve().parent.parent


def _stack_kubernetes(stack: str) -> dict[str, Any]:
    block: dict[str, Any] = from_yaml((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]["openclaw:kubernetes"]
    return dict(block)


def _run(stack: str, tag: str, lock: str | None, **overrides: Any) -> RunResult:
    image = {"repository": "ghcr.io/openclaw/openclaw", "tag": tag}
    if tag == "2026.9.7":
        image["acceptUntestedRelease"] = True
    kubernetes = {**_stack_kubernetes(stack), "releaseLock": lock}
    if lock is None:
        del kubernetes["releaseLock"]
    return run_stack(stack, overrides={"openclaw:image": image, "openclaw:kubernetes": kubernetes, **overrides})


def _jobs(run: RunResult) -> list[ResourceRecord]:
    return [r for r in run.kubernetes() if r.properties.get("kind") == "Job"]


def _pod(job: ResourceRecord) -> dict[str, Any]:
    spec: dict[str, Any] = job.properties["spec"]["template"]["spec"]
    return spec


def _containers(job: ResourceRecord) -> list[dict[str, Any]]:
    return [*_pod(job).get("initContainers", []), *_pod(job)["containers"]]


@pytest.fixture(scope="module")
def warnings() -> list[str]:
    return []


@pytest.fixture(autouse=True)
def _record_warnings(monkeypatch: pytest.MonkeyPatch, warnings: list[str]) -> None:
    warnings.clear()
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))


# --- when the Job is due: each branch -----------------------------------------------------------------


def test_dev_renders_the_job_of_its_lock(dev: RunResult) -> None:
    (job,) = _jobs(dev)
    assert job.properties["metadata"]["name"] == JOB
    assert job.properties["metadata"]["annotations"][SNAPSHOT_OF_ANNOTATION] == "2026.2.23"
    assert job.properties["metadata"]["annotations"][UPGRADE_TO_ANNOTATION] == "2026.9.6"


def test_prod_on_the_release_of_its_lock_renders_none(prod: RunResult) -> None:
    assert _jobs(prod) == []


@pytest.mark.parametrize(("tag", "lock"), [
    ("2026.9.6", "2026.9.6"),     # same release
    ("2026.6.35", "2026.2.23"),   # another release of the same epoch (1): no migration
    ("2026.2.23", "2026.6.35"),   # a downgrade within epoch 1 is allowed, and migrates nothing
])
def test_a_lock_of_the_same_epoch_renders_no_job_and_no_warning(tag: str, lock: str, warnings: list[str]) -> None:
    run = _run("dev", tag, lock)
    assert _jobs(run) == []
    assert not [w for w in warnings if "pre-upgrade" in w]


@pytest.mark.parametrize("lock", ["2026.2.23", "2026.3.7", "2026.6.35"])
def test_each_lock_of_a_lower_epoch_renders_the_job_of_that_release(lock: str) -> None:
    (job,) = _jobs(_run("dev", "2026.9.6", lock))
    assert job.properties["metadata"]["name"] == f"openclaw-pre-upgrade-{lock.replace('.', '-')}"
    assert {c["image"] for c in _containers(job)} == {f"ghcr.io/openclaw/openclaw:{lock}"}


def test_no_lock_and_a_migrating_release_warns_and_renders_no_job(warnings: list[str]) -> None:
    assert _jobs(_run("dev", "2026.9.6", None)) == []
    (warning,) = [w for w in warnings if "pre-upgrade" in w]
    assert warning.startswith("openclaw:image.tag 2026.9.6 migrates a volume written by an earlier release (state "
                              "epoch 2), but openclaw:kubernetes.releaseLock is not set: no pre-upgrade snapshot is "
                              "taken before the migration.")
    assert "Set releaseLock to the release that last ran on the volume" in warning


def test_no_lock_and_a_release_without_migration_is_silent(warnings: list[str]) -> None:
    assert _jobs(_run("dev", "2026.6.35", None)) == []
    assert not [w for w in warnings if "pre-upgrade" in w]


def test_an_untested_tag_rendered_as_a_migrating_release_gets_the_job(warnings: list[str]) -> None:
    (job,) = _jobs(_run("dev", "2026.9.7", "2026.2.23"))
    assert {c["image"] for c in _containers(job)} == {"ghcr.io/openclaw/openclaw:2026.2.23"}
    assert job.properties["metadata"]["annotations"][UPGRADE_TO_ANNOTATION] == "2026.9.7"
    assert [w for w in warnings if "not a release this program was tested with" in w]


# --- what the Job is -------------------------------------------------------------------------------------


def test_the_job_runs_the_old_release_from_the_stacks_repository() -> None:
    mirror = "registry.lumie.example/openclaw/openclaw"
    run = run_stack("dev", overrides={"openclaw:image": {"repository": mirror, "tag": "2026.9.6"}})
    (job,) = _jobs(run)
    assert {c["image"] for c in _containers(job)} == {f"{mirror}:2026.2.23"}
    snapshot = next(c for c in _containers(job) if c["name"] == "snapshot")
    assert {"name": "SNAPSHOT_RELEASE", "value": "2026.2.23"} in snapshot["env"]


def test_without_backups_the_job_writes_only_below_the_pre_upgrade_dir(dev: RunResult) -> None:
    (job,) = _jobs(dev)
    (container,) = _containers(job)
    assert "initContainers" not in _pod(job)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/volume"] == {"name": "data", "mountPath": "/volume", "readOnly": True}
    assert mounts["/pre-upgrade"] == {"name": "data", "mountPath": "/pre-upgrade", "subPath": PRE_UPGRADE_DIR}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SNAPSHOT_PUBLISH"] == "2026.2.23" and env["SNAPSHOT_DEST"] == "/pre-upgrade/2026.2.23.partial"
    assert env["SNAPSHOT_RESERVE_BYTES"] == str(64 * 1024 * 1024)  # 500Mi / 10 < 64Mi
    assert env["SNAPSHOT_STATE_EPOCH"] == "1"  # refuses a volume the migration already moved on
    assert not any("valueFrom" in e for e in container["env"])   # no secret at all
    claim = next(v for v in _pod(job)["volumes"] if v["name"] == "data")
    assert claim["persistentVolumeClaim"] == {"claimName": "openclaw-data"}


@pytest.fixture(scope="module")
def prod_upgrade() -> RunResult:
    """prod (backups on) moving to 2026.9.6 from its lock 2026.2.23."""
    return _run("prod", "2026.9.6", "2026.2.23")


def test_with_backups_restic_stores_it_tagged_and_the_job_waits_for_its_secret_and_egress(
        prod_upgrade: RunResult) -> None:
    (job,) = _jobs(prod_upgrade)
    snapshot, restic = _containers(job)
    assert (snapshot["name"], snapshot["image"]) == ("snapshot", "ghcr.io/openclaw/openclaw:2026.2.23")
    assert {"name": "SNAPSHOT_STATE_EPOCH", "value": "1"} in snapshot["env"]
    assert restic["image"].startswith("docker.io/restic/restic:")
    env = {e["name"]: e for e in restic["env"]}
    assert env["BACKUP_TAG"]["value"] == "openclaw-pre-upgrade" and env["BACKUP_RELEASE"]["value"] == "2026.2.23"
    assert env["RESTIC_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "openclaw-backup"
    claim = next(v for v in _pod(job)["volumes"] if v["name"] == "data")
    assert claim["persistentVolumeClaim"] == {"claimName": "openclaw-data", "readOnly": True}
    egress = prod_upgrade.find("NetworkPolicy", "openclaw-backup-egress")
    backup_secret = next(r for r in prod_upgrade.kubernetes() if r.properties.get("kind") == "VaultStaticSecret"
                         and r.properties["metadata"]["name"] == "openclaw-backup")
    assert {egress.urn, backup_secret.urn} <= set(job.dependencies)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_its_pods_are_selected_by_the_backup_egress_policy_and_by_no_gateway_policy(
        stack: str, dev: RunResult, prod_upgrade: RunResult) -> None:
    run = dev if stack == "dev" else prod_upgrade
    (job,) = _jobs(run)
    labels = job.properties["spec"]["template"]["metadata"]["labels"]
    assert labels["app"] == "openclaw-backup" and labels["app.kubernetes.io/component"] == "pre-upgrade-snapshot"
    selecting = sorted(p.properties["metadata"]["name"] for p in run.kubernetes()
                       if p.properties.get("kind") == "NetworkPolicy"
                       and (p.properties["spec"]["podSelector"].get("matchLabels") or {}).items() <= labels.items())
    # The namespace's default deny selects every pod; the repository's egress only with backups on.
    assert selecting == (["openclaw-backup-egress", "openclaw-default-deny"] if stack == "prod"
                         else ["openclaw-default-deny"])
    service = run.find("Service", "openclaw")
    assert not service.properties["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_deployment_depends_on_the_job(stack: str, dev: RunResult, prod_upgrade: RunResult) -> None:
    run = dev if stack == "dev" else prod_upgrade
    (job,) = _jobs(run)
    assert job.urn in run.find("Deployment", "openclaw").dependencies


def test_without_the_job_the_deployment_depends_on_no_job(prod: RunResult) -> None:
    jobs = {r.urn for r in prod.by_type("kubernetes:batch/v1:Job")}
    assert jobs == set() and not any("pre-upgrade" in d for d in prod.find("Deployment", "openclaw").dependencies)


@pytest.mark.parametrize("deadline", [300, 3000, 86400])
def test_the_await_timeout_is_the_jobs_deadline_plus_the_providers_slack(deadline: int) -> None:
    backup = from_yaml((REPO / "Pulumi.dev.yaml").read_text())["config"]["openclaw:backup"]
    run = run_stack("dev", overrides={"openclaw:backup": {**backup, "activeDeadlineSeconds": deadline}})
    (job,) = _jobs(run)
    assert job.properties["spec"]["activeDeadlineSeconds"] == deadline
    assert job.properties["metadata"]["annotations"][TIMEOUT_ANNOTATION] == str(deadline + PROVIDER_SLACK_SECONDS)


# --- the policy pack, both shapes --------------------------------------------------------------------------


def _job_diagnostics(verdicts: dict[str, list[Any]]) -> dict[str, list[tuple[str, str]]]:
    return {shape: sorted((d.policy, d.level) for d in found if d.resource.endswith("pre-upgrade-job"))
            for shape, found in verdicts.items()}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_pack_passes_the_job_in_both_shapes(stack: str, analyzer: PolicyAnalyzer, dev: RunResult,
                                                prod_upgrade: RunResult) -> None:
    run = dev if stack == "dev" else prod_upgrade
    verdicts = analyzer.analyze_shapes(run.resources, load_policy_config(stack))
    assert {shape: mandatory(found) for shape, found in verdicts.items()} == {"preview": [], "up": []}
    images = len(_containers(_jobs(run)[0]))   # each container's tag is not pinned by digest (advisory)
    level = "advisory"
    assert _job_diagnostics(verdicts) == {shape: [("image-digest-pinned", level)] * images
                                          for shape in ("preview", "up")}


@pytest.mark.parametrize("container", [0, -1])
def test_the_pack_judges_every_container_of_the_job(container: int, analyzer: PolicyAnalyzer,
                                                     prod_upgrade: RunResult) -> None:
    def privileged(props: dict[str, Any]) -> None:
        spec = props["spec"]["template"]["spec"]
        [*spec.get("initContainers", []), *spec["containers"]][container]["securityContext"]["privileged"] = True

    records = mutate(prod_upgrade, "Job", JOB, privileged)
    verdicts = analyzer.analyze_shapes(records, load_policy_config("prod"))
    for found in verdicts.values():
        assert [(d.policy, d.resource) for d in mandatory(found)] == [
            ("pod-security-context", "openclaw-pre-upgrade-job")]


# --- the render diff ---------------------------------------------------------------------------------------


def test_the_render_diff_shows_the_job_added_with_its_note(tmp_path: Path) -> None:
    old = tmp_path / "old"
    render.write_render(_run("dev", "2026.2.23", "2026.2.23"), old)
    new = tmp_path / "new"
    render.write_render(_run("dev", "2026.9.6", "2026.2.23"), new)
    report = to_markdown(diff_renders(old, new))
    assert (f"- Job openclaw/{JOB} - **pre-upgrade snapshot of 2026.2.23 before the migration to 2026.9.6**: runs "
            "before the Deployment changes; if it fails, the `up` stops with the old pod still running") in report
    # Setting the lock to the new release after the upgrade removes it, with no note.
    after = tmp_path / "after"
    render.write_render(_run("dev", "2026.9.6", "2026.9.6"), after)
    removed = diff_renders(new, after)
    assert [o.key.label() for o in removed.removed] == [f"Job openclaw/{JOB}"] and not removed.added
