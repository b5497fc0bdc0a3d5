"""Edges of the alerts (components/alerts.py) a user reads: each alert's summary, description and
runbook link whole, with the stack's thresholds, names and severity; which alerts wait (`for`) and
which fire at once; the backup alerts only with a backup CronJob, the drill's only with the drill;
and the PrometheusRule itself (labels merged with the operator's selector labels, its place in the
tree, its output). The expressions are judged by promtool (tests/test_alerts.py)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.alerts import Alerts, AlertsArgs, alert_rules
from components.config import parse_config
from tests.support.component_outputs import run_with_outputs

URL = "https://git.example.test/alerts.md"
CONFIG: dict[str, Any] = {"gateway": {"allowedOrigins": ["https://ui.example.test"]}, "namespace": "team-a",
          "alerts": {"enabled": True, "severity": "page", "runbookBaseUrl": URL, "notReadyMinutes": 7,
                     "restartsPerHour": 4, "volumeUsedPercent": 85, "backupCronJob": "bk", "backupMaxAgeHours": 5,
                     "ruleLabels": {"release": "kube-prometheus-stack"}},
          "backup": {"enabled": True, "endpoint": "https://s3.example.test", "drill": {"enabled": True,
                                                                                        "maxAgeHours": 30}}}


def _init(what: str, container: str) -> tuple[str, str]:
    return (f"OpenClaw {what} failed in pod {{{{ $labels.pod }}}}",
            f"The init container '{container}' of pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} failed in the "
            f"last 15m: the gateway does not start until it succeeds. kubectl logs -n {{{{ $labels.namespace }}}} "
            f"{{{{ $labels.pod }}}} -c {container}")


EXPECTED: dict[str, tuple[str | None, str, str]] = {
    "OpenClawGatewayNotReady": ("7m", "OpenClaw gateway has no ready pod",
                                "Deployment {{ $labels.namespace }}/openclaw has had fewer available replicas than "
                                "wanted for 7 minutes: chats and the Control UI are down."),
    "OpenClawGatewayRestarting": (None, "OpenClaw gateway restarts repeatedly",
                                  "Container 'gateway' of pod {{ $labels.pod }} restarted at least 4 times in the last "
                                  "hour."),
    "OpenClawGatewayOOMKilled": (None, "OpenClaw gateway was OOM-killed",
                                 "Container 'gateway' of pod {{ $labels.pod }} was killed for exceeding its memory "
                                 "limit in the last 15m: the Node heap (--max-old-space-size) or the limit is wrong."),
    "OpenClawSeedingFailed": (None, *_init("seeding", "seed")),
    "OpenClawPreflightFailed": (None, *_init("dependency preflight", "preflight")),
    "OpenClawStateGuardRefused": (None, *_init("state guard", "state-guard")),
    "OpenClawPluginsFailed": (None, *_init("plugin install", "plugins")),
    "OpenClawMigrationFailed": (None, *_init("state migration", "migrate")),
    "OpenClawVolumeFilling": ("5m", "OpenClaw state volume is filling up",
                              "PVC {{ $labels.namespace }}/openclaw-data is more than 85% full: agents' sessions and "
                              "memory stop being written when it is full."),
    "OpenClawBackupFailed": (None, "OpenClaw backup failed",
                             "Job {{ $labels.job_name }} of CronJob bk failed and no backup has succeeded since."),
    "OpenClawBackupOverdue": (None, "OpenClaw backup is overdue",
                              "CronJob {{ $labels.namespace }}/bk has no successful backup in the last 5 hours."),
    "OpenClawRestoreDrillOverdue": (None, "No OpenClaw restore drill passed recently",
                                    "CronJob {{ $labels.namespace }}/openclaw-backup-drill has not restored and "
                                    "verified a snapshot in the last 30 hours: the backups are not known to restore. "
                                    "kubectl logs -n {{ $labels.namespace }} -l app=openclaw-backup-drill "
                                    "--all-containers --tail=5"),
}


def _rules(**changes: Any) -> list[dict[str, Any]]:
    config = {**CONFIG, **changes}
    (group,) = alert_rules(parse_config(config))["groups"]
    assert group["name"] == "openclaw.rules"
    rules: list[dict[str, Any]] = group["rules"]
    return rules


def test_each_alert_as_a_user_reads_it() -> None:
    rules = _rules()
    assert [r["alert"] for r in rules] == list(EXPECTED)
    for rule in rules:
        for_, summary, description = EXPECTED[rule["alert"]]
        assert list(rule) == ["alert", "expr", *(["for"] if for_ else []), "labels", "annotations"], rule["alert"]
        assert rule.get("for") == for_
        assert rule["labels"] == {"severity": "page"}
        assert rule["annotations"] == {"summary": summary, "description": description,
                                       "runbook_url": f"{URL}#{rule['alert'].lower()}"}


def test_without_a_backup_cron_job_or_a_drill_their_alerts_are_left_out() -> None:
    alerts = {**CONFIG["alerts"], "backupCronJob": None}
    backup = {**CONFIG["backup"], "drill": {"enabled": False}}
    assert [r["alert"] for r in _rules(alerts=alerts, backup=backup)] == list(EXPECTED)[:9]
    assert [r["alert"] for r in _rules(backup=backup)] == list(EXPECTED)[:11]
    assert [r["alert"] for r in _rules(alerts=alerts)] == [*list(EXPECTED)[:9], "OpenClawRestoreDrillOverdue"]


@pytest.mark.parametrize("labels", [{}, {"release": "kube-prometheus-stack"}])
def test_the_rule_resource_its_labels_place_and_output(labels: dict[str, str]) -> None:
    config = parse_config({**CONFIG, "alerts": {**CONFIG["alerts"], "ruleLabels": labels}})

    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        Alerts("alerts", AlertsArgs(namespace="team-a", config=config), pulumi.ResourceOptions(parent=owner))

    run, outputs = run_with_outputs(program)
    (owner,) = [r for r in run.resources if r.type == "test:index:Owner"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:Alerts"]
    (rule,) = [r for r in run.resources if r.custom]
    assert (component.name, component.parent, rule.name, rule.parent) == ("alerts", owner.urn, "alerts-rule",
                                                                          component.urn)
    assert (rule.properties["apiVersion"], rule.properties["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule.properties["metadata"] == {"name": "openclaw", "namespace": "team-a", "labels": {
        "app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "alerts",
        "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi", **labels}}
    assert rule.properties["spec"] == alert_rules(config)
    assert outputs[component.urn] == {"rule_name": "openclaw"}
