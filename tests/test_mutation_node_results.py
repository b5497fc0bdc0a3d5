"""tools/mutation/node.py keeps what earlier Stryker runs found: a run over some lines of a script
re-tests only the undetected mutants of those lines (the others stay in the report), and the
results of a run stopped by a signal (Stryker then saves its incremental file only) are the ones
`./run mutate --report` scores."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tools.mutation import node
from tools.mutation.targets import Target

SOURCE = "const a = 1;\nconst b = 2;\nconst c = 3;\n"


def _mutant(ident: str, line: int, status: str) -> dict[str, Any]:
    return {"id": ident, "mutatorName": "NumberLiteral", "replacement": "0", "status": status,
            "location": {"start": {"line": line, "column": 11}, "end": {"line": line, "column": 12}}}


def _report(*mutants: dict[str, Any]) -> dict[str, Any]:
    return {"files": {"agents/seed.mjs": {"language": "javascript", "source": SOURCE, "mutants": list(mutants)}}}


@pytest.mark.parametrize(("files", "kept"), [
    (("agents/seed.mjs",), {"1"}),                          # the whole file: every undetected one again
    (("agents/seed.mjs:2-3",), {"1", "2"}),                 # line 1 is outside: it stays as it is
    (("agents/seed.mjs:1-1", "agents/seed.mjs:3-3"), {"1"}),
    (("agents/seed.mjs:3-3",), {"1", "2"}),
])
def test_a_run_retests_the_undetected_mutants_of_its_lines_only(tmp_path: Path, files: tuple[str, ...],
                                                                kept: set[str]) -> None:
    incremental = tmp_path / "incremental.json"
    incremental.write_text(json.dumps(_report(_mutant("1", 1, "Killed"), _mutant("2", 1, "Survived"),
                                              _mutant("3", 3, "NoCoverage"))))
    node._retest_undetected(incremental, set(), files)
    assert {m["id"] for m in json.loads(incremental.read_text())["files"]["agents/seed.mjs"]["mutants"]} == kept


@pytest.mark.parametrize("stopped", [True, False], ids=["stopped: the incremental file", "finished: the report"])
def test_a_stopped_runs_results_are_the_ones_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      stopped: bool) -> None:
    monkeypatch.setattr(node, "WORK", tmp_path)
    target = Target("stryker", ("agents/seed.mjs:1-2",), ("tests/test_seed.py",))
    folder = node.workdir(target)
    (folder / "report.json").write_text(json.dumps(_report(_mutant("1", 1, "Survived"))))
    (folder / "incremental.json").write_text(json.dumps(_report(_mutant("1", 1, "Killed"))))
    # A finished run writes both at its end; a stopped one rewrites only the incremental file.
    report_time = (folder / "report.json").stat().st_mtime
    os.utime(folder / "incremental.json", (report_time + (600 if stopped else 1),) * 2)
    (found,) = node.results(target)
    assert (found.line, found.status) == (1, "killed" if stopped else "survived")


def test_a_survivor_set_aside_for_a_re_test_is_still_reported_when_the_run_stops_before_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed run drops the undetected mutants from the incremental file so Stryker tests them again;
    stopped before it reaches one, that mutant is reported as it was (survived), not as gone (which
    would raise the score), and one it did re-test is reported once, as re-tested."""
    monkeypatch.setattr(node, "WORK", tmp_path)
    target = Target("stryker", ("agents/seed.mjs",), ("tests/test_seed.py",))
    folder = node.workdir(target)
    incremental = folder / "incremental.json"
    incremental.write_text(json.dumps(_report(_mutant("1", 1, "Killed"), _mutant("2", 2, "Survived"),
                                              _mutant("3", 3, "NoCoverage"))))
    node._retest_undetected(incremental, set(), target.files)
    # Stryker, stopped: it re-tested line 3's mutant only (under a new id) and saved its incremental file
    incremental.write_text(json.dumps(_report(_mutant("1", 1, "Killed"), _mutant("7", 3, "Killed"))))
    assert sorted((m.line, m.status) for m in node.results(target)) == [(1, "killed"), (2, "survived"),
                                                                        (3, "killed")]
    # the next resume sets line 2's survivor aside again, and forgets line 3's (tested since)
    node._retest_undetected(incremental, set(), target.files)
    incremental.write_text(json.dumps(_report(_mutant("1", 1, "Killed"), _mutant("9", 3, "Killed"))))
    assert sorted((m.line, m.status) for m in node.results(target)) == [(1, "killed"), (2, "survived"),
                                                                        (3, "killed")]


@pytest.mark.parametrize("resumed", [False, True], ids=["reported", "resumed again"])
def test_a_survivor_set_aside_is_forgotten_once_its_file_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 resumed: bool) -> None:
    """A survivor set aside from one version of the script is not reported against another (its place
    would point at other code: a line added above it shifts every later one), nor set aside again;
    the run on the new code tests the mutants that code has."""
    monkeypatch.setattr(node, "WORK", tmp_path)
    target = Target("stryker", ("agents/seed.mjs",), ("tests/test_seed.py",))
    folder = node.workdir(target)
    incremental = folder / "incremental.json"
    incremental.write_text(json.dumps(_report(_mutant("1", 1, "Killed"), _mutant("2", 2, "Survived"))))
    node._retest_undetected(incremental, set(), target.files)
    # The script gains a line above b; the run on it re-tested line 3 (b now) and finished.
    changed = _report(_mutant("1", 1, "Killed"), _mutant("5", 3, "Killed"))
    changed["files"]["agents/seed.mjs"]["source"] = "const a = 1;\nconst z = 9;\nconst b = 2;\nconst c = 3;\n"
    incremental.write_text(json.dumps(changed))
    if resumed:
        node._retest_undetected(incremental, set(), target.files)
        assert json.loads((folder / "retesting.json").read_text())["files"]["agents/seed.mjs"]["mutants"] == []
    assert sorted((m.line, m.original, m.status) for m in node.results(target)) == [
        (1, "const a = 1;", "killed"), (3, "const b = 2;", "killed")]
