"""Storage: PVCs on an allowed class and protected from deletion."""

from __future__ import annotations

from k8s import MANDATORY, PVC, Field, describe, schema, undecidable
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


def _storage_class(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != PVC:
        return
    allowed = args.get_config()["allowedStorageClasses"]
    where = describe(args.resource_type, args.props)
    cls = Field.root(args.props).at("spec", "storageClassName")
    if cls.unknown:
        undecidable(report, where, cls, f"the class must be one of {allowed}")
    elif cls.value not in allowed:
        report(f"{where}: storageClassName {cls.value!r} is not one of {allowed}: "
               "state needs a class that retains the volume", None)


pvc_storage_class = ResourceValidationPolicy(
    name="pvc-storage-class",
    description="PVCs use an allow-listed storage class (one that retains the volume).",
    enforcement_level=MANDATORY,
    config_schema=schema({"allowedStorageClasses": {"type": "array", "items": {"type": "string"},
                                                    "default": ["local-path-retain"]}}),
    validate=_storage_class,
)


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # The analyzer sees `protect` (options are never unknown); `retain_on_delete` never reaches it
    # (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go marshalResourceOptions).
    if args.resource_type == PVC and not args.opts.protect:
        report(f"{describe(args.resource_type, args.props)}: not protected: set the `protect` "
               "resource option so no plan can delete the agents' state", None)


pvc_protected = ResourceValidationPolicy(
    name="pvc-protected",
    description="PVCs carry the protect resource option.",
    enforcement_level=MANDATORY,
    validate=_protected,
)

POLICIES = [pvc_storage_class, pvc_protected]
