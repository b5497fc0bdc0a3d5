"""The order of the seeder's durable writes (agents/README.md, "Crash safety"), traced with strace:
each file's content is fdatasync'ed before its temp file is renamed into place; the pending
checksums reach `.seed-state` before any workspace file they describe; `.seed-state` is rewritten
after the last workspace file and the volume root fsync'ed after it; a run with nothing to do
syncs and renames nothing."""

from __future__ import annotations

from tests.seed_fixtures import CONFIG, Volume
from tests.seed_probes import syncs_and_renames


def _check_order(calls: list[tuple[str, str, str]]) -> list[str]:
    """Each temp file synced once, before its rename; the targets renamed into place, in order."""
    synced: list[str] = []
    targets = []
    for call, path, target in calls:
        if call == "fdatasync":
            assert path.startswith(".seed-tmp/") and path not in synced, calls
            synced.append(path)
        elif call == "rename" and path.startswith(".seed-tmp/"):
            assert path in synced, f"{path} renamed to {target} before its fdatasync: {calls}"
            targets.append(target)
    return targets


def test_a_first_run_syncs_each_file_before_it_is_renamed_then_the_root(volume: Volume) -> None:
    calls = syncs_and_renames(volume)
    targets = _check_order(calls)
    assert sorted(targets) == sorted(["openclaw.json", ".seed-state", "workspace/AGENTS.md", "workspace/SOUL.md",
                                      "workspaces/sre/SOUL.md", "workspaces/sre/TOOLS.md", ".seed-state"])
    # The pending checksums before the files, the final records after them, then the root's fsync.
    files = [i for i, t in enumerate(targets) if t.startswith("workspace")]
    states = [i for i, t in enumerate(targets) if t == ".seed-state"]
    assert states[0] < min(files) and states[1] > max(files)
    last_state = max(i for i, c in enumerate(calls) if c[0] == "rename" and c[2] == ".seed-state")
    assert ("fsync", ".", "") in calls[last_state:]


def test_an_update_syncs_each_file_before_it_is_renamed(volume: Volume) -> None:
    assert volume.run().returncode == 0
    volume.write_seed({"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v1\n"},
                       "sre": {"SOUL.md": "sre soul v1\n", "TOOLS.md": "sre tools v2\n"}})
    volume.write_config({**CONFIG, "gateway": {"port": 2}})
    targets = _check_order(syncs_and_renames(volume))
    assert targets == ["openclaw.json", ".seed-state", "workspace/SOUL.md", "workspaces/sre/TOOLS.md", ".seed-state"]


def test_a_run_with_nothing_to_do_syncs_and_renames_nothing(volume: Volume) -> None:
    assert volume.run().returncode == 0
    assert syncs_and_renames(volume) == []
