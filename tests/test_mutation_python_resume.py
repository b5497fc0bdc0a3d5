"""tools/mutation/python.py: a selection that grew (an edge test file added) resumes from the
results of a narrower selection of the same files, never from a wider one (a kill by a test no
longer selected would count) nor from one of other files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tools.mutation import python
from tools.mutation.targets import Target

FILES = ("components/openclaw.py",)


def _results(work: Path, tests: tuple[str, ...], files: tuple[str, ...] = FILES, age: float = 0.0) -> Path:
    """A results folder as an earlier run leaves it: its pyproject.toml and one mutant's verdict."""
    folder = python.workdir(Target("mutmut", files, tests))
    meta = folder / "mutants" / "components" / "openclaw.py.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)   # or resumed from an earlier one already
    meta.write_text(json.dumps({"exit_code_by_key": {"components.openclaw.x_f__mutmut_1": 1}, "marker": str(folder)}))
    os.utime(meta, (1e9 - age, 1e9 - age))
    return folder


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(python, "WORK", tmp_path)
    return tmp_path


def _marker(folder: Path) -> str | None:
    meta = folder / "mutants" / "components" / "openclaw.py.meta"
    return str(json.loads(meta.read_text())["marker"]) if meta.exists() else None


def test_a_grown_selection_starts_from_the_newest_narrower_results(work: Path) -> None:
    older = _results(work, ("tests/test_a.py",), age=100)
    newer = _results(work, ("tests/test_a.py", "tests/test_b.py"))
    grown = python.workdir(Target("mutmut", FILES, ("tests/test_a.py", "tests/test_b.py", "tests/test_c.py")))
    assert grown not in (older, newer)
    assert _marker(grown) == str(newer)
    # the folder now has its own results: a later call keeps them
    assert _marker(python.workdir(Target("mutmut", FILES, ("tests/test_a.py", "tests/test_b.py",
                                                             "tests/test_c.py")))) == str(newer)


@pytest.mark.parametrize(("earlier_tests", "earlier_files"), [
    (("tests/test_a.py", "tests/test_d.py"), FILES),                 # a test the new selection lacks
    (("tests/test_a.py",), ("components/gateway.py",)),              # other files
    (("tests/test_a.py",), ("components/openclaw.py", "components/gateway.py")),
], ids=["wider", "other file", "more files"])
def test_no_resume_from_results_a_selection_does_not_contain(work: Path, earlier_tests: tuple[str, ...],
                                                             earlier_files: tuple[str, ...]) -> None:
    _results(work, earlier_tests, earlier_files)
    fresh = python.workdir(Target("mutmut", FILES, ("tests/test_a.py", "tests/test_b.py")))
    assert _marker(fresh) is None
    assert not (fresh / "mutants").exists()


def test_results_of_a_function_removed_since_are_left_out(work: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """policy/k8s.py lost `port_number`: its stored mutants are neither reported nor re-tested (the
    next run regenerates the file's mutants), and reading them does not stop `./run mutate`."""
    repo = tmp_path / "repo"
    (repo / "policy").mkdir(parents=True)
    (repo / "policy" / "k8s.py").write_text("def kept() -> int:\n    return 1\n\n\nclass C:\n    def m(self) -> int:\n"
                                            "        return 2\n")
    (repo / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["policy"]\n')
    monkeypatch.setattr(python, "REPO", repo)
    target = Target("mutmut", ("policy/k8s.py",), ("tests/test_policy_edges_k8s.py",))
    meta = python.workdir(target) / "mutants" / "policy" / "k8s.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"policy.k8s.x_port_number__mutmut_1": 0,
                                                     "policy.k8s.xǁGoneǁm__mutmut_1": 0,
                                                     "policy.k8s.xǁCǁgone__mutmut_1": 0},
                                "durations_by_key": {}, "estimated_durations_by_key": {}}))   # mutmut's meta file
    assert python.results(target) == []


class _NoMutmut:
    """Stands in for mutmut's process: what `run` leaves on disk before mutmut starts is under test."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.stdout: list[str] = []
        self.returncode = 0

    def __enter__(self) -> _NoMutmut:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_coverage_is_kept_only_for_the_files_it_was_collected_with(work: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """mutmut would otherwise keep which test reaches which function from before a function was added
    (it collects again only for tests it has not seen), and count the new function as reached by none."""
    repo = tmp_path / "repo"
    for rel in ("policy/k8s.py", "tests/test_policy_edges_k8s.py"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x = 1\n")
    (repo / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["policy"]\n')
    monkeypatch.setattr(python, "REPO", repo)
    monkeypatch.setattr(python.subprocess, "Popen", _NoMutmut)
    target = Target("mutmut", ("policy/k8s.py",), ("tests/test_policy_edges_k8s.py::test_rule_ports",))
    stats = python.workdir(target) / "mutants" / "mutmut-stats.json"
    stats.parent.mkdir(parents=True)

    def collected_then_run() -> bool:
        """Whether the map mutmut collected (written here) is still there when mutmut starts."""
        stats.write_text("{}")
        python.run(target, 1, set())
        return stats.exists()

    assert not collected_then_run()          # a map of unknown origin (results from before this check)
    assert collected_then_run()              # nothing changed since it was collected
    assert collected_then_run()
    (repo / "policy" / "k8s.py").write_text("x = 2\n")
    assert not collected_then_run()          # the source changed
    assert collected_then_run()
    (repo / "tests" / "test_policy_edges_k8s.py").write_text("x = 1  # a test changed\n")
    assert not collected_then_run()
    assert collected_then_run()
