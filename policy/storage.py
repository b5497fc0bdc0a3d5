"""Storage: PVCs on an allowed class and protected from deletion."""

from __future__ import annotations

from k8s import MANDATORY, PVC, name_of, plain, schema
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


def _storage_class(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != PVC:
        return
    allowed = args.get_config()["allowedStorageClasses"]
    props = plain(args.props)
    cls = (props.get("spec") or {}).get("storageClassName")
    if cls not in allowed:
        report(f"PersistentVolumeClaim {name_of(props)}: storageClassName {cls!r} is not one of {allowed}: "
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
    # The analyzer sees `protect`; `retain_on_delete` never reaches it.
    if args.resource_type == PVC and not args.opts.protect:
        report(f"PersistentVolumeClaim {name_of(plain(args.props))}: not protected: set the `protect` "
               "resource option so no plan can delete the agents' state", None)


pvc_protected = ResourceValidationPolicy(
    name="pvc-protected",
    description="PVCs carry the protect resource option.",
    enforcement_level=MANDATORY,
    validate=_protected,
)

POLICIES = [pvc_storage_class, pvc_protected]
