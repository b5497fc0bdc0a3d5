"""Edges of the dependency list (components/dependencies.py): `dependencies.json` as the preflight and
the policy read it, every field of every entry (a key only when it has a value), the providers in
the order of their names with the port of their URL or 443, Telegram only while it is on, each API
server endpoint on its own, the preflight's timeout and failure kinds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import parse_config
from components.dependencies import Dependency, Endpoint, dependencies, render_dependencies

MODELS = [{"id": "m", "name": "M"}]
PROVIDERS = {"b": {"baseUrl": "https://b.example.test:8443/v1", "apiKeyEnv": "B_KEY", "models": MODELS},
             "a": {"baseUrl": "https://a.example.test", "apiKeyEnv": "A_KEY", "models": MODELS}}
ENDPOINTS = ["192.168.10.10:6443", "192.168.10.11:6444"]


def _config(**config: Any) -> Any:
    return parse_config({"gateway": {"allowedOrigins": ["https://ui.example.test"]},
                         "network": {"apiServerEndpoints": ENDPOINTS},
                         "models": {"primary": "b/m", "providers": PROVIDERS}, **config})


DATABASE: dict[str, Any] = {"kind": "database", "name": "DATABASE_URL (infra-db-rw.infra-db.svc:5432)",
                            "host": "infra-db-rw.infra-db.svc", "port": 5432, "tls": False}
KUBERNETES: dict[str, Any] = {
    "kind": "kubernetes", "name": "Kubernetes API (10.43.0.1:443)", "host": "10.43.0.1", "port": 443, "tls": True,
    "caFile": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    "endpoints": [{"host": "192.168.10.10", "port": 6443}, {"host": "192.168.10.11", "port": 6444}],
    "endpointsKey": "openclaw:network.apiServerEndpoints"}
MODEL_A = {"kind": "model", "name": "model provider 'a' (https://a.example.test)", "host": "a.example.test",
           "port": 443, "tls": True, "serverName": "a.example.test"}
MODEL_B = {"kind": "model", "name": "model provider 'b' (https://b.example.test:8443/v1)", "host": "b.example.test",
           "port": 8443, "tls": True, "serverName": "b.example.test"}
TELEGRAM = {"kind": "telegram", "name": "Telegram Bot API", "host": "api.telegram.org", "port": 443, "tls": True,
            "serverName": "api.telegram.org"}
FAIL_ON = {"database": ["dns", "unreachable"], "kubernetes": ["dns", "refused", "unreachable"], "model": [],
           "telegram": []}


def test_the_rendered_list_one_field_a_line_as_the_preview_diff_shows_it() -> None:
    doc = {"version": 1, "timeoutMs": 4000, "failOn": FAIL_ON,
           "dependencies": [DATABASE, KUBERNETES, MODEL_A, MODEL_B, TELEGRAM]}
    assert render_dependencies(_config(preflight={"timeoutMs": 4000})) == json.dumps(doc, indent=2) + "\n"


@pytest.mark.parametrize("telegram", [True, False])
def test_telegram_is_a_dependency_exactly_while_it_is_on(telegram: bool) -> None:
    doc = json.loads(render_dependencies(_config(telegram={"enabled": telegram})))
    assert doc["dependencies"] == [DATABASE, KUBERNETES, MODEL_A, MODEL_B, *([TELEGRAM] if telegram else [])]


def test_the_failure_kinds_are_listed_by_kind_in_order() -> None:
    cfg = _config(preflight={"failOn": {"telegram": ["tls", "dns"], "model": ["tls"]}})
    doc = json.loads(render_dependencies(cfg))
    assert list(doc["failOn"]) == ["database", "kubernetes", "model", "telegram"]
    assert doc["failOn"] == {**FAIL_ON, "model": ["tls"], "telegram": list(cfg.preflight.fail_on["telegram"])}
    assert doc["timeoutMs"] == cfg.preflight.timeout_ms


def test_each_entry_as_the_program_reads_it() -> None:
    (database, kubernetes, a, b, telegram) = dependencies(_config())
    assert database == Dependency("database", DATABASE["name"], "infra-db-rw.infra-db.svc", 5432, tls=False)
    assert kubernetes == Dependency("kubernetes", KUBERNETES["name"], "10.43.0.1", 443, tls=True,
                                    ca_file="/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                                    endpoints=(Endpoint("192.168.10.10", 6443), Endpoint("192.168.10.11", 6444)),
                                    endpoints_key="openclaw:network.apiServerEndpoints")
    assert (a.host, a.port, a.server_name, b.host, b.port, b.server_name) == (
        "a.example.test", 443, "a.example.test", "b.example.test", 8443, "b.example.test")
    assert telegram == Dependency("telegram", "Telegram Bot API", "api.telegram.org", 443, tls=True,
                                  server_name="api.telegram.org")
