"""The rendered VaultAuth and VaultStaticSecret against the operator's own CRD schemas (tests/crds/).

The API server validates a custom resource against the CRD's `openAPIV3Schema` and, with
strict field validation (kubectl's and Server-Side Apply's default), refuses unknown fields:
`strict_schema` adds `additionalProperties: false` wherever the schema lists properties and does
not preserve unknown fields, so a typo in a field name fails here as it would on the cluster.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tools.harness import RunResult, run_stack

CRDS = Path(__file__).parent / "crds"
VERSION = "v1beta1"


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def crd_schema(kind: str) -> dict[str, Any]:
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        if crd["spec"]["names"]["kind"] == kind:
            (version,) = [v for v in crd["spec"]["versions"] if v["name"] == VERSION]
            assert version["served"] and version["storage"]
            return strict_schema(version["schema"]["openAPIV3Schema"])
    raise AssertionError(f"no CRD for {kind} in {CRDS}")


def _objects(run: RunResult, kind: str) -> list[dict[str, Any]]:
    return [r.properties for r in run.kubernetes() if r.properties.get("kind") == kind]


def _errors(kind: str, obj: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(crd_schema(kind))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("kind,count", [("VaultAuth", 1), ("VaultStaticSecret", 2)])
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
