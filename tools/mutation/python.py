"""mutmut (pinned in requirements-dev.txt) on the Python of agents/, components/, policy/.

mutmut 3 copies the project into `mutants/` (the files it mutates with trampolines, the rest of
`also_copy` as they are) and runs pytest in there: the tests then import the mutated code, and
every path the tests derive from `__file__` (engine/harness.py REPO, engine/analyzer.py POLICY_DIR)
points into the copy too. Each selection runs in a folder of its own, build/mutate/mutmut/<name>/
(links to the repository's entries, a pyproject.toml whose [tool.mutmut] names the files and the
tests), so that each keeps its own results: a later run re-tests only the mutants that were not
detected and those of functions that changed.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import IO

from tools.mutation.report import REPO, Mutant, settled
from tools.mutation.targets import Target

WORK = REPO / "build" / "mutate" / "mutmut"
NOT_LINKED = {".git", ".venv", "venv", "build", "out", "mutants", "pyproject.toml", ".pytest_cache", ".mypy_cache",
              ".ruff_cache", "node_modules", "__pycache__", ".stryker-tmp"}
# mutmut's exit codes (mutmut/stats.py status_by_exit_code), with its RLIMIT_CPU kill (-9, which it
# calls "segfault": a mutant that spins past its CPU time is SIGXCPU'ed, then SIGKILLed) a timeout.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -9: "timeout", -11: "timeout",
          None: "not checked"}
_HUNK = re.compile(r"^@@ -(\d+)")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)   # strings, lists of strings, booleans: valid TOML too


def _pyproject(target: Target) -> str:
    """The repository's pyproject.toml, its [tool.mutmut] narrowed to this target."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    base = dict(tomllib.loads(text).get("tool", {}).get("mutmut", {}))
    areas = sorted({f.split("/")[0] for f in target.files})
    base |= {"source_paths": areas,
             "also_copy": [*base.get("also_copy", []), *(a for a in base.get("source_paths", []) if a not in areas)],
             "only_mutate": list(target.files),
             "pytest_add_cli_args_test_selection": list(target.tests),
             "use_git_change_detection": False}
    kept = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text).rstrip("\n")
    return kept + "\n\n[tool.mutmut]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in base.items())


def _selection(folder: Path) -> tuple[list[str], set[str]] | None:
    """The files and tests a results folder was made for (its pyproject.toml), None if unreadable."""
    try:
        settings = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
        return list(settings["only_mutate"]), set(settings["pytest_add_cli_args_test_selection"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def _resume_from_narrower(folder: Path, name: str, target: Target) -> None:
    """A selection that grew (an edge test file added) starts from the newest results of the same
    files under a selection it contains: every kill stays valid (its test is still selected), the
    rest is tested again (_retest_undetected), and mutmut collects the new tests' coverage itself
    (collect_or_load_stats: "Found N new tests")."""
    if (folder / "mutants").exists():
        return
    earlier = [other for other in WORK.glob(f"{name}-*") if other != folder and (other / "mutants").is_dir()
               and (found := _selection(other)) is not None
               and found[0] == list(target.files) and found[1] <= set(target.tests)]
    if earlier:
        newest = max(earlier, key=lambda other: max(p.stat().st_mtime for p in (other / "mutants").rglob("*.meta"))
                     if any((other / "mutants").rglob("*.meta")) else 0.0)
        shutil.copytree(newest / "mutants", folder / "mutants", symlinks=True)


def workdir(target: Target) -> Path:
    digest = hashlib.sha256("\n".join([*target.files, "", *target.tests]).encode()).hexdigest()[:8]
    first = target.files[0]
    name = first.removesuffix(".py").replace("/", "-") if len(target.files) == 1 else first.split("/")[0]
    folder = WORK / f"{name}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    _resume_from_narrower(folder, name, target)
    for entry in REPO.iterdir():
        link = folder / entry.name
        if entry.name not in NOT_LINKED and not link.is_symlink():
            link.symlink_to(entry)
    (folder / "pyproject.toml").write_text(_pyproject(target), encoding="utf-8")
    return folder


def _retest_undetected(target: Target, folder: Path, equivalent: set[str]) -> None:
    """Forget every verdict but the settled ones (kills, listed equivalents): tested again."""
    if not (folder / "mutants").exists():
        return
    keep = settled(results(target), equivalent)
    for meta in (folder / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        data["exit_code_by_key"] = {k: (v if k in keep else None) for k, v in data["exit_code_by_key"].items()}
        meta.write_text(json.dumps(data, indent=4))


def _selection_digest(target: Target) -> str:
    """The contents of the files a selection mutates and the test files it runs."""
    digest = hashlib.sha256()
    for rel in [*target.files, *(t.partition("::")[0] for t in target.tests)]:
        path = REPO / rel
        digest.update(rel.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


def _forget_stale_coverage(target: Target, folder: Path) -> None:
    """mutmut collects which test reaches which function once, then only for tests it has not seen
    (collect_or_load_stats): a function added since (policy/k8s.py `_port_range`), reached only by
    tests it knew, would count as reached by none. So the map is kept only for the very files it was
    collected with (`coverage-of`, the digest written when a run starts); otherwise mutmut collects it
    again (one run of the selection)."""
    stats, marker = folder / "mutants" / "mutmut-stats.json", folder / "coverage-of"
    digest = _selection_digest(target)
    if stats.exists() and (not marker.exists() or marker.read_text() != digest):
        stats.unlink()
    marker.write_text(digest)


def run(target: Target, processes: int, equivalent: set[str]) -> None:
    folder = workdir(target)
    _retest_undetected(target, folder, equivalent)
    _forget_stale_coverage(target, folder)
    mutmut = Path(sys.executable).with_name("mutmut")
    with subprocess.Popen([str(mutmut), "run", "--max-children", str(processes)], cwd=folder,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
        _relay(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"mutmut stopped with exit code {proc.returncode} in {folder}")


def _relay(output: IO[str] | None, every: float = 30.0) -> None:
    """mutmut's output without its spinner frames; its progress line at most every `every` seconds."""
    shown = 0.0
    for chunk in output or ():
        for part in re.split(r"[\r\n]", chunk):
            text = part.strip()
            if text[:1] in SPINNER:
                text = text[1:].strip()
                if not text[:1].isdigit() or time.monotonic() - shown < every:
                    continue
                shown = time.monotonic()
            if text:
                print(f"  {text}", flush=True)


def _function_span(tree: ast.Module, key: str) -> tuple[int, int] | None:
    """First and last line of the function a mutant key names (`x_f` or `xǁClassǁmethod`); None when
    the source no longer has it (results of a function removed since: the next run drops them)."""
    from mutmut.utils.format_utils import parse_mutant_key

    name, cls = parse_mutant_key(key)
    body = tree.body
    if cls is not None:
        body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    node = next((n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name), None)
    return None if node is None else (node.lineno, node.end_lineno or node.lineno)


def _changed(diff: str) -> tuple[int, list[str], list[str]]:
    """From a unified diff of one function: the line (within it) of the first change, and the lines."""
    first, removed, added, at = 0, [], [], 1
    for line in diff.splitlines()[2:]:
        if match := _HUNK.match(line):
            at = int(match.group(1))
        elif line.startswith("-"):
            first = first or at
            removed.append(line[1:].strip())
            at += 1
        elif line.startswith("+"):
            first = first or at
            added.append(line[1:].strip())
        else:
            at += 1
    return first, removed, added


def results(target: Target) -> list[Mutant]:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    folder = workdir(target)
    found = []
    with contextlib.chdir(folder):
        for file in target.files:
            source = (REPO / file).read_text(encoding="utf-8")
            lines, tree = source.splitlines(), ast.parse(source)
            data = SourceFileMutationData(path=file)
            data.load()
            for name, code in data.exit_code_by_key.items():
                span = _function_span(tree, name.rpartition(".")[2].partition("__mutmut_")[0])
                if span is None:
                    continue
                start, end = span
                offset, removed, added = _changed(get_diff_for_mutant(name, path=file))
                guess = start + offset - 1
                near = [n for n in range(start, end + 1) if removed and lines[n - 1].strip() == removed[0]]
                line = min(near, key=lambda n: abs(n - guess)) if near else guess
                found.append(Mutant(file, line, " / ".join(removed), " / ".join(added) or "(removed)",
                                    STATUS.get(code, "suspicious"), key=name))
    return found
