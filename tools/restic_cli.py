"""Running restic for the restore tool: one call, its JSON, and its failures as one clear line.

restic 0.14 exits 1 for every fatal error, so the reason is read from its `Fatal:` line and
mapped to what the operator should do (restic/restic cmd/restic/main.go prints `Fatal: ...`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from components.restic_url import repository_host_port

CONNECT_TIMEOUT = 5.0


class RestoreError(Exception):
    """A failure the operator can act on; the message is the one line printed."""


def _reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = next((line for line in lines if line.startswith("Fatal:")), None)
    text = fatal or (lines[-1] if lines else "no output")
    if "no space left on device" in stderr:
        return "no space left on device: the target volume is too small (use a larger one)"
    if "wrong password or no key found" in stderr:
        return "wrong repository password (RESTIC_PASSWORD or RESTIC_PASSWORD_FILE)"
    if "Is there a repository at the following location" in stderr:
        return f"no repository there ({text.removeprefix('Fatal: ')}): check RESTIC_REPOSITORY"
    return text.removeprefix("Fatal: ")


def restic(args: Sequence[str], env: Mapping[str, str] | None = None, what: str | None = None) -> str:
    """restic's stdout; a RestoreError naming the step and restic's reason when it fails."""
    binary = shutil.which("restic")
    if binary is None:
        raise RestoreError("restic is not installed: apt-get install restic (the tests pin 0.14.0)")
    proc = subprocess.run([binary, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          check=False)
    if proc.returncode != 0:
        raise RestoreError(f"{what or 'restic ' + args[0]} failed: {_reason(proc.stderr)}")
    return proc.stdout


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def check_reachable(repository: str) -> None:
    """An S3/REST endpoint that refuses or times out: say so at once (restic would retry for minutes)."""
    target = repository_host_port(repository)
    if target is None:
        return
    host, port = target
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise RestoreError(f"the repository endpoint {host}:{port} is unreachable ({exc.strerror or exc}): "
                           "check RESTIC_REPOSITORY, the network and the object store") from None
