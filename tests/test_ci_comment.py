"""The pull-request comment: verdict first, always written, under GitHub's size limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.ci_comment import BUDGET, COMMENT_LIMIT, build_comment, main, preview_sections

# What the sticky-comment action appends to find its comment again (src/comment.ts).
MARKER = "\n<!-- Sticky Pull Request Comment{} -->"
PREVIEW = """Previewing update (acme/openclaw/dev)

     Type                              Name                         Plan
     pulumi:pulumi:Stack               openclaw-dev
 ~   └─ kubernetes:apps/v1:Deployment  openclaw-gateway-deployment  update

Diagnostics:
  pulumi:pulumi:Stack (openclaw-dev):
    error: preview failed

Policies:
    ❌ openclaw-guardrails@v0.0.1 (local: policy)
        - [mandatory]  image-digest-pinned  (kubernetes:apps/v1:Deployment: openclaw-gateway-deployment)
          container 'gateway' is not pinned by digest

Resources:
    ~ 1 to update
    47 unchanged
"""


def _posted(comment: str, header: str = "preview-prod") -> int:
    return len(comment + MARKER.format(header))


def test_a_mandatory_violation_is_a_red_comment_with_the_policy_section_first(tmp_path: Path) -> None:
    log = tmp_path / "preview.txt"
    log.write_text(PREVIEW, encoding="utf-8")
    out = tmp_path / "comment.md"
    assert main(["preview", "--stack", "dev", "--exit-code", "255", "--log", str(log),
                 "--details", "https://example.invalid/artifacts/1", "--out", str(out)]) == 0
    comment = out.read_text(encoding="utf-8")
    assert comment.startswith("### pulumi preview: stack `dev`\n\n:x: **FAIL** (exit 255)")
    policies = comment.index("[mandatory]  image-digest-pinned")
    assert policies < comment.index("<details")  # the verdict's reason before the long output
    assert comment.index("Resources:") < comment.index("<details")
    assert "https://example.invalid/artifacts/1" in comment and ":scissors:" not in comment


@pytest.mark.parametrize("exit_code,expected", [("", ":warning: **did not run**"), ("0", ":white_check_mark:"),
                                                ("1", ":x: **FAIL** (exit 1)"), ("2", "bad stack config")])
def test_every_outcome_writes_a_comment_even_without_a_log(tmp_path: Path, exit_code: str, expected: str) -> None:
    out = tmp_path / "comment.md"
    assert main(["render", "--stack", "prod", "--exit-code", exit_code, "--log", str(tmp_path / "missing.log"),
                 "--diff", str(tmp_path / "missing.md"), "--out", str(out)]) == 0
    comment = out.read_text(encoding="utf-8")
    assert comment.startswith("### Render diff: stack `prod`") and expected in comment


@pytest.mark.parametrize("kind", ["render", "preview"])
def test_a_huge_report_is_cut_under_the_limit_with_a_link(kind: str) -> None:
    body = "".join(f"+ line {i} " + "x" * 90 + "\n" for i in range(5000))  # ~500 KB
    comment = build_comment(kind, "dev", 1, "FAIL: 17 policies, 1 mandatory", body, "https://example.invalid/a")
    assert _posted(comment) < COMMENT_LIMIT and len(comment) <= BUDGET
    assert len(comment) > BUDGET - 1000  # cut to the limit, not far below it
    assert "FAIL: 17 policies, 1 mandatory" in comment
    assert comment.rstrip().endswith("[the full report in the run's artifacts](https://example.invalid/a).")
    assert ":scissors:" in comment and "+ line 0 " in comment and "+ line 4999" not in comment
    assert comment.count("</details>") == 1  # the cut keeps the markdown closed


def test_a_report_that_fits_is_not_cut() -> None:
    body = "x" * (BUDGET - 2000)
    comment = build_comment("render", "dev", 0, "PASS", body, "https://example.invalid/a")
    assert body in comment and ":scissors:" not in comment and len(comment) <= BUDGET


def test_a_huge_summary_still_leaves_the_verdict_and_the_limit() -> None:
    comment = build_comment("preview", "dev", 1, "policy line\n" * 20000, "body\n" * 20000, "u")
    assert _posted(comment) < COMMENT_LIMIT and ":x: **FAIL**" in comment and ":scissors:" in comment


def test_backticks_in_the_output_cannot_close_the_code_block() -> None:
    comment = build_comment("preview", "dev", 0, "", "a\n```\nb ```` c\n", "u")
    assert "`````diff\na\n```\nb ```` c\n`````" in comment


def test_preview_sections_by_header() -> None:
    sections = preview_sections(PREVIEW)
    assert set(sections) >= {"Diagnostics", "Policies", "Resources"}
    assert sections["Resources"].splitlines() == ["    ~ 1 to update", "    47 unchanged"]
