"""Run one component under the offline harness and keep what each component registered as its
outputs (`register_outputs`): the engine stores them in the stack's state, and `engine.harness`
records resources only. Test support; the program never imports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from google.protobuf import json_format

from engine import harness
from engine.harness import RunResult, run_program
from engine.mocks import RecordingMonitor


def run_with_outputs(program: Callable[[], None], **kwargs: Any) -> tuple[RunResult, dict[str, dict[str, Any]]]:
    """`run_program(program, ...)`, and the outputs each component registered, by its URN."""
    outputs: dict[str, dict[str, Any]] = {}

    class OutputsMonitor(RecordingMonitor):
        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            outputs[request.urn] = json_format.MessageToDict(request.outputs)
            return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    with mock.patch.object(harness, "RecordingMonitor", OutputsMonitor):
        run = run_program(program, **kwargs)
    return run, outputs
