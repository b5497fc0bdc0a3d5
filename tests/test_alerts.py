"""The optional PrometheusRule: rendered per stack, checked by the real `promtool check rules`, and
each alert unit-tested by `promtool test rules` with synthetic series that fire it and, just on
the other side of each threshold, do not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.alerts import alert_rules
from components.config import parse_config
from engine.analyzer import PolicyAnalyzer, mandatory
from engine.harness import RunResult, run_stack
from tests.test_policy import analyze

NS = "openclaw"
ORIGINS = {"allowedOrigins": ["https://ui.example.test"]}
POD = "openclaw-5d8f7c9b6-abcde"


def _rules(**alerts: Any) -> dict[str, Any]:
    return alert_rules(parse_config({"gateway": ORIGINS, "alerts": {"enabled": True, **alerts}}))


def _rule(rules: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in rules["groups"][0]["rules"] if r["alert"] == name)
    return found


def expected(rules: dict[str, Any], name: str, labels: dict[str, str]) -> dict[str, Any]:
    """An alert as promtool reports it: the series' labels plus the rule's, annotations expanded.
    The templates use only `{{ $labels.<name> }}` (test_annotation_templates_are_simple holds that)."""
    rule = _rule(rules, name)
    annotations = {k: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m[1]], v)
                   for k, v in rule["annotations"].items()}
    return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": annotations}


def promtool(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    test_file = tmp_path / "tests.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(rule_file)], "evaluation_interval": "1m",
                                         "tests": tests}, sort_keys=False), encoding="utf-8")
    return subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True,
                          timeout=120, check=False)


def case(series: dict[str, str], checks: list[tuple[str, str, list[dict[str, str]]]], rules: dict[str, Any],
         interval: str = "1m") -> dict[str, Any]:
    """One promtool test: input series, then (eval time, alert, the label sets that must fire) —
    an empty list asserts the alert does not fire at that time."""
    return {"interval": interval,
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [{"eval_time": t, "alertname": a,
                                 "exp_alerts": [expected(rules, a, labels) for labels in fire]}
                                for t, a, fire in checks]}


def _run_ok(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]]) -> None:
    done = promtool(tmp_path, rules, tests)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_rendered_rule_passes_promtool_check(tmp_path: Path, analyzer: PolicyAnalyzer) -> None:
    run = run_stack("dev", overrides={"openclaw:alerts": {"enabled": True,
                                                          "ruleLabels": {"release": "kube-prometheus-stack"}}})
    rule = run.find("PrometheusRule", "openclaw").properties
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["metadata"]["namespace"] == NS
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == _rules(ruleLabels={"release": "kube-prometheus-stack"})
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "SUCCESS: 11 rules found" in done.stdout, done.stdout + done.stderr
    assert not mandatory(analyze(analyzer, run.resources))
    assert [r.type for r in run.resources if r.type.startswith("openclaw:index:Alerts")] == ["openclaw:index:Alerts"]


def test_off_by_default(dev: RunResult) -> None:
    assert not [r for r in dev.kubernetes() if r.properties.get("kind") == "PrometheusRule"]
    assert "OpenClawBackupFailed" not in str(_rules(backupCronJob=None))


def test_promtool_check_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check itself can fail: a rule with a syntax error is refused."""
    rules = _rules()
    rules["groups"][0]["rules"][0]["expr"] += " >"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 1


def test_annotation_templates_are_simple() -> None:
    for rule in _rules()["groups"][0]["rules"]:
        for text in rule["annotations"].values():
            assert set(re.findall(r"\{\{.*?\}\}", text)) <= {f"{{{{ $labels.{x} }}}}" for x in (
                "pod", "namespace", "job_name")}, text


def test_not_ready_edges(tmp_path: Path) -> None:
    rules = _rules()
    deploy = f'namespace="{NS}",deployment="openclaw"'
    labels = {"namespace": NS, "deployment": "openclaw"}
    _run_ok(tmp_path, rules, [
        case({f"kube_deployment_status_replicas_available{{{deploy}}}": "1 1 0x20",
              f"kube_deployment_spec_replicas{{{deploy}}}": "1x22"},
             # Unavailable from minute 2: pending for 4m59 is quiet, 5m fires.
             [("6m", "OpenClawGatewayNotReady", []), ("7m", "OpenClawGatewayNotReady", [labels])], rules),
        case({f"kube_deployment_status_replicas_available{{{deploy}}}": "0x20",
              f"kube_deployment_spec_replicas{{{deploy}}}": "0x20"},  # scaled to zero on purpose
             [("15m", "OpenClawGatewayNotReady", [])], rules),
    ])


def test_restart_edges(tmp_path: Path) -> None:
    rules = _rules()
    series = "kube_pod_container_status_restarts_total{namespace=\"%s\",pod=\"%s\",container=\"%s\"}"
    _run_ok(tmp_path, rules, [case({
        series % (NS, "openclaw-a-1", "gateway"): "0 1 2 2 2",           # 2 in an hour: quiet
        series % (NS, "openclaw-b-1", "gateway"): "0 1 2 3 3",           # 3: fires
        series % (NS, "openclaw-c-1", "seed"): "0 1 2 3 3",              # not the gateway container
        series % ("other", "openclaw-d-1", "gateway"): "0 1 2 3 3",      # another namespace
    }, [("4m", "OpenClawGatewayRestarting", [{"namespace": NS, "pod": "openclaw-b-1", "container": "gateway"}])],
        rules),
        # 3 restarts spread over 90 minutes: never 3 within one hour.
        case({series % (NS, POD, "gateway"): "0x29 1x30 2x30 3x10"},
             [("90m", "OpenClawGatewayRestarting", []), ("100m", "OpenClawGatewayRestarting", [])], rules),
    ])


def test_restart_threshold_follows_config(tmp_path: Path) -> None:
    rules = _rules(restartsPerHour=2)
    series = f'kube_pod_container_status_restarts_total{{namespace="{NS}",pod="{POD}",container="gateway"}}'
    _run_ok(tmp_path, rules, [case({series: "0 1 2 2"}, [
        ("1m", "OpenClawGatewayRestarting", []),
        ("2m", "OpenClawGatewayRestarting", [{"namespace": NS, "pod": POD, "container": "gateway"}])], rules)])


def test_oom_edges(tmp_path: Path) -> None:
    rules = _rules()
    restarts = "kube_pod_container_status_restarts_total{namespace=\"%s\",pod=\"%s\",container=\"gateway\"}"
    reason = ("kube_pod_container_status_last_terminated_reason{namespace=\"%s\",pod=\"%s\",container=\"gateway\","
              "reason=\"%s\"}")
    oom = {"namespace": NS, "pod": POD, "container": "gateway", "reason": "OOMKilled"}
    _run_ok(tmp_path, rules, [case({
        restarts % (NS, POD): "0 0 0 1x30",
        reason % (NS, POD, "OOMKilled"): "_ _ _ 1x30",
        restarts % (NS, "openclaw-x-1"): "0 0 0 1x30",
        reason % (NS, "openclaw-x-1", "Error"): "_ _ _ 1x30",  # restarted, but not for memory
    }, [("2m", "OpenClawGatewayOOMKilled", []),
        ("3m", "OpenClawGatewayOOMKilled", [oom]),
        ("17m", "OpenClawGatewayOOMKilled", [oom]),    # restart at 3m still in the 15m window
        ("18m", "OpenClawGatewayOOMKilled", []),       # window [3m, 18m]: no restart inside
        ], rules)])


@pytest.mark.parametrize(("alert", "container", "other"), [
    ("OpenClawSeedingFailed", "seed", "preflight"), ("OpenClawPreflightFailed", "preflight", "seed"),
    ("OpenClawStateGuardRefused", "state-guard", "seed"), ("OpenClawPluginsFailed", "plugins", "migrate"),
    ("OpenClawMigrationFailed", "migrate", "plugins")])
def test_init_failure_edges(tmp_path: Path, alert: str, container: str, other: str) -> None:
    rules = _rules()
    restarts = "kube_pod_init_container_status_restarts_total{namespace=\"%s\",pod=\"%s\",container=\"%s\"}"
    waiting = ("kube_pod_init_container_status_waiting_reason{namespace=\"%s\",pod=\"%s\",container=\"%s\","
               "reason=\"%s\"}")
    failed = {"namespace": NS, "pod": POD, "container": container}
    _run_ok(tmp_path, rules, [case({
        restarts % (NS, POD, container): "0 0 1x20",
        restarts % (NS, POD, other): "0x22",
        restarts % (NS, "openclaw-ok-1", container): "0x22",
        waiting % (NS, "openclaw-loop-1", container, "CrashLoopBackOff"): "_x10 1x12",
        waiting % (NS, "openclaw-start-1", container, "PodInitializing"): "1x22",
    }, [("1m", alert, []),
        ("2m", alert, [failed]),
        ("16m", alert, [failed, {"namespace": NS, "pod": "openclaw-loop-1", "container": container,
                                 "reason": "CrashLoopBackOff"}]),
        ("9m", alert, [failed]),
        ("17m", alert, [{"namespace": NS, "pod": "openclaw-loop-1", "container": container,
                         "reason": "CrashLoopBackOff"}]),
        ], rules)])


def test_volume_edges(tmp_path: Path) -> None:
    rules = _rules()
    used = "kubelet_volume_stats_used_bytes{namespace=\"%s\",persistentvolumeclaim=\"%s\"}"
    cap = "kubelet_volume_stats_capacity_bytes{namespace=\"%s\",persistentvolumeclaim=\"%s\"}"
    labels = {"namespace": NS, "persistentvolumeclaim": "openclaw-data"}
    _run_ok(tmp_path, rules, [case({
        used % (NS, "openclaw-data"): "400x9 401x10",       # exactly 80% for 10 minutes, then 80.2%
        cap % (NS, "openclaw-data"): "500x20",
        used % (NS, "other-data"): "500x20",                # another claim, full: not ours
        cap % (NS, "other-data"): "500x20",
    }, [("10m", "OpenClawVolumeFilling", []),
        ("14m", "OpenClawVolumeFilling", []),               # above 80% for 4 minutes
        ("15m", "OpenClawVolumeFilling", [labels])], rules)])


def test_volume_threshold_follows_config(tmp_path: Path) -> None:
    rules = _rules(volumeUsedPercent=90)
    used = f'kubelet_volume_stats_used_bytes{{namespace="{NS}",persistentvolumeclaim="openclaw-data"}}'
    cap = f'kubelet_volume_stats_capacity_bytes{{namespace="{NS}",persistentvolumeclaim="openclaw-data"}}'
    _run_ok(tmp_path, rules, [case({used: "450x20", cap: "500x20"}, [("15m", "OpenClawVolumeFilling", [])], rules)])


def test_backup_failed_edges(tmp_path: Path) -> None:
    rules = _rules()
    failed = "kube_job_status_failed{namespace=\"%s\",job_name=\"%s\"}"
    owner = "kube_job_owner{namespace=\"%s\",job_name=\"%s\",owner_kind=\"CronJob\",owner_name=\"%s\"}"
    created = "kube_job_created{namespace=\"%s\",job_name=\"%s\"}"
    success = f'kube_cronjob_status_last_successful_time{{namespace="{NS}",cronjob="openclaw-backup"}}'
    jobs = {
        "openclaw-backup-100": ("1", "openclaw-backup", "1000"),   # failed after the last success: fires
        "openclaw-backup-50": ("1", "openclaw-backup", "400"),     # failed before it: history
        "openclaw-backup-90": ("0", "openclaw-backup", "900"),     # succeeded
        "other-200": ("1", "other", "2000"),                       # another CronJob's job
    }
    series = {}
    for job, (value, cron, when) in jobs.items():
        series[failed % (NS, job)] = f"{value}x10"
        series[owner % (NS, job, cron)] = "1x10"
        series[created % (NS, job)] = f"{when}x10"
    with_success = {**series, success: "500x10"}
    _run_ok(tmp_path, rules, [
        case(with_success, [("5m", "OpenClawBackupFailed", [{"namespace": NS, "job_name": "openclaw-backup-100"}])],
             rules),
        # Never a success: every failed backup Job is open.
        case(series, [("5m", "OpenClawBackupFailed", [{"namespace": NS, "job_name": "openclaw-backup-100"},
                                                      {"namespace": NS, "job_name": "openclaw-backup-50"}])], rules),
    ])


def test_backup_overdue_edges(tmp_path: Path) -> None:
    rules = _rules(backupMaxAgeHours=26)  # a daily schedule; promtool's clock starts at 0 (epoch)
    cron = f'namespace="{NS}",cronjob="openclaw-backup"'
    labels = {"namespace": NS, "cronjob": "openclaw-backup"}
    _run_ok(tmp_path, rules, [
        case({f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x1600",
              f"kube_cronjob_created{{{cron}}}": "0x1600"},
             [("26h", "OpenClawBackupOverdue", []), ("26h1m", "OpenClawBackupOverdue", [labels])], rules),
        # Never succeeded: measured from the CronJob's creation.
        case({f"kube_cronjob_created{{{cron}}}": "0x1600",
              'kube_cronjob_created{namespace="openclaw",cronjob="young"}': "90000x1600"},
             [("26h", "OpenClawBackupOverdue", []), ("26h1m", "OpenClawBackupOverdue", [labels])], rules),
    ])


def test_backup_default_age_suits_the_hourly_schedule(tmp_path: Path) -> None:
    rules = _rules()  # 3 hours: the backup CronJob's default schedule is hourly
    cron = f'namespace="{NS}",cronjob="openclaw-backup"'
    overdue = [{"namespace": NS, "cronjob": "openclaw-backup"}]
    _run_ok(tmp_path, rules, [case({f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x200"},
                                   [("3h", "OpenClawBackupOverdue", []), ("3h1m", "OpenClawBackupOverdue", overdue)],
                                   rules)])


def test_backup_cron_job_name_follows_config(tmp_path: Path) -> None:
    rules = _rules(backupCronJob="nightly", backupMaxAgeHours=1)
    cron = f'namespace="{NS}",cronjob="nightly"'
    _run_ok(tmp_path, rules, [case(
        {f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x70",
         f'kube_cronjob_status_last_successful_time{{namespace="{NS}",cronjob="openclaw-backup"}}': "0x70"},
        [("61m", "OpenClawBackupOverdue", [{"namespace": NS, "cronjob": "nightly"}])], rules)])


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """promtool test really compares: expecting the restart alert one restart early fails."""
    rules = _rules()
    series = f'kube_pod_container_status_restarts_total{{namespace="{NS}",pod="{POD}",container="gateway"}}'
    done = promtool(tmp_path, rules, [case({series: "0 1 2 2"}, [
        ("3m", "OpenClawGatewayRestarting", [{"namespace": NS, "pod": POD, "container": "gateway"}])], rules)])
    assert done.returncode == 1 and "FAILED" in done.stdout + done.stderr


def _drill_rules(hours: int = 50) -> dict[str, Any]:
    return alert_rules(parse_config({"gateway": ORIGINS, "alerts": {"enabled": True}, "backup": {
        "enabled": True, "endpoint": "https://s3.example.test", "drill": {"enabled": True, "maxAgeHours": hours}}}))


def test_drill_alert_only_with_the_drill(tmp_path: Path) -> None:
    assert "OpenClawRestoreDrillOverdue" not in str(_rules())
    rules = _drill_rules()
    assert [r["alert"] for r in rules["groups"][0]["rules"]][-1] == "OpenClawRestoreDrillOverdue"
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "SUCCESS: 12 rules found" in done.stdout, done.stdout + done.stderr


def test_drill_overdue_edges(tmp_path: Path) -> None:
    """A drill passed at 0 (promtool's clock starts at the epoch): quiet through 50 hours, fires just
    after; a newer pass resets it; a drill that never passed counts from the CronJob's creation."""
    rules = _drill_rules()
    cron = f'namespace="{NS}",cronjob="openclaw-backup-drill"'
    labels = {"namespace": NS, "cronjob": "openclaw-backup-drill"}
    success = f"kube_cronjob_status_last_successful_time{{{cron}}}"
    _run_ok(tmp_path, rules, [
        case({success: "0x6100", f"kube_cronjob_created{{{cron}}}": "0x6100"},
             [("50h", "OpenClawRestoreDrillOverdue", []), ("50h1m", "OpenClawRestoreDrillOverdue", [labels])],
             rules, interval="1m"),
        # Passed again at 24h (86400 s): quiet until 74h, fires after.
        case({success: "0x1440 86400x4800", f"kube_cronjob_created{{{cron}}}": "0x6240"},
             [("51h", "OpenClawRestoreDrillOverdue", []), ("74h", "OpenClawRestoreDrillOverdue", []),
              ("74h1m", "OpenClawRestoreDrillOverdue", [labels])], rules),
        # Never passed (failing drills leave no success time): from the CronJob's creation; another
        # CronJob's series is not this alert's business.
        case({f"kube_cronjob_created{{{cron}}}": "0x3100",
              'kube_cronjob_created{namespace="openclaw",cronjob="openclaw-backup"}': "0x3100"},
             [("50h", "OpenClawRestoreDrillOverdue", []), ("50h1m", "OpenClawRestoreDrillOverdue", [labels])],
             rules),
    ])


def test_drill_window_follows_config(tmp_path: Path) -> None:
    rules = _drill_rules(hours=2)
    cron = f'namespace="{NS}",cronjob="openclaw-backup-drill"'
    _run_ok(tmp_path, rules, [case({f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x200"},
                                   [("2h", "OpenClawRestoreDrillOverdue", []),
                                    ("2h1m", "OpenClawRestoreDrillOverdue",
                                     [{"namespace": NS, "cronjob": "openclaw-backup-drill"}])], rules)])
