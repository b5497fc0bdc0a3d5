"""The OpenClaw release the stack's image tag names, from the npm registry, cached by version
and by the Node npm ran under.

npm runs under the Node the release model names for the release (components/releases.py `node`,
tools.toolchain.npm_command): npm picks optional and native packages by the running Node, and under
an older one it leaves out 2026.9.6's `@openclaw/fs-safe-linux-x64-gnu` (FACTS.md), so an install made
under the machine's own node is not what the image holds. `openclaw@2026.2.23` depends on `libsignal`
from a git URL, which cannot be fetched here; an npm `overrides` entry resolves it from the registry
(`libsignal@6.0.0`; later releases have no git dependency and ignore it). Install scripts are skipped
(`--ignore-scripts`): the image's build ran them; nothing the gateway start needs comes from them.
A tree is 0.4 to 1.4 GB, so it lives under ~/.cache (CI keeps that folder between runs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from components.releases import RELEASES, untested_base
from tools.toolchain import CACHE, ToolchainError, npm_command

OVERRIDES = {"libsignal": "npm:libsignal@6.0.0"}


def release_node(version: str) -> str:
    """The Node a release runs under: the release model's, or for an untested version the Node of
    the newest known release below it."""
    release = RELEASES.get(version) or untested_base(version)
    return release.node


def package_dir(version: str, node: str | None = None) -> Path:
    """Where the installed package lives (the image's /app)."""
    return CACHE / f"openclaw-{version}-node{node or release_node(version)}" / "node_modules" / "openclaw"


def install_openclaw(version: str, node: str | None = None) -> Path:
    """`openclaw@<version>` installed once with npm under `node` (default: the release's own);
    returns the package folder (holding openclaw.mjs)."""
    node = node or release_node(version)
    app = package_dir(version, node)
    if (app / "openclaw.mjs").is_file():
        return app
    home = app.parent.parent
    home.parent.mkdir(parents=True, exist_ok=True)
    # A folder of its own per install: two runs sharing the cache (worktrees, CI jobs) never
    # write into each other's half-finished tree.
    partial = Path(tempfile.mkdtemp(prefix=home.name + ".partial-", dir=home.parent))
    (partial / "package.json").write_text(json.dumps({
        "name": "openclaw-e2e-install", "private": True,
        "dependencies": {"openclaw": version}, "overrides": OVERRIDES}, indent=2), encoding="utf-8")
    npm, env = npm_command(node)
    done = subprocess.run([*npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=partial, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise ToolchainError(f"npm install openclaw@{version} (under node {node}) failed: {done.stderr.strip()[-600:]}")
    installed = json.loads((partial / "node_modules" / "openclaw" / "package.json").read_text(encoding="utf-8"))
    if installed.get("version") != version:
        raise ToolchainError(f"npm installed openclaw {installed.get('version')}, not {version}")
    # Renamed into place last: a half-finished install is never mistaken for one. If another run
    # finished the same release first, its tree is kept and this one dropped.
    if home.exists() and not (app / "openclaw.mjs").is_file():
        shutil.rmtree(home, ignore_errors=True)  # a broken tree left by an older installer
    try:
        partial.rename(home)
    except OSError:
        if not (app / "openclaw.mjs").is_file():
            raise
        shutil.rmtree(partial, ignore_errors=True)
    return app
