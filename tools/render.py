"""Offline render of a stack: every object the program would create, as files a reviewer reads.

    python -m tools.render --stack dev --out DIR [--vault-fixture FILE]

runs `__main__.py` for the stack under Pulumi's mock runtime (engine/harness.py) and writes
- `DIR/kubernetes/<namespace|cluster>.<kind>.<name>.yaml`, one file per Kubernetes object;
- `DIR/other/<type>.<name>.yaml`, every other provider resource (Vault objects);
- `DIR/outputs.yaml`, the stack outputs;
- `DIR/adoption.yaml`, when `openclaw:kubernetes.adoptExisting` is on: the objects the next
  `pulumi up` takes over from whatever created them;
- `DIR/policy.txt`, the policy pack's verdicts, preview shape and up shape (engine/analyzer.py runs
  the pack as the CLI does);
then prints a table of what it wrote, validates every Kubernetes object against the Kubernetes
1.31 schema (strict), and prints the policy verdict. `--diff OLD` compares with an earlier render
(tools/render_diff.py) and prints a markdown report; `--diff-out FILE` keeps it. Secret values are masked everywhere.
A stack in direct secrets mode reads Vault: `--vault-fixture FILE` answers those reads from a
JSON file (`{"<kv path>": {"<KEY>": "<fake value>"}}`, see engine/vault_fixture.py).
Exit codes: 0 written, valid, and no mandatory policy violated, 1 an object fails the schema or a
mandatory policy is violated (or skipped on an unknown) in the preview or the up shape,
2 bad configuration, catalog or policy config (one message, no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from engine.analyzer import PolicyAnalyzer, PolicyConfigError, blocking, load_policy_config, shapes_report
from engine.harness import SECRET_MASK, HarnessError, RunResult, StackOutput, run_stack, watching
from engine.policy_stream import PolicyStream
from engine.records import ResourceRecord
from engine.schema import validate_manifests
from engine.vault_fixture import KV_V2_READ, kv_v2_invokes, load_kv_fixture
from engine.yaml_text import to_yaml
from tools.render_diff import diff_renders, to_markdown

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Written:
    path: Path
    kind: str
    namespace: str
    name: str
    adopt: bool = False  # the first `up` takes the live object of this name over, if one exists
    document: Any = None  # what the file holds, and its text (the render diff reads neither back)
    text: str = ""


def _masked(value: Any) -> Any:
    """The mask in the value's own shape (a map stays a map of its keys), so a masked object
    still validates against its schema and a reviewer still sees which keys there are."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return SECRET_MASK


def _mask(properties: dict[str, Any], secret_paths: Sequence[str]) -> dict[str, Any]:
    """A copy with each secret path's value replaced by the mask."""
    masked = copy.deepcopy(properties)
    for path in secret_paths:
        parts = [(m.group(1), m.group(2)) for m in _PATH_PART.finditer(path)]
        if not parts:
            return {"value": SECRET_MASK}
        node: Any = masked
        for key, index in parts[:-1]:
            node = node[int(index)] if index is not None else node.get(key, {})
        key, index = parts[-1]
        if index is not None:
            node[int(index)] = _masked(node[int(index)])
        elif isinstance(node, dict) and key in node:
            node[key] = _masked(node[key])
    return masked


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def kubernetes_manifest(record: ResourceRecord) -> dict[str, Any]:
    """The object as `kubectl apply` would see it: apiVersion, kind, metadata first, then the
    rest with keys sorted, so two renders diff cleanly."""
    props = _sorted(_mask(record.properties, record.secret_paths))
    head = {k: props.pop(k) for k in ("apiVersion", "kind", "metadata") if k in props}
    return {**head, **props}


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _dump(path: Path, document: Any) -> str:
    text = to_yaml(document)
    path.write_text(text, encoding="utf-8")
    return text


def _output_value(output: StackOutput) -> Any:
    return SECRET_MASK if output.secret else output.value


def adopting_providers(result: RunResult) -> set[str]:
    """URNs of Kubernetes providers that upsert existing objects (the one-time takeover)."""
    return {r.urn for r in result.resources if r.type == "pulumi:providers:kubernetes"
            and str(r.properties.get("upsertExistingObjects")).lower() == "true"}


def write_render(result: RunResult, out: Path) -> list[Written]:
    """Write the files of a run under `out` (replacing an earlier render there)."""
    for sub in ("kubernetes", "other"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    (out / "adoption.yaml").unlink(missing_ok=True)
    adopting = adopting_providers(result)
    written: list[Written] = []
    for record in result.resources:
        if not record.custom or record.type.startswith("pulumi:providers:"):
            continue
        document: dict[str, Any]
        if record.type.startswith("kubernetes:"):
            document = kubernetes_manifest(record)
            meta = document.get("metadata", {})
            kind, name = str(document.get("kind", "")), str(meta.get("name", ""))
            namespace = str(meta.get("namespace", ""))
            path = out / "kubernetes" / f"{_safe(namespace or 'cluster')}.{kind.lower()}.{_safe(name)}.yaml"
        else:
            kind, name, namespace = record.type, record.name, ""
            type_part = _safe(record.type.replace(":", ".").replace("/", "."))
            path = out / "other" / f"{type_part}.{_safe(record.name)}.yaml"
            document = {"type": record.type, "name": record.name,
                        "properties": _sorted(_mask(record.properties, record.secret_paths))}
        adopt = bool(record.provider) and record.provider.rsplit("::", 1)[0] in adopting
        written.append(Written(path, kind, namespace, name, adopt, document, _dump(path, document)))
    _dump(out / "outputs.yaml", {k: _output_value(v) for k, v in sorted(result.outputs.items())})
    if adopting:
        _dump(out / "adoption.yaml", {
            "note": "adoptExisting is on: the next `pulumi up` server-side applies over each of these objects "
                    "where it already exists (field ownership forced away from Argo CD), instead of failing",
            "objects": [{"kind": w.kind, "namespace": w.namespace or None, "name": w.name}
                        for w in written if w.adopt]})
    return written


def format_table(written: Sequence[Written], root: Path) -> str:
    """KIND NAMESPACE NAME FILE, plus an ON FIRST UP column when objects will be adopted."""
    adopting = any(w.adopt for w in written)
    rows = [("KIND", "NAMESPACE", "NAME", "FILE", "ON FIRST UP" if adopting else "")] + [
        (w.kind, w.namespace or "-", w.name, str(w.path.relative_to(root)),
         "adopt if it exists" if w.adopt else "") for w in written]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(f"{cell:<{widths[i]}}" if i < 4 else cell for i, cell in enumerate(r)).rstrip()
                     for r in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--out", type=Path, default=Path("out/dev"), help="output folder (default out/dev)")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy pack (not for CI)")
    parser.add_argument("--vault-fixture", type=Path, default=None,
                        help="JSON file answering Vault KV reads (direct secrets mode only)")
    parser.add_argument("--diff", type=Path, default=None, metavar="OLD",
                        help="after rendering, compare with the render in OLD and print a markdown report")
    parser.add_argument("--diff-out", type=Path, default=None, metavar="FILE", help="also write the report here")
    args = parser.parse_args(argv)
    if args.diff is not None and not (args.diff / "kubernetes").is_dir():
        print(f"error: --diff {args.diff}: not a render (no kubernetes/ folder inside)", file=sys.stderr)
        return 2
    # As Pulumi's own program runner does: a failed run leaves futures nobody awaits, and
    # asyncio's complaints about them would bury the one message that matters.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    # The policy pack analyses each resource as it registers, on the other core (engine/policy_stream.py).
    stream = None if args.no_policy else _policy_stream(args.stack)
    try:
        with _fewer_collections():
            return _render(args, stream)
    finally:
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while rendering: with the default thresholds the collector
    ran every 700 allocations and its older generations rescanned the SDK's modules, about 0.08 s of
    a 1.4 s render. What is alive now (the imported SDK) is frozen out of every collection, and the
    youngest generation is collected every 20,000 allocations; both restored afterwards."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _render(args: argparse.Namespace, stream: PolicyStream | None) -> int:
    try:
        invokes = kv_v2_invokes(load_kv_fixture(args.vault_fixture)) if args.vault_fixture else {}
        with watching(stream.add) if stream is not None else contextlib.nullcontext():
            result = run_stack(args.stack, invokes=invokes)
    except (pulumi.RunError, HarnessError) as exc:
        hint = (" (this stack reads Vault: pass --vault-fixture FILE)"
                if KV_V2_READ in str(exc) and not args.vault_fixture else "")
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    if stream is not None:
        stream.submit(result.resources)  # the pack's stack policies run while the files are written
    written = write_render(result, args.out)
    print(format_table(written, args.out))
    print(f"\n{len(written)} objects of stack '{args.stack}' written to {args.out}/")
    # The manifests just written are the ones validated (kubernetes_manifest of each object).
    schema = validate_manifests(w.document for w in written if w.path.parent.name == "kubernetes")
    print(schema.summary())
    if args.diff is not None:
        report = to_markdown(diff_renders(args.diff, args.out, written), f"Render diff: stack {args.stack}")
        print(f"\n{report}")
        if args.diff_out is not None:
            args.diff_out.write_text(report, encoding="utf-8")
    code = 1 if schema.errors else 0
    if stream is not None:
        code = max(code, policy_verdict(result, args.stack, args.out, stream))
    return code


def start_policy_pack() -> Future[PolicyAnalyzer]:
    """Start the policy pack's server now, so its start (a second Python importing the SDK and
    pulumi_policy, about 0.25 s) runs on the other core while the program runs here; the
    analysis itself needs the program's resources and waits for them."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-pack")
    started = pool.submit(PolicyAnalyzer)
    pool.shutdown(wait=False)  # the thread ends once the server is up; the caller closes it
    return started


def _policy_stream(stack: str) -> PolicyStream:
    return PolicyStream(start_policy_pack(), lambda: load_policy_config(stack))


def policy_verdict(result: RunResult, stack: str, out: Path, stream: PolicyStream | None = None) -> int:
    """Run the policy pack on the run in both shapes, as `pulumi preview --policy-pack policy` (planned
    outputs, unknowns where the providers leave them) and `pulumi up` (all known) would; write and
    print both verdicts; 1 when either has a mandatory violation (or skipped a mandatory policy).
    `stream`: the analysis already under way (fed while the program ran), else one is started here."""
    own = stream is None
    running = _policy_stream(stack) if stream is None else stream
    try:
        pack, results = running.verdicts(result.resources)
        report = shapes_report(results, len(pack.policies), pack.levels)
        failed = any(blocking(d, pack.levels) for d in results.values())
    except PolicyConfigError as exc:
        print(f"error: policy/config.{stack}.json: {exc}", file=sys.stderr)
        return 2
    finally:
        if own:
            running.close()
    (out / "policy.txt").write_text(report + "\n", encoding="utf-8")
    print(f"\npolicy pack openclaw-guardrails (policy/config.{stack}.json):\n{report}")
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    # Everything is written and closed: skip the interpreter's teardown of the SDK's objects (about
    # 150,000, a quarter of a second, longer than the policy analysis), as a CI step waits for it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
