"""The backup policies (policy/backup.py) at their edges, in both shapes: each PVC on its own, the
claim mounted by each kind of container, namespaces (named and the default), `suspend` each way,
and each unknown that decides a verdict."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.records import ResourceRecord
from tests.policy_edges import attached, findings, messages
from tests.test_policy import mutate

SCHEDULED, DRILL = "backup-scheduled", "backup-drill-scheduled"
PVC_TYPE = "kubernetes:core/v1:PersistentVolumeClaim"
CRONJOB_TYPE = "kubernetes:batch/v1:CronJob"


def _no_backup(where: str) -> str:
    return (f"PersistentVolumeClaim {where} has no backup schedule: no CronJob in its namespace mounts it; turn on "
            "openclaw:backup (restic to object storage, docs/backup-runbook.md)")


def _no_drill(where: str) -> str:
    return (f"CronJob {where} backs up a volume, but no restore drill CronJob (app.kubernetes.io/component: "
            "backup-drill) runs in its namespace: nothing proves the snapshots restore; set "
            "openclaw:backup.drill.enabled: true (docs/backup-runbook.md#restore-drills)")


UNDECIDED_PVC = ("a name, namespace or backup CronJob volume is unknown, and whether a schedule backs this volume up "
                 "depends on it: make the value known in the program, or apply what it depends on first")
UNDECIDED_DRILL = ("a namespace, label or suspend flag of a CronJob is unknown, and whether a restore drill runs "
                   "beside this backup depends on it")


def _pod(props: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _copy(record: ResourceRecord, suffix: str, change: Any) -> ResourceRecord:
    props = copy.deepcopy(record.properties)
    change(props)
    return dataclasses.replace(record, name=f"{record.name}-{suffix}", urn=f"{record.urn}-{suffix}",
                               properties=props)


def _with(records: list[ResourceRecord], type_: str, suffix: str, change: Any,
          name: str = "openclaw-data") -> list[ResourceRecord]:
    original = next(r for r in records if r.type == type_ and r.properties["metadata"]["name"] == name)
    return [*records, _copy(original, suffix, change)]


def _ns(ns: str | None) -> Any:
    def apply(props: dict[str, Any]) -> None:
        if ns is None:
            props["metadata"].pop("namespace", None)
        else:
            props["metadata"]["namespace"] = ns
    return apply


def test_each_claim_on_its_own(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    """A second PVC next to the backed-up one: only it is reported, attached to it."""
    records = _with(prod.resources, PVC_TYPE, "second", lambda p: p["metadata"].__setitem__("name", "second"))
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [_no_backup("openclaw/second")]
    assert [a for a, _ in attached(analyzer, records, SCHEDULED, stack="prod")] == [records[-1].urn.rsplit("::")[-1]]


@pytest.mark.parametrize(("group", "index"), [("initContainers", 0), ("containers", 0)])
def test_the_claim_mounted_by_each_kind_of_container_counts(analyzer: PolicyAnalyzer, prod: RunResult, group: str,
                                                            index: int) -> None:
    def change(props: dict[str, Any]) -> None:
        pod = _pod(props)
        for c in pod["initContainers"] + pod["containers"]:
            c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "data"]
        pod[group][index]["volumeMounts"].append({"name": "data", "mountPath": "/data", "readOnly": True})

    records = mutate(prod, "CronJob", "openclaw-backup", change)
    assert findings(analyzer, records, SCHEDULED, stack="prod") == []


@pytest.mark.parametrize(("pvc_ns", "cron_ns", "backed"), [
    (None, None, True), ("default", None, True), (None, "default", True), ("openclaw", "openclaw", True),
    ("openclaw", None, False), (None, "openclaw", False),
])
def test_namespaces_match_with_the_default(analyzer: PolicyAnalyzer, prod: RunResult, pvc_ns: str | None,
                                           cron_ns: str | None, backed: bool) -> None:
    records = mutate(dataclasses.replace(prod, resources=mutate(prod, "PersistentVolumeClaim", None, _ns(pvc_ns))),
                     "CronJob", "openclaw-backup", _ns(cron_ns))
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == (
        [] if backed else [_no_backup(f"{pvc_ns or 'default'}/openclaw-data")])


@pytest.mark.parametrize(("suspend", "backed"), [(False, True), (None, True), (True, False)])
def test_suspend(analyzer: PolicyAnalyzer, prod: RunResult, suspend: bool | None, backed: bool) -> None:
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__("suspend", suspend))
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == (
        [] if backed else [_no_backup("openclaw/openclaw-data")])


def test_a_second_cronjob_in_the_namespace_adds_its_claims(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    """Two schedules in one namespace: each backs up its own claim, neither hides the other's."""
    records = _with(prod.resources, PVC_TYPE, "second", lambda p: p["metadata"].__setitem__("name", "second"))

    def second_backup(props: dict[str, Any]) -> None:
        props["metadata"]["name"] = "second-backup"
        _pod(props)["volumes"][0]["persistentVolumeClaim"]["claimName"] = "second"

    both = _with(records, CRONJOB_TYPE, "second", second_backup, name="openclaw-backup")
    assert findings(analyzer, both, SCHEDULED, stack="prod") == []


@pytest.mark.parametrize(("case", "change", "where"), [
    ("suspend", lambda p: p["spec"].__setitem__("suspend", UNKNOWN_BOOLEAN_VALUE), "openclaw/openclaw-data"),
    ("namespace of the CronJob", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN_STRING_VALUE),
     "openclaw/openclaw-data"),
    ("volume name", lambda p: _pod(p)["volumes"][0].__setitem__("name", UNKNOWN_STRING_VALUE),
     "openclaw/openclaw-data"),
    ("volumes", lambda p: _pod(p).__setitem__("volumes", UNKNOWN_STRING_VALUE), "openclaw/openclaw-data"),
    ("containers", lambda p: _pod(p).__setitem__("initContainers", UNKNOWN_STRING_VALUE), "openclaw/openclaw-data"),
    ("volume mounts", lambda p: _pod(p)["initContainers"][0].__setitem__("volumeMounts", UNKNOWN_STRING_VALUE),
     "openclaw/openclaw-data"),
    ("pod", lambda p: p["spec"]["jobTemplate"]["spec"]["template"].__setitem__("spec", UNKNOWN_STRING_VALUE),
     "openclaw/openclaw-data"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_unknown_of_the_cronjob_with_the_claim_unmounted(analyzer: PolicyAnalyzer, prod: RunResult, case: str,
                                                              change: Any, where: str) -> None:
    """The claim is not (known to be) mounted and an unknown could mount it: undecidable, not a pass."""
    def unmounted(props: dict[str, Any]) -> None:
        _pod(props)["initContainers"][0]["volumeMounts"] = [
            m for m in _pod(props)["initContainers"][0]["volumeMounts"] if m["name"] != "data"]
        change(props)

    records = mutate(prod, "CronJob", "openclaw-backup", unmounted)
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [
        f"undecidable at preview: PersistentVolumeClaim {where}: {UNDECIDED_PVC}"]


def test_an_unknown_suspend_flag_decides_even_a_mounted_claim(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    """The schedule mounts the claim, but may be suspended: not known to back it up (it passed silently)."""
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__("suspend",
                                                                                         UNKNOWN_BOOLEAN_VALUE))
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [
        f"undecidable at preview: PersistentVolumeClaim openclaw/openclaw-data: {UNDECIDED_PVC}"]


@pytest.mark.parametrize(("field", "where"), [("name", "openclaw/(name unknown at preview)"),
                                              ("namespace", "(unknown)/openclaw-data")])
def test_an_unknown_name_or_namespace_of_the_claim(analyzer: PolicyAnalyzer, prod: RunResult, field: str,
                                                   where: str) -> None:
    records = mutate(prod, "PersistentVolumeClaim", None, lambda p: p["metadata"].__setitem__(
        field, UNKNOWN_STRING_VALUE))
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [
        f"undecidable at preview: PersistentVolumeClaim {where}: {UNDECIDED_PVC}"]


def test_drill_each_way(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    assert findings(analyzer, prod.resources, DRILL, stack="prod") == []
    for change in (_ns("elsewhere"), lambda p: p["spec"].__setitem__("suspend", True),
                   lambda p: p["metadata"]["labels"].__setitem__("app.kubernetes.io/component", "backup-drill2")):
        records = mutate(prod, "CronJob", "openclaw-backup-drill", change)
        assert messages(findings(analyzer, records, DRILL, stack="prod")) == [_no_drill("openclaw/openclaw-backup")]
    # a suspended backup needs no drill; a drill in the default namespace serves a backup there
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__("suspend", True))
    assert findings(analyzer, mutate(dataclasses.replace(prod, resources=records), "CronJob",
                                     "openclaw-backup-drill", _ns(None)), DRILL, stack="prod") == []
    both_default = mutate(dataclasses.replace(prod, resources=mutate(prod, "CronJob", "openclaw-backup", _ns(None))),
                          "CronJob", "openclaw-backup-drill", _ns("default"))
    assert findings(analyzer, both_default, DRILL, stack="prod") == []
    backup_default = mutate(prod, "CronJob", "openclaw-backup", _ns(None))
    assert messages(findings(analyzer, backup_default, DRILL, stack="prod")) == [_no_drill("default/openclaw-backup")]


@pytest.mark.parametrize(("cronjob", "change", "where"), [
    ("openclaw-backup-drill", lambda p: p["metadata"]["labels"].__setitem__(
        "app.kubernetes.io/component", UNKNOWN_STRING_VALUE), "openclaw/openclaw-backup"),
    ("openclaw-backup-drill", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN_STRING_VALUE),
     "openclaw/openclaw-backup"),
    ("openclaw-backup-drill", lambda p: p["spec"].__setitem__("suspend", UNKNOWN_BOOLEAN_VALUE),
     "openclaw/openclaw-backup"),
    ("openclaw-backup", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN_STRING_VALUE),
     "(unknown)/openclaw-backup"),
], ids=["drill label", "drill namespace", "drill suspend", "backup namespace"])
def test_each_unknown_that_decides_a_drill(analyzer: PolicyAnalyzer, prod: RunResult, cronjob: str, change: Any,
                                           where: str) -> None:
    records = mutate(prod, "CronJob", cronjob, change)
    assert messages(findings(analyzer, records, DRILL, stack="prod")) == [
        f"undecidable at preview: CronJob {where}: {UNDECIDED_DRILL}"]
    backup = next(r for r in records if r.type == CRONJOB_TYPE and r.properties["metadata"]["name"] ==
                  "openclaw-backup")
    assert [a for a, _ in attached(analyzer, records, DRILL, stack="prod")] == [backup.urn.rsplit("::")[-1]]


def test_each_finding_is_attached_to_its_resource(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    """An undecidable claim under the claim, a backup without a drill under the backup CronJob."""
    def urn_of(records: list[ResourceRecord], kind: str, name: str) -> str:
        return next(r.urn for r in records if r.properties.get("kind") == kind
                    and r.properties["metadata"]["name"] == name).rsplit("::")[-1]

    undecided = mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__("suspend",
                                                                                           UNKNOWN_BOOLEAN_VALUE))
    assert attached(analyzer, undecided, SCHEDULED, stack="prod") == [
        (urn_of(undecided, "PersistentVolumeClaim", "openclaw-data"),
         f"undecidable at preview: PersistentVolumeClaim openclaw/openclaw-data: {UNDECIDED_PVC}")]
    no_drill = mutate(prod, "CronJob", "openclaw-backup-drill", lambda p: p["spec"].__setitem__("suspend", True))
    assert attached(analyzer, no_drill, DRILL, stack="prod") == [
        (urn_of(no_drill, "CronJob", "openclaw-backup"), _no_drill("openclaw/openclaw-backup"))]


def test_a_backup_of_unknown_name_without_a_drill(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    records = mutate(prod, "CronJob", "openclaw-backup-drill", lambda p: p["spec"].__setitem__("suspend", True))
    records = mutate(dataclasses.replace(prod, resources=records), "CronJob", "openclaw-backup",
                     lambda p: p["metadata"].__setitem__("name", UNKNOWN_STRING_VALUE))
    assert messages(findings(analyzer, records, DRILL, stack="prod")) == [_no_drill("openclaw/(unknown)")]


@pytest.mark.parametrize("sentinel", [UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE,
                                      UNKNOWN_ARRAY_VALUE, UNKNOWN_OBJECT_VALUE],
                         ids=["boolean", "number", "string", "array", "object"])
def test_each_kind_of_unknown_value(analyzer: PolicyAnalyzer, prod: RunResult, sentinel: str) -> None:
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: p["spec"].__setitem__("suspend", sentinel))
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [
        f"undecidable at preview: PersistentVolumeClaim openclaw/openclaw-data: {UNDECIDED_PVC}"]


def test_a_claim_named_in_the_wrong_shape_is_not_backed_up(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    """`persistentVolumeClaim: openclaw-data` (a string, not {claimName: ...}) mounts no claim: reported, no crash."""
    records = mutate(prod, "CronJob", "openclaw-backup", lambda p: _pod(p)["volumes"][0].__setitem__(
        "persistentVolumeClaim", "openclaw-data"))
    backup = next(r for r in records if r.type == CRONJOB_TYPE
                  and r.properties["metadata"]["name"] == "openclaw-backup")
    assert _pod(backup.properties)["volumes"][0]["name"] == "data"        # the volume the backup mounts
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [_no_backup("openclaw/openclaw-data")]


@pytest.mark.parametrize(("case", "change"), [
    ("suspended", lambda p: p["spec"].__setitem__("suspend", True)),
    ("namespace unknown", lambda p: p["metadata"].__setitem__("namespace", UNKNOWN_STRING_VALUE)),
])
def test_a_cronjob_skipped_before_the_backup_hides_nothing(analyzer: PolicyAnalyzer, prod: RunResult, case: str,
                                                           change: Any) -> None:
    """Another CronJob first in the stack, suspended or in an unknown namespace: the backup after it still counts
    (a claim it mounts is backed up; an unknown namespace leaves only claims nobody mounts undecided)."""
    drill = next(r for r in prod.resources if r.type == CRONJOB_TYPE
                 and r.properties["metadata"]["name"] == "openclaw-backup-drill")
    records = [_copy(drill, "first", change), *prod.resources]
    assert findings(analyzer, records, SCHEDULED, stack="prod") == []


@pytest.mark.parametrize(("first_ns", "second_ns"), [(None, None), ("default", None), (None, "default"),
                                                     ("default", "default")])
def test_two_cronjobs_in_the_default_namespace_add_their_claims(analyzer: PolicyAnalyzer, prod: RunResult,
                                                                first_ns: str | None, second_ns: str | None) -> None:
    """Two schedules in the default namespace, each named without a namespace or with `default`: the second
    adds its claim to the first's (neither hides the other), and both claims there are backed up."""
    in_default = dataclasses.replace(prod, resources=mutate(prod, "PersistentVolumeClaim", "openclaw-data",
                                                            _ns(None)))
    records = _with(mutate(in_default, "CronJob", "openclaw-backup", _ns(first_ns)), PVC_TYPE, "second",
                    lambda p: (p["metadata"].__setitem__("name", "second"), _ns("default")(p)))

    def second_backup(props: dict[str, Any]) -> None:
        props["metadata"]["name"] = "second-backup"
        _ns(second_ns)(props)
        _pod(props)["volumes"][0]["persistentVolumeClaim"]["claimName"] = "second"

    both = _with(records, CRONJOB_TYPE, "second", second_backup, name="openclaw-backup")
    assert findings(analyzer, both, SCHEDULED, stack="prod") == []
    # the other side: the second schedule elsewhere backs up neither claim of the default namespace
    elsewhere = _with(records, CRONJOB_TYPE, "second", lambda p: (second_backup(p), _ns("openclaw")(p)),
                      name="openclaw-backup")
    assert messages(findings(analyzer, elsewhere, SCHEDULED, stack="prod")) == [_no_backup("default/second")]


def test_a_claim_after_an_undecidable_one_is_still_judged(analyzer: PolicyAnalyzer, prod: RunResult) -> None:
    """The first claim's name is unknown (undecidable); a second claim after it, which nothing mounts, is reported
    on its own."""
    unknown_name = mutate(prod, "PersistentVolumeClaim", "openclaw-data", lambda p: p["metadata"].__setitem__(
        "name", UNKNOWN_STRING_VALUE))
    original = next(r for r in prod.resources if r.type == PVC_TYPE)
    records = [*unknown_name, _copy(original, "second", lambda p: p["metadata"].__setitem__("name", "second"))]
    assert messages(findings(analyzer, records, SCHEDULED, stack="prod")) == [
        _no_backup("openclaw/second"),
        f"undecidable at preview: PersistentVolumeClaim openclaw/(name unknown at preview): {UNDECIDED_PVC}"]


def test_a_suspended_cronjob_before_the_backup_hides_no_missing_drill(analyzer: PolicyAnalyzer,
                                                                     prod: RunResult) -> None:
    """A suspended CronJob first in the stack, and no active drill: the backup after it is still reported."""
    drill = next(r for r in prod.resources if r.type == CRONJOB_TYPE
                 and r.properties["metadata"]["name"] == "openclaw-backup-drill")
    no_drill = mutate(prod, "CronJob", "openclaw-backup-drill", lambda p: p["spec"].__setitem__("suspend", True))
    records = [_copy(drill, "first", lambda p: p["spec"].__setitem__("suspend", True)), *no_drill]
    assert messages(findings(analyzer, records, DRILL, stack="prod")) == [_no_drill("openclaw/openclaw-backup")]


@pytest.mark.parametrize(("backup_ns", "drill_ns"), [(None, None), ("default", None), (None, "default"),
                                                     ("default", "default")])
def test_a_drill_in_the_default_namespace_serves_a_backup_there(analyzer: PolicyAnalyzer, prod: RunResult,
                                                                backup_ns: str | None, drill_ns: str | None) -> None:
    """Without a namespace or with `default`, both are in the default namespace; a drill elsewhere serves none."""
    backup = dataclasses.replace(prod, resources=mutate(prod, "CronJob", "openclaw-backup", _ns(backup_ns)))
    assert findings(analyzer, mutate(backup, "CronJob", "openclaw-backup-drill", _ns(drill_ns)), DRILL,
                    stack="prod") == []
    assert messages(findings(analyzer, backup.resources, DRILL, stack="prod")) == [_no_drill("default/openclaw-backup")]


@pytest.mark.parametrize("undecided", [False, True], ids=["drilled first", "undecidable first"])
def test_each_backup_cronjob_on_its_own(analyzer: PolicyAnalyzer, prod: RunResult, undecided: bool) -> None:
    """A second backup CronJob after the first, in a namespace without a drill: judged on its own, whether the
    first is drilled or undecidable."""
    records = prod.resources
    if undecided:
        records = mutate(prod, "CronJob", "openclaw-backup-drill", lambda p: p["spec"].__setitem__(
            "suspend", UNKNOWN_BOOLEAN_VALUE))
    records = _with(records, CRONJOB_TYPE, "second", lambda p: (p["metadata"].__setitem__("name", "second-backup"),
                                                                 _ns("other")(p)), name="openclaw-backup")
    assert messages(findings(analyzer, records, DRILL, stack="prod")) == (
        [f"undecidable at preview: CronJob {where}: {UNDECIDED_DRILL}"
         for where in ("openclaw/openclaw-backup", "other/second-backup")] if undecided
        else [_no_drill("other/second-backup")])
