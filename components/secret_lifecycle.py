"""What the secrets do on the first `up` and every later one, as the real providers and operator behave.

Read from their source:
- Vault objects are never taken over silently. terraform-provider-vault's `vault_policy` create
  overwrites a policy of the same name unless `allow_overwrite = false` (vault/resource_policy.go,
  `policyCreate`), and its Kubernetes auth role create is a plain write
  (vault/resource_kubernetes_auth_backend_role.go): so the policy gets `allow_overwrite` =
  `secrets.adoptVaultObjects`, and the role is looked up first and refused when it binds anything
  but this deployment's ServiceAccount in its namespace.
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

from collections.abc import Mapping, Sequence
from typing import Any

from components.config import ConfigError

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


def vault_versions(mount: str, paths: Sequence[str], versions: Sequence[Any]) -> str:
    """`<mount>/<path>=<version>` per path: what rolls the pod on a rotation (direct mode). A version
    number is metadata Vault assigns on each write; nothing about the value can be learned from it."""
    return " ".join(f"{mount}/{p}={int(v)}" for p, v in zip(paths, versions, strict=True))
