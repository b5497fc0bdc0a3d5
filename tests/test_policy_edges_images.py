"""The image policies (policy/images.py) at their edges, in both shapes: each container on its own
(init containers too), each accepted registry on its own, tags and digests just inside and just
outside each rule."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages
from tests.test_policy import Mutation, mutate

IMAGES = {"image-tag-pinned", "image-registry-allowed", "image-digest-pinned"}
REAL = "b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"  # no repeated unit
GATEWAY_CONTAINERS = ["state-guard", "seed", "plugins", "migrate", "preflight", "gateway"]
BACKUP_CONTAINERS = [("openclaw-backup", "snapshot"), ("openclaw-backup", "restic"),
                     ("openclaw-backup-drill", "restore"), ("openclaw-backup-drill", "verify")]


def _pod(props: dict[str, Any]) -> dict[str, Any]:
    spec = props["spec"]
    if props["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def _all(props: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(props)
    containers: list[dict[str, Any]] = pod.get("initContainers", []) + pod["containers"]
    return containers


def image_of(container: str, image: str) -> Mutation:
    def apply(props: dict[str, Any]) -> None:
        matching = [c for c in _all(props) if c["name"] == container]
        assert len(matching) == 1, container
        matching[0]["image"] = image
    return apply


def every_image(image: str) -> Mutation:
    return lambda props: [c.__setitem__("image", image) for c in _all(props)]


def _label(container: str, kind: str = "Deployment") -> str:
    regular = {"Deployment": {"gateway"}, "CronJob": {"restic", "verify"}}[kind]
    return f"container '{container}'" if container in regular else f"init container '{container}'"


def test_the_containers_named_here_are_the_rendered_ones(dev: RunResult, prod: RunResult) -> None:
    assert [c["name"] for c in _all(dev.find("Deployment", "openclaw").properties)] == GATEWAY_CONTAINERS
    for cronjob, container in BACKUP_CONTAINERS:
        assert container in [c["name"] for c in _all(prod.find("CronJob", cronjob).properties)]


@pytest.mark.parametrize("container", GATEWAY_CONTAINERS)
@pytest.mark.parametrize(("image", "words"), [("ghcr.io/openclaw/openclaw:latest", "is :latest"),
                                              ("ghcr.io/openclaw/openclaw", "is untagged")])
def test_each_gateway_container_on_its_own_is_judged(analyzer: PolicyAnalyzer, dev: RunResult, container: str,
                                                     image: str, words: str) -> None:
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", image_of(container, image)), "image-tag-pinned")
    assert messages(found) == [f"Deployment openclaw/openclaw {_label(container)}: image '{image}' {words}: "
                               "pin a release tag or digest"]


@pytest.mark.parametrize(("cronjob", "container"), BACKUP_CONTAINERS)
def test_each_backup_container_on_its_own_is_judged(analyzer: PolicyAnalyzer, prod: RunResult, cronjob: str,
                                                    container: str) -> None:
    image = "quay.io/restic/restic:0.14.0"
    found = findings(analyzer, mutate(prod, "CronJob", cronjob, image_of(container, image)), IMAGES, stack="prod")
    where = f"CronJob openclaw/{cronjob} {_label(container, 'CronJob')}"
    assert [(p, m.split(": image")[0]) for p, _, m in found if p != "image-digest-pinned"] == [
        ("image-registry-allowed", where)]


@pytest.mark.parametrize(("image", "tag_finding"), [
    ("ghcr.io/openclaw/openclaw:2026.9.6", None),
    ("ghcr.io/openclaw/openclaw:latest", "is :latest"),
    ("ghcr.io/openclaw/openclaw:latest-2026", None),            # just outside :latest
    ("ghcr.io/openclaw/openclaw", "is untagged"),
    (f"ghcr.io/openclaw/openclaw@sha256:{REAL}", None),         # a digest pins it, tag or not
    (f"ghcr.io/openclaw/openclaw:latest@sha256:{REAL}", None),
    (f"ghcr.io/openclaw/openclaw:latest@sha512:{REAL}", "is :latest"),   # only a sha256 digest pins
    (f"ghcr.io/openclaw/openclaw@sha512:{REAL}", "is untagged"),
    ("ghcr.io:443/openclaw/openclaw", "is untagged"),           # a registry port is not a tag
    ("ghcr.io:443/openclaw/openclaw:2026.9.6", None),
    ("openclaw", "is untagged"),                               # no registry, no path
    ("openclaw:latest", "is :latest"),
])
def test_tag_rule(analyzer: PolicyAnalyzer, dev: RunResult, image: str, tag_finding: str | None) -> None:
    config = {"image-registry-allowed": {"enforcementLevel": "mandatory",
                                         "allowedRegistries": ["ghcr.io/openclaw/", "ghcr.io:443/openclaw/",
                                                                               "openclaw"]}}
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", image_of("gateway", image)),
                     {"image-tag-pinned", "image-registry-allowed"}, config)
    expected = [] if tag_finding is None else [f"Deployment openclaw/openclaw container 'gateway': image '{image}' "
                                               f"{tag_finding}: pin a release tag or digest"]
    assert messages(found) == expected


@pytest.mark.parametrize(("unit", "placeholder"), [
    ("a", True), ("ab", True), ("abcd", True), ("deadbeef", True), ("0123456789abcdef", True),
    ("0123456789abcdeffedcba9876543210", False),                 # a unit of 32 is just outside the rule
])
def test_placeholder_digest_units(analyzer: PolicyAnalyzer, dev: RunResult, unit: str, placeholder: bool) -> None:
    image = f"ghcr.io/openclaw/openclaw:2026.9.6@sha256:{unit * (64 // len(unit))}"
    seed = "Deployment openclaw/openclaw init container 'seed'"
    found = [f for f in findings(analyzer, mutate(dev, "Deployment", "openclaw", image_of("seed", image)), IMAGES)
             if f[2].startswith(seed)]
    if placeholder:
        assert [(p, lvl) for p, lvl, _ in found] == [("image-digest-pinned", "advisory"),
                                                    ("image-tag-pinned", "mandatory")]
        assert messages(found) == [
            f"{seed}: image '{image}' is pinned to a placeholder digest (a repeated pattern), which no registry "
            "serves: the pull would fail and the rollout hang; set the real digest (`crane digest <image>:<tag>`) "
            "or drop it",
            f"{seed}: image '{image}' is pinned to a placeholder digest (a repeated pattern), which no registry "
            "serves: set the real digest (`crane digest <image>:<tag>`) or drop it"]
    else:
        assert found == []


@pytest.mark.parametrize(("digits", "placeholder"), [
    ("deadbeef" * 7 + "DEADBEEF", True),     # the same unit in either case is still typed by hand
    ("DEADBEEF" * 8, True),
    ("deadbeef" * 7 + "DEADBEEE", False),
])
def test_placeholder_digest_ignores_case(analyzer: PolicyAnalyzer, dev: RunResult, digits: str,
                                         placeholder: bool) -> None:
    image = f"ghcr.io/openclaw/openclaw:2026.9.6@sha256:{digits}"
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", image_of("gateway", image)), "image-tag-pinned")
    assert bool(found) is placeholder


def test_digest_advice(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    real = f"ghcr.io/openclaw/openclaw:2026.9.6@sha256:{REAL}"
    # dev's pre-upgrade snapshot Job runs the previous release by tag (components/pre_upgrade.py):
    # advised on its own, whatever the Deployment pins.
    job = ("image-digest-pinned", "advisory", "Job openclaw/openclaw-pre-upgrade-2026-2-23 container 'snapshot': "
           "image 'ghcr.io/openclaw/openclaw:2026.2.23' is not pinned by a sha256 digest: a re-pushed tag changes "
           "what runs; set openclaw:image.digest (`crane digest <image>:<tag>`)")
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", every_image(real)), IMAGES)
    assert found == [job]
    # A tag alone: advised (not mandatory), once per container, naming the container.
    found = [f for f in findings(analyzer, dev.resources, IMAGES) if f != job]
    assert {(p, lvl) for p, lvl, _ in found} == {("image-digest-pinned", "advisory")}
    assert sorted(m.split(": image")[0] for m in messages(found)) == sorted(
        f"Deployment openclaw/openclaw {_label(c)}" for c in GATEWAY_CONTAINERS)
    assert all("is not pinned by a sha256 digest" in m for m in messages(found))
    # Just outside a digest: 63 hex digits, or a digest of another algorithm.
    for image in (f"ghcr.io/openclaw/openclaw:2026.9.6@sha256:{REAL[:63]}",
                  f"ghcr.io/openclaw/openclaw:2026.9.6@sha512:{REAL}"):
        found = findings(analyzer, mutate(dev, "Deployment", "openclaw", image_of("gateway", image)),
                         "image-digest-pinned")
        assert [m for m in messages(found) if "container 'gateway'" in m] == [
            f"Deployment openclaw/openclaw container 'gateway': image '{image}' is not pinned by a sha256 digest: "
            "a re-pushed tag changes what runs; set openclaw:image.digest (`crane digest <image>:<tag>`)"]


DEFAULT_REGISTRIES = {"image-registry-allowed": "mandatory"}  # the schema's default list


@pytest.mark.parametrize("config", [DEFAULT_REGISTRIES, {}], ids=["default", "prod config"])
@pytest.mark.parametrize(("image", "allowed"), [
    ("ghcr.io/openclaw/openclaw:2026.2.23", True),
    ("ghcr.io/openclawx/openclaw:2026.2.23", False),
    ("docker.io/restic/restic:0.14.0", True),
    (f"docker.io/restic/restic@sha256:{REAL}", True),
    ("docker.io/restic/restic-fork:0.14.0", False),
    ("docker.io/restic/rest:0.14.0", False),
    ("restic/restic:0.14.0", False),
])
def test_each_allowed_registry_on_its_own(analyzer: PolicyAnalyzer, prod: RunResult, config: dict[str, Any],
                                          image: str, allowed: bool) -> None:
    records = mutate(prod, "CronJob", "openclaw-backup", image_of("restic", image))
    found = findings(analyzer, records, "image-registry-allowed", config, stack="prod")
    where = "CronJob openclaw/openclaw-backup container 'restic'"
    listed = "['ghcr.io/openclaw/', 'docker.io/restic/restic:', 'docker.io/restic/restic@']"
    assert messages(found) == ([] if allowed else [
        f"{where}: image '{image}' is not from an allowed registry {listed}: use the mirror or add the registry "
        "to allowedRegistries"])


WHY = {"image-tag-pinned": "the image must not be :latest or untagged",
       "image-registry-allowed": "the image must come from ['ghcr.io/openclaw/', 'docker.io/restic/restic:', "
                                 "'docker.io/restic/restic@']",
       "image-digest-pinned": "the image must be pinned by a real digest"}


@pytest.mark.parametrize(("change", "where"), [
    (lambda p: _pod(p)["containers"][0].__setitem__("image", UNKNOWN),
     "container 'gateway' spec.template.spec.containers[0].image"),
    (lambda p: _pod(p)["initContainers"].__setitem__(1, UNKNOWN),
     "init container '?' spec.template.spec.initContainers[1]"),
], ids=["image", "container"])
def test_an_unknown_image_is_undecidable_for_each_policy(analyzer: PolicyAnalyzer, dev: RunResult, change: Mutation,
                                                         where: str) -> None:
    found = [f for f in findings(analyzer, mutate(dev, "Deployment", "openclaw", change), IMAGES)
             if f[2].startswith("undecidable")]
    assert sorted((p, m) for p, _, m in found) == sorted(
        (policy, f"undecidable at preview: Deployment openclaw/openclaw {where} is unknown, and {why}: make the "
                 "value known in the program, or apply what it depends on first") for policy, why in WHY.items())


def test_a_container_without_an_image(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    found = findings(analyzer, mutate(dev, "Deployment", "openclaw", lambda p: _pod(p)["containers"][0].pop("image")),
                     {"image-tag-pinned", "image-registry-allowed"})
    where = "Deployment openclaw/openclaw container 'gateway': image ''"
    assert messages(found) == [
        f"{where} is not from an allowed registry ['ghcr.io/openclaw/', 'docker.io/restic/restic:', "
        "'docker.io/restic/restic@']: use the mirror or add the registry to allowedRegistries",
        f"{where} is untagged: pin a release tag or digest"]
