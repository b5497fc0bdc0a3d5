"""Workload hardening: restricted security context, no host access, memory limits, Node heap."""

from __future__ import annotations

import re
from typing import Any

from k8s import MANDATORY, containers, describe, plain, pod_spec
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

_QUANTITY = re.compile(r"^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MIB = {None: 1 / 1024**2, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2,
        "k": 1000 / 1024**2, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2, "T": 1000**4 / 1024**2}
_HEAP = re.compile(r"--max-old-space-size=(\d+)")


def memory_mib(quantity: Any) -> float | None:
    match = _QUANTITY.match(str(quantity))
    return float(match.group(1)) * _MIB[match.group(2)] if match else None


def _where(args: ResourceValidationArgs) -> str:
    return describe(args.resource_type, plain(args.props))


def _security_context(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    pod_ctx = spec.get("securityContext") or {}
    for where, container in containers(spec):
        ctx = container.get("securityContext") or {}

        def setting(key: str, ctx: dict[str, Any] = ctx) -> Any:
            return ctx.get(key, pod_ctx.get(key))

        problems = []
        if setting("runAsNonRoot") is not True:
            problems.append("runAsNonRoot: true")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation: false")
        if ctx.get("privileged") is True:
            problems.append("privileged: false")
        if "ALL" not in ((ctx.get("capabilities") or {}).get("drop") or []):
            problems.append("capabilities.drop: [ALL]")
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append("readOnlyRootFilesystem: true")
        if (setting("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append("seccompProfile.type: RuntimeDefault")
        if problems:
            report(f"{_where(args)} {where}: securityContext must set {', '.join(problems)}", None)


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
    used = [k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    used += [f"hostPath volume '{v.get('name')}'" for v in spec.get("volumes") or [] if "hostPath" in v]
    if used:
        report(f"{_where(args)}: uses {', '.join(used)}: remove it (the pod must not reach the node)", None)


no_host_access = ResourceValidationPolicy(
    name="no-host-access",
    description="No hostNetwork, hostPID, hostIPC or hostPath volumes.",
    enforcement_level=MANDATORY,
    validate=_host_access,
)


def _memory(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    for where, container in containers(spec):
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if limit is None:
            report(f"{_where(args)} {where}: no memory limit: set resources.limits.memory", None)
            continue
        limit_mib = memory_mib(limit)
        for env in container.get("env") or []:
            heap = _HEAP.search(str(env.get("value", ""))) if env.get("name") == "NODE_OPTIONS" else None
            if heap and limit_mib is not None and int(heap.group(1)) >= limit_mib - 64:
                report(f"{_where(args)} {where}: Node heap --max-old-space-size={heap.group(1)} MiB is not "
                       f"below the memory limit {limit} ({limit_mib:.0f} MiB) with 64 MiB to spare: the pod "
                       "would be OOM-killed silently; lower the heap or raise the limit", None)


memory_limits = ResourceValidationPolicy(
    name="memory-limits",
    description="Every container has a memory limit, and the Node heap stays below it.",
    enforcement_level=MANDATORY,
    validate=_memory,
)

POLICIES = [pod_security_context, no_host_access, memory_limits]
