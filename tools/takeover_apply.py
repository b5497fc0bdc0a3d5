"""`python -m tools.takeover --apply --phase before|after`: one phase's kubectl steps run against the
cluster, each mutating command first with `--dry-run=server`, each check retried while the garbage
collector and the operator catch up; the first failure stops the phase."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tools.takeover_plan import VSO_OWNER_LABELS, Ref, old_owners, stale_fields, transfer_patch
from tools.takeover_steps import DRY_RUN, Kubectl, Step, shell_line


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
        raise StepFailedError(f"`{shell_line(argv)}` failed: {err.strip()}")


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
        log("first, by hand:\n" + "\n".join(shell_line(s.argv, "") for s in first))
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
        log("next, by hand:\n" + "\n".join(shell_line(s.argv, "") for s in manual))
    return 0
