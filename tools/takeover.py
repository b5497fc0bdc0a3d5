"""`python -m tools.takeover --stack dev`: the takeover from Argo CD as ordered kubectl steps.

Prints the plan (tools/takeover_plan.py: what happens to each object and why) and every step:
`before` the takeover `pulumi up` (Argo CD lets go, old VaultStaticSecrets are removed without their
Secrets, objects that must be recreated are deleted, Argo CD's field ownership is handed to the
takeover's field manager), the `up` itself, and `after` it (checks that no old field survived,
removal of the old objects). `--apply --phase before|after` runs that phase's kubectl steps: each
mutating command first with `--dry-run=server`, each result checked; the first failure stops it.
`--transfer-patch FILE` prints the field-ownership patch for one live object (`kubectl get -o json
--show-managed-fields`; `-` for stdin). Never deletes the PVC or the namespace.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.harness import HarnessError, run_stack, stack_config
from engine.vault_fixture import kv_v2_invokes, load_kv_fixture
from tools.takeover_plan import (
    ADOPT,
    DELETE_AFTER,
    INVENTORY,
    NEVER_DELETED,
    ORPHAN,
    RECREATE,
    VSO_OWNER_LABELS,
    Decision,
    PlanError,
    Ref,
    decide,
    load_inventory,
    old_owners,
    ref_of,
    stale_fields,
    transfer_patch,
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


def _line(argv: Sequence[str], tool: str = "kubectl") -> str:
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
                out.append(_line([*step.argv, DRY_RUN]) + suffix)
            out.append(_line(step.argv) + suffix)
        elif step.kind == "manual":
            out.append(_line(step.argv, ""))
        elif ref is not None and step.kind == "transfer":
            get = _line(["get", *ref.args(), "-o", "json", "--show-managed-fields"])
            out += [f"{get} > {_tmp(ref, 'json')}",
                    f"python -m tools.takeover --transfer-patch {_tmp(ref, 'json')} > {_tmp(ref, 'patch.json')}",
                    _line(["patch", *ref.args(), "--type=json", "--patch-file", _tmp(ref, "patch.json"), DRY_RUN]),
                    _line(["patch", *ref.args(), "--type=json", "--patch-file", _tmp(ref, "patch.json")])]
        elif ref is not None and step.kind == "bound":
            out.append(_line(["get", *ref.args(), "-o", "jsonpath={.status.phase}"]) + "   # Bound")
            pv = f"$({_line(['get', *ref.args(), '-o', 'jsonpath={.spec.volumeName}'])})"
            out.append(f"kubectl get persistentvolume \"{pv}\" -o jsonpath='{{.spec.persistentVolumeReclaimPolicy}}'"
                       "   # Retain")
        elif ref is not None:
            out.append(_line(["get", *ref.args(), "-o", "json", "--show-managed-fields"])
                       + {"verify": "   # no argocd-*/kubectl* manager; no label, container, volume, env "
                                    "the program lacks",
                          "orphaned": "   # no ownerReferences, no app.kubernetes.io/managed-by=hashicorp-vso",
                          "owner": f"   # ownerReferences: VaultStaticSecret {step.expect}"}[step.kind])
    return "\n".join(out).lstrip("\n") + "\n"


def format_plan(decisions: Sequence[Decision]) -> str:
    width = max(len(str(d.ref)) for d in decisions)
    return "\n".join(f"{d.ref!s:<{width}}  {d.treatment:<12}  {d.reason}" for d in decisions) + "\n"


# --- running a phase -----------------------------------------------------------------------------

def real_kubectl(argv: Sequence[str]) -> tuple[int, str, str]:
    done = subprocess.run(["kubectl", *argv], capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


class StepFailedError(Exception):
    pass


def _get(kubectl: Kubectl, ref: Ref) -> dict[str, Any]:
    code, out, err = kubectl(["get", *ref.args(), "-o", "json", "--show-managed-fields"])
    if code != 0:
        raise StepFailedError(f"cannot read {ref}: {err.strip()}")
    return dict(json.loads(out))


def _run(kubectl: Kubectl, argv: Sequence[str], allow_failure: bool = False) -> None:
    code, _, err = kubectl(argv)
    if code != 0 and not allow_failure:
        raise StepFailedError(f"`{_line(argv)}` failed: {err.strip()}")


def _check(step: Step, kubectl: Kubectl, rendered: Mapping[Ref, Mapping[str, Any]]) -> None:
    assert step.ref is not None
    live = _get(kubectl, step.ref)
    meta = live.get("metadata") or {}
    if step.kind == "bound":
        if (live.get("status") or {}).get("phase") != "Bound":
            raise StepFailedError(f"{step.ref} is not Bound")
        pv = _get(kubectl, Ref("PersistentVolume", str((live.get("spec") or {}).get("volumeName"))))
        if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") != "Retain":
            raise StepFailedError(f"the PV of {step.ref} is not Retain: `kubectl patch pv ... -p "
                             "'{\"spec\":{\"persistentVolumeReclaimPolicy\":\"Retain\"}}'` first")
    elif step.kind == "orphaned":
        owners, labels = meta.get("ownerReferences") or [], meta.get("labels") or {}
        if owners or any(k in labels for k in VSO_OWNER_LABELS):
            raise StepFailedError(f"{step.ref} still has owner references {owners} or owner labels")
    elif step.kind == "verify":
        problems = [f"old field manager {m}" for m in old_owners(live)]
        problems += stale_fields(live, rendered.get(step.ref, {}))
        if problems:
            raise StepFailedError(f"{step.ref} keeps what the program does not declare: {'; '.join(problems)}")
    elif step.kind == "owner":
        refs = [(o.get("kind"), o.get("name")) for o in meta.get("ownerReferences") or []]
        if refs != [("VaultStaticSecret", step.expect)]:
            raise StepFailedError(f"{step.ref} is owned by {refs}, expected VaultStaticSecret {step.expect}")


def execute(steps: Sequence[Step], phase: str, kubectl: Kubectl, rendered: Mapping[Ref, Mapping[str, Any]],
            log: Callable[[str], None] = print, attempts: int = 5, wait: float = 2.0) -> int:
    """Run one phase's kubectl steps; 0 when every step and check passed, 1 at the first failure."""
    first = [s for s in steps if s.phase == phase and s.kind == "manual" and s.argv[0] != "pulumi"]
    if first:
        log("first, by hand:\n" + "\n".join(_line(s.argv, "") for s in first))
    for step in [s for s in steps if s.phase == phase and s.kind != "manual"]:
        log(f"==> {step.what}")
        try:
            if step.kind == "run":
                if step.dry_run:
                    _run(kubectl, [*step.argv, DRY_RUN], step.allow_failure)
                _run(kubectl, step.argv, step.allow_failure)
            elif step.kind == "transfer":
                assert step.ref is not None
                patch = transfer_patch(_get(kubectl, step.ref))
                if not patch:
                    log("    nothing to hand over")
                    continue
                text = json.dumps(patch)
                _run(kubectl, ["patch", *step.ref.args(), "--type=json", "-p", text, DRY_RUN])
                _run(kubectl, ["patch", *step.ref.args(), "--type=json", "-p", text])
                if left := old_owners(_get(kubectl, step.ref)):
                    raise StepFailedError(f"{step.ref} still lists {left} after the transfer")
            else:  # a check; the garbage collector and the operator act asynchronously: retry
                for attempt in range(attempts):
                    try:
                        _check(step, kubectl, rendered)
                        break
                    except StepFailedError:
                        if attempt == attempts - 1:
                            raise
                        time.sleep(wait)
        except StepFailedError as exc:
            log(f"FAILED: {exc}")
            return 1
    manual = [s for s in steps if s.phase == ("up" if phase == "before" else "after") and s.kind == "manual"
              and s.argv[0] == "pulumi"]
    if manual:
        log("next, by hand:\n" + "\n".join(_line(s.argv, "") for s in manual))
    return 0


# --- command line --------------------------------------------------------------------------------

def rendered_objects(stack: str, vault_fixture: Path | None) -> list[dict[str, Any]]:
    """The Kubernetes objects the takeover `up` applies: the stack run with adoptExisting on."""
    config, _ = stack_config(stack)
    kube = json.loads(config.get("openclaw:kubernetes", "{}"))
    invokes = kv_v2_invokes(load_kv_fixture(vault_fixture)) if vault_fixture else None
    run = run_stack(stack, overrides={"openclaw:kubernetes": {**kube, "adoptExisting": True}}, invokes=invokes)
    return [r.properties for r in run.kubernetes()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.takeover", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--inventory", type=Path, default=INVENTORY,
                        help="the live objects (kubectl get -o yaml); default: the known Argo CD objects")
    parser.add_argument("--vault-fixture", type=Path, help="KV data for a stack in direct mode (fake values)")
    parser.add_argument("--apply", action="store_true", help="run the kubectl steps of --phase")
    parser.add_argument("--phase", choices=["before", "after"], default="before")
    parser.add_argument("--transfer-patch", metavar="FILE", help="print the ownership patch of one live object")
    args = parser.parse_args(argv)
    if args.transfer_patch:
        text = sys.stdin.read() if args.transfer_patch == "-" else Path(args.transfer_patch).read_text(encoding="utf-8")
        print(json.dumps(transfer_patch(json.loads(text))))
        return 0
    try:
        rendered = rendered_objects(args.stack, args.vault_fixture)
        inventory = load_inventory(args.inventory)
        decisions = decide(rendered, inventory)
    except (HarnessError, PlanError) as exc:
        hint = (" (a stack in direct mode reads Vault: pass --vault-fixture FILE)"
                if "getSecretV2" in str(exc) else "")
        print(f"takeover: {exc}{hint}", file=sys.stderr)
        return 2
    config, _ = stack_config(args.stack)
    steps = build_steps(args.stack, decisions, inventory, json.loads(config.get("openclaw:secrets", "{}")))
    print(format_plan(decisions))
    if not args.apply:
        print(format_steps(steps), end="")
        return 0
    return execute(steps, args.phase, real_kubectl, {ref_of(o): o for o in rendered})


if __name__ == "__main__":
    sys.exit(main())
