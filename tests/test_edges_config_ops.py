"""Edges of the operations config (components/config/ops.py) through the stack config's loading:
which failures of each dependency class stop the pod, by default and with a partial setting."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
DEFAULT = {"database": ["dns", "unreachable"], "kubernetes": ["dns", "refused", "unreachable"],
           "model": [], "telegram": []}


def _fail_on(preflight: dict[str, Any] | None = None) -> dict[str, list[str]]:
    raw: dict[str, Any] = {"gateway": ORIGIN}
    if preflight is not None:
        raw["preflight"] = preflight
    return dict(parse_config(raw).preflight.fail_on)


def test_the_default_stops_the_pod_only_on_in_cluster_misconfiguration() -> None:
    assert _fail_on() == DEFAULT
    assert _fail_on({}) == DEFAULT
    assert _fail_on({"failOn": {}}) == DEFAULT


@pytest.mark.parametrize("name", sorted(DEFAULT))
def test_a_partial_setting_keeps_the_defaults_of_every_other_class(name: str) -> None:
    assert _fail_on({"failOn": {name: ["tls"]}}) == {**DEFAULT, name: ["tls"]}


def test_a_setting_is_sorted_and_each_kind_counted_once() -> None:
    assert _fail_on({"failOn": {"model": ["unreachable", "dns", "unreachable", "tls"]}})["model"] == [
        "dns", "tls", "unreachable"]


def test_a_class_can_stop_on_nothing() -> None:
    assert _fail_on({"failOn": {"kubernetes": []}}) == {**DEFAULT, "kubernetes": []}


@pytest.mark.parametrize(("raw", "key", "allowed"), [
    ({"failOn": {"redis": ["dns"]}}, "openclaw:preflight.failOn.redis",
     "'database', 'kubernetes', 'model' or 'telegram'"),
    ({"failOn": {"model": ["timeout"]}}, "openclaw:preflight.failOn.model[0]",
     "'dns', 'unreachable', 'refused' or 'tls'"),
])
def test_an_unknown_class_or_kind_names_its_key(raw: dict[str, Any], key: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, "preflight": raw})
    (line,) = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - {key}")]
    assert f"Input should be {allowed}" in line
