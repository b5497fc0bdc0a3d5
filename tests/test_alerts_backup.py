"""The backup alerts (failed, overdue, the drill overdue) unit-tested by `promtool test rules`: each fires
on synthetic series just past its threshold and not just before it, and follows its config."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from components.alerts import alert_rules
from components.config import parse_config
from tests.test_alerts import NS, ORIGINS, case, rules_with, run_ok


def test_backup_failed_edges(tmp_path: Path) -> None:
    rules = rules_with()
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
    run_ok(tmp_path, rules, [
        case(with_success, [("5m", "OpenClawBackupFailed", [{"namespace": NS, "job_name": "openclaw-backup-100"}])],
             rules),
        # Never a success: every failed backup Job is open.
        case(series, [("5m", "OpenClawBackupFailed", [{"namespace": NS, "job_name": "openclaw-backup-100"},
                                                      {"namespace": NS, "job_name": "openclaw-backup-50"}])], rules),
    ])


def test_backup_overdue_edges(tmp_path: Path) -> None:
    rules = rules_with(backupMaxAgeHours=26)  # a daily schedule; promtool's clock starts at 0 (epoch)
    cron = f'namespace="{NS}",cronjob="openclaw-backup"'
    labels = {"namespace": NS, "cronjob": "openclaw-backup"}
    run_ok(tmp_path, rules, [
        case({f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x1600",
              f"kube_cronjob_created{{{cron}}}": "0x1600"},
             [("26h", "OpenClawBackupOverdue", []), ("26h1m", "OpenClawBackupOverdue", [labels])], rules),
        # Never succeeded: measured from the CronJob's creation.
        case({f"kube_cronjob_created{{{cron}}}": "0x1600",
              'kube_cronjob_created{namespace="openclaw",cronjob="young"}': "90000x1600"},
             [("26h", "OpenClawBackupOverdue", []), ("26h1m", "OpenClawBackupOverdue", [labels])], rules),
    ])


def test_backup_default_age_suits_the_hourly_schedule(tmp_path: Path) -> None:
    rules = rules_with()  # 3 hours: the backup CronJob's default schedule is hourly
    cron = f'namespace="{NS}",cronjob="openclaw-backup"'
    overdue = [{"namespace": NS, "cronjob": "openclaw-backup"}]
    run_ok(tmp_path, rules, [case({f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x200"},
                                   [("3h", "OpenClawBackupOverdue", []), ("3h1m", "OpenClawBackupOverdue", overdue)],
                                   rules)])


def test_backup_cron_job_name_follows_config(tmp_path: Path) -> None:
    rules = rules_with(backupCronJob="nightly", backupMaxAgeHours=1)
    cron = f'namespace="{NS}",cronjob="nightly"'
    run_ok(tmp_path, rules, [case(
        {f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x70",
         f'kube_cronjob_status_last_successful_time{{namespace="{NS}",cronjob="openclaw-backup"}}': "0x70"},
        [("61m", "OpenClawBackupOverdue", [{"namespace": NS, "cronjob": "nightly"}])], rules)])


def _drill_rules(hours: int = 50) -> dict[str, Any]:
    return alert_rules(parse_config({"gateway": ORIGINS, "alerts": {"enabled": True}, "backup": {
        "enabled": True, "endpoint": "https://s3.example.test", "drill": {"enabled": True, "maxAgeHours": hours}}}))


def test_drill_alert_only_with_the_drill(tmp_path: Path) -> None:
    assert "OpenClawRestoreDrillOverdue" not in str(rules_with())
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
    run_ok(tmp_path, rules, [
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
    run_ok(tmp_path, rules, [case({f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x200"},
                                   [("2h", "OpenClawRestoreDrillOverdue", []),
                                    ("2h1m", "OpenClawRestoreDrillOverdue",
                                     [{"namespace": NS, "cronjob": "openclaw-backup-drill"}])], rules)])


def test_overdue_alerts_fire_ten_seconds_past_the_age(tmp_path: Path) -> None:
    """To the second: the last success at 0, the backup (26 hours) and the drill (50 hours) alerts are quiet
    at their age and fire 10 s after it (a threshold of 3601 s an hour would wait 26 s and 50 s more): the rules
    evaluated every 10 s."""
    backup = rules_with(backupMaxAgeHours=26)
    cron = f'namespace="{NS}",cronjob="openclaw-backup"'
    run_ok(tmp_path, backup, [case(
        {f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x9400"},
        [("26h", "OpenClawBackupOverdue", []),
         ("26h10s", "OpenClawBackupOverdue", [{"namespace": NS, "cronjob": "openclaw-backup"}])],
        backup, interval="10s")], evaluation_interval="10s")
    drill = _drill_rules()
    cron = f'namespace="{NS}",cronjob="openclaw-backup-drill"'
    run_ok(tmp_path, drill, [case(
        {f"kube_cronjob_status_last_successful_time{{{cron}}}": "0x18100"},
        [("50h", "OpenClawRestoreDrillOverdue", []),
         ("50h10s", "OpenClawRestoreDrillOverdue", [{"namespace": NS, "cronjob": "openclaw-backup-drill"}])],
        drill, interval="10s")], evaluation_interval="10s")
