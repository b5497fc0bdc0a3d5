"""Release-aware probes: which commands each release gets (through the release model), and those
commands run for real under node 22 against loopback servers that answer as each release does
(components/probes.py cites where each behaviour is in the release's code)."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from components.config import parse_config
from components.probes import select_probes
from components.releases import RELEASES
from engine.harness import RunResult, run_stack
from tests.support.loopback_http import serving
from tools.toolchain import node_binary

TOKEN = "fake-not-a-secret-0000"
CONTROL_UI = b"<!doctype html><html><head><title>OpenClaw Control</title></head></html>"


class Release(BaseHTTPRequestHandler):
    """Answers as a release does. `mode`: 2026.2.23 (Control UI on every GET, authenticated
    /tools/invoke), 2026.6.35 (health routes first), 2026.6.35-starting (/readyz 503), 2026.9.6
    (/startupz too), 2026.9.6-starting (/startupz 503); `failing`: what a 503 /readyz lists."""

    mode = "2026.2.23"
    failing: list[str] | None = None

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.failing is not None and self.path == "/readyz":
            self._send(503, json.dumps({"ready": False, "failing": self.failing, "uptimeMs": 130000},
                                       separators=(",", ":")).encode())
        elif self.mode == "2026.9.6" and self.path == "/startupz":
            self._send(200, b'{"ok":true,"status":"started","version":"2026.9.6","uptimeMs":18000}')
        elif self.mode == "2026.9.6-starting" and self.path == "/startupz":
            self._send(503, b'{"ok":false,"status":"starting","uptimeMs":900,"pendingReason":"startup-sidecars"}')
        elif self.mode.startswith(("2026.6.35", "2026.9.6")) and self.path == "/healthz":
            self._send(200, b'{"ok":true,"status":"live"}')
        elif self.mode in ("2026.6.35", "2026.9.6") and self.path == "/readyz":
            self._send(200, b'{"ready":true,"failing":[],"uptimeMs":5000}')
        elif self.mode == "2026.6.35-starting" and self.path == "/readyz":
            self._send(503, b'{"ready":false,"failing":["channels"],"uptimeMs":900}')
        elif self.mode == "static-ready" and self.path in ("/healthz", "/readyz"):
            # handleGatewayProbeRequest without a readiness checker: the status word only.
            self._send(200, b'{"ok":true,"status":"%s"}' % (b"live" if self.path == "/healthz" else b"ready"))
        elif self.mode == "wrong-word" and self.path in ("/healthz", "/readyz"):
            self._send(200, b'{"ok":true,"status":"starting","ready":false}')
        else:
            self._send(200, CONTROL_UI, "text/html; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/tools/invoke" or self.mode != "2026.2.23":
            self._send(404, b"Not Found", "text/plain")
        elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, b'{"ok":false,"error":{"type":"unauthorized","message":"Unauthorized"}}')
        elif "tool" not in json.loads(body or b"{}"):
            self._send(400, b'{"ok":false,"error":{"type":"invalid_request",'
                            b'"message":"tools.invoke requires body.tool"}}')
        else:
            raise AssertionError("a probe must never invoke a tool")


@pytest.fixture
def gateway() -> Iterator[tuple[int, type[Release]]]:
    handler = type("Handler", (Release,), {"mode": "2026.2.23"})
    with serving(handler) as port:
        yield port, handler


def probes_for(tag: str, port: int = 18789, telegram: bool = True, **probes: Any) -> Any:
    return select_probes(parse_config({"image": {"tag": tag, "acceptUntestedRelease": tag not in RELEASES},
                                       "probes": probes, "telegram": {"enabled": telegram},
                                       "gateway": {"port": port, "allowedOrigins": ["https://ui.example.test"]}}))


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The probe as the kubelet runs it: `node` is the image's node 22."""
    assert command[0] == "node"
    return subprocess.run([str(node_binary()), *command[1:]], capture_output=True, text=True, timeout=20,
                          env=env or {}, check=False)


@pytest.mark.parametrize(("tag", "kind", "startup"), [
    ("2026.2.23", "tcp", "createConnection"), ("2026.3.7", "http", "/healthz"), ("2026.6.35", "http", "/healthz"),
    ("2026.9.6", "http", "/startupz"),
    # Untested tags (openclaw:image.acceptUntestedRelease) probe as the newest known release below them.
    ("2026.3.6", "tcp", "createConnection"), ("2026.3.7-beta.1", "tcp", "createConnection"),
    ("2026.3.8", "http", "/healthz"), ("2026.9.5", "http", "/healthz"), ("2026.9.7", "http", "/startupz"),
    ("v2027.1.1", "http", "/startupz"),
])
def test_release_decides_the_kind(tag: str, kind: str, startup: str) -> None:
    probes = probes_for(tag)
    assert probes.kind == kind
    assert startup in probes.startup[2]
    assert probes.liveness == (probes.startup if startup == "createConnection" else probes_for("2026.3.7").liveness)


def test_forced_kinds_and_plain_tcp_readiness() -> None:
    assert probes_for("2026.2.23", kind="http").kind == "http"
    assert probes_for("2026.6.35", kind="tcp").kind == "tcp"
    plain = probes_for("2026.2.23", invokeReadiness=False)
    assert plain.readiness == plain.liveness == plain.startup
    assert "createConnection(18789,'127.0.0.1')" in plain.readiness[2]


@pytest.mark.parametrize("release", ["2026.6.35", "2026.9.6"])
def test_http_release_probes_pass_on_its_routes(gateway: tuple[int, type[Release]], release: str) -> None:
    port, handler = gateway
    handler.mode = release
    probes = probes_for(release, port)
    for command in (probes.startup, probes.readiness, probes.liveness):
        done = run(command)
        assert (done.returncode, done.stdout) == (0, ""), done


def test_startupz_holds_the_startup_probe_until_started(gateway: tuple[int, type[Release]]) -> None:
    port, handler = gateway
    handler.mode = "2026.9.6-starting"
    probes = probes_for("2026.9.6", port)
    done = run(probes.startup)
    assert done.returncode == 1 and done.stdout.startswith('GET /startupz: 503 {"ok":false,"status":"starting"')
    assert run(probes.liveness).returncode == 0  # live while starting
    handler.mode = "2026.6.35"  # a release without the route: the Control UI page answers it
    assert run(probes.startup).stdout.startswith("GET /startupz: 200 not JSON <!doctype html>")


@pytest.mark.parametrize(("failing", "setting", "telegram", "ready"), [
    (["telegram"], "ignore", True, True),                      # a channel down past its grace: still serving
    (["telegram"], "require", True, False),                    # the stack asked for channel-aware readiness
    (["telegram"], "ignore", False, False),                    # not a channel this stack configures
    (["telegram", "state-database"], "ignore", True, False),   # anything else failing: not ready
    (["startup-sidecars"], "ignore", True, False),
    (["gateway-draining"], "ignore", True, False),
    (["agent-database:main"], "ignore", True, False),
    ([], "ignore", True, False),                               # 503 without a reason
])
def test_readiness_and_channels(gateway: tuple[int, type[Release]], failing: list[str], setting: str,
                                telegram: bool, ready: bool) -> None:
    port, handler = gateway
    handler.mode, handler.failing = "2026.9.6", failing
    done = run(probes_for("2026.9.6", port, telegram=telegram, channelReadiness=setting).readiness)
    assert done.returncode == (0 if ready else 1), done
    if not ready:
        assert done.stdout.startswith('GET /readyz: 503 {"ready":false,"failing":'), done


def test_channel_tolerance_only_where_readyz_reports_channels() -> None:
    ignore, require = (probes_for("2026.9.6", channelReadiness=s).readiness[2] for s in ("ignore", "require"))
    assert '["telegram"].includes(f)' in ignore and "failing" not in require
    assert "[].includes(f)" in probes_for("2026.9.6", telegram=False).readiness[2]


@pytest.mark.parametrize(("mode", "code"), [("static-ready", 0), ("wrong-word", 1)])
def test_http_probes_read_the_words(gateway: tuple[int, type[Release]], mode: str, code: int) -> None:
    port, handler = gateway
    handler.mode = mode
    probes = probes_for("2026.6.35", port)
    assert [run(c).returncode for c in (probes.liveness, probes.readiness)] == [code, code]


def test_http_readiness_fails_while_not_ready_and_says_why(gateway: tuple[int, type[Release]]) -> None:
    port, handler = gateway
    handler.mode = "2026.6.35-starting"
    probes = probes_for("2026.6.35", port)
    done = run(probes.readiness)
    assert done.returncode == 1
    assert done.stdout.strip() == 'GET /readyz: 503 {"ready":false,"failing":["channels"],"uptimeMs":900}'
    assert run(probes.liveness).returncode == 0  # alive while starting: no restart


def test_http_probes_fail_on_a_release_whose_control_ui_answers(gateway: tuple[int, type[Release]]) -> None:
    """Forced onto 2026.2.23/2026.3.1, where every GET is the Control UI page with 200: the body check
    fails, where a kubelet httpGet would pass."""
    port, _ = gateway
    probes = probes_for("2026.2.23", port, kind="http")
    for command, path in ((probes.liveness, "/healthz"), (probes.readiness, "/readyz")):
        done = run(command)
        assert done.returncode == 1
        assert done.stdout.startswith(f"GET {path}: 200 not JSON <!doctype html>")


def test_invoke_readiness_on_an_old_release(gateway: tuple[int, type[Release]]) -> None:
    port, _ = gateway
    probes = probes_for("2026.2.23", port)
    ok = run(probes.readiness, {"OPENCLAW_GATEWAY_TOKEN": TOKEN})
    assert (ok.returncode, ok.stdout) == (0, "")
    wrong = run(probes.readiness, {"OPENCLAW_GATEWAY_TOKEN": "fake-not-a-secret-0001"})
    assert wrong.returncode == 1 and wrong.stdout.startswith("POST /tools/invoke: 401 ")
    missing = run(probes.readiness)
    assert missing.returncode == 1 and missing.stdout.startswith("POST /tools/invoke: 401 ")
    # The token is read from the container's env: never in the manifest.
    assert TOKEN not in " ".join(probes.readiness) and "process.env.OPENCLAW_GATEWAY_TOKEN" in probes.readiness[2]


def test_invoke_readiness_fails_where_the_route_is_not_the_api(gateway: tuple[int, type[Release]]) -> None:
    port, handler = gateway
    handler.mode = "2026.6.35"  # this fake has no /tools/invoke: 404 text
    done = run(probes_for("2026.2.23", port).readiness, {"OPENCLAW_GATEWAY_TOKEN": TOKEN})
    assert done.returncode == 1 and done.stdout.strip() == "POST /tools/invoke: 404 not JSON Not Found"


def test_tcp_probe_and_a_closed_port(gateway: tuple[int, type[Release]]) -> None:
    port, _ = gateway
    assert run(probes_for("2026.2.23", port).liveness).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = int(s.getsockname()[1])
    for command in (probes_for("2026.2.23", closed).liveness, probes_for("2026.2.23", closed).readiness,
                    probes_for("2026.6.35", closed).readiness):
        done = run(command, {"OPENCLAW_GATEWAY_TOKEN": TOKEN})
        assert done.returncode == 1 and done.stdout.endswith(": ECONNREFUSED\n"), done


def _probes(run_result: RunResult) -> dict[str, list[str]]:
    spec = run_result.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]
    gateway = next(c for c in spec["containers"] if c["name"] == "gateway")
    return {k: gateway[k]["exec"]["command"] for k in ("startupProbe", "readinessProbe", "livenessProbe")}


def test_rendered_probes_follow_the_image_tag(dev: RunResult, prod: RunResult) -> None:
    old = _probes(prod)
    assert "createConnection(18789,'127.0.0.1')" in old["startupProbe"][2] == old["livenessProbe"][2]
    assert "/tools/invoke" in old["readinessProbe"][2]
    mid = _probes(run_stack("prod", overrides={"openclaw:image": {"tag": "2026.6.35"}}))
    assert "/healthz" in mid["startupProbe"][2] and mid["startupProbe"] == mid["livenessProbe"]
    assert "/readyz" in mid["readinessProbe"][2]
    new = _probes(dev)
    assert "/startupz" in new["startupProbe"][2] and "/healthz" in new["livenessProbe"][2]
