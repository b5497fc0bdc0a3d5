"""The two forms a secret takes in a rendered openclaw.json, for the policies that read them:
`${VAR}` placeholders (OpenClaw fills them from the environment when the config loads) and SecretRef
objects `{"source": "env"|"file"|"exec", "provider": <alias>, "id": <ref>}` (2026.3.x and later,
zod-schema.core `SecretRefSchema`; the program renders `env` ones where the release takes them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PLACEHOLDER = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*\}$")
# A `${VAR}` that a `$` precedes is OpenClaw's escape for a literal `${VAR}` (`$${VAR}`; every release
# from 2026.2.23: src/config/env-substitution.ts `parseEnvTokenAt`), which needs no variable.
PLACEHOLDERS = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)\}")
SECRET_REF_SOURCES = frozenset({"env", "file", "exec"})


def is_secret_ref(node: Any) -> bool:
    return (isinstance(node, dict) and set(node) == {"source", "provider", "id"}
            and node["source"] in SECRET_REF_SOURCES and isinstance(node["provider"], str)
            and isinstance(node["id"], str) and bool(node["id"]))


def env_secret_refs(node: Any) -> Iterator[str]:
    """The variable of every env SecretRef in a parsed config, in document order."""
    if isinstance(node, dict):
        if is_secret_ref(node):
            if node["source"] == "env":
                yield node["id"]
            return
        for value in node.values():
            yield from env_secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from env_secret_refs(value)


def referenced_env(text: str, doc: Any) -> list[str]:
    """Every environment variable the config needs: its placeholders, then its env SecretRefs."""
    return list(dict.fromkeys([*PLACEHOLDERS.findall(text), *env_secret_refs(doc)]))
