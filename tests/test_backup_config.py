"""`openclaw:backup`: defaults, each bound, and the messages for a bad value."""

from __future__ import annotations

from typing import Any

import pytest

from components.backup import backup_secret_keys, check_repository_endpoint
from components.config import ConfigError, parse_config
from components.config.backup import BackupConfig, endpoint_host_port, repository_host_port

ORIGIN = {"allowedOrigins": ["https://openclaw.example"]}
ON = {"enabled": True, "endpoint": "https://s3.example.com"}


def _backup(**values: Any) -> BackupConfig:
    return parse_config({"gateway": ORIGIN, "backup": values}).backup


def _problem(**values: Any) -> str:
    with pytest.raises(ConfigError) as info:
        _backup(**values)
    return str(info.value)


def test_defaults_are_off_with_the_tested_restic_release() -> None:
    cfg = parse_config({"gateway": ORIGIN})
    assert cfg.backup.enabled is False and backup_secret_keys(cfg) == []
    assert cfg.backup.image.ref == "docker.io/restic/restic:0.14.0"
    assert (cfg.backup.retention.last, cfg.backup.retention.hourly, cfg.backup.retention.daily) == (3, 24, 14)


def test_on_needs_an_endpoint_naming_the_key() -> None:
    message = _problem(enabled=True)
    assert "openclaw:backup: backups are on but endpoint is not set: set openclaw:backup.endpoint" in message


@pytest.mark.parametrize(("endpoint", "host_port"), [
    ("https://s3.example.com", ("s3.example.com", 443)),
    ("http://minio.storage.svc:9000", ("minio.storage.svc", 9000)),
    ("https://10.0.0.5:1", ("10.0.0.5", 1)),
    ("https://s3.example.com:65535/", ("s3.example.com", 65535)),
    ("http://[2001:db8::1]", ("2001:db8::1", 80)),
])
def test_endpoints_accepted(endpoint: str, host_port: tuple[str, int]) -> None:
    assert _backup(enabled=True, endpoint=endpoint).host_port == host_port


@pytest.mark.parametrize(("endpoint", "words"), [
    ("s3.example.com", "must be http(s)://host[:port]"),
    ("s3:https://s3.example.com/bucket", "must be http(s)://host[:port]"),
    ("https://s3.example.com/bucket", "the bucket, path and any credentials belong in RESTIC_REPOSITORY"),
    ("https://key:fake-not-a-secret-0000@s3.example.com", "belong in RESTIC_REPOSITORY in Vault"),
    ("https://s3.example.com:65536", "has an invalid port"),
    ("ftp://s3.example.com", "must be http(s)://host[:port]"),
])
def test_endpoints_refused(endpoint: str, words: str) -> None:
    message = _problem(enabled=True, endpoint=endpoint)
    assert "openclaw:backup.endpoint:" in message and words in message
    assert "fake-not-a-secret-0000" not in message.split("(got")[0]


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("schedule", "17 * * * *", True), ("schedule", "*/30 1-5 * * 1,3", True), ("schedule", "@hourly", False),
    ("schedule", "17 * * *", False), ("checkSubset", "100%", True), ("checkSubset", "2.5%", True),
    ("checkSubset", "1/10", True), ("checkSubset", "101%", False), ("checkSubset", "all", False),
    ("activeDeadlineSeconds", 300, True), ("activeDeadlineSeconds", 299, False),
    ("activeDeadlineSeconds", 86400, True), ("activeDeadlineSeconds", 86401, False),
    ("backoffLimit", 6, True), ("backoffLimit", 7, False), ("backend", "kopia", False),
    ("memory", "256Mi", True), ("memory", "lots", False), ("vaultPath", "/applications/x", False),
    ("secret", "Openclaw_Backup", False),
])
def test_each_bound(key: str, value: Any, ok: bool) -> None:
    if ok:
        _backup(**ON, **{key: value})
    else:
        assert f"openclaw:backup.{key}:" in _problem(**ON, **{key: value})


def test_retention_must_keep_something() -> None:
    assert _backup(**ON, retention={"last": 0, "hourly": 0, "daily": 0, "weekly": 0, "monthly": 1})
    message = _problem(**ON, retention={"last": 0, "hourly": 0, "daily": 0, "weekly": 0, "monthly": 0})
    assert "openclaw:backup.retention: every keep count is 0" in message
    assert "openclaw:backup.retention.hourly:" in _problem(**ON, retention={"hourly": -1})


def test_a_typo_is_an_unknown_key() -> None:
    assert "openclaw:backup.schedul: unknown key" in _problem(**ON, schedul="1 * * * *")


def test_secret_keys_follow_the_backend() -> None:
    s3 = parse_config({"gateway": ORIGIN, "backup": ON})
    assert [(k.env, k.secret, k.vault_path) for k in backup_secret_keys(s3)] == [
        (k, "openclaw-backup", "applications/openclaw-backup")
        for k in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
    rest = parse_config({"gateway": ORIGIN, "backup": {**ON, "backend": "rest"}})
    assert [k.env for k in backup_secret_keys(rest)] == ["RESTIC_REPOSITORY", "RESTIC_PASSWORD"]


@pytest.mark.parametrize(("repository", "host_port"), [
    ("s3:https://s3.example.com/bucket/openclaw", ("s3.example.com", 443)),
    ("s3:s3.example.com/bucket", ("s3.example.com", 443)),  # restic's default is https
    ("s3:http://127.0.0.1:9000/bucket", ("127.0.0.1", 9000)),
    ("rest:https://user:fake-not-a-secret-0000@backup.example:8000/openclaw/", ("backup.example", 8000)),
    ("/srv/restic-repo", None), ("sftp:user@host:/srv/repo", None), ("s3:", None),
])
def test_repository_host_port(repository: str, host_port: tuple[str, int] | None) -> None:
    assert repository_host_port(repository) == host_port


def test_endpoint_check_against_the_repository() -> None:
    cfg = BackupConfig(**ON)
    assert check_repository_endpoint(cfg, "s3:https://s3.example.com/b/p") == "s3:https://s3.example.com/b/p"
    assert endpoint_host_port("https://s3.example.com") == ("s3.example.com", 443)
    for wrong, words in (("s3:https://s3.example.com:444/b", "connects to s3.example.com:444"),
                         ("/local/path", "is not an s3:/rest: URL")):
        with pytest.raises(ConfigError) as info:
            check_repository_endpoint(cfg, wrong)
        assert words in str(info.value) and "/b" not in str(info.value).split("connects")[0]
