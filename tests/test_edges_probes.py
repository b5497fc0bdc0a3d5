"""Edges of the gateway's probes (components/probes.py), run for real under the image's node against
a loopback server that answers each status and body on its own: every status the readiness check
refuses, the bound of a server error, each route's words, and what a probe says when nothing answers."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support.loopback_http import serving
from tests.test_probes import TOKEN, probes_for, run


class Answer(BaseHTTPRequestHandler):
    """Answers every request with `status` and `body` (JSON unless `kind` says otherwise) and keeps
    what it was sent."""

    status = 200
    body = b"{}"
    kind = "application/json"
    seen: list[tuple[str, str, dict[str, str], bytes]]

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
        self.send_response(self.status)
        self.send_header("Content-Type", self.kind)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer  # noqa: N815 (http.server's names)


@pytest.fixture
def server() -> Iterator[tuple[int, type[Answer]]]:
    handler = type("Handler", (Answer,), {"seen": []})
    with serving(handler) as port:
        yield port, handler


def _answers(server: tuple[int, type[Answer]], command: list[str], status: int, body: bytes,
             kind: str = "application/json") -> subprocess.CompletedProcess[str]:
    _, handler = server
    handler.status, handler.body, handler.kind = status, body, kind
    return run(command, {"OPENCLAW_GATEWAY_TOKEN": TOKEN})


# --- 2026.2.23's readiness: POST /tools/invoke with the token and no tool ---------------------------------

ERROR = b'{"ok":false,"error":{"type":"invalid_request"}}'


@pytest.mark.parametrize(("status", "ready"), [
    (200, True), (400, True), (499, True),
    (401, False), (403, False), (404, False), (405, False), (429, False),  # each refusal on its own
    (402, True), (406, True), (428, True), (430, True),                   # their neighbours are answers
    (500, False), (503, False),                                           # a server error, from its bound
])
def test_invoke_readiness_by_status(server: tuple[int, type[Answer]], status: int, ready: bool) -> None:
    port, _ = server
    done = _answers(server, probes_for("2026.2.23", port).readiness, status, ERROR)
    assert done.returncode == (0 if ready else 1), done
    assert done.stdout == ("" if ready else f"POST /tools/invoke: {status} {ERROR.decode()}\n")
    assert done.stderr == ""  # the one line above is all the probe-failure event shows


@pytest.mark.parametrize("body", [b'"text"', b"null", b"1", b"true"])
def test_invoke_readiness_needs_a_json_object(server: tuple[int, type[Answer]], body: bytes) -> None:
    port, _ = server
    done = _answers(server, probes_for("2026.2.23", port).readiness, 400, body)
    said = "not JSON null" if body == b"null" else body.decode()  # null parses to nothing to show
    assert (done.returncode, done.stdout) == (1, f"POST /tools/invoke: 400 {said}\n")


def test_invoke_sends_the_token_and_an_empty_object(server: tuple[int, type[Answer]]) -> None:
    port, handler = server
    assert _answers(server, probes_for("2026.2.23", port).readiness, 400, ERROR).returncode == 0
    ((method, path, headers, body),) = handler.seen
    assert (method, path, body) == ("POST", "/tools/invoke", b"{}")
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json" and headers["content-length"] == "2"


def test_a_long_answer_is_cut_in_what_the_probe_says(server: tuple[int, type[Answer]]) -> None:
    port, _ = server
    long = b'{"ok":false,"pad":"' + b"x" * 400 + b'"}'
    done = _answers(server, probes_for("2026.2.23", port).readiness, 401, long)
    assert done.stdout == f"POST /tools/invoke: 401 {long[:300].decode()}\n"
    text = b"<html>" + b"y" * 200
    done = _answers(server, probes_for("2026.2.23", port).readiness, 502, text, "text/html")
    assert done.stdout == f"POST /tools/invoke: 502 not JSON {text[:80].decode()}\n"


# --- the HTTP routes: each status and word --------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "ok"), [
    (200, b'{"ok":true,"status":"live"}', True),
    (201, b'{"ok":true,"status":"live"}', False),   # only 200
    (503, b'{"ok":true,"status":"live"}', False),
    (200, b'{"ok":"true","status":"live"}', False),
    (200, b'{"ok":true,"status":"started"}', False),
    (200, b'{"status":"live"}', False),
])
def test_liveness_needs_200_and_both_words(server: tuple[int, type[Answer]], status: int, body: bytes,
                                           ok: bool) -> None:
    port, handler = server
    done = _answers(server, probes_for("2026.9.6", port).liveness, status, body)
    assert done.returncode == (0 if ok else 1), done
    assert handler.seen[-1][:2] == ("GET", "/healthz")
    if not ok:
        assert (done.stdout, done.stderr) == (f"GET /healthz: {status} {body.decode()}\n", "")


@pytest.mark.parametrize(("status", "body", "ok"), [
    (200, b'{"ok":true,"status":"started"}', True),
    (503, b'{"ok":true,"status":"started"}', False),
    (200, b'{"ok":false,"status":"started"}', False),
    (200, b'{"ok":true,"status":"live"}', False),
])
def test_startup_needs_started(server: tuple[int, type[Answer]], status: int, body: bytes, ok: bool) -> None:
    port, handler = server
    done = _answers(server, probes_for("2026.9.6", port).startup, status, body)
    assert done.returncode == (0 if ok else 1), done
    assert handler.seen[-1][:2] == ("GET", "/startupz")


@pytest.mark.parametrize(("status", "body", "ok"), [
    (200, b'{"ready":true}', True),
    (503, b'{"ready":true}', True),             # the channel-tolerant check reads the body of either
    (500, b'{"ready":true}', False),
    (204, b'{"ready":true}', False),
    (200, b'{"ready":false,"ok":true,"status":"ready"}', False),
    (200, b'{"ok":true,"status":"ready"}', True),     # the static answer without a readiness checker
    (200, b'{"ok":false,"status":"ready"}', False),
    (200, b'{"ok":true,"status":"live"}', False),
    (503, b'{"ready":false,"failing":"telegram"}', False),   # not a list
    (503, b'{"ready":false,"failing":["telegram"]}', True),
])
def test_tolerant_readiness_by_status_and_body(server: tuple[int, type[Answer]], status: int, body: bytes,
                                               ok: bool) -> None:
    port, handler = server
    done = _answers(server, probes_for("2026.9.6", port).readiness, status, body)
    assert done.returncode == (0 if ok else 1), done
    assert handler.seen[-1][:2] == ("GET", "/readyz")


@pytest.mark.parametrize(("status", "ok"), [(200, True), (503, False)])
def test_channel_aware_readiness_needs_200(server: tuple[int, type[Answer]], status: int, ok: bool) -> None:
    port, _ = server
    done = _answers(server, probes_for("2026.9.6", port, channelReadiness="require").readiness, status,
                    b'{"ready":true}')
    assert done.returncode == (0 if ok else 1), done


def test_a_release_without_channel_readiness_needs_200(server: tuple[int, type[Answer]]) -> None:
    """The only other reading of channelReadiness: a release whose /readyz knows no channels."""
    port, _ = server
    assert _answers(server, probes_for("2026.3.7", port).readiness, 503, b'{"ready":true}').returncode == 0
    command = probes_for("2026.3.7", port, channelReadiness="require").readiness
    assert _answers(server, command, 503, b'{"ready":true}').returncode == 1


# --- nothing answers: the probe says why before the kubelet's 5 s timeout -------------------------------


def test_an_http_probe_that_gets_no_answer_says_it_timed_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)   # connects, never answers
        port = int(listener.getsockname()[1])
        for command, label in ((probes_for("2026.9.6", port).liveness, "GET /healthz"),
                               (probes_for("2026.2.23", port).readiness, "POST /tools/invoke")):
            done = run(command, {"OPENCLAW_GATEWAY_TOKEN": TOKEN})
            assert (done.returncode, done.stdout) == (1, f"{label}: timed out\n")


def test_a_tcp_probe_that_cannot_connect_says_it_timed_out() -> None:
    """A listener whose accept queue is full drops the next SYN: the connect hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        queued: list[socket.socket] = []
        while len(queued) < 8:  # fill the queue (Linux keeps backlog + 1) until a connect hangs
            client = socket.socket()
            client.settimeout(0.5)
            queued.append(client)
            try:
                client.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        try:
            done = run(probes_for("2026.2.23", port).liveness)
        finally:
            for s in queued:
                s.close()
    assert (done.returncode, done.stdout) == (1, "connect timed out\n")


@pytest.mark.parametrize("port", [1024, 18789, 65535])
def test_each_probe_aims_at_the_configured_port(port: int) -> None:
    for tag in ("2026.2.23", "2026.9.6"):
        probes = probes_for(tag, port)
        for command in (probes.startup, probes.readiness, probes.liveness):
            assert command[:2] == ["node", "-e"]
            assert f"{port}" in command[2]


def test_a_refused_connect_names_the_address_and_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = int(s.getsockname()[1])
    done = run(probes_for("2026.2.23", closed).liveness)
    assert (done.returncode, done.stdout) == (1, f"connect 127.0.0.1:{closed}: ECONNREFUSED\n")
