"""The policy pack's analysis of one render, sent while the program still runs.

The engine calls `Analyze` for each resource as its step is generated, not after the program ends
(pulumi/pulumi pkg/resource/deploy/step_generator.go `analyzeAll`). The render does the same: the
harness hands over each resource as it registers (`harness.watching`), and a thread here sends its
`Analyze` call to the pack (started early, tools/render.py `start_policy_pack`) without waiting
for the answer. When the program ends, `submit` sends the two `AnalyzeStack` calls, which need
every resource, and the pack runs them on its own core while this process writes, validates and
diffs the render; `verdicts` then collects both shapes' verdicts (engine/analyzer.py
`shapes_verdicts`: the same diagnostics as `analyze(records, config, shape)` for each shape).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from engine.analyzer import PolicyAnalyzer, SentAnalyze
from engine.policy_report import Diagnostic
from engine.records import ResourceRecord


class PolicyStream:
    """Feed with `add` (any thread), then `verdicts` once; `close` always (stops the pack).
    `config` reads the stack's policy config (engine/analyzer.py `load_policy_config`)."""

    def __init__(self, pack: Future[PolicyAnalyzer], config: Callable[[], Mapping[str, Any]]) -> None:
        self._pack = pack
        self._queue: queue.SimpleQueue[ResourceRecord | None] = queue.SimpleQueue()
        self._sent: dict[str, SentAnalyze] = {}
        self._collect: tuple[Sequence[ResourceRecord], Callable[[], dict[str, list[Diagnostic]]]] | None = None
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-stream")
        self._sender = pool.submit(self._send, config)
        pool.shutdown(wait=False)

    def add(self, record: ResourceRecord) -> None:
        """A resource the program just registered (called from the SDK's executor threads)."""
        self._queue.put(record)

    def _send(self, config: Callable[[], Mapping[str, Any]]) -> PolicyAnalyzer:
        try:
            loaded = config()
            analyzer = self._pack.result()
            analyzer.configure(loaded)  # as the CLI: Configure before any Analyze
        except BaseException:
            while self._queue.get() is not None:  # let `add` and `verdicts` go on; the error shows there
                pass
            raise
        providers: dict[str, ResourceRecord] = {}
        while (record := self._queue.get()) is not None:
            if record.type.startswith("pulumi:providers:"):
                providers[record.urn] = record
            # A provider registers before the resources that use it (they carry its ID), so it is
            # known here; `shapes_verdicts` re-sends any call whose provider was not.
            self._sent[record.urn] = analyzer.send_analyze(record, providers)
        return analyzer

    def submit(self, records: Sequence[ResourceRecord]) -> None:
        """The run is over and `records` are all its resources (in registration order): send the
        calls that need all of them (`AnalyzeStack` of each shape) without waiting for answers."""
        self._queue.put(None)
        if self._sender.exception() is None:
            self._collect = (records, self._sender.result().start_verdicts(records, self._sent))

    def verdicts(self, records: Sequence[ResourceRecord]) -> tuple[PolicyAnalyzer, dict[str, list[Diagnostic]]]:
        """Both shapes' diagnostics of the run whose resources are `records` (`submit` them first to
        let the pack work meanwhile). Raises PolicyConfigError on a bad policy config."""
        if self._collect is None or self._collect[0] is not records:
            self.submit(records)
        analyzer = self._sender.result()
        assert self._collect is not None
        return analyzer, self._collect[1]()

    def close(self) -> None:
        """Stop the pack, whatever happened before (the program failed, the config was bad)."""
        self._queue.put(None)
        self._sender.exception()  # wait for the sender; its error, if any, was reported by `verdicts`
        if self._pack.exception() is None:
            self._pack.result().close()
