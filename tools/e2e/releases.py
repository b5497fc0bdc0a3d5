"""What the e2e needs per OpenClaw release beyond the render: the release installed with npm under
the Node it needs, the openclaw.json it runs with, and commands run inside a booted container.

`openclaw_json_for` is the one place that decides which openclaw.json a release gets in the e2e.
Until the release-aware render (components/openclaw_json.py, issue #20 part 1) is merged, the
render writes 2026.2.23's shape for every tag, which 2026.9.6 refuses; for a release of the
`entries` shape it is converted here as FACTS.md "Releases after 2026.2.23" describes (keyed
agents.entries, ownership explicit, owners for Telegram, system work and heartbeats; DeepSeek's
current models). Once the render writes the release's shape, this returns it unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from components.releases import Release
from tools.e2e.install import install_openclaw
from tools.e2e.pod import Pod
from tools.e2e.sandbox import PodSandbox, Running
from tools.harness import RunResult
from tools.toolchain import ToolchainError, node_binary

# deepseek-chat and deepseek-reasoner were retired on 2026-07-24 (the release's provider docs).
CURRENT_DEEPSEEK = {"deepseek-chat": ("deepseek-v4-flash", "DeepSeek V4 Flash"),
                    "deepseek-reasoner": ("deepseek-v4-pro", "DeepSeek V4 Pro")}
# A release of 2026.9.x installed under an older Node lacks this native package (FACTS.md): its
# state migration then exits 78 "native no-replace move is unavailable".
NATIVE = "@openclaw/fs-safe-linux-x64-gnu"


@contextlib.contextmanager
def _node_first(node: Path) -> Iterator[None]:
    """npm (`#!/usr/bin/env node`) runs under the Node that comes first on PATH."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{node.parent}{os.pathsep}{old}"
    try:
        yield
    finally:
        os.environ["PATH"] = old


def install_release(release: Release) -> tuple[Path, Path]:
    """(the installed package folder, the Node binary) for a release, npm run under that Node."""
    node = node_binary(release.node)
    with _node_first(node):
        app = install_openclaw(release.version)
    if (app.parent / "@openclaw" / "fs-safe").is_dir() and not (app.parent / NATIVE).is_dir():
        raise ToolchainError(f"{app.parent.parent} has no {NATIVE}: it was installed under another Node; "
                             "remove that folder from the cache and run again")
    return app, node


def _current_model(ref: str) -> str:
    provider, _, model = ref.partition("/")
    return f"{provider}/{CURRENT_DEEPSEEK[model][0]}" if provider == "deepseek" and model in CURRENT_DEEPSEEK else ref


def _entries_shape(config: Mapping[str, Any]) -> dict[str, Any]:
    converted = copy.deepcopy(dict(config))
    agents = converted["agents"]
    listed = agents.pop("list")
    main = listed[0]["id"]
    agents["ownership"] = "explicit"
    agents["entries"] = {a["id"]: {k: (_current_model(v) if k == "model" and isinstance(v, str) else v)
                                   for k, v in a.items() if k != "id"} for a in listed}
    defaults = agents.setdefault("defaults", {})
    defaults["model"]["primary"] = _current_model(defaults["model"]["primary"])
    defaults["systemAgent"] = {"agentId": main}
    defaults["heartbeat"] = {"agentId": main}
    if converted.get("channels", {}).get("telegram", {}).get("enabled"):
        converted["bindings"] = [{"agentId": main, "match": {"channel": "telegram", "accountId": "default"}}]
    deepseek = converted.get("models", {}).get("providers", {}).get("deepseek")
    if deepseek is not None:
        deepseek["models"] = [{"id": CURRENT_DEEPSEEK[m["id"]][0], "name": CURRENT_DEEPSEEK[m["id"]][1]}
                              if m["id"] in CURRENT_DEEPSEEK else m for m in deepseek["models"]]
    return converted


def rendered_openclaw_json(pod: Pod) -> tuple[str, dict[str, Any]]:
    """(ConfigMap name, openclaw.json) of the pod's config ConfigMap."""
    (name,) = [n for n, data in pod.config_maps.items() if "openclaw.json" in data]
    document: dict[str, Any] = json.loads(pod.config_maps[name]["openclaw.json"])
    return name, document


def openclaw_json_for(run: RunResult, pod: Pod, release: Release) -> dict[str, Any]:
    """The openclaw.json the release runs with in the e2e (the module docstring)."""
    del run  # the render it came from: once it is release-aware, its text is used as it is
    _, config = rendered_openclaw_json(pod)
    if release.config_shape == "entries" and "list" in config.get("agents", {}):
        return _entries_shape(config)
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
