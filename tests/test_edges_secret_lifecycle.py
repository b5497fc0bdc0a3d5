"""Edges of the Vault objects' ownership checks and the rotation annotation
(components/secret_lifecycle.py): a role bound to exactly this ServiceAccount in this namespace, from
both sides of each binding (a second name, a second namespace, a selector), adoption; a policy this
stack's by its header or its exact text, someone else's named by its first line; the names of a
`sys/policy` answer in each shape; the policy looked up at preview only when listed; and the KV
versions that roll the pod."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pulumi
import pulumi_vault as vault
import pytest

from components.config import ConfigError
from components.secret_lifecycle import (
    check_policy_owner,
    check_role_owner,
    checked_policy_name,
    listed_policies,
    policy_header,
    vault_versions,
)
from engine import harness
from engine.harness import VAULT_GENERIC_READ, run_program, vault_policies

OURS: dict[str, Any] = {"mount": "kubernetes", "role": "openclaw", "service_account": "openclaw", "namespace": "team-a",
        "adopt": False}
HEADER = "# Managed by Pulumi: openclaw/prod (openclaw:secrets.policy)\n"
DESIRED = HEADER + 'path "secret/data/tokens" { capabilities = ["read"] }\n'


def _bound(names: list[str] | None = None, namespaces: list[str] | None = None, selector: str | None = None
           ) -> dict[str, Any]:
    live: dict[str, Any] = {}
    if names is not None:
        live["boundServiceAccountNames"] = names
    if namespaces is not None:
        live["boundServiceAccountNamespaces"] = namespaces
    if selector is not None:
        live["boundServiceAccountNamespaceSelector"] = selector
    return live


@pytest.mark.parametrize("live", [{}, _bound([], [], ""), _bound(None, None, None),
                                  _bound(["openclaw"], ["team-a"]), _bound(["openclaw"], ["team-a"], "")])
def test_no_role_or_one_bound_to_exactly_this_account_is_ours(live: dict[str, Any]) -> None:
    assert check_role_owner(live, **OURS) == "openclaw"


@pytest.mark.parametrize(("live", "bound"), [
    (_bound(["openclaw", "other"], ["team-a"]), "ServiceAccounts ['openclaw', 'other'] in namespaces ['team-a']"),
    (_bound(["openclaw"], ["team-a", "team-b"]), "ServiceAccounts ['openclaw'] in namespaces ['team-a', 'team-b']"),
    (_bound(["other"], ["team-a"]), "ServiceAccounts ['other'] in namespaces ['team-a']"),
    (_bound(["openclaw"], ["team-b"]), "ServiceAccounts ['openclaw'] in namespaces ['team-b']"),
    (_bound(["openclaw"], []), "ServiceAccounts ['openclaw'] in namespaces []"),
    (_bound([], ["team-a"]), "ServiceAccounts [] in namespaces ['team-a']"),
    (_bound(["openclaw"], ["team-a"], "app=x"),
     "ServiceAccounts ['openclaw'] in namespaces ['team-a'] (namespace selector 'app=x')"),
    (_bound(None, None, "app=x"), "ServiceAccounts [] in namespaces [] (namespace selector 'app=x')"),
])
def test_a_role_bound_to_anything_more_or_else_is_someone_elses(live: dict[str, Any], bound: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_role_owner(live, **OURS)
    assert str(info.value) == (
        f"openclaw:secrets.role: the Vault role auth/kubernetes/role/openclaw exists and binds {bound}, not only "
        "team-a/openclaw: it belongs to someone else and writing it would lock them out. Pick another "
        "openclaw:secrets.role, or set openclaw:secrets.adoptVaultObjects: true to take it over")
    assert check_role_owner(live, **{**OURS, "adopt": True}) == "openclaw"


def test_the_policy_header_names_the_project_and_stack() -> None:
    assert policy_header("openclaw", "prod") == HEADER


@pytest.mark.parametrize("live", [None, HEADER, HEADER + "anything older", DESIRED])
def test_no_policy_or_this_stacks_own_passes(live: str | None) -> None:
    assert check_policy_owner(live, name="openclaw", header=HEADER, desired=DESIRED, adopt=False) == "openclaw"


@pytest.mark.parametrize(("live", "first"), [
    ('path "x" { capabilities = ["read"] }\n', 'path "x" { capabilities = ["read"] }'),
    ("\n\n  # Managed by Pulumi: openclaw/dev (openclaw:secrets.policy)\nx\n",
     "# Managed by Pulumi: openclaw/dev (openclaw:secrets.policy)"),
    ("", "(empty)"),
    ("  \n ", "(empty)"),
    ("#" + "y" * 100, "#" + "y" * 79),
])
def test_someone_elses_policy_is_named_by_its_first_line(live: str, first: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_policy_owner(live, name="openclaw", header=HEADER, desired=DESIRED, adopt=False)
    assert str(info.value) == (
        f"openclaw:secrets.policy: the Vault policy 'openclaw' exists and is not this stack's (its first line: "
        f"{first!r}; this stack's starts with {HEADER.strip()!r}): the up would fail creating it, or overwrite "
        "someone else's access. Pick another openclaw:secrets.policy, or set openclaw:secrets.adoptVaultObjects: "
        "true to take it over (`vault policy read openclaw` first)")
    assert check_policy_owner(live, name="openclaw", header=HEADER, desired=DESIRED, adopt=True) == "openclaw"


@pytest.mark.parametrize(("listing", "names"), [
    ({"policies": '["default", "openclaw"]', "keys": '["other"]'}, ["default", "openclaw"]),
    ({"keys": '["default", "root"]'}, ["default", "root"]),
    ({"policies": ["a", 1]}, ["a", "1"]),
    ({"policies": "", "keys": ""}, []),
    ({}, []),
])
def test_the_names_of_a_policy_listing_in_each_shape(listing: dict[str, Any], names: list[str]) -> None:
    assert listed_policies(listing) == names


def _checked(policies: dict[str, str]) -> tuple[list[str], list[dict[str, Any]]]:
    got: list[str] = []

    def program() -> None:
        owner = pulumi.ComponentResource("test:index:Owner", "owner")
        checked_policy_name("openclaw", DESIRED, HEADER, False, owner).apply(got.append)

    run = run_program(program, invokes={VAULT_GENERIC_READ: vault_policies(policies)})
    return got, [args for token, args in run.invokes if token == VAULT_GENERIC_READ]


def test_a_policy_not_listed_is_not_read() -> None:
    got, reads = _checked({"openclaw-old": "foreign"})
    assert got == ["openclaw"] and reads == [{"path": "sys/policy"}]


def test_a_listed_policy_is_read_and_judged() -> None:
    got, reads = _checked({"openclaw": HEADER + "old"})
    assert got == ["openclaw"] and reads == [{"path": "sys/policy"}, {"path": "sys/policies/acl/openclaw"}]
    with pytest.raises(ConfigError, match=r"^openclaw:secrets.policy: the Vault policy 'openclaw' exists"):
        _checked({"openclaw": "foreign"})


def test_the_versions_that_roll_the_pod() -> None:
    assert vault_versions("secret", ["applications/openclaw", "tokens"], [3, "12"]) == (
        "secret/applications/openclaw=3 secret/tokens=12")
    assert vault_versions("kv", [], []) == ""
    with pytest.raises(ValueError):
        vault_versions("kv", ["a", "b"], [1])


def _through_parent_provider(policies: dict[str, str], document: str = DESIRED, adopt: bool = False
                             ) -> tuple[list[str], list[tuple[str, str]]]:
    """checked_policy_name under a parent whose Vault provider is explicit: the name it gives, and
    the provider each lookup went through."""
    got: list[str] = []
    providers: list[tuple[str, str]] = []

    class Mocks(harness.RecordingMocks):
        def call(self, args: Any) -> Any:
            providers.append((args.args.get("path"), args.provider))
            return super().call(args)

    def program() -> None:
        provider = vault.Provider("team-vault", address="https://vault.example.test:8200")
        owner = pulumi.ComponentResource("test:index:Owner", "owner",
                                         opts=pulumi.ResourceOptions(providers={"vault": provider}))
        checked_policy_name("openclaw", document, HEADER, adopt, owner).apply(got.append)

    with mock.patch.object(harness, "RecordingMocks", Mocks):
        run_program(program, invokes={VAULT_GENERIC_READ: vault_policies(policies)})
    return got, providers


def test_both_lookups_go_through_the_parents_vault_provider() -> None:
    got, providers = _through_parent_provider({"openclaw": HEADER + "old"})
    assert got == ["openclaw"]
    assert [path for path, _ in providers] == ["sys/policy", "sys/policies/acl/openclaw"]
    assert {provider.split("::")[-2] for _, provider in providers} == {"team-vault"}


def test_a_live_policy_that_already_says_exactly_what_is_written_is_ours_without_a_header() -> None:
    document = 'path "secret/data/tokens" { capabilities = ["read"] }\n'
    assert _through_parent_provider({"openclaw": document}, document=document)[0] == ["openclaw"]
    with pytest.raises(ConfigError):
        _through_parent_provider({"openclaw": document + "# more\n"}, document=document)


def test_adoption_takes_someone_elses_policy_over_at_preview_too() -> None:
    assert _through_parent_provider({"openclaw": "foreign"}, adopt=True)[0] == ["openclaw"]
