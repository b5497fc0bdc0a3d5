"""`python -m tools.takeover --stack dev`: the takeover from Argo CD as ordered kubectl steps.

Prints the plan (tools/takeover_plan.py: what happens to each object and why) and every step:
`before` the takeover `pulumi up` (Argo CD lets go, old VaultStaticSecrets are removed without their
Secrets, objects that must be recreated are deleted, Argo CD's field ownership is handed to the
takeover's field manager), the `up` itself, and `after` it (checks that no old field survived,
removal of the old objects). `--apply --phase before|after` runs that phase's kubectl steps: each
mutating command first with `--dry-run=server`, each result checked; the first failure stops it.
`--transfer-patch FILE` prints the field-ownership patch for one live object (`kubectl get -o json
--show-managed-fields`; `-` for stdin). Never deletes the PVC or the namespace.

The steps: tools/takeover_steps.py; running a phase against the cluster: tools/takeover_apply.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.harness import HarnessError, run_stack, stack_config
from engine.vault_fixture import kv_v2_invokes, load_kv_fixture
from tools.takeover_apply import StepFailedError, execute, real_kubectl
from tools.takeover_plan import INVENTORY, PlanError, Ref, decide, load_inventory, ref_of, transfer_patch
from tools.takeover_steps import Step, build_steps, format_plan, format_steps

__all__ = ["Ref", "Step", "StepFailedError", "build_steps", "execute", "format_plan", "format_steps", "main",
           "real_kubectl", "rendered_objects"]


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
