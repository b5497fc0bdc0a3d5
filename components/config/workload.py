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


class ResourcesConfig(Model):
    cpu_request: str = "50m"
    memory: Quantity = "1Gi"  # request and limit: a burstable heap is how the old pod got OOM-killed
    # Node sizes its heap from the host, not the cgroup: the heap is the limit minus this headroom.
    heap_headroom_mib: int = 128

    @field_validator("cpu_request")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value):
            raise ValueError("must be a CPU quantity such as 50m or 0.5")
        return value

    @model_validator(mode="after")
    def _heap_fits(self) -> ResourcesConfig:
        limit = quantity_mib(self.memory)
        if self.heap_headroom_mib < 64 or self.heap_mib >= limit or self.heap_mib < 256:
            raise ValueError(
                f"heapHeadroomMib={self.heap_headroom_mib} with memory={self.memory} gives a Node heap "
                f"of {self.heap_mib} MiB: it must be at least 256 MiB and at least 64 MiB below "
                "the memory limit, or the pod is OOM-killed without a log line")
        return self

    @property
    def heap_mib(self) -> int:
        return int(quantity_mib(self.memory)) - self.heap_headroom_mib


class StorageConfig(Model):
    class_name: str = "local-path-retain"
    size: Quantity = "500Mi"

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if not _DNS_SUBDOMAIN.match(value) or len(value) > 253:
            raise ValueError("must be a StorageClass name (DNS subdomain) such as local-path-retain")
        return value


