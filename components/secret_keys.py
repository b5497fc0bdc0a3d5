"""Which secret keys the gateway consumes, and from which Kubernetes Secret and Vault path.

Least privilege: only keys the configuration uses are listed (a provider's API key only when
the provider is configured, the Telegram token only when Telegram is on). The workload mounts
exactly these; the Vault side requests exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import StackConfig
from components.openclaw_json import GATEWAY_TOKEN_ENV, TELEGRAM_TOKEN_ENV

DB_PASSWORD_ENV = "OPENCLAW_DB_PASSWORD"


@dataclass(frozen=True)
class SecretKey:
    env: str          # env var in the container == key in the Secret == key in Vault
    secret: str       # Kubernetes Secret name
    vault_path: str   # KV v2 path under the mount


def required_secret_keys(config: StackConfig) -> list[SecretKey]:
    s = config.secrets
    keys = [SecretKey(GATEWAY_TOKEN_ENV, s.gateway_secret, s.gateway_vault_path),
            SecretKey(DB_PASSWORD_ENV, s.gateway_secret, s.gateway_vault_path)]
    keys += [SecretKey(p.api_key_env, s.token_secret, s.token_vault_path)
             for p in config.models.providers.values()]
    if config.telegram.enabled:
        keys.append(SecretKey(TELEGRAM_TOKEN_ENV, s.token_secret, s.token_vault_path))
    return keys

