"""Shared pieces of the stack config model: the base model, the error type, quantities, names."""

from __future__ import annotations

import re
from typing import Annotated

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "openclaw"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?$")
_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
_IMAGE_REF = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_UNIT_MIB = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024,
             "k": 1000 / 1024 / 1024, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2,
             "T": 1000**4 / 1024**2}


class ConfigError(pulumi.RunError):
    """Bad stack configuration. A RunError, so the CLI prints the message without a traceback."""


def quantity_mib(quantity: str) -> float:
    """A Kubernetes memory/storage quantity in MiB (`1Gi` -> 1024)."""
    match = _QUANTITY.match(quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity such as 500Mi or 1Gi")
    unit = match.group("unit")
    number = float(match.group("num"))
    return number * _UNIT_MIB[unit] if unit else number / (1024 * 1024)


def _quantity(value: str) -> str:
    quantity_mib(value)
    return value


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError("must be a DNS label: lower-case letters, digits and '-', 1-63 characters")
    return value


Quantity = Annotated[str, AfterValidator(_quantity)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]


class Model(BaseModel):
    # camelCase in YAML, snake_case in Python; unknown keys are typos, so they are errors.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True)


