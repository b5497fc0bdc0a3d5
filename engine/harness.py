"""Run the Pulumi program for a stack under Pulumi's mock runtime, as the engine would.

What the engine (or a provider's Check) would add and the mocks do not, the harness emulates
where it matters:
- config: `Pulumi.yaml` project defaults, then `Pulumi.<stack>.yaml`, as the CLI merges them;
- auto-naming: a Kubernetes object without `metadata.name` gets `<logical name>-<8 hex>`,
  deterministic here (random in the engine);
- resource options (protect, aliases, import, provider...) are recorded from the registration
  request, since `Mocks.new_resource` never sees them;
- secrets: every value that reaches a resource as a Pulumi secret is recorded by path, and the
  render masks it;
- the program's own reads of the cluster (components/cluster_reads.py) are answered by a fake
  cluster (engine/fake_cluster.py): by default the dev cluster's StorageClass and none of the
  program's objects.
The run is not a preview (`preview=False`): every `apply` runs, so checks inside them fire.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.cluster_reads import READER, ClusterReader
from engine.fake_cluster import FakeCluster
from engine.records import ResourceOptionsRecord, ResourceRecord
from engine.vault_mocks import (
    VAULT_GENERIC_READ,
    VAULT_ROLE_LOOKUP,
    HarnessError,
    InvokeHandler,
    no_vault_role,
    vault_policies,
    vault_role,
)
from engine.yaml_text import from_yaml

__all__ = ["REPO", "VAULT_GENERIC_READ", "VAULT_ROLE_LOOKUP", "HarnessError", "InvokeHandler", "RunResult",
           "StackOutput", "no_vault_role", "run_program", "run_stack", "stack_config", "vault_policies", "vault_role",
           "watching"]

REPO = Path(__file__).resolve().parent.parent
PROJECT = "openclaw"
SECRET_MASK = "[secret]"
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig

# What a run answers unless told otherwise: Vault holds none of the program's objects yet (the
# offline render cannot know better; a real preview asks Vault).
DEFAULT_INVOKES: dict[str, InvokeHandler] = {VAULT_ROLE_LOOKUP: no_vault_role, VAULT_GENERIC_READ: vault_policies({})}


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool


@dataclass
class RunResult:
    stack: str
    resources: list[ResourceRecord]
    outputs: dict[str, StackOutput]
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def by_type(self, type_: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_]

    def kubernetes(self) -> list[ResourceRecord]:
        return [r for r in self.resources if r.custom and r.type.startswith("kubernetes:")
                and not r.type.startswith("pulumi:providers:")]

    def find(self, kind: str, name: str) -> ResourceRecord:
        """The Kubernetes object of that kind and metadata.name; KeyError if none."""
        for r in self.kubernetes():
            if r.properties.get("kind") == kind and r.properties.get("metadata", {}).get("name") == name:
                return r
        raise KeyError(f"no {kind} named {name!r} among "
                       f"{sorted((r.properties.get('kind'), object_name(r)) for r in self.kubernetes())}")


def object_name(record: ResourceRecord) -> str:
    return str(record.properties.get("metadata", {}).get("name", ""))


# --- config -------------------------------------------------------------------------------------

def _config_text(value: Any) -> str:
    """Config values reach the program as strings; objects and lists as JSON, as the CLI does."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None,
                 root: Path = REPO) -> tuple[dict[str, str], list[str]]:
    """The merged config (`<namespace>:<key>` -> text) and the secret keys of a stack."""
    project = from_yaml((root / "Pulumi.yaml").read_text(encoding="utf-8"))  # safe_load, with libyaml
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise HarnessError(f"no stack file {stack_file.name}; stacks here: {', '.join(known)}")
    merged: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{project['name']}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            merged[full] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            merged[full] = decl["value"]
        elif not isinstance(decl, dict):
            merged[full] = decl
    merged.update((from_yaml(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {})
    merged.update(overrides or {})
    secret_keys: list[str] = []
    config: dict[str, str] = {}
    for key, value in merged.items():
        if value is None:  # an override of None removes the key
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Encrypted in the stack file; the harness has no key, and needs none.
            secret_keys.append(key)
            value = "fake-not-a-secret-0000"
        config[key] = _config_text(value)
    return config, secret_keys


# --- what the engine would record ---------------------------------------------------------------

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


class _Mocks(pulumi.runtime.Mocks):
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


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, plus a record of each registration as the engine receives it."""

    def __init__(self, mocks: _Mocks, on_record: Callable[[ResourceRecord], None] | None = None) -> None:
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


# --- running the program ------------------------------------------------------------------------

def _resolve(value: Any) -> StackOutput:
    output = pulumi.Output.from_input(value)
    return StackOutput(value=_sync_await(output.future()), secret=bool(_sync_await(output.is_secret())))


_WATCHERS: list[Callable[[ResourceRecord], None]] = []


@contextlib.contextmanager
def watching(on_record: Callable[[ResourceRecord], None]) -> Iterator[None]:
    """Within the block, every run hands each resource to `on_record` as it registers, as
    `run_stack(on_record=...)` does (the render's policy analysis, whoever runs its program)."""
    _WATCHERS.append(on_record)
    try:
        yield
    finally:
        _WATCHERS.remove(on_record)


def run_stack(stack: str = "dev", *, overrides: Mapping[str, Any] | None = None,
              invokes: Mapping[str, InvokeHandler] | None = None,
              root: Path = REPO, on_record: Callable[[ResourceRecord], None] | None = None,
              cluster: ClusterReader | None = None) -> RunResult:
    """Run `__main__.py` for `stack` under mocks; `overrides` replace config keys
    (`"openclaw:gateway": {...}`; None removes a key). Program errors propagate unchanged.
    `on_record` sees each resource as it registers (from the SDK's executor threads); `cluster`
    answers the program's reads of the cluster (default: `FakeCluster()`)."""
    config, secret_keys = stack_config(stack, overrides, root)

    def program() -> None:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        cwd = os.getcwd()
        os.chdir(root)  # the engine runs the program from the project directory
        try:
            runpy.run_path(str(root / "__main__.py"), run_name="__main__")
        finally:
            os.chdir(cwd)

    return run_program(program, stack=stack, config=config, secret_keys=secret_keys, invokes=invokes,
                       on_record=on_record, cluster=cluster)


def run_program(program: Callable[[], None], *, stack: str = "test", config: Mapping[str, str] | None = None,
                secret_keys: list[str] | None = None,
                invokes: Mapping[str, InvokeHandler] | None = None,
                on_record: Callable[[ResourceRecord], None] | None = None,
                cluster: ClusterReader | None = None) -> RunResult:
    """Run any program function under mocks (a component on its own, in the tests)."""
    # A fresh context: the SDK keeps its root resource and config in context variables.
    return contextvars.Context().run(_run, program, stack, dict(config or {}), list(secret_keys or []),
                                     dict(invokes or {}), on_record, cluster or FakeCluster())


def _run(program: Callable[[], None], stack: str, config: dict[str, str], secret_keys: list[str],
         invokes: dict[str, InvokeHandler], on_record: Callable[[ResourceRecord], None] | None,
         cluster: ClusterReader) -> RunResult:
    READER.set(cluster)  # this run's context only
    mocks = _Mocks({**DEFAULT_INVOKES, **invokes})
    monitor = _RecordingMonitor(mocks, on_record or (_WATCHERS[-1] if _WATCHERS else None))
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    _sync_await(run_pulumi_func(program))
    stack_resource = pulumi.runtime.settings.get_root_resource()
    exported = dict(getattr(stack_resource, "outputs", {}) or {})
    outputs = {name: _resolve(value) for name, value in exported.items()}
    return RunResult(stack=stack, resources=list(monitor.records), outputs=outputs,
                     invokes=list(mocks.calls))
