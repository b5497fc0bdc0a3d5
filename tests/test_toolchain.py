"""tools/toolchain.py and tests/support/e2e/install.py: npm runs under the Node a release needs, and each
install is cached per release and per Node (the optional native packages npm picks depend on it)."""

from __future__ import annotations

import json
import subprocess

import pytest

from components.releases import NODE_22, NODE_24, RELEASES
from tests.support.e2e.install import package_dir, release_node
from tools.toolchain import CACHE, npm_command


@pytest.mark.parametrize("node", [NODE_22, NODE_24])
def test_npm_runs_under_the_pinned_node(node: str) -> None:
    argv, env = npm_command(node)
    done = subprocess.run([*argv, "version", "--json"], capture_output=True, text=True, env=env, timeout=120,
                          check=True)
    assert json.loads(done.stdout)["node"] == node
    # Lifecycle scripts and node-gyp would find the same node first on PATH.
    assert env["PATH"].split(":")[0] == str(CACHE / f"node-{node}" / "bin")


@pytest.mark.parametrize(("version", "node"), [("2026.2.23", NODE_22), ("2026.6.35", NODE_22), ("2026.9.6", NODE_24),
                                               ("2026.9.7", NODE_24), ("2026.3.8", NODE_22)])
def test_each_release_installs_under_its_node_in_its_own_folder(version: str, node: str) -> None:
    assert release_node(version) == node
    assert package_dir(version) == CACHE / f"openclaw-{version}-node{node}" / "node_modules" / "openclaw"
    if version in RELEASES:
        assert RELEASES[version].node == node
