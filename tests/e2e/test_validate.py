"""Every supported release judges the config the program renders for it (`./run e2e`): the dev and
prod stacks rendered for each release (tag override) pass that release's own validator, under the
Node it needs, with loopback only (tests/support/e2e/validate.py): `openclaw config validate --json` with no
issue and no warning, or for 2026.2.23 a real start. And the validators are not blind: each refuses
the shape another release needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.releases import RELEASES
from engine.harness import run_stack
from tests.support.e2e.validate import validate

pytestmark = pytest.mark.e2e

SUPPORTED = sorted(RELEASES, key=lambda v: RELEASES[v].key)


def rendered(stack: str, version: str) -> dict[str, Any]:
    run = run_stack(stack, overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": version}})
    (text,) = [r.properties["data"]["openclaw.json"] for r in run.kubernetes()
               if "openclaw.json" in (r.properties.get("data") or {})]
    doc: dict[str, Any] = json.loads(text)
    return doc


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("version", SUPPORTED)
def test_the_release_accepts_its_render(stack: str, version: str, tmp_path: Path) -> None:
    verdict = validate(version, rendered(stack, version), tmp_path)
    print(f"\nvalidate: openclaw {version} ({verdict.how}, node {RELEASES[version].node}) on the {stack} render: "
          f"{'valid' if verdict.valid else 'INVALID'} in {verdict.seconds:.1f} s")
    assert verdict.valid, (verdict.issues, verdict.output)
    assert verdict.warnings == [], verdict.warnings


@pytest.mark.parametrize(("judge", "shape_of", "words"), [
    # 2026.9.6 on a list-shaped roster: multi-agent rosters need keyed entries and an owner
    ("2026.9.6", "2026.6.35", "agents.ownership"),
    # the list-shaped releases on the keyed roster and its owner keys
    ("2026.6.35", "2026.9.6", "agents"),
    ("2026.3.7", "2026.9.6", "agents"),
    # 2026.2.23 on SecretRefs and the keyed roster: it refuses to start
    ("2026.2.23", "2026.9.6", "Config invalid"),
])
def test_each_validator_refuses_another_release_shape(judge: str, shape_of: str, words: str, tmp_path: Path) -> None:
    verdict = validate(judge, rendered("dev", shape_of), tmp_path)
    assert not verdict.valid, verdict.output
    assert any(words in issue for issue in verdict.issues) or words in verdict.output, (verdict.issues,
                                                                                      verdict.output)


def test_the_validator_needs_the_pinned_plugin_at_its_load_path(tmp_path: Path) -> None:
    """2026.9.6 warns of a load path that holds nothing (which the render test counts as a failure):
    the plugins the validator unpacks are what make the render pass, as the pod's `plugins` step
    does (components/plugins.py)."""
    doc = rendered("dev", "2026.9.6")
    doc["plugins"]["load"]["paths"] = [str(tmp_path / "nothing-here" / "openclaw-deepseek-provider")]
    verdict = validate("2026.9.6", doc, tmp_path)
    assert any("plugin load path is unavailable" in w for w in verdict.warnings), verdict.warnings
