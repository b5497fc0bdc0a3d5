"""Edges of agents/seed.mjs's inputs (the head of the script: its defaults, the preflight's reading
of openclaw.json and of the agent ids, the record file's lines and chunks, the crash tests' kill
points), each provoked for real on a volume laid out as the kubelet mounts it
(tests/seed_fixtures.py). The files and folders it works in: tests/test_edges_seed_files.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

import agents
from tests.seed_fixtures import (
    NOTHING_DONE,
    SECRETS,
    Volume,
    error_line,
    in_mount_namespace,
    node,
    sha,
    summary,
    tree,
)

EVERYTHING_SEEDED = {**NOTHING_DONE, "seeded": 4}
CONFIG_FIX = "is the config ConfigMap mounted at /config?"


# --- The pod's own paths: no path variable set ---------------------------------------------------------

# A root like the pod's: every folder of this machine's root bound as it is (the tool cache and the
# temp folders included), except /config, /seed and /home, which hold only what the test mounts.
POD_ROOT = r"""
set -eu
mount -t tmpfs -o mode=755 tmpfs "$POD_ROOT"
for d in /*; do
  name=${d#/}
  case $name in config|seed|home) continue ;; esac
  if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$POD_ROOT/$name"
  elif [ -d "$d" ]; then mkdir "$POD_ROOT/$name" && mount --rbind "$d" "$POD_ROOT/$name"
  fi
done
mkdir -p "$POD_ROOT/home/node/.openclaw"
if [ -n "$POD_CONFIG" ]; then mkdir "$POD_ROOT/config" && mount --bind "$POD_CONFIG" "$POD_ROOT/config"; fi
if [ -n "$POD_SEED" ]; then mkdir "$POD_ROOT/seed" && mount --bind "$POD_SEED" "$POD_ROOT/seed"; fi
mount --bind "$POD_STATE" "$POD_ROOT/home/node/.openclaw"
root=$POD_ROOT
unset POD_ROOT POD_CONFIG POD_SEED POD_STATE
exec chroot "$root" "$@"
"""


def _in_pod_layout(vol: Volume, *, config: bool = True, seed: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the seeder with the state volume at /home/node/.openclaw, the config at /config and the
    seeds at /seed (each only if asked), in a private mount namespace, and none of the
    OPENCLAW_STATE_DIR/CONFIG_SRC/SEED_SRC variables set: as the init container runs it."""
    vol.state.mkdir()
    (vol.root / "pod-root").mkdir()
    env = {"PATH": os.environ["PATH"], **SECRETS, "POD_ROOT": str(vol.root / "pod-root"),
           "POD_CONFIG": str(vol.config) if config else "", "POD_SEED": str(vol.seed) if seed else "",
           "POD_STATE": str(vol.state)}
    return subprocess.run([*in_mount_namespace(), "sh", "-c", POD_ROOT, "pod-root", node(), str(agents.SEED_SCRIPT)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_in_the_pods_layout_the_seeder_needs_no_path_variable(volume: Volume) -> None:
    """The state volume at /home/node/.openclaw, the config at /config, the seeds at /seed: the
    defaults the init container relies on (it sets none of the variables)."""
    result = _in_pod_layout(volume)
    assert summary(result) == EVERYTHING_SEEDED
    assert (volume.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v1\n"
    assert (volume.state / "openclaw.json").read_bytes() == (volume.config / "openclaw.json").read_bytes()


def test_in_the_pods_layout_a_missing_config_mount_is_named_by_its_default_path(volume: Volume) -> None:
    result = _in_pod_layout(volume, config=False)
    assert error_line(result) == f"/config/openclaw.json: not found; {CONFIG_FIX}"
    assert not any(volume.state.iterdir())


def test_in_the_pods_layout_a_missing_seed_mount_is_named_by_its_default_path(volume: Volume) -> None:
    result = _in_pod_layout(volume, seed=False)
    assert error_line(result) == "/seed: not found; is the seed volume mounted there, or OPENCLAW_AGENT_IDS set?"
    assert not any(volume.state.iterdir())


# --- The syncs' thread pool ------------------------------------------------------------------------------

def _sync_threads(vol: Volume, env: dict[str, str]) -> int:
    """How many threads fdatasync'ed the run's files: each sync made to take 20 ms, so that the 100
    files queued at once keep every thread of libuv's pool busy."""
    vol.write_seed({"main": {f"F{i:03d}.md": f"file {i}\n" for i in range(100)}})
    out = vol.root / "trace"
    vol.prefix = ["strace", "-f", "-qq", "-o", str(out), "-e", "trace=fdatasync",
                  "-e", "inject=fdatasync:delay_exit=20000"]
    assert summary(vol.run(env={**SECRETS, **env})) == {**NOTHING_DONE, "seeded": 100}
    vol.prefix = []
    return len({line.split()[0] for line in out.read_text().splitlines() if "fdatasync(" in line})


@pytest.mark.parametrize(("env", "threads"), [({}, 32), ({"UV_THREADPOOL_SIZE": ""}, 32),
                                              ({"UV_THREADPOOL_SIZE": "8"}, 8)],
                         ids=["unset", "empty", "set by the pod"])
def test_files_are_synced_on_32_threads_unless_the_pod_says_otherwise(volume: Volume, env: dict[str, str],
                                                                      threads: int) -> None:
    assert _sync_threads(volume, env) == threads


# --- Agent ids and seed file names at the edges of what they may be --------------------------------------

EDGE_IDS = ["a", "9lives", "a-b", "x1y", "z2"]   # one character, a digit first, a dash, a digit inside, last
EDGE_NAMES = {"a_b-1.md": "dash underscore digit\n", "SOUL.md": "soul\n"}


def test_ids_and_file_names_at_the_edges_of_a_dns_label_and_a_configmap_key_are_seeded(volume: Volume) -> None:
    """Each is seeded and recorded, and the records are read back: a second run finds nothing to do,
    a third with one seed changed updates exactly that file."""
    volume.write_seed({"main": {"SOUL.md": "main\n"}, **{i: EDGE_NAMES for i in EDGE_IDS}})
    assert summary(volume.run()) == {**NOTHING_DONE, "seeded": 1 + 2 * len(EDGE_IDS)}
    for agent_id in EDGE_IDS:
        assert (volume.state / "workspaces" / agent_id / "a_b-1.md").read_text() == "dash underscore digit\n"
        assert (volume.state / "agents" / agent_id / "sessions").is_dir()
    records = (volume.state / ".seed-state").read_text()
    assert f"{sha('dash underscore digit' + chr(10))}  workspaces/x1y/a_b-1.md\n" in records
    assert summary(volume.run()) == NOTHING_DONE
    volume.write_seed({"main": {"SOUL.md": "main\n"}, **{i: EDGE_NAMES for i in EDGE_IDS},
                       "z2": {**EDGE_NAMES, "a_b-1.md": "v2\n"}})
    assert summary(volume.run()) == {**NOTHING_DONE, "updated": 1}
    assert (volume.state / "workspaces" / "z2" / "a_b-1.md").read_text() == "v2\n"
    assert (volume.state / "workspaces" / "a-b" / "a_b-1.md").read_text() == "dash underscore digit\n"


def test_a_bad_agent_id_is_named_in_one_whole_line_with_control_characters_shown(volume: Volume) -> None:
    """Control characters (0x01, 0x1f, 0x7f) are shown as \\xNN, the printable ones around them (a
    space is never inside an id, '~' is 0x7e) as they are."""
    result = volume.run(env={**SECRETS, "OPENCLAW_AGENT_IDS": "main b\x01a\x1fd\x7f~"})
    assert error_line(result) == ("OPENCLAW_AGENT_IDS: bad agent id 'b\\x01a\\x1fd\\x7f~' (expected a DNS label: "
                                  "a-z, 0-9 and '-', not starting or ending with '-'); use the catalog's ids")
    assert not volume.state.exists()


def test_a_seed_volume_without_agent_folders_is_named_with_its_fix(volume: Volume) -> None:
    shutil.rmtree(volume.seed)
    volume.seed.mkdir()
    assert error_line(volume.run()) == (
        f"{volume.seed}: no agents: it holds no agent folders and OPENCLAW_AGENT_IDS is empty; mount the seed "
        "ConfigMaps there (key FILE of agent X at X/FILE) or set OPENCLAW_AGENT_IDS")


def test_a_seed_mount_that_is_a_file_is_named(volume: Volume) -> None:
    shutil.rmtree(volume.seed)
    volume.seed.write_text("not a folder\n")
    assert error_line(volume.run()) == (f"{volume.seed}: unexpected error ENOTDIR (scandir); check the volume; the "
                                        "next run picks up where this one stopped")
    assert not volume.state.exists()


def test_agents_without_seed_files_leave_no_record_file(volume: Volume) -> None:
    """Nothing seeded, nothing recorded: no record file is written, not even an empty one."""
    result = volume.run(ids=["ghost", "shade"])
    assert summary(result) == NOTHING_DONE
    assert not (volume.state / ".seed-state").exists()
    assert sorted(tree(volume.state)) == ["agents", "agents/ghost", "agents/ghost/agent", "agents/ghost/sessions",
                                          "agents/shade", "agents/shade/agent", "agents/shade/sessions",
                                          "openclaw.json", "workspaces", "workspaces/ghost", "workspaces/shade"]


# --- What openclaw.json requires --------------------------------------------------------------------------

def _missing(vol: Volume, result: subprocess.CompletedProcess[str]) -> list[str]:
    """The variables the preflight's one line names, in its order."""
    line = error_line(result)
    head, _, fix = line.partition("; ")
    prefix = f"{vol.config}/openclaw.json: missing or empty environment variables: "
    assert head.startswith(prefix), line
    assert fix == ("each comes from a Secret the Vault Secrets Operator syncs: check the VaultStaticSecret status "
                   "and the Vault keys"), line
    return head.removeprefix(prefix).split(" ")


def test_placeholders_are_upper_case_names_that_may_start_with_an_underscore_and_hold_digits(volume: Volume) -> None:
    """${_LEAD} and ${V2_X9} are placeholders OpenClaw substitutes; ${lower}, ${Mixed}, ${1ABC} and
    ${A-B} are not (OpenClaw leaves them as text): only the first two are required."""
    volume.write_config({"a": "${_LEAD}", "b": "x${V2_X9}y", "c": "${lower} ${Mixed} ${1ABC} ${A-B}"})
    assert _missing(volume, volume.run()) == ["_LEAD", "V2_X9"]
    extra = {"_LEAD": "fake-not-a-secret-0010", "V2_X9": "fake-not-a-secret-0011"}
    assert summary(volume.run(env={**SECRETS, **extra})) == EVERYTHING_SEEDED


def test_a_secret_ref_after_nulls_strings_numbers_and_lists_is_still_required(volume: Volume) -> None:
    """The secret refs are looked for in the whole parsed config, whatever values come before them."""
    ref = {"source": "env", "provider": "default", "id": "LATE_VAR"}
    volume.write_config({"first": None, "text": "plain words", "count": 7, "flag": True, "list": ["x", None, 3],
                         "nested": {"none": None, "ref": ref}})
    missing = _missing(volume, volume.run(env={k: v for k, v in SECRETS.items() if k != "OPENCLAW_DB_PASSWORD"}))
    assert missing == ["LATE_VAR", "OPENCLAW_DB_PASSWORD"]
    assert summary(volume.run(env={**SECRETS, "LATE_VAR": "fake-not-a-secret-0012"})) == EVERYTHING_SEEDED


# --- The record file's lines ------------------------------------------------------------------------------

def test_a_record_line_with_text_before_its_checksum_is_corrupt(seeded: Volume) -> None:
    state_file = seeded.state / ".seed-state"
    state_file.write_text(state_file.read_text() + f"x{'0' * 64}  workspace/SOUL.md\n")
    before = seeded.snapshot()
    assert error_line(seeded.run()) == (
        f"{state_file}: line 5 is not \"<sha256>  <workspace file>\" (the file is corrupt); remove the file: the "
        "next run keeps every existing workspace file as it is and seeds only the missing ones")
    assert seeded.snapshot() == before


CHUNK = 1 << 20     # seed.mjs: the record file is read 1 MiB at a time
MAX_LINE = 1024     # seed.mjs: the longest record line


def _long_record(length: int) -> str:
    """A well-formed record line (without its newline) of a file of no seed, `length` characters long."""
    prefix = f"{'0' * 64}  workspaces/x/"
    return prefix + "n" * (length - len(prefix))


@pytest.mark.parametrize(("length", "ok"), [(MAX_LINE, True), (MAX_LINE + 1, False)], ids=["at the limit", "one over"])
def test_a_record_line_that_ends_where_a_chunk_ends_is_measured_whole(seeded: Volume, length: int, ok: bool) -> None:
    """The line's last character is the chunk's last byte, its newline the next chunk's first."""
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    padding = CHUNK - length - len(own)          # blank lines, which the seeder skips
    state_file.write_text(own + "\n" * padding + _long_record(length) + "\n")
    assert state_file.read_text().index("\n", CHUNK - 1) == CHUNK
    result = seeded.run()
    if ok:
        assert summary(result) == NOTHING_DONE
        assert state_file.read_text() == own     # a record of no seed file, and blank lines: dropped
    else:
        assert error_line(result).startswith(
            f"{state_file}: line {4 + padding + 1} is not \"<sha256>  <workspace file>\" (the file is corrupt)")


def test_a_record_line_longer_than_a_chunk_is_corrupt_whatever_its_start_looks_like(seeded: Volume) -> None:
    """A line whose first 1,024 characters are a well-formed record, ending where a chunk ends,
    goes on through the whole next chunk: it is one line of more than 1 MiB, corrupt."""
    state_file = seeded.state / ".seed-state"
    own = state_file.read_text()
    padding = CHUNK - MAX_LINE - len(own)
    state_file.write_text(own + "\n" * padding + _long_record(MAX_LINE) + "n" * CHUNK + "\n")
    assert state_file.read_text().index("\n", CHUNK - MAX_LINE) == 2 * CHUNK
    assert error_line(seeded.run()).startswith(
        f"{state_file}: line {4 + padding + 1} is not \"<sha256>  <workspace file>\" (the file is corrupt)")


# --- The crash tests' kill points -------------------------------------------------------------------------

@pytest.mark.parametrize(("after", "left"), [(1, {}), (2, {".seed-tmp": ("dir", "")})])
def test_the_seeder_kills_itself_right_after_the_nth_change(volume: Volume, after: int,
                                                          left: dict[str, object]) -> None:
    """OPENCLAW_SEED_CRASH_AFTER=n: SIGKILL right after the n-th change to the volume, not later (on a
    fresh volume, the first is creating the root, the second the scratch folder)."""
    result = volume.run(crash_after=after)
    assert result.returncode == -signal.SIGKILL
    assert tree(volume.state) == left


def test_crash_after_zero_never_kills(volume: Volume) -> None:
    assert summary(volume.run(crash_after=0)) == EVERYTHING_SEEDED


def test_the_kill_points_cannot_end_the_seeder_as_pid_1(volume: Volume) -> None:
    """In the pod node is PID 1, and the kernel drops a SIGKILL a namespace's init sends itself: with
    OPENCLAW_SEED_CRASH_AFTER set, the run still completes, as if it were not set."""
    volume.prefix = ["unshare", "--pid", "--fork"]
    assert summary(volume.run(crash_after=1)) == EVERYTHING_SEEDED
    assert (volume.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"
