"""Edges of the Kubernetes config's locks (components/config/kubernetes.py): a volume lock that does
not say its access modes is the one the program creates; any other mode is refused with the fix."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
LOCK = {"storageClass": "local-path-retain", "size": "500Mi"}


def _load(lock: dict[str, Any]) -> Any:
    return parse_config({"gateway": ORIGIN, "kubernetes": {"volumeLock": lock}})


def test_a_lock_without_access_modes_is_the_programs_read_write_once() -> None:
    assert _load(LOCK).kubernetes.volume_lock.access_modes == ["ReadWriteOnce"]
    assert _load({**LOCK, "accessModes": ["ReadWriteOnce"]}).kubernetes.volume_lock.access_modes == ["ReadWriteOnce"]


@pytest.mark.parametrize("modes", [["ReadWriteMany"], ["ReadWriteOncePod"], ["ReadWriteOnce", "ReadOnlyMany"], []])
def test_a_lock_with_other_access_modes_is_refused(modes: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        _load({**LOCK, "accessModes": modes})
    assert str(info.value) == (
        "refusing a change that would replace live state (1):\n"
        f"  - openclaw:kubernetes.volumeLock.accessModes: the program creates ['ReadWriteOnce'], the live volume has "
        f"{modes}: changing it replaces the PVC and loses every agent's state; migrate the data first "
        "(docs/takeover-runbook.md), then update openclaw:kubernetes.volumeLock")
