"""The preflight's input, run for real (node 22 on components/scripts/preflight.mjs): where it reads
the dependency list from, every rule of the list at its edges (each message whole), and the
timeout it falls back to."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.preflight_step import PREFLIGHT_SCRIPT
from tools.toolchain import node_binary


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(node_binary()), str(PREFLIGHT_SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, check=False, env={"PATH": os.environ.get("PATH", ""), **(env or {})})


def _problems(tmp_path: Path, doc: Any) -> list[str]:
    """The problems the script lists for a document (exit 2, nothing on stdout)."""
    path = tmp_path / "deps.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = _run(str(path))
    assert done.returncode == 2 and done.stdout == "", done
    head, *problems = done.stderr.splitlines()
    assert head == f"preflight: error: {path} is invalid:", done.stderr
    return problems


def _checks(tmp_path: Path, doc: Any) -> subprocess.CompletedProcess[str]:
    """A document the script accepts: it checks it (exit 0 or 1) and logs each dependency."""
    path = tmp_path / "deps.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = _run(str(path))
    assert done.returncode in (0, 1) and done.stderr == "", done
    return done


def _doc(**fields: Any) -> dict[str, Any]:
    return {"version": 1, "timeoutMs": 200, "failOn": {}, "dependencies": [], **fields}


def _dep(**fields: Any) -> dict[str, Any]:
    # 127.0.0.1:9, where nothing listens: a quick refusal, no network needed
    return {"kind": "database", "name": "db", "host": "127.0.0.1", "port": 9, **fields}


def test_the_input_path_is_the_argument_then_the_environment_then_the_mount(tmp_path: Path) -> None:
    arg, env = tmp_path / "arg.json", tmp_path / "env.json"
    by_arg = _run(str(arg), env={"PREFLIGHT_DEPENDENCIES": str(env)})
    assert by_arg.stderr.startswith(f"preflight: error: cannot read {arg}: "), by_arg.stderr
    by_env = _run(env={"PREFLIGHT_DEPENDENCIES": str(env)})
    assert by_env.stderr.startswith(f"preflight: error: cannot read {env}: "), by_env.stderr
    default = _run()
    assert default.returncode == 2
    assert re.fullmatch(r"preflight: error: cannot read /preflight/dependencies\.json: ENOENT: [^\n]* "
                        r"\(mount the preflight ConfigMap, key dependencies\.json\)\n", default.stderr), default.stderr


def test_a_file_that_is_not_json_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "deps.json"
    path.write_text("{not json", encoding="utf-8")
    done = _run(str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"preflight: error: cannot read {path}: ")
    assert done.stderr.endswith(" (mount the preflight ConfigMap, key dependencies.json)\n")
    assert "JSON" in done.stderr


@pytest.mark.parametrize(("version", "ok"), [(1, True), (2, False), (0, False), ("1", False), (None, False)])
def test_only_version_1_is_read(tmp_path: Path, version: Any, ok: bool) -> None:
    doc = _doc(version=version) if version is not None else {k: v for k, v in _doc().items() if k != "version"}
    if ok:
        assert _checks(tmp_path, doc).stdout.startswith("preflight: summary: 0 checked")
    else:
        shown = "undefined" if version is None else json.dumps(version)
        assert _problems(tmp_path, doc) == [f"  - version: expected 1, got {shown}"]


@pytest.mark.parametrize("dependencies", [None, {"db": {}}, "db"])
def test_dependencies_must_be_a_list(tmp_path: Path, dependencies: Any) -> None:
    doc = _doc(dependencies=dependencies) if dependencies is not None else {"version": 1}
    assert _problems(tmp_path, doc) == ["  - dependencies: expected a list"]


@pytest.mark.parametrize("kind", ["database", "kubernetes", "model", "telegram"])
def test_each_kind_is_accepted(tmp_path: Path, kind: str) -> None:
    done = _checks(tmp_path, _doc(dependencies=[_dep(kind=kind)]))
    assert f"] {kind} 127.0.0.1:9 " in done.stdout


@pytest.mark.parametrize("kind", ["mail", "", None, "Database"])
def test_an_unknown_kind_is_named(tmp_path: Path, kind: Any) -> None:
    assert _problems(tmp_path, _doc(dependencies=[_dep(kind=kind)])) == [
        f"  - dependencies[0].kind: expected one of database,kubernetes,model,telegram, got {json.dumps(kind)}"]


@pytest.mark.parametrize("host", ["", None, 5])
def test_a_dependency_needs_a_host(tmp_path: Path, host: Any) -> None:
    assert _problems(tmp_path, _doc(dependencies=[_dep(host=host)])) == [
        "  - dependencies[0].host: expected a host name or address"]


@pytest.mark.parametrize(("port", "ok"), [(1, True), (65535, True), (0, False), (65536, False), (-1, False),
                                          (80.5, False), ("80", False), (None, False)])
def test_a_port_is_1_to_65535(tmp_path: Path, port: Any, ok: bool) -> None:
    doc = _doc(dependencies=[_dep(port=port)])
    if ok:
        assert f"] database 127.0.0.1:{port} " in _checks(tmp_path, doc).stdout
    else:
        assert _problems(tmp_path, doc) == [f"  - dependencies[0].port: expected 1-65535, got {json.dumps(port)}"]


def test_each_dependency_is_named_by_its_position(tmp_path: Path) -> None:
    doc = _doc(dependencies=[_dep(), _dep(port=0), _dep(), _dep(kind="x", host="")])
    assert _problems(tmp_path, doc) == [
        "  - dependencies[1].port: expected 1-65535, got 0",
        '  - dependencies[3].kind: expected one of database,kubernetes,model,telegram, got "x"',
        "  - dependencies[3].host: expected a host name or address",
    ]


@pytest.mark.parametrize("endpoints", [{"host": "10.0.0.1", "port": 6443}, "10.0.0.1:6443", None])
def test_endpoints_must_be_a_list(tmp_path: Path, endpoints: Any) -> None:
    assert _problems(tmp_path, _doc(dependencies=[_dep(endpoints=endpoints)])) == [
        "  - dependencies[0].endpoints: expected a list of {host, port}"]


@pytest.mark.parametrize(("host", "ok"), [("10.0.0.1", True), ("fd00::1", True), ("api.example.test", False),
                                          ("", False), (None, False)])
def test_an_endpoint_is_an_ip_address(tmp_path: Path, host: Any, ok: bool) -> None:
    doc = _doc(dependencies=[_dep(endpoints=[{"host": "127.0.0.1", "port": 9}, {"host": host, "port": 9}])])
    if ok:
        assert f" endpoint={host}:9 tcp=" in _checks(tmp_path, doc).stdout
    else:
        assert _problems(tmp_path, doc) == [
            f"  - dependencies[0].endpoints[1].host: expected an IP address, got {json.dumps(host)}"]


@pytest.mark.parametrize(("port", "ok"), [(1, True), (65535, True), (0, False), (65536, False), (6443.5, False),
                                          ("6443", False)])
def test_an_endpoint_port_is_1_to_65535(tmp_path: Path, port: Any, ok: bool) -> None:
    doc = _doc(dependencies=[_dep(endpoints=[{"host": "127.0.0.1", "port": 9}, {"host": "127.0.0.1", "port": port}])])
    if ok:
        assert f" endpoint=127.0.0.1:{port} tcp=" in _checks(tmp_path, doc).stdout
    else:
        assert _problems(tmp_path, doc) == [
            f"  - dependencies[0].endpoints[1].port: expected 1-65535, got {json.dumps(port)}"]


@pytest.mark.parametrize(("entry", "shown"), [(None, "null"), ("10.0.0.1", "undefined"), (6443, "undefined")])
def test_an_endpoint_that_is_not_an_object_names_both_fields(tmp_path: Path, entry: Any, shown: str) -> None:
    assert _problems(tmp_path, _doc(dependencies=[_dep(endpoints=[entry])])) == [
        f"  - dependencies[0].endpoints[0].host: expected an IP address, got {shown}",
        f"  - dependencies[0].endpoints[0].port: expected 1-65535, got {shown}",
    ]


@pytest.mark.parametrize("kind", ["dns", "unreachable", "refused", "tls"])
def test_each_failure_kind_may_be_enforced(tmp_path: Path, kind: str) -> None:
    done = _checks(tmp_path, _doc(failOn={"database": [kind]}, dependencies=[_dep()]))
    assert done.returncode == (1 if kind == "refused" else 0), done.stdout


def test_every_unknown_failure_kind_is_named_with_its_class(tmp_path: Path) -> None:
    doc = _doc(failOn={"database": ["dns", "slow"], "model": ["timeout", "tls"]})
    assert _problems(tmp_path, doc) == [
        '  - failOn.database: unknown failure "slow" (expected dns,unreachable,refused,tls)',
        '  - failOn.model: unknown failure "timeout" (expected dns,unreachable,refused,tls)',
    ]


def test_every_problem_at_once(tmp_path: Path) -> None:
    doc = {"version": 3, "failOn": {"telegram": ["x"]}, "dependencies": [
        _dep(kind="k", port=0, endpoints=[{"host": "h", "port": 70000}])]}
    assert _problems(tmp_path, doc) == [
        "  - version: expected 1, got 3",
        '  - dependencies[0].kind: expected one of database,kubernetes,model,telegram, got "k"',
        "  - dependencies[0].port: expected 1-65535, got 0",
        '  - dependencies[0].endpoints[0].host: expected an IP address, got "h"',
        "  - dependencies[0].endpoints[0].port: expected 1-65535, got 70000",
        '  - failOn.telegram: unknown failure "x" (expected dns,unreachable,refused,tls)',
    ]


def test_a_document_without_failon_enforces_nothing(tmp_path: Path) -> None:
    doc = {k: v for k, v in _doc(dependencies=[_dep()]).items() if k != "failOn"}
    done = _checks(tmp_path, doc)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].endswith("1 failed (warn), 0 failed (enforced): exit 0")


@pytest.mark.parametrize("entry", [None, "db", 5, ["db"]])
def test_a_dependency_that_is_not_an_object_is_named(tmp_path: Path, entry: Any) -> None:
    assert _problems(tmp_path, _doc(dependencies=[_dep(), entry])) == [
        f"  - dependencies[1]: expected an object, got {json.dumps(entry)}"]


@pytest.mark.parametrize("key", ["name", "serverName", "caFile", "endpointsKey"])
@pytest.mark.parametrize("value", [5, "", None, ["x"]])
def test_an_optional_text_field_of_another_type_is_named(tmp_path: Path, key: str, value: Any) -> None:
    """Found by mutation testing: a serverName of another type reached tls.connect and the script
    stopped with a TypeError's stack trace, no line for any dependency."""
    assert _problems(tmp_path, _doc(dependencies=[_dep(tls=True, **{key: value})])) == [
        f"  - dependencies[0].{key}: expected a non-empty string, got {json.dumps(value)}"]


@pytest.mark.parametrize("key", ["name", "serverName", "caFile", "endpointsKey"])
def test_an_optional_text_field_is_accepted(tmp_path: Path, key: str) -> None:
    assert _checks(tmp_path, _doc(dependencies=[_dep(tls=True, **{key: "x"})])).returncode == 0


@pytest.mark.parametrize(("tls", "ok"), [(True, True), (False, True), ("yes", False), (1, False), (None, False)])
def test_tls_is_true_or_false(tmp_path: Path, tls: Any, ok: bool) -> None:
    doc = _doc(dependencies=[_dep(tls=tls)])
    if ok:
        assert _checks(tmp_path, doc).returncode == 0
    else:
        assert _problems(tmp_path, doc) == [f"  - dependencies[0].tls: expected true or false, got {json.dumps(tls)}"]
