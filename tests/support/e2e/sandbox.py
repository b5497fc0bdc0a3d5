"""Run the pod's containers as the kubelet would, on this machine, isolated.

One network namespace per pod (`ip netns`, loopback only: nothing leaves the machine), shared
by its containers and by the probe client; each container in its own mount and PID namespaces
(`unshare`), on a read-only root with the volumes bound at their mount paths, as the pod's
uid/gid (`setpriv`, no new privileges, no capabilities). The image's `node` is the Node the release
model names for the release (components/releases.py) and its /app the installed OpenClaw release.
Needs root (CI and this machine run as root).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.e2e.pod import Container, Pod, materialize

ENTER = Path(__file__).with_name("enter.py")
REPO = Path(__file__).resolve().parents[3]
CONFIG_KINDS = ("configMap", "projected", "secret")  # the kubelet mounts these read-only


class SandboxError(Exception):
    """The sandbox could not be set up (not root, no `ip`/`unshare`)."""


def _children(pid: int) -> list[int]:
    """Every descendant of pid (by walking /proc's parent links)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@dataclass
class Running:
    """A started container: its wrapper process, log file and memory sampled every 100 ms."""

    container: Container
    proc: subprocess.Popen[bytes]
    log_path: Path
    started: float
    peak_rss_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def tree(self) -> list[int]:
        return _children(self.proc.pid)

    def main_pid(self) -> int | None:
        """The container's own process (PID 1 of its namespace): the last process of the chain."""
        tree = self.tree()  # unshare's forked child, which exec'd into the container's process
        return tree[0] if tree else None

    def sample(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            pids = self.tree()
            rss = sum(_status_kib(p, "VmRSS") for p in pids)
            hwm = max((_status_kib(p, "VmHWM") for p in pids), default=0)
            self.peak_rss_kib = max(self.peak_rss_kib, rss, hwm)
            time.sleep(0.1)

    def listening(self, port: int) -> bool:
        """A socket of the container in LISTEN on the port (its network namespace's /proc/net)."""
        pid = self.main_pid()
        for table in ("tcp", "tcp6"):
            try:
                lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except (OSError, TypeError):
                continue
            for line in lines:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
        return False

    def wait_listening(self, port: int, timeout: float, cpu_budget: float | None = None) -> float | None:
        """Seconds from start until the port listens; None if the process ended, time ran out, or
        the container spent more than `cpu_budget` CPU-seconds without listening (a start that
        would outrun the startup probe at the pod's CPU request, found without waiting it out)."""
        while time.monotonic() - self.started < timeout and self.proc.poll() is None:
            if self.listening(port):
                return time.monotonic() - self.started
            if cpu_budget is not None and self.cpu_seconds() > cpu_budget:
                return None
            time.sleep(0.1)
        return None

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(p) for p in self.tree())

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self._stop.set()
        # SIGKILL to the namespace's PID 1 ends every process in it. unshare's --kill-child alone
        # is not enough: the parent-death signal is cleared when setpriv changes the uid.
        pid = self.main_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PodSandbox:
    """The pod's network namespace and volumes; `run`/`start` its containers."""

    def __init__(self, pod: Pod, work: Path, state: Path, app: Path, node: Path) -> None:
        if os.geteuid() != 0:
            raise SandboxError("the e2e boots the pod in namespaces it creates: run it as root")
        self.pod, self.work, self.state, self.app, self.node = pod, work, state, app, node
        self.netns = f"openclaw-e2e-{uuid.uuid4().hex[:8]}"
        self.running: list[Running] = []
        self.volumes: dict[str, Path] = {}

    def __enter__(self) -> PodSandbox:
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"], check=True)
        self.volumes = materialize(self.pod, self.work / "volumes", self.state)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for running in self.running:
            running.stop()
        subprocess.run(["ip", "netns", "delete", self.netns], check=False)

    def _spec(self, container: Container) -> Path:
        # The package at /app, its hoisted dependencies where Node's lookup ends (/node_modules).
        binds = [[str(self.app), "/app", True], [str(self.app.parent), "/node_modules", True]]
        for volume, path, read_only in container.mounts:
            source = self.pod.volumes[volume]
            folder = self.volumes[volume]
            if path in container.sub_paths:
                folder = self._sub_path(folder, container.sub_paths[path])
            binds.append([str(folder), path, read_only or any(k in source for k in CONFIG_KINDS)])
        root = self.work / f"root-{container.name}-{uuid.uuid4().hex[:6]}"
        root.mkdir(parents=True)
        spec = {"root": str(root), "binds": binds, "node": str(self.node), "uid": self.pod.uid, "gid": self.pod.gid,
                "groups": self.pod.groups, "workdir": container.workdir, "argv": container.argv,
                "env": container.env}
        spec_path = root.with_suffix(".json")
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        return spec_path

    @staticmethod
    def _sub_path(volume: Path, sub_path: str) -> Path:
        """A subPath mount's folder. A missing one is created as the kubelet creates it: by root,
        with the volume root's mode, chmod'ed past the umask (kubernetes pkg/kubelet/kubelet_pods.go
        makeMounts -> pkg/volume/util/subpath/subpath_linux.go doSafeMakeDir); the group follows the
        root's setgid bit (fsGroup)."""
        if sub_path.startswith("/") or ".." in Path(sub_path).parts:
            raise SandboxError(f"subPath {sub_path!r} must be a relative path inside the volume")
        folder = volume / sub_path
        if not folder.exists():
            mode = volume.stat().st_mode & 0o7777
            folder.mkdir(parents=True)
            folder.chmod(mode)
        return folder

    def start(self, container: Container) -> Running:
        spec = self._spec(container)
        log_path = spec.with_suffix(".log")
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--pid", "--fork", "--kill-child",
                 sys.executable, "-I", str(ENTER), str(spec)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        running = Running(container, proc, log_path, time.monotonic())
        threading.Thread(target=running.sample, daemon=True).start()
        self.running.append(running)
        return running

    def run(self, container: Container, timeout: float = 120) -> tuple[int, str, float]:
        """Run to completion (an init container): exit code, log, seconds."""
        running = self.start(container)
        try:
            code = running.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            running.stop()
            raise SandboxError(f"{container.name} did not finish within {timeout} s: {running.log()[-800:]}") from None
        return code, running.log(), time.monotonic() - running.started

    def client(self, *args: str, timeout: float = 300) -> dict[str, Any]:
        """A probe request from inside the pod's network (tests/support/e2e/probe.py)."""
        done = subprocess.run(["ip", "netns", "exec", self.netns, sys.executable, "-m", "tests.support.e2e.probe",
                               *args], capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)
        if done.returncode != 0:
            raise SandboxError(f"probe {args} failed: {done.stderr[-800:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def exec_in(self, running: Running, argv: list[str], timeout: float = 30) -> int:
        """An exec probe, as the kubelet runs it: in the container's namespaces and root, as its user."""
        pid = running.main_pid()
        if pid is None:
            return -1
        env = dict(running.container.env)  # the kubelet runs an exec probe with the container's environment
        done = subprocess.run(["nsenter", f"--target={pid}", "--mount", "--net", "--pid", "--root", "--wd",
                               f"--setuid={self.pod.uid}", f"--setgid={self.pod.gid}", "--", *argv],
                              env=env, capture_output=True, timeout=timeout, check=False)
        return done.returncode
