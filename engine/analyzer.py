"""Drive the policy pack as the Pulumi CLI does: start `python policy/__main__.py`, read the port
it prints, and speak the Analyzer gRPC protocol (GetAnalyzerInfo, Configure, Analyze per
resource, AnalyzeStack once).

Like the CLI, the client fills each policy's config with the defaults of its config schema,
overlays the stack's policy config file (`policy/config.<stack>.json`, the file given to
`--policy-pack-config`) and validates the result against the schema before `Configure`.

What the engine sends, value by value and in which shape: engine/marshal.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from engine.marshal import SHAPES, engine_properties, planned_outputs, provider_record, provider_records
from engine.policy_report import CANT_RUN, Diagnostic, blocking, mandatory, shapes_report, skipped, verdict_table
from engine.records import ResourceRecord

__all__ = ["CANT_RUN", "SHAPES", "Diagnostic", "PolicyAnalyzer", "PolicyConfigError", "blocking", "load_policy_config",
           "mandatory", "shapes_report", "skipped", "verdict_table"]

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
          "disabled": analyzer_pb2.DISABLED, "remediate": analyzer_pb2.REMEDIATE}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


class PolicyConfigError(ValueError):
    """The policy config names an unknown policy or breaks a policy's config schema."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    schema: dict[str, Any]


def load_policy_config(stack: str, policy_dir: Path = POLICY_DIR) -> dict[str, Any]:
    """`policy/config.<stack>.json`, or {} (the pack's defaults) when the stack has none."""
    path = policy_dir / f"config.{stack}.json"
    if not path.exists():
        return {}
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(f"{path.name}: not valid JSON ({exc})") from None
    return loaded


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(value))
    return struct


@dataclass(frozen=True)
class SentAnalyze:
    """An `Analyze` call under way: the resource, the provider resource sent with it, the gRPC future."""

    record: ResourceRecord
    provider: ResourceRecord | None
    future: Any  # grpc.Future of an AnalyzeResponse


class PolicyAnalyzer:
    """One running policy pack. Use as a context manager; analyse as many stacks as needed."""

    def __init__(self, policy_dir: Path = POLICY_DIR, python: str = sys.executable) -> None:
        self._process = subprocess.Popen([python, "__main__.py"], cwd=policy_dir, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self._process.kill()
            error = self._process.stderr.read() if self._process.stderr else ""
            raise RuntimeError(f"the policy pack did not start (printed {line!r}):\n{error}")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        info = self._stub.GetAnalyzerInfo(empty_pb2.Empty())
        self.name = info.name
        self.policies = {p.name: PolicyInfo(
            p.name, p.description, LEVEL_NAMES.get(p.enforcementLevel, "advisory"),
            json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {})
            for p in info.policies}
        self.levels: dict[str, str] = {}  # the configured level of each policy (after `configure`)
        self._validators: dict[str, Any] = {}
        self._structs: dict[str, tuple[ResourceRecord, struct_pb2.Struct]] = {}

    def _validator(self, name: str) -> Any:
        """The config validator of a policy, built (and its schema checked) once: checking the
        meta-schema on every `configure` cost a quarter of an analysis."""
        if name not in self._validators:
            schema = {"type": "object", "properties": self.policies[name].schema, "additionalProperties": False}
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self._validators[name] = cls(schema)
        return self._validators[name]

    def __enter__(self) -> PolicyAnalyzer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()
        self._process.kill()
        self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def configure(self, config: Mapping[str, Any]) -> None:
        """Send the pack's config as the CLI does: schema defaults, overlaid by `config`, validated."""
        unknown = sorted(set(config) - set(self.policies) - {"all"})
        if unknown:
            raise PolicyConfigError(f"policy config names unknown policies {unknown}; "
                                    f"known: {sorted(self.policies)}")
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        self.levels = {}
        self._structs.clear()  # a new analysis: its records are read afresh
        default_level = config.get("all")
        for name, policy in self.policies.items():
            entry = config.get(name, {})
            if isinstance(entry, str):
                entry = {"enforcementLevel": entry}
            entry = dict(entry)
            level = entry.pop("enforcementLevel", default_level or policy.level)
            if level not in LEVELS:
                raise PolicyConfigError(f"{name}.enforcementLevel: {level!r} is not one of {sorted(LEVELS)}")
            self.levels[name] = level
            properties = {k: v["default"] for k, v in policy.schema.items() if "default" in v} | entry
            try:
                self._validator(name).validate(properties)
            except jsonschema.ValidationError as exc:
                where = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
                raise PolicyConfigError(f"{name}.{where}: {exc.message}") from None
            request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVELS[level], properties=_struct(properties)))
        self._stub.Configure(request)

    def analyze_request(self, record: ResourceRecord,
                        providers: Mapping[str, ResourceRecord]) -> analyzer_pb2.AnalyzeRequest:
        """What the engine sends to `Analyze` for this resource: its inputs (the same in both shapes)."""
        return analyzer_pb2.AnalyzeRequest(
            type=record.type, properties=self._engine_struct(record), urn=record.urn, name=record.name,
            options=self._options(record), provider=self._provider(record, providers))

    def stack_request(self, records: Sequence[ResourceRecord], shape: str,
                      providers: Mapping[str, ResourceRecord]) -> analyzer_pb2.AnalyzeStackRequest:
        """What the engine sends to `AnalyzeStack`: every resource's outputs as planned in `shape`."""
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
        return analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
            type=r.type, properties=self._planned_struct(r, shape), urn=r.urn, name=r.name,
            options=self._options(r), provider=self._provider(r, providers), parent=r.parent,
            dependencies=list(r.dependencies))
            for r in records])

    def send_analyze(self, record: ResourceRecord, providers: Mapping[str, ResourceRecord]) -> SentAnalyze:
        """Start the `Analyze` call of one resource (configure first) without waiting for its answer."""
        provider = provider_record(record, providers)
        return SentAnalyze(record, provider, self._stub.Analyze.future(self.analyze_request(record, providers)))

    def analyze(self, records: Sequence[ResourceRecord], config: Mapping[str, Any] | None = None,
                shape: str = "up") -> list[Diagnostic]:
        """Every diagnostic for these resources in one shape: `Analyze` for each resource (its
        inputs), then `AnalyzeStack` (every resource's outputs as planned in `shape`)."""
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
        self.configure(config or {})
        providers = provider_records(records)
        diagnostics: list[Diagnostic] = []
        for record in records:
            response = self._stub.Analyze(self.analyze_request(record, providers))
            diagnostics += self._diagnostics(response.diagnostics, record.urn)
        stack = self._stub.AnalyzeStack(self.stack_request(records, shape, providers))
        return diagnostics + self._diagnostics(stack.diagnostics, "")

    def analyze_shapes(self, records: Sequence[ResourceRecord],
                       config: Mapping[str, Any] | None = None) -> dict[str, list[Diagnostic]]:
        """The verdict of both shapes: what `pulumi preview` and `pulumi up` would report."""
        self.configure(config or {})
        return self.shapes_verdicts(records, {})

    def shapes_verdicts(self, records: Sequence[ResourceRecord],
                        sent: Mapping[str, SentAnalyze]) -> dict[str, list[Diagnostic]]:
        """Both verdicts with the pack already configured, as `analyze(records, config, shape)` gives
        each. A resource's `Analyze` request is the same in both shapes (engine/marshal.py docstring; the
        pack's `Analyze` is a function of the request and the configuration, pulumi-policy
        policy.py `_PolicyAnalyzerServicer.Analyze`), so it is sent once and its diagnostics count in
        both; the two `AnalyzeStack` requests differ and are sent together. `sent`: `Analyze` calls
        already under way (URN -> send_analyze), as engine/policy_stream.py starts them while the
        program registers its resources; one sent for another record, or before its provider was
        known, is sent again."""
        return self.start_verdicts(records, sent)()

    def start_verdicts(self, records: Sequence[ResourceRecord],
                       sent: Mapping[str, SentAnalyze]) -> Callable[[], dict[str, list[Diagnostic]]]:
        """`shapes_verdicts` in two steps: send every call now, and return the function that waits
        for the answers and gives both verdicts, so the caller works while the pack does."""
        providers = provider_records(records)
        stacks = {shape: self._stub.AnalyzeStack.future(self.stack_request(records, shape, providers))
                  for shape in SHAPES}
        calls = []
        for record in records:
            early = sent.get(record.urn)
            fresh = early is not None and early.record is record and early.provider is provider_record(
                record, providers)
            calls.append(early if fresh and early is not None else self.send_analyze(record, providers))

        def collect() -> dict[str, list[Diagnostic]]:
            resources = [d for call in calls
                         for d in self._diagnostics(call.future.result().diagnostics, call.record.urn)]
            return {shape: resources + self._diagnostics(stacks[shape].result().diagnostics, "")
                    for shape in SHAPES}

        return collect

    @staticmethod
    def _options(record: ResourceRecord) -> analyzer_pb2.AnalyzerResourceOptions:
        o = record.options
        # Custom timeouts are always sent (zero when unset), as marshalResourceOptions does.
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=o.protect, ignoreChanges=list(o.ignore_changes), deleteBeforeReplace=o.delete_before_replace,
            deleteBeforeReplaceDefined=o.delete_before_replace,
            additionalSecretOutputs=list(o.additional_secret_outputs), aliases=list(o.aliases),
            customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(), parent=record.parent)

    def _engine_struct(self, record: ResourceRecord) -> struct_pb2.Struct:
        """`engine_properties(record)` as a Struct, made once per record: its Analyze request, the
        requests of the resources it is the provider of and both AnalyzeStack requests carry it."""
        cached = self._structs.get(record.urn)
        if cached is None or cached[0] is not record:
            # Without secrets the engine's properties are the record's own (no copy to wrap them in).
            cached = (record, _struct(engine_properties(record) if record.secret_paths else record.properties))
            self._structs[record.urn] = cached
        return cached[1]

    def _planned_struct(self, record: ResourceRecord, shape: str) -> struct_pb2.Struct:
        if record.type.startswith("vault:") and record.custom:  # planned_outputs adds fields to these only
            return _struct(planned_outputs(record, shape))
        return self._engine_struct(record)

    def _provider(self, record: ResourceRecord,
                  providers: Mapping[str, ResourceRecord]) -> analyzer_pb2.AnalyzerProviderResource | None:
        provider = provider_record(record, providers)
        if provider is None:
            return None
        # The provider's inputs, secrets wrapped (step_generator.go: `providerResource.Inputs`).
        return analyzer_pb2.AnalyzerProviderResource(
            type=provider.type, properties=self._engine_struct(provider), urn=provider.urn, name=provider.name)

    def _diagnostics(self, items: Iterable[analyzer_pb2.AnalyzeDiagnostic], urn: str) -> list[Diagnostic]:
        # The pack prefixes each message with the policy's description, as the CLI shows it; a
        # resource policy's diagnostic carries no URN: it belongs to the analysed resource.
        result = []
        for d in items:
            prefix = self.policies[d.policyName].description + "\n" if d.policyName in self.policies else ""
            message = d.message.removeprefix(prefix)
            result.append(Diagnostic(d.policyName, LEVEL_NAMES.get(d.enforcementLevel, "advisory"), message,
                                     d.urn or urn))
        return result
