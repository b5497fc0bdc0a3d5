"""The takeover's steps in order (`before` the takeover `pulumi up`, the `up`, `after` it) and their
shell form, each mutating kubectl command after its server-side dry run (`python -m tools.takeover`)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.takeover_plan import (
    ADOPT,
    DELETE_AFTER,
    NEVER_DELETED,
    ORPHAN,
    RECREATE,
    VSO_OWNER_LABELS,
    Decision,
    Ref,
    ref_of,
)

ARGO_APP = Ref("Application", "openclaw", "argocd")
ARGO_RESOURCE = "applications.argoproj.io"
DRY_RUN = "--dry-run=server"

# (argv) -> (exit code, stdout, stderr); the real one runs kubectl, the tests pass a fake cluster.
Kubectl = Callable[[Sequence[str]], tuple[int, str, str]]


@dataclass(frozen=True)
class Step:
    phase: str                   # before | up | after
    what: str
    kind: str                    # run | transfer | verify | orphaned | owner | bound | manual
    argv: tuple[str, ...] = ()   # run: the kubectl arguments; manual: the shell line
    ref: Ref | None = None
    dry_run: bool = True         # run: `--dry-run=server` first
    allow_failure: bool = False  # run: a failure is expected when there is nothing to do
    expect: str = ""             # owner: the VaultStaticSecret that must own the Secret


def build_steps(stack: str, decisions: Sequence[Decision], inventory: Sequence[Mapping[str, Any]],
                vault: Mapping[str, str] | None = None) -> list[Step]:
    """Every step in order. The volume is never deleted; the pod's Secrets are never deleted.
    `vault`: the stack's `secrets.policy`, `secrets.authMount` and `secrets.role` (defaults otherwise)."""
    names = {"policy": "openclaw", "authMount": "kubernetes", "role": "openclaw", **(vault or {})}
    by_treatment = {t: [d.ref for d in decisions if d.treatment == t] for t in (ADOPT, RECREATE, ORPHAN,
                                                                                   DELETE_AFTER)}
    pvc = next(d.ref for d in decisions if d.ref.kind == "PersistentVolumeClaim")
    old = {ref_of(o): o for o in inventory}
    app = ["-n", "argocd"]
    steps = [
        Step("before", "the Vault policy and role of the same names, if any: the up refuses to overwrite them "
             "unless openclaw:secrets.adoptVaultObjects is true (set it only if they are this deployment's)",
             "manual", ("vault", "policy", "read", names["policy"])),
        Step("before", "(the role)", "manual", ("vault", "read", f"auth/{names['authMount']}/role/{names['role']}")),
        Step("before", f"the volume is bound and its PV keeps the data if the claim goes ({pvc})", "bound", ref=pvc),
        Step("before", "Argo CD stops syncing and pruning", "run",
             ("patch", ARGO_RESOURCE, ARGO_APP.name, *app, "--type", "merge", "-p", '{"spec":{"syncPolicy":null}}')),
        Step("before", "no finalizer: deleting the app must not delete what it deployed", "run",
             ("patch", ARGO_RESOURCE, ARGO_APP.name, *app, "--type", "json",
              "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'), allow_failure=True),
        Step("before", "the app goes, its objects stay (orphaned)", "run",
             ("delete", ARGO_RESOURCE, ARGO_APP.name, *app, "--cascade=orphan")),
    ]
    for ref in by_treatment[ORPHAN]:
        secret = Ref("Secret", str((old[ref].get("spec") or {}).get("destination", {}).get("name") or ref.name),
                     ref.namespace)
        steps += [
            Step("before", f"{ref} goes, its Secret stays (a cascading delete would garbage-collect it)", "run",
                 ("delete", *ref.args(), "--cascade=orphan")),
            Step("before", f"{secret} loses the operator's owner labels, so the new VaultStaticSecret's "
                 "overwrite may take it", "run", ("label", *secret.args(), *(f"{k}-" for k in VSO_OWNER_LABELS))),
            Step("before", f"{secret} still exists, owned by nothing", "orphaned", ref=secret),
        ]
    for ref in by_treatment[RECREATE]:
        assert ref.kind not in NEVER_DELETED, ref  # decide() never recreates them
        steps.append(Step("before", f"{ref} is deleted, the up creates it (immutable field differs)", "run",
                          ("delete", *ref.args())))
    # The volume and its namespace first: everything else may wait on them.
    adopted = sorted(by_treatment[ADOPT], key=lambda r: r.kind not in NEVER_DELETED)
    steps += [Step("before", f"{ref}: Argo CD's fields handed to the takeover's field manager", "transfer", ref=ref)
              for ref in adopted]
    config = f"policy/config.{stack}.json"
    steps += [Step("up", "adopt on for this one up", "manual",
                   ("pulumi", "config", "set", "--path", "openclaw:kubernetes.adoptExisting", "true")),
              Step("up", "preview with the policy pack", "manual",
                   ("pulumi", "preview", "--policy-pack", "policy", "--policy-pack-config", config)),
              Step("up", "the takeover up", "manual",
                   ("pulumi", "up", "--policy-pack", "policy", "--policy-pack-config", config))]
    steps.append(Step("after", f"the volume is still bound ({pvc})", "bound", ref=pvc))
    steps += [Step("after", f"{ref}: no old field manager, nothing the program does not declare", "verify", ref=ref)
              for ref in adopted]
    steps += [Step("after", f"{d.ref} is owned by VaultStaticSecret {d.owner}", "owner", ref=d.ref, expect=d.owner)
              for d in decisions if d.owner]
    steps += [Step("after", f"{ref} is no longer used", "run", ("delete", *ref.args()))
              for ref in by_treatment[DELETE_AFTER]]
    steps += [Step("after", "adopt off again", "manual",
                   ("pulumi", "config", "set", "--path", "openclaw:kubernetes.adoptExisting", "false")),
              Step("after", "provider update only", "manual",
                   ("pulumi", "up", "--policy-pack", "policy", "--policy-pack-config", config))]
    return steps


def _tmp(ref: Ref, suffix: str) -> str:
    return f"/tmp/takeover-{ref.kind.lower()}-{ref.name}.{suffix}"


def shell_line(argv: Sequence[str], tool: str = "kubectl") -> str:
    return shlex.join([tool, *argv] if tool else list(argv))


def format_steps(steps: Sequence[Step]) -> str:
    """The steps as a shell script, each mutating kubectl command after its server-side dry run."""
    out: list[str] = []
    phase = ""
    for step in steps:
        if step.phase != phase:
            phase = step.phase
            out.append(f"\n# ===== {phase} the takeover up =====" if phase != "up" else "\n# ===== the up =====")
        out.append(f"# {step.what}")
        ref = step.ref
        if step.kind == "run":
            suffix = " || true" if step.allow_failure else ""
            if step.dry_run:
                out.append(shell_line([*step.argv, DRY_RUN]) + suffix)
            out.append(shell_line(step.argv) + suffix)
        elif step.kind == "manual":
            out.append(shell_line(step.argv, ""))
        elif ref is not None and step.kind == "transfer":
            get = shell_line(["get", *ref.args(), "-o", "json", "--show-managed-fields"])
            out += [f"{get} > {_tmp(ref, 'json')}",
                    f"python -m tools.takeover --transfer-patch {_tmp(ref, 'json')} > {_tmp(ref, 'patch.json')}",
                    shell_line(["patch", *ref.args(), "--type=json", "--patch-file", _tmp(ref, "patch.json"), DRY_RUN]),
                    shell_line(["patch", *ref.args(), "--type=json", "--patch-file", _tmp(ref, "patch.json")])]
        elif ref is not None and step.kind == "bound":
            out.append(shell_line(["get", *ref.args(), "-o", "jsonpath={.status.phase}"]) + "   # Bound")
            pv = f"$({shell_line(['get', *ref.args(), '-o', 'jsonpath={.spec.volumeName}'])})"
            out.append(f"kubectl get persistentvolume \"{pv}\" -o jsonpath='{{.spec.persistentVolumeReclaimPolicy}}'"
                       "   # Retain")
        elif ref is not None:
            out.append(shell_line(["get", *ref.args(), "-o", "json", "--show-managed-fields"])
                       + {"verify": "   # no argocd-*/kubectl* manager; no label, container, volume, env "
                                    "the program lacks",
                          "orphaned": "   # no ownerReferences, no app.kubernetes.io/managed-by=hashicorp-vso",
                          "owner": f"   # ownerReferences: VaultStaticSecret {step.expect}"}[step.kind])
    return "\n".join(out).lstrip("\n") + "\n"


def format_plan(decisions: Sequence[Decision]) -> str:
    width = max(len(str(d.ref)) for d in decisions)
    return "\n".join(f"{d.ref!s:<{width}}  {d.treatment:<12}  {d.reason}" for d in decisions) + "\n"
