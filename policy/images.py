"""Images: pinned tags from allowed registries; digests advised, placeholder digests refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

from k8s import ADVISORY, MANDATORY, Field, containers, describe, pod_spec, schema, undecidable
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

_DIGEST = re.compile(r"@sha256:([0-9a-fA-F]{64})$")


def _tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def placeholder_digest(hex_digits: str) -> bool:
    """A digest typed by hand, which no registry serves: its 64 hex digits repeat a unit of at most 16
    (all zeros, one repeated digit, `deadbeef` x 8, `0123456789abcdef` x 4); a sha256 is never that
    regular. Such a pin makes the kubelet's pull fail and the rollout hang. Same rule as
    components/config/workload.py (a test keeps them equal)."""
    digits = hex_digits.lower()
    return any(digits == digits[:n] * (len(digits) // n) for n in (1, 2, 4, 8, 16))


def _images(args: ResourceValidationArgs, report: ReportViolation, why: str) -> Iterator[tuple[str, str]]:
    """(where, image) of every container; an unknown image is reported as undecidable (at the level
    of the policy that asked, with `why` it matters) and skipped."""
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    name = describe(args.resource_type, args.props)
    for label, container in containers(spec):
        image: Field = container if container.unknown else container["image"]
        if image.unknown:
            undecidable(report, f"{name} {label}", image, why)
        else:
            yield f"{name} {label}", image.text() or ""


def _pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, image in _images(args, report, "the image must not be :latest or untagged"):
        tag, digest = _tag(image), _DIGEST.search(image)
        if digest is not None and placeholder_digest(digest.group(1)):
            # Not a pin at all: the pull fails and the rollout hangs (mandatory, whatever the digest advice).
            report(f"{where}: image '{image}' is pinned to a placeholder digest (a repeated pattern), which "
                   "no registry serves: set the real digest (`crane digest <image>:<tag>`) or drop it", None)
        elif "@sha256:" not in image and tag in (None, "latest"):
            report(f"{where}: image '{image}' is {'untagged' if tag is None else ':latest'}: pin a release tag "
                   "or digest", None)


image_tag_pinned = ResourceValidationPolicy(
    name="image-tag-pinned",
    description="Images are never :latest, untagged or pinned to a placeholder digest.",
    enforcement_level=MANDATORY,
    validate=_pinned,
)


def _registry(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = args.get_config()["allowedRegistries"]
    for where, image in _images(args, report, f"the image must come from {allowed}"):
        if not any(image.startswith(prefix) for prefix in allowed):
            report(f"{where}: image '{image}' is not from an allowed registry {allowed}: use the mirror or "
                   "add the registry to allowedRegistries", None)


image_registry_allowed = ResourceValidationPolicy(
    name="image-registry-allowed",
    description="Images come from an allow-listed registry.",
    enforcement_level=MANDATORY,
    config_schema=schema({"allowedRegistries": {"type": "array", "items": {"type": "string"},
                                                "default": ["ghcr.io/openclaw/"]}}),
    validate=_registry,
)


def _digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, image in _images(args, report, "the image must be pinned by a real digest"):
        match = _DIGEST.search(image)
        if match is None:
            report(f"{where}: image '{image}' is not pinned by a sha256 digest: a re-pushed tag changes what "
                   "runs; set openclaw:image.digest (`crane digest <image>:<tag>`)", None)
        elif placeholder_digest(match.group(1)):
            report(f"{where}: image '{image}' is pinned to a placeholder digest (a repeated pattern), which "
                   "no registry serves: the pull would fail and the rollout hang; set the real digest "
                   "(`crane digest <image>:<tag>`) or drop it", None)


image_digest_pinned = ResourceValidationPolicy(
    name="image-digest-pinned",
    description="Images are pinned by a real digest, never a placeholder (advisory by default).",
    enforcement_level=ADVISORY,
    validate=_digest,
)

POLICIES = [image_tag_pinned, image_registry_allowed, image_digest_pinned]
