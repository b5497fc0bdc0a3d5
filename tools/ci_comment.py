"""The pull-request comment of one CI report (the render diff or the preview of one stack).

    python3 -m tools.ci_comment render  --stack dev --exit-code N --log render.log [--diff render-diff.md]
                                        [--policy out/new/policy.txt] [--details URL] --out comment.md
    python3 -m tools.ci_comment preview --stack dev --exit-code N --log preview.txt [--details URL] --out comment.md

The comment is written whatever happened (an empty or missing `--exit-code` means the step never
ran), verdict first: a mandatory policy violation or a failed render is a red comment that
replaces the old green one, never a missing one. The body is cut to stay under GitHub's limit
for a comment (65,536 characters) with a link to the artifact that holds the full report.
Standard library only: it must run when the job's own setup failed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

# GitHub refuses a longer issue comment ("body is too long (maximum is 65536 characters)").
COMMENT_LIMIT = 65_536
# marocchino/sticky-pull-request-comment appends "\n<!-- Sticky Pull Request Comment<header> -->"
# to find the comment again (src/comment.ts, bodyWithHeader): keep room for it.
MARKER_ROOM = 256
BUDGET = COMMENT_LIMIT - MARKER_ROOM
# Sections of `pulumi preview` text output that carry the verdict (headers at column 0).
VERDICT_SECTIONS = ("Diagnostics", "Policies", "Resources")
TITLES = {"render": "Render diff", "preview": "pulumi preview"}


def _verdict(kind: str, exit_code: int | None) -> str:
    if exit_code is None:
        return ":warning: **did not run**: an earlier step of the job failed (setup or login); see the run log"
    if exit_code == 0:
        return (":white_check_mark: **PASS**: schema valid, no mandatory policy violated" if kind == "render"
                else ":white_check_mark: **PASS**: preview succeeded, no mandatory policy violated")
    if kind == "render":
        return (f":x: **FAIL** (exit {exit_code}): "
                + ("bad stack config, catalog or policy config; the render stopped" if exit_code == 2
                   else "an object fails the Kubernetes schema or a mandatory policy is violated"))
    return f":x: **FAIL** (exit {exit_code}): a mandatory policy is violated or the preview failed; see below"


def preview_sections(output: str) -> dict[str, str]:
    """The sections of `pulumi preview` text output ("Policies:", "Resources:", ...), by name."""
    sections: dict[str, str] = {}
    current: str | None = None
    for line in output.splitlines():
        header = re.fullmatch(r"([A-Z][A-Za-z ]+):\s*", line)
        if header:
            current = header.group(1)
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return {k: v.rstrip() for k, v in sections.items()}


def _fence_for(text: str) -> str:
    """A fence the text cannot close early (longer than any backtick run in it)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _cut(text: str, room: int) -> tuple[str, bool]:
    """`text`, or its first whole lines that fit in `room` characters, and whether it was cut."""
    if len(text) <= room:
        return text, False
    cut = text[:max(room, 0)]
    return (cut[:cut.rfind("\n") + 1] if "\n" in cut else cut), True


def build_comment(kind: str, stack: str, exit_code: int | None, summary: str, body: str,
                  details_url: str = "", budget: int = BUDGET) -> str:
    """Heading and verdict, then `summary` (what decides the verdict: kept whole unless it alone
    is too long), then `body` (the diff or the full output) cut to what is left of `budget`."""
    link = f"[the full report in the run's artifacts]({details_url})" if details_url else "the run's artifacts"
    note_cut = f"\n\n:scissors: **Cut to stay under GitHub's 65,536-character comment limit**: see {link}."
    text = f"### {TITLES[kind]}: stack `{stack}`\n\n{_verdict(kind, exit_code)}\n\n"
    cut_any = False
    summary = summary.strip()
    if summary:
        fence = _fence_for(summary)
        summary, cut_any = _cut(summary, budget // 2 - 2 * len(fence) - 8)
        text += f"{fence}\n{summary}\n{fence}\n"
    body = body.strip()
    if body:
        label = "Object changes" if kind == "render" else "Preview output (--diff)"
        fence = _fence_for(body) if kind == "preview" else ""
        opening = f"\n<details open><summary>{label}</summary>\n\n" + (f"{fence}diff\n" if fence else "")
        closing = (f"\n{fence}" if fence else "") + "\n\n</details>"
        room = budget - len(text) - len(opening) - len(closing) - len(note_cut)
        part, body_cut = _cut(body, room)
        text += opening + part + closing
        cut_any = cut_any or body_cut
    return text + (note_cut if cut_any else f"\n\nFull report: {link}.")


def _read(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    return path.read_text(encoding="utf-8", errors="replace")


def _exit_code(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def render_summary(log: str, policy: str) -> str:
    """What decides a render's verdict: errors, the schema lines and the policy verdict."""
    lines = [line for line in log.splitlines() if line.startswith(("error:", "schema:", "  - "))]
    return "\n".join([*lines, *([""] if lines and policy else []), *policy.strip().splitlines()])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tools.ci_comment", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(TITLES))
    parser.add_argument("--stack", required=True)
    parser.add_argument("--exit-code", default="", help="the step's exit code; empty: the step never ran")
    parser.add_argument("--log", type=Path, help="the command's output (stdout and stderr)")
    parser.add_argument("--diff", type=Path, help="render: the markdown report of --diff-out")
    parser.add_argument("--policy", type=Path, help="render: the policy verdict (policy.txt)")
    parser.add_argument("--details", default="", help="link to the artifact with the full report")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    exit_code = _exit_code(args.exit_code)
    log = _read(args.log)
    if args.kind == "render":
        summary, body = render_summary(log, _read(args.policy)), _read(args.diff)
    else:
        sections = preview_sections(log)
        summary = "\n\n".join(f"{name}:\n{sections[name]}" for name in VERDICT_SECTIONS if sections.get(name))
        if not summary and exit_code not in (None, 0):  # failed before any section: its last lines
            summary = "\n".join(log.strip().splitlines()[-30:])
        body = log
    args.out.write_text(build_comment(args.kind, args.stack, exit_code, summary, body, args.details) + "\n",
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
