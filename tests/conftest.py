"""Shared fixtures: one mock-runtime run per stack for the whole session (runs are pure)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult, run_stack


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
