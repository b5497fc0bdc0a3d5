"""Vault-backed secrets: the Vault policy and role, the operator CRs, least privilege, the config (direct
mode: tests/test_secrets_direct.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, SecretsConfig, parse_config
from components.secret_keys import SecretKey, required_secret_keys
from components.secrets import (
    policy_document,
    synced_secrets,
)
from engine.harness import VAULT_GENERIC_READ, VAULT_ROLE_LOOKUP, RunResult, run_stack
from engine.records import ResourceRecord
from tests.vault_fixtures import DIRECT, run_direct

POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
NS = "openclaw"
VAULT_CONFIG = {"vault:address": "https://vault.example.invalid:8200"}

CURRENT_ONLY = '  denied_parameters = {\n    "version" = []\n  }\n'  # no `?version=N` reads
DEV_POLICY = ('path "secret/data/applications/openclaw" {\n  capabilities = ["read"]\n' + CURRENT_ONLY + '}\n'
              '\n'
              'path "secret/data/tokens" {\n  capabilities = ["read"]\n' + CURRENT_ONLY + '}\n')

OPENAI = {"baseUrl": "https://api.openai.com/v1", "api": "openai-responses", "apiKeyEnv": "OPENAI_API_KEY",
          "models": [{"id": "gpt-5", "name": "GPT-5"}]}
DEEPSEEK = {"baseUrl": "https://api.deepseek.com/v1", "api": "openai-completions", "apiKeyEnv": "DEEPSEEK_API_KEY",
            "models": [{"id": "deepseek-v4-flash", "name": "DeepSeek V4 Flash"},
                       {"id": "deepseek-v4-pro", "name": "DeepSeek V4 Pro"}]}  # the catalog uses both


def _one(run: RunResult, type_: str) -> ResourceRecord:
    (record,) = run.by_type(type_)
    return record


def _dump(run: RunResult) -> str:
    """Everything the engine would receive or the stack would show, as one text."""
    return json.dumps([r.properties for r in run.resources] + [o.value for o in run.outputs.values()],
                      sort_keys=True)


# --- operator mode (the dev stack) --------------------------------------------------------------

def test_policy_reads_exactly_the_kv_v2_data_paths(dev: RunResult) -> None:
    policy = _one(dev, POLICY)
    # The first line names the stack that writes it: the preview tells its own policy from another's.
    header = "# Managed by Pulumi: openclaw/dev (openclaw:secrets.policy)\n"
    assert policy.properties == {"name": "openclaw", "policy": header + DEV_POLICY, "allowOverwrite": False}
    assert policy_document("secret", ["tokens", "applications/openclaw", "tokens"]) == DEV_POLICY


def test_policy_follows_the_configured_mount_and_paths() -> None:
    run = run_stack("dev", overrides={"openclaw:secrets": {
        "kvMount": "kv-apps", "gatewayVaultPath": "teams/ai/openclaw", "tokenVaultPath": "teams/ai/tokens",
        "policy": "openclaw-ro"}})
    assert _one(run, POLICY).properties == {"name": "openclaw-ro", "policy": (
        "# Managed by Pulumi: openclaw/dev (openclaw:secrets.policy)\n"
        'path "kv-apps/data/teams/ai/openclaw" {\n  capabilities = ["read"]\n' + CURRENT_ONLY + '}\n\n'
        'path "kv-apps/data/teams/ai/tokens" {\n  capabilities = ["read"]\n' + CURRENT_ONLY + '}\n'),
        "allowOverwrite": False}
    assert _one(run, ROLE).properties["tokenPolicies"] == ["openclaw-ro"]


def test_role_binds_only_the_gateway_account_in_its_namespace(dev: RunResult) -> None:
    role = _one(dev, ROLE)
    assert role.properties == {
        "backend": "kubernetes", "roleName": "openclaw",
        "boundServiceAccountNames": ["openclaw"], "boundServiceAccountNamespaces": [NS],
        "audience": "vault", "tokenPolicies": ["openclaw"], "tokenTtl": 600, "tokenMaxTtl": 1800}
    # Bound to the ServiceAccount the Rbac component creates, and to the policy: both ordered first.
    sa = dev.find("ServiceAccount", "openclaw")
    assert sa.urn in role.dependencies
    assert _one(dev, POLICY).urn in role.dependencies


def test_role_and_auth_follow_config() -> None:
    run = run_stack("dev", overrides={"openclaw:secrets": {
        "authMount": "k3s-lab", "role": "oc-gateway", "tokenTtl": 300, "tokenMaxTtl": 300, "audience": None,
        "connectionRef": "vault-system/lab"}})
    role = _one(run, ROLE).properties
    assert (role["backend"], role["roleName"], role["tokenTtl"], role["tokenMaxTtl"]) == (
        "k3s-lab", "oc-gateway", 300, 300)
    assert "audience" not in role
    spec = run.find("VaultAuth", "openclaw").properties["spec"]
    assert spec["mount"] == "k3s-lab" and spec["kubernetes"]["role"] == "oc-gateway"
    assert "audiences" not in spec["kubernetes"]
    assert spec["vaultConnectionRef"] == "vault-system/lab"


def test_vault_auth_uses_the_role_and_account_in_the_namespace_only(dev: RunResult) -> None:
    auth = dev.find("VaultAuth", "openclaw")
    props = auth.properties
    assert props["apiVersion"] == "secrets.hashicorp.com/v1beta1"
    assert props["metadata"]["namespace"] == NS
    assert props["spec"] == {"method": "kubernetes", "mount": "kubernetes", "kubernetes": {
        "role": "openclaw", "serviceAccount": "openclaw", "audiences": ["vault"], "tokenExpirationSeconds": 600}}
    assert "allowedNamespaces" not in json.dumps(props)
    assert _one(dev, ROLE).urn in auth.dependencies


def test_one_static_secret_per_path_with_exactly_the_consumed_keys(dev: RunResult) -> None:
    expected = {"openclaw-secrets": ("applications/openclaw", ["OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_DB_PASSWORD"]),
                "openclaw-token-secrets": ("tokens", ["DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN"])}
    records = [r for r in dev.kubernetes() if r.properties["kind"] == "VaultStaticSecret"]
    assert sorted(r.properties["metadata"]["name"] for r in records) == sorted(expected)
    for record in records:
        name = record.properties["metadata"]["name"]
        path, keys = expected[name]
        spec = record.properties["spec"]
        assert record.properties["apiVersion"] == "secrets.hashicorp.com/v1beta1"
        assert record.properties["metadata"]["namespace"] == NS
        assert {k: spec[k] for k in ("vaultAuthRef", "type", "mount", "path", "refreshAfter", "hmacSecretData")} == {
            "vaultAuthRef": "openclaw", "type": "kv-v2", "mount": "secret", "path": path, "refreshAfter": "5m",
            "hmacSecretData": True}
        destination = spec["destination"]
        assert (destination["name"], destination["create"], destination["type"]) == (name, True, "Opaque")
        assert destination["transformation"] == {"excludeRaw": True, "includes": [f"^{k}$" for k in keys]}
        assert spec["rolloutRestartTargets"] == [{"kind": "Deployment", "name": "openclaw"}]
        assert not record.secret_paths
        # Synced only once the operator can log in with the role.
        auth = dev.find("VaultAuth", "openclaw")
        assert auth.urn in record.dependencies and _one(dev, ROLE).urn in record.dependencies


def test_deployment_waits_for_the_secrets(dev: RunResult) -> None:
    deployment = dev.find("Deployment", "openclaw")
    for name in ("openclaw-secrets", "openclaw-token-secrets"):
        assert dev.find("VaultStaticSecret", name).urn in deployment.dependencies


def test_operator_mode_reads_no_secret_and_stores_none(dev: RunResult) -> None:
    # The only reads: are the policy's name and the auth role someone else's (tests/test_adoption_vault.py)?
    assert dev.invokes == [(VAULT_GENERIC_READ, {"path": "sys/policy"}),
                           (VAULT_ROLE_LOOKUP, {"roleName": "openclaw", "backend": "kubernetes"})]
    assert not any(r.secret_paths for r in dev.resources)
    assert not dev.by_type("kubernetes:core/v1:Secret")
    components = {r.type: r for r in dev.resources if not r.custom}
    vault_secrets = components["openclaw:index:VaultSecrets"]
    assert vault_secrets.parent == components["openclaw:index:OpenClaw"].urn
    children = sorted(r.type for r in dev.resources if r.parent == vault_secrets.urn)
    assert children == sorted([POLICY, ROLE, "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth",
                               "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret",
                               "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret"])


# --- least privilege ----------------------------------------------------------------------------

def _consumed_keys(run: RunResult) -> dict[str, set[str]]:
    """Per place: the secret keys it names."""
    deployment = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    env = {e["name"] for c in deployment["containers"] + deployment["initContainers"] for e in c.get("env", [])
           if "secretKeyRef" in e.get("valueFrom", {})}
    places = {"env": env}
    for record in run.kubernetes():
        kind = record.properties["kind"]
        if kind == "VaultStaticSecret":
            includes = record.properties["spec"]["destination"]["transformation"]["includes"]
            places[f"vss/{record.properties['metadata']['name']}"] = {i.strip("^$") for i in includes}
        elif kind == "Secret":
            places[f"secret/{record.properties['metadata']['name']}"] = set(record.properties["stringData"])
    return places


@pytest.mark.parametrize("overrides", [{}, DIRECT], ids=["operator", "direct"])
def test_a_configured_provider_brings_its_key_and_a_removed_one_drops_it(overrides: dict[str, Any]) -> None:
    def run(providers: dict[str, Any], telegram: bool = True) -> RunResult:
        more = {"openclaw:models": {"primary": "deepseek/deepseek-v4-flash", "providers": providers},
                "openclaw:telegram": {"enabled": telegram}}
        return run_direct(more) if overrides else run_stack("dev", overrides=more)

    both = run({"deepseek": DEEPSEEK, "openai": OPENAI})
    places = _consumed_keys(both)
    assert places["env"] == {"OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_DB_PASSWORD", "DEEPSEEK_API_KEY",
                             "OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"}
    token_place = "secret/openclaw-token-secrets" if overrides else "vss/openclaw-token-secrets"
    assert places[token_place] == {"DEEPSEEK_API_KEY", "OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"}

    only_deepseek = run({"deepseek": DEEPSEEK}, telegram=False)
    assert _consumed_keys(only_deepseek)[token_place] == {"DEEPSEEK_API_KEY"}
    text = _dump(only_deepseek)
    for gone in ("OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        assert gone not in text, gone
    assert "DEEPSEEK_API_KEY" in text


def test_required_keys_match_what_is_synced(dev: RunResult) -> None:
    cfg = parse_config({"gateway": {"allowedOrigins": ["https://a.example"]}})
    keys = required_secret_keys(cfg)
    assert [(s.name, s.vault_path, s.keys) for s in synced_secrets(keys)] == [
        ("openclaw-secrets", "applications/openclaw", ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_DB_PASSWORD")),
        ("openclaw-token-secrets", "tokens", ("DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN"))]


def test_one_secret_from_two_paths_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"Secret 'both' would be synced from several Vault paths \['a', 'b'\]"):
        synced_secrets([SecretKey("A", "both", "a"), SecretKey("B", "both", "b")])
    with pytest.raises(ConfigError, match=r"openclaw:secrets: gatewaySecret and tokenSecret are both 'x'"):
        parse_config({"gateway": {"allowedOrigins": ["https://a.example"]},
                      "secrets": {"gatewaySecret": "x", "tokenSecret": "x"}})


# --- configuration ------------------------------------------------------------------------------

def test_dev_stack_spells_out_the_secrets_defaults() -> None:
    from engine.harness import stack_config
    config, _ = stack_config("dev")
    assert config["vault:address"].startswith("https://")
    assert SecretsConfig.model_validate(json.loads(config["openclaw:secrets"])) == SecretsConfig()


@pytest.mark.parametrize(("secrets", "key", "expected"), [
    ({"mode": "sidecar"}, "openclaw:secrets.mode", "'operator' or 'direct'"),
    ({"kvMount": "/secret/"}, "openclaw:secrets.kvMount", "without a leading or trailing '/'"),
    ({"tokenVaultPath": "tokens//x"}, "openclaw:secrets.tokenVaultPath", "without a leading or trailing '/'"),
    ({"role": "a/b"}, "openclaw:secrets.role", "Vault name"),
    ({"tokenTtl": 86400}, "openclaw:secrets.tokenTtl", "less than or equal to 3600"),
    ({"tokenTtl": 900, "tokenMaxTtl": 600}, "openclaw:secrets", "tokenMaxTtl 600 is shorter than tokenTtl 900"),
    ({"refreshAfter": "1d"}, "openclaw:secrets.refreshAfter", "30s, 5m or 1h"),
    ({"audience": " "}, "openclaw:secrets.audience", "non-empty audience"),
    ({"connectionRef": "Vault Conn"}, "openclaw:secrets.connectionRef", "VaultConnection name"),
    ({"kvMonut": "secret"}, "openclaw:secrets.kvMonut", "unknown key"),
])
def test_bad_secrets_config_names_the_key(secrets: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": {"allowedOrigins": ["https://a.example"]}, "secrets": secrets})
    line = str(info.value).splitlines()[1]
    assert line.startswith(f"  - {key}: ") and expected in line


def test_vault_address_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    with pytest.raises(ConfigError, match=r"vault:address is not set: .*pulumi config set vault:address"):
        run_stack("dev", overrides={"vault:address": None})
    with pytest.raises(ConfigError, match=r"vault:address must be a URL"):
        run_stack("dev", overrides={"vault:address": "vault.lumie.example"})
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example.invalid")
    assert run_stack("dev", overrides={"vault:address": None}).by_type(POLICY)


def test_vault_token_only_as_a_secret() -> None:
    with pytest.raises(ConfigError, match=r"vault:token is stored in plain text.*--secret vault:token"):
        run_stack("dev", overrides={"vault:token": "fake-not-a-secret-0100"})
    run = run_stack("dev", overrides={"vault:token": {"secure": "v1:ZmFrZQ=="}})
    assert "fake-not-a-secret" not in _dump(run)
