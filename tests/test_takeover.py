"""The takeover from Argo CD: the plan per object, the ordered kubectl steps, and what server-side
apply leaves behind with and without the field-ownership transfer (tests/support/ssa.py models it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from engine.harness import run_stack
from engine.vault_fixture import kv_v2_invokes
from tests.takeover_fixtures import INVENTORY, NS, new_object, old_object, takeover_render
from tests.vault_fixtures import DIRECT, FAKE_VAULT
from tools import takeover
from tools.takeover_plan import (
    ADOPT,
    CREATE,
    DELETE_AFTER,
    KEEP,
    ORPHAN,
    RECREATE,
    Decision,
    PlanError,
    Ref,
    decide,
)


@pytest.fixture
def rendered() -> list[dict[str, Any]]:
    return takeover_render()


def _by_ref(decisions: Sequence[Decision]) -> dict[tuple[str, str], str]:
    return {(d.ref.kind, d.ref.name): d.treatment for d in decisions}


def _replace(kind: str, name: str, obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [obj if (o["kind"], o["metadata"]["name"]) == (kind, name) else o for o in INVENTORY]


# --- the plan ------------------------------------------------------------------------------------

def test_plan_of_the_dev_stack(rendered: list[dict[str, Any]]) -> None:
    plan = _by_ref(decide(rendered, INVENTORY))
    for adopted in [("Namespace", NS), ("PersistentVolumeClaim", "openclaw-data"), ("Deployment", NS),
                    ("Service", NS), ("ServiceAccount", NS), ("ClusterRole", "openclaw-readonly"),
                    ("ClusterRoleBinding", "openclaw-readonly-binding"), ("NetworkPolicy", "openclaw-default-deny"),
                    ("VaultStaticSecret", "openclaw-secrets"), ("VaultStaticSecret", "openclaw-token-secrets")]:
        assert plan.pop(adopted) == ADOPT, adopted
    for stale in [("NetworkPolicy", "openclaw-egress"), ("NetworkPolicy", "openclaw-ingress"),
                  ("ConfigMap", "openclaw-config"), ("ConfigMap", "openclaw-workspace")]:
        assert plan.pop(stale) == DELETE_AFTER, stale
    for kept in [("Secret", "openclaw-secrets"), ("Secret", "openclaw-token-secrets"), ("VaultAuth", "vault-auth")]:
        assert plan.pop(kept) == KEEP, kept
    # The rest is new: content-addressed ConfigMaps, the allow policies, the namespace's own VaultAuth,
    # and the pre-upgrade snapshot Job (dev's releaseLock 2026.2.23, the tag 2026.9.6).
    assert set(plan.values()) == {CREATE}
    assert {k for k, _ in plan} == {"ConfigMap", "NetworkPolicy", "VaultAuth", "Job"}
    assert ("Job", "openclaw-pre-upgrade-2026-2-23") in plan
    assert ("VaultAuth", NS) in plan and ("NetworkPolicy", "openclaw-allow-dns") in plan


def test_the_secrets_are_kept_for_the_static_secrets_that_write_them(rendered: list[dict[str, Any]]) -> None:
    owners = {d.ref.name: d.owner for d in decide(rendered, INVENTORY) if d.ref.kind == "Secret"}
    assert owners == {"openclaw-secrets": "openclaw-secrets", "openclaw-token-secrets": "openclaw-token-secrets"}


def test_a_changed_selector_recreates_the_deployment(rendered: list[dict[str, Any]]) -> None:
    old = old_object("Deployment", NS)
    old["spec"]["selector"] = {"matchLabels": {"app": "openclaw", "app.kubernetes.io/instance": "openclaw"}}
    decisions = decide(rendered, _replace("Deployment", NS, old))
    assert _by_ref(decisions)[("Deployment", NS)] == RECREATE
    steps = takeover.build_steps("dev", decisions, INVENTORY)
    (delete,) = [s for s in steps if s.argv[:1] == ("delete",) and "deployment.apps" in s.argv]
    assert (delete.phase, delete.argv, delete.dry_run) == ("before", ("delete", "deployment.apps", NS, "-n", NS), True)
    assert not any(s.kind == "transfer" and s.ref == Ref("Deployment", NS, NS) for s in steps)
    assert steps.index(delete) < min(i for i, s in enumerate(steps) if s.kind == "transfer")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("storageClassName", "local-path", "spec.storageClassName: the program has 'local-path-retain', the live "
                                       "PVC 'local-path'"),
    ("accessModes", ["ReadWriteMany"], "spec.accessModes"),
    ("resources", {"requests": {"storage": "1Gi"}}, "500Mi is smaller than the live 1Gi"),
])
def test_a_pvc_that_cannot_be_adopted_stops_the_plan(rendered: list[dict[str, Any]], field: str, value: Any,
                                                      words: str) -> None:
    old = old_object("PersistentVolumeClaim", "openclaw-data")
    old["spec"][field] = value
    with pytest.raises(PlanError) as info:
        decide(rendered, _replace("PersistentVolumeClaim", "openclaw-data", old))
    assert str(info.value).startswith("PersistentVolumeClaim openclaw/openclaw-data cannot be adopted")
    assert words in str(info.value) and "Migrate the data first" in str(info.value)


def test_an_old_static_secret_under_another_name_is_orphaned_before_the_up(rendered: list[dict[str, Any]]) -> None:
    old = old_object("VaultStaticSecret", "openclaw-secrets")
    old["metadata"]["name"] = "openclaw-vault"
    inventory = _replace("VaultStaticSecret", "openclaw-secrets", old)
    decisions = decide(rendered, inventory)
    plan = _by_ref(decisions)
    assert plan[("VaultStaticSecret", "openclaw-vault")] == ORPHAN
    assert plan[("VaultStaticSecret", "openclaw-secrets")] == CREATE
    assert plan[("Secret", "openclaw-secrets")] == KEEP
    steps = takeover.build_steps("dev", decisions, inventory)
    up = next(i for i, s in enumerate(steps) if s.phase == "up")
    delete = next(i for i, s in enumerate(steps) if s.argv[:2] == ("delete", "vaultstaticsecret.secrets.hashicorp.com"))
    assert steps[delete].argv == ("delete", "vaultstaticsecret.secrets.hashicorp.com", "openclaw-vault", "-n", NS,
                                  "--cascade=orphan")
    assert steps[delete + 1].argv == ("label", "secret", "openclaw-secrets", "-n", NS,
                                      "app.kubernetes.io/managed-by-", "app.kubernetes.io/name-",
                                      "app.kubernetes.io/component-", "secrets.hashicorp.com/vso-ownerRefUID-")
    assert (steps[delete + 2].kind, steps[delete + 2].ref) == ("orphaned", Ref("Secret", "openclaw-secrets", NS))
    assert delete < up
    # The program's VSS may then overwrite it: only while adopting.
    assert new_object(rendered, "VaultStaticSecret", "openclaw-secrets")["spec"]["destination"]["overwrite"] is True


def test_direct_mode_adopts_the_secrets_after_orphaning_the_static_secrets() -> None:
    run = run_stack("dev", overrides={**DIRECT, "openclaw:kubernetes": {
        **DIRECT["openclaw:kubernetes"], "adoptExisting": True}}, invokes=kv_v2_invokes(FAKE_VAULT))
    decisions = decide([r.properties for r in run.kubernetes()], INVENTORY)
    plan = _by_ref(decisions)
    assert plan[("Secret", "openclaw-secrets")] == plan[("Secret", "openclaw-token-secrets")] == ADOPT
    assert plan[("VaultStaticSecret", "openclaw-secrets")] == ORPHAN
    steps = takeover.build_steps("dev", decisions, INVENTORY)
    orphaned = [i for i, s in enumerate(steps) if s.argv[-1:] == ("--cascade=orphan",) and "vaultstaticsecret" in
                s.argv[1]]
    transfers = [i for i, s in enumerate(steps) if s.kind == "transfer" and s.ref and s.ref.kind == "Secret"]
    assert len(orphaned) == len(transfers) == 2 and max(orphaned) < min(transfers)


def _all_steps(rendered: list[dict[str, Any]]) -> list[takeover.Step]:
    old = old_object("Deployment", NS)
    old["spec"]["selector"] = {"matchLabels": {"tier": "x"}}
    vss = old_object("VaultStaticSecret", "openclaw-token-secrets")
    vss["metadata"]["name"] = "tokens"
    inventory = [o for o in _replace("Deployment", NS, old) if o["metadata"]["name"] != "openclaw-token-secrets"
                 or o["kind"] != "VaultStaticSecret"] + [vss]
    steps = []
    for inv in (INVENTORY, inventory):
        steps += takeover.build_steps("dev", decide(rendered, inv), inv)
    return steps


def test_the_volume_the_namespace_and_the_secrets_are_never_deleted(rendered: list[dict[str, Any]]) -> None:
    steps = _all_steps(rendered)
    deletes = [s.argv for s in steps if s.argv[:1] == ("delete",)]
    assert any("deployment.apps" in d for d in deletes)  # the variant really recreates something
    for argv in deletes:
        assert argv[1] not in ("persistentvolumeclaim", "namespace", "secret", "persistentvolume"), argv
        if argv[1].startswith("vaultstaticsecret"):
            assert "--cascade=orphan" in argv


def test_step_order(rendered: list[dict[str, Any]]) -> None:
    steps = takeover.build_steps("dev", decide(rendered, INVENTORY), INVENTORY,
                                 {"policy": "oc-ro", "authMount": "k3s", "role": "oc"})
    phases = [s.phase for s in steps]
    assert phases == sorted(phases, key=["before", "up", "after"].index)
    # First look at the Vault objects the up would refuse to overwrite, then at the volume.
    assert [s.argv for s in steps[:2]] == [("vault", "policy", "read", "oc-ro"), ("vault", "read", "auth/k3s/role/oc")]
    steps = steps[2:]
    assert steps[0].kind == "bound"
    argo = [s.argv[:2] for s in steps[1:4]]
    assert argo == [("patch", "applications.argoproj.io")] * 2 + [("delete", "applications.argoproj.io")]
    assert steps[3].argv[-1] == "--cascade=orphan"
    transfers = [s.ref for s in steps if s.kind == "transfer"]
    assert transfers[:2] == [Ref("Namespace", NS), Ref("PersistentVolumeClaim", "openclaw-data", NS)]
    up = [" ".join(s.argv) for s in steps if s.phase == "up"]
    assert up[0] == "pulumi config set --path openclaw:kubernetes.adoptExisting true" and up[2].startswith("pulumi up")
    after = [s for s in steps if s.phase == "after"]
    last_check = max(i for i, s in enumerate(after) if s.kind in ("verify", "owner", "bound"))
    first_delete = min(i for i, s in enumerate(after) if s.argv[:1] == ("delete",))
    assert last_check < first_delete  # old objects go only once the new ones are verified


def test_every_mutating_command_is_printed_after_its_server_dry_run(rendered: list[dict[str, Any]]) -> None:
    text = "\n".join(takeover.format_steps(takeover.build_steps("dev", decide(rendered, inv), inv))
                     for inv in (INVENTORY,))
    lines = [line.removesuffix(" || true") for line in text.splitlines() if line.startswith("kubectl ")]
    mutating = [i for i, line in enumerate(lines) if line.split()[1] in ("patch", "delete", "label")
                and "--dry-run=server" not in line]
    assert len(mutating) > 10
    for i in mutating:
        assert lines[i - 1] == lines[i] + " --dry-run=server", lines[i]
    assert ("kubectl get deployment.apps openclaw -n openclaw -o json --show-managed-fields > "
            "/tmp/takeover-deployment-openclaw.json") in text
    assert "python -m tools.takeover --transfer-patch /tmp/takeover-deployment-openclaw.json" in text
