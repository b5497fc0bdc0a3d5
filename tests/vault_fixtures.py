"""A fake Vault for direct-mode runs: obviously fake values, including keys nothing should read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from engine.harness import REPO, RunResult, run_stack
from engine.vault_fixture import kv_v2_invokes

FAKE_VAULT: dict[str, dict[str, str]] = {
    "applications/openclaw": {
        "OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001",
        "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-0002",
        "LEGACY_UNUSED": "fake-not-a-secret-0099",
    },
    "tokens": {
        "DEEPSEEK_API_KEY": "fake-not-a-secret-0003",
        "TELEGRAM_BOT_TOKEN": "fake-not-a-secret-0004",
        # Stored in Vault, configured nowhere: must never be requested or mounted.
        "ANTHROPIC_API_KEY": "fake-not-a-secret-0005",
        "OPENAI_API_KEY": "fake-not-a-secret-0006",
        "GOOGLE_API_KEY": "fake-not-a-secret-0007",
    },
}

FAKE_VALUES = sorted(v for data in FAKE_VAULT.values() for v in data.values())

_DEV_K8S = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]["openclaw:kubernetes"]
# A stack whose live Secrets are already written directly (the lock says so; a switch is tested apart).
DIRECT: dict[str, Any] = {"openclaw:secrets": {"mode": "direct"},
                          "openclaw:kubernetes": {**_DEV_K8S, "secretsModeLock": "direct"}}


def run_direct(overrides: Mapping[str, Any] | None = None,
               vault: Mapping[str, Mapping[str, str]] = FAKE_VAULT) -> RunResult:
    """The dev stack in direct mode (plus `overrides`), Vault answered by `vault`."""
    return run_stack("dev", overrides={**DIRECT, **(overrides or {})}, invokes=kv_v2_invokes(vault))
