"""A model of Kubernetes server-side apply field ownership, enough to show what a takeover leaves.

The rules, from the Kubernetes docs (reference/using-api/server-side-apply: "Field management",
"Merge strategy", "Clearing managedFields", "Transferring ownership") and
structured-merge-diff:
- every field of an object is owned by one or more managers, each entry keyed by manager name and
  operation (`Apply` or `Update`; the same name with another operation is another manager);
- an apply sets the fields it names; a field another manager owns with a different value is a
  conflict unless forced, and forcing moves its ownership to the applier;
- a field the applier owned before and omits now is removed, unless another manager still owns it;
- lists with a merge key (containers, initContainers, volumes and env by `name`, volumeMounts by
  `mountPath`, ports) merge item by item; other lists, and structs or maps marked atomic
  (`LabelSelector`, a Service's `selector`), are one field replaced whole;
- an object without managedFields that is applied to gets all its fields attributed to the manager
  `before-first-apply` (operation Update) first.
Ownership sets convert to and from the `fieldsV1` form the API server stores, so the takeover's
patch (tools/takeover.py) is computed on real managedFields and checked here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Elem = tuple[str, Any]   # ("f", field name) or ("k", ((key, value), ...)) for a keyed list item
Path = tuple[Elem, ...]
Manager = tuple[str, str]  # (name, operation)

BEFORE_FIRST_APPLY: Manager = ("before-first-apply", "Update")

# Generic paths ("[]" marks a list item) -> merge keys; lists not listed are atomic.
_KEYED = {
    "spec.template.spec.containers": ("name",),
    "spec.template.spec.initContainers": ("name",),
    "spec.template.spec.volumes": ("name",),
    "spec.template.spec.containers[].env": ("name",),
    "spec.template.spec.initContainers[].env": ("name",),
    "spec.template.spec.containers[].volumeMounts": ("mountPath",),
    "spec.template.spec.initContainers[].volumeMounts": ("mountPath",),
    "spec.template.spec.containers[].ports": ("containerPort", "protocol"),
    "spec.ports": ("port", "protocol"),
}
# Structs and maps replaced whole (apimachinery `+structType=atomic` LabelSelector, core/v1
# ServiceSpec.Selector `+mapType=atomic`).
_ATOMIC = {"spec.selector", "spec.podSelector", "spec.template.spec.affinity"}


class ConflictError(Exception):
    """An apply touched fields another manager owns with another value, without force."""


def _generic(path: Path) -> str:
    parts: list[str] = []
    for kind, value in path:
        if kind == "f":
            parts.append(("." if parts else "") + value)
        else:
            parts.append("[]")
    return "".join(parts)


def _item_key(keys: tuple[str, ...], item: Mapping[str, Any]) -> Elem:
    return ("k", tuple(sorted((k, item.get(k, "TCP" if k == "protocol" else None)) for k in keys)))


def leaves(obj: Mapping[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """Every owned field of `obj`: leaf path -> value (atomic values whole; a keyed list item also
    owns its own path, valued None)."""
    out: dict[Path, Any] = {}
    for name, value in obj.items():
        path = (*prefix, ("f", name))
        generic = _generic(path)
        if generic in _ATOMIC or generic == "metadata.managedFields":
            if generic in _ATOMIC:
                out[path] = copy.deepcopy(value)
            continue
        if isinstance(value, dict) and value:
            out.update(leaves(value, path))
        elif isinstance(value, list) and generic in _KEYED and all(isinstance(i, dict) for i in value):
            for item in value:
                item_path = (*path, _item_key(_KEYED[generic], item))
                out[item_path] = None
                out.update(leaves(item, item_path))
        else:
            out[path] = copy.deepcopy(value)
    return out


def build(fields: Mapping[Path, Any]) -> dict[str, Any]:
    """The object those leaves describe (keyed list items in the order first seen)."""
    root: dict[str, Any] = {}
    for path, value in fields.items():
        node: Any = root
        for i, (kind, elem) in enumerate(path):
            last = i == len(path) - 1
            if kind == "f":
                nxt = path[i + 1] if not last else None
                if last:
                    if value is not None or elem not in node:
                        node[elem] = copy.deepcopy(value)
                else:
                    node = node.setdefault(elem, [] if nxt is not None and nxt[0] == "k" else {})
            else:
                match = next((it for it in node if all(it.get(k) == v or (k == "protocol" and v == "TCP"
                                                                           and k not in it) for k, v in elem)), None)
                if match is None:
                    match = {k: v for k, v in elem if not (k == "protocol" and v == "TCP")}
                    node.append(match)
                node = match
    return root


def _under(path: Path, top: Path) -> bool:
    return path[:len(top)] == top


@dataclass
class LiveObject:
    """An object in the API server: its fields and who owns which."""

    fields: dict[Path, Any]
    managed: dict[Manager, set[Path]] = field(default_factory=dict)

    @property
    def object(self) -> dict[str, Any]:
        return build(self.fields)

    def owners(self, path: Path) -> list[Manager]:
        return [m for m, owned in self.managed.items() if path in owned]


def create(obj: Mapping[str, Any], manager: Manager) -> LiveObject:
    """A create (or client-side apply's first create): the creator owns every field it sent."""
    fields = leaves(obj)
    return LiveObject(fields, {manager: set(fields)})


def update(live: LiveObject, obj: Mapping[str, Any], manager: Manager) -> LiveObject:
    """An Update (PUT/patch, client-side apply): the object becomes `obj`; the manager owns what it changed."""
    new = leaves(obj)
    managed = {m: {p for p in owned if p in new} for m, owned in live.managed.items()}
    changed = {p for p, v in new.items() if p not in live.fields or live.fields[p] != v}
    for owned in managed.values():
        owned -= changed
    managed.setdefault(manager, set()).update(changed)
    return LiveObject(new, {m: o for m, o in managed.items() if o})


def apply(live: LiveObject, config: Mapping[str, Any], manager: str, *, force: bool) -> LiveObject:
    """A server-side apply of `config` by `manager`."""
    me: Manager = (manager, "Apply")
    managed = {m: set(o) for m, o in live.managed.items()}
    if not managed:  # no managedFields (never tracked, or cleared): the server's first-apply rule
        managed = {BEFORE_FIRST_APPLY: set(live.fields)}
    applied = leaves(config)
    conflicts = {p for p, v in applied.items() if p in live.fields and live.fields[p] != v
                 and any(p in o for m, o in managed.items() if m != me)}
    if conflicts and not force:
        raise ConflictError(sorted(_generic(p) for p in conflicts))
    for m, owned in managed.items():
        if m != me:
            owned -= conflicts
    others = set().union(*(o for m, o in managed.items() if m != me))
    fields = dict(live.fields)
    for path in managed.get(me, set()) - set(applied):
        if path not in others:
            fields.pop(path, None)
    fields.update(applied)
    # A keyed item whose every field is gone goes too.
    for path in [p for p in fields if p[-1][0] == "k"]:
        if path not in applied and not any(p != path and _under(p, path) for p in fields) and path not in others:
            fields.pop(path)
    managed[me] = set(applied)
    return LiveObject(fields, {m: o & set(fields) for m, o in managed.items() if o & set(fields)})


# --- the API server's fieldsV1 form -----------------------------------------------------------

def _elem_text(elem: Elem) -> str:
    kind, value = elem
    if kind == "f":
        return f"f:{value}"
    return "k:" + json.dumps(dict(value), separators=(",", ":"), sort_keys=True)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The `fieldsV1` tree of a set of owned paths (a keyed item's own path is its "." entry)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for elem in path:
            node = node.setdefault(_elem_text(elem), {})
        if path and path[-1][0] == "k":
            node["."] = {}
    return tree


def from_fields_v1(tree: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    """Owned paths from a `fieldsV1` tree: its leaves, and keyed items marked "."."""
    paths: set[Path] = set()
    for text, sub in tree.items():
        if text == ".":
            paths.add(prefix)
            continue
        kind, _, rest = text.partition(":")
        elem: Elem = ("f", rest) if kind == "f" else ("k", tuple(sorted(json.loads(rest).items())))
        paths |= from_fields_v1(sub, (*prefix, elem)) if sub else {(*prefix, elem)}
    return paths


def managed_fields(live: LiveObject, api_version: str) -> list[dict[str, Any]]:
    """`metadata.managedFields` as the API server shows it."""
    return [{"manager": name, "operation": op, "apiVersion": api_version, "fieldsType": "FieldsV1",
             "fieldsV1": to_fields_v1(owned)} for (name, op), owned in sorted(live.managed.items())]


def from_managed_fields(fields: Mapping[Path, Any], entries: Iterable[Mapping[str, Any]]) -> LiveObject:
    """A LiveObject from an object's fields and its `metadata.managedFields` entries."""
    managed: dict[Manager, set[Path]] = {}
    for entry in entries:
        if not entry:
            continue
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        managed.setdefault((entry["manager"], entry["operation"]), set()).update(owned)
    return LiveObject(dict(fields), managed)
