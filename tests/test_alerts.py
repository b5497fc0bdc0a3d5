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


def rules_with(**alerts: Any) -> dict[str, Any]:
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


def promtool(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]],
             evaluation_interval: str = "1m") -> subprocess.CompletedProcess[str]:
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    test_file = tmp_path / "tests.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(rule_file)], "evaluation_interval": evaluation_interval,
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


def run_ok(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]], evaluation_interval: str = "1m") -> None:
    done = promtool(tmp_path, rules, tests, evaluation_interval)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_rendered_rule_passes_promtool_check(tmp_path: Path, analyzer: PolicyAnalyzer) -> None:
    run = run_stack("dev", overrides={"openclaw:alerts": {"enabled": True,
                                                          "ruleLabels": {"release": "kube-prometheus-stack"}}})
    rule = run.find("PrometheusRule", "openclaw").properties
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["metadata"]["namespace"] == NS
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == rules_with(ruleLabels={"release": "kube-prometheus-stack"})
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "SUCCESS: 11 rules found" in done.stdout, done.stdout + done.stderr
    assert not mandatory(analyze(analyzer, run.resources))
    assert [r.type for r in run.resources if r.type.startswith("openclaw:index:Alerts")] == ["openclaw:index:Alerts"]


def test_off_by_default(dev: RunResult) -> None:
    assert not [r for r in dev.kubernetes() if r.properties.get("kind") == "PrometheusRule"]
    assert "OpenClawBackupFailed" not in str(rules_with(backupCronJob=None))


def test_promtool_check_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check itself can fail: a rule with a syntax error is refused."""
    rules = rules_with()
    rules["groups"][0]["rules"][0]["expr"] += " >"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 1


def test_annotation_templates_are_simple() -> None:
    for rule in rules_with()["groups"][0]["rules"]:
        for text in rule["annotations"].values():
            assert set(re.findall(r"\{\{.*?\}\}", text)) <= {f"{{{{ $labels.{x} }}}}" for x in (
                "pod", "namespace", "job_name")}, text


def test_not_ready_edges(tmp_path: Path) -> None:
    rules = rules_with()
    deploy = f'namespace="{NS}",deployment="openclaw"'
    labels = {"namespace": NS, "deployment": "openclaw"}
    run_ok(tmp_path, rules, [
        case({f"kube_deployment_status_replicas_available{{{deploy}}}": "1 1 0x20",
              f"kube_deployment_spec_replicas{{{deploy}}}": "1x22"},
             # Unavailable from minute 2: pending for 4m59 is quiet, 5m fires.
             [("6m", "OpenClawGatewayNotReady", []), ("7m", "OpenClawGatewayNotReady", [labels])], rules),
        case({f"kube_deployment_status_replicas_available{{{deploy}}}": "0x20",
              f"kube_deployment_spec_replicas{{{deploy}}}": "0x20"},  # scaled to zero on purpose
             [("15m", "OpenClawGatewayNotReady", [])], rules),
    ])


def test_restart_edges(tmp_path: Path) -> None:
    rules = rules_with()
    series = "kube_pod_container_status_restarts_total{namespace=\"%s\",pod=\"%s\",container=\"%s\"}"
    run_ok(tmp_path, rules, [case({
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
    rules = rules_with(restartsPerHour=2)
    series = f'kube_pod_container_status_restarts_total{{namespace="{NS}",pod="{POD}",container="gateway"}}'
    run_ok(tmp_path, rules, [case({series: "0 1 2 2"}, [
        ("1m", "OpenClawGatewayRestarting", []),
        ("2m", "OpenClawGatewayRestarting", [{"namespace": NS, "pod": POD, "container": "gateway"}])], rules)])


def test_oom_edges(tmp_path: Path) -> None:
    rules = rules_with()
    restarts = "kube_pod_container_status_restarts_total{namespace=\"%s\",pod=\"%s\",container=\"gateway\"}"
    reason = ("kube_pod_container_status_last_terminated_reason{namespace=\"%s\",pod=\"%s\",container=\"gateway\","
              "reason=\"%s\"}")
    oom = {"namespace": NS, "pod": POD, "container": "gateway", "reason": "OOMKilled"}
    run_ok(tmp_path, rules, [case({
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
    rules = rules_with()
    restarts = "kube_pod_init_container_status_restarts_total{namespace=\"%s\",pod=\"%s\",container=\"%s\"}"
    waiting = ("kube_pod_init_container_status_waiting_reason{namespace=\"%s\",pod=\"%s\",container=\"%s\","
               "reason=\"%s\"}")
    failed = {"namespace": NS, "pod": POD, "container": container}
    run_ok(tmp_path, rules, [case({
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
    rules = rules_with()
    used = "kubelet_volume_stats_used_bytes{namespace=\"%s\",persistentvolumeclaim=\"%s\"}"
    cap = "kubelet_volume_stats_capacity_bytes{namespace=\"%s\",persistentvolumeclaim=\"%s\"}"
    labels = {"namespace": NS, "persistentvolumeclaim": "openclaw-data"}
    run_ok(tmp_path, rules, [case({
        used % (NS, "openclaw-data"): "400x9 401x10",       # exactly 80% for 10 minutes, then 80.2%
        cap % (NS, "openclaw-data"): "500x20",
        used % (NS, "other-data"): "500x20",                # another claim, full: not ours
        cap % (NS, "other-data"): "500x20",
    }, [("10m", "OpenClawVolumeFilling", []),
        ("14m", "OpenClawVolumeFilling", []),               # above 80% for 4 minutes
        ("15m", "OpenClawVolumeFilling", [labels])], rules)])


def test_volume_threshold_follows_config(tmp_path: Path) -> None:
    rules = rules_with(volumeUsedPercent=90)
    used = f'kubelet_volume_stats_used_bytes{{namespace="{NS}",persistentvolumeclaim="openclaw-data"}}'
    cap = f'kubelet_volume_stats_capacity_bytes{{namespace="{NS}",persistentvolumeclaim="openclaw-data"}}'
    run_ok(tmp_path, rules, [case({used: "450x20", cap: "500x20"}, [("15m", "OpenClawVolumeFilling", [])], rules)])


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """promtool test really compares: expecting the restart alert one restart early fails."""
    rules = rules_with()
    series = f'kube_pod_container_status_restarts_total{{namespace="{NS}",pod="{POD}",container="gateway"}}'
    done = promtool(tmp_path, rules, [case({series: "0 1 2 2"}, [
        ("3m", "OpenClawGatewayRestarting", [{"namespace": NS, "pod": POD, "container": "gateway"}])], rules)])
    assert done.returncode == 1 and "FAILED" in done.stdout + done.stderr
