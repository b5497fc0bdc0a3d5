"""Shared pieces of the takeover tests: the known Argo CD objects, the takeover render, live JSON."""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

from tests.support import ssa
from tools import takeover
from tools.takeover_plan import load_inventory

NS = "openclaw"
INVENTORY = load_inventory()


@functools.cache
def takeover_render() -> list[dict[str, Any]]:
    """The dev stack's objects as the takeover `up` applies them (adoptExisting on); one run per session."""
    return takeover.rendered_objects("dev", None)


def old_object(kind: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in INVENTORY if o["kind"] == kind and o["metadata"]["name"] == name))


def new_object(rendered: Sequence[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in rendered if o["kind"] == kind and o["metadata"]["name"] == name)


def live_json(live: ssa.LiveObject, api_version: str, kind: str) -> dict[str, Any]:
    obj = live.object
    obj["metadata"]["managedFields"] = ssa.managed_fields(live, api_version)
    obj["metadata"]["resourceVersion"] = "41"
    obj["kind"], obj["apiVersion"] = kind, api_version
    return obj


def patched(live_json: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    result = copy.deepcopy(live_json)
    for op in patch:
        assert op["path"] in ("/metadata/resourceVersion", "/metadata/managedFields")
        if op["op"] == "test":
            assert result["metadata"]["resourceVersion"] == op["value"]
        else:
            result["metadata"]["managedFields"] = op["value"]
    return result
