"""Edges of the gateway's secrets (components/secrets.py), built on their own: the Secrets grouped by
name in order of first use (one Vault path each), the policy's exact HCL, the Vault provider's
config checks (each whole message), the keys picked from Vault (missing and empty each named), and
the component in both modes: every field of the policy, the role, the VaultAuth and each
VaultStaticSecret (operator); each Secret, its values as Pulumi secrets and the versions annotation
(direct); what the Deployment waits for, their place in the tree and the output registered."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pulumi
import pulumi_vault as vault
import pytest

from components.config import ConfigError, parse_config
from components.secret_keys import SecretKey
from components.secrets import (
    SyncedSecret,
    VaultKeyMissingError,
    VaultSecrets,
    VaultSecretsArgs,
    kv_data_path,
    pick_keys,
    policy_document,
    synced_secrets,
)
from engine import harness
from engine.harness import VAULT_GENERIC_READ, VAULT_ROLE_LOOKUP, RunResult, vault_policies, vault_role
from engine.vault_fixture import KV_V2_READ, kv_v2_invokes
from tests.support.component_outputs import run_with_outputs

GW = SecretKey("OPENCLAW_GATEWAY_TOKEN", "gw", "apps/gw")
DB = SecretKey("OPENCLAW_DB_PASSWORD", "gw", "apps/gw")
MODEL = SecretKey("DEEPSEEK_API_KEY", "tok", "tokens")
BOT = SecretKey("TELEGRAM_BOT_TOKEN", "tok", "tokens")
BACKUP = SecretKey("RESTIC_PASSWORD", "bk", "apps/bk")
VAULT = {"vault:address": "https://vault.example.test:8200"}


def _labels() -> dict[str, str]:
    return {"app": "openclaw", "app.kubernetes.io/name": "openclaw", "app.kubernetes.io/component": "secrets",
            "app.kubernetes.io/part-of": "openclaw", "app.kubernetes.io/managed-by": "pulumi"}


def test_the_secrets_in_order_of_first_use_each_key_once() -> None:
    assert synced_secrets([MODEL, GW, BOT, DB, GW]) == [
        SyncedSecret("tok", "tokens", ("DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN")),
        SyncedSecret("gw", "apps/gw", ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_DB_PASSWORD"))]
    assert synced_secrets([]) == []


def test_a_secret_from_two_vault_paths_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        synced_secrets([GW, SecretKey("X", "gw", "apps/b"), SecretKey("Y", "gw", "apps/a")])
    assert str(info.value) == ("Secret 'gw' would be synced from several Vault paths ['apps/a', 'apps/b', 'apps/gw']: "
                               "give each path its own Secret (openclaw:secrets)")


def test_the_policy_reads_exactly_the_current_version_of_each_path() -> None:
    assert kv_data_path("kv", "apps/gw") == "kv/data/apps/gw"
    block = 'path "kv/data/{}" {{\n  capabilities = ["read"]\n  denied_parameters = {{\n    "version" = []\n  }}\n}}\n'
    assert policy_document("kv", ["tokens", "apps/gw", "tokens"]) == (
        block.format("apps/gw") + "\n" + block.format("tokens"))
    assert policy_document("kv", []) == ""


def test_keys_are_picked_exactly_as_strings() -> None:
    secrets = synced_secrets([GW, DB, MODEL])
    data = {"apps/gw": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-1", "OPENCLAW_DB_PASSWORD": 7, "OTHER": "x"},
            "tokens": {"DEEPSEEK_API_KEY": "fake-not-a-secret-2"}}
    assert pick_keys(secrets, "kv", data) == {
        "gw": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-1", "OPENCLAW_DB_PASSWORD": "7"},
        "tok": {"DEEPSEEK_API_KEY": "fake-not-a-secret-2"}}


def test_every_missing_or_empty_key_is_one_line_of_one_error() -> None:
    secrets = synced_secrets([GW, DB, MODEL])
    with pytest.raises(VaultKeyMissingError) as info:
        pick_keys(secrets, "kv", {"apps/gw": {"OPENCLAW_GATEWAY_TOKEN": "", "OPENCLAW_DB_PASSWORD": "x"},
                                  "tokens": None})
    assert str(info.value) == (
        "Vault lacks keys the deployment needs (the pod would not start):\n"
        "  - kv/apps/gw has an empty value for OPENCLAW_GATEWAY_TOKEN (needed in Secret gw): "
        "`vault kv patch -mount=kv apps/gw OPENCLAW_GATEWAY_TOKEN=...`\n"
        "  - kv/tokens has no key DEEPSEEK_API_KEY (needed in Secret tok): "
        "`vault kv patch -mount=kv tokens DEEPSEEK_API_KEY=...`")


def _run(mode: str, config: dict[str, str] | None = None, invokes: dict[str, Any] | None = None,
         vault_data: dict[str, dict[str, str]] | None = None, secret_keys: list[str] | None = None,
         **changes: Any
         ) -> tuple[RunResult, dict[str, dict[str, Any]], list[Any]]:
    settings = parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]}, "secrets": {
        "mode": mode, "kvMount": "kv", "authMount": "k8s", "role": "oc-role", "policy": "oc-policy",
        "tokenTtl": 700, "tokenMaxTtl": 1900, "refreshAfter": "2m", **changes}}).secrets
    made: list[Any] = []

    def program() -> None:
        provider = vault.Provider("team-vault", address="https://vault.example.test:8200")
        owner = pulumi.ComponentResource("test:index:Owner", "owner",
                                         opts=pulumi.ResourceOptions(providers={"vault": provider}))
        component = VaultSecrets("vs", VaultSecretsArgs(
            namespace="team-a", service_account_name="oc-sa", settings=settings, keys=[GW, DB, MODEL, BACKUP],
            restart_target="gateway-deploy", no_restart=frozenset({"bk"})), pulumi.ResourceOptions(parent=owner))
        made.append(component)
        for name, value in component.pod_annotations.items():
            pulumi.Output.from_input(value).apply(lambda v, name=name: made.append((name, v)))

    data = {"apps/gw": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-1",
                        "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-2"},
            "tokens": {"DEEPSEEK_API_KEY": "fake-not-a-secret-3"},
            "apps/bk": {"RESTIC_PASSWORD": "fake-not-a-secret-4"}}
    calls: list[tuple[str, dict[str, Any], str]] = []

    class Mocks(harness.RecordingMocks):
        def call(self, args: Any) -> Any:
            calls.append((args.token, dict(args.args), args.provider))
            return super().call(args)

    with mock.patch.object(harness, "RecordingMocks", Mocks):
        run, outputs = run_with_outputs(program, config=config if config is not None else VAULT,
                                        secret_keys=secret_keys, invokes={
            **kv_v2_invokes(vault_data or data, {"apps/gw": 4, "tokens": 2, "apps/bk": 9}), **(invokes or {})})
    return run, outputs, [made[0], calls, *made[1:]]   # the component, its invokes, its pod annotations


def _one(run: RunResult, type_: str, name: str | None = None) -> Any:
    (record,) = [r for r in run.resources if r.type == type_ and (name is None or r.name == name)]
    return record


def test_operator_mode_every_vault_object() -> None:
    run, outputs, (component, _) = _run("operator")   # no pod annotation: the operator restarts the pod
    owner, me = _one(run, "test:index:Owner"), _one(run, "openclaw:index:VaultSecrets")
    assert me.parent == owner.urn
    policy = _one(run, "vault:index/policy:Policy")
    document = policy_document("kv", ["apps/gw", "tokens", "apps/bk"])
    assert policy.properties == {"name": "oc-policy", "allowOverwrite": False,
                                 "policy": "# Managed by Pulumi: openclaw/test (openclaw:secrets.policy)\n" + document}
    role = _one(run, "vault:kubernetes/authBackendRole:AuthBackendRole")
    assert role.properties == {"backend": "k8s", "roleName": "oc-role", "boundServiceAccountNames": ["oc-sa"],
                               "boundServiceAccountNamespaces": ["team-a"], "audience": "vault",
                               "tokenPolicies": ["oc-policy"], "tokenTtl": 700, "tokenMaxTtl": 1900}
    auth = _one(run, "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth")
    assert auth.properties == {"apiVersion": "secrets.hashicorp.com/v1beta1", "kind": "VaultAuth",
                               "metadata": {"name": "openclaw", "namespace": "team-a", "labels": _labels()},
                               "spec": {"method": "kubernetes", "mount": "k8s", "kubernetes": {
                                   "role": "oc-role", "serviceAccount": "oc-sa", "tokenExpirationSeconds": 600,
                                   "audiences": ["vault"]}}}
    assert role.urn in auth.dependencies
    statics = {r.name: r for r in run.resources if r.type.endswith("VaultStaticSecret")}
    assert set(statics) == {"vs-gw", "vs-tok", "vs-bk"}
    for name, path, keys in (("gw", "apps/gw", ["OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_DB_PASSWORD"]),
                             ("tok", "tokens", ["DEEPSEEK_API_KEY"]), ("bk", "apps/bk", ["RESTIC_PASSWORD"])):
        record = statics[f"vs-{name}"]
        assert record.properties["metadata"] == {"name": name, "namespace": "team-a", "labels": _labels(),
                                                 "annotations": {"pulumi.com/waitFor": "condition=SecretSynced",
                                                                 "pulumi.com/deletionPropagationPolicy": "orphan"}}
        assert record.properties["spec"] == {
            "vaultAuthRef": "openclaw", "type": "kv-v2", "mount": "kv", "path": path, "refreshAfter": "2m",
            "hmacSecretData": True,
            "destination": {"name": name, "create": True, "overwrite": False, "type": "Opaque", "labels": _labels(),
                            "transformation": {"excludeRaw": True, "includes": [f"^{k}$" for k in keys]}},
            "rolloutRestartTargets": [] if name == "bk" else [{"kind": "Deployment", "name": "gateway-deploy"}]}
        assert {auth.urn, role.urn} <= set(record.dependencies) and record.parent == me.urn
    assert {r.parent for r in (policy, role, auth)} == {me.urn}
    assert component.secret_names == ["gw", "tok", "bk"] and component.pod_annotations == {}
    assert len(component.dependencies) == 3
    assert outputs[me.urn] == {"secret_names": ["gw", "tok", "bk"]}


def test_operator_mode_options_adoption_no_audience_and_a_connection() -> None:
    run, _, _ = _run("operator", adoptVaultObjects=True, audience=None, connectionRef="vault-conn")
    assert _one(run, "vault:index/policy:Policy").properties["allowOverwrite"] is True
    assert "audience" not in _one(run, "vault:kubernetes/authBackendRole:AuthBackendRole").properties
    spec = _one(run, "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth").properties["spec"]
    assert spec["vaultConnectionRef"] == "vault-conn" and "audiences" not in spec["kubernetes"]


def test_direct_mode_each_secret_its_values_secret_and_the_versions() -> None:
    run, outputs, (component, _, annotation) = _run("direct")
    me = _one(run, "openclaw:index:VaultSecrets")
    assert not [r.type for r in run.resources if r.custom and (r.type.startswith("vault:") or "Vault" in r.type)]
    secrets = {r.name: r for r in run.resources if r.properties.get("kind") == "Secret"}
    assert set(secrets) == {"vs-gw", "vs-tok", "vs-bk"}
    gw = secrets["vs-gw"]
    assert gw.properties["metadata"] == {"name": "gw", "namespace": "team-a", "labels": _labels()}
    assert gw.properties["type"] == "Opaque"
    assert gw.properties["stringData"] == {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-1",
                                           "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-2"}
    assert "stringData" in gw.secret_paths
    assert gw.options.retain_on_delete is True and gw.parent == me.urn
    assert secrets["vs-bk"].properties["stringData"] == {"RESTIC_PASSWORD": "fake-not-a-secret-4"}
    assert (component.policy, component.role, component.vault_auth, component.static_secrets) == (None, None, None, {})
    # KV v2 version numbers only, one per path in order of first use: a rotation rolls the pod.
    assert annotation == ("openclaw.lumie.example/vault-versions", "kv/apps/gw=4 kv/tokens=2 kv/apps/bk=9")
    assert len(component.dependencies) == 3
    assert outputs[me.urn] == {"secret_names": ["gw", "tok", "bk"]}


@pytest.mark.parametrize(("config", "message"), [
    ({}, "vault:address is not set: set the Vault server URL with `pulumi config set vault:address "
         "https://vault.example:8200` (or export VAULT_ADDR)"),
    ({"vault:address": "vault.example:8200"},
     "vault:address must be a URL such as https://vault.example:8200 (got 'vault.example:8200')"),
    ({**VAULT, "vault:token": "fake-not-a-secret-5"},
     "vault:token is stored in plain text: remove it and use `pulumi config set --secret vault:token ...`, or "
     "export VAULT_TOKEN"),
])
def test_the_vault_provider_config_is_checked_naming_the_key(config: dict[str, str], message: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    with pytest.raises(ConfigError) as info:
        _run("direct", config)
    assert str(info.value) == message


def test_vault_addr_from_the_environment_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:8200")
    run, _, _ = _run("direct", {})
    assert _one(run, "openclaw:index:VaultSecrets")


def _via(calls: list[tuple[str, dict[str, Any], str]]) -> set[str]:
    return {provider.split("::")[-2] for _, _, provider in calls}


def test_operator_mode_looks_the_role_and_the_policy_up_through_the_parents_vault_provider() -> None:
    _, _, (_, calls) = _run("operator")
    assert sorted((token, sorted(args.items())) for token, args, _ in calls) == [
        (VAULT_GENERIC_READ, [("path", "sys/policy")]),
        (VAULT_ROLE_LOOKUP, [("backend", "k8s"), ("roleName", "oc-role")])]
    assert _via(calls) == {"team-vault"}


def test_direct_mode_reads_each_path_once_from_the_mount_through_the_parents_vault_provider() -> None:
    _, _, (_, calls, _) = _run("direct")
    assert sorted((token, args["mount"], args["name"]) for token, args, _ in calls) == [
        (KV_V2_READ, "kv", "apps/bk"), (KV_V2_READ, "kv", "apps/gw"), (KV_V2_READ, "kv", "tokens")]
    assert _via(calls) == {"team-vault"}


def test_direct_mode_names_a_key_vault_lacks_under_its_mount() -> None:
    with pytest.raises(VaultKeyMissingError) as info:
        _run("direct", vault_data={"apps/gw": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-1"},
                                   "tokens": {"DEEPSEEK_API_KEY": "fake-not-a-secret-3"},
                                   "apps/bk": {"RESTIC_PASSWORD": "fake-not-a-secret-4"}})
    assert str(info.value).splitlines()[1:] == [
        "  - kv/apps/gw has no key OPENCLAW_DB_PASSWORD (needed in Secret gw): "
        "`vault kv patch -mount=kv apps/gw OPENCLAW_DB_PASSWORD=...`"]


def test_a_live_role_bound_to_exactly_this_account_is_written_again() -> None:
    run, _, _ = _run("operator", invokes={VAULT_ROLE_LOOKUP: vault_role(["oc-sa"], ["team-a"])})
    assert _one(run, "vault:kubernetes/authBackendRole:AuthBackendRole").properties["roleName"] == "oc-role"


@pytest.mark.parametrize(("names", "namespaces", "selector", "bound"), [
    (["oc-sa"], ["team-b"], "", "ServiceAccounts ['oc-sa'] in namespaces ['team-b']"),
    (["other"], ["team-a"], "", "ServiceAccounts ['other'] in namespaces ['team-a']"),
    (["oc-sa"], ["team-a"], "x=y", "ServiceAccounts ['oc-sa'] in namespaces ['team-a'] (namespace selector 'x=y')"),
])
def test_someone_elses_live_role_stops_the_run_unless_adopted(names: list[str], namespaces: list[str], selector: str,
                                                               bound: str) -> None:
    lookup = {VAULT_ROLE_LOOKUP: vault_role(names, namespaces, selector)}
    with pytest.raises(ConfigError) as info:
        _run("operator", invokes=lookup)
    assert str(info.value) == (
        f"openclaw:secrets.role: the Vault role auth/k8s/role/oc-role exists and binds {bound}, not only "
        "team-a/oc-sa: it belongs to someone else and writing it would lock them out. Pick another "
        "openclaw:secrets.role, or set openclaw:secrets.adoptVaultObjects: true to take it over")
    run, _, _ = _run("operator", invokes=lookup, adoptVaultObjects=True)
    assert _one(run, "vault:kubernetes/authBackendRole:AuthBackendRole").properties["roleName"] == "oc-role"


def test_a_live_policy_is_ours_by_its_header_someone_elses_otherwise_unless_adopted() -> None:
    ours = "# Managed by Pulumi: openclaw/test (openclaw:secrets.policy)\nanything older\n"
    run, _, _ = _run("operator", invokes={VAULT_GENERIC_READ: vault_policies({"oc-policy": ours})})
    assert _one(run, "vault:index/policy:Policy").properties["name"] == "oc-policy"
    foreign = {VAULT_GENERIC_READ: vault_policies({"oc-policy": 'path "x" {}'})}
    with pytest.raises(ConfigError, match=r"^openclaw:secrets.policy: the Vault policy 'oc-policy' exists"):
        _run("operator", invokes=foreign)
    run, _, _ = _run("operator", invokes=foreign, adoptVaultObjects=True)
    assert _one(run, "vault:index/policy:Policy").properties["name"] == "oc-policy"


def test_a_vault_token_stored_as_a_secret_passes() -> None:
    run, _, _ = _run("direct", {**VAULT, "vault:token": "fake-not-a-secret-5"}, secret_keys=["vault:token"])
    assert _one(run, "openclaw:index:VaultSecrets")
