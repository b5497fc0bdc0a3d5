"""Edges of the secret keys the gateway consumes (components/secret_keys.py): the gateway token and
the database password from the gateway Secret, each configured provider's key (and only those) and
the Telegram token while Telegram is on from the token Secret, with the Secret names and Vault paths
the stack configures."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import parse_config
from components.secret_keys import SecretKey, required_secret_keys

BASE = {"gateway": {"allowedOrigins": ["https://openclaw.example.test"]}}
MOONSHOT = {"baseUrl": "https://api.moonshot.example.test/v1", "apiKeyEnv": "MOONSHOT_API_KEY",
            "models": [{"id": "kimi", "name": "Kimi"}]}
DEEPSEEK = {"baseUrl": "https://api.deepseek.com/v1", "apiKeyEnv": "DEEPSEEK_API_KEY",
            "models": [{"id": "deepseek-v4-flash", "name": "DeepSeek V4 Flash"}]}


def _keys(**config: Any) -> list[SecretKey]:
    return required_secret_keys(parse_config({**BASE, **config}))


@pytest.mark.parametrize("telegram", [True, False])
def test_the_default_stack_s_keys_with_telegram_on_and_off(telegram: bool) -> None:
    gateway = ("openclaw-secrets", "applications/openclaw")
    tokens = ("openclaw-token-secrets", "tokens")
    assert _keys(telegram={"enabled": telegram}) == [
        SecretKey("OPENCLAW_GATEWAY_TOKEN", *gateway), SecretKey("OPENCLAW_DB_PASSWORD", *gateway),
        SecretKey("DEEPSEEK_API_KEY", *tokens), *([SecretKey("TELEGRAM_BOT_TOKEN", *tokens)] if telegram else [])]


def test_each_configured_provider_s_key_and_no_other_from_the_secrets_configured() -> None:
    keys = _keys(telegram={"enabled": False},
                 secrets={"gatewaySecret": "gw", "tokenSecret": "tok", "gatewayVaultPath": "apps/gw",
                          "tokenVaultPath": "apps/tok"},
                 models={"primary": "moonshot/kimi", "providers": {"moonshot": MOONSHOT, "deepseek": DEEPSEEK}})
    assert keys == [SecretKey("OPENCLAW_GATEWAY_TOKEN", "gw", "apps/gw"),
                    SecretKey("OPENCLAW_DB_PASSWORD", "gw", "apps/gw"),
                    SecretKey("MOONSHOT_API_KEY", "tok", "apps/tok"), SecretKey("DEEPSEEK_API_KEY", "tok", "apps/tok")]
    only = _keys(telegram={"enabled": True}, secrets={"tokenSecret": "tok", "tokenVaultPath": "apps/tok"},
                 models={"primary": "moonshot/kimi", "providers": {"moonshot": MOONSHOT}})
    assert [(k.env, k.secret, k.vault_path) for k in only[2:]] == [("MOONSHOT_API_KEY", "tok", "apps/tok"),
                                                                  ("TELEGRAM_BOT_TOKEN", "tok", "apps/tok")]
