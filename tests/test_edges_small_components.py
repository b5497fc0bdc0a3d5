"""Edges of the small helpers the components share: where a restic repository connects when it names no
port (each scheme's own), the whole refusal of a release lock the model does not know, and the Teleport
app entry's token substitution (what the agent chart reads to fill the bearer token)."""

from __future__ import annotations

import pytest

from components.config.backup import repository_host_port
from components.config.release_lock import downgrade_problem
from components.teleport import teleport_app


@pytest.mark.parametrize(("repository", "host_port"), [
    ("rest:http://backup.example/openclaw/", ("backup.example", 80)),       # no port: the scheme's own
    ("rest:https://backup.example/openclaw/", ("backup.example", 443)),
    ("s3:http://minio.example/bucket", ("minio.example", 80)),
    ("s3:http://minio.example:81/bucket", ("minio.example", 81)),
])
def test_a_repository_without_a_port_connects_on_its_schemes_port(repository: str,
                                                                   host_port: tuple[str, int]) -> None:
    assert repository_host_port(repository) == host_port


def test_a_lock_the_model_does_not_know_is_refused_with_the_whole_fix() -> None:
    assert downgrade_problem("2026.9.6", "2026.9.7") == (
        "openclaw:kubernetes.releaseLock: '2026.9.7' is not a release this program knows (known: 2026.2.23, "
        "2026.3.7, 2026.6.35, 2026.9.6); set it to the release that last ran on the live volume (its pod's "
        "state-guard log or .state-release.json on the volume says which)")


def test_the_teleport_entry_substitutes_the_token_from_vault() -> None:
    app = teleport_app("openclaw.openclaw.svc.cluster.local", 18789, "https://oc.example", "vault:ref#key")
    assert app["secretSubstitutions"] == {"OPENCLAW_GATEWAY_TOKEN": "vault:ref#key"}
    assert {"name": "Authorization", "value": "Bearer ${OPENCLAW_GATEWAY_TOKEN}"} in app["rewrite"]["headers"]
    assert app["uri"] == "http://openclaw.openclaw.svc.cluster.local:18789"
