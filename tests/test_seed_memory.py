"""The seeder inside the init container's memory limit (the rendered pod's `limits.memory`), for real:
run in a memory cgroup of that size (tests/memory_cgroup.py), against record files up to the 64 MiB
cap, well-formed or junk. It finishes, or stops with one `seed: error:` line; never an OOM kill,
which would leave the pod in a restart loop with no line at all."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import agents
from engine.harness import RunResult
from tests.memory_cgroup import LimitedRun, run_limited
from tests.seed_fixtures import SECRETS, Volume, error_line, make_volume, node, summary
from tests.seed_probes import record_lines

MiB = 1 << 20
CAP = 64 * MiB   # seed.mjs MAX_STATE_BYTES


@pytest.fixture(scope="module")
def limit(dev: RunResult) -> int:
    """The seed init container's memory limit, as rendered."""
    pod = dev.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    (seed,) = [c for c in pod["initContainers"] if c["name"] == "seed"]
    value = seed["resources"]["limits"]["memory"]
    assert value.endswith("Mi"), value
    return int(value.removesuffix("Mi")) * MiB


@pytest.fixture
def seeded(tmp_path: Path) -> Volume:
    vol = make_volume(tmp_path)
    assert vol.run().returncode == 0
    return vol


def _run(vol: Volume, limit: int) -> LimitedRun:
    env = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(vol.state), "OPENCLAW_CONFIG_SRC": str(vol.config),
           "OPENCLAW_SEED_SRC": str(vol.seed), **SECRETS}
    run = run_limited([node(), str(agents.SEED_SCRIPT)], limit=limit, env=env)
    assert run.oom_kills == 0 and run.result.returncode != -9, f"OOM-killed (peak {run.peak_bytes >> 20} MiB)"
    return run


def _append(vol: Volume, data: bytes) -> Path:
    state_file = vol.state / ".seed-state"
    own = state_file.read_bytes()
    state_file.write_bytes(own + data)
    return state_file


@pytest.mark.parametrize("size", [60 * MiB, CAP], ids=["60 MiB", "the 64 MiB cap exactly"])
def test_records_of_unknown_agents_up_to_the_cap_are_read_within_the_limit(seeded: Volume, limit: int,
                                                                           size: int) -> None:
    own = (seeded.state / ".seed-state").read_bytes()
    state_file = _append(seeded, record_lines(size - len(own)))
    assert state_file.stat().st_size == size
    run = _run(seeded, limit)
    assert summary(run.result) == {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
    assert state_file.read_bytes() == own       # the unknown agents' records are dropped


def test_junk_in_one_line_is_named_within_the_limit(seeded: Volume, limit: int) -> None:
    state_file = seeded.state / ".seed-state"
    state_file.write_bytes(b"x" * (60 * MiB))
    line = error_line(_run(seeded, limit).result)
    assert line.startswith(f"{state_file}: line 1 is not \"<sha256>  <workspace file>\" (the file is corrupt); "
                           "remove the file"), line


def test_junk_after_60_mib_of_records_is_named_by_its_line_within_the_limit(seeded: Volume, limit: int) -> None:
    data = record_lines(60 * MiB, tail=b"not a record\n")
    state_file = seeded.state / ".seed-state"
    state_file.write_bytes(data)
    last = data.count(b"\n")
    line = error_line(_run(seeded, limit).result)
    assert line.startswith(f"{state_file}: line {last} is not \"<sha256>  <workspace file>\""), line


def test_many_checksums_for_one_seeded_file_are_named_within_the_limit(seeded: Volume, limit: int) -> None:
    state_file = _append(seeded, record_lines(60 * MiB, path="workspaces/sre/SOUL.md"))
    line = error_line(_run(seeded, limit).result)
    assert line.startswith(f"{state_file}: more than "), line
    assert "checksums for workspaces/sre/SOUL.md (the file is corrupt); remove the file" in line, line


@pytest.mark.parametrize(("size", "stops"), [(CAP, False), (CAP + 1, True)], ids=["at the cap", "one byte over"])
def test_the_record_file_cap_is_exact(seeded: Volume, size: int, stops: bool) -> None:
    state_file = seeded.state / ".seed-state"
    own = state_file.read_bytes()
    state_file.write_bytes(record_lines(size))
    result = seeded.run()
    if stops:
        assert error_line(result).startswith(
            f"{state_file}: {size} bytes, far more than the seeder's records can be (the file is corrupt); remove")
    else:
        # No record names a seeded file, but each equals its seed: the seeder's, recorded again.
        assert summary(result) == {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
        assert state_file.read_bytes() == own


def test_a_60_mib_record_file_is_copied_within_the_limit(seeded: Volume, limit: int) -> None:
    """An update due and a reset workspace: the record file is copied twice (without the reset
    workspace's records, then with the pending checksums), in chunks; the unknown records stay
    until the end, the final records are the seed files'."""
    own = (seeded.state / ".seed-state").read_bytes()
    state_file = _append(seeded, record_lines(60 * MiB - len(own)))
    shutil.rmtree(seeded.state / "workspaces" / "sre")
    seeded.write_seed({"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v1\n"},
                       "sre": {"SOUL.md": "sre soul v1\n", "TOOLS.md": "sre tools v1\n"}})
    run = _run(seeded, limit)
    assert summary(run.result) == {"seeded": 2, "updated": 1, "kept-edited": 0, "archived": 0}
    assert (seeded.state / "workspace" / "SOUL.md").read_text() == "main soul v2\n"
    assert state_file.read_bytes() == own.replace(hashlib.sha256(b"main soul v1\n").hexdigest().encode(),
                                                  hashlib.sha256(b"main soul v2\n").hexdigest().encode())
