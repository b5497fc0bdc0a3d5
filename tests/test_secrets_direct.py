"""Vault-backed secrets in direct mode: the program reads Vault and writes Kubernetes Secrets with only
the keys it needs, every value a Pulumi secret; none reaches a rendered file, ConfigMap or output; the
render of a direct stack takes a Vault fixture (fake values)."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml

from components.config import SecretsConfig
from components.secret_keys import SecretKey
from components.secrets import (
    VaultKeyMissingError,
    VaultSecrets,
    VaultSecretsArgs,
    pick_keys,
    synced_secrets,
)
from engine.harness import HarnessError, run_program, run_stack
from engine.vault_fixture import KV_V2_READ, kv_v2_invokes, load_kv_fixture
from tests.test_secrets import DEV_POLICY, NS, POLICY, ROLE, VAULT_CONFIG
from tests.vault_fixtures import DIRECT, FAKE_VALUES, FAKE_VAULT, run_direct
from tools import render

# --- direct mode --------------------------------------------------------------------------------

def test_direct_mode_writes_secrets_with_only_the_needed_keys() -> None:
    run = run_direct()
    assert sorted(args["name"] for token, args in run.invokes if token == KV_V2_READ) == [
        "applications/openclaw", "tokens"]
    assert all(args["mount"] == "secret" for _, args in run.invokes)
    gateway = run.find("Secret", "openclaw-secrets").properties
    tokens = run.find("Secret", "openclaw-token-secrets").properties
    assert gateway["stringData"] == {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001",
                                     "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-0002"}
    assert tokens["stringData"] == {"DEEPSEEK_API_KEY": "fake-not-a-secret-0003",
                                    "TELEGRAM_BOT_TOKEN": "fake-not-a-secret-0004"}
    assert gateway["metadata"]["namespace"] == NS and gateway["type"] == "Opaque"
    # Nothing in the cluster logs in to Vault in this mode: no policy, no role, no operator CRs.
    assert not run.by_type(POLICY) and not run.by_type(ROLE)
    assert not any(r.properties["kind"].startswith("Vault") for r in run.kubernetes())
    deployment = run.find("Deployment", "openclaw")
    assert {run.find("Secret", n).urn for n in ("openclaw-secrets", "openclaw-token-secrets")} <= set(
        deployment.dependencies)


def test_direct_mode_every_value_is_a_pulumi_secret() -> None:
    run = run_direct()
    for record in run.by_type("kubernetes:core/v1:Secret"):
        for key in record.properties["stringData"]:
            path = f"stringData.{key}"
            assert any(path == p or path.startswith(p + ".") for p in record.secret_paths), (key, record.secret_paths)


def test_direct_mode_values_are_secret_outputs_of_the_component() -> None:
    settings = SecretsConfig(mode="direct")
    keys = [SecretKey("OPENCLAW_GATEWAY_TOKEN", "openclaw-secrets", "applications/openclaw"),
            SecretKey("DEEPSEEK_API_KEY", "openclaw-token-secrets", "tokens")]

    def program() -> None:
        component = VaultSecrets("vs", VaultSecretsArgs(namespace="ns9", service_account_name="sa9",
                                                        settings=settings, keys=keys))
        for secret, values in component.values.items():
            for key, value in values.items():
                pulumi.export(f"{secret}/{key}", value)

    run = run_program(program, config=VAULT_CONFIG, invokes=kv_v2_invokes(FAKE_VAULT))
    assert set(run.outputs) == {"openclaw-secrets/OPENCLAW_GATEWAY_TOKEN", "openclaw-token-secrets/DEEPSEEK_API_KEY"}
    assert all(output.secret for output in run.outputs.values())
    assert run.outputs["openclaw-token-secrets/DEEPSEEK_API_KEY"].value == "fake-not-a-secret-0003"
    assert {r.properties["metadata"]["namespace"] for r in run.kubernetes()} == {"ns9"}


def test_a_missing_key_fails_naming_path_and_key() -> None:
    vault = {"applications/openclaw": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001"},
             "tokens": {**FAKE_VAULT["tokens"], "TELEGRAM_BOT_TOKEN": ""}}
    with pytest.raises(VaultKeyMissingError) as info:
        run_direct(vault=vault)
    message = str(info.value)
    assert message.splitlines() == [
        "Vault lacks keys the deployment needs (the pod would not start):",
        "  - secret/applications/openclaw has no key OPENCLAW_DB_PASSWORD (needed in Secret openclaw-secrets): "
        "`vault kv patch -mount=secret applications/openclaw OPENCLAW_DB_PASSWORD=...`",
        "  - secret/tokens has an empty value for TELEGRAM_BOT_TOKEN (needed in Secret openclaw-token-secrets): "
        "`vault kv patch -mount=secret tokens TELEGRAM_BOT_TOKEN=...`"]
    assert isinstance(info.value, pulumi.RunError)  # printed without a traceback by the CLI
    assert not any(v in message for v in FAKE_VALUES)


def test_pick_keys_returns_only_the_listed_keys() -> None:
    (gateway,) = synced_secrets([SecretKey("OPENCLAW_GATEWAY_TOKEN", "s", "applications/openclaw")])
    assert pick_keys([gateway], "secret", FAKE_VAULT) == {"s": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001"}}
    with pytest.raises(VaultKeyMissingError, match="secret/applications/openclaw has no key OPENCLAW_GATEWAY_TOKEN"):
        pick_keys([gateway], "secret", {"applications/openclaw": None})


def test_no_secret_value_in_rendered_files_config_maps_or_outputs(tmp_path: Path) -> None:
    run = run_direct()
    written = render.write_render(run, tmp_path)
    assert written
    texts = {p: p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file()}
    for path, text in texts.items():
        for value in FAKE_VALUES:
            assert value not in text, (path, value)
    secret_file = tmp_path / "kubernetes" / "openclaw.secret.openclaw-secrets.yaml"
    assert yaml.safe_load(secret_file.read_text(encoding="utf-8"))["stringData"] == {
        "OPENCLAW_GATEWAY_TOKEN": "[secret]", "OPENCLAW_DB_PASSWORD": "[secret]"}
    config_maps = [r for r in run.kubernetes() if r.properties["kind"] == "ConfigMap"]
    assert config_maps
    outputs = json.dumps({k: v.value for k, v in run.outputs.items()})
    for value in FAKE_VALUES:
        assert value not in json.dumps([c.properties for c in config_maps])
        assert value not in outputs


def test_render_of_dev_puts_vault_objects_under_other_and_crs_under_kubernetes(tmp_path: Path) -> None:
    assert render.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    other = sorted(p.name for p in (tmp_path / "other").iterdir())
    assert other == ["vault.index.policy.Policy.openclaw-vault-policy.yaml",
                     "vault.kubernetes.authBackendRole.AuthBackendRole.openclaw-vault-role.yaml"]
    policy = yaml.safe_load((tmp_path / "other" / other[0]).read_text(encoding="utf-8"))
    assert policy["properties"]["policy"].split("\n", 1)[1] == DEV_POLICY
    kube = {p.name for p in (tmp_path / "kubernetes").iterdir()}
    assert {"openclaw.vaultauth.openclaw.yaml", "openclaw.vaultstaticsecret.openclaw-secrets.yaml",
            "openclaw.vaultstaticsecret.openclaw-token-secrets.yaml"} <= kube
    assert not any(".secret." in name for name in kube)


def test_render_of_a_direct_stack_takes_a_vault_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # No stack file is in direct mode: the render's run gets the override.
    monkeypatch.setattr(render, "run_stack", lambda stack, invokes: run_stack(stack, overrides=DIRECT,
                                                                                invokes=invokes))
    assert render.main(["--stack", "dev", "--out", str(tmp_path / "none")]) == 2
    assert "this stack reads Vault: pass --vault-fixture FILE" in capsys.readouterr().err
    fixture = tmp_path / "vault.json"
    fixture.write_text(json.dumps(FAKE_VAULT), encoding="utf-8")
    assert render.main(["--stack", "dev", "--out", str(tmp_path / "out"), "--vault-fixture", str(fixture)]) == 0
    secret = yaml.safe_load((tmp_path / "out" / "kubernetes" / "openclaw.secret.openclaw-token-secrets.yaml")
                            .read_text(encoding="utf-8"))
    assert secret["stringData"] == {k: "[secret]" for k in secret["stringData"]} and secret["stringData"]
    rendered = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*.yaml"))
    assert not any(v in rendered for v in FAKE_VALUES)


def test_vault_fixture_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"tokens": {"A": 1}}', encoding="utf-8")
    with pytest.raises(HarnessError, match="string values"):
        load_kv_fixture(bad)
    with pytest.raises(HarnessError, match="cannot read the Vault fixture"):
        load_kv_fixture(tmp_path / "missing.json")
    with pytest.raises(HarnessError, match=r"no secret at secret/elsewhere"):
        kv_v2_invokes({})[KV_V2_READ]({"mount": "secret", "name": "elsewhere"})
