"""The gateway's secrets from Vault, least-privilege: only the keys `required_secret_keys` lists.

Two modes (`openclaw:secrets.mode`):
- operator (default): a Vault policy that reads exactly the KV v2 paths used, a Kubernetes auth
  role bound to the gateway's ServiceAccount in its namespace only, a `VaultAuth` using that role
  and one `VaultStaticSecret` per Kubernetes Secret. The Vault Secrets Operator writes the
  Secrets; their values never enter Pulumi state.
- direct (clusters without the operator): Pulumi reads the KV v2 secrets and writes the Secrets,
  every value a Pulumi secret (encrypted in state). Nothing in the cluster logs in to Vault, so
  no policy or role is created. A rotation lands at the next `pulumi up`.
The Vault provider is the default one, configured by the stack (`vault:address`, and `vault:token`
as a secret or `VAULT_TOKEN`).

What happens on the first and every later `up` (ownership, rollouts): components/secret_lifecycle.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.config import ConfigError, SecretsConfig
from components.gateway import DEPLOYMENT_NAME
from components.labels import common_labels
from components.secret_keys import SecretKey
from components.secret_lifecycle import (
    DELETION_PROPAGATION,
    SYNCED_CONDITION,
    VAULT_VERSIONS_ANNOTATION,
    WAIT_FOR,
    check_role_owner,
    checked_policy_name,
    policy_header,
    vault_versions,
)

VSO_API_VERSION = "secrets.hashicorp.com/v1beta1"
VAULT_AUTH_NAME = "openclaw"
# Below 600 s the operator refuses the ServiceAccount token (CRD minimum).
SA_TOKEN_SECONDS = 600


class VaultKeyMissingError(ConfigError):
    """Vault lacks a key the deployment needs (direct mode): the preview stops, naming each one."""


@dataclass(frozen=True)
class SyncedSecret:
    """One Kubernetes Secret, fed from one KV v2 path, holding exactly these keys."""

    name: str
    vault_path: str
    keys: tuple[str, ...]


def synced_secrets(keys: Sequence[SecretKey]) -> list[SyncedSecret]:
    """The Secrets to create, in order of first use; one Vault path per Secret."""
    grouped: dict[str, list[SecretKey]] = {}
    for key in keys:
        grouped.setdefault(key.secret, []).append(key)
    result = []
    for name, members in grouped.items():
        paths = sorted({k.vault_path for k in members})
        if len(paths) != 1:
            raise ConfigError(f"Secret {name!r} would be synced from several Vault paths {paths}: "
                              "give each path its own Secret (openclaw:secrets)")
        result.append(SyncedSecret(name, paths[0], tuple(dict.fromkeys(k.env for k in members))))
    return result


def kv_data_path(mount: str, path: str) -> str:
    """The API path a KV v2 read needs capabilities on."""
    return f"{mount}/data/{path}"


def policy_document(mount: str, paths: Sequence[str]) -> str:
    """HCL granting `read` on the current version of exactly these KV v2 paths: no list, no
    metadata, no glob, and no `?version=N` read of a rotated-out value.

    A KV v2 read takes the version as a query parameter, which Vault's ACL checks as a request
    parameter; `denied_parameters` on `version` refuses any read that names one (even the current
    number). The operator names a version only when `VaultStaticSecret.spec.version` is set
    (hashicorp/vault-secrets-operator v1.4.1, vault/requests.go: kvReadRequestV2.Values), which
    this program never sets. Proven against a real OpenBao server in tests/test_vault_real.py."""
    blocks = [f'path "{kv_data_path(mount, p)}" {{\n  capabilities = ["read"]\n'
              '  denied_parameters = {\n    "version" = []\n  }\n}\n'
              for p in sorted(set(paths))]
    return "\n".join(blocks)


def check_vault_provider_config() -> None:
    """Fail early, naming the key, when the default Vault provider cannot be configured safely."""
    cfg = pulumi.Config("vault")
    address = cfg.get("address") or os.environ.get("VAULT_ADDR")
    if not address:
        raise ConfigError("vault:address is not set: set the Vault server URL with "
                          "`pulumi config set vault:address https://vault.example:8200` (or export VAULT_ADDR)")
    if not re.match(r"^https?://[^\s/]+", address):
        raise ConfigError(f"vault:address must be a URL such as https://vault.example:8200 (got {address!r})")
    if cfg.get("token") is not None and not pulumi.runtime.is_config_secret("vault:token"):
        raise ConfigError("vault:token is stored in plain text: remove it and use "
                          "`pulumi config set --secret vault:token ...`, or export VAULT_TOKEN")


def pick_keys(secrets: Sequence[SyncedSecret], mount: str,
              vault_data: Mapping[str, Mapping[str, Any] | None]) -> dict[str, dict[str, str]]:
    """Secret name -> exactly its keys from the Vault data (path -> data); every missing or empty
    key is one line of a single VaultKeyMissingError."""
    picked: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for secret in secrets:
        data = vault_data.get(secret.vault_path) or {}
        picked[secret.name] = {}
        for key in secret.keys:
            value = data.get(key)
            if value is None or value == "":
                state = "has no key" if value is None else "has an empty value for"
                problems.append(f"  - {mount}/{secret.vault_path} {state} {key} (needed in Secret "
                                f"{secret.name}): `vault kv patch -mount={mount} {secret.vault_path} {key}=...`")
            else:
                picked[secret.name][key] = str(value)
    if problems:
        raise VaultKeyMissingError("Vault lacks keys the deployment needs (the pod would not start):\n"
                                   + "\n".join(problems))
    return picked


def _value(secret: str, key: str) -> Callable[[Mapping[str, Mapping[str, str]]], str]:
    return lambda picked: picked[secret][key]


@dataclass(frozen=True)
class VaultSecretsArgs:
    namespace: pulumi.Input[str]
    service_account_name: pulumi.Input[str]
    settings: SecretsConfig
    keys: Sequence[SecretKey]
    restart_target: str = DEPLOYMENT_NAME  # the Deployment that reads the Secrets
    # The takeover / mode-switch `up` (kubernetes.adoptExisting): VaultStaticSecrets may overwrite a
    # live Secret the operator does not own yet.
    adopt_existing: bool = False
    # Secrets no Deployment reads (the backup CronJob's): synced without restarting the gateway.
    no_restart: frozenset[str] = frozenset()


class VaultSecrets(pulumi.ComponentResource):
    """The Kubernetes Secrets the gateway reads, and (operator mode) the Vault access behind them."""

    dependencies: list[pulumi.Resource]  # what makes the Secrets exist; the Deployment waits on it
    secret_names: list[str]

    def __init__(self, name: str, args: VaultSecretsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openclaw:index:VaultSecrets", name, None, opts)
        check_vault_provider_config()
        self._args = args
        self.synced = synced_secrets(args.keys)
        self.secret_names = [s.name for s in self.synced]
        self.policy: vault.Policy | None = None
        self.role: vault.kubernetes.AuthBackendRole | None = None
        self.vault_auth: k8s.apiextensions.CustomResource | None = None
        self.static_secrets: dict[str, k8s.apiextensions.CustomResource] = {}
        self.secrets: dict[str, k8s.core.v1.Secret] = {}
        # Direct mode: secret name -> key -> value, each a Pulumi secret.
        self.values: dict[str, dict[str, pulumi.Output[str]]] = {}
        # Pod template annotations that make a secret change roll the pod (direct mode only: in
        # operator mode the operator restarts the Deployment itself, rolloutRestartTargets).
        self.pod_annotations: dict[str, pulumi.Input[str]] = {}
        if args.settings.mode == "operator":
            self._operator(name)
            self.dependencies = list(self.static_secrets.values())
        else:
            self._direct(name)
            self.dependencies = list(self.secrets.values())
        self.register_outputs({"secret_names": self.secret_names})

    def _operator(self, name: str) -> None:
        args, s = self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        header = policy_header(pulumi.get_project(), pulumi.get_stack())
        document = header + policy_document(s.kv_mount, [x.vault_path for x in self.synced])
        self.policy = vault.Policy(
            f"{name}-policy", name=checked_policy_name(s.policy, document, header, s.adopt_vault_objects, self),
            policy=document,
            # false: creating it fails if a policy of that name exists (someone else's).
            allow_overwrite=s.adopt_vault_objects, opts=child)
        live_role = vault.kubernetes.get_auth_backend_role_output(
            backend=s.auth_mount, role_name=s.role, opts=pulumi.InvokeOutputOptions(parent=self))
        # The role waits for the check: it is written only once the name is known to be ours.
        checked_role = pulumi.Output.all(live_role, args.service_account_name, args.namespace).apply(
            lambda got: check_role_owner(
                {"boundServiceAccountNames": got[0].bound_service_account_names,
                 "boundServiceAccountNamespaces": got[0].bound_service_account_namespaces,
                 "boundServiceAccountNamespaceSelector": got[0].bound_service_account_namespace_selector},
                mount=s.auth_mount, role=s.role, service_account=str(got[1]), namespace=str(got[2]),
                adopt=s.adopt_vault_objects))
        self.role = vault.kubernetes.AuthBackendRole(
            f"{name}-role",
            backend=s.auth_mount,
            role_name=checked_role,
            bound_service_account_names=[args.service_account_name],
            bound_service_account_namespaces=[args.namespace],
            audience=s.audience,
            token_policies=[self.policy.name],
            token_ttl=s.token_ttl,
            token_max_ttl=s.token_max_ttl,
            opts=child)
        kubernetes_auth: dict[str, Any] = {
            "role": s.role,  # plain: a refused role check then fails once, at the role
            "serviceAccount": args.service_account_name,
            "tokenExpirationSeconds": SA_TOKEN_SECONDS,
        }
        if s.audience is not None:
            kubernetes_auth["audiences"] = [s.audience]
        auth_spec: dict[str, Any] = {"method": "kubernetes", "mount": s.auth_mount,
                                     "kubernetes": kubernetes_auth}
        if s.connection_ref is not None:
            auth_spec["vaultConnectionRef"] = s.connection_ref
        # No allowedNamespaces: the default limits this auth to its own namespace.
        self.vault_auth = k8s.apiextensions.CustomResource(
            f"{name}-vault-auth", api_version=VSO_API_VERSION, kind="VaultAuth",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=VAULT_AUTH_NAME, namespace=args.namespace,
                                                labels=common_labels("secrets")),
            spec=auth_spec, opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]))
        for secret in self.synced:
            self.static_secrets[secret.name] = k8s.apiextensions.CustomResource(
                f"{name}-{secret.name}", api_version=VSO_API_VERSION, kind="VaultStaticSecret",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=secret.name, namespace=args.namespace, labels=common_labels("secrets"),
                    annotations={
                        # Created only once the operator has written the Secret: the Deployment
                        # (which depends on this) never rolls to a pod whose Secret is missing.
                        WAIT_FOR: SYNCED_CONDITION,
                        # Deleted (mode switch, rename) without garbage-collecting the Secret.
                        DELETION_PROPAGATION: "orphan",
                    }),
                spec={
                    "vaultAuthRef": VAULT_AUTH_NAME,
                    "type": "kv-v2",
                    "mount": s.kv_mount,
                    "path": secret.vault_path,
                    "refreshAfter": s.refresh_after,
                    # The MAC is what detects a change, and rollouts need it.
                    "hmacSecretData": True,
                    "destination": {
                        "name": secret.name,
                        "create": True,
                        # Take over a live Secret the operator does not own (no owner labels): the
                        # takeover and a direct -> operator switch. Off otherwise.
                        "overwrite": args.adopt_existing,
                        "type": "Opaque",
                        "labels": common_labels("secrets"),
                        # Exactly the keys the pod reads: no `_raw` copy of the whole Vault entry,
                        # no other keys stored at that path.
                        "transformation": {
                            "excludeRaw": True,
                            "includes": [f"^{re.escape(k)}$" for k in secret.keys],
                        },
                    },
                    "rolloutRestartTargets": [] if secret.name in args.no_restart else [
                        {"kind": "Deployment", "name": args.restart_target}],
                },
                # The role must let the operator in before it tries to sync.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.vault_auth, self.role]))

    def _direct(self, name: str) -> None:
        args, s = self._args, self._args.settings
        paths = list(dict.fromkeys(x.vault_path for x in self.synced))
        reads = [vault.kv.get_secret_v2_output(mount=s.kv_mount, name=p,
                                               opts=pulumi.InvokeOutputOptions(parent=self))
                 for p in paths]
        def check(datas: list[Any]) -> dict[str, dict[str, str]]:
            return pick_keys(self.synced, s.kv_mount, dict(zip(paths, datas, strict=True)))

        # Marked secret here: the engine marks the provider's result secret, the mocks do not.
        picked: pulumi.Output[dict[str, dict[str, str]]] = pulumi.Output.secret(
            pulumi.Output.all(*[r.data for r in reads]).apply(check))
        # Version numbers only: never secret, and a rotation (a new version) changes the pod template.
        self.pod_annotations[VAULT_VERSIONS_ANNOTATION] = pulumi.Output.all(
            *[r.version for r in reads]).apply(lambda versions: vault_versions(s.kv_mount, paths, versions))
        for secret in self.synced:
            self.values[secret.name] = {key: pulumi.Output.secret(picked.apply(_value(secret.name, key)))
                                        for key in secret.keys}
            self.secrets[secret.name] = k8s.core.v1.Secret(
                f"{name}-{secret.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=secret.name, namespace=args.namespace,
                                                    labels=common_labels("secrets")),
                type="Opaque",
                string_data=self.values[secret.name],
                # Removed from the program (a switch to operator mode), the Secret stays for the
                # operator to take over instead of leaving the pod without it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
