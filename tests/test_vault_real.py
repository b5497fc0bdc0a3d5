"""The program's Vault side against a real Vault API: OpenBao's dev server (tests/support/vault_dev.py).

The rendered policy and role are written as pulumi-vault writes them; a token holding only that
policy is then tried on every path it must and must not reach; direct mode reads KV v2 from the
server. Fake values only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.config import ConfigError
from components.secrets import VaultKeyMissingError
from engine.harness import REPO, VAULT_GENERIC_READ, RunResult, run_stack
from tests.support.vault_dev import DevVault, generic_read_server_invokes, kv_v2_server_invokes, role_write_body
from tests.vault_fixtures import DIRECT, FAKE_VAULT

POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
DEV_SECRETS = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]["openclaw:secrets"]
OLD = {"applications/openclaw": {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-old1",
                                 "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-old2"},
       "tokens": {"DEEPSEEK_API_KEY": "fake-not-a-secret-old3", "TELEGRAM_BOT_TOKEN": "fake-not-a-secret-old4"}}


@pytest.fixture(scope="module")
def vault() -> Iterator[DevVault]:
    """One server for the module: `secret/` (KV v2) holds a rotated-out version 1 and a current
    version 2 of each path; another KV v2 mount holds the same paths."""
    with DevVault() as server:
        server.ok("POST", "sys/auth/kubernetes", {"type": "kubernetes"})
        server.ok("POST", "sys/mounts/other", {"type": "kv", "options": {"version": "2"}})
        for path in FAKE_VAULT:
            assert server.kv_put("secret", path, OLD[path]) == 1
            assert server.kv_put("secret", path, FAKE_VAULT[path]) == 2
            server.kv_put("other", path, FAKE_VAULT[path])
        server.kv_put("secret", "tokens2", {"X": "fake-not-a-secret-0008"})
        server.kv_put("secret", "applications/openclaw-staging", {"X": "fake-not-a-secret-0009"})
        server.kv_put("secret", "tokens/nested", {"X": "fake-not-a-secret-0010"})
        yield server


def _one(run: RunResult, type_: str) -> dict[str, Any]:
    (record,) = run.by_type(type_)
    return record.properties


@pytest.fixture(scope="module")
def applied(vault: DevVault, dev: RunResult) -> str:
    """The dev stack's policy and role written to the server; returns a token of only that policy."""
    policy = _one(dev, POLICY)
    status, answer = vault.request("PUT", f"sys/policies/acl/{policy['name']}", {"policy": policy["policy"]})
    assert status in (200, 204), answer
    return vault.token_with(policy["name"])


def test_the_server_keeps_the_policy_text_as_rendered(vault: DevVault, dev: RunResult, applied: str) -> None:
    policy = _one(dev, POLICY)
    assert vault.ok("GET", f"sys/policies/acl/{policy['name']}")["data"]["policy"] == policy["policy"]


def test_the_role_is_accepted_with_every_field_the_provider_sends(vault: DevVault, dev: RunResult) -> None:
    props = _one(dev, ROLE)
    body = role_write_body(props)
    assert set(body) == {"bound_service_account_names", "bound_service_account_namespaces",
                         "bound_service_account_namespace_selector", "audience", "token_policies",
                         "token_ttl", "token_max_ttl", "token_type"}
    status, answer = vault.request("POST", f"auth/{props['backend']}/role/{props['roleName']}", body)
    assert status in (200, 204), answer
    # The server drops a field it does not know without an error: every field sent must come back.
    stored = vault.ok("GET", f"auth/{props['backend']}/role/{props['roleName']}")["data"]
    assert {key: stored.get(key) for key in body} == body
    assert stored["bound_service_account_names"] == ["openclaw"]
    assert stored["bound_service_account_namespaces"] == ["openclaw"]
    assert (stored["audience"], stored["token_policies"]) == ("vault", ["openclaw"])
    assert (stored["token_ttl"], stored["token_max_ttl"]) == (600, 1800)


def test_a_field_the_server_does_not_know_is_not_echoed(vault: DevVault) -> None:
    """The check above can fail: a misspelt field is dropped silently, so the read-back misses it."""
    body = {"bound_service_account_names": ["x"], "bound_service_account_namespaces": ["x"],
            "token_polices": ["typo"]}
    assert vault.request("POST", "auth/kubernetes/role/probe", body)[0] in (200, 204)
    stored = vault.ok("GET", "auth/kubernetes/role/probe")["data"]
    assert "token_polices" not in stored and stored["token_policies"] == []


@pytest.mark.parametrize("path", ["applications/openclaw", "tokens"])
def test_the_current_version_is_readable(vault: DevVault, applied: str, path: str) -> None:
    status, answer = vault.request("GET", f"secret/data/{path}", token=applied)
    assert status == 200
    assert answer["data"]["data"] == FAKE_VAULT[path]
    assert answer["data"]["metadata"]["version"] == 2


DENIED = [
    # rotated-out (and even the current) version by number
    ("GET", "secret/data/tokens?version=1"),
    ("GET", "secret/data/applications/openclaw?version=1"),
    ("GET", "secret/data/tokens?version=2"),
    ("GET", "secret/data/tokens?version=0"),
    # metadata (lists every version) and lists
    ("GET", "secret/metadata/tokens"),
    ("GET", "secret/metadata/applications/openclaw"),
    ("LIST", "secret/metadata/"),
    ("LIST", "secret/metadata/applications/"),
    ("GET", "secret/subkeys/tokens"),
    # writes and deletes
    ("POST", "secret/data/tokens"),
    ("PUT", "secret/data/tokens"),
    ("DELETE", "secret/data/tokens"),
    ("POST", "secret/delete/tokens"),
    ("POST", "secret/undelete/tokens"),
    ("POST", "secret/destroy/tokens"),
    ("DELETE", "secret/metadata/tokens"),
    # look-alike paths
    ("GET", "secret/data/tokens2"),
    ("GET", "secret/data/tokens/nested"),
    ("GET", "secret/data/applications/openclaw-staging"),
    ("GET", "secret/data/applications"),
    ("GET", "secret/tokens"),
    # the same paths on another mount
    ("GET", "other/data/tokens"),
    ("GET", "other/data/applications/openclaw"),
    # the server itself
    ("GET", "sys/policies/acl/openclaw"),
    ("LIST", "sys/policies/acl"),
    ("GET", "sys/mounts"),
    ("GET", "auth/kubernetes/role/openclaw"),
    ("POST", "auth/token/create"),
]


@pytest.mark.parametrize("method,path", DENIED)
def test_everything_else_is_denied(vault: DevVault, applied: str, method: str, path: str) -> None:
    body = {"data": {"X": "fake-not-a-secret-0011"}} if method in ("POST", "PUT") else None
    status, answer = vault.request(method, path, body, token=applied)
    assert status == 403, (status, answer)


def test_the_version_denial_is_the_policy_s_doing(vault: DevVault, applied: str) -> None:
    """Without its `denied_parameters` line the same policy hands out the rotated-out value."""
    policy = vault.ok("GET", "sys/policies/acl/openclaw")["data"]["policy"]
    loose = "\n".join(line for line in policy.splitlines()
                      if "denied_parameters" not in line and '"version"' not in line)
    loose = loose.replace("]\n  }\n}", "]\n}")  # drop the closing brace of the removed block
    vault.ok("PUT", "sys/policies/acl/openclaw-loose", {"policy": loose})
    token = vault.token_with("openclaw-loose")
    status, answer = vault.request("GET", "secret/data/tokens?version=1", token=token)
    assert status == 200 and answer["data"]["data"] == OLD["tokens"]


# --- direct mode: the program's KV v2 reads answered by the server -------------------------------

def test_direct_mode_writes_the_current_values(vault: DevVault, applied: str) -> None:
    # The token of the rendered policy is enough for direct mode too (README: read on the data paths).
    run = run_stack("dev", overrides=DIRECT, invokes=kv_v2_server_invokes(vault, applied))
    secrets = {r.properties["metadata"]["name"]: r.properties["stringData"]
               for r in run.kubernetes() if r.properties["kind"] == "Secret"}
    assert secrets == {
        "openclaw-secrets": {k: FAKE_VAULT["applications/openclaw"][k]
                             for k in ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_DB_PASSWORD")},
        "openclaw-token-secrets": {k: FAKE_VAULT["tokens"][k] for k in ("DEEPSEEK_API_KEY", "TELEGRAM_BOT_TOKEN")},
    }
    assert [(name, args["mount"], args["name"]) for name, args in run.invokes] == [
        ("vault:kv/getSecretV2:getSecretV2", "secret", "applications/openclaw"),
        ("vault:kv/getSecretV2:getSecretV2", "secret", "tokens")]


def test_direct_mode_missing_key_names_path_key_and_fix(vault: DevVault) -> None:
    vault.kv_put("secret", "partial/tokens", {"DEEPSEEK_API_KEY": "fake-not-a-secret-0012"})
    with pytest.raises(VaultKeyMissingError) as err:
        run_stack("dev", overrides={**DIRECT,
                                    "openclaw:secrets": {"mode": "direct", "tokenVaultPath": "partial/tokens"}},
                  invokes=kv_v2_server_invokes(vault))
    message = str(err.value)
    assert "secret/partial/tokens has no key TELEGRAM_BOT_TOKEN (needed in Secret openclaw-token-secrets)" in message
    assert "vault kv patch -mount=secret partial/tokens TELEGRAM_BOT_TOKEN=..." in message
    assert message.count("\n  - ") == 1  # the key that is there is not reported
    assert "fake-not-a-secret" not in message


def test_direct_mode_missing_secret_names_the_path(vault: DevVault) -> None:
    with pytest.raises(Exception, match=r'no secret found at "secret/data/nowhere/openclaw"') as err:
        run_stack("dev", overrides={**DIRECT,
                                    "openclaw:secrets": {"mode": "direct", "gatewayVaultPath": "nowhere/openclaw"}},
                  invokes=kv_v2_server_invokes(vault))
    assert "fake-not-a-secret" not in str(err.value)


# --- the policy lookup at preview: a foreign policy of the same name stops it -------------------------

PREVIEW_READS = """
path "sys/policy" { capabilities = ["read"] }
path "sys/policies/acl/openclaw" { capabilities = ["read"] }
path "auth/kubernetes/role/openclaw" { capabilities = ["read"] }
"""


def _policy_names(run: RunResult) -> list[str]:
    return [args["path"] for name, args in run.invokes if name == VAULT_GENERIC_READ]


def test_no_policy_of_that_name_reads_only_the_list(vault: DevVault) -> None:
    vault.ok("DELETE", "sys/policies/acl/openclaw")
    run = run_stack("dev", invokes=generic_read_server_invokes(vault))
    assert _policy_names(run) == ["sys/policy"]  # the listing has no `openclaw`: its text is not read
    assert _one(run, POLICY)["name"] == "openclaw"


def test_a_foreign_policy_of_the_same_name_stops_the_preview(vault: DevVault) -> None:
    other = 'path "secret/data/other-app" {\n  capabilities = ["read"]\n}\n'
    vault.ok("PUT", "sys/policies/acl/openclaw", {"policy": other})
    with pytest.raises(ConfigError) as info:
        run_stack("dev", invokes=generic_read_server_invokes(vault))
    message = str(info.value)
    assert message.startswith("openclaw:secrets.policy: the Vault policy 'openclaw' exists and is not this stack's "
                              "(its first line: 'path \"secret/data/other-app\" {'")
    assert "openclaw:secrets.adoptVaultObjects: true" in message and "vault policy read openclaw" in message
    # Adopting it is an explicit choice, and then the run goes on.
    adopted = run_stack("dev", overrides={"openclaw:secrets": {**DEV_SECRETS, "adoptVaultObjects": True}},
                        invokes=generic_read_server_invokes(vault))
    assert _one(adopted, POLICY)["allowOverwrite"] is True


def test_the_stacks_own_policy_even_an_older_text_is_recognised(vault: DevVault, dev: RunResult) -> None:
    own = _one(dev, POLICY)["policy"]
    older = own.split("\n\n")[0] + "\n"  # this stack's header and one path: what an earlier up wrote
    for text in (own, older):
        vault.ok("PUT", "sys/policies/acl/openclaw", {"policy": text})
        assert vault.ok("GET", "sys/policies/acl/openclaw")["data"]["policy"] == text  # the server keeps the comment
        run = run_stack("dev", invokes=generic_read_server_invokes(vault))
        assert _policy_names(run) == ["sys/policy", "sys/policies/acl/openclaw"]


def test_another_stacks_policy_is_foreign(vault: DevVault, dev: RunResult) -> None:
    prod_text = _one(dev, POLICY)["policy"].replace("openclaw/dev", "openclaw/prod", 1) + "\n# more\n"
    vault.ok("PUT", "sys/policies/acl/openclaw", {"policy": prod_text})
    with pytest.raises(ConfigError, match="Managed by Pulumi: openclaw/prod"):
        run_stack("dev", invokes=generic_read_server_invokes(vault))


def test_the_preview_identitys_reads_are_enough_and_needed(vault: DevVault, dev: RunResult) -> None:
    vault.ok("PUT", "sys/policies/acl/openclaw", {"policy": _one(dev, POLICY)["policy"]})
    vault.ok("PUT", "sys/policies/acl/openclaw-preview", {"policy": PREVIEW_READS})
    token = vault.token_with("openclaw-preview")
    run = run_stack("dev", invokes=generic_read_server_invokes(vault, token))
    assert _policy_names(run) == ["sys/policy", "sys/policies/acl/openclaw"]
    # Without `read` on sys/policy the lookup fails the preview (the provider reads a 403 as nothing
    # found, an error): never a green preview that did not look.
    narrower = PREVIEW_READS.replace('"sys/policy"', '"sys/nope"')
    vault.ok("PUT", "sys/policies/acl/openclaw-preview", {"policy": narrower})
    with pytest.raises(Exception, match='no secret found at "sys/policy"'):
        run_stack("dev", invokes=generic_read_server_invokes(vault, vault.token_with("openclaw-preview")))
