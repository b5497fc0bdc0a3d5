"""The volumes the crash tests start from: what the old manifests left (a first run) and a seeded
volume with every kind of change due (an update run)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from tests.seed_fixtures import CONFIG, SEED, Volume

SEED_A = {**SEED, "planner": {"SOUL.md": "planner soul v1\n", "TOOLS.md": "planner tools v1\n",
                              "BOOTSTRAP.md": "planner bootstrap\n"},
          "old": {"SOUL.md": "old soul\n"}}
SEED_B = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n", "USER.md": "main user\n"},
          "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"},
          "planner": {"SOUL.md": "planner soul v2\n", "TOOLS.md": "planner tools v1\n",
                      "BOOTSTRAP.md": "planner bootstrap\n"},
          "new": {"SOUL.md": "new soul\n"}}


def old_volume(vol: Volume) -> None:
    """What the old manifests left: legacy agents, a stale config, an unrecorded file, odd names,
    and links an agent planted where the seeder keeps its own folders."""
    vol.write_seed(SEED_A)
    state = vol.state
    for legacy in ("sales", "-rf *"):
        (state / "workspaces" / legacy).mkdir(parents=True)
        (state / "workspaces" / legacy / "MEMORY.md").write_text(f"{legacy} memory\n")
        (state / "agents" / legacy / "sessions").mkdir(parents=True)
    (state / "openclaw.json").write_text("{}")
    (state / "workspace").mkdir()
    (state / "workspace" / "SOUL.md").write_text("written by the old manifests\n")
    (state / "agents" / "main").mkdir()
    (state / "agents" / "main" / "agent").write_text("a file where a folder belongs\n")
    (state / "workspaces" / "sre").symlink_to("../workspace")
    (state / ".seed-tmp").symlink_to("workspace")
    outside = vol.root / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "dir" / "file").write_text("not the seeder's\n")
    (state / "agents" / "retired").symlink_to(outside / "dir")
    (state / "workspace" / "AGENTS.md").symlink_to(outside / "dir" / "file")


def update(vol: Volume) -> None:
    """A seeded volume, then: edits, a deleted seed, a reset workspace, a retired agent, new seeds."""
    vol.write_seed(SEED_A)
    assert vol.run().returncode == 0
    state = vol.state
    (state / "workspace" / "AGENTS.md").write_text("edited by a person\n")
    (state / "workspaces" / "planner" / "BOOTSTRAP.md").unlink()
    (state / "workspaces" / "planner" / "MEMORY.md").write_text("planner memory\n")
    shutil.rmtree(state / "workspaces" / "sre")              # an operator resets sre
    (state / "workspaces" / "old" / "notes\nwith newline.md").write_text("old notes\n")
    vol.write_seed(SEED_B)
    vol.write_config({**CONFIG, "gateway": {"port": 1}})


SCENARIOS: dict[str, Callable[[Volume], None]] = {"first run": old_volume, "update run": update}
