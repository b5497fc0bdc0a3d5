"""The dependency preflight, run for real: node 22 (the image's) on components/scripts/preflight.mjs
inside a private network + mount namespace with its own hosts file (tests/preflight_net.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from components.config import parse_config
from components.dependencies import dependencies, render_dependencies
from components.preflight_step import PREFLIGHT_SCRIPT
from tools.toolchain import node_binary

ROOT = Path(__file__).resolve().parent.parent
HOSTS = """127.0.0.1 localhost
127.0.0.1 db.preflight.test api.preflight.test other.preflight.test closed.preflight.test dropped.preflight.test
fd00:5afe::1 v6.preflight.test
127.0.0.1 dual.preflight.test
2001:db8::1 dual.preflight.test
"""
BASE = {"allowedOrigins": ["https://openclaw.example.test"]}
NETWORK = {"apiServerEndpoints": ["192.168.10.10:6443"]}


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A test CA and a server certificate for api.preflight.test, signed by it (openssl)."""
    d = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=preflight test CA", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=api.preflight.test", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=DNS:api.preflight.test\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


def run_preflight(tmp_path: Path, certs: dict[str, str], deps: list[dict[str, Any]], listeners: list[str],
                  fail_on: dict[str, list[str]] | None = None, env: dict[str, str] | None = None,
                  timeout_ms: int = 2000, silent_dns: bool = False, network: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Run the script in a fresh namespace; `port` of a dependency may name a listener. `network`:
    addresses, routes, an nft ruleset and connects to try afterwards (tests/preflight_net.py).
    `timeout_ms` bounds each stage, the lookups too, which wait for the resolver process to start:
    the default leaves a loaded machine time for that (at 700 ms a test failed under load); only a
    dropped connect or an unanswered lookup takes it in full, and the tests of the timeout set theirs."""
    (tmp_path / "hosts").write_text(HOSTS, encoding="utf-8")
    # Nothing answers DNS inside the namespace: a name not in the hosts file fails fast (refused),
    # or, with silent_dns, the query is never answered (the resolver waits 5 s).
    (tmp_path / "resolv.conf").write_text(
        f"nameserver 127.0.0.1\noptions timeout:{5 if silent_dns else 1} attempts:1\n", encoding="utf-8")
    (tmp_path / "nsswitch.conf").write_text("hosts: files dns\n", encoding="utf-8")
    request = {"node": str(node_binary()), "script": str(PREFLIGHT_SCRIPT), "workdir": str(tmp_path),
               "certs": certs, "listeners": listeners, "env": env or {}, "silentDns": silent_dns,
               "document": {"version": 1, "timeoutMs": timeout_ms, "failOn": fail_on or {}, "dependencies": deps},
               **(network or {})}
    (tmp_path / "request.json").write_text(json.dumps(request), encoding="utf-8")
    binds = " && ".join(f"mount --bind {tmp_path / name} /etc/{name}" for name in ("hosts", "resolv.conf",
                                                                                      "nsswitch.conf"))
    done = subprocess.run(["unshare", "-rmn", "sh", "-c",
                           f"{binds} && exec {sys.executable} {ROOT / 'tests' / 'preflight_net.py'} "
                           f"{tmp_path / 'request.json'}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def lines(result: dict[str, Any]) -> dict[str, str]:
    """Dependency name -> its log line (the name ends the line, after ' -- ')."""
    found = {}
    for line in result["stdout"].splitlines():
        if line.startswith("preflight: [") and " -- " in line:
            found[line.split(" -- ")[1]] = line
    return found


def dep(name: str, host: str, port: str | int, kind: str = "model", tls: bool = False,
        **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "host": host, "port": port, "tls": tls, **extra}


def test_each_outcome_gets_its_line(tmp_path: Path, certs: dict[str, str]) -> None:
    deps = [
        dep("open", "db.preflight.test", "open", kind="database"),
        dep("tls", "api.preflight.test", "tls", tls=True, serverName="api.preflight.test", caFile=certs["ca"]),
        dep("tls-wrong-name", "other.preflight.test", "tls", tls=True, caFile=certs["ca"]),
        dep("tls-unknown-ca", "api.preflight.test", "tls", tls=True),
        dep("closed", "closed.preflight.test", "closed", kind="database"),
        dep("dropped", "dropped.preflight.test", "dropped", kind="database"),
        dep("missing", "missing.preflight.test", 443, kind="telegram", tls=True),
        dep("v6-only", "v6.preflight.test", "open6"),
        dep("aaaa-without-ipv6-route", "dual.preflight.test", "open", kind="telegram"),
    ]
    result = run_preflight(tmp_path, certs, deps, ["open", "open6", "tls", "closed", "dropped"])
    got = lines(result)
    assert set(got) == {d["name"] for d in deps}, result
    assert re.search(r"\[OK\] database db\.preflight\.test:\d+ dns4=ok\(\d+ms 127\.0\.0\.1\) "
                     r"dns6=none\(\d+ms \w+\) tcp4=ok\(\d+ms\) tcp6=skip tls=skip", got["open"])
    assert re.search(r"\[OK\] .* tcp4=ok\(\d+ms\) tcp6=skip tls=ok\(\d+ms\)", got["tls"])
    assert "[FAIL tls warn]" in got["tls-wrong-name"] and "ERR_TLS_CERT_ALTNAME_INVALID" in got["tls-wrong-name"]
    assert "[FAIL tls warn]" in got["tls-unknown-ca"] and "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in got["tls-unknown-ca"]
    assert re.search(r"\[FAIL refused warn\] .* tcp4=refused\(\d+ms ECONNREFUSED\)", got["closed"])
    assert re.search(r"\[FAIL unreachable warn\] .* tcp4=timeout\(\d+ms ETIMEDOUT\)", got["dropped"])
    assert "egress NetworkPolicy drops it" in got["dropped"]
    assert re.search(r"\[FAIL dns warn\] telegram missing\.preflight\.test:443 dns4=none\(\d+ms EAI_AGAIN\) "
                     r"dns6=none\(\d+ms EAI_AGAIN\) tcp4=skip tcp6=skip tls=skip", got["missing"])
    assert re.search(r"\[OK\] model v6\.preflight\.test:\d+ dns4=none\(\d+ms \w+\) "
                     r"dns6=ok\(\d+ms fd00:5afe::1\) tcp4=skip tcp6=ok\(\d+ms\)", got["v6-only"])
    # The known Telegram failure: AAAA answered, no IPv6 route; IPv4 works, so degraded, not failed.
    assert re.search(r"\[DEGRADED\] .* dns6=ok\(\d+ms 2001:db8::1\) tcp4=ok\(\d+ms\) "
                     r"tcp6=unreachable\(\d+ms ENETUNREACH\)", got["aaaa-without-ipv6-route"])
    assert "IPv6 answered in DNS but unreachable" in got["aaaa-without-ipv6-route"]
    summary = result["stdout"].splitlines()[-1]
    assert re.fullmatch(r"preflight: summary: 9 checked in \d+ms: 3 ok, 1 degraded, 5 failed \(warn\), "
                        r"0 failed \(enforced\): exit 0", summary), summary
    assert result["code"] == 0


@pytest.mark.parametrize(("kind", "host", "listener"), [
    ("dns", "missing.preflight.test", "open"),
    ("unreachable", "dropped.preflight.test", "dropped"),
    ("refused", "closed.preflight.test", "closed"),
    ("tls", "other.preflight.test", "tls"),
])
def test_each_failure_kind_stops_the_pod_only_when_enforced(tmp_path: Path, certs: dict[str, str], kind: str,
                                                           host: str, listener: str) -> None:
    others = [k for k in ("dns", "unreachable", "refused", "tls") if k != kind]
    deps = [dep("db", host, listener, kind="database", tls=kind == "tls", caFile=certs["ca"])]
    for fail_on, code in (({"database": others}, 0), ({"database": [kind]}, 1), ({"model": [kind]}, 0)):
        result = run_preflight(tmp_path, certs, deps, [listener], fail_on=fail_on)
        assert result["code"] == code, (fail_on, result)
        line = lines(result)["db"]
        assert f"[FAIL {kind} {'enforced' if code else 'warn'}]" in line
        if code:
            assert result["stdout"].splitlines()[-1].endswith(
                f"1 failed (enforced): database {host}:{result['ports'][listener]} {kind}: "
                "exit 1 (openclaw:preflight.failOn)")


def test_kubernetes_address_mismatch_is_named(tmp_path: Path, certs: dict[str, str]) -> None:
    deps = [dep("k8s", "127.0.0.1", "open", kind="kubernetes")]
    same = run_preflight(tmp_path, certs, deps, ["open"], env={"KUBERNETES_SERVICE_HOST": "127.0.0.1"})
    assert "[OK] kubernetes 127.0.0.1:" in lines(same)["k8s"] and "dns4=ip(0ms)" in lines(same)["k8s"]
    other = run_preflight(tmp_path, certs, deps, ["open"], env={"KUBERNETES_SERVICE_HOST": "10.43.0.2",
                                                                "KUBERNETES_SERVICE_PORT": "6443"})
    assert "[DEGRADED]" in lines(other)["k8s"]
    assert lines(other)["k8s"].endswith("-- k8s -- KUBERNETES_SERVICE_HOST is 10.43.0.2: network.apiServer differs; "
                                        "KUBERNETES_SERVICE_PORT is 6443: network.apiServerPort differs")


def test_missing_ca_file_still_checks_the_handshake(tmp_path: Path, certs: dict[str, str]) -> None:
    deps = [dep("k8s", "api.preflight.test", "tls", kind="kubernetes", tls=True, caFile="/nonexistent/ca.crt")]
    line = lines(run_preflight(tmp_path, certs, deps, ["tls"]))["k8s"]
    assert re.search(r"tls=ok\(\d+ms unverified: no /nonexistent/ca\.crt\)", line)


def _run_plain(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(node_binary()), str(PREFLIGHT_SCRIPT), path], capture_output=True, text=True,
                          timeout=30, check=False)


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    done = _run_plain(str(tmp_path / "absent.json"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"preflight: error: cannot read {tmp_path / 'absent.json'}: ")
    assert "mount the preflight ConfigMap, key dependencies.json" in done.stderr


def test_invalid_input_names_every_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "deps.json"
    bad.write_text(json.dumps({"version": 1, "failOn": {"database": ["slow"]}, "dependencies": [
        {"kind": "mail", "host": "x", "port": 25}, {"kind": "model", "host": "", "port": 70000}]}), encoding="utf-8")
    done = _run_plain(str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines()[1:] == [
        '  - dependencies[0].kind: expected one of database,kubernetes,model,telegram, got "mail"',
        "  - dependencies[1].host: expected a host name or address",
        "  - dependencies[1].port: expected 1-65535, got 70000",
        '  - failOn.database: unknown failure "slow" (expected dns,unreachable,refused,tls)',
    ]


def test_rendered_list_is_what_the_script_accepts(tmp_path: Path) -> None:
    """The program's own dependencies.json passes the script's input check (exit is 0 or 1, not 2)."""
    cfg = parse_config({"gateway": BASE, "network": NETWORK})
    path = tmp_path / "dependencies.json"
    doc = json.loads(render_dependencies(cfg))
    doc["timeoutMs"] = 100
    for entry in doc["dependencies"]:
        entry["host"], entry["port"] = "127.0.0.1", 9  # nothing listens: quick refusals, no network
        if "endpoints" in entry:  # the API server's endpoints too: this runs outside a namespace
            entry["endpoints"] = [{"host": "127.0.0.1", "port": 9} for _ in entry["endpoints"]]
    assert not [e for d in doc["dependencies"] for e in [d, *d.get("endpoints", [])] if e["host"] != "127.0.0.1"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = _run_plain(str(path))
    assert done.returncode in (0, 1), done.stderr
    assert len([x for x in done.stdout.splitlines() if x.startswith("preflight: [")]) == len(dependencies(cfg))


def test_the_dev_list_in_a_network_with_nothing_in_it(tmp_path: Path, certs: dict[str, str]) -> None:
    """The dev stack's own dependencies.json where nothing answers (no DNS, no route): within a
    second or two the log names each dependency, and the default failOn stops the pod for the
    in-cluster ones only."""
    cfg = parse_config({"gateway": BASE, "network": NETWORK})
    doc = json.loads(render_dependencies(cfg))
    result = run_preflight(tmp_path, certs, doc["dependencies"], [], fail_on=doc["failOn"], timeout_ms=1000)
    got = lines(result)
    assert got["DATABASE_URL (infra-db-rw.infra-db.svc:5432)"].startswith(
        "preflight: [FAIL dns enforced] database infra-db-rw.infra-db.svc:5432 dns4=none(")
    assert got["Kubernetes API (10.43.0.1:443)"].startswith(
        "preflight: [FAIL unreachable enforced] kubernetes 10.43.0.1:443 dns4=ip(0ms) dns6=skip "
        "tcp4=unreachable(")
    assert got["model provider 'deepseek' (https://api.deepseek.com/v1)"].startswith(
        "preflight: [FAIL dns warn] model api.deepseek.com:443")
    assert got["Telegram Bot API"].startswith("preflight: [FAIL dns warn] telegram api.telegram.org:443")
    summary = result["stdout"].splitlines()[-1]
    match = re.fullmatch(r"preflight: summary: 4 checked in (\d+)ms: 0 ok, 0 degraded, 2 failed \(warn\), "
                         r"2 failed \(enforced\): database infra-db-rw\.infra-db\.svc:5432 dns, "
                         r"kubernetes 10\.43\.0\.1:443 unreachable: exit 1 \(openclaw:preflight\.failOn\)", summary)
    assert match and int(match[1]) < 3000, summary
    assert result["code"] == 1


def test_unanswered_dns_is_a_timeout_not_a_hang(tmp_path: Path, certs: dict[str, str]) -> None:
    """DNS egress dropped: every lookup is cut at timeoutMs, 8 at once (more than libuv's default
    4 threads), and the script exits on time although the resolver would wait 5 s (the lookups run
    in a child process that is killed; node's own exit would wait for a blocked getaddrinfo)."""
    deps = [dep(f"db{i}", f"db{i}.cluster.test", 5432, kind="database") for i in range(4)]
    started = time.monotonic()
    result = run_preflight(tmp_path, certs, deps, [], fail_on={"database": ["dns"]}, timeout_ms=600,
                           silent_dns=True)
    assert time.monotonic() - started < 4
    for i in range(4):
        assert re.search(rf"\[FAIL dns enforced\] database db{i}\.cluster\.test:5432 dns4=timeout\(\d+ms\) "
                         r"dns6=timeout\(\d+ms\)", lines(result)[f"db{i}"]), result
    assert result["code"] == 1
