"""Where the secrets come from: Vault paths, the operator or direct mode, the auth role."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.config.base import DnsLabel, Model

_VAULT_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_VAULT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_VSO_DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?(s|m|h)$")  # VSO's refreshAfter pattern


def _vault_path(value: str) -> str:
    if not _VAULT_PATH.match(value):
        raise ValueError("must be a Vault path without a leading or trailing '/', such as secret "
                         "or applications/openclaw")
    return value


def _vault_name(value: str) -> str:
    if not _VAULT_NAME.match(value):
        raise ValueError("must be a Vault name: letters, digits, '_', '.', '-' (no '/')")
    return value


SecretsMode = Literal["operator", "direct"]
VaultPath = Annotated[str, AfterValidator(_vault_path)]
VaultName = Annotated[str, AfterValidator(_vault_name)]


class SecretsConfig(Model):
    gateway_secret: DnsLabel = "openclaw-secrets"
    token_secret: DnsLabel = "openclaw-token-secrets"
    gateway_vault_path: VaultPath = "applications/openclaw"
    token_vault_path: VaultPath = "tokens"
    # operator: the Vault Secrets Operator syncs the Secrets (values never enter Pulumi state);
    # direct: Pulumi reads Vault and writes the Secrets (values in state, encrypted as secrets).
    mode: SecretsMode = "operator"
    kv_mount: VaultPath = "secret"          # KV v2 secrets engine mount
    auth_mount: VaultPath = "kubernetes"    # Kubernetes auth method mount
    role: VaultName = "openclaw"            # Kubernetes auth role bound to the gateway's account
    policy: VaultName = "openclaw"          # read-only policy on exactly the paths used
    token_ttl: int = Field(default=600, ge=60, le=3600)        # seconds; short: a leak expires soon
    token_max_ttl: int = Field(default=1800, ge=60, le=86400)  # seconds; then a fresh login
    audience: str | None = "vault"          # ServiceAccount token audience the role requires
    refresh_after: str = "5m"               # how often the operator re-reads Vault
    connection_ref: str | None = None       # VaultConnection; None: the operator's default
    # A Vault policy or Kubernetes auth role of the configured name that exists already (and, for
    # the role, binds anything but this deployment's ServiceAccount) is someone else's: the preview
    # stops instead of overwriting it, unless this is true (README "Vault objects").
    adopt_vault_objects: bool = False

    @field_validator("refresh_after")
    @classmethod
    def _refresh_after(cls, value: str) -> str:
        if not _VSO_DURATION.match(value):
            raise ValueError("must be a duration in s, m or h, such as 30s, 5m or 1h")
        return value

    @field_validator("connection_ref")
    @classmethod
    def _connection_ref(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^([a-z0-9-]+/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", value):
            raise ValueError("must be a VaultConnection name, optionally <namespace>/<name>")
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a non-empty audience such as vault, or null for none")
        return value

    @model_validator(mode="after")
    def _ttls(self) -> SecretsConfig:
        if self.token_max_ttl < self.token_ttl:
            raise ValueError(f"tokenMaxTtl {self.token_max_ttl} is shorter than tokenTtl "
                             f"{self.token_ttl}: raise tokenMaxTtl or lower tokenTtl")
        if self.gateway_secret == self.token_secret and self.gateway_vault_path != self.token_vault_path:
            raise ValueError(f"gatewaySecret and tokenSecret are both {self.gateway_secret!r} but read "
                             "different Vault paths: one Secret is synced from one path")
        return self





def mode_switch_problem(mode: SecretsMode, lock: SecretsMode | None, adopt_existing: bool) -> str | None:
    """Why switching `secrets.mode` away from what writes the live Secrets (`kubernetes.secretsModeLock`)
    is refused, or None. The program cannot see the previous mode, so the lock records it, like volumeLock.

    operator -> direct: a plain Secret cannot be created over the operator's (AlreadyExists, unless
    the provider upserts), and the deleted VaultStaticSecret would garbage-collect it (its owner
    reference); direct -> operator: the operator refuses a Secret it does not own unless
    `destination.overwrite` is on, and Pulumi would delete the plain Secret after the operator took it.
    With `kubernetes.adoptExisting` on for that one `up`, both directions are safe: the new Secret or
    VaultStaticSecret takes the live Secret over (upsert / overwrite), and what is removed leaves it
    in place (VaultStaticSecrets are deleted with orphan propagation, plain Secrets are retained).
    """
    if lock is None or mode == lock or adopt_existing:
        return None
    how = "plain Secrets are applied over" if mode == "direct" else "VaultStaticSecrets take over"
    return (f"openclaw:secrets.mode: {mode!r} differs from openclaw:kubernetes.secretsModeLock {lock!r} (what "
            f"writes the live Secrets now): switching needs one `pulumi up` with openclaw:kubernetes.adoptExisting "
            f"true, so the new {how} the live ones and the pod never loses them; after that up set "
            f"secretsModeLock to {mode!r} and adoptExisting back to false "
            "(docs/takeover-runbook.md, 'Switching secrets.mode')")
