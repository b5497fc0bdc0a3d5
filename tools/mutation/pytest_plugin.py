"""pytest plugin for mutmut runs (`./run mutate`, loaded with `-p tools.mutation.pytest_plugin` from
the [tool.mutmut] pytest arguments; never in `./run test`).

mutmut 3 maps each function to the tests that reached it while it collects its stats (one run of
the selection with every trampoline recording hits), and later runs a mutant with those tests only
(mutmut/runners/harness.py `PytestRunner.run_stats`: the hits recorded until a test's teardown are
that test's). Two ways this project's tests reach code would be lost:
- a session or module fixture (the rendered stacks `dev`/`prod`, the policy pack) runs the code once,
  during the setup of the first test that asks for it: its hits are counted here for every test
  that uses the fixture, and so is its setup time (mutmut times a mutant's tests by their calls only,
  but every mutant's run sets the fixture up again: without it, a slow fixture reads as a timeout);
- a test's subprocess (the policy pack, a command) has its own memory: site/sitecustomize.py makes
  it append its hits to a file, counted here for the running test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from mutmut.state import state

from tools.mutation.site import sitecustomize

SITE = Path(sitecustomize.__file__).parent
_fixture_hits: dict[Any, set[str]] = {}
_fixture_cost: dict[Any, float] = {}      # seconds its setup took
_fixture_owner: dict[Any, str] = {}       # the test during whose setup it was set up
_current: list[str] = [""]


def _collecting() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


def _subprocess_hits() -> set[str]:
    path = Path(os.environ[sitecustomize.HITS_ENV])
    try:
        names = set(path.read_text().split())
    except FileNotFoundError:
        return set()
    path.write_text("")
    return names


def pytest_configure(config: pytest.Config) -> None:
    sitecustomize.install(in_test_process=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))
    os.environ[sitecustomize.HITS_ENV] = str(Path.cwd() / f".mutmut-hits-{os.getpid()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None]:
    if not _collecting() or fixturedef.scope == "function":
        yield
        return
    outer = state()._stats
    state()._stats = set()
    started = time.monotonic()
    try:
        yield
    finally:
        hits = state()._stats | _subprocess_hits()
        _fixture_hits[fixturedef] = hits
        _fixture_cost[fixturedef] = time.monotonic() - started
        _fixture_owner[fixturedef] = _current[0]
        state()._stats = outer | hits


def pytest_runtest_setup(item: pytest.Item) -> None:
    _current[0] = item.nodeid


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    if _collecting() and call.when == "setup":    # mutmut adds the call's duration itself
        state().duration_by_test[item.nodeid] += call.duration


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if not _collecting():
        return
    state()._stats |= _subprocess_hits()
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            state()._stats |= _fixture_hits.get(fixturedef, set())
            if fixturedef in _fixture_cost and _fixture_owner[fixturedef] != item.nodeid:
                state().duration_by_test[item.nodeid] += _fixture_cost[fixturedef]
