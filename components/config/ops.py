"""Operations: the dependency preflight, the probe choice and the optional Prometheus alerts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.config.base import DnsLabel, Model

# What a dependency check can find wrong (components/scripts/preflight.mjs classifies them):
#   dns          no A and no AAAA answer         -> a wrong name, a missing Service, DNS egress blocked
#   unreachable  TCP connect timed out or had no route -> a NetworkPolicy drop (egress rule or labels wrong)
#   refused      TCP connect refused or reset    -> nothing listens (a restarting upstream), or a NetworkPolicy
#                                                   REJECT (kube-router's, after DNAT: the API server's endpoints)
#   tls          TLS handshake or certificate    -> wrong server name, an intercepting proxy, a wrong CA
FailureKind = Literal["dns", "unreachable", "refused", "tls"]
DependencyClass = Literal["database", "kubernetes", "model", "telegram"]


def _default_fail_on() -> dict[DependencyClass, list[FailureKind]]:
    # In-cluster dependencies stop the pod on what is a misconfiguration (a name that does not
    # resolve, a connect that a NetworkPolicy silently drops). For the database a refused connect is
    # its pod restarting, which must not keep the gateway down. For the Kubernetes API a refused
    # connect is what a NetworkPolicy rejection looks like on k3s (kube-router REJECTs after DNAT:
    # pkg/controllers/netpol/pod.go), i.e. a wrong openclaw:network.apiServerEndpoints, so it stops
    # the pod too. Public upstreams never stop the pod: their outage is not ours to turn into one of
    # the gateway, the log line and the alert name it.
    return {"database": ["dns", "unreachable"], "kubernetes": ["dns", "refused", "unreachable"],
            "model": [], "telegram": []}


class PreflightConfig(Model):
    enabled: bool = True
    timeout_ms: int = Field(default=3000, ge=100, le=30000)  # per stage (DNS, TCP, TLS), per dependency
    fail_on: dict[DependencyClass, list[FailureKind]] = Field(default_factory=_default_fail_on)

    @field_validator("fail_on")
    @classmethod
    def _complete(cls, value: dict[DependencyClass, list[FailureKind]]) -> dict[DependencyClass, list[FailureKind]]:
        # A partial map keeps the defaults for the classes it does not name.
        return {**_default_fail_on(), **{k: sorted(set(v)) for k, v in value.items()}}


class RolloutConfig(Model):
    """What `pulumi up` waits for the pod (components/awaits.py derives the waits from the rendered pod)."""

    # Pulling the gateway image onto a node that does not have it (about 1.5 GB for the OpenClaw image;
    # 300 s is 5 MB/s). IfNotPresent: later starts on the same node pull nothing.
    image_pull_seconds: int = Field(default=300, ge=0, le=3600)


class ProbesConfig(Model):
    # auto: from the image tag (components/probes.py); tcp / http force one kind.
    kind: Literal["auto", "tcp", "http"] = "auto"
    # On releases without health routes: readiness is an authenticated POST /tools/invoke
    # (proves the HTTP stack answers and the token works) instead of a bare TCP connect.
    invoke_readiness: bool = True
    # On releases whose /readyz reports channels: "ignore" keeps the pod ready while a channel
    # (Telegram) is down past its grace, "require" takes it out of the Service then. One replica
    # behind Teleport: unready means no endpoint, so a Telegram outage would also cut the Control UI
    # and the HTTP API; docs/operations.md ("Readiness") has the reasoning.
    channel_readiness: Literal["ignore", "require"] = "ignore"


class AlertsConfig(Model):
    enabled: bool = False  # only where the cluster runs the Prometheus operator (PrometheusRule CRD)
    # Labels the operator's Prometheus selects rules by (ruleSelector), e.g. {release: kube-prometheus-stack}.
    rule_labels: dict[str, str] = Field(default_factory=dict)
    severity: str = "warning"
    not_ready_minutes: int = Field(default=5, ge=1, le=120)
    restarts_per_hour: int = Field(default=3, ge=1, le=100)
    volume_used_percent: int = Field(default=80, ge=1, le=99)
    backup_cron_job: DnsLabel | None = "openclaw-backup"  # null: no backup alerts
    # The backup CronJob runs hourly by default (openclaw:backup.schedule "17 * * * *"): two missed
    # runs plus slack. A daily schedule wants 26.
    backup_max_age_hours: int = Field(default=3, ge=1, le=24 * 14)
    # Where each alert's runbook_url points (+ "#<alert name, lower-case>"): set the repository's web address.
    runbook_base_url: str = "docs/alerts.md"
