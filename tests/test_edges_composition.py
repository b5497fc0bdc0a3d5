"""The composition (components/openclaw.py) at its edges: what an operator reads after `pulumi up`
(the verification commands, each stack's own), the snapshot method refused before anything is
registered, and the wiring of each component to the stack config."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

import agents
from components.cluster_reads import READER
from components.config import ConfigError
from components.openclaw import OpenClaw, OpenClawArgs, load_inputs
from components.releases import RELEASES
from engine.harness import REPO, RunResult, run_program, run_stack, stack_config
from tests.support.component_outputs import recording_outputs
from tests.vault_fixtures import FAKE_VAULT, run_direct

DEV_COMMANDS = [
    "kubectl get deploy,pods,svc,pvc,configmap,networkpolicy -n openclaw",
    "kubectl get clusterrole,clusterrolebinding | grep openclaw",
    "kubectl logs -n openclaw deploy/openclaw -c seed",
    "kubectl logs -n openclaw deploy/openclaw -c preflight  # one line per dependency",
    "kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes"
    "  # = openclaw:network.apiServerEndpoints",
    "kubectl logs -n openclaw deploy/openclaw",
    "kubectl describe pod -n openclaw -l app=openclaw",
]


def _dev_config(key: str) -> dict[str, object]:
    value: dict[str, object] = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"][key]
    return value


def test_dev_verification_commands_are_the_design_pages_checks_then_its_snapshot(dev: RunResult) -> None:
    # dev's volume was last written by 2026.2.23 (releaseLock): the snapshot Job of that release runs first
    assert dev.outputs["verificationCommands"].value == [
        *DEV_COMMANDS, "kubectl logs -n openclaw job/openclaw-pre-upgrade-2026-2-23 --all-containers"]


def test_no_snapshot_due_no_snapshot_command() -> None:
    kubernetes = {**_dev_config("openclaw:kubernetes"), "releaseLock": "2026.9.6"}
    run = run_stack("dev", overrides={"openclaw:kubernetes": kubernetes})
    assert run.outputs["verificationCommands"].value == DEV_COMMANDS


def test_prod_adds_the_backup_and_drill_checks_after_them(prod: RunResult) -> None:
    assert prod.outputs["verificationCommands"].value == [
        *DEV_COMMANDS,
        "kubectl get cronjob,jobs -n openclaw -l app=openclaw-backup",
        "kubectl logs -n openclaw -l app=openclaw-backup --tail=3",
        "kubectl logs -n openclaw -l app=openclaw-backup-drill -c verify --tail=1",
    ]


def test_the_commands_name_the_stacks_namespace() -> None:
    kubernetes = {**_dev_config("openclaw:kubernetes"), "namespaceLock": "claw-two"}
    run = run_stack("dev", overrides={"openclaw:namespace": "claw-two", "openclaw:kubernetes": kubernetes})
    commands = run.outputs["verificationCommands"].value
    assert commands[0] == "kubectl get deploy,pods,svc,pvc,configmap,networkpolicy -n claw-two"
    assert commands[-2:] == ["kubectl describe pod -n claw-two -l app=openclaw",
                             "kubectl logs -n claw-two job/openclaw-pre-upgrade-2026-2-23 --all-containers"]
    assert not any("-n openclaw " in c for c in commands)


def _node(monkeypatch: pytest.MonkeyPatch, tag: str, node: str) -> None:
    monkeypatch.setitem(RELEASES, tag, dataclasses.replace(RELEASES[tag], node=node))


def test_a_release_whose_node_cannot_copy_sqlite_online_stops_a_stack_with_backups(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # node:sqlite's backup() arrived in Node 22.16.0 (components/snapshot.py): one patch older is refused
    _node(monkeypatch, "2026.2.23", "22.15.1")
    with pytest.raises(ConfigError) as info:
        run_stack("prod")
    assert str(info.value) == (
        "openclaw:backup: OpenClaw 2026.2.23 runs Node 22.15.1, whose node:sqlite has no backup(): its "
        "databases cannot be copied while the gateway runs (docs/backup-runbook.md)")


def test_the_first_node_with_online_backup_renders_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    _node(monkeypatch, "2026.2.23", "22.16.0")
    assert run_stack("prod").find("CronJob", "openclaw-backup") is not None


def test_a_stack_without_backups_does_not_ask_for_the_snapshot_method(monkeypatch: pytest.MonkeyPatch) -> None:
    _node(monkeypatch, "2026.9.6", "22.15.1")
    run = run_stack("dev")
    assert not [r for r in run.kubernetes() if r.properties["kind"] == "CronJob"]


FAKE_BACKUP = {"RESTIC_REPOSITORY": "s3:https://s3.lumie.example/openclaw-backup/dev",
               "RESTIC_PASSWORD": "fake-not-a-secret-0210", "AWS_ACCESS_KEY_ID": "fake-not-a-secret-0211",
               "AWS_SECRET_ACCESS_KEY": "fake-not-a-secret-0212"}
BACKUP_ON = {"openclaw:backup": {"enabled": True, "endpoint": "https://s3.lumie.example"}}


def _outputs(run: Callable[[], RunResult]) -> dict[str, Any]:
    with recording_outputs() as outputs:
        result = run()
    (component,) = [r.urn for r in result.resources if r.type == "openclaw:index:OpenClaw"]
    return outputs[component]


def test_the_component_registers_the_namespace_service_and_claim() -> None:
    assert _outputs(lambda: run_stack("dev")) == {
        "namespace": "openclaw", "service_address": "openclaw.openclaw.svc.cluster.local:18789",
        "claim_name": "openclaw-data"}


def test_direct_mode_with_backups_registers_the_repository_check() -> None:
    # awaited as an output, so a repository that egress does not reach fails the run (tests/test_backup_render.py)
    outputs = _outputs(lambda: run_direct(BACKUP_ON, {**FAKE_VAULT, "applications/openclaw-backup": FAKE_BACKUP}))
    # derived from the Vault value, so a secret (the SDK's secret wrapper, pulumi/runtime/rpc.py)
    assert outputs["backup_repository_checked"] == {rpc._special_sig_key: rpc._special_secret_sig, "value": True}
    assert not any(v in json.dumps(outputs) for v in FAKE_BACKUP.values() if v.startswith("fake"))


def test_operator_mode_with_backups_has_no_repository_check() -> None:
    assert "backup_repository_checked" not in _outputs(lambda: run_stack("prod"))


def test_options_given_to_the_component_reach_it_and_its_children() -> None:
    """A program that nests the deployment in its own component (or protects it) passes options
    through: the OpenClaw component's parent is that component, every resource below it."""
    def program() -> None:
        config, catalog = load_inputs()
        outer = pulumi.ComponentResource("test:index:Platform", "platform")
        OpenClaw("openclaw", OpenClawArgs(config=config, catalog=catalog),
                 pulumi.ResourceOptions(parent=outer, protect=True))

    config, secret_keys = stack_config("dev", None, REPO)
    run = run_program(program, stack="dev", config=config, secret_keys=secret_keys)
    (outer,) = [r for r in run.resources if r.type == "test:index:Platform"]
    (component,) = [r for r in run.resources if r.type == "openclaw:index:OpenClaw"]
    assert component.parent == outer.urn
    assert component.options.protect is True
    by_urn = {r.urn: r for r in run.resources}
    for resource in run.kubernetes():   # every object lies below the component, so below `platform`
        chain, at = [], resource.parent
        while at in by_urn:   # up to the stack, which the harness does not record
            chain.append(at)
            at = by_urn[at].parent
        assert chain[-2:] == [component.urn, outer.urn], resource.urn


def test_without_the_harness_the_live_cluster_is_read_with_the_stacks_context(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi up` has no harness reader: the program asks kubectl, with the context the provider uses
    (openclaw:kubernetes.context, "default" in dev); a cluster that does not answer is a warning
    (components/cluster_reads.py), and the objects are still declared."""
    log = tmp_path / "argv"
    kubectl = tmp_path / "bin" / "kubectl"
    kubectl.parent.mkdir()
    kubectl.write_text(f'#!/bin/sh\necho "$1 $2 $3 $4" >> {log}\necho "connection refused (fake)" >&2\nexit 1\n')
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{kubectl.parent}:{os.environ['PATH']}")

    def program() -> None:
        READER.set(None)
        runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")

    config, secret_keys = stack_config("dev", None, REPO)
    run = run_program(program, stack="dev", config=config, secret_keys=secret_keys)
    assert run.find("Deployment", "openclaw") is not None
    calls = log.read_text().splitlines()
    assert calls == ["--context default get persistentvolumeclaim",   # the volume's size, then who owns what
                     "--context default get clusterrole.v1.rbac.authorization.k8s.io"]


# --- the wiring: each value of the stack config reaches the objects that use it -------------------

PUBLIC_V4 = ["0.0.0.0/8", "10.0.0.0/8", "11.42.0.0/15", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
             "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
             "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]


def _moved() -> RunResult:
    """dev with every network, database and gateway value the policies use moved off its default, the
    cluster's CIDRs in public space (so they must be excepted by name) and backups on."""
    net = {**_dev_config("openclaw:network"), "podCidr": "11.42.0.0/16", "serviceCidr": "11.43.0.0/16",
           "apiServer": "11.43.0.1", "apiServerPort": 6443, "apiServerEndpoints": ["192.168.20.20:6444"],
           "dnsNamespace": "dns-system", "dnsPodLabels": {"app": "coredns"}, "egressPorts": [443, 8443],
           "ipv6Egress": True}
    db = {**_dev_config("openclaw:database"), "namespace": "pg", "cluster": "pg-main", "host": "pg-main-rw.pg.svc",
          "port": 5433}
    return run_stack("dev", overrides={
        "openclaw:network": net, "openclaw:database": db,
        "openclaw:gateway": {**_dev_config("openclaw:gateway"), "port": 18790},
        "openclaw:backup": {**_dev_config("openclaw:backup"), "enabled": True, "endpoint": "https://s3.lumie.example"}})


def _egress(run: RunResult, name: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = run.find("NetworkPolicy", name).properties["spec"]["egress"]
    return rules


def test_each_network_value_reaches_the_gateways_policies() -> None:
    run = _moved()
    dns = {"podSelector": {"matchLabels": {"app": "coredns"}},
           "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns-system"}}}
    assert _egress(run, "openclaw-allow-dns")[0]["to"] == [dns]
    assert _egress(run, "openclaw-allow-kube-api") == [
        {"to": [{"ipBlock": {"cidr": "11.43.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 6443}]},
        {"to": [{"ipBlock": {"cidr": "192.168.20.20/32"}}], "ports": [{"protocol": "TCP", "port": 6444}]}]
    assert _egress(run, "openclaw-allow-postgres") == [{
        "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "pg-main"}},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "pg"}}}],
        "ports": [{"protocol": "TCP", "port": 5433}]}]
    (public,) = _egress(run, "openclaw-allow-public-https")
    assert public["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PUBLIC_V4}}]
    assert public["ports"] == [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8443}]
    assert run.find("NetworkPolicy", "openclaw-allow-public-https-ipv6") is not None
    ingress = run.find("NetworkPolicy", "openclaw-allow-gateway-ingress").properties["spec"]["ingress"]
    assert ingress == [{"ports": [{"protocol": "TCP", "port": 18790}]}]


def test_each_network_value_reaches_the_backups_policy() -> None:
    dns, public = _egress(_moved(), "openclaw-backup-egress")
    assert dns["to"] == [{"podSelector": {"matchLabels": {"app": "coredns"}},
                          "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns-system"}}}]
    v4, v6 = public["to"]   # ipv6Egress on: the repository over IPv6 too
    assert v4 == {"ipBlock": {"cidr": "0.0.0.0/0", "except": PUBLIC_V4}}
    assert v6["ipBlock"]["cidr"] == "::/0"
    # prod's cluster is in private space (10.42/16, 10.43/16): nothing beyond the non-public list
    assert _egress(run_stack("prod"), "openclaw-backup-egress")[1]["to"][0] == {
        "ipBlock": {"cidr": "0.0.0.0/0", "except": [c for c in PUBLIC_V4 if c != "11.42.0.0/15"]}}


def test_vault_authenticates_as_the_gateways_service_account(dev: RunResult) -> None:
    """The operator logs in to Vault with a token of the ServiceAccount the gateway runs as (rbac's)."""
    account = dev.find("ServiceAccount", "openclaw").properties["metadata"]["name"]
    auth = dev.find("VaultAuth", "openclaw").properties["spec"]["kubernetes"]
    assert auth["serviceAccount"] == account == "openclaw"
    pod = dev.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account


_DIGEST = "sha256:" + hashlib.sha256(b"an image built for this test").hexdigest()


@pytest.mark.parametrize(("gateway_pinned", "skipped"), [(True, False), (False, True)],
                         ids=["both images pinned", "the gateway's not"])
def test_the_backup_jobs_keep_the_digest_skip_unless_both_images_are_pinned(gateway_pinned: bool,
                                                                           skipped: bool) -> None:
    """A backup Job runs the OpenClaw image too (the snapshot step): checkov's digest checks pass only when
    the restic image and the gateway's are both pinned (components/checkov_skips.py)."""
    prod = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())["config"]
    backup = {**prod["openclaw:backup"], "image": {**prod["openclaw:backup"]["image"], "digest": _DIGEST}}
    image = {**prod["openclaw:image"], **({"digest": _DIGEST} if gateway_pinned else {})}
    run = run_stack("prod", overrides={"openclaw:backup": backup, "openclaw:image": image})
    for name in ("openclaw-backup", "openclaw-backup-drill"):
        annotations = run.find("CronJob", name).properties["metadata"]["annotations"]
        assert any(v.startswith("CKV_K8S_43=") for v in annotations.values()) is skipped, name


def test_every_workload_waits_for_every_synced_secret(prod: RunResult) -> None:
    """The Secrets the operator writes from Vault exist before a pod that reads them is created (a
    CronJob that fires first would fail on a missing Secret): the gateway, the backup, the drill."""
    synced = {r.urn for r in prod.resources if r.type.endswith(":VaultStaticSecret")}
    assert len(synced) == 3
    workloads = (("Deployment", "openclaw"), ("CronJob", "openclaw-backup"), ("CronJob", "openclaw-backup-drill"))
    for kind, name in workloads:
        assert synced <= set(prod.find(kind, name).dependencies), name


@pytest.mark.parametrize(("stack", "overrides", "optional"), [
    ("dev", {}, {"PreUpgradeSnapshot"}),
    ("prod", {"openclaw:alerts": {"enabled": True}}, {"Backup", "RestoreDrill", "Alerts"})], ids=["dev", "prod"])
def test_every_object_is_below_the_component_and_uses_its_provider(stack: str, overrides: dict[str, Any],
                                                                   optional: set[str]) -> None:
    """Each optional part (dev's pre-upgrade snapshot; prod's backups and restore drill, with alerts on)
    lies below the OpenClaw component like the rest, and applies through its explicit provider, never the
    ambient default one (the cluster of whatever kubeconfig the machine running `pulumi up` has)."""
    run = run_stack(stack, overrides=overrides)
    (component,) = [r.urn for r in run.resources if r.type == "openclaw:index:OpenClaw"]
    (provider,) = [r.urn for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    by_urn = {r.urn: r for r in run.resources}
    parts = {r.type for r in run.resources if r.parent == component}
    assert {f"openclaw:index:{part}" for part in optional} <= parts
    for record in run.kubernetes():
        at, chain = record.parent, []
        while at in by_urn:
            chain.append(at)
            at = by_urn[at].parent
        assert component in chain, record.urn
        assert record.provider.startswith(provider + "::"), record.urn


def test_a_bad_catalog_is_one_error_naming_the_agent_and_field(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = yaml.safe_load(agents.CATALOG_FILE.read_text(encoding="utf-8"))
    catalog["agents"][0]["handoffs"] = ["ghost"]
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog), encoding="utf-8")
    monkeypatch.setenv(agents.CATALOG_ENV, str(tmp_path / "catalog.yaml"))
    with pytest.raises(ConfigError) as info:
        run_stack("dev")
    assert str(info.value) == ("invalid agent catalog:\n"
                               "  - main.handoffs: unknown agent (got 'ghost'; expected an id of the catalog)")


@pytest.mark.parametrize("path", ["applications/openclaw", "teams/claw/gateway"])
def test_the_teleport_entry_names_where_the_gateway_token_is_in_vault(path: str) -> None:
    """Whoever renders the Teleport values fills the bearer token from this reference (never a value)."""
    run = run_stack("dev", overrides={"openclaw:secrets": {**_dev_config("openclaw:secrets"),
                                                           "gatewayVaultPath": path}})
    app = run.outputs["teleportApp"].value
    assert app["secretSubstitutions"] == {"OPENCLAW_GATEWAY_TOKEN": f"vault:{path}#OPENCLAW_GATEWAY_TOKEN"}
