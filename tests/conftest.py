"""Shared fixtures: one mock-runtime run per stack for the whole session (runs are pure)."""

from __future__ import annotations

import pytest

from tools.harness import RunResult, run_stack


@pytest.fixture(scope="session")
def dev() -> RunResult:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> RunResult:
    return run_stack("prod")
