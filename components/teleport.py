"""The Teleport app entry that publishes the gateway to browsers (non-secret description)."""

from __future__ import annotations

from typing import Any

from components.openclaw_json import GATEWAY_TOKEN_ENV, placeholder

APP_NAME = "openclaw"


def teleport_app(service_host: str, port: int, public_origin: str, vault_ref: str) -> dict[str, Any]:
    """The agent chart's `apps[]` entry. The bearer token is a substitution, never a value:
    whoever renders the Teleport values fills `${OPENCLAW_GATEWAY_TOKEN}` from `vault_ref`."""
    return {
        "name": APP_NAME,
        "uri": f"http://{service_host}:{port}",
        "rewrite": {"headers": [
            {"name": "Origin", "value": public_origin},
            {"name": "Authorization", "value": f"Bearer {placeholder(GATEWAY_TOKEN_ENV)}"},
        ]},
        "secretSubstitutions": {GATEWAY_TOKEN_ENV: vault_ref},
    }
