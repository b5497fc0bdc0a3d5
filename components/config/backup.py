"""Backups of the state volume with restic: schedule, retention, integrity check, repository.

The repository *location* (with the bucket and any credentials in it), its password and the
object-store keys live in Vault (`vaultPath`); the stack file holds only the repository's network
endpoint, which the backup pod's NetworkPolicy is derived from and which is not a secret.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from components.config.base import DnsLabel, Model, Quantity
from components.config.secrets import VaultPath
from components.config.workload import ImageConfig
from components.restic_url import repository_host_port

__all__ = ["BackupConfig", "DrillConfig", "RetentionConfig", "endpoint_host_port", "is_ip", "repository_host_port"]

# The Debian package the tests run is restic 0.14.0 (bookworm); the image pins the same release.
RESTIC_REPOSITORY = "docker.io/restic/restic"
RESTIC_TAG = "0.14.0"
_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")
_SUBSET = re.compile(r"^([0-9]{1,2}(\.[0-9]+)?%|100%|[0-9]+/[0-9]+)$")


def _restic_image() -> ImageConfig:
    return ImageConfig(repository=RESTIC_REPOSITORY, tag=RESTIC_TAG)


class RetentionConfig(Model):
    """`restic forget --prune --keep-*`: how many snapshots of each period survive."""

    # The newest N whatever their age: a manual run (`kubectl create job --from=cronjob/...`) right
    # before a risky change survives the next run, which keep-hourly alone would forget.
    last: int = Field(default=3, ge=0, le=1000)
    hourly: int = Field(default=24, ge=0, le=1000)
    daily: int = Field(default=14, ge=0, le=1000)
    weekly: int = Field(default=8, ge=0, le=1000)
    monthly: int = Field(default=12, ge=0, le=1000)

    @model_validator(mode="after")
    def _keeps_something(self) -> RetentionConfig:
        if not any((self.last, self.hourly, self.daily, self.weekly, self.monthly)):
            raise ValueError("every keep count is 0: forget would delete every snapshot; keep at least one")
        return self


class DrillConfig(Model):
    """The scheduled restore drill: restores the latest snapshot into scratch space and verifies it."""

    enabled: bool = False
    schedule: str = "43 4 * * *"            # daily at 04:43
    # OpenClawRestoreDrillOverdue fires when no drill has passed for this long: a daily drill that
    # fails once (or is skipped once) is noticed within about a day.
    max_age_hours: int = Field(default=50, ge=2, le=24 * 31)
    active_deadline_seconds: int = Field(default=3600, ge=300, le=86400)
    scratch_size: Quantity = "2Gi"          # the emptyDir the snapshot is restored into
    memory: Quantity = "512Mi"

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError("must be a five-field cron schedule such as '17 * * * *' (hourly at :17)")
    return value


class BackupConfig(Model):
    enabled: bool = False
    image: ImageConfig = Field(default_factory=_restic_image)
    schedule: str = "17 * * * *"            # cron, in the cluster's time zone (UTC on k3s)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    check_subset: str = "5%"                # `restic check --read-data-subset` after every run
    # The repository's endpoint (scheme://host[:port]): egress is opened to it and nothing else.
    endpoint: str | None = None
    backend: Literal["s3", "rest"] = "s3"   # s3 also needs AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
    secret: DnsLabel = "openclaw-backup"
    vault_path: VaultPath = "applications/openclaw-backup"
    active_deadline_seconds: int = Field(default=3000, ge=300, le=86400)
    backoff_limit: int = Field(default=1, ge=0, le=6)
    memory: Quantity = "512Mi"            # the restic container's memory limit
    # The emptyDir the snapshot step copies the volume into (SQLite databases through the online
    # backup API, everything else with cp -a) before restic reads it: at least the volume's use.
    scratch_size: Quantity = "2Gi"
    drill: DrillConfig = Field(default_factory=DrillConfig)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)

    @field_validator("check_subset")
    @classmethod
    def _subset(cls, value: str) -> str:
        if not _SUBSET.match(value):
            raise ValueError("must be a restic --read-data-subset such as 5% or 1/10")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            endpoint_host_port(value)
        return value

    @model_validator(mode="after")
    def _needs_endpoint(self) -> BackupConfig:
        if self.enabled and self.endpoint is None:
            raise ValueError("backups are on but endpoint is not set: set openclaw:backup.endpoint to the "
                             "repository's https://host[:port] (or set enabled: false)")
        if self.drill.enabled and not self.enabled:
            raise ValueError("drill.enabled is true but backups are off: a restore drill needs the backup "
                             "repository; set enabled: true, or drill.enabled: false")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        assert self.endpoint is not None
        return endpoint_host_port(self.endpoint)


def endpoint_host_port(url: str) -> tuple[str, int]:
    """(host, port) of `https://host[:port]`; a value restic would read differently is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be http(s)://host[:port] such as https://s3.eu-central-1.amazonaws.com "
                         f"(got {url!r})")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        raise ValueError("must hold only scheme, host and port: the bucket, path and any credentials "
                         "belong in RESTIC_REPOSITORY in Vault")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"has an invalid port (got {url!r})") from None
    return parts.hostname, port


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
