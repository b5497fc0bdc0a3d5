"""Adoption of Vault objects: a Vault policy or role of the same name is never someone else's, silently.
An existing one stops the preview naming it and `openclaw:secrets.adoptVaultObjects`, unless it is this
stack's own (the policy's header) or adoption is on; direct mode creates and looks up none."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.secret_lifecycle import check_role_owner
from engine.harness import (
    VAULT_GENERIC_READ,
    VAULT_ROLE_LOOKUP,
    InvokeHandler,
    RunResult,
    no_vault_role,
    run_stack,
    vault_policies,
    vault_role,
)
from engine.vault_fixture import KV_V2_READ
from tests.test_adoption import POLICY, ROLE, secrets_config
from tests.vault_fixtures import run_direct

# --- Vault objects: never someone else's, silently (issue point 4) --------------------------------

def test_an_existing_policy_is_not_overwritten_unless_adopted(dev: RunResult) -> None:
    # terraform-provider-vault's policyCreate refuses an existing name only with allow_overwrite=false.
    (policy,) = dev.by_type(POLICY)
    assert policy.properties["allowOverwrite"] is False
    (adopted,) = run_stack("dev", overrides=secrets_config(adoptVaultObjects=True)).by_type(POLICY)
    assert adopted.properties["allowOverwrite"] is True


@pytest.mark.parametrize(("names", "namespaces", "selector"), [
    (["default"], ["*"], ""),                       # a shared role (the old VaultAuth's kind)
    (["openclaw", "grafana"], ["openclaw"], ""),     # one more ServiceAccount
    (["openclaw"], ["openclaw", "monitoring"], ""),  # one more namespace
    (["openclaw"], ["*"], ""),                       # every namespace
    (["openclaw"], [], '{"matchLabels":{"team":"ai"}}'),  # a namespace selector instead
    (["vso"], ["vault"], ""),                        # another app's role entirely
])
def test_someone_elses_role_is_refused_naming_the_role_and_the_setting(
        names: list[str], namespaces: list[str], selector: str) -> None:
    lookup = {VAULT_ROLE_LOOKUP: vault_role(names, namespaces, selector)}
    with pytest.raises(ConfigError) as info:
        run_stack("dev", invokes=lookup)
    message = str(info.value)
    assert message.startswith("openclaw:secrets.role: the Vault role auth/kubernetes/role/openclaw exists and "
                              f"binds ServiceAccounts {names} in namespaces {namespaces}")
    assert "openclaw:secrets.adoptVaultObjects: true" in message


def test_adopt_vault_objects_takes_someone_elses_role_over() -> None:
    lookup = {VAULT_ROLE_LOOKUP: vault_role(["default"], ["*"])}
    adopted = run_stack("dev", overrides=secrets_config(adoptVaultObjects=True), invokes=lookup)
    (role,) = adopted.by_type(ROLE)
    assert (role.properties["boundServiceAccountNames"], role.properties["boundServiceAccountNamespaces"]) == (
        ["openclaw"], ["openclaw"])


@pytest.mark.parametrize("lookup", [no_vault_role, vault_role(["openclaw"], ["openclaw"])], ids=["none", "ours"])
def test_no_role_or_our_own_role_is_written(lookup: InvokeHandler) -> None:
    run = run_stack("dev", invokes={VAULT_ROLE_LOOKUP: lookup})
    (role,) = run.by_type(ROLE)
    assert role.properties["roleName"] == "openclaw"
    assert run.invokes == [(VAULT_GENERIC_READ, {"path": "sys/policy"}),
                           (VAULT_ROLE_LOOKUP, {"roleName": "openclaw", "backend": "kubernetes"})]


# The policy: looked up at preview too (terraform-provider-vault checks only in policyCreate, at up).
HEADER = "# Managed by Pulumi: openclaw/dev (openclaw:secrets.policy)\n"


def _policy_text(run: RunResult) -> str:
    (policy,) = run.by_type(POLICY)
    return str(policy.properties["policy"])


@pytest.mark.parametrize("live", [
    'path "secret/data/other" {\n  capabilities = ["read"]\n}\n',              # another app's
    HEADER.replace("openclaw/dev", "openclaw/prod") + 'path "x" {}\n',          # another stack's
    "# Managed by Pulumi: openclaw/dev\n" + 'path "x" {}\n',                    # a look-alike header
    "",                                                                         # an empty policy
])
def test_a_policy_of_that_name_that_is_not_this_stacks_stops_the_preview(live: str) -> None:
    with pytest.raises(ConfigError) as info:
        run_stack("dev", invokes={VAULT_GENERIC_READ: vault_policies({"openclaw": live})})
    message = str(info.value)
    assert message.startswith("openclaw:secrets.policy: the Vault policy 'openclaw' exists and is not this stack's")
    assert "openclaw:secrets.adoptVaultObjects: true" in message and "vault policy read openclaw" in message


def test_this_stacks_policy_current_or_older_passes(dev: RunResult) -> None:
    for live in (_policy_text(dev), HEADER + 'path "secret/data/tokens" {}\n'):  # an earlier up wrote fewer paths
        run = run_stack("dev", invokes={VAULT_GENERIC_READ: vault_policies({"openclaw": live})})
        assert [args for name, args in run.invokes if name == VAULT_GENERIC_READ] == [
            {"path": "sys/policy"}, {"path": "sys/policies/acl/openclaw"}]


def test_a_headerless_copy_of_the_same_text_is_someone_elses() -> None:
    """Only the header or the exact text counts as ours: the same paths without the header were
    written by someone else (the old setup), and adopting them is an explicit choice."""
    live = _policy_text(run_stack("dev")).split("\n", 1)[1]
    with pytest.raises(ConfigError):
        run_stack("dev", invokes={VAULT_GENERIC_READ: vault_policies({"openclaw": live})})
    adopted = run_stack("dev", overrides=secrets_config(adoptVaultObjects=True),
                        invokes={VAULT_GENERIC_READ: vault_policies({"openclaw": live})})
    assert adopted.by_type(POLICY)[0].properties["allowOverwrite"] is True


def test_another_policy_name_in_vault_is_not_read() -> None:
    run = run_stack("dev", invokes={VAULT_GENERIC_READ: vault_policies({"openclaw-old": "foreign"})})
    assert [args for name, args in run.invokes if name == VAULT_GENERIC_READ] == [{"path": "sys/policy"}]


def test_role_check_edges() -> None:
    ours = {"mount": "k", "role": "r", "service_account": "openclaw", "namespace": "openclaw", "adopt": False}
    assert check_role_owner({}, **ours) == "r"
    assert check_role_owner({"boundServiceAccountNames": ["openclaw"],
                             "boundServiceAccountNamespaces": ["openclaw"]}, **ours) == "r"
    with pytest.raises(ConfigError, match="binds ServiceAccounts \\['openclaw'\\] in namespaces \\['openclaw2'\\]"):
        check_role_owner({"boundServiceAccountNames": ["openclaw"],
                          "boundServiceAccountNamespaces": ["openclaw2"]}, **ours)
    assert check_role_owner({"boundServiceAccountNames": ["x"]}, **{**ours, "adopt": True}) == "r"


def test_direct_mode_creates_no_vault_object_and_looks_none_up() -> None:
    run = run_direct()
    assert not run.by_type(POLICY) and not run.by_type(ROLE)
    assert {token for token, _ in run.invokes} == {KV_V2_READ}
