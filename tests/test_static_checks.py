"""The project's static checks run inside `./run test` and come out clean: zizmor on the
workflows (no medium or high finding), shellcheck on every shell script (no finding at all),
checkov on every stack's rendered manifests (no finding that is not a documented exception).
Each checker is also shown to catch what it must, so a clean result cannot be a silent no-op."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from components.checkov_skips import BACKUP, GATEWAY, WITHOUT_DIGEST, checkov_skips
from engine.harness import REPO
from tools import static_checks
from tools.static_checks import Finding, actionlint, checkov, render_stacks, shell_scripts, shellcheck, zizmor

# Each workload that keeps findings, with the findings it keeps (both unpinned in both stacks).
KEPT = {"kubernetes/openclaw.deployment.openclaw.yaml": ("Deployment.openclaw.openclaw", GATEWAY),
        "kubernetes/openclaw.cronjob.openclaw-backup.yaml": ("CronJob.openclaw.openclaw-backup", BACKUP)}


def test_zizmor_finds_nothing_medium_or_high_in_the_workflows() -> None:
    assert zizmor() == []


def test_zizmor_catches_an_unpinned_action_and_persisted_credentials(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "bad.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                        "    permissions: {}\n    steps:\n      - uses: actions/checkout@v4\n", encoding="utf-8")
    rules = {f.rule for f in zizmor([workflow.parent])}
    assert {"unpinned-uses", "artipacked"} <= rules


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    assert actionlint() == []


def test_actionlint_catches_an_undefined_input_and_context(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                        "      - run: echo ${{ matrix.stack }}\n"
                        "      - uses: actions/checkout@v4\n"  # it knows inputs by tag, not by commit
                        "        with:\n          persist-credential: false\n", encoding="utf-8")
    found = {(f.where.rsplit(":", 1)[1], f.rule) for f in actionlint([workflow])}
    assert found == {("6", "expression"), ("9", "action")}


RUN_BLOCKS = """on: push
jobs:
  linux:
    runs-on: ubuntu-24.04
    steps:
      - run: echo '$HOME'
      - name: expressions are underscores, env vars may come from env
        run: |
          echo ${{ matrix.stack }} "$FROM_ENV"
          if [ "${{ matrix.stack }}" = "dev" ]; then echo dev; fi
      - shell: sh
        run: |
          [[ -n "$X" ]] && echo x
      - shell: bash --noprofile --norc -eo pipefail {0}
        run: echo $1
      - shell: pwsh
        run: echo '$HOME' $1
      - shell: python
        run: print('$HOME')
  windows:
    runs-on: [self-hosted, windows-2022]
    steps:
      - run: echo '$HOME'
  windows-bash:
    runs-on: windows-latest
    defaults:
      run:
        shell: bash
    steps:
      - run: echo '$HOME'
"""


def test_actionlint_runs_shellcheck_on_run_blocks_as_actionlint_does(tmp_path: Path) -> None:
    workflow = tmp_path / "runs.yml"
    workflow.write_text(RUN_BLOCKS, encoding="utf-8")
    found = sorted((int(f.where.rsplit(":", 1)[1]), f.rule, f.severity, f.message.split(": ", 2)[1])
                   for f in static_checks.run_block_shellcheck([workflow]))
    assert found == [
        (6, "shellcheck", "info", "SC2016:info:1:6"),  # bash by default; line 1 of the script
        (12, "shellcheck", "warning", "SC3010:warning:1:1"),  # `shell: sh`: [[ ]] is not POSIX
        (15, "shellcheck", "info", "SC2086:info:1:6"),  # `shell: bash ...` is bash
        (30, "shellcheck", "info", "SC2016:info:1:6"),  # a Windows job whose default shell is bash
    ]  # pwsh, python and a Windows runner's default shell are not shell scripts shellcheck knows


def test_the_old_sticky_comment_fallback_is_caught(tmp_path: Path) -> None:
    """pull-request.yml had a backtick in a single-quoted printf format (SC2016), which the
    WebAssembly actionlint never reported."""
    workflow = tmp_path / "old.yml"
    workflow.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: |\n"
                        "          printf '### %s: stack `%s`\\n' \"$REPORT\" \"$STACK\" > c.md\n", encoding="utf-8")
    assert [(f.where.rsplit(":", 1)[1], f.message.split(": ", 2)[1]) for f in actionlint([workflow])] == [
        ("6", "SC2016:info:1:8")]


def test_expressions_are_replaced_by_underscores_of_the_same_length() -> None:
    from tools.workflow_shellcheck import sanitize_expressions
    assert sanitize_expressions('a ${{ x }} b ${{y}}') == "a " + "_" * 8 + " b " + "_" * 6
    assert sanitize_expressions("no ${{ end") == "no ${{ end"


def test_every_shell_script_is_found_and_clean() -> None:
    scripts = {str(p.relative_to(REPO)) for p in shell_scripts()}
    assert {"run", ".ci/run", "components/backup.sh", "tools/restore_job.sh"} <= scripts
    assert not any(s.startswith((".venv/", "out/")) for s in scripts)
    assert shellcheck(shell_scripts()) == []


def test_shellcheck_reports_every_level(tmp_path: Path) -> None:
    script = tmp_path / "tool"  # no .sh suffix: found by its shebang
    script.write_text('#!/usr/bin/env bash\necho $1\ncd /tmp\n[ "$a" == "b" ]\n', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("#!/usr/bin/env python3\n", encoding="utf-8")
    assert shell_scripts(tmp_path) == [script]
    found = {(f.rule, f.severity) for f in shellcheck([script])}
    assert ("SC2086", "info") in found and ("SC2164", "warning") in found


@pytest.fixture(scope="module")
def checkov_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Finding], list[Finding]]:
    """One checkov run over both stacks' renders and a prod render (it has every workload) stripped
    of its exceptions."""
    out = tmp_path_factory.mktemp("renders")
    render_stacks(out)
    stripped = out / "stripped"
    shutil.copytree(out / "prod", stripped)
    for path in KEPT:
        workload = yaml.safe_load((stripped / path).read_text(encoding="utf-8"))
        workload["metadata"]["annotations"] = {k: v for k, v in workload["metadata"]["annotations"].items()
                                               if not k.startswith("checkov.io/")}
        (stripped / path).write_text(yaml.safe_dump(workload), encoding="utf-8")
    return checkov(out)


def _ids(findings: list[Finding], stack: str) -> set[str]:
    return {f.rule for f in findings if f.where.startswith(f"{stack}/")}


def test_checkov_finds_nothing_undocumented_on_any_stack(checkov_reports: tuple[list[Finding], list[Finding]]) -> None:
    failed, skipped = checkov_reports
    assert _ids(failed, "dev") == set() and _ids(failed, "prod") == set()
    # Neither stack pins a digest yet; dev has no backup.
    assert _ids(skipped, "dev") == set(GATEWAY) | set(WITHOUT_DIGEST)
    assert _ids(skipped, "prod") == set(GATEWAY) | set(BACKUP) | set(WITHOUT_DIGEST)


def test_without_their_annotations_the_workloads_fail_exactly_the_documented_checks(
        checkov_reports: tuple[list[Finding], list[Finding]]) -> None:
    failed, _ = checkov_reports
    by_object: dict[str, set[str]] = {}
    for f in failed:
        if f.where.startswith("stripped/"):
            by_object.setdefault(f.where.split()[-1], set()).add(f.rule)
    assert by_object == {name: set(kept) | set(WITHOUT_DIGEST) for name, kept in KEPT.values()}


@pytest.mark.parametrize(("title", "kept"), [("Deployment openclaw/openclaw", GATEWAY),
                                             ("CronJob openclaw/openclaw-backup", BACKUP)])
def test_every_exception_has_its_reason_in_the_docs(title: str, kept: dict[str, str]) -> None:
    docs = (REPO / "docs" / "checkov-exceptions.md").read_text(encoding="utf-8")
    section = docs.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(CKV_K8S_\d+)` \|[^|]*\| (.*?) \|", section, re.MULTILINE))
    assert set(rows) == set(kept) | set(WITHOUT_DIGEST)
    for check, reason in (kept | WITHOUT_DIGEST).items():
        assert reason in rows[check].replace("`", ""), check
        assert "=" not in reason  # checkov splits the annotation's value on "="


@pytest.mark.parametrize("kept", [GATEWAY, BACKUP])
def test_skip_annotations_follow_the_digest(kept: dict[str, str]) -> None:
    pinned, unpinned = checkov_skips(kept, True), checkov_skips(kept, False)
    assert sorted(v.split("=")[0] for v in pinned.values()) == sorted(kept)
    assert sorted(v.split("=")[0] for v in unpinned.values()) == sorted(kept | WITHOUT_DIGEST)
    assert list(unpinned) == [f"checkov.io/skip{i}" for i in range(1, len(unpinned) + 1)]


def test_a_checker_that_cannot_run_is_an_error_not_a_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(static_checks.StaticCheckError, match="zizmor exited 1"):
        zizmor([tmp_path / "missing"])
    with pytest.raises(static_checks.StaticCheckError, match="shellcheck exited 2"):
        shellcheck([tmp_path / "missing.sh"])
    monkeypatch.setattr(static_checks.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(static_checks.StaticCheckError, match="zizmor is not installed"):
        zizmor()
