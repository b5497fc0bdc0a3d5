"""Vendor a plugin tarball from the npm registry, checked against the registry's dist.integrity:

    python -m tools.vendor_plugin @openclaw/deepseek-provider@2026.9.5

writes vendor/plugins/<npm pack file name> and prints the `Plugin(...)` entry for
components/releases.py (docs/upgrade-runbook.md#plugins). The render only ever reads the vendored
file and checks it against that entry; nothing fetches a plugin at render or deploy time.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from components.plugins import VENDOR, integrity_of, tarball_name
from components.releases import Plugin
from tools.toolchain import ToolchainError, _npm

_SPEC = re.compile(r"^(?P<package>(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*)@(?P<version>[0-9][0-9A-Za-z.+-]*)$")


def registry_integrity(package: str, version: str) -> str:
    """`dist.integrity` of package@version as the npm registry publishes it."""
    done = subprocess.run([_npm(), "view", f"{package}@{version}", "dist.integrity", "--json"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise ToolchainError(f"npm view {package}@{version} failed: {done.stderr.strip()[-400:] or 'no such version'}")
    integrity = json.loads(done.stdout)
    if not isinstance(integrity, str):
        raise ToolchainError(f"npm view {package}@{version} dist.integrity: unexpected answer {done.stdout[:200]}")
    return integrity


def fetch_tarball(package: str, version: str, provider: str = "") -> tuple[Plugin, bytes]:
    """`npm pack` of package@version, verified against the registry's integrity before it is used."""
    expected = registry_integrity(package, version)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([_npm(), "pack", f"{package}@{version}", "--silent"], cwd=tmp,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ToolchainError(f"npm pack {package}@{version} failed: {done.stderr.strip()[-400:]}")
        data = (Path(tmp) / done.stdout.strip().splitlines()[-1]).read_bytes()
    if integrity_of(data) != expected:
        raise ToolchainError(f"npm pack {package}@{version}: integrity {integrity_of(data)} differs from the "
                             f"registry's dist.integrity {expected}")
    return Plugin(package, version, expected, provider), data


def main(argv: list[str]) -> int:
    match = _SPEC.match(argv[0]) if len(argv) == 1 else None
    if match is None:
        print("usage: python -m tools.vendor_plugin <package>@<exact version>", file=sys.stderr)
        return 2
    try:
        plugin, data = fetch_tarball(match["package"], match["version"])
    except ToolchainError as err:
        print(f"vendor_plugin: error: {err}", file=sys.stderr)
        return 1
    VENDOR.mkdir(parents=True, exist_ok=True)
    target = VENDOR / tarball_name(plugin)
    with tempfile.NamedTemporaryFile(dir=VENDOR, delete=False) as tmp:
        tmp.write(data)
    shutil.move(tmp.name, target)
    print(f"wrote {target.relative_to(VENDOR.parent.parent)} ({len(data)} bytes); in components/releases.py:\n"
          f'    Plugin("{plugin.package}", "{plugin.version}",\n'
          f'           "{plugin.integrity}",\n'
          f'           "<the models.providers key it serves>")')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
