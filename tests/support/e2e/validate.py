"""A rendered openclaw.json judged by the release it is rendered for, under the Node that release
needs (components/releases.py), in a network namespace with loopback only (root):

- `openclaw config validate --json` where the release has it (2026.3.x and later): the release's own
  schema and its warnings (a multi-agent roster without a heartbeat owner, say);
- a real start where it does not (2026.2.23): the gateway loads and checks the config first, exits
  on a bad one (`Config invalid`, MissingEnvVarError), and listens on its port once it accepted it.

The secrets the config references are set to fake values, as the pod's Secrets would set them. The
release's pinned plugins are unpacked from the vendored tarballs (checked against their pins,
components/plugins.py) and `plugins.load.paths` points at them, as the pod's `plugins` step does at
/opt/openclaw-plugins: 2026.9.6 refuses a config whose load path does not exist.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.plugins import PLUGINS_DIR, folder_name, vendored_tarball
from components.releases import RELEASES, Release
from tests.support.e2e.install import install_openclaw
from tools.toolchain import node_binary

FAKE_SECRETS = {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-validate-0001",
                "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-validate-0002",
                "DEEPSEEK_API_KEY": "fake-not-a-secret-validate-0003",
                "TELEGRAM_BOT_TOKEN": "123456:fake-not-a-secret-validate-0004"}
START_TIMEOUT = 600  # seconds; 2026.2.23 needs about 45 CPU-seconds, more on a busy machine


@dataclass
class Verdict:
    valid: bool
    how: str                     # "config validate" or "start"
    issues: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output: str = ""             # the validator's JSON, or the gateway's log (tail)
    seconds: float = 0.0


def loopback_only(argv: list[str]) -> list[str]:
    """argv in a new network namespace whose only interface is loopback: nothing leaves the machine."""
    return ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *argv]


def _home(work: Path, doc: dict[str, Any]) -> dict[str, str]:
    home = work / "home"
    (home / ".openclaw").mkdir(parents=True, exist_ok=True)
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "OPENCLAW_DISABLE_BONJOUR": "1",
            **FAKE_SECRETS}


def _config_validate(app: Path, node: Path, env: dict[str, str]) -> Verdict:
    started = time.monotonic()
    done = subprocess.run(loopback_only([str(node), str(app / "openclaw.mjs"), "config", "validate", "--json"]),
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    try:
        answer = json.loads(done.stdout[done.stdout.index("{"):])
    except ValueError:
        return Verdict(False, "config validate", [f"no JSON answer (exit {done.returncode})"],
                       output=(done.stdout + done.stderr)[-3000:], seconds=seconds)
    return Verdict(answer.get("valid") is True and done.returncode == 0, "config validate",
                   [f"{i.get('path')}: {i.get('message')}" for i in answer.get("issues") or []],
                   [f"{w.get('path')}: {w.get('message')}" for w in answer.get("warnings") or []],
                   done.stdout[-3000:], seconds)


def _listening(pid: int, port: int) -> bool:
    """A socket in LISTEN on the port, in the process's own network namespace."""
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        if any(f.split()[3] == "0A" and int(f.split()[1].rsplit(":", 1)[1], 16) == port for f in lines):
            return True
    return False


def _start(app: Path, node: Path, env: dict[str, str], port: int, work: Path) -> Verdict:
    log_path = work / "gateway.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        # unshare and sh exec: the gateway keeps the pid, in a session of its own (killed as a group).
        proc = subprocess.Popen(loopback_only([str(node), str(app / "openclaw.mjs"), "gateway",
                                               "--allow-unconfigured"]),
                                env=env, cwd=app, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while time.monotonic() - started < START_TIMEOUT and proc.poll() is None:
            if _listening(proc.pid, port):
                return Verdict(True, "start", output=log_path.read_text(errors="replace")[-3000:],
                               seconds=time.monotonic() - started)
            time.sleep(0.5)
        text = log_path.read_text(errors="replace")
        why = f"exited {proc.returncode}" if proc.poll() is not None else f"not listening after {START_TIMEOUT} s"
        return Verdict(False, "start", [why], output=text[-3000:], seconds=time.monotonic() - started)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this call started
        proc.wait()


def with_pinned_plugins(release: Release, doc: dict[str, Any], work: Path) -> dict[str, Any]:
    """`doc` with its load paths under `work/plugins`, where the release's pinned plugins are unpacked."""
    root = work / "plugins"
    for plugin in release.plugins:
        target = root / folder_name(plugin)
        with tarfile.open(fileobj=io.BytesIO(vendored_tarball(plugin)), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/")]
            for member in members:
                member.name = member.name.removeprefix("package/")
            tar.extractall(target, members=[m for m in members if m.name], filter="data")
    paths = doc.get("plugins", {}).get("load", {}).get("paths", [])
    if not paths:
        return doc
    local = [str(root) + p.removeprefix(PLUGINS_DIR) if p.startswith(PLUGINS_DIR + "/") else p for p in paths]
    return {**doc, "plugins": {**doc["plugins"], "load": {**doc["plugins"]["load"], "paths": local}}}


def validate(version: str, doc: dict[str, Any], work: Path) -> Verdict:
    """The verdict of release `version` on the config `doc`."""
    release = RELEASES[version]
    app = install_openclaw(version, release.node)
    node = node_binary(release.node)
    env = _home(work, with_pinned_plugins(release, doc, work))
    if release.validator == "config-validate":
        return _config_validate(app, node, env)
    return _start(app, node, env, int(doc["gateway"]["port"]), work)
