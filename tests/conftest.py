"""Shared fixtures: one mock-runtime run per stack for the whole session (runs are pure)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult, run_stack
from tests.seed_fixtures import Volume, make_volume


@pytest.fixture(scope="session")
def dev() -> RunResult:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> RunResult:
    return run_stack("prod")


@pytest.fixture(scope="session")
def analyzer() -> Iterator[PolicyAnalyzer]:
    """The policy pack, started once as the CLI starts it (a subprocess serving gRPC)."""
    with PolicyAnalyzer() as running:
        yield running


# The seeder's tests (tests/test_seed*.py): a fresh volume laid out as the pod mounts it, and the
# same after a first clean run (tests/seed_fixtures.py).
@pytest.fixture
def volume(tmp_path: Path) -> Volume:
    return make_volume(tmp_path)


@pytest.fixture
def seeded(volume: Volume) -> Volume:
    assert volume.run().returncode == 0
    return volume
