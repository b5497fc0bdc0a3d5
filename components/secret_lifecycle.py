"""What the secrets do on the first `up` and every later one, as the real providers and operator behave.

Read from their source:
- Vault objects are never taken over silently. terraform-provider-vault's `vault_policy` create
  overwrites a policy of the same name unless `allow_overwrite = false` (vault/resource_policy.go,
  `policyCreate`), and its Kubernetes auth role create is a plain write
  (vault/resource_kubernetes_auth_backend_role.go): so the policy gets `allow_overwrite` =
  `secrets.adoptVaultObjects`, and the role is looked up first and refused when it binds anything
  but this deployment's ServiceAccount in its namespace. `policyCreate`'s existence check runs only
  when the provider applies (the preview was green, the up failed halfway), so the policy is looked
  up at preview too: its name in `GET sys/policy`, then its text, whose first line names the stack
  that wrote it (`policy_header`).
- The Vault Secrets Operator writes a destination Secret only if it owns it (owner labels plus an
  owner reference to the VaultStaticSecret); `destination.overwrite` lifts that only for a Secret
  without the operator's owner labels (vault-secrets-operator helpers/secrets.go, `SyncSecret`).
  Deleting a VaultStaticSecret garbage-collects the Secret it owns, so ours are deleted with orphan
  propagation (`pulumi.com/deletionPropagationPolicy`), and the Deployment waits for
  `condition=SecretSynced` (`pulumi.com/waitFor`, pulumi-kubernetes provider/pkg/metadata/overrides.go)
  so a new pod never starts before its Secrets hold data.
- Direct mode: a rotation changes the Secret, not the Deployment; the pod template carries the KV v2
  version numbers read (never a value or a hash of one), so a new version rolls the pod.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_vault as vault

from components.config import ConfigError

# Vault's policy endpoints: the names (GET lists them, needs `read`) and one policy's text.
POLICY_LIST_PATH = "sys/policy"
POLICY_PATH = "sys/policies/acl"
# pulumi-kubernetes annotations (provider/pkg/metadata/annotations.go).
WAIT_FOR = "pulumi.com/waitFor"
DELETION_PROPAGATION = "pulumi.com/deletionPropagationPolicy"
SYNCED_CONDITION = "condition=SecretSynced"  # VSO's condition type (consts/types.go TypeSecretSynced)
# Pod template annotation: "<mount>/<path>=<KV v2 version>" per path read; changes on every rotation.
VAULT_VERSIONS_ANNOTATION = "openclaw.lumie.example/vault-versions"


def check_role_owner(live: Mapping[str, Any], *, mount: str, role: str, service_account: str,
                     namespace: str, adopt: bool) -> str:
    """The role name, once the live role of that name (if any) is this deployment's own: bound to
    exactly its ServiceAccount in its namespace. Anything else is someone else's role (another app
    may log in with it): ConfigError, unless `secrets.adoptVaultObjects` takes it over explicitly.

    The lookup's result for a missing role has no bindings (the data source sets an empty ID and
    no fields), and a Kubernetes auth role cannot exist without bound ServiceAccount names."""
    names = list(live.get("boundServiceAccountNames") or [])
    namespaces = list(live.get("boundServiceAccountNamespaces") or [])
    selector = live.get("boundServiceAccountNamespaceSelector") or ""
    if not names and not namespaces and not selector:
        return role  # none yet: the up creates it
    if adopt or (names == [service_account] and namespaces == [namespace] and not selector):
        return role
    bound = f"ServiceAccounts {names} in namespaces {namespaces}" + (
        f" (namespace selector {selector!r})" if selector else "")
    raise ConfigError(
        f"openclaw:secrets.role: the Vault role auth/{mount}/role/{role} exists and binds {bound}, not only "
        f"{namespace}/{service_account}: it belongs to someone else and writing it would lock them out. Pick "
        "another openclaw:secrets.role, or set openclaw:secrets.adoptVaultObjects: true to take it over")


def policy_header(project: str, stack: str) -> str:
    """The first line of the policy this stack writes: HCL ignores a comment, Vault keeps the text as
    written (sys/policies/acl returns it), so the preview can tell its own policy from another's."""
    return f"# Managed by Pulumi: {project}/{stack} (openclaw:secrets.policy)\n"


def listed_policies(listing: Mapping[str, Any]) -> list[str]:
    """The names in a `GET sys/policy` answer as the generic data source returns it: every
    non-string value JSON-encoded (terraform-provider-vault vault/data_source_generic_secret.go)."""
    raw = listing.get("policies") or listing.get("keys") or "[]"
    names = json.loads(raw) if isinstance(raw, str) else raw
    return [str(n) for n in names]


def check_policy_owner(live_text: str | None, *, name: str, header: str, desired: str, adopt: bool) -> str:
    """The policy name, once the live policy of that name (None: none) is this stack's own: it starts
    with this stack's header, or already says exactly what the program writes. Anything else is
    someone else's: terraform-provider-vault's create would fail on it (`policyCreate`: "policy %q
    already exists", allow_overwrite false), or, adopted, overwrite it."""
    if live_text is None or adopt or live_text.startswith(header) or live_text == desired:
        return name
    first = (live_text.strip().splitlines() or ["(empty)"])[0][:80]
    raise ConfigError(
        f"openclaw:secrets.policy: the Vault policy {name!r} exists and is not this stack's (its first line: "
        f"{first!r}; this stack's starts with {header.strip()!r}): the up would fail creating it, or overwrite "
        "someone else's access. Pick another openclaw:secrets.policy, or set openclaw:secrets.adoptVaultObjects: "
        f"true to take it over (`vault policy read {name}` first)")


def checked_policy_name(policy: str, document: str, header: str, adopt: bool,
                        parent: pulumi.Resource) -> pulumi.Output[str]:
    """The policy name once the live policy of that name (if any) is known to be this stack's, read
    at preview like the role: `GET sys/policy` (the names), then `GET sys/policies/acl/<name>` only
    when it is listed (the generic data source fails on a path that does not exist)."""
    invoke = pulumi.InvokeOutputOptions(parent=parent)

    def owner(listing: dict[str, str]) -> pulumi.Output[str]:
        if policy not in listed_policies(listing):
            return pulumi.Output.from_input(policy)
        live = vault.generic.get_secret_output(path=f"{POLICY_PATH}/{policy}", opts=invoke)
        return live.data.apply(lambda data: check_policy_owner(
            data.get("policy"), name=policy, header=header, desired=document, adopt=adopt))

    listing = vault.generic.get_secret_output(path=POLICY_LIST_PATH, opts=invoke)
    # The data source marks its data secret; a policy name and the list of names are not.
    return pulumi.Output.unsecret(listing.data.apply(owner))


def vault_versions(mount: str, paths: Sequence[str], versions: Sequence[Any]) -> str:
    """`<mount>/<path>=<version>` per path: what rolls the pod on a rotation (direct mode). A version
    number is metadata Vault assigns on each write; nothing about the value can be learned from it."""
    return " ".join(f"{mount}/{p}={int(v)}" for p, v in zip(paths, versions, strict=True))
