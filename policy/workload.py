"""Workload hardening: restricted security context, no host access, memory limits, Node heap."""

from __future__ import annotations

import re
from typing import Any

from k8s import MANDATORY, Field, containers, describe, pod_spec, undecidable
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

_QUANTITY = re.compile(r"^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MIB = {None: 1 / 1024**2, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2,
        "k": 1000 / 1024**2, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2, "T": 1000**4 / 1024**2}
_HEAP = re.compile(r"--max-old-space-size=(\d+)")


def memory_mib(quantity: Any) -> float | None:
    match = _QUANTITY.match(str(quantity))
    return float(match.group(1)) * _MIB[match.group(2)] if match else None


def _security_problems(ctx: Field, pod_ctx: Field) -> tuple[list[str], list[tuple[Field, str]]]:
    """(settings that are wrong, unknown fields with the setting they decide)."""
    def setting(key: str) -> Field:
        own = ctx[key]
        return own if own.present() else pod_ctx[key]

    problems: list[str] = []
    unknown: list[tuple[Field, str]] = []

    def expect(field: Field, ok: bool, wanted: str) -> None:
        if field.unknown:
            unknown.append((field, wanted))
        elif not ok:
            problems.append(wanted)

    non_root = setting("runAsNonRoot")
    expect(non_root, non_root.value is True, "runAsNonRoot: true")
    escalation = ctx["allowPrivilegeEscalation"]
    expect(escalation, escalation.value is False, "allowPrivilegeEscalation: false")
    privileged = ctx["privileged"]
    expect(privileged, privileged.value is not True, "privileged: false")
    drop, drop_unknown = ctx.at("capabilities", "drop").strings()
    if "ALL" not in drop:
        if drop_unknown:
            unknown.append((drop_unknown[0], "capabilities.drop: [ALL]"))
        else:
            problems.append("capabilities.drop: [ALL]")
    read_only = ctx["readOnlyRootFilesystem"]
    expect(read_only, read_only.value is True, "readOnlyRootFilesystem: true")
    seccomp = setting("seccompProfile")["type"]
    expect(seccomp, seccomp.value == "RuntimeDefault", "seccompProfile.type: RuntimeDefault")
    return problems, unknown


def _security_context(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    name = describe(args.resource_type, args.props)
    if spec.unknown:
        undecidable(report, name, spec, "the pod's security settings are what this policy judges")
        return
    pod_ctx = spec["securityContext"]
    for where, container in containers(spec):
        if container.unknown:
            undecidable(report, f"{name} {where}", container, "its securityContext is what this policy judges")
            continue
        problems, unknown = _security_problems(container["securityContext"], pod_ctx)
        if problems:
            report(f"{name} {where}: securityContext must set {', '.join(problems)}", None)
        for field, wanted in unknown:
            undecidable(report, f"{name} {where}", field, f"the securityContext must set {wanted}")


pod_security_context = ResourceValidationPolicy(
    name="pod-security-context",
    description="Containers run as non-root, read-only, without privilege escalation, capabilities or seccomp gaps.",
    enforcement_level=MANDATORY,
    validate=_security_context,
)


def _host_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    name = describe(args.resource_type, args.props)
    used: list[str] = []
    unknown: list[Field] = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        field = spec[key]
        if field.unknown:
            unknown.append(field)
        elif field.value:
            used.append(key)
    volumes = spec["volumes"]
    for volume in [volumes] if volumes.unknown else volumes.items():
        if volume.unknown:
            unknown.append(volume)
        elif volume.has("hostPath"):
            used.append(f"hostPath volume '{volume['name'].text() or '?'}'")
    if used:
        report(f"{name}: uses {', '.join(used)}: remove it (the pod must not reach the node)", None)
    for field in unknown:
        undecidable(report, name, field, "it could give the pod access to the node")


no_host_access = ResourceValidationPolicy(
    name="no-host-access",
    description="No hostNetwork, hostPID, hostIPC or hostPath volumes.",
    enforcement_level=MANDATORY,
    validate=_host_access,
)


def _heap_checks(name: str, where: str, container: Field, limit: str, limit_mib: float | None,
                 report: ReportViolation) -> None:
    env = container["env"]
    if env.unknown:
        undecidable(report, f"{name} {where}", env, "a NODE_OPTIONS heap above the memory limit could be in it")
        return
    for entry in env.items():
        var = entry if entry.unknown else entry["name"]
        value = entry if entry.unknown else entry["value"]
        if var.is_("NODE_OPTIONS") is False:
            continue
        if value.unknown:
            undecidable(report, f"{name} {where}", value, "the Node heap it sets must stay below the memory limit")
            continue
        heap = _HEAP.search(value.text() or "")
        if not heap or limit_mib is None or int(heap.group(1)) < limit_mib - 64:
            continue
        if var.unknown:
            undecidable(report, f"{name} {where}", var, f"if it is NODE_OPTIONS, its heap {heap.group(1)} MiB is "
                        f"not below the memory limit {limit}")
            continue
        report(f"{name} {where}: Node heap --max-old-space-size={heap.group(1)} MiB is not "
               f"below the memory limit {limit} ({limit_mib:.0f} MiB) with 64 MiB to spare: the pod "
               "would be OOM-killed silently; lower the heap or raise the limit", None)


def _memory(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    name = describe(args.resource_type, args.props)
    for where, container in containers(spec):
        limit = container.at("resources", "limits", "memory")
        if limit.unknown:
            undecidable(report, f"{name} {where}", limit, "every container needs a memory limit above its heap")
            continue
        if limit.value is None:
            report(f"{name} {where}: no memory limit: set resources.limits.memory", None)
            continue
        _heap_checks(name, where, container, str(limit.value), memory_mib(limit.value), report)


memory_limits = ResourceValidationPolicy(
    name="memory-limits",
    description="Every container has a memory limit, and the Node heap stays below it.",
    enforcement_level=MANDATORY,
    validate=_memory,
)

POLICIES = [pod_security_context, no_host_access, memory_limits]
