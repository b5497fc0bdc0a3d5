"""A state volume, a config mount and a projected seed mount laid out as the kubelet mounts them,
and agents/seed.mjs run on them under the pinned Node 22 (the OpenClaw image's major)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import agents
from tests.support.e2e.pod import kubelet_files
from tools import toolchain

SECRETS = {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001", "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-0002",
           "DEEPSEEK_API_KEY": "fake-not-a-secret-0003", "TELEGRAM_BOT_TOKEN": "fake-not-a-secret-0004"}
CONFIG = {"gateway": {"auth": {"token": "${OPENCLAW_GATEWAY_TOKEN}"}},
          "channels": {"telegram": {"botToken": "${TELEGRAM_BOT_TOKEN}"}},
          "models": {"providers": {"deepseek": {"apiKey": "${DEEPSEEK_API_KEY}"}}}}
SEED = {"main": {"SOUL.md": "main soul v1\n", "AGENTS.md": "main agents v1\n"},
        "sre": {"SOUL.md": "sre soul v1\n", "TOOLS.md": "sre tools v1\n"}}
# The summary of a run that changed nothing; the error fix of a record file that is not the seeder's.
NOTHING_DONE = {"seeded": 0, "updated": 0, "kept-edited": 0, "archived": 0}
REMOVE_STATE = ("remove the file: the next run keeps every existing workspace file as it is and seeds only the "
                "missing ones")
# SEED with every file changed: an update due for each.
SEED_V2 = {"main": {"SOUL.md": "main soul v2\n", "AGENTS.md": "main agents v2\n"},
           "sre": {"SOUL.md": "sre soul v2\n", "TOOLS.md": "sre tools v2\n"}}
# An archive folder is named by the UTC time of the run that finished it: compared without it.
ARCHIVE_TIME = re.compile(r"^\.archive/\d{8}T\d{6}Z(\.\d+)?")


def node() -> str:
    return str(toolchain.node_binary())


def kubelet_volume(root: Path, files: dict[str, str]) -> None:
    """Lay out files as the kubelet mounts a ConfigMap or projected volume (a fresh folder each time)."""
    shutil.rmtree(root, ignore_errors=True)
    kubelet_files(root, files)


Entry = tuple[str, str]   # (type, content or link target)


def tree(root: Path, *, mtimes: bool = False) -> dict[str, Entry | tuple[str, str, int]]:
    """Everything under root, never following a link: type and content (files) or target (links)."""
    result: dict[str, Entry | tuple[str, str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                entry: Entry = ("link", os.readlink(path))
            elif path.is_dir():
                entry = ("dir", "")
            elif path.is_file():
                entry = ("file", path.read_bytes().decode("utf-8", "backslashreplace"))
            else:
                entry = ("other", "")
            result[rel] = (*entry, st.st_mtime_ns) if mtimes else entry
    if mtimes:
        result["."] = ("dir", "", root.stat().st_mtime_ns)
    return result


def normalised(root: Path) -> dict[str, Entry]:
    return {ARCHIVE_TIME.sub(".archive/<time>", rel): entry  # type: ignore[misc]
            for rel, entry in tree(root).items()}


@dataclass
class Volume:
    """The folders the init container sees, under one test folder."""

    root: Path
    prefix: list[str] = field(default_factory=list)   # e.g. unshare, to run as uid 1000 or on a tmpfs

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def seed(self) -> Path:
        return self.root / "seed"

    def write_config(self, doc: dict[str, object]) -> None:
        kubelet_volume(self.config, {"openclaw.json": json.dumps(doc, indent=2)})

    def write_seed(self, files: dict[str, dict[str, str]]) -> None:
        kubelet_volume(self.seed, {f"{agent_id}/{name}": text for agent_id, agent_files in files.items()
                                   for name, text in agent_files.items()})

    def run(self, env: dict[str, str] | None = None, ids: list[str] | None = None,
            crash_after: int | None = None, state: Path | None = None) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": os.environ["PATH"], "OPENCLAW_STATE_DIR": str(state or self.state),
                       "OPENCLAW_CONFIG_SRC": str(self.config), "OPENCLAW_SEED_SRC": str(self.seed),
                       **(SECRETS if env is None else env)}
        if ids is not None:
            environment["OPENCLAW_AGENT_IDS"] = " ".join(ids)
        if crash_after is not None:
            environment["OPENCLAW_SEED_CRASH_AFTER"] = str(crash_after)
        return subprocess.run([*self.prefix, node(), str(agents.SEED_SCRIPT)], env=environment,
                              capture_output=True, text=True, timeout=60, check=False)

    def snapshot(self) -> dict[str, Entry | tuple[str, str, int]]:
        """The state volume and everything under it: type, content or target, and mtime."""
        return tree(self.state, mtimes=True)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_volume(root: Path) -> Volume:
    vol = Volume(root)
    vol.write_config(CONFIG)
    vol.write_seed(SEED)
    return vol


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("seed: "), result.stdout
    return {k: int(v) for k, v in (part.split("=") for part in line.removeprefix("seed: ").split())}


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exit 1 and exactly one `seed: error:` line, nothing else on stderr."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("seed: error: "), result.stderr
    assert "; " in lines[0], lines[0]   # <path>: <problem>; <fix>
    return lines[0].removeprefix("seed: error: ")


def as_uid_1000() -> list[str]:
    """A prefix that runs a command as uid/gid 1000 without capabilities, as the pod does, so that
    file modes apply (root ignores them). Already unprivileged: nothing to add."""
    if os.geteuid() != 0:
        return []
    return ["unshare", "--user", "--map-user=1000", "--map-group=1000"]


@contextmanager
def as_pod_with_mode(vol: Volume, path: Path, mode: int, owner: int | None = None) -> Iterator[None]:
    """Within the block, `path` has `mode` (and belongs to uid/gid `owner`: another user's) and the
    seeder runs as uid 1000 (as_uid_1000()); after it, whatever happened, `path` is root's and 0700
    again (so the test folder can be removed), and the seeder still runs as uid 1000."""
    if owner is not None:
        os.chown(path, owner, owner)
    path.chmod(mode)
    vol.prefix = as_uid_1000()
    try:
        yield
    finally:
        if owner is not None:
            os.chown(path, 0, 0)
        path.chmod(0o700)


def in_mount_namespace() -> list[str]:
    """A prefix for a command that mounts (a small tmpfs) in a private mount namespace."""
    if os.geteuid() == 0:
        return ["unshare", "--mount", "--propagation", "private"]
    return ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))


def _device(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))   # /dev/null's numbers (we are root)


# What an agent or a person may leave where the seeder expects a file or a folder, by kind.
OTHER_KINDS: dict[str, Callable[[Path], None]] = {"FIFO": _fifo, "socket": _socket, "device": _device}
