"""The image, the pod's resources and the state volume."""

from __future__ import annotations

from pydantic import field_validator, model_validator

from components.config.base import _CPU, _DIGEST, _DNS_SUBDOMAIN, _IMAGE_REF, _IMAGE_TAG, Model, Quantity, quantity_mib


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


# Measured by `./run e2e` on the pinned release (openclaw 2026.2.23, node 22, rendered dev pod;
# README "Sizing"): peak RSS 967-991 MiB during the start with a 896 MiB heap cap, 44.8 s of
# CPU until the gateway listens (rounded up to 45). The e2e fails when a release passes these lines.
MEASURED_START_CPU_SECONDS = 45.0
START_CPU_MARGIN = 1.25  # the startup budget covers 25% more CPU than measured
MIN_NON_HEAP_SHARE = 0.25  # V8 code, buffers and native memory live outside the heap cap


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity (50m, 0.5, 2) in cores."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


class ResourcesConfig(Model):
    cpu_request: str = "50m"
    # Request and limit: a burstable heap is how the old pod got OOM-killed. 1536Mi puts the
    # measured start peak (967-991 MiB) at 63-65% of the limit, more than a quarter of it free.
    memory: Quantity = "1536Mi"
    # Node sizes its heap from the host, not the cgroup: the heap is the limit minus this headroom.
    # 640 keeps the 896 MiB heap the start was measured with.
    heap_headroom_mib: int = 640

    @field_validator("cpu_request")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value) or cpu_cores(value) <= 0:
            raise ValueError("must be a CPU quantity such as 50m or 0.5")
        return value

    @model_validator(mode="after")
    def _heap_fits(self) -> ResourcesConfig:
        limit = quantity_mib(self.memory)
        if self.heap_headroom_mib < MIN_NON_HEAP_SHARE * limit or self.heap_mib < 256:
            raise ValueError(
                f"heapHeadroomMib={self.heap_headroom_mib} with memory={self.memory} gives a Node heap "
                f"of {self.heap_mib} MiB: it must be at least 256 MiB and leave at least a quarter of "
                f"the memory limit ({MIN_NON_HEAP_SHARE * limit:.0f} MiB) to the rest of the process, "
                "or the pod is OOM-killed without a log line")
        return self

    @property
    def heap_mib(self) -> int:
        return int(quantity_mib(self.memory)) - self.heap_headroom_mib

    @property
    def startup_budget_seconds(self) -> float:
        """How long the startup probe waits: the measured start's CPU time (with margin) at the
        CPU request, which is all a busy node gives the pod."""
        return MEASURED_START_CPU_SECONDS * START_CPU_MARGIN / cpu_cores(self.cpu_request)


class StorageConfig(Model):
    class_name: str = "local-path-retain"
    size: Quantity = "500Mi"

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if not _DNS_SUBDOMAIN.match(value) or len(value) > 253:
            raise ValueError("must be a StorageClass name (DNS subdomain) such as local-path-retain")
        return value


