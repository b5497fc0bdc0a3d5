"""The checkov findings the gateway Deployment keeps on purpose, as `checkov.io/skip<N>`
annotations on the object itself (checkov reads them from `metadata.annotations`, value
`<check id>=<reason>`: checkov/kubernetes/kubernetes_utils.py, get_skipped_checks). Each
reason is also in docs/checkov-exceptions.md; tests/test_static_checks.py runs checkov on every
stack's render and fails on any other finding.

The annotations sit on the Deployment's own metadata, not the pod template: changing a reason
never restarts the pod. A reason holds no `=` (checkov splits the value on it).
"""

from __future__ import annotations

# check id -> why the Deployment keeps it failing
ALWAYS = {
    "CKV_K8S_11": "no CPU limit on purpose: CFS throttling would stretch the 37 s Node start past "
                  "the startup probe; the CPU request reserves the share and memory is limited",
    "CKV_K8S_35": "OpenClaw 2026.2.23 resolves the config's ${VAR} placeholders from the environment "
                  "only; the values come from secretKeyRef, never from the manifest",
    "CKV_K8S_38": "the agents read the cluster through the read-only ClusterRole openclaw-readonly, "
                  "which needs the ServiceAccount token",
    "CKV_K8S_40": "the image runs as user node (uid 1000) and the state volume's files belong to it; "
                  "another uid would lose access to them",
}
# Only while the stack pins no digest (dev follows the release tag; prod sets image.digest,
# which passes both checks). The policy pack's image-digest-pinned reports the same, as advisory.
WITHOUT_DIGEST = {
    "CKV_K8S_43": "dev follows the immutable release tag; prod pins the image by digest",
    "CKV_K8S_15": "IfNotPresent with an immutable release tag or a digest; Always would tie every "
                  "restart to the registry being reachable",
}


def checkov_skips(pinned_by_digest: bool) -> dict[str, str]:
    """The `checkov.io/skip<N>` annotations for the gateway Deployment."""
    kept = ALWAYS | ({} if pinned_by_digest else WITHOUT_DIGEST)
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(kept.items()), 1)}
