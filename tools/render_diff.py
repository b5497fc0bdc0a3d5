"""Compare two offline renders object by object, as a short markdown report for a pull request.

Objects are matched by kind, namespace and name, except content-addressed ConfigMaps
(`<base>-<10 hex>`), which are matched by their base: a new hash is the same ConfigMap replaced.
Secret values never appear: the render masks them, and Secret `data`/`stringData` are hidden here
as well. A ConfigMap's `binaryData` (the pinned plugin tarballs) is shown as its size and npm-style
sha512 integrity, which the pin in components/releases.py names. Each changed object gets notes
when the change replaces the object rather than updating it, or restarts the pod.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from components.pre_upgrade import SNAPSHOT_OF_ANNOTATION, UPGRADE_TO_ANNOTATION
from engine.yaml_text import from_yaml, to_yaml

_HASHED = re.compile(r"^(?P<base>.+)-(?P<hash>[0-9a-f]{10})$")
HIDDEN = "[hidden]"
FOLDERS = ("kubernetes", "other")  # the render's object folders (tools/render.py), in reading order


class RenderedFile(Protocol):
    """A file a render wrote: where, the document dumped into it, and the text written."""

    @property
    def path(self) -> Path: ...
    @property
    def document(self) -> Any: ...
    @property
    def text(self) -> str: ...

# Fields a change to which makes the API server refuse an update: the engine replaces the object.
REPLACING_FIELDS: dict[str, list[tuple[str, ...]]] = {
    "PersistentVolumeClaim": [("spec", "storageClassName"), ("spec", "accessModes"), ("spec", "selector"),
                              ("spec", "volumeName"), ("spec", "volumeMode")],
    "Deployment": [("spec", "selector")],
    "StatefulSet": [("spec", "selector"), ("spec", "volumeClaimTemplates")],
    "Service": [("spec", "clusterIP")],
    "Job": [("spec", "template")],
}


@dataclass(frozen=True)
class ObjectKey:
    kind: str
    namespace: str
    name: str  # for content-addressed ConfigMaps: the base name

    def label(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass
class RenderedObject:
    key: ObjectKey
    name: str  # the real name
    doc: dict[str, Any]
    text: str


@dataclass
class Change:
    key: ObjectKey
    old: RenderedObject
    new: RenderedObject
    notes: list[str] = field(default_factory=list)

    def unified(self) -> str:
        return "".join(difflib.unified_diff(self.old.text.splitlines(keepends=True),
                                            self.new.text.splitlines(keepends=True),
                                            fromfile=f"old/{self.old.name}", tofile=f"new/{self.new.name}"))


@dataclass
class RenderDiff:
    added: list[RenderedObject]
    removed: list[RenderedObject]
    changed: list[Change]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _hide_secret_data(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("kind") != "Secret":
        return doc
    shown = dict(doc)
    for key in ("data", "stringData"):
        if isinstance(shown.get(key), dict):
            shown[key] = {k: HIDDEN for k in shown[key]}
    return shown


def _summarize_binary(doc: dict[str, Any]) -> dict[str, Any]:
    """binaryData values as `<bytes> bytes, sha512-<base64>`: a diff line a reviewer can check."""
    if doc.get("kind") != "ConfigMap" or not isinstance(doc.get("binaryData"), dict):
        return doc
    shown = dict(doc)
    shown["binaryData"] = {}
    for key, value in doc["binaryData"].items():
        data = base64.b64decode(str(value))
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
        shown["binaryData"][key] = f"{len(data)} bytes, sha512-{digest}"
    return shown


def _object(folder: str, doc: Any, dumped: str | None = None) -> RenderedObject:
    """A rendered file's document as an object to compare, its text as this render writes it, so
    only content differences show, never formatting ones. `dumped`: `to_yaml(doc)`, when known."""
    if folder == "other":
        key = ObjectKey(str(doc.get("type")), "", str(doc.get("name")))
        return RenderedObject(key, key.name, doc, to_yaml(doc) if dumped is None else dumped)
    shown = _summarize_binary(_hide_secret_data(doc))
    meta = shown.get("metadata") or {}
    name = str(meta.get("name", ""))
    match = _HASHED.match(name)
    identity = match.group("base") if shown.get("kind") == "ConfigMap" and shown.get("immutable") and match else name
    key = ObjectKey(str(shown.get("kind")), str(meta.get("namespace", "")), identity)
    return RenderedObject(key, name, shown, dumped if dumped is not None and shown is doc else to_yaml(shown))


def _load(root: Path, known: Mapping[str, tuple[str, RenderedObject]] | None = None) -> dict[ObjectKey, RenderedObject]:
    """The objects of a render folder. `known`: objects already at hand by `<folder>/<file name>`,
    with their file's text: a file here of that name and text is that object, not parsed again."""
    objects: dict[ObjectKey, RenderedObject] = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            same = (known or {}).get(f"{folder}/{path.name}")
            rendered = same[1] if same is not None and same[0] == text else _object(folder, from_yaml(text))
            objects[rendered.key] = rendered
    return objects


def _written(files: Iterable[RenderedFile]) -> dict[str, tuple[str, RenderedObject]]:
    """The files a render just wrote, as objects, without reading them back: a file reads back as
    the document dumped into it (tests/test_render_paths.py), and its text is that dump."""
    return {f"{f.path.parent.name}/{f.path.name}": (f.text, _object(f.path.parent.name, f.document, f.text))
            for f in sorted(files, key=lambda f: (FOLDERS.index(f.path.parent.name), f.path.name))
            if f.path.parent.name in FOLDERS}


def _get(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _notes(old: RenderedObject, new: RenderedObject) -> list[str]:
    kind = new.key.kind
    notes = []
    if old.name != new.name:
        if kind == "ConfigMap":
            notes.append(f"replaced: new content, new name ({old.name} -> {new.name}); the old ConfigMap is "
                         "deleted once the Deployment points at the new one")
        else:
            notes.append(f"replaced: renamed ({old.name} -> {new.name})")
    elif kind == "ConfigMap" and new.doc.get("immutable") and old.doc.get("data") != new.doc.get("data"):
        notes.append("replaced: immutable ConfigMap content changed under the same name")
    for path in REPLACING_FIELDS.get(kind, []):
        if _get(old.doc, path) != _get(new.doc, path):
            notes.append(f"replaced: `{'.'.join(path)}` cannot change in place"
                         + ("; this deletes and recreates the volume claim" if kind == "PersistentVolumeClaim"
                            else ""))
    if kind == "Deployment" and _get(old.doc, ("spec", "template")) != _get(new.doc, ("spec", "template")):
        notes.append("restarts the pod: the pod template changed (strategy Recreate: the gateway is down "
                     "while the new pod starts)")
    return notes


def _added_note(added: RenderedObject) -> str:
    """What a reviewer must know about a new object: the pre-upgrade snapshot Job runs, once, before
    the Deployment changes (components/pre_upgrade.py)."""
    annotations = _get(added.doc, ("metadata", "annotations")) or {}
    old, new = annotations.get(SNAPSHOT_OF_ANNOTATION), annotations.get(UPGRADE_TO_ANNOTATION)
    if added.key.kind != "Job" or old is None:
        return ""
    return (f" - **pre-upgrade snapshot of {old} before the migration to {new}**: runs before the Deployment "
            "changes; if it fails, the `up` stops with the old pod still running")


def diff_renders(old_root: Path, new_root: Path, written: Iterable[RenderedFile] | None = None) -> RenderDiff:
    """Compare the renders in two folders. `written`: the files the new render just wrote (all of
    them), so they are not read back; an old file identical to one of them is not parsed either."""
    if written is None:
        new = _load(new_root)
        old = _load(old_root)
    else:
        known = _written(written)
        new = {}
        for _, rendered in known.values():
            new[rendered.key] = rendered
        old = _load(old_root, known)
    changed = [Change(k, old[k], new[k], _notes(old[k], new[k]))
               for k in sorted(old.keys() & new.keys(), key=lambda k: k.label()) if old[k].text != new[k].text]
    return RenderDiff(
        added=[new[k] for k in sorted(new.keys() - old.keys(), key=lambda k: k.label())],
        removed=[old[k] for k in sorted(old.keys() - new.keys(), key=lambda k: k.label())],
        changed=changed,
        unchanged=len(old.keys() & new.keys()) - len(changed),
    )


def to_markdown(diff: RenderDiff, title: str = "Render diff") -> str:
    lines = [f"## {title}", "",
             f"**{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed** "
             f"({diff.unchanged} unchanged)"]
    if diff.empty:
        return "\n".join([*lines, "", "No change to any rendered object."]) + "\n"
    if diff.added:
        lines += ["", "### Added", *(f"- {o.key.label()}" + (f" (`{o.name}`)" if o.name != o.key.name else "")
                                    + _added_note(o) for o in diff.added)]
    if diff.removed:
        lines += ["", "### Removed"]
        for o in diff.removed:
            warning = " - **deletes the namespace and everything in it**" if o.key.kind == "Namespace" else ""
            warning = " - **deletes the volume claim**" if o.key.kind == "PersistentVolumeClaim" else warning
            lines.append(f"- {o.key.label()}{warning}")
    if diff.changed:
        lines += ["", "### Changed"]
        for change in diff.changed:
            lines += ["", f"#### {change.key.label()}"]
            lines += [f"> {note}" for note in change.notes]
            lines += ["", "```diff", change.unified().rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"
