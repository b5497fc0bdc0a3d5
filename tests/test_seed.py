"""agents/seed.mjs, run under the pinned Node 22 against folders laid out like the volume: the
behaviour contract (agents/README.md). Links, crashes and failures: tests/test_seed_*.py."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import agents
from engine.harness import RunResult
from tests.seed_fixtures import CONFIG, SECRETS, SEED, Volume, error_line, summary


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


def _named_missing(volume: Volume, result: subprocess.CompletedProcess[str]) -> set[str]:
    """The variables the preflight error names (`<config path>: missing ...; <fix>`)."""
    line = error_line(result)
    assert line.startswith(f"{volume.config}/openclaw.json: missing or empty environment variables:"), line
    assert "VaultStaticSecret" in line.partition(";")[2], line
    return set(line.partition("variables:")[2].split(";")[0].split())


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
    assert _named_missing(volume, result) == named
    for value in SECRETS.values():
        assert value not in result.stdout + result.stderr
    assert not volume.state.exists() or not any(volume.state.iterdir())


def test_escaped_placeholders_are_not_required(volume: Volume) -> None:
    # OpenClaw reads $${VAR} as the literal text ${VAR}: no variable needed, unlike a plain ${VAR}.
    volume.write_config({**CONFIG, "ui": {"hint": "write $${NOT_NEEDED} or $$${ALSO_LITERAL}"},
                         "extra": "${REALLY_NEEDED}"})
    result = volume.run()
    assert result.returncode == 1
    assert _named_missing(volume, result) == {"REALLY_NEEDED"}
    assert volume.run(env={**SECRETS, "REALLY_NEEDED": "fake-not-a-secret-0005"}).returncode == 0


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
    assert error_line(result).startswith(f"OPENCLAW_AGENT_IDS: bad agent id '{bad_id}'"), result.stderr
    assert not volume.state.exists()


@pytest.mark.parametrize("layout", ["no seed folder", "empty", "files only"])
def test_a_seed_volume_without_agents_is_named(volume: Volume, layout: str) -> None:
    shutil.rmtree(volume.seed)
    if layout != "no seed folder":
        volume.seed.mkdir()
    if layout == "files only":
        (volume.seed / "SOUL.md").write_text("a key mounted without its agent folder\n")
    expected = "not found; is the seed volume mounted" if layout == "no seed folder" else "no agents:"
    assert error_line(volume.run()).startswith(f"{volume.seed}: {expected}")
    assert not volume.state.exists()


def test_seed_discovery_skips_stray_files(volume: Volume) -> None:
    # A regular file among the agent folders (sorted last) is not an agent and stops nothing.
    (volume.seed / "..data" / "zz-note.txt").write_text("not an agent\n")
    (volume.seed / "zz-note.txt").symlink_to("..data/zz-note.txt")
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (volume.state / "agents").iterdir()) == ["main", "sre"]


def test_the_real_catalog_seeds_a_volume(volume: Volume) -> None:
    catalog = agents.load_catalog(provider_models=frozenset({"deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-pro"}))
    volume.write_seed(agents.seed_configmap_data(catalog))
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert summary(result) == {"seeded": 29 * 6, "updated": 0, "kept-edited": 0, "archived": 0}
    assert len(list((volume.state / "workspaces").iterdir())) == 28
    assert (volume.state / "workspace" / "SOUL.md").read_text(encoding="utf-8").startswith("# Soul\n\nYou are Mina")


def test_the_init_container_runs_this_script_with_node(dev: RunResult) -> None:
    pod = dev.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    # Seeding runs before everything that reads the volume's config (plugins, migrate, preflight, the
    # gateway); only the state guard, which reads nothing but the release marker, comes first.
    names = [c["name"] for c in pod["initContainers"]]
    assert names[:2] == ["state-guard", "seed"]
    init = pod["initContainers"][1]
    assert init["command"] == ["node", "/seed-script/seed.mjs"]
    script_volume = next(v for v in pod["volumes"] if v["name"] == "seed-script")
    script_map = dev.find("ConfigMap", script_volume["configMap"]["name"]).properties
    assert script_map["data"] == {"seed.mjs": agents.SEED_SCRIPT.read_text(encoding="utf-8")}
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
    assert mounts["seed-script"] == "/seed-script"
