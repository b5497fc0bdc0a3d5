"""The policy pack's verdicts as the render prints them: violations, skipped policies, the verdict
of each shape (engine/analyzer.py runs the pack)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

CANT_RUN = "can't run policy"  # pulumi-policy's advisory when a policy touched an unknown (policy.py)


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str  # advisory | mandatory
    message: str
    urn: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"



def mandatory(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.level == "mandatory"]


def skipped(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """pulumi-policy's "can't run policy ... during preview" advisories: a policy that touched an
    unknown and was switched off for this run."""
    return [d for d in diagnostics if d.message.startswith(CANT_RUN)]


def blocking(diagnostics: Sequence[Diagnostic], levels: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """What fails the run: mandatory violations, and any policy the SDK skipped at preview whose
    configured level (`levels`, policy -> level) is mandatory: the engine would let it pass
    silently, this project does not."""
    return mandatory(diagnostics) + [d for d in skipped(diagnostics) if (levels or {}).get(d.policy) == "mandatory"]


def verdict_table(diagnostics: Sequence[Diagnostic], policy_count: int,
                  levels: Mapping[str, str] | None = None) -> str:
    """A short report: one line per violation, then the verdict."""
    def level(d: Diagnostic) -> str:
        return "SKIPPED" if d.message.startswith(CANT_RUN) else d.level.upper()

    lines = [f"{level(d):<9} {d.policy:<28} {d.resource}: {d.message}" for d in
             sorted(diagnostics, key=lambda d: (d.level != "mandatory", d.policy, d.resource))]
    count = len(mandatory(diagnostics))
    failed = blocking(diagnostics, levels)
    verdict = ("FAIL" if failed else "PASS") + (
        f": {policy_count} policies, {count} mandatory and {len(diagnostics) - count} advisory violation(s)")
    if skipped(diagnostics):
        verdict += f", {len(skipped(diagnostics))} policy run(s) skipped on unknown values"
    return "\n".join([*lines, verdict])


def shapes_report(results: Mapping[str, Sequence[Diagnostic]], policy_count: int,
                  levels: Mapping[str, str] | None = None) -> str:
    """Both verdicts, preview first: what a pull request's `pulumi preview` reports, then `pulumi up`."""
    titles = {"preview": "preview (planned outputs, unknowns where the providers leave them)",
              "up": "up (every value known)"}
    return "\n\n".join(f"== {titles.get(shape, shape)}\n{verdict_table(d, policy_count, levels)}"
                       for shape, d in results.items())
