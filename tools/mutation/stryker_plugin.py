"""pytest plugin of the Stryker bridge (tools/mutation/node_command.py): writes the running test's id
where the node coverage hook reads it, and every test's outcome to OPENCLAW_MUTATE_RESULT (JSON:
[{"id", "status", "ms", "message"}]), which the Stryker test runner reports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_results: list[dict[str, object]] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    Path(os.environ["OPENCLAW_MUTATE_CURRENT"]).write_text(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        _results.append({"id": report.nodeid, "status": report.outcome, "ms": round(report.duration * 1000),
                         "message": report.longreprtext[-2000:] if report.failed else ""})


def pytest_sessionfinish(session: pytest.Session) -> None:
    Path(os.environ["OPENCLAW_MUTATE_RESULT"]).write_text(json.dumps(_results))
