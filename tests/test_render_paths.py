"""The render's fast paths give the same answers as the slow ones they replace: the cached schema
validators as `kubernetes_validate.validate`, libyaml's emitter as PyYAML's Python one, the
analysis streamed while the program runs as a separate analysis of each shape, and the policy
server started early is the same pack, closed on every way out of the render."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from engine.analyzer import (
    SHAPES,
    Diagnostic,
    PolicyAnalyzer,
    PolicyConfigError,
    SentAnalyze,
    load_policy_config,
    mandatory,
)
from engine.harness import HarnessError, RunResult, run_stack
from engine.policy_stream import PolicyStream
from engine.records import ResourceRecord
from engine.schema import KUBERNETES_VERSION, crd_schema, validate_manifests
from engine.yaml_text import _Dumper, _Loader, _str, from_yaml, to_yaml
from tests.test_policy import drop, gateway, mutate
from tools import render
from tools.render import kubernetes_manifest
from tools.render_diff import diff_renders, to_markdown


class _PythonDumper(yaml.SafeDumper):
    pass


_PythonDumper.add_representer(str, _str)


def _library_verdict(manifest: dict[str, object]) -> str:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return "skipped"
    except kubernetes_validate.ValidationError as exc:
        return f"error: {'.'.join(str(p) for p in exc.path)}: {exc.message}"
    return "valid"


def _cached_verdict(manifest: dict[str, object]) -> str:
    report = validate_manifests([manifest])
    if report.skipped:
        return "skipped"
    if report.errors:
        return "error: " + report.errors[0].split(": ", 1)[1]
    return "valid"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cached_validators_agree_with_the_library_on_every_object(stack: str, dev: RunResult,
                                                                  prod: RunResult) -> None:
    run = dev if stack == "dev" else prod
    manifests = [kubernetes_manifest(r) for r in run.kubernetes()]
    broken = copy.deepcopy(next(m for m in manifests if m["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    unknown = copy.deepcopy(next(m for m in manifests if m["kind"] == "Service"))
    unknown["spec"]["clusterIPP"] = "None"
    for manifest in [*manifests, broken, unknown]:
        if _library_verdict(manifest) == "skipped":  # a custom resource: checked against its CRD instead
            assert crd_schema(str(manifest["kind"]), str(manifest["apiVersion"])) is not None
            assert _cached_verdict(manifest) == "valid"
            continue
        assert _cached_verdict(manifest) == _library_verdict(manifest), manifest["metadata"]
    assert _cached_verdict(broken).startswith("error: spec.template.spec.containers.0.ports.0.containerPort")


def test_libyaml_emits_exactly_what_the_python_emitter_does(dev: RunResult, prod: RunResult) -> None:
    assert _Dumper.__mro__[1] is yaml.CSafeDumper  # the fast path is really taken
    for run in (dev, prod):
        for record in run.kubernetes():
            manifest = kubernetes_manifest(record)
            expected = yaml.dump(manifest, Dumper=_PythonDumper, sort_keys=False, allow_unicode=True, width=100)
            assert to_yaml(manifest) == expected
    tricky = {"a": "line\n\ttab\n", "b": "ü\nx\n", "c": "trailing \nspace", "d": "x" * 300, "e": "  lead\n"}
    assert to_yaml(tricky) == yaml.dump(tricky, Dumper=_PythonDumper, sort_keys=False, allow_unicode=True,
                                        width=100)


def test_libyaml_reads_a_render_exactly_as_safe_load_does(tmp_path: Path, dev: RunResult, prod: RunResult) -> None:
    assert _Loader is yaml.CSafeLoader
    for run in (dev, prod):
        written = render.write_render(run, tmp_path / run.stack)
        for item in written:
            text = item.path.read_text(encoding="utf-8")
            assert from_yaml(text) == yaml.safe_load(text), item.path
    tricky = "a: 0o17\nb: 017\nc: yes\nd: 1e3\ne: 2026-02-23\nf: ~\ng: '010'\nh: !!binary aGk=\n"
    assert from_yaml(tricky) == yaml.safe_load(tricky)


def test_the_early_policy_server_is_closed_when_the_program_fails(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    started = []
    real = render.start_policy_pack

    def spy() -> object:
        future = real()
        started.append(future)
        return future

    def failing(*_: object, **__: object) -> RunResult:
        raise HarnessError("no stack file Pulumi.nope.yaml")

    monkeypatch.setattr(render, "start_policy_pack", spy)
    monkeypatch.setattr(render, "run_stack", failing)
    assert render.main(["--stack", "nope", "--out", str(tmp_path)]) == 2
    (future,) = started
    analyzer = future.result()
    assert analyzer._process.poll() is not None  # killed, not left running


def test_no_policy_starts_no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(render, "start_policy_pack", lambda: pytest.fail("started a policy server"))
    assert render.main(["--stack", "dev", "--out", str(tmp_path), "--no-policy"]) == 0


def _streamed(records: list[ResourceRecord], config: dict[str, Any]) -> dict[str, list[Diagnostic]]:
    stream = PolicyStream(render.start_policy_pack(), lambda: config)
    try:
        for record in records:
            stream.add(record)
        return dict(stream.verdicts(records)[1])
    finally:
        stream.close()


@pytest.mark.parametrize("case", ["dev", "prod", "latest tag", "no default deny", "provider last"])
def test_the_streamed_analysis_gives_each_shape_what_its_own_analysis_does(
        case: str, analyzer: PolicyAnalyzer, dev: RunResult, prod: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = "prod" if case == "prod" else "dev"
    records = {"dev": dev.resources, "prod": prod.resources,
               "latest tag": mutate(dev, "Deployment", "openclaw",
                                    lambda p: gateway(p).__setitem__("image", "ghcr.io/openclaw/openclaw:latest")),
               "no default deny": drop(dev, "NetworkPolicy", "openclaw-default-deny"),
               # each resource sent before its provider: those calls are sent again with it
               "provider last": sorted(dev.resources, key=lambda r: r.type.startswith("pulumi:providers:"))}[case]
    config = load_policy_config(stack)
    sent: list[str] = []
    send = PolicyAnalyzer.send_analyze

    def spy(self: PolicyAnalyzer, record: ResourceRecord, providers: dict[str, ResourceRecord]) -> SentAnalyze:
        sent.append(record.urn)
        return send(self, record, providers)

    monkeypatch.setattr(PolicyAnalyzer, "send_analyze", spy)
    streamed = _streamed(records, config)
    assert list(streamed) == list(SHAPES)
    # one Analyze call per resource for both shapes; plus, in "provider last", one again for each
    # resource sent before its provider
    resent = sum(1 for r in records if r.provider) if case == "provider last" else 0
    assert len(sent) == len(records) + resent and set(sent) == {r.urn for r in records}
    for shape in SHAPES:
        assert streamed[shape] == analyzer.analyze(records, config, shape), shape
    if case in ("latest tag", "no default deny"):  # a resource policy's and a stack policy's violation
        assert all(mandatory(streamed[shape]) for shape in SHAPES)


def test_the_harness_hands_over_each_resource_as_it_registers() -> None:
    seen: list[ResourceRecord] = []
    run = run_stack("dev", on_record=seen.append)
    assert len(seen) == len(run.resources) > 50
    assert all(a is b for a, b in zip(seen, run.resources, strict=True))


def test_a_bad_policy_config_stops_the_stream_and_its_pack(dev: RunResult) -> None:
    started = render.start_policy_pack()
    stream = PolicyStream(started, lambda: {"no-such-policy": "mandatory"})
    for record in dev.resources:
        stream.add(record)
    with pytest.raises(PolicyConfigError, match="no-such-policy"):
        stream.verdicts(dev.resources)
    stream.close()
    assert started.result()._process.poll() is not None


def _secret_written(folder: Path, value: str) -> render.Written:
    document = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "openclaw"},
                "stringData": {"TOKEN": value}}
    path = folder / "kubernetes" / "openclaw.secret.s.yaml"
    text = to_yaml(document)
    path.write_text(text, encoding="utf-8")
    return render.Written(path, "Secret", "openclaw", "s", document=document, text=text)


@pytest.mark.parametrize(("old_stack", "new_stack"), [("dev", "dev"), ("prod", "dev"), ("dev", "prod")])
def test_the_diff_of_files_just_written_is_the_diff_of_the_files_read_back(
        old_stack: str, new_stack: str, tmp_path: Path, dev: RunResult, prod: RunResult) -> None:
    runs = {"dev": dev, "prod": prod}
    old, new = tmp_path / "old", tmp_path / "new"
    render.write_render(runs[old_stack], old)
    written = render.write_render(runs[new_stack], new)
    # an old render written with other line breaks (the same objects), and a Secret on both sides
    reflowed = next(p for p in sorted((old / "kubernetes").glob("*.yaml")) if "deployment" in p.name)
    reflowed.write_text(yaml.safe_dump(from_yaml(reflowed.read_text(encoding="utf-8")), width=60, sort_keys=False),
                        encoding="utf-8")
    _secret_written(old, "fake-not-a-secret-0001")
    written.append(_secret_written(new, "fake-not-a-secret-0002"))
    fast, slow = diff_renders(old, new, written), diff_renders(old, new)
    assert fast == slow
    assert to_markdown(fast) == to_markdown(slow)
    assert "fake-not-a-secret" not in to_markdown(fast)
    if old_stack == new_stack:
        assert fast.empty and fast.unchanged == len(written)
    else:
        assert fast.changed and fast.unchanged


def test_the_render_streams_every_resource_to_the_policy_pack(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    added: list[ResourceRecord] = []
    add = PolicyStream.add

    def spy(self: PolicyStream, record: ResourceRecord) -> None:
        added.append(record)
        add(self, record)

    monkeypatch.setattr(PolicyStream, "add", spy)
    assert render.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    assert len(added) == len({r.urn for r in added}) > 50
    assert "PASS" in (tmp_path / "policy.txt").read_text(encoding="utf-8")
