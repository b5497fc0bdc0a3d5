"""The agent catalog's model and its validation: every violation at once, each named
`<agent id>.<field>: <problem> (got <value>; expected <what would be valid>)`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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
    """The valid part of the file: the company and the agents that are valid on their own."""

    model_config = ConfigDict(frozen=True)
    company: Company
    agents: list[Agent]


@dataclass(frozen=True)
class ParsedCatalog:
    company: Company | None
    agents: list[Agent]  # entries valid on their own; cross-agent rules come later
    # Invalid entries rebuilt from their valid fields alone, so their model and hand-offs are
    # still checked (never rendered or deployed).
    partial: list[Agent]
    ids: list[str]       # every id the file names, valid entry or not: hand-offs to it are not "unknown"
    problems: list[str]


def js_length(text: str) -> int:
    """Length as OpenClaw measures it (JavaScript `.length`: UTF-16 code units, so an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


def _describe(error: ValidationError, prefix: str, model: type[BaseModel]) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join([prefix, *(str(p) for p in item["loc"])])
        if item["type"] == "missing":
            problems.append(f"{where}: required field is missing (got nothing; expected a value)")
        elif item["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown field (got {item['input']!r}; expected only "
                            f"{', '.join(model.model_fields)})")
        else:
            message = item["msg"].removeprefix("Input should be ")
            problems.append(f"{where}: invalid value (got {item['input']!r}; expected "
                            f"{message[:1].lower()}{message[1:]})")
    return problems


def parse_catalog(raw: Any) -> ParsedCatalog:
    """Validate the company and each agent entry on its own, so one bad entry hides nothing else."""
    if not isinstance(raw, Mapping):
        return ParsedCatalog(None, [], [], [], [f"catalog: not a mapping (got {type(raw).__name__}; "
                                            "expected the keys company and agents)"])
    problems = [f"catalog.{key}: unknown key (got {key!r}; expected only company, agents)"
                for key in raw if key not in ("company", "agents")]
    company = None
    try:
        company = Company.model_validate(raw.get("company"))
    except ValidationError as exc:
        problems += _describe(exc, "company", Company)
    entries = raw.get("agents")
    if not isinstance(entries, list) or not entries:
        problems.append(f"catalog.agents: no agent list (got {entries!r}; expected a list of agents, "
                        f"`{MAIN_AGENT}` first)")
        entries = []
    valid: list[Agent] = []
    partial: list[Agent] = []
    ids: list[str] = []
    for position, entry in enumerate(entries):
        entry_id = entry.get("id") if isinstance(entry, Mapping) else None
        label = entry_id if isinstance(entry_id, str) and entry_id else f"agents[{position}]"
        if isinstance(entry_id, str):
            ids.append(entry_id)
        try:
            valid.append(Agent.model_validate(entry))
        except ValidationError as exc:
            problems += _describe(exc, label, Agent)
            if isinstance(entry, Mapping):
                failed = {item["loc"][0] for item in exc.errors() if item["loc"]}
                fields = {k: v for k, v in entry.items() if k in Agent.model_fields and k not in failed}
                partial.append(Agent.model_construct(**{**fields, "id": label}))
    return ParsedCatalog(company, valid, partial, ids, problems)


def _id_problems(ids: list[str]) -> list[str]:
    problems = []
    if MAIN_AGENT not in ids:
        problems.append(f"{MAIN_AGENT}.id: no `{MAIN_AGENT}` agent (got ids {', '.join(ids) or 'none'}; expected "
                        f"an agent with id `{MAIN_AGENT}`, first: it routes all work)")
    elif ids[0] != MAIN_AGENT:
        problems.append(f"{MAIN_AGENT}.id: not the first agent (got position {ids.index(MAIN_AGENT) + 1}; "
                        "expected 1)")
    for position, agent_id in enumerate(ids):
        if not _DNS_LABEL.match(agent_id):
            problems.append(f"{agent_id}.id: not a DNS label (got {agent_id!r}; expected lower-case letters, "
                            "digits and '-', at most 63, starting and ending with a letter or digit)")
        if agent_id in RETIRED_AGENT_IDS:
            problems.append(f"{agent_id}.id: retired id reused (got {agent_id!r}; expected a new id: "
                            f"{', '.join(sorted(RETIRED_AGENT_IDS))} are archived on the volume)")
        if ids.index(agent_id) != position:
            problems.append(f"{agent_id}.id: duplicate id (got {agent_id!r} {ids.count(agent_id)} times; "
                            "expected each id once)")
    return problems


def _agent_problems(agent: Agent, known: set[str], provider_models: frozenset[str]) -> list[str]:
    problems = []
    if agent.model is not None and agent.model not in provider_models:
        problems.append(f"{agent.id}.model: not a configured provider model (got {agent.model!r}; "
                        f"expected one of {', '.join(sorted(provider_models))}, or no model to use the primary)")
    for position, target in enumerate(agent.handoffs):
        if target not in known:
            problems.append(f"{agent.id}.handoffs: unknown agent (got {target!r}; expected an id of the catalog)")
        elif target == agent.id:
            problems.append(f"{agent.id}.handoffs: hands off to itself (got {target!r}; expected another agent)")
        elif agent.handoffs.index(target) != position:
            problems.append(f"{agent.id}.handoffs: listed twice (got {target!r}; expected each target once)")
    return problems


def _size_problems(agent_id: str, files: Mapping[str, str]) -> list[str]:
    problems = []
    for file_name, text in sorted(files.items()):
        if js_length(text) > MAX_FILE_CHARS:
            problems.append(f"{agent_id}.{file_name}: too long (got {js_length(text)} characters; expected at "
                            f"most {MAX_FILE_CHARS}: OpenClaw cuts the rest)")
    total = sum(js_length(t) for t in files.values())
    if total > MAX_AGENT_CHARS:
        problems.append(f"{agent_id}.files: too long in all (got {total} characters; expected at most "
                        f"{MAX_AGENT_CHARS}: OpenClaw drops what is over)")
    return problems


def validate_catalog(parsed: ParsedCatalog, provider_models: frozenset[str],
                     files: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Every problem: the entries' own, then the rules across agents; `files` are the rendered
    workspace files of the valid agents (for OpenClaw's size limits)."""
    problems = [*parsed.problems, *_id_problems(parsed.ids)]
    known = set(parsed.ids)
    for agent in parsed.agents:
        problems += _agent_problems(agent, known, provider_models)
        problems += _size_problems(agent.id, files.get(agent.id, {}))
    for agent in parsed.partial:
        problems += _agent_problems(agent, known, provider_models)
    return problems
