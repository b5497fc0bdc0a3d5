"""A synthetic agent catalog of any size, for the render and seeding figures (bench/bench.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

MODELS = ["deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-pro"]


def synthetic_catalog(path: Path, size: int) -> None:
    """`size` agents: main plus helpers that each hand off to two neighbours."""
    agents = [{"id": "main", "name": "Main", "role": "Routes work.", "handoffs": ["agent-0001"]}]
    for i in range(1, size):
        neighbours = [f"agent-{(i % (size - 1)) + 1:04d}", "main"]
        agents.append({"id": f"agent-{i:04d}", "name": f"Agent {i}", "role": f"Synthetic role number {i}. " * 4,
                       "handoffs": [n for n in neighbours if n != f"agent-{i:04d}"],
                       **({"model": MODELS[1]} if i % 7 == 0 else {})})
    path.write_text(yaml.safe_dump({"company": {"name": "Bench", "summary": "Synthetic."}, "agents": agents}),
                    encoding="utf-8")
