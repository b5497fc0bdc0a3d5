"""What the engine records of each registration, emulated where the mocks fall short: the provider
Check's auto-naming of Kubernetes objects (`<logical name>-<8 hex>`, deterministic here), the
resource options of the registration request (`Mocks.new_resource` never sees them), and the path
of every value that arrives as a Pulumi secret. Invokes go to the run's handlers, each recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from engine.records import ResourceOptionsRecord, ResourceRecord
from engine.vault_mocks import HarnessError, InvokeHandler

_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig


def _unwrap(value: Any, path: str, secrets: list[str]) -> Any:
    """Plain values from the wire form; secrets unwrapped and their paths noted."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            secrets.append(path)
            return _unwrap(value.get("value"), path, secrets)
        if sig == _RESOURCE_SIG:
            return value.get("urn", "")
        return {k: _unwrap(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


def _auto_name(logical: str) -> str:
    return f"{logical}-{hashlib.sha256(logical.encode()).hexdigest()[:8]}"


def _checked_inputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The provider Check's effect that matters here: auto-naming of Kubernetes objects."""
    if not type_.startswith("kubernetes:") or "kind" not in inputs:
        return inputs
    metadata = dict(inputs.get("metadata") or {})
    if not metadata.get("name"):
        metadata["name"] = _auto_name(name)
    return {**inputs, "metadata": metadata}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, invokes: Mapping[str, InvokeHandler]) -> None:
        self._invokes = dict(invokes)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = _checked_inputs(args.typ, args.name, dict(args.inputs))
        metadata = state.get("metadata") or {}
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-id", state
        if metadata.get("name"):
            ns = metadata.get("namespace")
            return (f"{ns}/{metadata['name']}" if ns else str(metadata["name"])), state
        return args.resource_id or f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append((args.token, dict(args.args)))
        handler = self._invokes.get(args.token)
        if handler is None:
            raise HarnessError(f"the program called {args.token}, which this run does not mock")
        return handler(dict(args.args)), []  # the SDK iterates the failures: never None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, plus a record of each registration as the engine receives it."""

    def __init__(self, mocks: RecordingMocks, on_record: Callable[[ResourceRecord], None] | None = None) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []
        self._on_record = on_record

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        secrets: list[str] = []
        raw = json_format.MessageToDict(request.object)
        inputs = _unwrap(raw, "", secrets)
        record = ResourceRecord(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            properties=_checked_inputs(request.type, request.name, inputs),
            parent=request.parent,
            provider=request.provider,
            dependencies=tuple(request.dependencies),
            options=ResourceOptionsRecord(
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=tuple(request.ignoreChanges),
                replace_on_changes=tuple(request.replaceOnChanges),
                aliases=tuple(a.urn or a.spec.name for a in request.aliases),
                import_id=request.importId,
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
            ),
            secret_paths=tuple(secrets),
        )
        self.records.append(record)
        if self._on_record is not None:
            self._on_record(record)
        return response
