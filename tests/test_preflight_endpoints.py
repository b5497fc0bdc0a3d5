"""The preflight's check of a Service address's endpoints (the Kubernetes API), each branch for
real in a private network namespace (tests/preflight_net.py): test addresses on lo (TEST-NET-1),
a TLS server on one endpoint, a plain TCP server on another (it never answers a TLS hello),
nothing on a third (the kernel refuses), and the Service address itself open, closed or unknown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.test_preflight import certs, dep, lines, run_preflight

__all__ = ["certs"]  # the session fixture, shared with tests/test_preflight.py

TLS_EP, REFUSED_EP, PLAIN_EP = "192.0.2.10", "192.0.2.11", "192.0.2.12"
KEY = "openclaw:network.apiServerEndpoints"
NETWORK = {"addresses": [f"{a}/32" for a in (TLS_EP, REFUSED_EP, PLAIN_EP)]}
LISTENERS = ["tls", "closed", "open", f"tls@{TLS_EP}:6443", f"open@{PLAIN_EP}:6443"]
EVERY_KIND = {"kubernetes": ["dns", "unreachable", "refused", "tls"]}
KUBECTL = "`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`"


def _endpoints(*addresses: str) -> list[dict[str, Any]]:
    return [{"host": a, "port": 6443} for a in addresses]


def _api(name: str, host: str, port: str, *addresses: str, tls: bool = True, key: bool = True,
         ca: str = "", server: str = "api.preflight.test") -> dict[str, Any]:
    extra: dict[str, Any] = ({"endpointsKey": KEY} if key else {}) | ({"caFile": ca} if ca else {}) | (
        {"serverName": server} if server else {})
    return dep(name, host, port, kind="kubernetes", tls=tls,
               endpoints=_endpoints(*addresses), **extra)


def _run(tmp_path: Path, certs: dict[str, str], deps: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, Any]]:
    result = run_preflight(tmp_path, certs, deps, LISTENERS, fail_on=EVERY_KIND, timeout_ms=800, network=NETWORK)
    return lines(result), result


def test_an_endpoint_that_fails_while_the_service_answers_degrades_naming_each(
        tmp_path: Path, certs: dict[str, str]) -> None:
    """Each endpoint on its own: TLS verified, refused (its TLS skipped), TCP open but no handshake."""
    deps = [_api("api", "api.preflight.test", "tls", TLS_EP, REFUSED_EP, PLAIN_EP, ca=certs["ca"]),
            _api("api-all-good", "api.preflight.test", "tls", TLS_EP, ca=certs["ca"])]
    got, result = _run(tmp_path, certs, deps)
    port = result["ports"]["tls"]
    assert re.fullmatch(
        rf"preflight: \[DEGRADED\] kubernetes api\.preflight\.test:{port} dns4=ok\(\d+ms 127\.0\.0\.1\) "
        r"dns6=none\(\d+ms \w+\) tcp4=ok\(\d+ms\) tcp6=skip tls=ok\(\d+ms\) "
        r"endpoint=192\.0\.2\.10:6443 tcp=ok\(\d+ms\) tls=ok\(\d+ms\) "
        r"endpoint=192\.0\.2\.11:6443 tcp=refused\(\d+ms ECONNREFUSED\) tls=skip "
        r"endpoint=192\.0\.2\.12:6443 tcp=ok\(\d+ms\) tls=timeout\(\d+ms ETIMEDOUT\) -- api -- "
        rf"endpoint 192\.0\.2\.11:6443 refused, 192\.0\.2\.12:6443 tls of {KEY} failed while "
        rf"api\.preflight\.test:{port} answered: kube-proxy may translate a connection to it; check the list "
        r"against the cluster's EndpointSlice", got["api"]), got["api"]
    assert re.fullmatch(
        rf"preflight: \[OK\] kubernetes api\.preflight\.test:{port} dns4=ok\(\d+ms 127\.0\.0\.1\) "
        r"dns6=none\(\d+ms \w+\) tcp4=ok\(\d+ms\) tcp6=skip tls=ok\(\d+ms\) "
        r"endpoint=192\.0\.2\.10:6443 tcp=ok\(\d+ms\) tls=ok\(\d+ms\) -- api-all-good", got["api-all-good"])
    assert result["code"] == 0


def test_a_service_that_fails_while_an_endpoint_answers_names_a_missing_endpoint(
        tmp_path: Path, certs: dict[str, str]) -> None:
    """One of two endpoints answering is enough to say the list is stale, not the policy."""
    deps = [_api("api", "closed.preflight.test", "closed", TLS_EP, REFUSED_EP, ca=certs["ca"])]
    got, result = _run(tmp_path, certs, deps)
    port = result["ports"]["closed"]
    line = got["api"]
    assert line.startswith(f"preflight: [FAIL refused enforced] kubernetes closed.preflight.test:{port} "), line
    assert re.search(r" tcp4=refused\(\d+ms ECONNREFUSED\) tcp6=skip tls=skip "
                     r"endpoint=192\.0\.2\.10:6443 tcp=ok\(\d+ms\) tls=ok\(\d+ms\) "
                     r"endpoint=192\.0\.2\.11:6443 tcp=refused\(\d+ms ECONNREFUSED\) tls=skip -- ", line), line
    assert line.endswith(
        f" -- api -- post-DNAT: the endpoints in {KEY} answer (192.0.2.10:6443, 192.0.2.11:6443) but "
        f"closed.preflight.test:{port} does not: kube-proxy translates it to an endpoint missing from {KEY} "
        f"(a server added or moved?); compare with {KUBECTL}; refused: nothing listens there (the upstream is "
        "down or restarting), or a NetworkPolicy REJECTs it"), line
    assert result["code"] == 1


def test_a_service_whose_endpoints_all_fail_too_names_the_post_dnat_filter(
        tmp_path: Path, certs: dict[str, str]) -> None:
    """Every endpoint failing (refused, or open without TLS) with the Service address refused, or
    failing its handshake; without an endpointsKey the message says "the endpoints list"."""
    deps = [_api("refused", "closed.preflight.test", "closed", REFUSED_EP, PLAIN_EP, key=False),
            _api("tls", "other.preflight.test", "tls", REFUSED_EP, ca=certs["ca"], server="")]
    got, result = _run(tmp_path, certs, deps)
    closed, tls = result["ports"]["closed"], result["ports"]["tls"]
    assert got["refused"].startswith(f"preflight: [FAIL refused enforced] kubernetes closed.preflight.test:{closed} ")
    assert got["refused"].endswith(
        f" -- refused -- post-DNAT: closed.preflight.test:{closed} is translated by kube-proxy to the API server's "
        "endpoints (192.0.2.11:6443, 192.0.2.12:6443), and a NetworkPolicy enforced after DNAT (k3s: kube-router) "
        "judges those, not the Service address; none of them answered either: allow them in egress (the endpoints "
        f"list) and check that the endpoints list lists what {KUBECTL} shows; refused: nothing listens there (the "
        "upstream is down or restarting), or a NetworkPolicy REJECTs it"), got["refused"]
    assert got["tls"].startswith(f"preflight: [FAIL tls enforced] kubernetes other.preflight.test:{tls} ")
    assert f" -- tls -- post-DNAT: other.preflight.test:{tls} is translated by kube-proxy to the API server's " \
           f"endpoints (192.0.2.11:6443), " in got["tls"]
    assert f"allow them in egress ({KEY}) and check that {KEY} lists what {KUBECTL} shows; the TLS handshake " \
           "failed" in got["tls"]
    assert result["code"] == 1


def test_a_service_name_without_dns_blames_dns_not_the_endpoints(tmp_path: Path, certs: dict[str, str]) -> None:
    """No address for the name: the endpoints are still checked and shown, but say nothing of DNAT."""
    deps = [_api("answering", "missing.preflight.test", "tls", TLS_EP, ca=certs["ca"]),
            _api("failing", "missing.preflight.test", "tls", REFUSED_EP, ca=certs["ca"])]
    got, _ = _run(tmp_path, certs, deps)
    hint = "no A or AAAA answer: check the host name, that the Service exists, and DNS egress (port 53)"
    assert re.search(r"\[FAIL dns enforced\] .* endpoint=192\.0\.2\.10:6443 tcp=ok\(\d+ms\) tls=ok\(\d+ms\) "
                     rf"-- answering -- {re.escape(hint)}$", got["answering"]), got["answering"]
    assert re.search(r"\[FAIL dns enforced\] .* endpoint=192\.0\.2\.11:6443 tcp=refused\(\d+ms ECONNREFUSED\) "
                     rf"tls=skip -- failing -- {re.escape(hint)}$", got["failing"]), got["failing"]


def test_without_tls_an_endpoint_is_a_tcp_connect(tmp_path: Path, certs: dict[str, str]) -> None:
    deps = [_api("plain", "db.preflight.test", "open", PLAIN_EP, TLS_EP, tls=False),
            _api("plain-failing", "db.preflight.test", "open", REFUSED_EP, tls=False)]
    got, result = _run(tmp_path, certs, deps)
    port = result["ports"]["open"]
    assert re.fullmatch(
        rf"preflight: \[OK\] kubernetes db\.preflight\.test:{port} dns4=ok\(\d+ms 127\.0\.0\.1\) "
        r"dns6=none\(\d+ms \w+\) tcp4=ok\(\d+ms\) tcp6=skip tls=skip endpoint=192\.0\.2\.12:6443 tcp=ok\(\d+ms\) "
        r"endpoint=192\.0\.2\.10:6443 tcp=ok\(\d+ms\) -- plain", got["plain"]), got["plain"]
    assert got["plain-failing"].startswith("preflight: [DEGRADED] ")
    assert re.search(r" endpoint=192\.0\.2\.11:6443 tcp=refused\(\d+ms ECONNREFUSED\) -- plain-failing -- endpoint "
                     rf"192\.0\.2\.11:6443 refused of {KEY} failed while db\.preflight\.test:{port} answered: "
                     r"kube-proxy may translate a connection to it; check the list against the cluster's "
                     r"EndpointSlice$", got["plain-failing"]), got["plain-failing"]
