"""Which release an OpenClaw container runs (policy/releases.py), at its edges, through the pack in both
shapes: each image reference form (registry, port, tag, digest, no tag), each release of the table and
just beside one, the untested-release annotation in each form; and the known releases in version order."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from components.releases import RELEASES
from engine.analyzer import POLICY_DIR, PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages
from tests.policy_edges_release import GW, REPO, UNTESTED, annotate, deploy, unknown_release, with_image

DIGEST = f"sha256:{'0123456789abcdef' * 4}"


@pytest.mark.parametrize(("image", "tag"), [
    (f"{REPO}:2026.9.7", "2026.9.7"), (f"{REPO}:2026.9.7@{DIGEST}", "2026.9.7"), (f"{REPO}:2026.9.60", "2026.9.60"),
    (f"{REPO}:2026.9", "2026.9"), (f"{REPO}:v2026.9.6", "v2026.9.6"), (f"{REPO}:2026.9.6-1", "2026.9.6-1"),
    (f"{REPO}:latest2", "latest2"), (f"{REPO}:{DIGEST.replace(':', '-')}", DIGEST.replace(":", "-")),
])
def test_a_tag_beside_the_table_is_not_a_release(analyzer: PolicyAnalyzer, dev: RunResult, image: str,
                                                   tag: str) -> None:
    found = findings(analyzer, deploy(dev, with_image(image)), "release-known")
    assert messages(found) == [f"{GW}: {unknown_release(tag)}"]


@pytest.mark.parametrize("version", sorted(RELEASES))
@pytest.mark.parametrize("form", ["{repo}:{v}", "{repo}:{v}@{digest}"])
def test_each_release_of_the_table_is_known(analyzer: PolicyAnalyzer, dev: RunResult, version: str,
                                            form: str) -> None:
    image = form.format(repo=REPO, v=version, digest=DIGEST)
    assert findings(analyzer, deploy(dev, with_image(image)), "release-known") == []


@pytest.mark.parametrize("image", [
    f"{REPO}", f"{REPO}@{DIGEST}", f"{REPO}:latest",                                  # image-tag-pinned's to refuse
    "ghcr.io/openclaw/openclaw-x:2026.9.7", "ghcr.io/openclaw/other:2026.9.7", "ghcr.io/openclaw:2026.9.7",
    "ghcr.io/other/openclaw:2026.9.7", "docker.io/openclaw/openclaw:2026.9.7", "openclaw/openclaw:2026.9.7",
    "openclaw:2026.9.7", "localhost:5000/openclaw/openclaw:2026.9.7",
    "ghcr.io/openclaw/openclaw/openclaw:2026.9.7",
])
def test_other_images_and_tagless_ones_are_not_judged_for_the_release(analyzer: PolicyAnalyzer, dev: RunResult,
                                                                      image: str) -> None:
    """Only ghcr.io/openclaw/openclaw is OpenClaw (an untested-release annotation does not make an image
    OpenClaw's); no tag and `latest` are image-tag-pinned's to refuse."""
    records = deploy(dev, with_image(image), *([] if image.startswith(REPO) else [annotate("2026.9.6")]))
    assert findings(analyzer, records, {"release-known", "release-untested"}) == []


@pytest.mark.parametrize("base", sorted(RELEASES))
def test_an_accepted_tag_is_judged_as_each_release_it_names(analyzer: PolicyAnalyzer, dev: RunResult,
                                                            base: str) -> None:
    """Judged as the named release: 2026.2.23 has no health route, so the 9.6 render's probes fail there."""
    records = deploy(dev, with_image(f"{REPO}:2026.9.7"), annotate(base))
    found = findings(analyzer, records, {"release-known", "release-untested", "release-probes"})
    assert ("release-untested", "advisory", f"{GW}: openclaw 2026.9.7 is untested, rendered and judged as openclaw "
            f"{base}; add it to components/releases.py once its own validator and the e2e pass") in found
    assert {p for p, _, _ in found} == {"release-untested"} | ({"release-probes"} if base != "2026.9.6" else set())


@pytest.mark.parametrize("base", ["2026.9.5", "2026.9.60", "", " 2026.9.6", "latest", "2026.9.6 "])
def test_an_annotation_that_names_no_release(analyzer: PolicyAnalyzer, dev: RunResult, base: Any) -> None:
    found = findings(analyzer, deploy(dev, with_image(f"{REPO}:2026.9.7"), annotate(base)),
                     {"release-known", "release-untested"})
    assert found == [("release-known", "mandatory", f"{GW}: {unknown_release('2026.9.7')}")]


def test_an_unknown_annotation_beside_a_known_tag(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    for version in sorted(RELEASES):
        records = deploy(dev, with_image(f"{REPO}:{version}"), annotate(UNKNOWN))
        assert findings(analyzer, records, {"release-known", "release-untested"}) == [], version


@pytest.fixture
def releases() -> Iterator[ModuleType]:
    """The pack's releases module, imported as the pack imports it (top-level, from policy/)."""
    sys.path.insert(0, str(POLICY_DIR))
    try:
        import releases as module
        yield module
    finally:
        sys.path.remove(str(POLICY_DIR))


def test_known_releases_are_listed_in_version_order(releases: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The list the release-known message gives: by version, not by text (2026.10 after 2026.9)."""
    assert releases.known() == ", ".join(sorted(RELEASES, key=lambda v: tuple(int(p) for p in v.split("."))))
    table = {v: {"version": v} for v in ("2026.10.1", "2026.9.6", "2026.10.0", "2026.2.23", "2027.1.0")}
    monkeypatch.setattr(releases, "TABLE", table)
    assert releases.known() == "2026.2.23, 2026.9.6, 2026.10.0, 2026.10.1, 2027.1.0"


def test_the_table_is_read_from_its_file(releases: ModuleType, tmp_path: Any) -> None:
    path = tmp_path / "releases.json"
    path.write_text('{"format": 1, "releases": {"2026.9.6": {"version": "2026.9.6", "note": "\u00e9t\u00e9"}}}',
                    encoding="utf-8")
    assert releases.load_table(path) == {"2026.9.6": {"version": "2026.9.6", "note": "\u00e9t\u00e9"}}
    assert releases.load_table() == releases.TABLE and sorted(releases.TABLE) == sorted(RELEASES)
    assert UNTESTED == releases.UNTESTED_ANNOTATION


@pytest.mark.parametrize(("image", "split"), [
    (f"{REPO}:2026.9.6", (REPO, "2026.9.6")), (f"{REPO}:2026.9.6@{DIGEST}", (REPO, "2026.9.6")),
    (f"{REPO}@{DIGEST}", (REPO, None)), (REPO, (REPO, None)), ("openclaw:2026.9.6", ("openclaw", "2026.9.6")),
    ("localhost:5000/openclaw/openclaw:2026.9.6", ("localhost:5000/openclaw/openclaw", "2026.9.6")),
    ("localhost:5000/openclaw/openclaw", ("localhost:5000/openclaw/openclaw", None)),
    (f"localhost:5000/openclaw@{DIGEST}", ("localhost:5000/openclaw", None)),
])
def test_an_image_reference_splits_into_repository_and_tag(releases: ModuleType, image: str,
                                                          split: tuple[str, str | None]) -> None:
    """A registry's port is no tag: the tag is the last path component's."""
    assert releases.split_image(image) == split


@pytest.mark.parametrize(("image", "tag"), [(f"{REPO}:2026.9.6:1", "2026.9.6:1"),
                                            (f"{REPO}:2026.9.7@{DIGEST}@{DIGEST}", "2026.9.7")])
def test_a_malformed_reference_is_read_not_fatal(analyzer: PolicyAnalyzer, dev: RunResult, image: str,
                                                 tag: str) -> None:
    """The API server takes any image text (the kubelet refuses it at pull): the tag after the first `:`
    of the last component, before the first `@`, is not a release."""
    found = findings(analyzer, deploy(dev, with_image(image)), "release-known")
    assert messages(found) == [f"{GW}: {unknown_release(tag)}"]


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_a_known_tag_is_judged_as_its_release_in_the_container(analyzer: PolicyAnalyzer, dev: RunResult,
                                                               version: str) -> None:
    """Each release of the table is judged as itself, and the finding names the container."""
    records = deploy(dev, with_image(f"{REPO}:{version}"), lambda p: p["spec"]["template"]["spec"]["containers"][0][
        "resources"]["limits"].__setitem__("memory", "64Mi"))
    peak = RELEASES[version].sizing.peak_rss_mib
    assert messages(findings(analyzer, records, "release-memory")) == [
        f"{GW}: memory limit 64Mi (64 MiB) is too small for openclaw {version}: its start peaks at {peak} MiB RSS "
        f"(measured), more than 75% of the limit; raise it to at least {peak / 0.75:.0f} MiB (unset "
        "openclaw:resources.memory to get the release's own)"]
