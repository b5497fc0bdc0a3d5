"""Release-dependent judgements of OpenClaw workloads, from the release table (releases.json):
a known release, probes on routes the release has, memory above its measured start peak, a
startup budget that covers its measured start at the CPU request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from k8s import ADVISORY, MANDATORY, Field, containers, describe, pod_spec, schema, undecidable
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy
from releases import HEALTH_PATH, OPENCLAW_REPOSITORIES, STARTUP_PATH, TABLE, UNTESTED_ANNOTATION, Judged, judge, known
from workload import memory_mib

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
RUN_TO_COMPLETION = ("kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")


def cpu_cores(quantity: Any) -> float | None:
    text = str(quantity)
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return None


def _openclaw(args: ResourceValidationArgs, report: ReportViolation, why: str,
              gateway_only: bool) -> Iterator[tuple[Judged, Field]]:
    """Every OpenClaw container (with `gateway_only`, the regular containers of long-running
    workloads: init steps and Jobs/CronJobs (backup snapshot, restore drill, pre-upgrade snapshot)
    run scripts to completion under the release's Node, not the gateway) with the release it is
    judged as; unknowns that decide it are undecidable."""
    spec = pod_spec(args.resource_type, args.props)
    if spec is None or (gateway_only and args.resource_type in RUN_TO_COMPLETION):
        return
    name = describe(args.resource_type, args.props)
    annotations = Field.root(args.props).at("metadata", "annotations")
    for label, container in containers(spec):
        if gateway_only and label.startswith("init"):
            continue
        image = container if container.unknown else container["image"]
        if image.unknown:
            undecidable(report, f"{name} {label}", image, why)
            continue
        judged = judge(f"{name} {label}", image.text() or "", annotations, OPENCLAW_REPOSITORIES)
        if judged is None:
            continue
        base = annotations if annotations.unknown else annotations[UNTESTED_ANNOTATION]
        if judged.tag not in TABLE and base.unknown:
            undecidable(report, judged.where, base,
                        f"it names the release the tag {judged.tag} was rendered as, and {why}")
            continue
        yield judged, container


def _known(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for judged, _ in _openclaw(args, report, "the image must be a known OpenClaw release", gateway_only=False):
        if judged.release is None and judged.tag not in (None, "latest"):  # those: image-tag-pinned
            report(f"{judged.where}: openclaw {judged.tag} is not a release the program supports (known: {known()}): "
                   "pin one of them, or accept it explicitly in the stack (openclaw:image.acceptUntestedRelease), "
                   "which renders it as the newest known release below it", None)


release_known = ResourceValidationPolicy(
    name="release-known",
    description="OpenClaw images run a release of the release table, or one the stack accepted as untested.",
    enforcement_level=MANDATORY,
    validate=_known,
)


def _untested(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for judged, _ in _openclaw(args, report, "an untested release is worth a look", gateway_only=False):
        if judged.untested and judged.release is not None:
            report(f"{judged.where}: openclaw {judged.tag} is untested, rendered and judged as openclaw "
                   f"{judged.release['version']}; add it to components/releases.py once its own validator and "
                   "the e2e pass", None)


release_untested = ResourceValidationPolicy(
    name="release-untested",
    description="Says when an OpenClaw image runs a release the program was not tested with (accepted by the stack).",
    enforcement_level=ADVISORY,
    validate=_untested,
)


def _probe_problem(release: dict[str, Any], probe: Field) -> str | None:
    """What is wrong with one probe on this release (None: nothing)."""
    version = release["version"]
    http = probe["httpGet"]
    if http.present():
        if not release["health_routes"]:
            return (f"is an httpGet, but openclaw {version} has no health route: every path is answered by the "
                    "Control UI page (or nothing on a loopback bind), so it proves nothing or kills a healthy pod; "
                    "use the exec probes the program renders")
        path = http["path"].text() or "/"
        if STARTUP_PATH.search(path) and not release["startup_route"]:
            return f"requests {path}, which openclaw {version} does not have (/startupz came in 2026.8.1)"
        return None
    command, _ = probe.at("exec", "command").strings()
    text = " ".join(command)
    if HEALTH_PATH.search(text) and not release["health_routes"]:
        return (f"requests a health route, which openclaw {version} does not have: the Control UI answers it, so "
                "the probe proves nothing or fails on a healthy pod")
    if STARTUP_PATH.search(text) and not release["startup_route"]:
        return f"requests /startupz, which openclaw {version} does not have (it came in 2026.8.1)"
    return None


def _probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    why = "its probes must use routes the release has"
    for judged, container in _openclaw(args, report, why, gateway_only=True):
        if judged.release is None:
            continue  # release-known says so
        for kind in PROBES:
            probe = container if container.unknown else container[kind]
            if probe.unknown:
                undecidable(report, judged.where, probe, why)
                continue
            if not probe.present():
                continue
            exec_command = probe.at("exec", "command")
            unknown = exec_command if exec_command.unknown else next(
                (item for item in exec_command.items() if item.unknown), None)
            if unknown is not None:
                undecidable(report, judged.where, unknown, why)
                continue
            problem = _probe_problem(judged.release, probe)
            if problem:
                report(f"{judged.where}: {kind} {problem}", None)


release_probes = ResourceValidationPolicy(
    name="release-probes",
    description="Probes of an OpenClaw gateway only use health routes its release answers itself.",
    enforcement_level=MANDATORY,
    validate=_probes,
)


def _memory(args: ResourceValidationArgs, report: ReportViolation) -> None:
    share = float(args.get_config()["maxPeakShare"])
    why = "the release's measured start peak must fit in the memory limit"
    for judged, container in _openclaw(args, report, why, gateway_only=True):
        if judged.release is None:
            continue
        limit = container.at("resources", "limits", "memory")
        if limit.unknown:
            undecidable(report, judged.where, limit, why)
            continue
        mib = memory_mib(limit.value) if limit.value is not None else None
        peak = judged.release["sizing"]["peak_rss_mib"]
        if mib is not None and peak > share * mib:
            report(f"{judged.where}: memory limit {limit.value} ({mib:.0f} MiB) is too small for openclaw "
                   f"{judged.release['version']}: its start peaks at {peak} MiB RSS (measured), more than "
                   f"{share:.0%} of the limit; raise it to at least {peak / share:.0f} MiB "
                   "(unset openclaw:resources.memory to get the release's own)", None)


release_memory = ResourceValidationPolicy(
    name="release-memory",
    description="An OpenClaw gateway's memory limit keeps the release's measured start peak under a share of it.",
    enforcement_level=MANDATORY,
    validate=_memory,
    config_schema=schema({"maxPeakShare": {"type": "number", "minimum": 0.3, "maximum": 1, "default": 0.75}}),
)


def _budget(args: ResourceValidationArgs, report: ReportViolation) -> None:
    margin = float(args.get_config()["margin"])
    why = "the startup probe must wait out the release's measured start at the CPU request"
    for judged, container in _openclaw(args, report, why, gateway_only=True):
        if judged.release is None:
            continue
        probe = container if container.unknown else container["startupProbe"]
        cpu = container.at("resources", "requests", "cpu")
        unknown = next((f for f in (probe, probe["periodSeconds"], probe["failureThreshold"],
                                    probe["initialDelaySeconds"], cpu) if f.unknown), None)
        if unknown is not None:
            undecidable(report, judged.where, unknown, why)
            continue
        if not probe.present():
            report(f"{judged.where}: no startupProbe: the liveness probe would judge a start that takes "
                   f"{judged.release['sizing']['start_cpu_seconds']} CPU-seconds", None)
            continue
        cores = cpu_cores(cpu.value) if cpu.value is not None else None
        if not cores:
            report(f"{judged.where}: no CPU request: the startup budget cannot be checked against the release's "
                   "start; set resources.requests.cpu", None)
            continue
        wait = (int(probe["periodSeconds"].value or 10) * int(probe["failureThreshold"].value or 3)
                + int(probe["initialDelaySeconds"].value or 0))
        needed = judged.release["sizing"]["start_cpu_seconds"] * margin / cores
        if wait < needed:
            report(f"{judged.where}: the startup probe waits {wait} s, but openclaw {judged.release['version']} "
                   f"needs {judged.release['sizing']['start_cpu_seconds']} CPU-seconds to start (measured), "
                   f"{needed:.0f} s at the {cpu.value} CPU request with {margin - 1:.0%} margin: the kubelet would "
                   "restart a pod that is still starting; raise failureThreshold or the CPU request", None)


release_startup_budget = ResourceValidationPolicy(
    name="release-startup-budget",
    description="An OpenClaw gateway's startup probe covers its release's measured start at the CPU request.",
    enforcement_level=MANDATORY,
    validate=_budget,
    config_schema=schema({"margin": {"type": "number", "minimum": 1, "maximum": 5, "default": 1.25}}),
)

POLICIES = [release_known, release_untested, release_probes, release_memory, release_startup_budget]
