"""Mutants as both tools report them, the equivalent ones listed in docs/testing.md, and the score.

Score = (killed + timed out) / (every mutant that is not listed as equivalent). A mutant is known by
an id made of its file, the source line(s) it changes and what it changes them to (plus which of
identical ones it is), so the list survives edits elsewhere in the file and a changed line drops
out of it (to be judged again).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EQUIVALENTS_DOC = REPO / "docs" / "testing.md"
# "- `1a2b3c4d` agents/seed.mjs:123 ...: why" under the heading "## Equivalent mutants".
_LISTED = re.compile(r"^- `([0-9a-f]{8})` ")
DETECTED = ("killed", "timeout")


@dataclass(frozen=True)
class Mutant:
    file: str          # relative to the repository
    line: int
    original: str      # the changed source line(s), stripped
    mutated: str       # what the mutant makes of them
    status: str        # killed, timeout, survived, no tests, skipped, not checked, ...
    key: str = ""      # the tool's own name for it
    ident: str = ""

    def describe(self) -> str:
        return f"{self.file}:{self.line}  [{self.ident}]  {self.original}  ->  {self.mutated}"


def identify(mutants: Iterable[Mutant]) -> list[Mutant]:
    """The same mutants, in the same order, each with its id (the n-th identical one by line gets n)."""
    items = list(mutants)
    seen: Counter[tuple[str, str, str]] = Counter()
    ids = [""] * len(items)
    for i in sorted(range(len(items)), key=lambda i: (items[i].file, items[i].line)):
        m = items[i]
        seen[m.file, m.original, m.mutated] += 1
        text = f"{m.file}\n{m.original}\n{m.mutated}\n{seen[m.file, m.original, m.mutated]}"
        ids[i] = hashlib.sha256(text.encode()).hexdigest()[:8]
    return [replace(m, ident=ident) for m, ident in zip(items, ids, strict=True)]


def settled(mutants: Iterable[Mutant], equivalent: set[str]) -> set[str]:
    """The tool keys of the mutants a new run need not test again: the detected ones and the
    listed equivalents (new tests cannot change either; a changed line is a new mutant)."""
    return {m.key for m in identify(mutants) if m.status in DETECTED or m.ident in equivalent}


def listed_equivalents(doc: Path = EQUIVALENTS_DOC) -> set[str]:
    """The ids listed under "## Equivalent mutants" in docs/testing.md."""
    ids: set[str] = set()
    section = False
    for line in doc.read_text(encoding="utf-8").splitlines() if doc.exists() else []:
        if line.startswith("## "):
            section = line.strip() == "## Equivalent mutants"
        elif section and (match := _LISTED.match(line)):
            ids.add(match.group(1))
    return ids


@dataclass
class FileScore:
    file: str
    mutants: list[Mutant]
    equivalent: set[str] = field(default_factory=set)

    @property
    def counted(self) -> list[Mutant]:
        """Every mutant but the listed equivalents (a listed one that tests kill counts: it is not)."""
        return [m for m in self.mutants if m.ident not in self.equivalent or m.status in DETECTED]

    @property
    def detected(self) -> int:
        return sum(m.status in DETECTED for m in self.counted)

    @property
    def score(self) -> float:
        return 100.0 * self.detected / len(self.counted) if self.counted else 100.0

    def lines(self) -> list[str]:
        by_status = Counter(m.status for m in self.mutants)
        listed = sum(m.ident in self.equivalent and m.status not in DETECTED for m in self.mutants)
        head = (f"{self.file}: {self.score:.1f}% ({self.detected} of {len(self.counted)} detected; "
                + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) + f"; {listed} equivalent)")
        survivors = [f"  {m.status}: {m.describe()}" for m in self.counted if m.status not in DETECTED]
        wrong = [f"  listed as equivalent but killed: {m.describe()}" for m in self.mutants
                 if m.ident in self.equivalent and m.status in DETECTED]
        return [head, *survivors, *wrong]


def scores(mutants: Iterable[Mutant], equivalent: set[str]) -> list[FileScore]:
    by_file: dict[str, list[Mutant]] = {}
    for m in sorted(identify(mutants), key=lambda m: (m.file, m.line)):
        by_file.setdefault(m.file, []).append(m)
    return [FileScore(file, found, equivalent) for file, found in sorted(by_file.items())]
