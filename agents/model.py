"""The agent catalog's model and its validation (every violation, with agent and field)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RETIRED_AGENT_IDS: frozenset[str] = frozenset({"sales", "growth", "cs"})
MAIN_AGENT = "main"
# OpenClaw 2026.2.23 cuts each bootstrap file at 20,000 characters and all of them at 150,000.
MAX_FILE_CHARS = 20_000
MAX_AGENT_CHARS = 150_000
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class CatalogError(ValueError):
    """The catalog is invalid; the message lists every violation, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"  - {p}" for p in problems))


class Company(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    summary: str = Field(min_length=1)


class Agent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    handoffs: list[str] = Field(default_factory=list)
    model: str | None = None


class CatalogData(BaseModel):
    """The file as written; cross-agent rules are checked by `validate_catalog`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    company: Company
    agents: list[Agent]


def _shape_errors(error: ValidationError, raw: Any) -> list[str]:
    problems = []
    agents = raw.get("agents") if isinstance(raw, dict) else None
    for item in error.errors():
        loc = list(item["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "agents" and isinstance(loc[1], int):
            entry = agents[loc[1]] if isinstance(agents, list) and loc[1] < len(agents) else None
            agent_id = entry.get("id", f"#{loc[1]}") if isinstance(entry, dict) else f"#{loc[1]}"
            where = ".".join([str(agent_id), *(str(p) for p in loc[2:])]) or str(agent_id)
        message = "required field is missing" if item["type"] == "missing" else item["msg"]
        got = "" if item["type"] == "missing" else f" (got {item.get('input')!r})"
        problems.append(f"{where}: {message}{got}")
    return problems


def parse_catalog(raw: Any) -> CatalogData:
    try:
        return CatalogData.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(_shape_errors(exc, raw)) from None


def validate_catalog(data: CatalogData, provider_models: frozenset[str],
                     files: dict[str, dict[str, str]]) -> None:
    """Every rule across agents; `files` are the rendered workspace files (for the size limits)."""
    problems: list[str] = []
    ids = [a.id for a in data.agents]
    known = set(ids)
    if MAIN_AGENT not in known:
        problems.append(f"agents: no `{MAIN_AGENT}` agent (expected one: it routes all work)")
    elif ids[0] != MAIN_AGENT:
        problems.append(f"{MAIN_AGENT}.id: must be the first agent (got position {ids.index(MAIN_AGENT) + 1})")
    for position, agent in enumerate(data.agents):
        if not _DNS_LABEL.match(agent.id):
            problems.append(f"{agent.id}.id: not a DNS label (got {agent.id!r}; expected lower-case letters, "
                            "digits and '-', at most 63)")
        if agent.id in RETIRED_AGENT_IDS:
            problems.append(f"{agent.id}.id: retired id reused (got {agent.id!r}; expected a new id: "
                            f"{sorted(RETIRED_AGENT_IDS)} are archived on the volume)")
        if ids.count(agent.id) > 1 and ids.index(agent.id) != position:
            problems.append(f"{agent.id}.id: duplicate id (got {agent.id!r} {ids.count(agent.id)} times)")
        if agent.model is not None and agent.model not in provider_models:
            problems.append(f"{agent.id}.model: not a configured provider model (got {agent.model!r}; "
                            f"expected one of {sorted(provider_models)})")
        for target in agent.handoffs:
            if target not in known:
                problems.append(f"{agent.id}.handoffs: unknown agent (got {target!r}; expected one of the "
                                "catalog's ids)")
            elif target == agent.id:
                problems.append(f"{agent.id}.handoffs: hands off to itself (got {target!r})")
        agent_files = files.get(agent.id, {})
        for file_name, text in sorted(agent_files.items()):
            if len(text) > MAX_FILE_CHARS:
                problems.append(f"{agent.id}.{file_name}: {len(text)} characters (expected at most "
                                f"{MAX_FILE_CHARS}: OpenClaw cuts the rest)")
        total = sum(len(t) for t in agent_files.values())
        if total > MAX_AGENT_CHARS:
            problems.append(f"{agent.id}.files: {total} characters in all (expected at most {MAX_AGENT_CHARS})")
    if problems:
        raise CatalogError(problems)
