"""Requests to the gateway from inside the pod's network namespace (run via `ip netns exec`).

    python -m tests.support.e2e.probe wait PORT SECONDS            -> {"seconds": s} once a TCP connect succeeds
    python -m tests.support.e2e.probe http PORT METHOD PATH [TOKEN] -> {"status": n, "body": "..."}
    python -m tests.support.e2e.probe ws PORT ORIGIN TOKEN          -> the gateway's answer to a Control UI connect

The WebSocket check follows OpenClaw's handshake (openclaw/openclaw
src/gateway/server/ws-connection/message-handler.ts, src/gateway/origin-check.ts): the server
sends a `connect.challenge` event, the client's first request is `connect`; for the Control UI
client (`openclaw-control-ui`) the browser Origin header is checked against
`gateway.controlUi.allowedOrigins` before any auth, and a refused origin is answered
`origin not allowed ...` and closed (1008). The client offers protocols 3 to 4: 2026.2.23 speaks 3
(`maxProtocol < PROTOCOL_VERSION || minProtocol > PROTOCOL_VERSION` refuses), 2026.9.6 4 (its
message-handler answers `protocol mismatch`, close 1002, to a client offering 3 only).
"""

from __future__ import annotations

import json
import socket
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

PROTOCOLS = (3, 4)  # 2026.2.23 dist/client-*.js: 3; 2026.9.6 dist/message-handler-*.mjs: 4


def wait(port: int, seconds: float) -> dict[str, Any]:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return {"seconds": round(time.monotonic() - start, 2)}
        except OSError:
            time.sleep(0.2)
    return {"seconds": None}


def http(port: int, method: str, path: str, token: str | None) -> dict[str, Any]:
    body = json.dumps({"tool": "sessions_list", "args": {}}).encode() if method == "POST" else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return {"status": resp.status, "body": resp.read(2000).decode(errors="replace")}
    except urllib.error.HTTPError as err:
        return {"status": err.code, "body": err.read(2000).decode(errors="replace")}


def ws(port: int, origin: str, token: str) -> dict[str, Any]:
    frames: list[Any] = []
    try:
        with connect(f"ws://127.0.0.1:{port}/", origin=Origin(origin), open_timeout=20) as sock:
            frames.append(json.loads(sock.recv(timeout=20)))  # connect.challenge
            sock.send(json.dumps({"type": "req", "id": "e2e-1", "method": "connect", "params": {
                "minProtocol": PROTOCOLS[0], "maxProtocol": PROTOCOLS[1],
                "client": {"id": "openclaw-control-ui", "version": "e2e", "platform": "linux", "mode": "ui"},
                "role": "operator", "auth": {"token": token}}}))
            while True:
                frame = json.loads(sock.recv(timeout=20))
                frames.append(frame)
                if frame.get("type") == "res" and frame.get("id") == "e2e-1":
                    break
            if frames[-1].get("ok") is False:
                sock.recv(timeout=10)  # a refused handshake is followed by the server's close
    except ConnectionClosed as closed:
        return {"frames": frames, "closed": closed.rcvd.code if closed.rcvd else None,
                "reason": closed.rcvd.reason if closed.rcvd else ""}
    return {"frames": frames, "closed": None, "reason": ""}


def main(argv: list[str]) -> int:
    cmd, port = argv[0], int(argv[1])
    if cmd == "wait":
        result = wait(port, float(argv[2]))
    elif cmd == "http":
        result = http(port, argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    elif cmd == "ws":
        result = ws(port, argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
