"""Drive the policy pack as the Pulumi CLI does: start `python policy/__main__.py`, read the port
it prints, and speak the Analyzer gRPC protocol (GetAnalyzerInfo, Configure, Analyze per
resource, AnalyzeStack once).

Like the CLI, the client fills each policy's config with the defaults of its config schema,
overlays the stack's policy config file (`policy/config.<stack>.json`, the file given to
`--policy-pack-config`) and validates the result against the schema before `Configure`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tools.records import ResourceRecord

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
          "disabled": analyzer_pb2.DISABLED, "remediate": analyzer_pb2.REMEDIATE}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


class PolicyConfigError(ValueError):
    """The policy config names an unknown policy or breaks a policy's config schema."""


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str  # advisory | mandatory
    message: str
    urn: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"


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
        default_level = config.get("all")
        for name, policy in self.policies.items():
            entry = config.get(name, {})
            if isinstance(entry, str):
                entry = {"enforcementLevel": entry}
            entry = dict(entry)
            level = entry.pop("enforcementLevel", default_level or policy.level)
            if level not in LEVELS:
                raise PolicyConfigError(f"{name}.enforcementLevel: {level!r} is not one of {sorted(LEVELS)}")
            properties = {k: v["default"] for k, v in policy.schema.items() if "default" in v} | entry
            try:
                jsonschema.validate(properties, {"type": "object", "properties": policy.schema,
                                                 "additionalProperties": False})
            except jsonschema.ValidationError as exc:
                where = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
                raise PolicyConfigError(f"{name}.{where}: {exc.message}") from None
            request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVELS[level], properties=_struct(properties)))
        self._stub.Configure(request)

    def analyze(self, records: Sequence[ResourceRecord], config: Mapping[str, Any] | None = None) -> list[Diagnostic]:
        """Every diagnostic for these resources: `Analyze` for each custom resource, then `AnalyzeStack`."""
        self.configure(config or {})
        custom = [r for r in records if r.custom and not r.type.startswith("pulumi:providers:")]
        providers = {r.urn: r for r in records if r.type.startswith("pulumi:providers:")}
        diagnostics: list[Diagnostic] = []
        for record in custom:
            response = self._stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=record.type, properties=_struct(record.properties), urn=record.urn, name=record.name,
                options=self._options(record), provider=self._provider(record, providers)))
            diagnostics += self._diagnostics(response.diagnostics, record.urn)
        stack = analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.properties), urn=r.urn, name=r.name, options=self._options(r),
            provider=self._provider(r, providers), parent=r.parent, dependencies=list(r.dependencies))
            for r in records])
        diagnostics += self._diagnostics(self._stub.AnalyzeStack(stack).diagnostics, "")
        return diagnostics

    @staticmethod
    def _options(record: ResourceRecord) -> analyzer_pb2.AnalyzerResourceOptions:
        o = record.options
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=o.protect, ignoreChanges=list(o.ignore_changes), deleteBeforeReplace=o.delete_before_replace,
            additionalSecretOutputs=list(o.additional_secret_outputs), aliases=list(o.aliases),
            parent=record.parent)

    @staticmethod
    def _provider(record: ResourceRecord,
                  providers: Mapping[str, ResourceRecord]) -> analyzer_pb2.AnalyzerProviderResource | None:
        provider = providers.get(record.provider.rsplit("::", 1)[0]) if record.provider else None
        if provider is None:
            return None
        return analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_struct(provider.properties),
                                                     urn=provider.urn, name=provider.name)

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


def mandatory(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.level == "mandatory"]


def verdict_table(diagnostics: Sequence[Diagnostic], policy_count: int) -> str:
    """A short report: one line per violation, then the verdict."""
    lines = [f"{d.level.upper():<9} {d.policy:<28} {d.resource}: {d.message}" for d in
             sorted(diagnostics, key=lambda d: (d.level != "mandatory", d.policy, d.resource))]
    blocking = len(mandatory(diagnostics))
    verdict = ("FAIL" if blocking else "PASS") + (
        f": {policy_count} policies, {blocking} mandatory and {len(diagnostics) - blocking} advisory violation(s)")
    return "\n".join([*lines, verdict])


