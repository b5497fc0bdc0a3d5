"""Support for the policy edge tests (tests/test_policy_edges_*.py): one verdict for both shapes.

Each edge test changes one field of a rendered stack and asks the pack, as `pulumi preview` and as
`pulumi up` drive it (tools/analyzer.py `analyze_shapes`), what a policy says. A known field is
judged the same in both shapes, so the two verdicts must agree; the test then reads one."""

from __future__ import annotations

from typing import Any

from engine.analyzer import Diagnostic, PolicyAnalyzer, load_policy_config
from engine.records import ResourceRecord


def findings(analyzer: PolicyAnalyzer, records: list[ResourceRecord], policies: set[str] | str,
             config: dict[str, Any] | None = None, stack: str = "dev") -> list[tuple[str, str, str]]:
    """(policy, level, message) of what the named policies report, the same in both shapes."""
    names = {policies} if isinstance(policies, str) else policies
    verdicts = analyzer.analyze_shapes(records, load_policy_config(stack) | (config or {}))

    def picked(diagnostics: list[Diagnostic]) -> list[tuple[str, str, str]]:
        return sorted((d.policy, d.level, d.message) for d in diagnostics if d.policy in names)

    preview, up = picked(verdicts["preview"]), picked(verdicts["up"])
    assert preview == up, (preview, up)
    return up


def attached(analyzer: PolicyAnalyzer, records: list[ResourceRecord], policy: str,
             config: dict[str, Any] | None = None, stack: str = "dev") -> list[tuple[str, str]]:
    """(resource the finding is attached to, as Pulumi shows it under that resource, message) of one
    policy's findings in the `up` shape; a stack policy may attach each finding to any resource."""
    verdict = analyzer.analyze(records, load_policy_config(stack) | (config or {}), "up")
    return sorted((d.resource, d.message) for d in verdict if d.policy == policy)


def messages(found: list[tuple[str, str, str]]) -> list[str]:
    return [message for _, _, message in found]


def undecidable(subject: str, why: str) -> str:
    """The whole message of a finding a policy cannot decide at preview (policy/k8s.py `undecidable`)."""
    return (f"undecidable at preview: {subject} is unknown, and {why}: make the value known in the program, or apply "
            "what it depends on first")


def undecidable_at(where: str, path: str, why: str) -> str:
    """The same, for the field at `path` of the object or container `where`."""
    return undecidable(f"{where} {path}", why)
