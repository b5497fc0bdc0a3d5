"""The preflight against a real kernel doing what a k3s node does: in a network namespace of our
own, the API Service address 10.43.0.1:443 is DNAT'ed (nft, nat hook) to an "API server endpoint"
listening with TLS, and the rendered NetworkPolicies are enforced as nft filter rules
(tests/support/netpol.py nft_filter) either after the DNAT (kube-router: filter after nat) or before it.

Only test addresses live in the namespace (TEST-NET-1 192.0.2.0/24 on lo, the service CIDR routed
to lo); nothing leaves it."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine.harness import RunResult, run_stack
from tests.support.netpol import Pod, nft_filter
from tests.test_preflight import lines, run_preflight

ENDPOINT = "192.0.2.10"
OTHER_SERVER = "192.0.2.11"
KEY = "openclaw:network.apiServerEndpoints"


def _openssl(*args: str, cwd: Path) -> None:
    import subprocess
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def api_certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A cluster CA and an API server certificate for the Service address, as k3s issues it
    (its serving certificate carries the Service IP, which the client dials)."""
    d = tmp_path_factory.mktemp("api-certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=k3s-server-ca", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=kube-apiserver", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:10.43.0.1,DNS:kubernetes.default.svc\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


def _render(endpoints: list[str]) -> RunResult:
    return run_stack("dev", overrides={"openclaw:network": {"apiServerEndpoints": endpoints}})


def _kubernetes_entry(run: RunResult, ca: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    record = next(r for r in run.kubernetes() if "dependencies.json" in r.properties.get("data", {}))
    doc = json.loads(record.properties["data"]["dependencies.json"])
    entry = dict(next(d for d in doc["dependencies"] if d["kind"] == "kubernetes"))
    entry["caFile"] = ca  # the mounted ServiceAccount CA, here the test cluster's
    return entry, doc["failOn"]


def _policies(run: RunResult, old_rule: bool = False) -> list[dict[str, Any]]:
    objects = [copy.deepcopy(r.properties) for r in run.kubernetes()]
    if old_rule:  # the first version: the Service address alone
        for obj in objects:
            if obj["metadata"]["name"] == "openclaw-allow-kube-api":
                obj["spec"]["egress"] = obj["spec"]["egress"][:1]
    return objects


def _ruleset(run: RunResult, objects: list[dict[str, Any]], *, post_dnat: bool, dnat_to: str,
             action: str = "reject with icmp type port-unreachable") -> str:
    labels = run.find("Deployment", "openclaw").properties["spec"]["template"]["metadata"]["labels"]
    statements = nft_filter(objects, Pod("openclaw", labels), action=action)
    # nat output runs at priority -100 (dstnat): a filter at 0 sees the endpoint, at -150 the Service.
    priority = 0 if post_dnat else -150
    body = "\n".join(f"    {s}" for s in statements)
    return (f"table ip k3s {{\n  chain nat_output {{ type nat hook output priority -100;\n"
            f"    ip daddr 10.43.0.1 tcp dport 443 dnat to {dnat_to}:6443\n  }}\n"
            f"  chain pod_egress {{ type filter hook output priority {priority}; policy accept;\n{body}\n  }}\n}}\n")


def _run(tmp_path: Path, api_certs: dict[str, str], run: RunResult, objects: list[dict[str, Any]], *,
         post_dnat: bool = True, dnat_to: str = ENDPOINT, action: str = "reject with icmp type port-unreachable"
         ) -> dict[str, Any]:
    entry, fail_on = _kubernetes_entry(run, api_certs["ca"])
    network = {"addresses": [f"{ENDPOINT}/32", f"{OTHER_SERVER}/32"], "routes": ["10.43.0.0/16"],
               "nft": _ruleset(run, objects, post_dnat=post_dnat, dnat_to=dnat_to, action=action),
               "connects": [f"{ENDPOINT}:10250", f"{ENDPOINT}:22", f"{ENDPOINT}:6443", f"{OTHER_SERVER}:6443"]}
    listeners = [f"tls@{ENDPOINT}:6443", f"tls@{OTHER_SERVER}:6443", f"open@{ENDPOINT}:10250", f"open@{ENDPOINT}:22"]
    return run_preflight(tmp_path, api_certs, [entry], listeners, fail_on=fail_on, timeout_ms=800, network=network)


def _line(result: dict[str, Any]) -> str:
    return lines(result)["Kubernetes API (10.43.0.1:443)"]


def test_the_rendered_rules_pass_after_dnat(tmp_path: Path, api_certs: dict[str, str]) -> None:
    run = _render([f"{ENDPOINT}:6443"])
    result = _run(tmp_path, api_certs, run, _policies(run))
    line = _line(result)
    assert re.search(r"\[OK\] kubernetes 10\.43\.0\.1:443 dns4=ip\(0ms\) dns6=skip tcp4=ok\(\d+ms\) tcp6=skip "
                     r"tls=ok\(\d+ms\) endpoint=192\.0\.2\.10:6443 tcp=ok\(\d+ms\) tls=ok\(\d+ms\) -- ", line), line
    assert result["code"] == 0
    # The node's other ports stay closed, the kubelet's above all; the API port is open.
    assert result["connects"] == {f"{ENDPOINT}:10250": "refused", f"{ENDPOINT}:22": "refused",
                                  f"{ENDPOINT}:6443": "ok", f"{OTHER_SERVER}:6443": "refused"}


@pytest.mark.parametrize(("action", "state", "failure"), [
    ("reject with icmp type port-unreachable", "refused", "refused"),  # kube-router's REJECT
    ("drop", "timeout", "unreachable"),                                   # a CNI that drops
])
def test_the_service_rule_alone_stops_the_pod_naming_the_post_dnat_cause(
        tmp_path: Path, api_certs: dict[str, str], action: str, state: str, failure: str) -> None:
    run = _render([f"{ENDPOINT}:6443"])
    result = _run(tmp_path, api_certs, run, _policies(run, old_rule=True), action=action)
    line = _line(result)
    assert line.startswith(f"preflight: [FAIL {failure} enforced] kubernetes 10.43.0.1:443 "), line
    assert re.search(rf"tcp4={state}\(\d+ms \w+\) .*endpoint=192\.0\.2\.10:6443 tcp={state}\(", line), line
    assert ("post-DNAT: 10.43.0.1:443 is translated by kube-proxy to the API server's endpoints (192.0.2.10:6443), "
            "and a NetworkPolicy enforced after DNAT (k3s: kube-router) judges those, not the Service address") in line
    assert f"allow them in egress ({KEY})" in line
    assert result["stdout"].splitlines()[-1].endswith(
        f"kubernetes 10.43.0.1:443 {failure}: exit 1 (openclaw:preflight.failOn)")
    assert result["code"] == 1


def test_a_cni_that_judges_before_dnat_passes_the_service_rule(tmp_path: Path, api_certs: dict[str, str]) -> None:
    """The same old rule enforced before DNAT lets the Service address through; the direct endpoint
    check still shows the gap (degraded, not failed)."""
    run = _render([f"{ENDPOINT}:6443"])
    result = _run(tmp_path, api_certs, run, _policies(run, old_rule=True), post_dnat=False)
    line = _line(result)
    assert line.startswith("preflight: [DEGRADED] kubernetes 10.43.0.1:443 "), line
    assert re.search(r"tcp4=ok\(\d+ms\) tcp6=skip tls=ok\(\d+ms\) endpoint=192\.0\.2\.10:6443 tcp=refused\(", line)
    assert f"endpoint 192.0.2.10:6443 refused of {KEY} failed while 10.43.0.1:443 answered" in line
    assert result["code"] == 0


def test_a_stale_endpoint_list_is_named(tmp_path: Path, api_certs: dict[str, str]) -> None:
    """The config lists another server than the one kube-proxy translates to: the listed endpoint
    answers, the Service address is rejected after DNAT."""
    run = _render([f"{OTHER_SERVER}:6443"])
    result = _run(tmp_path, api_certs, run, _policies(run), dnat_to=ENDPOINT)
    line = _line(result)
    assert line.startswith("preflight: [FAIL refused enforced] kubernetes 10.43.0.1:443 "), line
    assert re.search(r"endpoint=192\.0\.2\.11:6443 tcp=ok\(\d+ms\) tls=ok\(", line), line
    assert (f"post-DNAT: the endpoints in {KEY} answer (192.0.2.11:6443) but 10.43.0.1:443 does not: kube-proxy "
            f"translates it to an endpoint missing from {KEY}") in line
    assert result["code"] == 1
