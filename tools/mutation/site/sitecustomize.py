"""Loaded by every Python process a test starts during a mutmut run (tools/mutation/pytest_plugin.py
puts this folder on PYTHONPATH), above all the policy pack that engine/analyzer.py starts as the
Pulumi CLI does (`python __main__.py` in policy/).

mutmut names a mutant after the module path of its file (`policy.network.x_f__mutmut_3`) and its
trampolines compare that with the function's `__module__`; the pack imports its modules top-level
(`import network`, policy/__main__.py), so without this no policy mutant would ever be active, and
the functions a test reaches in another process would be counted for no test. Here, in any
process: the active mutant's name loses the `policy.` prefix the pack's modules lack, and a
trampoline hit while mutmut collects its stats is named with it; in a test's subprocess the hit is
appended to the file OPENCLAW_MUTMUT_HITS names, which the plugin counts for the running test.
(mutmut 3.8.1, mutmut/mutation/trampoline.py: `get_mutant_under_test`, `record_trampoline_hit`.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HITS_ENV = "OPENCLAW_MUTMUT_HITS"
POLICY = "policy"


def _qualified(name: str) -> str:
    """`network.x_f` -> `policy.network.x_f` when `network` is a module of the policy pack."""
    module = name.rpartition(".")[0]
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None)
    if "." not in module and file and Path(file).parent.name == POLICY:
        return f"{POLICY}.{name}"
    return name


class _HitFile:
    """Appends each function name once per test (the plugin empties the file after each test)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.seen: set[str] = set()
        self.size = 0

    def add(self, name: str) -> None:
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = 0
        if size < self.size:        # emptied: a new test
            self.seen.clear()
        self.size = size
        if name in self.seen:
            return
        self.seen.add(name)
        line = f"{name}\n".encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        self.size += len(line)


def install(*, in_test_process: bool) -> None:
    """Patch mutmut's trampoline module (a no-op where mutmut is not installed)."""
    try:
        from mutmut.mutation import trampoline
    except ImportError:
        return
    names = vars(trampoline)      # the trampolines look these up as globals at each call
    if names.get("_openclaw_patched"):
        return
    active, record = names["get_mutant_under_test"], names["record_trampoline_hit"]

    def get_mutant_under_test() -> str:
        return str(active()).removeprefix(f"{POLICY}.")

    hits = None if in_test_process or not os.environ.get(HITS_ENV) else _HitFile(os.environ[HITS_ENV])

    def record_trampoline_hit(name: str, caller: str | None = None) -> None:
        if hits is not None:
            hits.add(_qualified(name))
        elif in_test_process:
            record(_qualified(name), _qualified(caller) if caller else None)

    names |= {"get_mutant_under_test": get_mutant_under_test, "record_trampoline_hit": record_trampoline_hit,
              "_openclaw_patched": True}


if __name__ == "sitecustomize" and os.environ.get("MUTANT_UNDER_TEST"):   # at the start of a test's subprocess
    install(in_test_process=False)
