"""What the harness records of each resource the program registers (the engine's view of it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceOptionsRecord:
    """The resource options the engine sees, as far as the analyzer and the tests care."""

    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    import_id: str = ""
    additional_secret_outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceRecord:
    """One registered resource: its inputs after the harness's emulation of the provider's Check."""

    type: str
    name: str
    urn: str
    custom: bool
    properties: dict[str, Any]
    parent: str = ""
    provider: str = ""  # provider reference "<urn>::<id>", "" for the default provider
    dependencies: tuple[str, ...] = ()
    options: ResourceOptionsRecord = field(default_factory=ResourceOptionsRecord)
    secret_paths: tuple[str, ...] = ()  # top-level property names whose value is a Pulumi secret
