"""The pack in preview shape at its edges: the heap bound and the placeholder digest from both sides, each
item of the forbidden lists on its own (public-network excepts, RBAC resources and write verbs), and a
policy the SDK would switch off in preview, which render reports as a failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.analyzer import Diagnostic, PolicyAnalyzer, blocking, mandatory, skipped
from engine.harness import RunResult, object_name
from engine.marshal import SHAPES, UNKNOWN
from tests.test_policy import Mutation, gateway, mutate, pod
from tests.test_policy_preview import run_shape
from tools import render

# --- bounds ------------------------------------------------------------------------------------------

def _heap(mib: int) -> Mutation:
    return lambda p: next(e for e in gateway(p)["env"] if e["name"] == "NODE_OPTIONS").__setitem__(
        "value", f"--max-old-space-size={mib}")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("mib", "share", "caught"), [
    (1536, None, False), (1537, None, True),   # dev's limit 2048 MiB (2026.9.6's); the default share 0.25 leaves 1536
    (1638, 0.2, False), (1639, 0.2, True),     # the share is policy config: 0.2 of 2048 leaves 1638.4 MiB
])
def test_heap_bound(analyzer: PolicyAnalyzer, dev: RunResult, shape: str, mib: int, share: float | None,
                    caught: bool) -> None:
    config = {} if share is None else {"memory-limits": {"enforcementLevel": "mandatory", "minNonHeapShare": share}}
    found = mandatory(run_shape(analyzer, mutate(dev, "Deployment", "openclaw", _heap(mib)), shape, config))
    assert [d.policy for d in found] == (["memory-limits"] if caught else [])


def image_findings(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The image policies' findings on the gateway (dev also draws backup-scheduled's advice, and its
    pre-upgrade snapshot Job runs the previous release's image: unrelated here)."""
    return [d for d in diagnostics if d.policy.startswith("image-") and not d.resource.endswith("pre-upgrade-job")]


def _digest(digits: str) -> Mutation:
    return lambda p: [c.__setitem__("image", f"ghcr.io/openclaw/openclaw:2026.2.23@sha256:{digits}")
                      for c in pod(p)["containers"] + pod(p)["initContainers"]]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("digits", ["0" * 64, "f" * 64, "deadbeef" * 8, "0123456789abcdef" * 4])
def test_placeholder_digest_is_refused(analyzer: PolicyAnalyzer, dev: RunResult, shape: str, digits: str) -> None:
    found = image_findings(run_shape(analyzer, mutate(dev, "Deployment", "openclaw", _digest(digits)), shape))
    assert {(d.policy, d.level) for d in found} == {("image-tag-pinned", "mandatory"),
                                                     ("image-digest-pinned", "advisory")}
    containers = len(pod(dev.find("Deployment", "openclaw").properties)["initContainers"]) + 1
    assert all("placeholder digest" in d.message for d in found) and len(found) == 2 * containers  # 2 policies


@pytest.mark.parametrize("digits", ["0" * 63 + "1", "deadbeef" * 7 + "deadbeee",
                                    "b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"])
def test_digest_just_outside_the_placeholder_rule_passes(analyzer: PolicyAnalyzer, dev: RunResult,
                                                         digits: str) -> None:
    assert image_findings(run_shape(analyzer, mutate(dev, "Deployment", "openclaw", _digest(digits)), "preview")) == []


# --- a policy the SDK switches off is a failure, and render shows both shapes -------------------------

NAIVE_PACK = '''
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy


def _walk(value):
    if hasattr(value, "items"):
        return {k: _walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (hasattr(value, "__getitem__") and hasattr(value, "__len__")
                                            and not isinstance(value, str)):
        return [_walk(v) for v in value]
    return value


def _copy_everything(args, report):
    for r in args.resources:
        _walk(r.props)  # the old plain() copy: touches every field


PolicyPack(name="naive", policies=[StackValidationPolicy(
    name="copies-everything", description="Copies every object.", enforcement_level=EnforcementLevel.MANDATORY,
    validate=_copy_everything)])
'''


def _naive_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "naive"
    folder.mkdir()
    (folder / "__main__.py").write_text(NAIVE_PACK, encoding="utf-8")
    return folder


def test_preview_shape_switches_off_a_policy_that_walks_whole_objects(tmp_path: Path, dev: RunResult) -> None:
    # The fault of issue 13, reproduced: the SDK downgrades such a policy at preview only.
    with PolicyAnalyzer(_naive_pack(tmp_path)) as naive:
        results = naive.analyze_shapes(dev.resources)
        assert skipped(results["up"]) == [] and blocking(results["up"], naive.levels) == []
        assert [d.policy for d in skipped(results["preview"])] == ["copies-everything"]
        assert "can't be known during preview" in skipped(results["preview"])[0].message
        assert blocking(results["preview"], naive.levels) == skipped(results["preview"])


def test_render_prints_both_verdicts_and_fails_when_only_the_preview_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pack = _naive_pack(tmp_path)
    original: Callable[..., PolicyAnalyzer] = render.PolicyAnalyzer
    monkeypatch.setattr(render, "PolicyAnalyzer", lambda: original(pack))
    monkeypatch.setattr(render, "load_policy_config", lambda stack: {})
    code = render.main(["--stack", "dev", "--out", str(tmp_path / "out")])
    assert code == 1
    report = (tmp_path / "out" / "policy.txt").read_text(encoding="utf-8")
    preview, up = report.split("\n\n== up")
    assert preview.startswith("== preview") and "SKIPPED   copies-everything" in preview
    assert preview.rstrip().endswith("1 policy run(s) skipped on unknown values")
    assert preview.rstrip().splitlines()[-1].startswith("FAIL") and up.rstrip().splitlines()[-1].startswith("PASS")
    assert report in capsys.readouterr().out


def test_render_of_the_clean_stack_passes_both_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = render.main(["--stack", "dev", "--out", str(tmp_path / "out")])
    report = (tmp_path / "out" / "policy.txt").read_text(encoding="utf-8")
    assert code == 0
    assert [line.split(":")[0] for line in report.splitlines() if line.startswith(("PASS", "FAIL"))] == ["PASS"] * 2
    assert "== preview" in report and "== up" in report and "SKIPPED" not in report


# --- each item of the forbidden lists on its own, in preview shape ------------------------------------

PUBLIC_EXCEPTS = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                  "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
                  "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]


def _public_except(change: Callable[[list[Any]], None]) -> Mutation:
    return lambda p: change(p["spec"]["egress"][0]["to"][0]["ipBlock"]["except"])


def test_the_public_rule_excepts_exactly_this_list(dev: RunResult) -> None:
    # So the next test removes every entry the stack has, each on its own.
    rule = next(r for r in dev.kubernetes() if r.properties["kind"] == "NetworkPolicy"
                and object_name(r) == "openclaw-allow-public-https")
    assert sorted(rule.properties["spec"]["egress"][0]["to"][0]["ipBlock"]["except"]) == sorted(PUBLIC_EXCEPTS)


@pytest.mark.parametrize("block", PUBLIC_EXCEPTS)
def test_each_missing_except_is_caught_and_an_unknown_entry_leaves_it_undecidable(
        analyzer: PolicyAnalyzer, dev: RunResult, block: str) -> None:
    missing = mandatory(run_shape(analyzer, mutate(dev, "NetworkPolicy", "openclaw-allow-public-https",
                                                   _public_except(lambda e: e.remove(block))), "preview"))
    assert [d.policy for d in missing] == ["egress-restricted"]
    assert "does not except" in missing[0].message and block.split("/")[0] in missing[0].message
    # The same gap with an unknown entry in the list: only that entry could close it.
    unknown = mandatory(run_shape(analyzer, mutate(dev, "NetworkPolicy", "openclaw-allow-public-https",
                                                   _public_except(lambda e: (e.remove(block), e.append(UNKNOWN)))),
                                  "preview"))
    assert [d.policy for d in unknown] == ["egress-restricted"]
    assert unknown[0].message.startswith("undecidable at preview: ") and "except[13] is unknown" in unknown[0].message


@pytest.mark.parametrize("resource", ["secrets", "pods/exec", "pods/attach", "pods/portforward",
                                      "serviceaccounts/token", "*"])
def test_each_forbidden_resource_is_caught(analyzer: PolicyAnalyzer, dev: RunResult, resource: str) -> None:
    found = mandatory(run_shape(analyzer, mutate(dev, "ClusterRole", "openclaw-readonly",
                                                 lambda p: p["rules"][0]["resources"].append(resource)), "preview"))
    assert {d.policy for d in found} == {"rbac-read-only"} and any(repr([resource]) in d.message for d in found)


@pytest.mark.parametrize("verb", ["create", "update", "patch", "delete", "deletecollection", "impersonate", "bind",
                                  "escalate"])
def test_each_write_verb_is_caught(analyzer: PolicyAnalyzer, dev: RunResult, verb: str) -> None:
    found = mandatory(run_shape(analyzer, mutate(dev, "ClusterRole", "openclaw-readonly",
                                                 lambda p: p["rules"][1]["verbs"].append(verb)), "preview"))
    assert [d.policy for d in found] == ["rbac-read-only"] and f"verbs [{verb!r}] are not read-only" in found[0].message
