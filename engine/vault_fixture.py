"""A fake Vault for runs under mocks: KV v2 reads answered from a mapping (path -> data).

Direct mode (`openclaw:secrets.mode: direct`) reads Vault with `vault.kv.get_secret_v2_output`;
the harness answers that invoke with `kv_v2_invokes(...)`. The render takes the same data as a
JSON file (`--vault-fixture FILE`). Never put real secret values in a fixture.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.harness import HarnessError, InvokeHandler

KV_V2_READ = "vault:kv/getSecretV2:getSecretV2"


def kv_v2_invokes(secrets: Mapping[str, Mapping[str, str]],
                  versions: Mapping[str, int] | None = None) -> dict[str, InvokeHandler]:
    """Invoke mocks for KV v2 reads: `secrets` maps a path under the mount to its data, `versions`
    a path to its current version (1 if not given; every write to a path makes a new version)."""

    def read(args: dict[str, Any]) -> dict[str, Any]:
        mount, name = str(args.get("mount")), str(args.get("name"))
        if name not in secrets:
            raise HarnessError(f"the Vault fixture has no secret at {mount}/{name}; it has {sorted(secrets)}")
        data = dict(secrets[name])
        # The provider's result fields (camelCase on the wire).
        return {"data": data, "dataJson": json.dumps(data, sort_keys=True), "mount": mount, "name": name,
                "path": f"{mount}/data/{name}", "destroyed": False,
                "version": (versions or {}).get(name, 1)}

    return {KV_V2_READ: read}


def load_kv_fixture(path: Path) -> dict[str, dict[str, str]]:
    """Read a fixture file: a JSON object mapping each KV path to an object of string values."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise HarnessError(f"cannot read the Vault fixture {path}: {exc}") from None
    if not isinstance(raw, dict) or not all(
            isinstance(data, dict) and all(isinstance(v, str) for v in data.values()) for data in raw.values()):
        raise HarnessError(f"the Vault fixture {path} must be a JSON object "
                           '{"<kv path>": {"<KEY>": "<value>", ...}, ...} with string values')
    return {str(p): {str(k): v for k, v in data.items()} for p, data in raw.items()}
