"""Backups: every state volume of the stack is snapshotted on a schedule, and where backups run,
a scheduled restore drill proves they restore.

Reads only the fields it judges (PVC name and namespace; a CronJob's namespace, suspend flag, pod
volumes and volume mounts), one at a time: at preview a value the engine does not know yet is the
unknown sentinel, or raises UnknownValueError through pulumi-policy's proxy
(pulumi/pulumi-policy sdk/python/lib/pulumi_policy/proxy.py). A verdict that depends on such a
value is reported as undecidable, never passed silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from k8s import ADVISORY, PVC
from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

CRONJOB = "kubernetes:batch/v1:CronJob"
CRONJOB_POD = ("spec", "jobTemplate", "spec", "template", "spec")
_SENTINELS = {UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
              UNKNOWN_OBJECT_VALUE}


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


def get(node: Any, *keys: str | int) -> Any:
    """One field: its value, None when absent, UNKNOWN when the engine does not know it yet."""
    for key in keys:
        if node is UNKNOWN:
            return UNKNOWN
        try:
            if isinstance(node, Mapping):
                node = node[key] if key in list(iter(node)) else None
            elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(key, int):
                node = node[key] if 0 <= key < len(node) else None
            else:
                return None
        except UnknownValueError:
            return UNKNOWN
        if isinstance(node, str) and node in _SENTINELS:
            return UNKNOWN
    return node


def length(node: Any) -> int:
    if node is UNKNOWN or not isinstance(node, Sequence) or isinstance(node, str):
        return 0
    try:
        return len(node)
    except UnknownValueError:
        return 0


def _mounted_claims(props: Any) -> tuple[set[str], bool]:
    """Claims a CronJob's pods mount (a container, init or regular, mounts the volume), and whether
    something that could change the answer is unknown."""
    pod = get(props, *CRONJOB_POD)
    unknown = pod is UNKNOWN
    volumes = get(pod, "volumes")
    unknown |= volumes is UNKNOWN
    claims: dict[str, str] = {}
    for i in range(length(volumes)):
        name, claim = get(volumes, i, "name"), get(volumes, i, "persistentVolumeClaim", "claimName")
        if UNKNOWN in (name, claim):
            unknown = True
        elif claim is not None:
            claims[str(name)] = str(claim)
    mounted: set[str] = set()
    for group in ("initContainers", "containers"):
        items = get(pod, group)
        unknown |= items is UNKNOWN
        for i in range(length(items)):
            mounts = get(items, i, "volumeMounts")
            unknown |= mounts is UNKNOWN
            for j in range(length(mounts)):
                volume = get(mounts, j, "name")
                if volume is UNKNOWN:
                    unknown = True
                elif volume in claims:
                    mounted.add(claims[volume])
    return mounted, unknown


def _backup_scheduled(args: StackValidationArgs, report: ReportViolation) -> None:
    # namespace -> (claims mounted by an active CronJob, whether an unknown could add one)
    scheduled: dict[str, tuple[set[str], bool]] = {}
    unknown_namespace = False
    for r in args.resources:
        if r.resource_type != CRONJOB:
            continue
        ns, suspend = get(r.props, "metadata", "namespace"), get(r.props, "spec", "suspend")
        if ns is UNKNOWN:
            unknown_namespace = True
            continue
        if suspend is True:
            continue  # a suspended schedule backs nothing up
        claims, unknown = _mounted_claims(r.props)
        if suspend is UNKNOWN:  # it may be suspended: what it mounts is not known to be backed up
            claims, unknown = set(), True
        known, was_unknown = scheduled.get(ns or "default", (set(), False))
        scheduled[ns or "default"] = (known | claims, was_unknown or unknown)
    for r in args.resources:
        if r.resource_type != PVC:
            continue
        name, ns = get(r.props, "metadata", "name"), get(r.props, "metadata", "namespace")
        where = f"PersistentVolumeClaim {'(unknown)' if ns is UNKNOWN else ns or 'default'}/" \
                f"{'(name unknown at preview)' if name is UNKNOWN else name}"
        claims, unknown = scheduled.get(ns or "default", (set(), False)) if ns is not UNKNOWN else (set(), True)
        if name is not UNKNOWN and name in claims:
            continue
        if UNKNOWN in (name, ns) or unknown or unknown_namespace:
            report(f"undecidable at preview: {where}: a name, namespace or backup CronJob volume is unknown, "
                   "and whether a schedule backs this volume up depends on it: make the value known in the "
                   "program, or apply what it depends on first", r.urn)
            continue
        report(f"{where} has no backup schedule: no CronJob in its namespace mounts it; turn on "
               "openclaw:backup (restic to object storage, docs/backup-runbook.md)", r.urn)


backup_scheduled = StackValidationPolicy(
    name="backup-scheduled",
    description="Every PersistentVolumeClaim is mounted by a backup CronJob (advisory in dev, mandatory in prod).",
    enforcement_level=ADVISORY,
    validate=_backup_scheduled,
)

COMPONENT = ("metadata", "labels", "app.kubernetes.io/component")


def _drill_scheduled(args: StackValidationArgs, report: ReportViolation) -> None:
    backups: list[tuple[Any, Any]] = []     # (resource, namespace) of each active backup CronJob
    drilled: set[str] = set()
    undecided = False
    for r in args.resources:
        if r.resource_type != CRONJOB:
            continue
        component, ns, suspend = get(r.props, *COMPONENT), get(r.props, "metadata", "namespace"), \
            get(r.props, "spec", "suspend")
        if UNKNOWN in (component, ns, suspend):
            undecided = True
            if component == "backup":
                backups.append((r, UNKNOWN))
            continue
        if suspend is True:
            continue
        if component == "backup":
            backups.append((r, ns or "default"))
        elif component == "backup-drill":
            drilled.add(ns or "default")
    for r, ns in backups:
        name = get(r.props, "metadata", "name")
        where = f"CronJob {'(unknown)' if ns is UNKNOWN else ns}/{'(unknown)' if name is UNKNOWN else name}"
        if ns is not UNKNOWN and ns in drilled:
            continue
        if undecided:
            report(f"undecidable at preview: {where}: a namespace, label or suspend flag of a CronJob is unknown, "
                   "and whether a restore drill runs beside this backup depends on it", r.urn)
            continue
        report(f"{where} backs up a volume, but no restore drill CronJob (app.kubernetes.io/component: "
               "backup-drill) runs in its namespace: nothing proves the snapshots restore; set "
               "openclaw:backup.drill.enabled: true (docs/backup-runbook.md#restore-drills)", r.urn)


backup_drill_scheduled = StackValidationPolicy(
    name="backup-drill-scheduled",
    description="A namespace with a backup CronJob also runs a restore drill CronJob (mandatory in prod).",
    enforcement_level=ADVISORY,
    validate=_drill_scheduled,
)

POLICIES = [backup_scheduled, backup_drill_scheduled]
