"""Inside fresh mount and PID namespaces (started by tests/support/e2e/sandbox.py): build the container's
root filesystem, make it read-only, drop to the pod's uid/gid and exec the container's process.

Standalone on purpose (run as a file, before any chroot): it imports nothing from the project.
The spec (JSON, argv[1]):
  root: an empty folder for the new root      binds: [[host path, container path, read_only], ...]
  node: the pinned node binary (the image's /usr/local/bin/node)
  uid, gid, groups: the pod's user            workdir, argv, env: the container's process
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What the image (node:22-bookworm) brings from its own root: here the host's Debian userland.
HOST_DIRS = ["usr", "etc"]
HOST_LINKS = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"}


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _bind(src: str, dst: Path, read_only: bool) -> None:
    if Path(src).is_dir():
        if not dst.is_dir():
            dst.mkdir(parents=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            dst.touch()
    _mount("--rbind", src, str(dst))
    if read_only:
        _mount("-o", "remount,bind,ro", str(dst))


def _passwd(root: Path, uid: int, gid: int) -> None:
    """The image's user `node` (uid/gid 1000, home /home/node) in place of the host's uid 1000."""
    extra = root.parent / "etc-extra"
    extra.mkdir(exist_ok=True)
    users = [line for line in Path("/etc/passwd").read_text().splitlines() if line.split(":")[2:3] != [str(uid)]]
    groups = [line for line in Path("/etc/group").read_text().splitlines() if line.split(":")[2:3] != [str(gid)]]
    (extra / "passwd").write_text("\n".join([*users, f"node:x:{uid}:{gid}::/home/node:/bin/bash"]) + "\n")
    (extra / "group").write_text("\n".join([*groups, f"node:x:{gid}:"]) + "\n")
    for name in ("passwd", "group"):
        _bind(str(extra / name), root / "etc" / name, True)


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    root = Path(spec["root"])
    _mount("-t", "tmpfs", "-o", "mode=755,size=16m", "tmpfs", str(root))
    for name in HOST_DIRS:
        _bind(f"/{name}", root / name, True)
    for name, target in HOST_LINKS.items():
        if (Path("/") / target).exists():
            (root / name).symlink_to(target)
    _passwd(root, spec["uid"], spec["gid"])
    # The image's node: a tmpfs over /usr/local holding only bin/node, the release's pinned Node.
    _mount("-t", "tmpfs", "-o", "mode=755,size=1m", "tmpfs", str(root / "usr/local"))
    _bind(spec["node"], root / "usr/local/bin/node", True)
    _mount("-o", "remount,ro", str(root / "usr/local"))
    (root / "proc").mkdir()
    _mount("-t", "proc", "proc", str(root / "proc"))
    _bind("/dev", root / "dev", False)
    _bind("/sys", root / "sys", True)
    for src, dst, read_only in spec["binds"]:
        _bind(src, root / dst.lstrip("/"), read_only)
    # Read-only root filesystem: only the volumes stay writable.
    _mount("-o", "remount,ro", str(root))
    os.chroot(root)
    os.chdir(spec["workdir"])
    groups = ",".join(str(g) for g in spec["groups"])
    argv = ["/usr/bin/setpriv", f"--reuid={spec['uid']}", f"--regid={spec['gid']}", f"--groups={groups}",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", *spec["argv"]]
    sys.stdout.flush()
    os.execve(argv[0], argv, spec["env"])
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
