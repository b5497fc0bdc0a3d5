"""What the e2e needs per OpenClaw release beyond the render: the release installed with npm under
the Node it needs, the openclaw.json it runs with (the render's own: it is written in the release's
shape, components/openclaw_json/), and commands run inside a booted container.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.releases import Release
from engine.harness import RunResult
from tests.support.e2e.install import install_openclaw
from tests.support.e2e.pod import Pod
from tests.support.e2e.sandbox import PodSandbox, Running
from tools.toolchain import ToolchainError, node_binary

# A release of 2026.9.x installed under an older Node lacks this native package (FACTS.md): its
# state migration then exits 78 "native no-replace move is unavailable".
NATIVE = "@openclaw/fs-safe-linux-x64-gnu"


def install_release(release: Release) -> tuple[Path, Path]:
    """(the installed package folder, the Node binary) for a release, npm run under that Node."""
    node = node_binary(release.node)
    app = install_openclaw(release.version, release.node)  # npm itself runs under that Node (tools/toolchain.py)
    if (app.parent / "@openclaw" / "fs-safe").is_dir() and not (app.parent / NATIVE).is_dir():
        raise ToolchainError(f"{app.parent.parent} has no {NATIVE}: it was installed under another Node; "
                             "remove that folder from the cache and run again")
    return app, node


def rendered_openclaw_json(pod: Pod) -> tuple[str, dict[str, Any]]:
    """(ConfigMap name, openclaw.json) of the pod's config ConfigMap."""
    (name,) = [n for n, data in pod.config_maps.items() if "openclaw.json" in data]
    document: dict[str, Any] = json.loads(pod.config_maps[name]["openclaw.json"])
    return name, document


def openclaw_json_for(run: RunResult, pod: Pod, release: Release) -> dict[str, Any]:
    """The openclaw.json the release runs with in the e2e: the render's, as the seeder copies it."""
    del run
    _, config = rendered_openclaw_json(pod)
    if release.config_shape == "entries" and "list" in config.get("agents", {}):
        raise ValueError(f"the render wrote agents.list for openclaw {release.version}, whose config takes "
                         "agents.entries: it was not rendered for this release")
    return config


def use_config(pod: Pod, config: Mapping[str, Any]) -> None:
    """The pod's config ConfigMap with this openclaw.json (as the seeder will copy it)."""
    name, _ = rendered_openclaw_json(pod)
    pod.config_maps[name] = {**pod.config_maps[name], "openclaw.json": json.dumps(config, indent=2) + "\n"}


def exec_output(sandbox: PodSandbox, running: Running, argv: list[str], timeout: float = 600,
                env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """A command inside a running container (its namespaces, root, working folder and user) with the
    container's environment: exit code and output (stdout and stderr together)."""
    pid = running.main_pid()
    if pid is None:
        return -1, "the container is not running"
    done = subprocess.run(["nsenter", f"--target={pid}", "--mount", "--net", "--pid", "--root", "--wd",
                           f"--setuid={sandbox.pod.uid}", f"--setgid={sandbox.pod.gid}", "--", *argv],
                          env={**running.container.env, **(env or {})}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    return done.returncode, done.stdout
