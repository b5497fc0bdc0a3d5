"""The policy pack and the backup: backup-scheduled both ways, and the hardening and image policies
on the CronJob's pod template (every container, init containers too)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from engine.analyzer import Diagnostic, PolicyAnalyzer, load_policy_config, mandatory
from engine.harness import RunResult
from engine.records import ResourceRecord
from tests.test_policy import drop, mutate


def _pod(props: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _restic(props: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = _pod(props)["containers"][0]
    return container


def _scheduled(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.policy == "backup-scheduled"]


def _analyze(analyzer: PolicyAnalyzer, records: list[ResourceRecord], stack: str = "prod") -> list[Diagnostic]:
    # prod's records: its own cluster's egress allow-list (the API server endpoints differ per cluster).
    return analyzer.analyze(records, load_policy_config(stack) | {
        "egress-restricted": load_policy_config("prod")["egress-restricted"]})


# A digest shaped like a real one (a placeholder such as all zeros is refused by image-tag-pinned).
DIGEST = "b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"
NO_BACKUP = "PersistentVolumeClaim openclaw/openclaw-data has no backup schedule: no CronJob in its namespace mounts it"


def test_prod_with_its_backup_passes_and_without_it_fails(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    assert _scheduled(_analyze(analyzer, prod.resources)) == []
    found = _scheduled(_analyze(analyzer, drop(prod, "CronJob", "openclaw-backup")))
    assert [(d.level, d.message.startswith(NO_BACKUP)) for d in found] == [("mandatory", True)]
    assert found[0].resource.endswith("openclaw-storage-pvc")


def test_dev_without_backups_is_advised(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = _scheduled(analyzer.analyze(dev.resources, load_policy_config("dev")))
    assert [(d.level, d.message.startswith(NO_BACKUP)) for d in found] == [("advisory", True)]
    assert "turn on openclaw:backup" in found[0].message


@pytest.mark.parametrize(("case", "change"), [
    ("mounts another claim", lambda p: _pod(p)["volumes"][0]["persistentVolumeClaim"].__setitem__(
        "claimName", "other")),
    ("declares but never mounts it", lambda p: [c.__setitem__("volumeMounts", [
        m for m in c["volumeMounts"] if m["name"] != "data"]) for c in _pod(p)["initContainers"]]),
    ("is suspended", lambda p: p["spec"].__setitem__("suspend", True)),
    ("lives in another namespace", lambda p: p["metadata"].__setitem__("namespace", "elsewhere")),
])
def test_a_cronjob_that_does_not_back_the_claim_up_does_not_count(analyzer: PolicyAnalyzer, prod: RunResult,
                                                                  case: str, change: Any) -> None:
    found = _scheduled(_analyze(analyzer, mutate(prod, "CronJob", "openclaw-backup", change)))
    assert [d.level for d in found] == ["mandatory"] and found[0].message.startswith(NO_BACKUP), case


def test_an_init_container_mounting_the_claim_counts(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    # As rendered: only the snapshot step (an init container) mounts the claim; restic reads its copy.
    pod = _pod(prod.find("CronJob", "openclaw-backup").properties)
    assert [m["name"] for m in pod["initContainers"][0]["volumeMounts"]].count("data") == 1
    assert "data" not in [m["name"] for m in _restic(prod.find("CronJob", "openclaw-backup").properties)[
        "volumeMounts"]]
    assert _scheduled(_analyze(analyzer, prod.resources)) == []


@pytest.mark.parametrize(("case", "change"), [
    ("claim name", lambda p: _pod(p)["volumes"][0]["persistentVolumeClaim"].__setitem__(
        "claimName", UNKNOWN_STRING_VALUE)),
    ("volume mount", lambda p: _pod(p)["initContainers"][0]["volumeMounts"][0].__setitem__(
        "name", UNKNOWN_STRING_VALUE)),
])
def test_an_unknown_value_at_preview_is_undecidable_not_a_pass(analyzer: PolicyAnalyzer, prod: RunResult,
                                                                case: str, change: Any) -> None:
    found = _scheduled(_analyze(analyzer, mutate(prod, "CronJob", "openclaw-backup", change)))
    assert [d.level for d in found] == ["mandatory"], case
    assert found[0].message.startswith("undecidable at preview: PersistentVolumeClaim openclaw/openclaw-data")


def test_an_unknown_irrelevant_value_changes_nothing(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__(
        "schedule", UNKNOWN_STRING_VALUE))
    assert _scheduled(_analyze(analyzer, records)) == []


# The hardening and image policies walk the CronJob's pod template like any workload's.
HARDENING: list[tuple[str, Any, str, str]] = [
    ("writable root", lambda p: _restic(p)["securityContext"].__setitem__("readOnlyRootFilesystem", False),
     "pod-security-context", "CronJob openclaw/openclaw-backup container 'restic': securityContext must set "
     "readOnlyRootFilesystem: true"),
    ("capabilities kept", lambda p: _restic(p)["securityContext"].pop("capabilities"),
     "pod-security-context", "container 'restic': securityContext must set capabilities.drop: [ALL]"),
    ("root", lambda p: (_restic(p)["securityContext"].pop("runAsNonRoot"), _pod(p)["securityContext"].pop(
        "runAsNonRoot")), "pod-security-context", "container 'restic': securityContext must set runAsNonRoot"),
    ("snapshot step writable root", lambda p: _pod(p)["initContainers"][0]["securityContext"].__setitem__(
        "readOnlyRootFilesystem", False), "pod-security-context",
     "CronJob openclaw/openclaw-backup init container 'snapshot': securityContext must set readOnlyRootFilesystem"),
    ("snapshot step without memory limit", lambda p: _pod(p)["initContainers"][0]["resources"].pop("limits"),
     "memory-limits", "CronJob openclaw/openclaw-backup init container 'snapshot': no memory limit"),
    ("init container unhardened", lambda p: _pod(p)["initContainers"].append({
        "name": "prepare", "image": _restic(p)["image"], "resources": {"limits": {"memory": "64Mi"}}}),
     "pod-security-context", "CronJob openclaw/openclaw-backup init container 'prepare': securityContext must set"),
    ("init container without memory limit", lambda p: _pod(p)["initContainers"].append({
        "name": "prepare", "image": _restic(p)["image"], "securityContext": _restic(p)["securityContext"]}),
     "memory-limits", "CronJob openclaw/openclaw-backup init container 'prepare': no memory limit"),
    ("no memory limit", lambda p: _restic(p)["resources"].pop("limits"),
     "memory-limits", "container 'restic': no memory limit"),
    ("hostPath", lambda p: _pod(p)["volumes"].append({"name": "node", "hostPath": {"path": "/var/lib"}}),
     "no-host-access", "CronJob openclaw/openclaw-backup: uses hostPath volume 'node'"),
    ("look-alike registry", lambda p: _restic(p).__setitem__(
        "image", "docker.io/restic/restic-evil:0.14.0@sha256:" + DIGEST),
     "image-registry-allowed", "image 'docker.io/restic/restic-evil:0.14.0@sha256:"),
    ("latest", lambda p: _restic(p).__setitem__("image", "docker.io/restic/restic:latest"),
     "image-tag-pinned", "container 'restic': image 'docker.io/restic/restic:latest' is :latest"),
]


@pytest.mark.parametrize(("case", "change", "policy", "words"), HARDENING, ids=[h[0] for h in HARDENING])
def test_hardening_covers_the_backup_pod(analyzer: PolicyAnalyzer, prod: RunResult, case: str, change: Any,
                                         policy: str, words: str) -> None:
    # dev's config for :latest, where a missing digest is only advised: one mandatory verdict each.
    found = mandatory(_analyze(analyzer, mutate(prod, "CronJob", "openclaw-backup", change),
                               "dev" if case == "latest" else "prod"))
    assert {d.policy for d in found} == {policy}, [d.message for d in found]
    assert any(words in d.message for d in found), [d.message for d in found]


@pytest.mark.parametrize(("level", "image", "flagged"), [
    ("mandatory", "docker.io/restic/restic:0.14.0", True),
    ("mandatory", f"docker.io/restic/restic:0.14.0@sha256:{DIGEST}", False),
    ("advisory", "docker.io/restic/restic:0.14.0", True),
])
def test_the_restic_image_without_a_digest_is_flagged_at_the_configured_level(
        analyzer: PolicyAnalyzer, prod: RunResult, level: str, image: str, flagged: bool) -> None:
    # prod keeps image-digest-pinned advisory until Pulumi.prod.yaml pins real digests; then mandatory.
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: _restic(p).__setitem__("image", image))
    found = [d for d in analyzer.analyze(records, load_policy_config("prod") | {"image-digest-pinned": level})
             if d.policy == "image-digest-pinned" and "'restic'" in d.message]
    assert [d.level for d in found] == ([level] if flagged else [])


def test_the_restic_image_by_tag_or_digest_is_allowed(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    for image in ("docker.io/restic/restic:0.14.0", "docker.io/restic/restic@sha256:" + DIGEST):
        records = mutate(prod, "CronJob", "openclaw-backup", lambda p, i=image: _restic(p).__setitem__("image", i))
        assert not [d for d in _analyze(analyzer, records, "dev") if d.policy == "image-registry-allowed"]


def test_a_repository_on_a_non_standard_port_needs_the_policy_config(analyzer: PolicyAnalyzer,
                                                                    prod: RunResult) -> None:
    def port_9000(p: dict[str, Any]) -> None:
        p["spec"]["egress"][1]["ports"] = [{"port": 9000, "protocol": "TCP"}]
    records = mutate(prod, "NetworkPolicy", "openclaw-backup-egress", port_9000)
    found = mandatory(_analyze(analyzer, records))
    assert [d.policy for d in found] == ["egress-restricted"] and "ports [9000]" in found[0].message
    config = load_policy_config("prod")
    config["egress-restricted"]["allowedPorts"] = [*config["egress-restricted"]["allowedPorts"], 9000]
    assert not mandatory(analyzer.analyze(records, config))


DRILL = "backup-drill-scheduled"
NO_DRILL = ("CronJob openclaw/openclaw-backup backs up a volume, but no restore drill CronJob "
            "(app.kubernetes.io/component: backup-drill) runs in its namespace")


def _drill(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.policy == DRILL]


def test_prod_with_its_drill_passes_and_without_it_fails(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    assert _drill(_analyze(analyzer, prod.resources)) == []
    found = _drill(_analyze(analyzer, drop(prod, "CronJob", "openclaw-backup-drill")))
    assert [(d.level, d.message.startswith(NO_DRILL)) for d in found] == [("mandatory", True)]
    assert "openclaw:backup.drill.enabled: true" in found[0].message
    assert found[0].resource.endswith("openclaw-backup-cronjob")


def test_dev_without_backups_has_nothing_to_drill_and_with_backups_is_advised(analyzer: PolicyAnalyzer,
                                                                              dev: RunResult) -> None:
    from engine.harness import run_stack
    assert _drill(analyzer.analyze(dev.resources, load_policy_config("dev"))) == []
    on = run_stack("dev", overrides={"openclaw:backup": {"enabled": True, "endpoint": "https://s3.lumie.example"}})
    found = _drill(analyzer.analyze(on.resources, load_policy_config("dev")))
    assert [(d.level, d.message.startswith(NO_DRILL)) for d in found] == [("advisory", True)]


@pytest.mark.parametrize(("case", "change"), [
    ("is suspended", lambda p: p["spec"].__setitem__("suspend", True)),
    ("lives in another namespace", lambda p: p["metadata"].__setitem__("namespace", "elsewhere")),
    ("is not a drill", lambda p: p["metadata"]["labels"].__setitem__("app.kubernetes.io/component", "other")),
])
def test_a_drill_that_does_not_run_beside_the_backup_does_not_count(analyzer: PolicyAnalyzer, prod: RunResult,
                                                                    case: str, change: Any) -> None:
    found = _drill(_analyze(analyzer, mutate(prod, "CronJob", "openclaw-backup-drill", change)))
    assert [d.level for d in found] == ["mandatory"] and found[0].message.startswith(NO_DRILL), case


def test_a_suspended_backup_needs_no_drill(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    records = [r for r in mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__("suspend", True))
               if r.properties.get("metadata", {}).get("name") != "openclaw-backup-drill"]
    assert _drill(_analyze(analyzer, records)) == []


def test_an_unknown_drill_label_at_preview_is_undecidable(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    records = mutate(prod, "CronJob", "openclaw-backup-drill",
                     lambda p: p["metadata"]["labels"].__setitem__("app.kubernetes.io/component", UNKNOWN_STRING_VALUE))
    found = _drill(_analyze(analyzer, records))
    assert [d.level for d in found] == ["mandatory"]
    assert found[0].message.startswith("undecidable at preview: CronJob openclaw/openclaw-backup:")
