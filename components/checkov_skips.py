"""The checkov findings kept on purpose, per object, as `checkov.io/skip<N>` annotations on the
object itself (checkov reads them from `metadata.annotations`, value `<check id>=<reason>`:
checkov/kubernetes/kubernetes_utils.py, get_skipped_checks). Each reason is also in
docs/checkov-exceptions.md; tests/test_static_checks.py runs checkov on every stack's render and
fails on any other finding.

The annotations sit on the workload's own metadata, not the pod template: changing a reason
never restarts the pod. A reason holds no `=` (checkov splits the value on it).
"""

from __future__ import annotations

from collections.abc import Mapping

# The gateway Deployment: check id -> why it keeps failing.
GATEWAY = {
    "CKV_K8S_11": "no CPU limit on purpose: CFS throttling would stretch the 37 s Node start past "
                  "the startup probe; the CPU request reserves the share and memory is limited",
    "CKV_K8S_35": "OpenClaw 2026.2.23 resolves the config's ${VAR} placeholders from the environment "
                  "only; the values come from secretKeyRef, never from the manifest",
    "CKV_K8S_38": "the agents read the cluster through the read-only ClusterRole openclaw-readonly, "
                  "which needs the ServiceAccount token",
    "CKV_K8S_40": "the image runs as user node (uid 1000) and the state volume's files belong to it; "
                  "another uid would lose access to them",
}
# The backup CronJob (its CPU limit and unmounted token pass).
BACKUP = {
    "CKV_K8S_35": "restic reads the repository password and the S3 keys from its environment; the "
                  "values come from secretKeyRef, never from the manifest",
    "CKV_K8S_40": "the backup reads the agents' files, which belong to uid 1000 (the gateway image's "
                  "user node), with no capability that would bypass file modes",
}
# Only while the stack pins no digest for that image (image.digest / backup.image.digest set: both
# checks pass). The policy pack's image-digest-pinned reports the same, as advisory.
WITHOUT_DIGEST = {
    "CKV_K8S_43": "the image follows an immutable release tag until the stack pins its digest",
    "CKV_K8S_15": "IfNotPresent with an immutable release tag or a digest; Always would tie every "
                  "restart to the registry being reachable",
}


def checkov_skips(kept: Mapping[str, str], pinned_by_digest: bool) -> dict[str, str]:
    """The `checkov.io/skip<N>` annotations for a workload that keeps `kept` (GATEWAY, BACKUP)."""
    reasons = dict(kept) | ({} if pinned_by_digest else WITHOUT_DIGEST)
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(reasons.items()), 1)}
