"""Edges of the config's shared types (components/config/base.py), through the stack config's public
loading: each quantity unit at the bound where a volume would shrink, and the whole message a user
reads for a value that is no quantity or no DNS label."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config, replacement_problems

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
LOCK = {"storageClass": "local-path-retain", "size": "1Gi"}


def _shrinks(size: str, locked: str) -> bool:
    """The preview refuses a size below the live volume's (openclaw:kubernetes.volumeLock.size)."""
    raw = {"gateway": ORIGIN, "storage": {"size": size}, "kubernetes": {"volumeLock": {**LOCK, "size": locked}}}
    try:
        cfg = parse_config(raw)
    except ConfigError as error:
        assert str(error) == ("refusing a change that would replace live state (1):\n"
                              f"  - openclaw:storage.size: {size} is smaller than the live volume's {locked} "
                              "(openclaw:kubernetes.volumeLock.size): a PVC cannot shrink")
        return True
    assert replacement_problems(cfg) == []
    return False


@pytest.mark.parametrize(("size", "locked"), [
    ("1073741824", "1Gi"),        # bytes
    ("1048576Ki", "1Gi"),
    ("1024Mi", "1Gi"),
    ("1Ti", "1024Gi"),
    ("1.5Gi", "1536Mi"),
    ("1048576k", "1000M"),        # 1000 x 1000 bytes
    ("1000M", "1G"),
    ("1000G", "1T"),
    ("1T", "931Gi"),              # 10^12 bytes, just above 931 x 2^30
])
def test_the_same_size_in_another_unit_does_not_shrink(size: str, locked: str) -> None:
    assert not _shrinks(size, locked)


@pytest.mark.parametrize(("size", "locked"), [
    ("1073741823", "1Gi"),
    ("1048575Ki", "1Gi"),
    ("1023Mi", "1Gi"),
    ("1023Gi", "1Ti"),
    ("1.4Gi", "1536Mi"),
    ("999999k", "1000M"),
    ("999M", "1G"),
    ("999G", "1T"),
    ("1T", "932Gi"),
    ("1G", "1Gi"),                # the decimal unit is smaller than the binary one
])
def test_one_step_below_the_live_volume_is_refused(size: str, locked: str) -> None:
    assert _shrinks(size, locked)


def _problem(raw: dict[str, Any], key: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, **raw})
    (line,) = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - {key}: ")]
    return line


@pytest.mark.parametrize("size", ["big", "1 Gi", "1GB", "1gi", "-1Gi", "1.Gi", ".5Gi", "1Gi "])
def test_a_size_that_is_no_quantity_names_the_key_and_the_form(size: str) -> None:
    assert _problem({"storage": {"size": size}}, "openclaw:storage.size") == (
        f"  - openclaw:storage.size: {size!r} is not a Kubernetes quantity such as 500Mi or 1Gi (got \"{size}\")")


@pytest.mark.parametrize("name", ["a", "a1", "a-b", "0" * 63, "x" * 62 + "9"])
def test_a_dns_label_at_its_bounds_is_accepted(name: str) -> None:
    assert parse_config({"gateway": ORIGIN, "namespace": name}).namespace == name


@pytest.mark.parametrize("name", ["", "a" * 64, "-a", "a-", "a_b", "A", "a.b"])
def test_a_name_that_is_no_dns_label_names_the_key_and_the_rule(name: str) -> None:
    assert _problem({"namespace": name}, "openclaw:namespace") == (
        "  - openclaw:namespace: must be a DNS label: lower-case letters, digits and '-', 1-63 characters "
        f"(got \"{name}\")")
