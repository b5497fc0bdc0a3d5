"""Edges of the preflight's checks (components/scripts/preflight.mjs) that the other preflight tests
leave open, each provoked for real in a private network namespace (tests/preflight_net.py)."""

from __future__ import annotations

import re
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from tests import preflight_net
from tests.test_preflight import certs, dep, lines, run_preflight

__all__ = ["certs"]  # the session fixture, shared with tests/test_preflight.py

# The client's own ACK that completes the handshake is answered by a TCP reset (nft reject in the
# output hook): the kernel has moved the socket to ESTABLISHED on the SYN-ACK, so the reset makes
# the connect fail with ECONNRESET (Linux tcp_reset: ECONNREFUSED only in SYN-SENT), what a
# middlebox or an upstream that resets a connection as it opens does.
RESET_PORT = 7001
RESET_ON_OPEN = f"""table inet preflight_test {{
  chain out {{
    type filter hook output priority 0;
    tcp dport {RESET_PORT} tcp flags & (syn | ack) == ack reject with tcp reset
  }}
}}
"""


def test_a_connect_reset_as_it_opens_is_a_refusal_not_a_drop(tmp_path: Path, certs: dict[str, str]) -> None:
    """ECONNRESET on the connect is classed with ECONNREFUSED: something answered (a drop never
    answers), so it is `refused`, enforced as such, with the refusal's hint; a plain refusal on the
    same run is the other side of that class, a dropped SYN the outside of it."""
    deps = [dep("reset", "db.preflight.test", RESET_PORT, kind="database"),
            dep("closed", "closed.preflight.test", "closed", kind="database"),
            dep("dropped", "dropped.preflight.test", "dropped", kind="database")]
    result = run_preflight(tmp_path, certs, deps, [f"open@127.0.0.1:{RESET_PORT}", "closed", "dropped"],
                           fail_on={"database": ["refused"]}, timeout_ms=1000, network={"nft": RESET_ON_OPEN})
    got = lines(result)
    assert re.fullmatch(rf"preflight: \[FAIL refused enforced\] database db\.preflight\.test:{RESET_PORT} "
                        r"dns4=ok\(\d+ms 127\.0\.0\.1\) dns6=none\(\d+ms \w+\) tcp4=refused\(\d+ms ECONNRESET\) "
                        r"tcp6=skip tls=skip -- reset -- refused: nothing listens there \(the upstream is down or "
                        r"restarting\), or a NetworkPolicy REJECTs it", got["reset"]), result
    assert re.search(r"\[FAIL refused enforced\] .* tcp4=refused\(\d+ms ECONNREFUSED\) ", got["closed"]), result
    assert re.search(r"\[FAIL unreachable warn\] .* tcp4=timeout\(\d+ms ETIMEDOUT\) ", got["dropped"]), result
    assert result["code"] == 1
    assert result["stdout"].splitlines()[-1].endswith(
        f"2 failed (enforced): database db.preflight.test:{RESET_PORT} refused, "
        f"database closed.preflight.test:{result['ports']['closed']} refused: exit 1 (openclaw:preflight.failOn)")


def _hello(port: int, alpn: list[str] | None) -> str:
    """A handshake from Python's ssl with or without ALPN: what the server answered."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if alpn is not None:
        context.set_alpn_protocols(alpn)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="api.preflight.test") as tls:
            return f"ok {tls.selected_alpn_protocol()}"
    except ssl.SSLError as err:
        return "refused" if "alert no application protocol" in str(err) else f"failed: {err}"


def test_the_alpn_server_refuses_a_hello_without_http_1_1(certs: dict[str, str]) -> None:
    """The test server below is what it claims (else the next test proves nothing): it answers a
    hello offering http/1.1 and refuses one without ALPN or with another protocol only."""
    port = preflight_net._listener("alpn", certs)
    assert _hello(port, ["http/1.1"]) == "ok http/1.1"
    assert _hello(port, None) == "refused"
    assert _hello(port, ["h2"]) == "refused"


def test_the_handshake_offers_http_1_1_as_the_gateway_does(tmp_path: Path, certs: dict[str, str]) -> None:
    """A server that enforces ALPN (grpc-go does; an HTTP/1.1-only server may) takes the preflight's
    handshake, as it takes the gateway's HTTP client's (undici offers http/1.1): no false `tls` failure."""
    deps = [dep("alpn", "api.preflight.test", "alpn", tls=True, caFile=certs["ca"])]
    result = run_preflight(tmp_path, certs, deps, ["alpn"], fail_on={"model": ["tls"]})
    assert re.fullmatch(r"preflight: \[OK\] model api\.preflight\.test:\d+ dns4=ok\(\d+ms 127\.0\.0\.1\) "
                        r"dns6=none\(\d+ms \w+\) tcp4=ok\(\d+ms\) tcp6=skip tls=ok\(\d+ms\) -- alpn",
                        lines(result)["alpn"]), result
    assert result["code"] == 0


def _stage_ms(line: str, stage: str) -> int:
    """A stage's time on a dependency's line (0 if the stage was skipped)."""
    match = re.search(rf" {stage}=\w+\((\d+)ms", line)
    return int(match[1]) if match else 0


@pytest.mark.parametrize(("host", "listener", "network", "timeout_ms"), [
    ("api.preflight.test", "tls", {}, 2000),                                # names answered, connect, handshake
    ("missing.preflight.test", "tls", {}, 2000),                            # names DNS refuses
    ("db.cluster.test", "tls", {"silentDns": True}, 400),                   # lookups cut at the timeout
    ("db.cluster.test", "tls", {"silentDns": True, "killChildrenAfterMs": 500}, 4000),   # the resolver killed
    ("closed.preflight.test", "closed", {}, 2000),                          # a refused connect
], ids=["answered", "no such name", "dns timeout", "resolver killed", "refused"])
def test_the_stages_of_a_check_take_no_longer_than_the_whole_run(
        tmp_path: Path, certs: dict[str, str], host: str, listener: str, network: dict[str, Any],
        timeout_ms: int) -> None:
    """Each time shown is that stage's own duration: the lookups (both families at once), then the
    connects (both at once), then the handshake, one after the other, fit in the run's total that
    the summary shows (one millisecond of rounding per number)."""
    silent = bool(network.pop("silentDns", False))
    deps = [dep("one", host, listener, tls=True, caFile=certs["ca"])]
    result = run_preflight(tmp_path, certs, deps, [listener], timeout_ms=timeout_ms, silent_dns=silent,
                           network=network)
    line = lines(result)["one"]
    total = re.search(r"^preflight: summary: 1 checked in (\d+)ms: ", result["stdout"].splitlines()[-1], re.M)
    assert total, result
    dns = max(_stage_ms(line, "dns4"), _stage_ms(line, "dns6"))
    tcp = max(_stage_ms(line, "tcp4"), _stage_ms(line, "tcp6"))
    assert dns + tcp + _stage_ms(line, "tls") <= int(total[1]) + 3, (line, total[0])


# The first SYN to the port is lost (nft quota: only the first 100 bytes of SYNs match, one SYN is 60):
# the kernel sends it again after its initial retransmission timeout, 1 s (Linux TCP_TIMEOUT_INIT).
SLOW_PORT = 7002
FIRST_SYN_LOST = f"""table inet preflight_test {{
  chain out {{
    type filter hook output priority 0;
    tcp dport {SLOW_PORT} tcp flags & (syn | ack) == syn quota until 100 bytes drop
  }}
}}
"""


def test_the_handshake_has_its_own_timeout_after_a_slow_connect(tmp_path: Path, certs: dict[str, str]) -> None:
    """Each stage gets the whole timeout (1.5 s): a connect that needed a SYN retransmission (1 s)
    and a server that starts its handshake a second later (done about 2 s after the start, past the
    connect's own deadline) pass; the connect's deadline does not cut the handshake that follows."""
    deps = [dep("slow", "api.preflight.test", SLOW_PORT, tls=True, caFile=certs["ca"])]
    result = run_preflight(tmp_path, certs, deps, [f"slowtls@127.0.0.1:{SLOW_PORT}"], timeout_ms=1500,
                           network={"nft": FIRST_SYN_LOST})
    line = lines(result)["slow"]
    match = re.search(r" tcp4=ok\((\d+)ms\) tcp6=skip tls=ok\((\d+)ms\) -- slow$", line)
    assert match, result
    connect, handshake = int(match[1]), int(match[2])
    assert 900 <= connect < 1500 and connect + handshake >= 1500, line   # the handshake outlived the connect's deadline
