"""The OpenClaw release the stack's image tag names, from the npm registry, cached by version.

`openclaw@2026.2.23` depends on `libsignal` from a git URL, which cannot be fetched here; an npm
`overrides` entry resolves it from the registry (`libsignal@6.0.0`). Install scripts are skipped
(`--ignore-scripts`): the image's build ran them; nothing the gateway start needs comes from them.
The tree is about 1.4 GB, so it lives under ~/.cache (CI keeps that folder between runs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.toolchain import CACHE, ToolchainError, _npm

OVERRIDES = {"libsignal": "npm:libsignal@6.0.0"}


def package_dir(version: str) -> Path:
    """Where the installed package lives (the image's /app)."""
    return CACHE / f"openclaw-{version}" / "node_modules" / "openclaw"


def install_openclaw(version: str) -> Path:
    """`openclaw@<version>` installed once; returns the package folder (holding openclaw.mjs)."""
    app = package_dir(version)
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
    done = subprocess.run([_npm(), "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=partial, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ToolchainError(f"npm install openclaw@{version} failed: {done.stderr.strip()[-600:]}")
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
