"""`./run policy-venv` makes the virtualenv `pulumi preview --policy-pack policy` runs the pack with:
the folder PulumiPolicy.yaml names, policy/requirements.txt in it, re-installed only when that
file changes. Run against a stand-in `python3` that records what it is asked to do."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from engine.harness import REPO

FAKE_PYTHON = """#!/usr/bin/env bash
# Stand-in for python3 and the venv's python: logs argv; `-m venv DIR` makes DIR/bin/python.
echo "$0 $*" >> "$LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
fi
"""


def _copy(tmp: Path) -> Path:
    (tmp / "policy").mkdir()
    shutil.copy(REPO / "run", tmp / "run")
    for name in ("requirements.txt", "PulumiPolicy.yaml"):
        shutil.copy(REPO / "policy" / name, tmp / "policy" / name)
    bin_dir = tmp / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(FAKE_PYTHON, encoding="utf-8")
    (bin_dir / "python3").chmod(0o755)
    return bin_dir


def _run(tmp: Path, bin_dir: Path) -> list[str]:
    log = tmp / "log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log)}
    done = subprocess.run(["bash", str(tmp / "run"), "policy-venv"], cwd=tmp, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "policy/venv ready" in done.stdout
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_policy_venv_is_made_where_the_pack_says_with_its_requirements(tmp_path: Path) -> None:
    bin_dir = _copy(tmp_path)
    venv = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text(encoding="utf-8"))[
        "runtime"]["options"]["virtualenv"]
    calls = _run(tmp_path, bin_dir)
    assert calls[0].endswith(f"python3 -m venv policy/{venv}")
    assert calls[1].startswith(f"policy/{venv}/bin/python -m pip install")
    assert calls[1].endswith("-r policy/requirements.txt") and len(calls) == 2
    assert _run(tmp_path, bin_dir) == []  # nothing changed: nothing installed
    with (tmp_path / "policy" / "requirements.txt").open("a", encoding="utf-8") as handle:
        handle.write("# changed\n")
    again = _run(tmp_path, bin_dir)
    assert len(again) == 1 and again[0].endswith("-r policy/requirements.txt")  # the venv kept, re-installed
