"""The preflight's decisions on names, address families and its resolver process, each branch for
real in a private network namespace (tests/preflight_net.py): hosts-file answers, a resolver that
never answers, the lookup process killed, refusals and missing routes per family."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import tests.test_preflight as preflight
from tests.test_preflight import certs, dep, lines, run_preflight

__all__ = ["certs"]  # the session fixture, shared with tests/test_preflight.py

# Names of this file's own: three IPv4 addresses; both families on lo.
EXTRA_HOSTS = """127.0.0.1 many.preflight.test
127.0.0.2 many.preflight.test
127.0.0.3 many.preflight.test
127.0.0.1 both.preflight.test
fd00:5afe::1 both.preflight.test
"""


@pytest.fixture(autouse=True)
def _hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "HOSTS", preflight.HOSTS + EXTRA_HOSTS)


def _line(result: dict[str, Any], name: str) -> str:
    return lines(result)[name]


def test_the_first_two_addresses_are_shown_and_the_first_is_dialled(tmp_path: Path, certs: dict[str, str]) -> None:
    """Only 127.0.0.1 listens on the port: a connect to any other address is refused. An AAAA
    lookup of the IPv4-only name asks DNS, which refuses (EAI_AGAIN)."""
    result = run_preflight(tmp_path, certs, [dep("many", "many.preflight.test", "open")], ["open"])
    assert re.search(r"\[OK\] model many\.preflight\.test:\d+ dns4=ok\(\d+ms 127\.0\.0\.1,127\.0\.0\.2\) "
                     r"dns6=none\(\d+ms EAI_AGAIN\) tcp4=ok\(\d+ms\) tcp6=skip tls=skip -- many$",
                     _line(result, "many")), result


def test_an_ip_address_is_not_looked_up(tmp_path: Path, certs: dict[str, str]) -> None:
    deps = [dep("v6", "fd00:5afe::1", "open6"), dep("v4", "127.0.0.1", "open")]
    result = run_preflight(tmp_path, certs, deps, ["open6", "open"])
    assert re.search(r"\[OK\] model fd00:5afe::1:\d+ dns4=skip dns6=ip\(0ms\) tcp4=skip tcp6=ok\(\d+ms\) tls=skip "
                     r"-- v6$", _line(result, "v6")), result
    assert re.search(r"\[OK\] model 127\.0\.0\.1:\d+ dns4=ip\(0ms\) dns6=skip tcp4=ok\(\d+ms\) tcp6=skip tls=skip "
                     r"-- v4$", _line(result, "v4")), result


def test_refused_only_when_every_family_refuses(tmp_path: Path, certs: dict[str, str]) -> None:
    """Both families refused: refused. One refused and one without a route: unreachable (the
    route is what a NetworkPolicy drop looks like; a refusal alone says nothing listens)."""
    deps = [dep("both-refused", "both.preflight.test", "closed"),
            dep("refused-and-no-route", "dual.preflight.test", "closed")]
    result = run_preflight(tmp_path, certs, deps, ["closed"], fail_on={"model": ["refused"]})
    both = _line(result, "both-refused")
    assert re.search(r"\[FAIL refused enforced\] .* tcp4=refused\(\d+ms ECONNREFUSED\) "
                     r"tcp6=refused\(\d+ms ECONNREFUSED\) tls=skip", both), both
    mixed = _line(result, "refused-and-no-route")
    assert re.search(r"\[FAIL unreachable warn\] .* tcp4=refused\(\d+ms ECONNREFUSED\) "
                     r"tcp6=unreachable\(\d+ms ENETUNREACH\) tls=skip -- refused-and-no-route -- the connect timed "
                     r"out or had no route: an egress NetworkPolicy drops it, or the address is wrong$", mixed), mixed
    assert result["code"] == 1


def test_a_family_that_fails_while_the_other_answers_is_named(tmp_path: Path, certs: dict[str, str]) -> None:
    """IPv6 listens, IPv4 refuses on the same name: degraded, naming IPv4; and the reverse case
    (IPv6 without a route) names IPv6."""
    deps = [dep("v4-refused", "both.preflight.test", "open6"), dep("v6-no-route", "dual.preflight.test", "open")]
    result = run_preflight(tmp_path, certs, deps, ["open6", "open"],
                           fail_on={"model": ["dns", "unreachable", "refused", "tls"]})
    assert re.search(r"\[DEGRADED\] .* tcp4=refused\(\d+ms ECONNREFUSED\) tcp6=ok\(\d+ms\) tls=skip -- v4-refused -- "
                     r"IPv4 answered in DNS but refused$", _line(result, "v4-refused")), result
    assert re.search(r"\[DEGRADED\] .* -- v6-no-route -- IPv6 answered in DNS but unreachable$",
                     _line(result, "v6-no-route")), result
    assert result["code"] == 0
    assert result["stdout"].splitlines()[-1].startswith("preflight: summary: 2 checked in ")
    assert result["stdout"].splitlines()[-1].endswith(
        ": 0 ok, 2 degraded, 0 failed (warn), 0 failed (enforced): exit 0")


def test_a_killed_resolver_ends_every_lookup_at_once(tmp_path: Path, certs: dict[str, str]) -> None:
    """The lookup process killed while a lookup hangs (DNS unanswered): each waiting lookup ends
    as "resolver exited" right away, not at the timeout."""
    deps = [dep("db", "db.cluster.test", 5432, kind="database"), dep("db2", "db2.cluster.test", 5432, kind="database")]
    result = run_preflight(tmp_path, certs, deps, [], fail_on={"database": ["dns"]}, timeout_ms=4000,
                           silent_dns=True, network={"killChildrenAfterMs": 700})
    assert "preflight_net: killed 1 processes" in result["stderr"], result
    for name in ("db", "db2"):
        match = re.search(r"\[FAIL dns enforced\] database \w+\.cluster\.test:5432 "
                          r"dns4=none\((\d+)ms resolver exited\) dns6=none\((\d+)ms resolver exited\) tcp4=skip",
                          _line(result, name))
        assert match and int(match[1]) < 3000 and int(match[2]) < 3000, result
    assert result["code"] == 1


def test_lookups_do_not_queue_behind_an_unanswered_one(tmp_path: Path, certs: dict[str, str]) -> None:
    """Two names DNS never answers hold four lookups; a name in the hosts file, listed last, still
    answers at once: the pool has a thread for every lookup (libuv gives getaddrinfo at most half
    of it: the script failed this with a pool of two threads per name)."""
    deps = [dep("a", "a.cluster.test", 5432), dep("b", "b.cluster.test", 5432),
            dep("dual", "dual.preflight.test", "open")]
    result = run_preflight(tmp_path, certs, deps, ["open"], timeout_ms=1500, silent_dns=True)
    assert re.search(r" dns4=ok\(\d+ms 127\.0\.0\.1\) dns6=ok\(\d+ms 2001:db8::1\) tcp4=ok",
                     _line(result, "dual")), result
    assert re.search(r" dns4=timeout\(\d+ms\) dns6=timeout\(\d+ms\) ", _line(result, "a")), result


@pytest.mark.parametrize(("kind", "env", "notes"), [
    ("model", {"KUBERNETES_SERVICE_HOST": "10.43.0.2", "KUBERNETES_SERVICE_PORT": "6443"}, []),
    ("kubernetes", {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "*port*"}, []),
    ("kubernetes", {}, []),
    ("kubernetes", {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "443"},
     ["KUBERNETES_SERVICE_PORT is 443: network.apiServerPort differs"]),
    ("kubernetes", {"KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "*port*"},
     ["KUBERNETES_SERVICE_HOST is 10.43.0.1: network.apiServer differs"]),
], ids=["not the api", "the same", "not set", "port differs", "host differs"])
def test_only_the_api_is_compared_with_the_kubelets_word(tmp_path: Path, certs: dict[str, str], kind: str,
                                                          env: dict[str, str], notes: list[str]) -> None:
    """The namespace is the test's own: the API listens on a fixed port there."""
    env = {k: v.replace("*port*", "8443") for k, v in env.items()}
    result = run_preflight(tmp_path, certs, [dep("api", "127.0.0.1", 8443, kind=kind)], ["open@127.0.0.1:8443"],
                           env=env)
    line = _line(result, "api")
    assert line.startswith(f"preflight: [{'DEGRADED' if notes else 'OK'}] {kind} 127.0.0.1:8443 "), line
    assert line.endswith(" -- api" + "".join(f" -- {n}" for n in notes)), line


@pytest.mark.parametrize(("timeout", "low", "high"), [(500, 400, 1500), ("500", 2900, 4000), (500.5, 2900, 4000)])
def test_the_timeout_is_timeoutms_or_3_seconds(tmp_path: Path, certs: dict[str, str], timeout: Any, low: int,
                                               high: int) -> None:
    """A connect nobody answers (SYNs dropped) lasts timeoutMs if it is an integer, else 3000 ms."""
    result = run_preflight(tmp_path, certs, [dep("db", "dropped.preflight.test", "dropped")], ["dropped"],
                           timeout_ms=timeout)
    match = re.search(r" tcp4=timeout\((\d+)ms ETIMEDOUT\) ", _line(result, "db"))
    assert match and low <= int(match[1]) < high, result


def test_an_ip_address_is_checked_without_sni(tmp_path: Path, certs: dict[str, str]) -> None:
    """A TLS dependency named by its address: the certificate must carry that address, and no SNI is
    sent (RFC 6066 forbids an IP there; node warns on stderr if one is set)."""
    deps = [dep("by-ip", "127.0.0.1", "tls", tls=True, caFile=certs["ca"])]
    result = run_preflight(tmp_path, certs, deps, ["tls"])
    assert re.search(r"\[FAIL tls warn\] model 127\.0\.0\.1:\d+ dns4=ip\(0ms\) dns6=skip tcp4=ok\(\d+ms\) tcp6=skip "
                     r"tls=fail\(\d+ms ERR_TLS_CERT_ALTNAME_INVALID\) -- by-ip -- ", _line(result, "by-ip")), result
    assert result["stderr"] == ""


def test_a_name_is_sent_as_sni_and_a_server_that_requires_it_answers(tmp_path: Path, certs: dict[str, str]) -> None:
    """A server that serves by SNI only (a CDN): the name is sent, so the handshake passes; reached
    by its address there is no name to send, and the server's alert is the failure shown."""
    deps = [dep("by-name", "api.preflight.test", "sni", tls=True, caFile=certs["ca"]),
            dep("by-ip", "127.0.0.1", "sni", tls=True, caFile=certs["ca"])]
    result = run_preflight(tmp_path, certs, deps, ["sni"])
    assert re.search(r"\[OK\] model api\.preflight\.test:\d+ .* tcp4=ok\(\d+ms\) tcp6=skip tls=ok\(\d+ms\) -- by-name$",
                     _line(result, "by-name")), result
    assert re.search(r"\[FAIL tls warn\] model 127\.0\.0\.1:\d+ .* tls=fail\(\d+ms ERR_SSL_\w*UNRECOGNIZED_NAME\w*\) "
                     r"-- by-ip -- ", _line(result, "by-ip")), result


def test_a_connection_the_upstream_resets_after_it_opened_is_still_a_connect(tmp_path: Path,
                                                                            certs: dict[str, str]) -> None:
    """The upstream accepts, then resets the connection while the preflight still checks the
    dependency's endpoints (one of them drops SYNs: that takes the timeout): the connect counted,
    and the reset that comes later neither fails the check nor stops the script."""
    deps = [dep("flaky", "db.preflight.test", "reset", kind="database",
                endpoints=[{"host": "127.0.0.1", "port": 7000}]),
            dep("db", "db.preflight.test", "open", kind="database")]
    result = run_preflight(tmp_path, certs, deps, ["reset", "open", "dropped@127.0.0.1:7000"], timeout_ms=1000)
    assert re.search(r"\[DEGRADED\] database db\.preflight\.test:\d+ .* tcp4=ok\(\d+ms\) tcp6=skip tls=skip "
                     r"endpoint=127\.0\.0\.1:7000 tcp=timeout\(\d+ms ETIMEDOUT\) -- flaky -- ",
                     _line(result, "flaky")), result
    assert "[OK] database" in _line(result, "db")
    assert result["code"] == 0 and result["stderr"] == "", result


@pytest.mark.parametrize(("unanswered", "answers"), [(31, True), (32, False)], ids=["32 names", "33 names"])
def test_up_to_32_names_are_looked_up_at_once(tmp_path: Path, certs: dict[str, str], unanswered: int,
                                              answers: bool) -> None:
    """The lookup pool is capped at 128 threads (64 lookups at once, two per name): with 32 names a
    hosts-file name listed last answers beside 31 that DNS never answers; a 33rd name waits for a
    free thread, and its lookups end at the timeout."""
    deps = [dep(f"n{i}", f"n{i}.cluster.test", 5432) for i in range(unanswered)]
    deps.append(dep("dual", "dual.preflight.test", "open"))
    result = run_preflight(tmp_path, certs, deps, ["open"], timeout_ms=1500, silent_dns=True)
    line = _line(result, "dual")
    if answers:
        assert re.search(r" dns4=ok\(\d+ms 127\.0\.0\.1\) dns6=ok\(\d+ms 2001:db8::1\) ", line), line
    else:
        assert re.search(r" dns4=timeout\(\d+ms\) dns6=timeout\(\d+ms\) ", line), line
