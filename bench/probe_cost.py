"""What one probe and one preflight run cost in the pod: CPU time and peak RSS of the process.

Printed by bench/bench.py (or `python bench/probe_cost.py`). Each command runs under the Node of
its release (components/releases.py: 22 to 2026.6.35, 24 for 2026.9.6; the preflight under 22)
against a loopback server that answers as the releases do; the figure is the median of `repeat`
runs, read from the kernel's rusage of that one child (os.wait4).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from components.config import parse_config  # noqa: E402 (after the path set-up)
from components.preflight_step import PREFLIGHT_SCRIPT  # noqa: E402
from components.probes import select_probes  # noqa: E402
from components.releases import RELEASES  # noqa: E402
from tools.toolchain import node_binary  # noqa: E402

TOKEN = "fake-not-a-secret-0000"
PERIODS = {"startup": 10, "readiness": 10, "liveness": 30}  # seconds, the Deployment's probe periods


class _Gateway(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        started = self.path == "/startupz"
        self._json(200, b'{"ok":true,"status":"started"}' if started else b'{"ok":true,"status":"live","ready":true}')

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._json(400, b'{"ok":false,"error":{"type":"invalid_request"}}')


def _run(command: list[str], repeat: int) -> tuple[float, float]:
    """Median CPU ms (user + system) and peak RSS MiB of `command`."""
    cpu, rss = [], []
    for _ in range(repeat):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={"OPENCLAW_GATEWAY_TOKEN": TOKEN})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{command[:2]} exited {proc.returncode}")
        cpu.append((usage.ru_utime + usage.ru_stime) * 1000)
        rss.append(usage.ru_maxrss / 1024)
    return statistics.median(cpu), statistics.median(rss)


def report(repeat: int = 5) -> list[str]:
    node = str(node_binary())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = int(server.server_address[1])
    lines = [f"{'probe / preflight':<34} {'cpu ms':>7} {'peak MiB':>9}  notes"]
    try:
        base = _run([node, "-e", "0"], repeat)
        lines.append(f"{'node -e 0 (bare start, node 22)':<34} {base[0]:>7.0f} {base[1]:>9.0f}")
        for tag in ("2026.2.23", "2026.6.35", "2026.9.6"):
            probes = select_probes(parse_config({"image": {"tag": tag}, "gateway": {
                "port": port, "allowedOrigins": ["https://ui.example.test"]}}))
            release_node = str(node_binary(RELEASES[tag].node))
            for kind in ("startup", "readiness", "liveness"):
                command = getattr(probes, kind)
                cpu, rss = _run([release_node, *command[1:]], repeat)
                lines.append(f"{f'{tag} {kind} ({probes.kind})':<34} {cpu:>7.0f} {rss:>9.0f}  "
                             f"every {PERIODS[kind]} s: {cpu / PERIODS[kind]:.1f} millicores")
        with tempfile.TemporaryDirectory() as tmp:
            deps = Path(tmp) / "dependencies.json"
            entries = [{"kind": k, "name": k, "host": "localhost", "port": port, "tls": False}
                       for k in ("database", "kubernetes", "model", "telegram")]
            deps.write_text(json.dumps({"version": 1, "timeoutMs": 1000, "failOn": {}, "dependencies": entries}),
                            encoding="utf-8")
            cpu, rss = _run([node, str(PREFLIGHT_SCRIPT), str(deps)], repeat)
            lines.append(f"{'preflight, 4 deps (localhost)':<34} {cpu:>7.0f} {rss:>9.0f}  once per pod start")
    finally:
        server.shutdown()
        server.server_close()
    return lines


if __name__ == "__main__":
    print("\n".join(report()))
