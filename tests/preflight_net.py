"""Runs the preflight script for real inside a private network and mount namespace.

    unshare -rmn sh -c 'mount --bind ...; exec python tests/preflight_net.py REQUEST.json'

Inside, the only network is loopback, so every outcome is the kernel's own answer, the same on
any machine: this brings `lo` up, adds a unique-local IPv6 address (glibc maps a `::1` hosts entry
to 127.0.0.1 for IPv4 lookups, so an AAAA-only name needs another address), starts the listeners
the request names, writes `dependencies.json` with their ports, runs node on the script and
prints `{"code", "stdout", "stderr"}` as JSON. The hosts file, resolv.conf and nsswitch.conf are
bind-mounted by the caller (tests/test_preflight.py), so lookups read only the test's own data.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

V6_ADDRESS = "fd00:5afe::1"  # unique-local, on lo inside the namespace only


def _accept_forever(server: socket.socket, tls: ssl.SSLContext | None, delay: float = 0.0) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        time.sleep(delay)  # a slow server: the handshake starts that much later
        if tls is not None:
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                continue
        threading.Thread(target=_drain, args=(conn,), daemon=True).start()


def _drain(conn: socket.socket) -> None:
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass
    finally:
        conn.close()


def _reset_forever(server: socket.socket) -> None:
    """Accept each connection, then reset it (RST: SO_LINGER 0), as a crashing upstream does."""
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        time.sleep(0.2)  # the client has seen its connect succeed
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


def _offers_alpn(conn: socket.socket, protocol: bytes) -> bool:
    """Whether the client's hello (peeked, left unread for the handshake) offers `protocol` in its
    ALPN extension (RFC 7301; the hello's layout: RFC 8446 section 4.1.2)."""
    conn.settimeout(5.0)
    hello = b""
    for _ in range(100):  # the whole first record, however the kernel split it
        hello = conn.recv(16384, socket.MSG_PEEK)
        if len(hello) >= 5 and len(hello) >= 5 + int.from_bytes(hello[3:5], "big"):
            break
        time.sleep(0.01)
    if hello[:1] != b"\x16" or hello[5:6] != b"\x01":
        return False
    at = 9 + 2 + 32                                         # handshake header, version, random
    at += 1 + hello[at]                                     # session id
    at += 2 + int.from_bytes(hello[at:at + 2], "big")       # cipher suites
    at += 1 + hello[at]                                     # compression methods
    end = at + 2 + int.from_bytes(hello[at:at + 2], "big")
    at += 2
    while at + 4 <= end:
        kind, size = int.from_bytes(hello[at:at + 2], "big"), int.from_bytes(hello[at + 2:at + 4], "big")
        if kind == 16:                                      # application_layer_protocol_negotiation
            names, i = hello[at + 6:at + 4 + size], 0
            while i < len(names):
                if names[i + 1:i + 1 + names[i]] == protocol:
                    return True
                i += 1 + names[i]
        at += 4 + size
    return False


def _require_alpn_forever(server: socket.socket, tls: ssl.SSLContext) -> None:
    """A server that speaks only HTTP/1.1 and says so in ALPN, refusing a hello that does not offer
    it with the fatal alert no_application_protocol (RFC 7301 section 3.2), as servers that enforce
    ALPN do (grpc-go since 1.67)."""
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        try:
            if not _offers_alpn(conn, b"http/1.1"):
                conn.sendall(bytes([21, 3, 3, 0, 2, 2, 120]))   # alert record: fatal, no_application_protocol
                conn.close()
                continue
            conn.settimeout(None)
            conn = tls.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            continue
        threading.Thread(target=_drain, args=(conn,), daemon=True).start()


def _require_sni(conn: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> int | None:
    """A server that serves only by name (as a CDN does): a hello without SNI gets a fatal alert."""
    return None if server_name else ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME


def _listener(name: str, certs: dict[str, str]) -> int:
    """Start one listener; its port. Kinds: open, open6, tls, sni (TLS that requires SNI), alpn (TLS
    that requires ALPN http/1.1), slowtls (TLS that answers a second after the connect), reset
    (each connection reset once open), closed, dropped (SYNs dropped);
    `<kind>@<IPv4>:<port>` binds that address and port (an address the request put on lo)."""
    kind, _, at = name.partition("@")
    family = socket.AF_INET6 if kind.endswith("6") else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    host, _, port_text = at.rpartition(":")
    server.bind((host, int(port_text)) if at else (V6_ADDRESS if family == socket.AF_INET6 else "127.0.0.1", 0))
    port = int(server.getsockname()[1])
    if kind == "closed":
        server.close()  # nothing listens: the kernel answers RST (ECONNREFUSED)
        return port
    if kind == "dropped":
        # A backlog of 0 filled by connections nobody accepts: the kernel drops further SYNs
        # silently, as a NetworkPolicy drop does, so the client times out.
        server.listen(0)
        fillers = []
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        _KEEP.extend([server, *fillers])
        return port
    server.listen(16)
    if kind == "reset":
        threading.Thread(target=_reset_forever, args=(server,), daemon=True).start()
        _KEEP.append(server)
        return port
    context = None
    if kind in ("tls", "sni", "alpn", "slowtls"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs["cert"], certs["key"])
    if kind == "sni":
        context.sni_callback = _require_sni  # type: ignore[union-attr]
    if kind == "alpn" and context is not None:
        context.set_alpn_protocols(["http/1.1"])
        threading.Thread(target=_require_alpn_forever, args=(server, context), daemon=True).start()
        _KEEP.append(server)
        return port
    delay = 1.0 if kind == "slowtls" else 0.0
    threading.Thread(target=_accept_forever, args=(server, context, delay), daemon=True).start()
    _KEEP.append(server)
    return port


_KEEP: list[socket.socket] = []


def _connect(target: str) -> str:
    """One TCP connect from inside the namespace: ok, refused or timeout (what the filter did)."""
    host, _, port = target.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        client.settimeout(1.0)
        try:
            client.connect((host, int(port)))
        except ConnectionRefusedError:
            return "refused"
        except OSError:
            return "timeout"
    return "ok"


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text(encoding="utf-8").split()]
    return found


def _run_node(request: dict[str, Any], deps: Path) -> subprocess.CompletedProcess[str]:
    """Node on the script; with `killChildrenAfterMs`, every process it started (the resolver)
    is killed with SIGKILL that long after the start, as the OOM killer or a crash would end it."""
    command = [request["node"], request["script"], str(deps)]
    env = request.get("env", {})
    if "killChildrenAfterMs" not in request:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        time.sleep(request["killChildrenAfterMs"] / 1000)
        killed = _children(proc.pid)
        for child in killed:
            os.kill(child, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(command, proc.returncode, stdout,
                                       stderr + f"preflight_net: killed {len(killed)} processes\n")


def main(request_path: str) -> int:
    request: dict[str, Any] = json.loads(Path(request_path).read_text(encoding="utf-8"))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "-6", "addr", "add", f"{V6_ADDRESS}/128", "dev", "lo", "nodad"], check=True)
    for address in request.get("addresses", []):  # test hosts: this namespace's own addresses
        subprocess.run(["ip", "addr", "add", address, "dev", "lo"], check=True)
    for route in request.get("routes", []):  # e.g. the service CIDR, so a ClusterIP is routable
        subprocess.run(["ip", "route", "add", route, "dev", "lo"], check=True)
    if request.get("nft"):  # DNAT and the policy filter (tests/test_preflight_dnat.py)
        subprocess.run(["nft", "-f", "-"], input=request["nft"], text=True, check=True)
    if request.get("silentDns"):
        # A resolver that never answers: what a NetworkPolicy dropping DNS looks like to the pod.
        dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dns.bind(("127.0.0.1", 53))
        _KEEP.append(dns)
    ports = {name: _listener(name if "@" in name else name.split(":")[0], request.get("certs", {}))
             for name in request["listeners"]}
    doc = request["document"]
    for dep in doc.get("dependencies", []):
        if isinstance(dep.get("port"), str) and dep["port"] in ports:
            dep["port"] = ports[dep["port"]]
    deps = Path(request["workdir"]) / "dependencies.json"
    deps.write_text(json.dumps(doc), encoding="utf-8")
    done = _run_node(request, deps)
    connects = {target: _connect(target) for target in request.get("connects", [])}
    print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "ports": ports,
                      "connects": connects}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
