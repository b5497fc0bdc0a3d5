"""Edges of the backup config (components/config/backup.py) through the stack config's loading: each
keep count alone, the cron and subset forms at their edges, each branch of what needs what, and the
whole line a user reads."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.backup import is_ip

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
ON = {"enabled": True, "endpoint": "https://s3.example.test"}
NONE_KEPT = {"last": 0, "hourly": 0, "daily": 0, "weekly": 0, "monthly": 0}


def _backup(**values: Any) -> Any:
    return parse_config({"gateway": ORIGIN, "backup": values}).backup


def _line(key: str, **values: Any) -> str:
    with pytest.raises(ConfigError) as info:
        _backup(**values)
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - openclaw:backup{key}: ")]
    assert len(lines) == 1, str(info.value)
    return lines[0]


@pytest.mark.parametrize("keep", sorted(NONE_KEPT))
def test_any_one_keep_count_is_enough(keep: str) -> None:
    retention = _backup(**ON, retention={**NONE_KEPT, keep: 1}).retention
    assert getattr(retention, keep) == 1


def test_keeping_nothing_says_why() -> None:
    assert _line(".retention", **ON, retention=NONE_KEPT).startswith(
        "  - openclaw:backup.retention: every keep count is 0: forget would delete every snapshot; keep at least "
        "one (got ")


CRON = "must be a five-field cron schedule such as '17 * * * *' (hourly at :17)"


@pytest.mark.parametrize("schedule", ["17 * * * *", "0,30 */2 1-5 * 0", "59 23 31 12 6"])
def test_a_five_field_schedule_is_accepted(schedule: str) -> None:
    assert _backup(**ON, schedule=schedule).schedule == schedule
    assert _backup(**ON, drill={"enabled": True, "schedule": schedule}).drill.schedule == schedule


@pytest.mark.parametrize("schedule", ["* * * *", "* * * * * *", "17 * * * MON", "17 * * * ?", ""])
def test_a_schedule_that_is_no_five_field_cron_names_its_key(schedule: str) -> None:
    assert _line(".schedule", **ON, schedule=schedule) == f"  - openclaw:backup.schedule: {CRON} (got \"{schedule}\")"
    assert _line(".drill.schedule", **ON, drill={"schedule": schedule}) == (
        f"  - openclaw:backup.drill.schedule: {CRON} (got \"{schedule}\")")


@pytest.mark.parametrize("subset", ["0%", "5%", "99.5%", "100%", "1/10", "10/10"])
def test_a_read_data_subset_is_accepted(subset: str) -> None:
    assert _backup(**ON, checkSubset=subset).check_subset == subset


@pytest.mark.parametrize("subset", ["101%", "100.5%", "5", "1/", "/10", "5 %", "a%"])
def test_a_subset_restic_would_not_read_names_the_key(subset: str) -> None:
    assert _line(".checkSubset", **ON, checkSubset=subset) == (
        f"  - openclaw:backup.checkSubset: must be a restic --read-data-subset such as 5% or 1/10 (got \"{subset}\")")


def test_an_endpoint_is_needed_only_when_backups_are_on() -> None:
    assert _backup().endpoint is None
    assert _backup(endpoint="https://s3.example.test").host_port == ("s3.example.test", 443)
    assert _line("", enabled=True) == (
        "  - openclaw:backup: backups are on but endpoint is not set: set openclaw:backup.endpoint to the "
        "repository's https://host[:port] (or set enabled: false) (got {\"enabled\": true})")


def test_a_drill_needs_backups() -> None:
    assert _backup(**ON, drill={"enabled": True}).drill.enabled is True
    assert _line("", drill={"enabled": True}) == (
        "  - openclaw:backup: drill.enabled is true but backups are off: a restore drill needs the backup "
        "repository; set enabled: true, or drill.enabled: false (got {\"drill\": {\"enabled\": true}})")


@pytest.mark.parametrize(("endpoint", "host_port"), [("http://minio.test", ("minio.test", 80)),
                                                     ("https://minio.test", ("minio.test", 443)),
                                                     ("http://minio.test:443", ("minio.test", 443)),
                                                     ("https://minio.test:80", ("minio.test", 80))])
def test_the_port_defaults_by_scheme(endpoint: str, host_port: tuple[str, int]) -> None:
    assert _backup(**{**ON, "endpoint": endpoint}).host_port == host_port


@pytest.mark.parametrize(("endpoint", "message"), [
    ("s3.example.test", "must be http(s)://host[:port] such as https://s3.eu-central-1.amazonaws.com "
                        "(got 's3.example.test')"),
    ("https://", "must be http(s)://host[:port] such as https://s3.eu-central-1.amazonaws.com (got 'https://')"),
    ("https://s3.example.test?x=1", "must hold only scheme, host and port: the bucket, path and any credentials "
                                    "belong in RESTIC_REPOSITORY in Vault"),
    ("https://user@s3.example.test", "must hold only scheme, host and port: the bucket, path and any credentials "
                                     "belong in RESTIC_REPOSITORY in Vault"),
    ("https://:fake-not-a-secret-0000@s3.example.test", "must hold only scheme, host and port: the bucket, path and "
                                                        "any credentials belong in RESTIC_REPOSITORY in Vault"),
    ("https://s3.example.test:x", "has an invalid port (got 'https://s3.example.test:x')"),
])
def test_an_endpoint_restic_would_read_differently_says_why(endpoint: str, message: str) -> None:
    assert _line(".endpoint", **{**ON, "endpoint": endpoint}).startswith(
        f"  - openclaw:backup.endpoint: {message} (got ")


@pytest.mark.parametrize(("host", "ip"), [("10.0.0.5", True), ("2001:db8::1", True), ("s3.example.test", False),
                                          ("10.0.0.256", False), ("", False)])
def test_is_ip(host: str, ip: bool) -> None:
    assert is_ip(host) is ip
