"""Stack configuration: the dev file parses to FACTS.md values; bad input fails with one message."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config, quantity_mib
from engine.harness import run_stack, stack_config

ORIGIN = {"allowedOrigins": ["https://openclaw.teleport.lumie.example"]}


def test_dev_stack_config_reproduces_the_cluster_facts() -> None:
    config, secret_keys = stack_config("dev")
    assert secret_keys == []
    assert config["openclaw:namespace"] == "openclaw"
    cfg = parse_config({k.split(":", 1)[1]: _decode(v) for k, v in config.items() if k.startswith("openclaw:")})
    assert cfg.image.ref == "ghcr.io/openclaw/openclaw:2026.9.6"
    assert (cfg.storage.class_name, cfg.storage.size) == ("local-path-retain", "500Mi")
    assert cfg.sizing.heap_mib == 896 and cfg.sizing.derived
    assert cfg.database.url == ("postgresql://openclaw:$(OPENCLAW_DB_PASSWORD)"
                                "@infra-db-rw.infra-db.svc:5432/openclaw")
    assert cfg.models.model_refs == {"deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-pro"}


def _decode(text: str) -> Any:
    import json
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def test_heap_is_derived_from_the_memory_limit() -> None:
    cfg = parse_config({"gateway": ORIGIN, "resources": {"memory": "2Gi", "heapHeadroomMib": 512}})
    assert cfg.sizing.heap_mib == 2048 - 512
    assert quantity_mib("500Mi") == 500 and quantity_mib("1Gi") == 1024


def test_prod_pulls_by_tag_until_a_real_digest_is_pinned() -> None:
    config, _ = stack_config("prod")
    cfg = parse_config({k.split(":", 1)[1]: _decode(v) for k, v in config.items() if k.startswith("openclaw:")})
    # The all-zero placeholder is gone; the real digest cannot be read here (no registry access).
    assert cfg.image.digest is None
    assert cfg.image.ref == "ghcr.io/openclaw/openclaw:2026.2.23"


PLACEHOLDER_DIGESTS = ["0" * 64, "f" * 64, "A" * 64, "deadbeef" * 8, "ab" * 32, "0123456789abcdef" * 4]
# Just outside the rule: one digit changed in a repeated pattern, and a real-looking digest.
REAL_LOOKING = ["0" * 63 + "1", "deadbeef" * 7 + "deadbeee",
                "b6f5a3c9e0d1427f8a93c2e1d4b5f60718293a4b5c6d7e8f90a1b2c3d4e5f607"]


@pytest.mark.parametrize("digits", PLACEHOLDER_DIGESTS)
def test_placeholder_digest_is_refused(digits: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, "image": {"digest": f"sha256:{digits.lower()}"}})
    assert "openclaw:image.digest" in str(info.value) and "placeholder" in str(info.value)
    assert "crane digest" in str(info.value)


@pytest.mark.parametrize("digits", REAL_LOOKING)
def test_digest_just_outside_the_placeholder_rule_is_accepted(digits: str) -> None:
    cfg = parse_config({"gateway": ORIGIN, "image": {"digest": f"sha256:{digits}"}})
    assert cfg.image.ref.endswith(f"@sha256:{digits}")


BAD_INPUTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("empty namespace", {"namespace": ""}, "openclaw:namespace", "DNS label"),
    ("upper-case namespace", {"namespace": "OpenClaw"}, "openclaw:namespace", "DNS label"),
    ("bad CIDR", {"network": {"podCidr": "10.42.0.0/33"}}, "openclaw:network.podCidr", "IPv4 CIDR"),
    ("IPv6 CIDR", {"network": {"serviceCidr": "fd00::/64"}}, "openclaw:network.serviceCidr", "IPv4 CIDR"),
    ("API server outside service CIDR", {"network": {"apiServer": "10.42.0.1"}}, "openclaw:network",
     "not inside serviceCidr"),
    ("port out of range", {"gateway": {**ORIGIN, "port": 70000}}, "openclaw:gateway.port", "less than or equal"),
    ("privileged port", {"gateway": {**ORIGIN, "port": 80}}, "openclaw:gateway.port", "greater than or equal"),
    ("duplicate egress ports", {"network": {"egressPorts": [443, 443]}}, "openclaw:network.egressPorts",
     "duplicate ports [443]"),
    ("heap >= memory limit", {"resources": {"memory": "2Gi", "heapHeadroomMib": 0}},
     "openclaw:resources.heapHeadroomMib", "Node heap of 2048 MiB"),
    ("default heap above a small limit", {"resources": {"memory": "1100Mi"}}, "openclaw:resources.memory",
     "Node heap of 896 MiB"),
    ("memory not a quantity", {"resources": {"memory": "1 gigabyte"}}, "openclaw:resources.memory",
     "not a Kubernetes quantity"),
    ("storage class format", {"storage": {"className": "Local_Path"}}, "openclaw:storage.className",
     "StorageClass name"),
    ("image tag latest", {"image": {"tag": "latest"}}, "openclaw:image.tag", "pin a version"),
    ("bad digest", {"image": {"digest": "sha256:abc"}}, "openclaw:image.digest", "sha256:<64 hex"),
    ("unknown key", {"gatway": {}}, "openclaw:gatway", "unknown key"),
    ("no origins", {"gateway": {"allowedOrigins": []}}, "openclaw:gateway.allowedOrigins", "Teleport app origin"),
    ("origin with path", {"gateway": {"allowedOrigins": ["https://x.example/ui"]}},
     "openclaw:gateway.allowedOrigins", "no path"),
    ("unknown primary model", {"models": {"primary": "openai/gpt-x"}}, "openclaw:models", "not a configured model"),
    ("plain-http provider", {"models": {"primary": "p/m", "providers": {"p": {
        "baseUrl": "http://api.example.com", "apiKeyEnv": "P_KEY", "models": [{"id": "m", "name": "M"}]}}}},
     "openclaw:models.providers.p.baseUrl", "https://"),
    ("database host outside its namespace", {"database": {"host": "pg.other.svc"}}, "openclaw:database",
     "<service>.infra-db.svc"),
    ("bind value", {"gateway": {**ORIGIN, "bind": "0.0.0.0"}}, "openclaw:gateway.bind", "loopback"),
]


@pytest.mark.parametrize(("case", "raw", "key", "expected"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_the_key_and_the_fix(case: str, raw: dict[str, Any], key: str, expected: str) -> None:
    raw = {"gateway": ORIGIN, **raw}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    message = str(info.value)
    line = next((ln for ln in message.splitlines() if ln.startswith(f"  - {key}:")), None)
    assert line is not None, message
    assert expected in line, message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"namespace": "", "gateway": {"port": 1, "allowedOrigins": []},
                      "network": {"egressPorts": []}, "storage": {"size": "lots"}})
    message = str(info.value)
    assert message.startswith("invalid stack configuration (5 problem(s)):")
    for key in ("openclaw:namespace", "openclaw:gateway.port", "openclaw:gateway.allowedOrigins",
                "openclaw:network.egressPorts", "openclaw:storage.size"):
        assert f"  - {key}:" in message


def test_missing_required_key_says_where_to_set_it() -> None:
    with pytest.raises(ConfigError, match=r"openclaw:gateway: required key is missing: set it in Pulumi"):
        parse_config({})


def test_bad_stack_config_stops_the_program() -> None:
    with pytest.raises(ConfigError, match=r"openclaw:storage\.size"):
        run_stack("dev", overrides={"openclaw:storage": {"size": "big"}})


@pytest.mark.parametrize("headroom,ok", [(512, True), (511, False), (1792, True), (1793, False)])
def test_heap_leaves_a_quarter_of_the_limit(headroom: int, ok: bool) -> None:
    """Sizing (README): a quarter of the limit stays outside the heap (512 of 2048 MiB is the edge),
    and the heap is at least 256 MiB (2048 - 1792)."""
    resources = {"memory": "2Gi", "heapHeadroomMib": headroom}
    if ok:
        assert parse_config({"gateway": ORIGIN, "resources": resources}).sizing.heap_mib == 2048 - headroom
    else:
        with pytest.raises(ConfigError, match=r"openclaw:resources\.heapHeadroomMib: .*the heap must be at least 256"):
            parse_config({"gateway": ORIGIN, "resources": resources})
