"""End to end (`./run e2e`): boot real OpenClaw releases from the npm registry with the dev
stack's rendered openclaw.json and run the probe commands the program renders for them:
2026.3.7, the first release whose health routes answer (components/probes.py), and 2026.6.35.

Each package (350-600 MB, about a minute) is cached in ~/.cache/openclaw-platform; a gateway
starts in 10-60 s and listens on loopback only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.request import urlopen

import pytest

from components.config import parse_config
from components.probes import ProbeCommands, select_probes
from tools.e2e.install import install_openclaw
from tools.harness import RunResult
from tools.toolchain import node_binary

pytestmark = pytest.mark.e2e
VERSIONS = ["2026.3.7", "2026.6.35"]
TOKEN = "fake-not-a-secret-0000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=VERSIONS)
def gateway(request: pytest.FixtureRequest, dev: RunResult,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    version: str = request.param
    entry = install_openclaw(version) / "openclaw.mjs"  # one install and cache with the gateway e2e
    home = tmp_path_factory.mktemp("home")
    record = next(r for r in dev.kubernetes() if "openclaw.json" in r.properties.get("data", {}))
    doc = json.loads(record.properties["data"]["openclaw.json"])
    port = _free_port()
    doc["gateway"].update(port=port, bind="loopback")
    (home / ".openclaw").mkdir()
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps(doc), encoding="utf-8")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "OPENCLAW_DISABLE_BONJOUR": "1",
           "OPENCLAW_GATEWAY_TOKEN": TOKEN, "OPENCLAW_DB_PASSWORD": "fake-not-a-secret-0002",
           "DEEPSEEK_API_KEY": "fake-not-a-secret-0003", "TELEGRAM_BOT_TOKEN": "123456:fake-not-a-secret"}
    log = (home / "gateway.log").open("w")
    proc = subprocess.Popen([str(node_binary()), str(entry), "gateway", "--allow-unconfigured"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, (home / "gateway.log").read_text()[-3000:]
            try:
                with urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                    if json.loads(answer.read()).get("ready") is True:
                        break
            except OSError:
                pass
            time.sleep(1)
        else:
            raise AssertionError(f"openclaw {version} did not become ready in 240 s")
        yield version, port
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this test started
        proc.wait()
        log.close()


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(node_binary()), *command[1:]], capture_output=True, text=True, env=env,
                          timeout=30, check=False)


def test_health_routes_answer_json(gateway: tuple[str, int]) -> None:
    _, port = gateway
    with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        assert json.loads(answer.read()) == {"ok": True, "status": "live"}
    with urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
        assert json.loads(answer.read())["ready"] is True


def _probes(version: str, port: int, **probes: str) -> ProbeCommands:
    return select_probes(parse_config({"image": {"tag": version}, "probes": probes, "gateway": {
        "port": port, "allowedOrigins": ["https://ui.example.test"]}}))


def test_rendered_probes_pass_on_the_release(gateway: tuple[str, int]) -> None:
    version, port = gateway
    probes = _probes(version, port)
    assert probes.kind == "http"
    for command in (probes.startup, probes.readiness, probes.liveness):
        done = _run(command, {})
        assert (done.returncode, done.stdout) == (0, ""), done


def test_invoke_readiness_on_the_release(gateway: tuple[str, int]) -> None:
    """The readiness check chosen for releases without routes answers the same way here:
    400 JSON with the token (no tool runs), 401 without."""
    version, port = gateway
    probes = _probes(version, port, kind="tcp")
    assert _run(probes.readiness, {"OPENCLAW_GATEWAY_TOKEN": TOKEN}).returncode == 0
    denied = _run(probes.readiness, {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0009"})
    assert denied.returncode == 1 and denied.stdout.startswith("POST /tools/invoke: 401 ")
