"""End to end (`./run e2e`): boot the releases between the two the stacks pin (2026.3.7, the first
whose gateway answers its own health routes, and 2026.6.35) with the dev stack's openclaw.json
rendered for each, under the Node each needs and with loopback only, and run the probe commands
the program renders for them (components/probes.py). 2026.2.23 and 2026.9.6 run their probes in
the booted pod (tests/e2e/test_gateway.py), Telegram on.

Telegram is off here: with no route at all (loopback only), 2026.6.35's Telegram start falls back to
a fixed Telegram API address and dies of the unhandled `connect ENETUNREACH` (exit 1, about 12 s
after the start; docs/operations.md). A cluster has a route: there the connect succeeds (public
443 egress) or times out.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.config import parse_config
from components.probes import ProbeCommands, select_probes
from components.releases import RELEASES
from engine.harness import run_stack
from tests.support.e2e.install import install_openclaw
from tests.support.e2e.validate import FAKE_SECRETS, loopback_only
from tools.toolchain import node_binary

pytestmark = pytest.mark.e2e
VERSIONS = ["2026.3.7", "2026.6.35"]
PORT = 18789  # the gateway's own network namespace: no other listener
REPO = Path(__file__).resolve().parents[2]


class Gateway:
    def __init__(self, version: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.version, self.proc, self.log = version, proc, log
        self.node = node_binary(RELEASES[version].node)

    def enter(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """A command in the gateway's network namespace (as an exec probe runs in the pod's)."""
        assert self.proc.poll() is None, f"the gateway exited {self.proc.returncode}: {self.log.read_text()[-3000:]}"
        return subprocess.run(["nsenter", f"--net=/proc/{self.proc.pid}/ns/net", "--", *argv], capture_output=True,
                              text=True, env=env or {}, timeout=30, check=False, cwd=REPO)

    def get(self, path: str) -> dict[str, Any]:
        done = self.enter([sys.executable, "-m", "tests.support.e2e.probe", "http", str(PORT), "GET", path],
                          {"PATH": os.environ.get("PATH", "")})
        if done.returncode != 0:
            return {"status": None, "body": done.stderr[-300:]}
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def probe(self, command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        assert command[0] == "node"
        return self.enter([str(self.node), *command[1:]], env)


@pytest.fixture(scope="module", params=VERSIONS)
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    version: str = request.param
    entry = install_openclaw(version, RELEASES[version].node) / "openclaw.mjs"
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": version},
                                      "openclaw:telegram": {"enabled": False}})
    (text,) = [r.properties["data"]["openclaw.json"] for r in run.kubernetes()
               if "openclaw.json" in (r.properties.get("data") or {})]
    doc = json.loads(text)
    home = tmp_path_factory.mktemp("home")
    (home / ".openclaw").mkdir()
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps(doc), encoding="utf-8")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "OPENCLAW_DISABLE_BONJOUR": "1", **FAKE_SECRETS}
    log = (home / "gateway.log").open("wb")
    proc = subprocess.Popen(loopback_only([str(node_binary(RELEASES[version].node)), str(entry), "gateway",
                                           "--allow-unconfigured"]),
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    gw = Gateway(version, proc, home / "gateway.log")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, (home / "gateway.log").read_text()[-3000:]
            answer = gw.get("/readyz")
            if answer["status"] == 200 and json.loads(answer["body"]).get("ready") is True:
                break
            time.sleep(1)
        else:
            raise AssertionError(f"openclaw {version} did not become ready in 300 s")
        yield gw
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this test started
        proc.wait()
        log.close()


def test_health_routes_answer_json(gateway: Gateway) -> None:
    assert json.loads(gateway.get("/healthz")["body"]) == {"ok": True, "status": "live"}
    assert json.loads(gateway.get("/readyz")["body"])["ready"] is True


def _probes(version: str, **probes: str) -> ProbeCommands:
    return select_probes(parse_config({"image": {"tag": version}, "probes": probes, "gateway": {
        "port": PORT, "allowedOrigins": ["https://ui.example.test"]}}))


def test_rendered_probes_pass_on_the_release(gateway: Gateway) -> None:
    probes = _probes(gateway.version)
    assert probes.kind == "http" and "/healthz" in probes.startup[2]  # no /startupz before 2026.8.1
    for command in (probes.startup, probes.readiness, probes.liveness):
        done = gateway.probe(command)
        assert (done.returncode, done.stdout) == (0, ""), done
    startupz = gateway.get("/startupz")  # the Control UI's page, not a probe answer
    assert startupz["status"] != 200 or not startupz["body"].lstrip().startswith("{")


def test_invoke_readiness_on_the_release(gateway: Gateway) -> None:
    """The readiness check chosen for releases without routes answers the same way here:
    400 JSON with the token (no tool runs), 401 without."""
    probes = _probes(gateway.version, kind="tcp")
    assert gateway.probe(probes.readiness, {"OPENCLAW_GATEWAY_TOKEN": FAKE_SECRETS["OPENCLAW_GATEWAY_TOKEN"]}
                         ).returncode == 0
    denied = gateway.probe(probes.readiness, {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0009"})
    assert denied.returncode == 1 and denied.stdout.startswith("POST /tools/invoke: 401 ")
