"""The image, the pod's resources and the state volume."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import field_validator

from components.config.base import _CPU, _DIGEST, _DNS_SUBDOMAIN, _IMAGE_REF, _IMAGE_TAG, Model, Quantity, quantity_mib
from components.releases import RELEASES, Release, UnknownReleaseError, known_versions, untested_base


def placeholder_digest(hex_digits: str) -> bool:
    """A digest typed by hand, not computed: its 64 hex digits repeat a unit of at most 16 (all zeros,
    one repeated digit, `deadbeef` x 8, `0123456789abcdef` x 4). A sha256 is never that regular.
    policy/images.py keeps the same rule (the pack cannot import the program)."""
    digits = hex_digits.lower()
    return any(digits == digits[:n] * (len(digits) // n) for n in (1, 2, 4, 8, 16))


class ImageConfig(Model):
    repository: str = "ghcr.io/openclaw/openclaw"
    tag: str = "2026.2.23"
    digest: str | None = None

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _IMAGE_REF.match(value):
            raise ValueError("must be a registry/path image name such as ghcr.io/openclaw/openclaw")
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _IMAGE_TAG.match(value):
            raise ValueError("must be an image tag such as 2026.2.23")
        if value == "latest":
            raise ValueError("'latest' is not a release: pin a version such as 2026.2.23")
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not _DIGEST.match(value):
            raise ValueError("must be sha256:<64 hex digits>")
        if value is not None and placeholder_digest(value.removeprefix("sha256:")):
            # The kubelet would try to pull it and the rollout would hang: refuse it here.
            raise ValueError(
                f"{value} is a placeholder (a repeated pattern), not the digest of a real image: pin the "
                "release's digest (`crane digest ghcr.io/openclaw/openclaw:<tag>` or `docker buildx imagetools "
                "inspect ghcr.io/openclaw/openclaw:<tag>`), or remove the key to pull by tag")
        return value

    @property
    def ref(self) -> str:
        """The pull reference: pinned by digest when one is configured, the tag kept for humans."""
        base = f"{self.repository}:{self.tag}"
        return f"{base}@{self.digest}" if self.digest else base


class GatewayImageConfig(ImageConfig):
    """The OpenClaw image: its tag names the release everything release-dependent is rendered for."""

    # True lets a tag the release model does not know through, rendered as the newest known release
    # at or below it, with a warning at every run (release_problems refuses it otherwise).
    accept_untested_release: bool = False

    @property
    def untested(self) -> bool:
        return self.tag not in RELEASES

    @property
    def release(self) -> Release:
        """What the program renders for: the tag's release, or for an accepted untested tag the
        newest known release below it (components/releases.py). Call after release_problems()."""
        return RELEASES.get(self.tag) or untested_base(self.tag)


def release_problems(image: GatewayImageConfig) -> list[str]:
    """A tag the release model does not know: refused with the known list, unless accepted."""
    if not image.untested:
        return []
    if not image.accept_untested_release:
        return [f"openclaw:image.tag: {image.tag} is not a release this program supports (known: {known_versions()}):"
                " pin one of them, or set openclaw:image.acceptUntestedRelease: true to run it rendered as the newest"
                " known release below it (untested)"]
    try:
        untested_base(image.tag)
    except UnknownReleaseError as exc:
        return [f"openclaw:image.tag: {exc}"]
    return []


# Sizing rules (README "Sizing"). Every figure a release is sized from is measured with the rendered
# config and kept in the release model (components/releases.py, Sizing): the limit, the heap cap and the
# startup budget follow the release in openclaw:image.tag, not one constant.
START_CPU_MARGIN = 1.25  # the startup budget covers 25% more CPU than measured
MIN_NON_HEAP_SHARE = 0.25  # V8 code, buffers and native memory live outside the heap cap
MEMORY_LINE = 0.75  # the measured start peak must stay under this share of the limit (the e2e fails above it)
PEAK_SHARE = 0.65  # a derived limit puts the measured peak at most here: a margin under the line
HEAP_MIB = 896  # the heap cap every release's start was measured with (NODE_OPTIONS --max-old-space-size)
LIMIT_STEP_MIB = 128  # derived limits are whole multiples of this
# The startup budget is never shorter than this: the measured CPU time covers a CPU-bound start, not
# its waits (1.4 GB of modules read from a cold page cache: 117 s of wall time for 40 CPU-s measured
# here; DNS; 2026.9.6's attempt to fetch its DeepSeek plugin, about 90 s when the registry is
# unreachable). Without it 2026.6.35 at 250m would get 30 s and 2026.9.6 90 s.
MIN_STARTUP_BUDGET_SECONDS = 180


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity (50m, 0.5, 2) in cores."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


class ResourcesConfig(Model):
    cpu_request: str = "50m"
    # Request and limit: a burstable heap is how the old pod got OOM-killed. Unset: derived from the
    # release's measured start peak (derived_memory_mib). Set: the release's peak must stay under
    # 75% of it.
    memory: Quantity | None = None
    # Node sizes its heap from the host, not the cgroup: the heap is the limit minus this headroom.
    # Unset: the 896 MiB heap every release was measured with.
    heap_headroom_mib: int | None = None

    @field_validator("cpu_request")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value) or cpu_cores(value) <= 0:
            raise ValueError("must be a CPU quantity such as 50m or 0.5")
        return value


def _round_up(mib: float) -> int:
    return math.ceil(mib / LIMIT_STEP_MIB - 1e-9) * LIMIT_STEP_MIB


def derived_memory_mib(release: Release) -> int:
    """The limit a release gets when the stack sets none: its measured start peak at most
    PEAK_SHARE of it, and the heap cap leaving MIN_NON_HEAP_SHARE to the rest of the process."""
    return max(_round_up(release.sizing.peak_rss_mib / PEAK_SHARE), _round_up(HEAP_MIB / (1 - MIN_NON_HEAP_SHARE)))


@dataclass(frozen=True)
class WorkloadSizing:
    """The gateway container's memory limit (= request), heap cap and startup budget."""

    memory: str                    # the Kubernetes quantity rendered ("1536Mi", or the stack's own)
    memory_mib: float
    heap_mib: int
    startup_budget_seconds: float  # how long the startup probe waits
    derived: bool                  # memory derived from the release (not set by the stack)


def workload_sizing(resources: ResourcesConfig, release: Release) -> WorkloadSizing:
    derived = resources.memory is None
    memory = f"{derived_memory_mib(release)}Mi" if resources.memory is None else resources.memory
    limit = quantity_mib(memory)
    heap = HEAP_MIB if resources.heap_headroom_mib is None else int(limit) - resources.heap_headroom_mib
    # The measured start's CPU time (with margin) at the CPU request, which is all a busy node gives the pod.
    budget = max(release.sizing.start_cpu_seconds * START_CPU_MARGIN / cpu_cores(resources.cpu_request),
                 MIN_STARTUP_BUDGET_SECONDS)
    return WorkloadSizing(memory, limit, heap, budget, derived)


def sizing_problems(resources: ResourcesConfig, release: Release) -> list[str]:
    """What is wrong with the sizing for this release: each names the key, the value and the fix."""
    sizing = workload_sizing(resources, release)
    problems = []
    if sizing.heap_mib < 256 or sizing.heap_mib > (1 - MIN_NON_HEAP_SHARE) * sizing.memory_mib:
        key = "heapHeadroomMib" if resources.heap_headroom_mib is not None else "memory"
        problems.append(
            f"openclaw:resources.{key}: memory={sizing.memory} with a Node heap of {sizing.heap_mib} MiB: the "
            f"heap must be at least 256 MiB and leave at least a quarter of the memory limit "
            f"({MIN_NON_HEAP_SHARE * sizing.memory_mib:.0f} MiB) to the rest of the process, or the pod is "
            "OOM-killed without a log line; raise memory or set heapHeadroomMib")
    peak = release.sizing.peak_rss_mib
    if not sizing.derived and peak > MEMORY_LINE * sizing.memory_mib:
        problems.append(
            f"openclaw:resources.memory: {sizing.memory} is too small for openclaw {release.version}: its start "
            f"peaks at {peak} MiB RSS (measured, components/releases.py), which must stay under "
            f"{MEMORY_LINE:.0%} of the limit; set at least {math.ceil(peak / MEMORY_LINE)}Mi, or remove the key "
            f"to get the release's own {derived_memory_mib(release)}Mi")
    return problems


class StorageConfig(Model):
    class_name: str = "local-path-retain"
    size: Quantity = "500Mi"

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if not _DNS_SUBDOMAIN.match(value) or len(value) > 253:
            raise ValueError("must be a StorageClass name (DNS subdomain) such as local-path-retain")
        return value


