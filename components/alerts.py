"""Optional Prometheus alerts: one `PrometheusRule` (monitoring.coreos.com/v1) per stack, for
clusters that run the Prometheus operator (`openclaw:alerts.enabled`).

The series come from kube-state-metrics (pod, init container, Deployment, Job and CronJob state;
names as in kubernetes/kube-state-metrics docs/metrics/workload/pod-metrics.md) and from the
kubelet (`kubelet_volume_stats_*`). Each alert has a runbook section in docs/alerts.md. The rule
expressions are checked by `promtool check rules` and unit-tested with `promtool test rules`
(tests/test_alerts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config import StackConfig
from components.drill import CRONJOB_NAME as DRILL_CRONJOB
from components.gateway import CONTAINER, DEPLOYMENT_NAME, INIT_CONTAINER
from components.labels import common_labels
from components.migration import GUARD_CONTAINER, MIGRATE_CONTAINER
from components.plugins import INIT_CONTAINER as PLUGINS_CONTAINER
from components.preflight_step import PREFLIGHT_CONTAINER
from components.storage import PVC_NAME

RULE_NAME = "openclaw"
GROUP = "openclaw.rules"
WINDOW_RESTARTS = "1h"
WINDOW_RECENT = "15m"


@dataclass(frozen=True)
class AlertsArgs:
    namespace: pulumi.Input[str]
    config: StackConfig


def _increase(selector: str, metric: str, window: str) -> str:
    # max - min of the counter over the window: exact counts, no extrapolation (increase() would
    # turn 3 restarts into 3.2 or 2.9 depending on where the samples fall).
    return f"(max_over_time({metric}{{{selector}}}[{window}]) - min_over_time({metric}{{{selector}}}[{window}]))"


def _alert(cfg: StackConfig, name: str, expr: str, for_: str, summary: str, description: str) -> dict[str, Any]:
    a = cfg.alerts
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_ != "0m":
        rule["for"] = for_
    rule["labels"] = {"severity": a.severity}
    rule["annotations"] = {"summary": summary, "description": description,
                           "runbook_url": f"{a.runbook_base_url}#{name.lower()}"}
    return rule


def _init_failed(cfg: StackConfig, name: str, container: str, what: str) -> dict[str, Any]:
    ns = f'namespace="{cfg.namespace}", container="{container}"'
    expr = (f"{_increase(ns, 'kube_pod_init_container_status_restarts_total', WINDOW_RECENT)} > 0\n"
            f'or kube_pod_init_container_status_waiting_reason{{{ns}, reason="CrashLoopBackOff"}} == 1')
    return _alert(cfg, name, expr, "0m", f"OpenClaw {what} failed in pod {{{{ $labels.pod }}}}",
                  f"The init container '{container}' of pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} "
                  f"failed in the last {WINDOW_RECENT}: the gateway does not start until it succeeds. "
                  f"kubectl logs -n {{{{ $labels.namespace }}}} {{{{ $labels.pod }}}} -c {container}")


def alert_rules(cfg: StackConfig) -> dict[str, Any]:
    """The rule groups, in the Prometheus rule-file format (the PrometheusRule's `spec`)."""
    a = cfg.alerts
    ns = cfg.namespace
    deploy = f'namespace="{ns}", deployment="{DEPLOYMENT_NAME}"'
    gateway = f'namespace="{ns}", container="{CONTAINER}"'
    pvc = f'namespace="{ns}", persistentvolumeclaim="{PVC_NAME}"'
    restarts = _increase(gateway, "kube_pod_container_status_restarts_total", WINDOW_RESTARTS)
    recent = _increase(gateway, "kube_pod_container_status_restarts_total", WINDOW_RECENT)
    rules = [
        _alert(cfg, "OpenClawGatewayNotReady",
               f"kube_deployment_status_replicas_available{{{deploy}}}\n  < kube_deployment_spec_replicas{{{deploy}}}",
               f"{a.not_ready_minutes}m", "OpenClaw gateway has no ready pod",
               f"Deployment {{{{ $labels.namespace }}}}/{DEPLOYMENT_NAME} has had fewer available replicas than "
               f"wanted for {a.not_ready_minutes} minutes: chats and the Control UI are down."),
        _alert(cfg, "OpenClawGatewayRestarting", f"{restarts} >= {a.restarts_per_hour}", "0m",
               "OpenClaw gateway restarts repeatedly",
               f"Container '{CONTAINER}' of pod {{{{ $labels.pod }}}} restarted at least {a.restarts_per_hour} "
               f"times in the last hour."),
        _alert(cfg, "OpenClawGatewayOOMKilled",
               f'kube_pod_container_status_last_terminated_reason{{{gateway}, reason="OOMKilled"}} == 1\n'
               f"and on (namespace, pod, container) {recent} > 0", "0m",
               "OpenClaw gateway was OOM-killed",
               f"Container '{CONTAINER}' of pod {{{{ $labels.pod }}}} was killed for exceeding its memory limit "
               f"in the last {WINDOW_RECENT}: the Node heap (--max-old-space-size) or the limit is wrong."),
        _init_failed(cfg, "OpenClawSeedingFailed", INIT_CONTAINER, "seeding"),
        _init_failed(cfg, "OpenClawPreflightFailed", PREFLIGHT_CONTAINER, "dependency preflight"),
        # The upgrade guard (components/migration.py, components/plugins.py; docs/upgrade-runbook.md).
        _init_failed(cfg, "OpenClawStateGuardRefused", GUARD_CONTAINER, "state guard"),
        _init_failed(cfg, "OpenClawPluginsFailed", PLUGINS_CONTAINER, "plugin install"),
        _init_failed(cfg, "OpenClawMigrationFailed", MIGRATE_CONTAINER, "state migration"),
        _alert(cfg, "OpenClawVolumeFilling",
               f"100 * kubelet_volume_stats_used_bytes{{{pvc}}}\n  / kubelet_volume_stats_capacity_bytes{{{pvc}}}"
               f"\n  > {a.volume_used_percent}", "5m", "OpenClaw state volume is filling up",
               f"PVC {{{{ $labels.namespace }}}}/{PVC_NAME} is more than {a.volume_used_percent}% full: agents' "
               "sessions and memory stop being written when it is full."),
    ]
    if a.backup_cron_job is not None:
        job = a.backup_cron_job
        cron = f'namespace="{ns}", cronjob="{job}"'
        owned = f'namespace="{ns}", owner_kind="CronJob", owner_name="{job}"'
        max_age = a.backup_max_age_hours * 3600
        rules += [
            _alert(cfg, "OpenClawBackupFailed",
                   f'kube_job_status_failed{{namespace="{ns}"}} > 0\n'
                   f"and on (namespace, job_name) kube_job_owner{{{owned}}}\n"
                   # A failed Job older than the last success is history, not an open problem.
                   f'unless on (namespace, job_name) kube_job_created{{namespace="{ns}"}}\n'
                   f"  < on (namespace) group_left () max by (namespace) "
                   f"(kube_cronjob_status_last_successful_time{{{cron}}})", "0m",
                   "OpenClaw backup failed",
                   f"Job {{{{ $labels.job_name }}}} of CronJob {job} failed and no backup has succeeded since."),
            _alert(cfg, "OpenClawBackupOverdue",
                   f"time() - kube_cronjob_status_last_successful_time{{{cron}}} > {max_age}\n"
                   f"or (time() - kube_cronjob_created{{{cron}}} > {max_age}\n"
                   f"  unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{cron}}})", "0m",
                   "OpenClaw backup is overdue",
                   f"CronJob {{{{ $labels.namespace }}}}/{job} has no successful backup in the last "
                   f"{a.backup_max_age_hours} hours."),
        ]
    if cfg.backup.enabled and cfg.backup.drill.enabled:
        rules.append(_drill_overdue(cfg))
    return {"groups": [{"name": GROUP, "rules": rules}]}


def _drill_overdue(cfg: StackConfig) -> dict[str, Any]:
    """No restore drill passed within `backup.drill.maxAgeHours`: the last success is too old, or
    none since the CronJob was created that long ago (a failing drill never sets the success time)."""
    ns = cfg.namespace
    cron = f'namespace="{ns}", cronjob="{DRILL_CRONJOB}"'
    hours = cfg.backup.drill.max_age_hours
    max_age = hours * 3600
    return _alert(cfg, "OpenClawRestoreDrillOverdue",
                  f"time() - kube_cronjob_status_last_successful_time{{{cron}}} > {max_age}\n"
                  f"or (time() - kube_cronjob_created{{{cron}}} > {max_age}\n"
                  f"  unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{cron}}})", "0m",
                  "No OpenClaw restore drill passed recently",
                  f"CronJob {{{{ $labels.namespace }}}}/{DRILL_CRONJOB} has not restored and verified a snapshot "
                  f"in the last {hours} hours: the backups are not known to restore. "
                  f"kubectl logs -n {{{{ $labels.namespace }}}} -l app={DRILL_CRONJOB} --all-containers --tail=5")


class Alerts(pulumi.ComponentResource):
    """The stack's PrometheusRule (the program creates this component only with alerts enabled)."""

    rule_name: str

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:Alerts", name, None, opts)
        cfg = args.config
        self.rule = k8s.apiextensions.CustomResource(
            f"{name}-rule",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=RULE_NAME, namespace=args.namespace,
                labels={**common_labels("alerts"), **cfg.alerts.rule_labels}),
            spec=alert_rules(cfg),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.rule_name = RULE_NAME
        self.register_outputs({"rule_name": self.rule_name})
