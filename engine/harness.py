"""Run the Pulumi program for a stack under Pulumi's mock runtime, as the engine would.

What the engine (or a provider's Check) would add and the mocks do not, the harness emulates
where it matters:
- config: `Pulumi.yaml` project defaults, then `Pulumi.<stack>.yaml`, as the CLI merges them
  (engine/stack_config.py);
- auto-naming: a Kubernetes object without `metadata.name` gets `<logical name>-<8 hex>`,
  deterministic here (random in the engine);
- resource options (protect, aliases, import, provider...) are recorded from the registration
  request, since `Mocks.new_resource` never sees them;
- secrets: every value that reaches a resource as a Pulumi secret is recorded by path, and the
  render masks it (auto-naming, options and secrets: engine/mocks.py);
- the program's own reads of the cluster (components/cluster_reads.py) are answered by a fake
  cluster (engine/fake_cluster.py): by default the dev cluster's StorageClass and none of the
  program's objects.
The run is not a preview (`preview=False`): every `apply` runs, so checks inside them fire.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.cluster_reads import READER, ClusterReader
from engine.fake_cluster import FakeCluster
from engine.mocks import RecordingMocks, RecordingMonitor
from engine.records import ResourceRecord
from engine.stack_config import REPO, stack_config
from engine.vault_mocks import (
    VAULT_GENERIC_READ,
    VAULT_ROLE_LOOKUP,
    HarnessError,
    InvokeHandler,
    no_vault_role,
    vault_policies,
    vault_role,
)

__all__ = ["REPO", "VAULT_GENERIC_READ", "VAULT_ROLE_LOOKUP", "HarnessError", "InvokeHandler", "RunResult",
           "StackOutput", "no_vault_role", "run_program", "run_stack", "stack_config", "vault_policies", "vault_role",
           "watching"]

PROJECT = "openclaw"
SECRET_MASK = "[secret]"

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
    mocks = RecordingMocks({**DEFAULT_INVOKES, **invokes})
    monitor = RecordingMonitor(mocks, on_record or (_WATCHERS[-1] if _WATCHERS else None))
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
