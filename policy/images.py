"""Images: pinned tags from allowed registries; digests advised."""

from __future__ import annotations

from k8s import ADVISORY, MANDATORY, containers, describe, plain, pod_spec, schema
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


def _tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _images(args: ResourceValidationArgs) -> list[tuple[str, str]]:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return []
    where = describe(args.resource_type, plain(args.props))
    return [(f"{where} {label}", str(c.get("image", ""))) for label, c in containers(spec)]


def _pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, image in _images(args):
        tag = _tag(image)
        if "@sha256:" not in image and tag in (None, "latest"):
            report(f"{where}: image '{image}' is {'untagged' if tag is None else ':latest'}: pin a release tag "
                   "or digest", None)


image_tag_pinned = ResourceValidationPolicy(
    name="image-tag-pinned",
    description="Images are never :latest or untagged.",
    enforcement_level=MANDATORY,
    validate=_pinned,
)


def _registry(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = args.get_config()["allowedRegistries"]
    for where, image in _images(args):
        if not any(image.startswith(prefix) for prefix in allowed):
            report(f"{where}: image '{image}' is not from an allowed registry {allowed}: use the mirror or "
                   "add the registry to allowedRegistries", None)


image_registry_allowed = ResourceValidationPolicy(
    name="image-registry-allowed",
    description="Images come from an allow-listed registry.",
    enforcement_level=MANDATORY,
    config_schema=schema({"allowedRegistries": {"type": "array", "items": {"type": "string"},
                                                "default": ["ghcr.io/openclaw/",
                                                            # the backup CronJob's restic, tag or digest
                                                            "docker.io/restic/restic:",
                                                            "docker.io/restic/restic@"]}}),
    validate=_registry,
)


def _digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, image in _images(args):
        if "@sha256:" not in image:
            report(f"{where}: image '{image}' is not pinned by digest: a re-pushed tag changes what runs; "
                   "set openclaw:image.digest", None)


image_digest_pinned = ResourceValidationPolicy(
    name="image-digest-pinned",
    description="Images are pinned by digest (advisory).",
    enforcement_level=ADVISORY,
    validate=_digest,
)

POLICIES = [image_tag_pinned, image_registry_allowed, image_digest_pinned]
