"""The OpenClaw release table as data (releases.json, generated from the program's release model
components/releases.py; tests/test_releases.py keeps the two identical), and which release an
OpenClaw container runs: what the release policies judge with. The pack never imports the program."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8s import Field

RELEASES_FILE = Path(__file__).with_name("releases.json")
# Written by the program on a workload whose tag the release model does not know, when the stack
# accepted it (openclaw:image.acceptUntestedRelease): the known release it was rendered as.
UNTESTED_ANNOTATION = "openclaw.io/untested-release-rendered-as"
OPENCLAW_REPOSITORIES = ["ghcr.io/openclaw/openclaw"]
# A health route in a probe: an httpGet path, or the path an exec probe requests (components/probes.py).
HEALTH_PATH = re.compile(r"/(health|ready)z?(?![\w/-])")
STARTUP_PATH = re.compile(r"/startupz?(?![\w/-])")


def load_table(path: Path = RELEASES_FILE) -> dict[str, dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    releases: dict[str, dict[str, Any]] = doc["releases"]
    return releases


TABLE = load_table()


def known() -> str:
    return ", ".join(sorted(TABLE, key=lambda v: tuple(int(p) for p in v.split("."))))


def split_image(image: str) -> tuple[str, str | None]:
    """(repository, tag) of `repo[:tag][@digest]`."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return f"{head}/{last}" if head else last, tag
    return name, None


@dataclass(frozen=True)
class Judged:
    """An OpenClaw container and the release it is judged as (None: the tag is not a known release)."""

    where: str
    tag: str | None
    release: dict[str, Any] | None
    untested: bool   # an unknown tag the stack accepted, judged as the release it was rendered as


def judge(where: str, image: str, annotations: Field, repositories: list[str]) -> Judged | None:
    """The release of an OpenClaw image (None for another image). A tag the table does not know is
    judged as the release the program rendered it as, when the workload says so (UNTESTED_ANNOTATION)."""
    repository, tag = split_image(image)
    if repository not in repositories:
        return None
    if tag in TABLE:
        return Judged(where, tag, TABLE[tag], untested=False)
    base = annotations[UNTESTED_ANNOTATION]
    base_release = None if base.unknown else TABLE.get(base.text() or "")
    return Judged(where, tag, base_release, untested=base_release is not None)
