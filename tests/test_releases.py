"""The release model (components/releases.py): its copy in the policy pack, the Node of each release,
unknown and untested tags, and the sizing every release derives (components/config/workload.py)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.config import ConfigError, parse_config
from components.config.workload import (
    HEAP_MIB,
    MEMORY_LINE,
    MIN_NON_HEAP_SHARE,
    MIN_STARTUP_BUDGET_SECONDS,
    PEAK_SHARE,
    START_CPU_MARGIN,
    derived_memory_mib,
)
from components.releases import NEWEST, RELEASES, UnknownReleaseError, release_for, table_json, untested_base
from engine.harness import RunResult, run_stack

REPO = Path(__file__).resolve().parent.parent
ORIGIN = {"allowedOrigins": ["https://openclaw.teleport.lumie.example"]}
SUPPORTED = sorted(RELEASES, key=lambda v: RELEASES[v].key)


def test_policy_pack_copy_is_the_release_model() -> None:
    """The pack cannot import the program: policy/releases.json is generated from the model and
    must equal it (regenerate: python -m components.releases > policy/releases.json)."""
    assert (REPO / "policy" / "releases.json").read_text(encoding="utf-8") == table_json()


def test_the_supported_releases() -> None:
    assert SUPPORTED == ["2026.2.23", "2026.3.7", "2026.6.35", "2026.9.6"]
    assert NEWEST.version == "2026.9.6"


def _satisfies(version: str, engines: str) -> bool:
    """package.json `engines.node`: `||` of space-separated comparators (the forms the releases use)."""
    have = tuple(int(p) for p in version.split("."))

    def holds(comparator: str) -> bool:
        op, want = re.fullmatch(r"(>=|<=|>|<|=)?(\d+(?:\.\d+){0,2})", comparator).groups()  # type: ignore[union-attr]
        bound = tuple(int(p) for p in want.split("."))
        mine = have[:len(bound)]
        return {">=": mine >= bound, "<=": mine <= bound, ">": mine > bound, "<": mine < bound,
                "=": mine == bound, None: mine == bound}[op]

    return any(all(holds(c) for c in alternative.split()) for alternative in engines.split("||"))


@pytest.mark.parametrize("version", SUPPORTED)
def test_each_release_runs_under_a_node_its_engines_accept(version: str) -> None:
    release = RELEASES[version]
    assert _satisfies(release.node, release.node_engines), (release.node, release.node_engines)


@pytest.mark.parametrize(("node", "engines", "ok"), [
    ("24.16.0", ">=24.16.0 <25 || >=26.1.0", True), ("24.15.9", ">=24.16.0 <25 || >=26.1.0", False),
    ("25.0.0", ">=24.16.0 <25 || >=26.1.0", False), ("26.1.0", ">=24.16.0 <25 || >=26.1.0", True),
    ("22.22.3", ">=24.16.0 <25 || >=26.1.0", False), ("22.19.0", ">=22.19.0", True), ("22.18.9", ">=22.19.0", False),
])
def test_the_engines_check_itself(node: str, engines: str, ok: bool) -> None:
    assert _satisfies(node, engines) is ok


@pytest.mark.parametrize(("tag", "base"), [
    ("2026.2.24", "2026.2.23"), ("2026.3.6", "2026.2.23"), ("2026.3.7-beta.1", "2026.2.23"),
    ("2026.3.8", "2026.3.7"), ("2026.6.34", "2026.3.7"), ("2026.6.36", "2026.6.35"), ("2026.9.5", "2026.6.35"),
    ("2026.9.7", "2026.9.6"), ("v2027.1.1", "2026.9.6"),
])
def test_an_untested_tag_is_rendered_as_the_newest_known_release_below_it(tag: str, base: str) -> None:
    assert untested_base(tag).version == base


@pytest.mark.parametrize(("tag", "words"), [
    ("2026.2.22", "older than every release"), ("2026.2.23-rc.1", "older than every release"),
    ("main", "not a release version"), ("sha-1a2b3c", "not a release version"),
])
def test_an_untested_tag_needs_a_version_at_or_above_the_oldest(tag: str, words: str) -> None:
    with pytest.raises(UnknownReleaseError, match=words):
        untested_base(tag)


def test_release_for_lists_what_it_knows() -> None:
    assert release_for("2026.6.35") is RELEASES["2026.6.35"]
    with pytest.raises(UnknownReleaseError, match=r"2026\.9\.7.*known: 2026\.2\.23, 2026\.3\.7, 2026\.6\.35, "
                                                  r"2026\.9\.6"):
        release_for("2026.9.7")


def _problems(**image: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, "image": image})
    return str(info.value)


@pytest.mark.parametrize("tag", ["2026.9.7", "2026.3.1", "2026.6.9"])
def test_an_unknown_tag_is_refused_at_preview_with_the_known_list(tag: str) -> None:
    message = _problems(tag=tag)
    (line,) = [ln for ln in message.splitlines() if ln.startswith("  - openclaw:image.tag: ")]
    assert f"{tag} is not a release this program supports (known: 2026.2.23, 2026.3.7, 2026.6.35, 2026.9.6)" in line
    assert "openclaw:image.acceptUntestedRelease: true" in line


@pytest.mark.parametrize(("tag", "words"), [("main", "not a release version"),
                                            ("2026.1.9", "older than every release")])
def test_accepting_untested_releases_still_needs_a_version_it_can_place(tag: str, words: str) -> None:
    message = _problems(tag=tag, acceptUntestedRelease=True)
    assert f"  - openclaw:image.tag: '{tag}' is " in message and words in message


def test_the_render_stops_on_an_unknown_tag() -> None:
    with pytest.raises(ConfigError, match=r"openclaw:image\.tag: 2026\.9\.7 is not a release"):
        run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": "2026.9.7"}})


def _config_text(run: RunResult) -> str:
    (text,) = [r.properties["data"]["openclaw.json"] for r in run.kubernetes()
               if "openclaw.json" in (r.properties.get("data") or {})]
    return str(text)


def test_an_accepted_untested_release_renders_as_the_one_below_and_warns(
        dev: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw",
                                                         "tag": "2026.9.7", "acceptUntestedRelease": True}})
    deployment = run.find("Deployment", "openclaw").properties
    assert {c["image"] for c in [*deployment["spec"]["template"]["spec"]["containers"],
                                 *deployment["spec"]["template"]["spec"]["initContainers"]]} == {
        "ghcr.io/openclaw/openclaw:2026.9.7"}
    assert deployment["metadata"]["annotations"]["openclaw.io/untested-release-rendered-as"] == "2026.9.6"
    assert _config_text(run) == _config_text(dev)
    assert dev.find("Deployment", "openclaw").properties["spec"] == {
        **deployment["spec"], "template": dev.find("Deployment", "openclaw").properties["spec"]["template"]}
    assert warnings == ["openclaw:image.tag 2026.9.7 is not a release this program was tested with; rendered as "
                        "openclaw 2026.9.6 (openclaw:image.acceptUntestedRelease): its config shape, probes and "
                        "sizing may not fit. Add the release to components/releases.py"]
    assert "openclaw.io/untested-release-rendered-as" not in (
        dev.find("Deployment", "openclaw").properties["metadata"].get("annotations") or {})


# --- sizing per release (components/config/workload.py) --------------------------------------------

@pytest.mark.parametrize("version", SUPPORTED)
def test_the_derived_limit_holds_the_start_peak_and_the_heap(version: str) -> None:
    release = RELEASES[version]
    limit = derived_memory_mib(release)
    peak = release.sizing.peak_rss_mib
    assert limit % 128 == 0
    assert peak <= PEAK_SHARE * limit and (1 - MIN_NON_HEAP_SHARE) * limit >= HEAP_MIB
    smaller = limit - 128  # the smallest such multiple of 128 MiB
    assert peak > PEAK_SHARE * smaller or (1 - MIN_NON_HEAP_SHARE) * smaller < HEAP_MIB
    cfg = parse_config({"gateway": ORIGIN, "image": {"tag": version}})
    assert (cfg.sizing.memory, cfg.sizing.heap_mib, cfg.sizing.derived) == (f"{limit}Mi", HEAP_MIB, True)


@pytest.mark.parametrize("version", SUPPORTED)
def test_an_explicit_limit_must_keep_the_release_peak_under_the_line(version: str) -> None:
    """At the edge: the smallest limit that keeps the measured peak at 75% passes, 1 MiB less fails."""
    peak = RELEASES[version].sizing.peak_rss_mib
    edge = math.ceil(peak / MEMORY_LINE)
    heap = {"heapHeadroomMib": edge - 256}  # a 256 MiB heap fits any limit here: only the peak is judged
    ok = parse_config({"gateway": ORIGIN, "image": {"tag": version}, "resources": {"memory": f"{edge}Mi", **heap}})
    assert ok.sizing.memory == f"{edge}Mi" and not ok.sizing.derived
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, "image": {"tag": version},
                      "resources": {"memory": f"{edge - 1}Mi", "heapHeadroomMib": edge - 1 - 256}})
    (line,) = [ln for ln in str(info.value).splitlines() if ln.startswith("  - openclaw:resources.memory: ")]
    assert f"{edge - 1}Mi is too small for openclaw {version}: its start peaks at {peak} MiB RSS" in line
    own = derived_memory_mib(RELEASES[version])
    assert f"set at least {edge}Mi, or remove the key to get the release's own {own}Mi" in line


@pytest.mark.parametrize("version", SUPPORTED)
@pytest.mark.parametrize("cpu", ["50m", "250m", "1"])
def test_the_startup_budget_follows_the_release_and_the_cpu_request(version: str, cpu: str) -> None:
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": version},
                                      "openclaw:resources": {"cpuRequest": cpu}})
    probe = run.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    cores = 0.05 if cpu == "50m" else 0.25 if cpu == "250m" else 1.0
    assert probe["periodSeconds"] == 10
    budget = max(RELEASES[version].sizing.start_cpu_seconds * START_CPU_MARGIN / cores, MIN_STARTUP_BUDGET_SECONDS)
    assert probe["failureThreshold"] == math.ceil(budget / 10)
