"""Run one component (or a whole stack) under the offline harness and keep what each component
registered as its outputs (`register_outputs`): the engine stores them in the stack's state, and
`engine.harness` records resources only. Test support; the program never imports it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from google.protobuf import json_format

from engine import harness
from engine.harness import RunResult, run_program
from engine.mocks import RecordingMonitor


@contextlib.contextmanager
def recording_outputs() -> Iterator[dict[str, dict[str, Any]]]:
    """Within the block, every run records the outputs each component registers, by its URN."""
    outputs: dict[str, dict[str, Any]] = {}

    class OutputsMonitor(RecordingMonitor):
        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            outputs[request.urn] = json_format.MessageToDict(request.outputs)
            return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    with mock.patch.object(harness, "RecordingMonitor", OutputsMonitor):
        yield outputs


def run_with_outputs(program: Callable[[], None], **kwargs: Any) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    """`run_program(program, ...)`, and the outputs each component registered, by its URN."""
    with recording_outputs() as outputs:
        run = run_program(program, **kwargs)
    return run, outputs
