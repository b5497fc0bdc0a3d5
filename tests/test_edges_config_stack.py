"""Edges of the stack config as a whole (components/config/stack.py): how each problem's key is
spelled (nested, camelCase, list items), the ports that must meet or must not, each lock on its own,
and the count and lines of what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from engine.harness import run_stack
from tests.test_pre_upgrade_job import _stack_kubernetes

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
FIX = ("changing it replaces the PVC and loses every agent's state; migrate the data first "
       "(docs/takeover-runbook.md), then update openclaw:kubernetes.volumeLock")


def _message(**raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, **raw})
    return str(info.value)


def test_a_nested_camel_case_key_and_a_list_item_are_spelled_as_in_the_stack_file() -> None:
    assert _message(network={"egressPorts": [443, "https"]}) == (
        "invalid stack configuration (1 problem(s)):\n"
        "  - openclaw:network.egressPorts[1]: Input should be a valid integer, unable to parse string as an integer "
        "(got \"https\")")
    assert _message(gateway={"allowedOrigins": "https://ui.example.test"}).startswith(
        "invalid stack configuration (1 problem(s)):\n"
        "  - openclaw:gateway.allowedOrigins: Input should be a valid list")
    assert _message(backup={"retention": {"keepLast": 1}}) == (
        "invalid stack configuration (1 problem(s)):\n"
        "  - openclaw:backup.retention.keepLast: unknown key (a typo?): remove it or use one of the documented keys "
        "(got 1)")


def test_a_missing_key_says_where_to_set_it_without_a_value() -> None:
    with pytest.raises(ConfigError) as info:
        provider = {"baseUrl": "https://p.test", "models": [{"id": "m", "name": "M"}]}
        parse_config({"models": {"providers": {"p": provider},
                                 "primary": "p/m"}})
    assert str(info.value) == (
        "invalid stack configuration (2 problem(s)):\n"
        "  - openclaw:models.providers.p.apiKeyEnv: required key is missing: set it in Pulumi.<stack>.yaml\n"
        "  - openclaw:gateway: required key is missing: set it in Pulumi.<stack>.yaml")


def test_a_problem_of_the_whole_config_names_the_namespace() -> None:
    assert _message(network={"ingressPort": 18790}).startswith(
        "invalid stack configuration (1 problem(s)):\n"
        "  - openclaw: network.ingressPort 18790 differs from gateway.port "
        "18789: ingress must reach the gateway (got ")


@pytest.mark.parametrize(("raw", "ok"), [
    ({"network": {"ingressPort": 18789}}, True),
    ({"network": {"ingressPort": 18788}}, False),
    ({"gateway": {**ORIGIN, "port": 5432}}, False),
    ({"gateway": {**ORIGIN, "port": 5433}}, True),
    ({"gateway": {**ORIGIN, "port": 6432}, "database": {"port": 6432}}, False),
])
def test_the_gateway_port_meets_ingress_and_no_dependency(raw: dict[str, Any], ok: bool) -> None:
    if ok:
        parse_config({"gateway": ORIGIN, **raw})
    else:
        line = _message(**raw).splitlines()[1]
        assert line.startswith("  - openclaw: network.ingressPort") or line.startswith(
            f"  - openclaw: gateway.port {raw.get('gateway', {}).get('port')} collides with a dependency port (got ")


def test_the_state_dir_and_the_release() -> None:
    cfg = parse_config({"gateway": ORIGIN, "image": {"tag": "2026.6.35"}})
    assert cfg.state_dir == "/home/node/.openclaw"
    assert cfg.release.version == "2026.6.35" and cfg.sizing.memory == "1280Mi"


LOCK = {"storageClass": "local-path-retain", "size": "500Mi"}


def test_each_lock_that_holds_passes() -> None:
    parse_config({"gateway": ORIGIN, "namespace": "openclaw", "kubernetes": {
        "volumeLock": LOCK, "namespaceLock": "openclaw", "secretsModeLock": "operator", "releaseLock": "2026.2.23"}})


def test_a_new_storage_class_is_refused_with_the_way_out() -> None:
    assert _message(storage={"className": "longhorn"}, kubernetes={"volumeLock": LOCK}) == (
        "refusing a change that would replace live state (1):\n"
        "  - openclaw:storage.className: 'longhorn' differs from the live volume's 'local-path-retain' "
        f"(openclaw:kubernetes.volumeLock.storageClass): {FIX}")


def test_a_new_namespace_is_refused_with_the_way_out() -> None:
    assert _message(namespace="claw", kubernetes={"namespaceLock": "openclaw"}) == (
        "refusing a change that would replace live state (1):\n"
        "  - openclaw:namespace: 'claw' differs from the live namespace 'openclaw' "
        "(openclaw:kubernetes.namespaceLock): "
        "a new namespace means a new PVC and the old one orphaned; move the data first, then update the lock")


def test_every_lock_broken_at_once_is_listed_at_once() -> None:
    message = _message(namespace="claw", storage={"className": "longhorn", "size": "400Mi"},
                       image={"tag": "2026.6.35"},
                       kubernetes={"volumeLock": {**LOCK, "accessModes": ["ReadWriteMany"]},
                                   "namespaceLock": "openclaw",
                                   "secretsModeLock": "direct", "releaseLock": "2026.9.6"})
    lines = message.splitlines()
    assert lines[0] == "refusing a change that would replace live state (6):"
    assert [ln.split(":")[1] for ln in lines[1:]] == ["storage.className", "kubernetes.volumeLock.accessModes",
                                                     "storage.size", "namespace", "secrets.mode", "image.tag"]


def test_release_and_sizing_problems_come_before_the_locks() -> None:
    message = _message(image={"tag": "2026.9.7"}, namespace="claw", kubernetes={"namespaceLock": "openclaw"})
    assert message.splitlines()[0] == "invalid stack configuration (1 problem(s)):"
    both = _message(image={"tag": "2026.9.6"}, resources={"memory": "1200Mi", "heapHeadroomMib": 1000})
    assert both.splitlines()[0] == "invalid stack configuration (2 problem(s)):"


def test_the_stack_files_keys_reach_the_config_as_values_and_objects() -> None:
    """Pulumi hands the program every value as text: a scalar stays text, an object or list is JSON."""
    run = run_stack("dev", overrides={"openclaw:namespace": "claw", "openclaw:rollout": {"imagePullSeconds": 0},
                                      "openclaw:kubernetes": {**_stack_kubernetes("dev"), "namespaceLock": "claw"}})
    assert run.find("Namespace", "claw").properties["metadata"]["name"] == "claw"
    with pytest.raises(ConfigError, match=r"openclaw:rollout\.imagePullSeconds: Input should be less than or equal "
                                          r"to 3600 \(got 3601\)"):
        run_stack("dev", overrides={"openclaw:rollout": {"imagePullSeconds": 3601}})


# --- a key the user wrote is named as written (pydantic reports fields by their camelCase alias already) ----


def test_a_users_own_key_with_an_underscore_is_named_as_written() -> None:
    provider = {"baseUrl": "http://p.test", "apiKeyEnv": "P_KEY", "models": [{"id": "m", "name": "M"}]}
    assert _message(models={"primary": "my_p/m", "providers": {"my_p": provider}}).splitlines()[1] == (
        "  - openclaw:models.providers.my_p.baseUrl: must be an https:// URL such as https://api.deepseek.com/v1 "
        "(got \"http://p.test\")")


def test_an_unknown_snake_case_key_is_named_as_written() -> None:
    assert _message(gateway_port=18790).splitlines()[1] == (
        "  - openclaw:gateway_port: unknown key (a typo?): remove it or use one of the documented keys (got 18790)")
    assert _message(network={"egress_port": 443}).splitlines()[1].startswith("  - openclaw:network.egress_port: ")


def test_a_bad_key_of_a_map_is_named_by_itself() -> None:
    assert _message(preflight={"failOn": {"my_db": ["dns"]}}).splitlines()[1] == (
        "  - openclaw:preflight.failOn.my_db: Input should be 'database', 'kubernetes', 'model' or 'telegram' "
        "(got \"my_db\")")


@pytest.mark.parametrize(("mode", "lock"), [("direct", "operator"), ("operator", "direct")])
def test_a_secrets_mode_switch_with_adoption_loads(mode: str, lock: str) -> None:
    cfg = parse_config({"gateway": ORIGIN, "secrets": {"mode": mode},
                        "kubernetes": {"secretsModeLock": lock, "adoptExisting": True}})
    assert (cfg.secrets.mode, cfg.kubernetes.adopt_existing) == (mode, True)
    assert _message(secrets={"mode": mode}, kubernetes={"secretsModeLock": lock}).startswith(
        "refusing a change that would replace live state (1):\n  - openclaw:secrets.mode: ")


# --- what the program reads from the stack's config (load_config, as `pulumi up` runs it) --------------


def test_another_namespaces_keys_are_left_to_it() -> None:
    """`kubernetes:context` sorts before `openclaw:`: the openclaw keys after it are still read."""
    run = run_stack("dev", overrides={"kubernetes:context": "k3s", "aws:region": "eu-central-1",
                                      "openclaw:rollout": {"imagePullSeconds": 0}})
    assert run.find("Namespace", "openclaw").properties["metadata"]["name"] == "openclaw"


def test_a_nested_looking_key_of_ours_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigError) as info:
        run_stack("dev", overrides={"openclaw:gateway:port": 18790})
    assert "  - openclaw:gateway:port: unknown key (a typo?): remove it or use one of the documented keys (got " in str(
        info.value)


def test_an_object_value_may_start_with_blanks_and_a_list_is_read_as_one() -> None:
    run = run_stack("dev", overrides={"openclaw:rollout": ' \n {"imagePullSeconds": 0}'})
    assert run.find("Namespace", "openclaw") is not None
    with pytest.raises(ConfigError) as info:
        run_stack("dev", overrides={"openclaw:rollout": '[{"imagePullSeconds": 0}]'})
    assert "  - openclaw:rollout: Input should be a valid dictionary or instance of RolloutConfig " \
           "(got [{\"imagePullSeconds\": 0}])" in str(info.value)
