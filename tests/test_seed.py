"""agents/seed.sh, executed under dash and busybox sh against folders laid out like the volume."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import agents

SHELLS = {"dash": ["dash"], "busybox": ["busybox", "sh"]}
SECRETS = {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001", "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-0002",
           "DEEPSEEK_API_KEY": "fake-not-a-secret-0003", "TELEGRAM_BOT_TOKEN": "fake-not-a-secret-0004"}
CONFIG = {"gateway": {"auth": {"token": "${OPENCLAW_GATEWAY_TOKEN}"}},
          "channels": {"telegram": {"botToken": "${TELEGRAM_BOT_TOKEN}"}},
          "models": {"providers": {"deepseek": {"apiKey": "${DEEPSEEK_API_KEY}"}}}}


def _kubelet_volume(root: Path, files: dict[str, str]) -> None:
    """Lay out files as the kubelet mounts a ConfigMap or projected volume: each top-level entry is
    a symlink into `..data`, itself a symlink to a timestamped folder holding the real files."""
    shutil.rmtree(root, ignore_errors=True)
    data = root / "..2026_11_24_00_00_00.000000001"
    for rel, text in files.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(text, encoding="utf-8")
    (root / "..data").symlink_to(data.name)
    for top in sorted({rel.split("/")[0] for rel in files}):
        (root / top).symlink_to(f"..data/{top}")


@dataclass
class Volume:
    """A state volume, a config mount and a projected seed mount, as the init container sees them."""

    root: Path
    shell: list[str]

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def seed(self) -> Path:
        return self.root / "seed"

    def write_config(self, doc: dict[str, object]) -> None:
        _kubelet_volume(self.config, {"openclaw.json": json.dumps(doc, indent=2)})

    def write_seed(self, files: dict[str, dict[str, str]]) -> None:
        _kubelet_volume(self.seed, {f"{agent_id}/{name}": text for agent_id, agent_files in files.items()
                                    for name, text in agent_files.items()})

    def run(self, env: dict[str, str] | None = None, path_prefix: Path | None = None,
            ids: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(self.state),
                       "OPENCLAW_CONFIG_SRC": str(self.config), "OPENCLAW_SEED_SRC": str(self.seed),
                       **(SECRETS if env is None else env)}
        if path_prefix is not None:
            environment["PATH"] = f"{path_prefix}:{environment['PATH']}"
        if ids is not None:
            environment["OPENCLAW_AGENT_IDS"] = " ".join(ids)
        return subprocess.run([*self.shell, str(agents.SEED_SCRIPT)], env=environment, capture_output=True,
                              text=True, timeout=60, check=False)

    def snapshot(self) -> dict[str, tuple[str, int]]:
        """The state volume and everything under it: content (files) and mtime."""
        result = {}
        for path in [self.state, *sorted(self.state.rglob("*"))]:
            rel = str(path.relative_to(self.state))
            content = path.read_text(encoding="utf-8") if path.is_file() else "<dir>"
            result[rel] = (content, path.stat().st_mtime_ns)
        return result


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("seed: "), result.stdout
    return {k: int(v) for k, v in (part.split("=") for part in line.removeprefix("seed: ").split())}


SEED = {"main": {"SOUL.md": "main soul v1\n", "AGENTS.md": "main agents v1\n"},
        "sre": {"SOUL.md": "sre soul v1\n", "TOOLS.md": "sre tools v1\n"}}


@pytest.fixture(params=sorted(SHELLS))
def volume(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    shell = SHELLS[request.param]
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is not installed (.ci/run installs it)")
    vol = Volume(tmp_path, shell)
    vol.write_config(CONFIG)
    vol.write_seed(SEED)
    return vol


def test_fresh_volume(volume: Volume) -> None:
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert summary(result) == {"seeded": 4, "updated": 0, "kept-edited": 0, "archived": 0}
    state = volume.state
    assert json.loads((state / "openclaw.json").read_text()) == CONFIG
    assert (state / "workspace" / "SOUL.md").read_text() == "main soul v1\n"
    assert (state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v1\n"
    for agent_id in ("main", "sre"):
        assert (state / "agents" / agent_id / "agent").is_dir()
        assert (state / "agents" / agent_id / "sessions").is_dir()
    assert not (state / "workspaces" / "main").exists()
    # Copies, not links into the (read-only, replaced-on-update) projected volume.
    assert not (state / "workspace" / "SOUL.md").is_symlink()
    recorded = (state / ".seed-state").read_text().splitlines()
    assert sorted(line.split()[1] for line in recorded) == [
        "workspace/AGENTS.md", "workspace/SOUL.md", "workspaces/sre/SOUL.md", "workspaces/sre/TOOLS.md"]
    assert not list(state.rglob("*.seed-tmp.*"))


def test_second_run_changes_nothing(volume: Volume) -> None:
    assert volume.run().returncode == 0
    before = volume.snapshot()
    result = volume.run()
    assert result.returncode == 0
    assert summary(result) == {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
    assert volume.snapshot() == before


def test_legacy_and_stale_agents_are_archived_not_deleted(volume: Volume) -> None:
    for legacy in ("sales", "growth", "cs", "old-helper"):
        (volume.state / "workspaces" / legacy).mkdir(parents=True)
        (volume.state / "workspaces" / legacy / "MEMORY.md").write_text(f"{legacy} memory\n")
        (volume.state / "agents" / legacy / "sessions").mkdir(parents=True)
        (volume.state / "agents" / legacy / "sessions" / "s1.jsonl").write_text("{}\n")
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert summary(result)["archived"] == 8
    assert sorted(p.name for p in (volume.state / "workspaces").iterdir()) == ["sre"]
    assert sorted(p.name for p in (volume.state / "agents").iterdir()) == ["main", "sre"]
    (archive,) = (volume.state / ".archive").iterdir()
    for legacy in ("sales", "growth", "cs", "old-helper"):
        assert (archive / "workspaces" / legacy / "MEMORY.md").read_text() == f"{legacy} memory\n"
        assert (archive / "agents" / legacy / "sessions" / "s1.jsonl").exists()


def test_an_agent_removed_from_the_catalog_is_archived(volume: Volume) -> None:
    assert volume.run().returncode == 0
    (volume.state / "workspaces" / "sre" / "MEMORY.md").write_text("learned things\n")
    volume.write_seed({"main": SEED["main"]})
    result = volume.run()
    assert summary(result)["archived"] == 2
    (archive,) = (volume.state / ".archive").iterdir()
    assert (archive / "workspaces" / "sre" / "MEMORY.md").read_text() == "learned things\n"
    assert "workspaces/sre" not in (volume.state / ".seed-state").read_text()


def test_edited_files_are_kept_and_unedited_ones_updated(volume: Volume) -> None:
    assert volume.run().returncode == 0
    edited = volume.state / "workspace" / "SOUL.md"
    edited.write_text("main soul, edited by a person\n")
    volume.write_seed({"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n"},
                       "sre": {"SOUL.md": "sre soul v1\n", "TOOLS.md": "sre tools v2\n", "USER.md": "new\n"}})
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert summary(result) == {"seeded": 1, "updated": 2, "kept-edited": 1, "archived": 0}
    assert edited.read_text() == "main soul, edited by a person\n"
    assert (volume.state / "workspace" / "AGENTS.md").read_text() == "main agents v2\n"
    assert (volume.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v2\n"
    assert (volume.state / "workspaces" / "sre" / "USER.md").read_text() == "new\n"
    # Still kept on the next run, and nothing else moves.
    before = volume.snapshot()
    assert summary(volume.run())["kept-edited"] == 1
    assert volume.snapshot() == before


def test_a_seeded_file_someone_deleted_stays_deleted(volume: Volume) -> None:
    # OpenClaw's agent deletes BOOTSTRAP.md after its first run: seeding it again would restart
    # the first-run ritual on every pod start.
    assert volume.run().returncode == 0
    deleted = volume.state / "workspaces" / "sre" / "TOOLS.md"
    deleted.unlink()
    before = volume.snapshot()
    result = volume.run()
    assert summary(result) == {"seeded": 0, "updated": 0, "kept-edited": 1, "archived": 0}
    assert volume.snapshot() == before
    # Not even when its seed changes.
    volume.write_seed({**SEED, "sre": {**SEED["sre"], "TOOLS.md": "sre tools v2\n"}})
    assert summary(volume.run())["kept-edited"] == 1
    assert not deleted.exists()


def test_a_removed_workspace_folder_is_seeded_afresh(volume: Volume) -> None:
    assert volume.run().returncode == 0
    (volume.state / "workspaces" / "sre" / "SOUL.md").write_text("edited\n")
    shutil.rmtree(volume.state / "workspaces" / "sre")  # an operator resets the agent
    result = volume.run()
    assert summary(result) == {"seeded": 2, "updated": 0, "kept-edited": 0, "archived": 0}
    assert (volume.state / "workspaces" / "sre" / "SOUL.md").read_text() == "sre soul v1\n"


def test_files_the_old_init_container_left_are_treated_as_edited(volume: Volume) -> None:
    # No state file: the old manifests seeded without checksums, so nothing proves a file is ours.
    (volume.state / "workspace").mkdir(parents=True)
    (volume.state / "workspace" / "SOUL.md").write_text("written by the old manifests\n")
    result = volume.run()
    assert summary(result)["kept-edited"] == 1
    assert (volume.state / "workspace" / "SOUL.md").read_text() == "written by the old manifests\n"


def test_config_is_always_the_configmaps(volume: Volume) -> None:
    assert volume.run().returncode == 0
    (volume.state / "openclaw.json").write_text("{}")
    assert volume.run().returncode == 0
    assert json.loads((volume.state / "openclaw.json").read_text()) == CONFIG


def _named_missing(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The variables the preflight error names."""
    line = result.stderr.strip()
    assert line.startswith("seed: error: missing or empty environment variables:"), line
    return set(line.partition("variables:")[2].split("(")[0].split())


@pytest.mark.parametrize("broken", ["missing", "empty"])
def test_missing_or_empty_secrets_stop_the_pod_by_name(volume: Volume, broken: str) -> None:
    env = dict(SECRETS)
    del env["DEEPSEEK_API_KEY"]
    if broken == "empty":
        env["DEEPSEEK_API_KEY"] = ""
        env["OPENCLAW_DB_PASSWORD"] = ""
    else:
        del env["OPENCLAW_GATEWAY_TOKEN"]
    result = volume.run(env=env)
    assert result.returncode == 1
    named = {"missing": {"DEEPSEEK_API_KEY", "OPENCLAW_GATEWAY_TOKEN"},
             "empty": {"DEEPSEEK_API_KEY", "OPENCLAW_DB_PASSWORD"}}[broken]
    assert _named_missing(result) == named
    for value in SECRETS.values():
        assert value not in result.stdout + result.stderr
    assert not volume.state.exists() or not any(volume.state.iterdir())


def test_escaped_placeholders_are_not_required(volume: Volume) -> None:
    # OpenClaw reads $${VAR} as the literal text ${VAR}: no variable needed, unlike a plain ${VAR}.
    volume.write_config({**CONFIG, "ui": {"hint": "write $${NOT_NEEDED} or $$${ALSO_LITERAL}"},
                         "extra": "${REALLY_NEEDED}"})
    result = volume.run()
    assert result.returncode == 1
    assert _named_missing(result) == {"REALLY_NEEDED"}
    assert volume.run(env={**SECRETS, "REALLY_NEEDED": "fake-not-a-secret-0005"}).returncode == 0


def _failing_tool(tmp: Path, name: str, script: str) -> Path:
    bin_dir = tmp / f"fake-{name}"
    bin_dir.mkdir()
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return bin_dir


WRITE_FAILURES: dict[str, Callable[[Path], Path]] = {
    # the rename that would publish the new file fails
    "mv fails": lambda tmp: _failing_tool(tmp, "mv", "exit 1\n"),
    # the copy dies half-way through writing
    "copy dies mid-write": lambda tmp: _failing_tool(tmp, "cat", "head -c 10 ${1:+\"$1\"}; exit 1\n"),
}


@pytest.mark.parametrize("failure", sorted(WRITE_FAILURES))
def test_a_failed_config_write_leaves_the_previous_config(volume: Volume, tmp_path: Path, failure: str) -> None:
    assert volume.run().returncode == 0
    previous = (volume.state / "openclaw.json").read_text()
    volume.write_config({**CONFIG, "gateway": {"auth": {"token": "${OPENCLAW_GATEWAY_TOKEN}"}, "port": 1}})
    result = volume.run(path_prefix=WRITE_FAILURES[failure](tmp_path))
    assert result.returncode == 1
    assert "seed: error: cannot" in result.stderr
    assert (volume.state / "openclaw.json").read_text() == previous
    assert not list(volume.state.rglob("*.seed-tmp.*"))
    # Once the fault is gone, the new config lands.
    assert volume.run().returncode == 0
    assert json.loads((volume.state / "openclaw.json").read_text())["gateway"]["port"] == 1


def test_a_failed_seed_write_leaves_whole_files_and_the_next_run_finishes(volume: Volume, tmp_path: Path) -> None:
    assert volume.run().returncode == 0
    state_before = (volume.state / ".seed-state").read_text()
    volume.write_seed({"main": {**SEED["main"], "AGENTS.md": "main agents v2\n"},
                       "sre": {**SEED["sre"], "TOOLS.md": "sre tools v2\n"}})
    result = volume.run(path_prefix=WRITE_FAILURES["copy dies mid-write"](tmp_path))
    assert result.returncode == 1 and "seed: error: cannot write" in result.stderr
    assert (volume.state / "workspace" / "AGENTS.md").read_text() == "main agents v1\n"
    assert (volume.state / ".seed-state").read_text() == state_before
    assert not list(volume.state.rglob("*.seed-tmp.*"))
    result = volume.run()
    assert summary(result) == {"seeded": 0, "updated": 2, "kept-edited": 0, "archived": 0}
    assert (volume.state / "workspaces" / "sre" / "TOOLS.md").read_text() == "sre tools v2\n"


def test_agent_ids_can_be_given_explicitly(volume: Volume) -> None:
    result = volume.run(ids=["main", "sre", "planner"])
    assert result.returncode == 0, result.stderr
    assert (volume.state / "agents" / "planner" / "sessions").is_dir()
    assert (volume.state / "workspaces" / "planner").is_dir()


def test_agent_ids_are_normalised(volume: Volume) -> None:
    # Tabs, repeats and extra spaces: every agent is seeded once, and none is taken for stale.
    (volume.state / "workspaces" / "old").mkdir(parents=True)
    result = volume.run(env={**SECRETS, "OPENCLAW_AGENT_IDS": " main\tsre  sre\nmain "})
    assert result.returncode == 0, result.stderr
    assert summary(result) == {"seeded": 4, "updated": 0, "kept-edited": 0, "archived": 1}
    assert sorted(p.name for p in (volume.state / "agents").iterdir()) == ["main", "sre"]
    recorded = [line.split()[1] for line in (volume.state / ".seed-state").read_text().splitlines()]
    assert len(recorded) == len(set(recorded)) == 4


@pytest.mark.parametrize("bad_id", ["..", "a/b", "Sales", "-x", "x-", "a_b"])
def test_a_bad_agent_id_stops_before_anything_is_written(volume: Volume, bad_id: str) -> None:
    result = volume.run(ids=["main", bad_id])
    assert result.returncode == 1
    assert result.stderr.startswith(f"seed: error: bad agent id '{bad_id}'"), result.stderr
    assert not volume.state.exists()


@pytest.mark.parametrize("layout", ["no seed folder", "empty", "files only"])
def test_a_seed_volume_without_agents_is_named(volume: Volume, layout: str) -> None:
    shutil.rmtree(volume.seed)
    if layout != "no seed folder":
        volume.seed.mkdir()
    if layout == "files only":
        (volume.seed / "SOUL.md").write_text("a key mounted without its agent folder\n")
    result = volume.run()
    assert result.returncode == 1
    expected = "not found: is the seed volume mounted" if layout == "no seed folder" else "no agents:"
    assert result.stderr.startswith("seed: error: ") and expected in result.stderr, result.stderr
    assert not volume.state.exists()


def test_seed_discovery_skips_stray_files(volume: Volume) -> None:
    # A regular file among the agent folders (sorted last) is not an agent and stops nothing.
    (volume.seed / "..data" / "zz-note.txt").write_text("not an agent\n")
    (volume.seed / "zz-note.txt").symlink_to("..data/zz-note.txt")
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (volume.state / "agents").iterdir()) == ["main", "sre"]


def test_the_real_catalog_seeds_a_volume(volume: Volume) -> None:
    catalog = agents.load_catalog(provider_models=frozenset({"deepseek/deepseek-chat", "deepseek/deepseek-reasoner"}))
    volume.write_seed(agents.seed_configmap_data(catalog))
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert summary(result) == {"seeded": 29 * 6, "updated": 0, "kept-edited": 0, "archived": 0}
    assert len(list((volume.state / "workspaces").iterdir())) == 28
    assert (volume.state / "workspace" / "SOUL.md").read_text(encoding="utf-8").startswith("# Soul\n\nYou are Mina")
