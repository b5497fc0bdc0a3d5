"""Where a restic repository string connects. No Pulumi import: the restore tool loads it."""

from __future__ import annotations

from urllib.parse import urlsplit


def repository_host_port(repository: str) -> tuple[str, int] | None:
    """Where a restic repository string connects (`s3:https://h:p/bucket`, `rest:https://u:p@h/`,
    `s3:h/bucket`); None for a local path or a backend that is not reached over HTTP."""
    kind, _, rest = repository.partition(":")
    if kind not in ("s3", "rest") or not rest:
        return None
    if not rest.startswith(("http://", "https://")):
        rest = "https://" + rest  # restic's default for `s3:host/bucket`
    parts = urlsplit(rest)
    if not parts.hostname:
        return None
    try:
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
