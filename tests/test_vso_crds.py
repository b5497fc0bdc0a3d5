"""The rendered VaultAuth and VaultStaticSecret against the operator's own CRD schemas (engine/crds/;
the render validates against the same files: engine/schema.py).

The API server validates a custom resource against the CRD's `openAPIV3Schema` and, with
strict field validation (kubectl's and Server-Side Apply's default), refuses unknown fields:
`engine.schema.strict_schema` adds `additionalProperties: false` wherever the schema lists properties
and does not preserve unknown fields, so a typo in a field name fails here as it would on the cluster.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from engine.harness import RunResult, run_stack
from engine.schema import CRDS, crd_schema

VERSION = "v1beta1"


def _schema(kind: str) -> dict[str, Any]:
    schema = crd_schema(kind, f"secrets.hashicorp.com/{VERSION}")
    assert schema is not None, f"no CRD for {kind} in {CRDS}"
    return schema


def _objects(run: RunResult, kind: str) -> list[dict[str, Any]]:
    return [r.properties for r in run.kubernetes() if r.properties.get("kind") == kind]


def _errors(kind: str, obj: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema(kind))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


@pytest.mark.parametrize(("stack", "kind", "count"), [
    ("dev", "VaultAuth", 1), ("dev", "VaultStaticSecret", 2),
    ("prod", "VaultAuth", 1), ("prod", "VaultStaticSecret", 3),  # prod's backup has its own Secret
])
def test_rendered_custom_resources_match_the_operator_schema(stack: str, kind: str, count: int,
                                                             dev: RunResult, prod: RunResult) -> None:
    run = dev if stack == "dev" else prod
    objects = _objects(run, kind)
    assert len(objects) == count
    for obj in objects:
        assert obj["apiVersion"] == f"secrets.hashicorp.com/{VERSION}"
        assert _errors(kind, obj) == []


def test_a_connection_ref_is_valid_too() -> None:
    run = run_stack("dev", overrides={"openclaw:secrets": {"connectionRef": "vault-system/default"}})
    (auth,) = _objects(run, "VaultAuth")
    assert auth["spec"]["vaultConnectionRef"] == "vault-system/default"
    assert _errors("VaultAuth", auth) == []


@pytest.mark.parametrize("kind,path,value,expected", [
    # Just below the CRD minimum the operator's API server refuses the object.
    ("VaultAuth", ("spec", "kubernetes", "tokenExpirationSeconds"), 599, "less than the minimum of 600"),
    ("VaultAuth", ("spec", "method"), "kubernetess", "is not one of"),
    ("VaultAuth", ("spec", "kubernetes", "serviceAcount"), "openclaw", "Additional properties"),
    ("VaultStaticSecret", ("spec", "refreshAfter"), "5 minutes", "does not match"),
    ("VaultStaticSecret", ("spec", "type"), "kv-v3", "is not one of"),
    ("VaultStaticSecret", ("spec", "destination", "transformation", "excludeRaws"), True, "Additional properties"),
])
def test_the_schema_check_catches_a_bad_field(dev: RunResult, kind: str, path: tuple[str, ...], value: Any,
                                              expected: str) -> None:
    obj = copy.deepcopy(_objects(dev, kind)[0])
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = _errors(kind, obj)
    assert len(errors) == 1 and expected in errors[0], errors


def test_the_minimum_itself_is_accepted(dev: RunResult) -> None:
    (auth,) = _objects(dev, "VaultAuth")
    assert auth["spec"]["kubernetes"]["tokenExpirationSeconds"] == 600
