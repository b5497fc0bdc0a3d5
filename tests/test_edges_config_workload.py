"""Edges of the image, resources and storage config (components/config/workload.py) through the
stack config's loading: each rule just inside and just outside, the sizing bounds of each release,
and the whole line a user reads."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.workload import derived_memory_mib
from components.releases import RELEASES, Sizing

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}


def _load(**raw: Any) -> Any:
    return parse_config({"gateway": ORIGIN, **raw})


def _line(key: str, **raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        _load(**raw)
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - openclaw:{key}: ")]
    assert len(lines) == 1, str(info.value)
    return lines[0]


def test_the_pull_reference_pins_the_digest_and_keeps_the_tag() -> None:
    digest = "sha256:" + "b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"
    assert _load(image={"tag": "2026.9.6"}).image.ref == "ghcr.io/openclaw/openclaw:2026.9.6"
    pinned = _load(image={"tag": "2026.9.6", "digest": digest}).image
    assert pinned.ref == f"ghcr.io/openclaw/openclaw:2026.9.6@{digest}"


@pytest.mark.parametrize("repository", ["ghcr.io/openclaw/openclaw", "registry.test:5000/a/b", "a/b"])
def test_a_repository_is_accepted(repository: str) -> None:
    assert _load(image={"repository": repository}).image.repository == repository


@pytest.mark.parametrize("repository", ["openclaw", "GHCR.io/openclaw/openclaw", "ghcr.io/openclaw/", ""])
def test_a_repository_that_is_no_image_name_names_the_key(repository: str) -> None:
    assert _line("image.repository", image={"repository": repository}) == (
        "  - openclaw:image.repository: must be a registry/path image name such as ghcr.io/openclaw/openclaw "
        f"(got \"{repository}\")")


@pytest.mark.parametrize("tag", ["-x", "", "a" * 129, "2026.9.6/x"])
def test_a_tag_that_is_no_tag_names_the_key(tag: str) -> None:
    assert _line("image.tag", image={"tag": tag}) == (
        f"  - openclaw:image.tag: must be an image tag such as 2026.2.23 (got \"{tag}\")")


def test_latest_is_no_release() -> None:
    assert _line("image.tag", image={"tag": "latest"}) == (
        "  - openclaw:image.tag: 'latest' is not a release: pin a version such as 2026.2.23 (got \"latest\")")


@pytest.mark.parametrize("digest", ["sha256:" + "a" * 63, "sha256:" + "a" * 65, "sha512:" + "ab" * 32,
                                    "sha256:" + "AB" * 32])
def test_a_digest_of_the_wrong_form_names_the_key(digest: str) -> None:
    assert _line("image.digest", image={"digest": digest}) == (
        f"  - openclaw:image.digest: must be sha256:<64 hex digits> (got \"{digest}\")")


def test_a_placeholder_digest_says_how_to_read_the_real_one() -> None:
    digest = "sha256:" + "0" * 64
    assert _line("image.digest", image={"digest": digest}) == (
        f"  - openclaw:image.digest: {digest} is a placeholder (a repeated pattern), not the digest of a real image: "
        "pin the release's digest (`crane digest ghcr.io/openclaw/openclaw:<tag>` or `docker buildx imagetools "
        f"inspect ghcr.io/openclaw/openclaw:<tag>`), or remove the key to pull by tag (got \"{digest}\")")


def test_an_unknown_tag_says_both_ways_out() -> None:
    assert _line("image.tag", image={"tag": "2026.9.7"}) == (
        "  - openclaw:image.tag: 2026.9.7 is not a release this program supports (known: 2026.2.23, 2026.3.7, "
        "2026.6.35, 2026.9.6): pin one of them, or set openclaw:image.acceptUntestedRelease: true to run it rendered "
        "as the newest known release below it (untested)")


def test_an_accepted_untested_tag_renders_as_the_release_below() -> None:
    image = _load(image={"tag": "2026.9.7", "acceptUntestedRelease": True}).image
    assert image.untested and image.release is RELEASES["2026.9.6"]
    known = _load(image={"tag": "2026.9.6", "acceptUntestedRelease": True}).image
    assert not known.untested and known.release is RELEASES["2026.9.6"]
    assert _line("image.tag", image={"tag": "2026.1.1", "acceptUntestedRelease": True}) == (
        "  - openclaw:image.tag: '2026.1.1' is older than every release this program supports (known: 2026.2.23, "
        "2026.3.7, 2026.6.35, 2026.9.6): pin one of them")


@pytest.mark.parametrize(("cpu", "cores"), [("50m", 0.05), ("1m", 0.001), ("0.5", 0.5), ("2", 2.0), ("1.25", 1.25)])
def test_a_cpu_request_and_the_startup_budget_it_gives(cpu: str, cores: float) -> None:
    """2026.9.6 starts in 19 CPU-s: x 1.25 at the request, never under 180 s."""
    cfg = _load(image={"tag": "2026.9.6"}, resources={"cpuRequest": cpu})
    assert cfg.sizing.startup_budget_seconds == pytest.approx(max(19 * 1.25 / cores, 180))


@pytest.mark.parametrize("cpu", ["0", "0m", "0.0", "-1", "50M", "1.5m", "m", ""])
def test_a_cpu_request_that_is_none_names_the_key(cpu: str) -> None:
    assert _line("resources.cpuRequest", resources={"cpuRequest": cpu}) == (
        f"  - openclaw:resources.cpuRequest: must be a CPU quantity such as 50m or 0.5 (got \"{cpu}\")")


@pytest.mark.parametrize(("cpu", "budget"), [("0.3125", 180.0), ("0.3", 187.5), ("0.32", 180.0)])
def test_the_startup_budget_floor_from_both_sides(cpu: str, budget: float) -> None:
    """2026.2.23 starts in 45 CPU-s: 56.25 CPU-s with margin is 180 s at exactly 0.3125 cores."""
    cfg = _load(image={"tag": "2026.2.23"}, resources={"cpuRequest": cpu})
    assert cfg.sizing.startup_budget_seconds == pytest.approx(budget)


@pytest.mark.parametrize(("version", "limit"), [("2026.2.23", 1536), ("2026.3.7", 1536), ("2026.6.35", 1280),
                                                ("2026.9.6", 2048)])
def test_each_releases_derived_limit(version: str, limit: int) -> None:
    sizing = _load(image={"tag": version}).sizing
    assert (sizing.memory, sizing.memory_mib, sizing.heap_mib, sizing.derived) == (f"{limit}Mi", limit, 896, True)


@pytest.mark.parametrize(("peak", "limit"), [(832, 1280), (833, 1408), (1, 1280), (915, 1408), (916, 1536)])
def test_a_derived_limit_is_the_next_step_of_128_above_the_peak_share(peak: int, limit: int) -> None:
    """peak / 0.65, rounded up to 128 MiB; never under the 896 MiB heap's 1280 (a quarter left)."""
    release = dataclasses.replace(RELEASES["2026.9.6"], sizing=Sizing(19.0, peak))
    assert derived_memory_mib(release) == limit


@pytest.mark.parametrize(("memory", "ok"), [("1707Mi", True), ("1706Mi", False)])
def test_a_set_limit_keeps_the_release_peak_under_three_quarters(memory: str, ok: bool) -> None:
    """2026.9.6 peaks at 1280 MiB: under 75% of the limit needs 1706.7 MiB."""
    raw = {"image": {"tag": "2026.9.6"}, "resources": {"memory": memory}}
    if ok:
        sizing = _load(**raw).sizing
        assert (sizing.memory, sizing.derived, sizing.heap_mib) == (memory, False, 896)
    else:
        assert _line("resources.memory", **raw) == (
            f"  - openclaw:resources.memory: {memory} is too small for openclaw 2026.9.6: its start peaks at 1280 MiB "
            "RSS (measured, components/releases.py), which must stay under 75% of the limit; set at least 1707Mi, "
            "or remove the key to get the release's own 2048Mi")


@pytest.mark.parametrize(("memory", "headroom", "ok"), [
    ("1024Mi", 768, True), ("1024Mi", 769, False),   # a heap of 256 MiB, and one below
    ("1024Mi", 256, True), ("1024Mi", 255, False),   # three quarters of the limit, and one above
    ("4Gi", 3840, True), ("4Gi", 3841, False)])
def test_the_heap_bounds_name_the_headroom(memory: str, headroom: int, ok: bool) -> None:
    """At 2026.6.35 (peak 470 MiB): the heap is at least 256 MiB and at most three quarters of the limit."""
    raw = {"image": {"tag": "2026.6.35"}, "resources": {"memory": memory, "heapHeadroomMib": headroom}}
    if ok:
        assert _load(**raw).sizing.heap_mib == int(_load(**raw).sizing.memory_mib) - headroom
    else:
        limit = {"1024Mi": 1024, "4Gi": 4096}[memory]
        heap = limit - headroom
        assert _line("resources.heapHeadroomMib", **raw) == (
            f"  - openclaw:resources.heapHeadroomMib: memory={memory} with a Node heap of {heap} MiB: the heap must be "
            f"at least 256 MiB and leave at least a quarter of the memory limit ({limit / 4:.0f} MiB) to the rest of "
            "the process, or the pod is OOM-killed without a log line; raise memory or set heapHeadroomMib")


@pytest.mark.parametrize(("memory", "ok"), [("1195Mi", True), ("1194Mi", False)])
def test_the_default_heap_needs_a_limit_a_third_above_it(memory: str, ok: bool) -> None:
    """896 MiB may be at most three quarters of the limit: 1194.7 MiB (2026.6.35's peak is far below)."""
    raw = {"image": {"tag": "2026.6.35"}, "resources": {"memory": memory}}
    if ok:
        assert _load(**raw).sizing.heap_mib == 896
    else:
        assert _line("resources.memory", **raw).startswith(
            f"  - openclaw:resources.memory: memory={memory} with a Node heap of 896 MiB: ")


@pytest.mark.parametrize(("name", "ok"), [("a", True), ("a." + "b" * 251, True), ("a." + "b" * 252, False),
                                          ("local-path", True), ("Local", False), ("-a", False), ("a..b", False)])
def test_a_storage_class_name_is_a_dns_subdomain(name: str, ok: bool) -> None:
    if ok:
        assert _load(storage={"className": name}).storage.class_name == name
    else:
        assert _line("storage.className", storage={"className": name}) == (
            "  - openclaw:storage.className: must be a StorageClass name (DNS subdomain) such as local-path-retain "
            f"(got \"{name}\")")
