"""The agent catalog: which agents the gateway runs, their workspaces, and how they are seeded.

`load_catalog()` reads `catalog.yaml` (or `$OPENCLAW_AGENT_CATALOG`, or a given path), validates it
against the stack's models and OpenClaw's limits, and returns a `Catalog` the gateway turns into
`openclaw.json` entries and seed ConfigMaps. `seed.mjs` (Node 22) is what the init container runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from agents.model import (
    MAIN_AGENT,
    RETIRED_AGENT_IDS,
    Agent,
    CatalogData,
    CatalogError,
    parse_catalog,
    validate_catalog,
)
from agents.workspace import OVERRIDES_DIR, read_overrides, render_workspaces

__all__ = ["RETIRED_AGENT_IDS", "SEED_SCRIPT", "Agent", "Catalog", "CatalogError", "load_catalog",
           "seed_configmap_data"]

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
CATALOG_ENV = "OPENCLAW_AGENT_CATALOG"
SEED_SCRIPT = Path(__file__).with_name("seed.mjs")


class Catalog(BaseModel):
    """A validated catalog with its rendered workspace files."""

    model_config = ConfigDict(frozen=True)
    agents: list[Agent]
    files: dict[str, dict[str, str]]

    def agents_list(self, state_dir: str = "/home/node/.openclaw") -> list[dict[str, object]]:
        """`agents.list` of openclaw.json (releases to 2026.7.x): the agents in catalog order."""
        entries: list[dict[str, object]] = []
        for agent in self.agents:
            workspace = f"{state_dir}/workspace" if agent.id == MAIN_AGENT else f"{state_dir}/workspaces/{agent.id}"
            entry: dict[str, object] = {"id": agent.id, "name": agent.name, "workspace": workspace,
                                        "agentDir": f"{state_dir}/agents/{agent.id}/agent"}
            if agent.model:
                entry["model"] = agent.model
            entries.append(entry)
        return entries

    def agent_entries(self, state_dir: str = "/home/node/.openclaw") -> dict[str, dict[str, object]]:
        """`agents.entries` of openclaw.json (2026.8.1+): the same agents keyed by id, catalog order.
        Catalog ids are DNS labels, a subset of what the release accepts as a key
        (/^[a-z0-9_][a-z0-9_-]{0,63}$/i, zod-schema `AgentsSchema` of 2026.9.6)."""
        return {str(e["id"]): {k: v for k, v in e.items() if k != "id"} for e in self.agents_list(state_dir)}

    @property
    def owner(self) -> str:
        """The agent that owns the surfaces a release wants an explicit owner for (the Telegram
        account, system work, heartbeats): `main`, which routes all work (and was the default agent
        of the list-shaped releases, being first)."""
        return MAIN_AGENT

    def agent_to_agent_allow(self) -> list[str]:
        """`tools.agentToAgent.allow`: every agent that hands off or is handed work, catalog order."""
        involved = {a.id for a in self.agents if a.handoffs} | {t for a in self.agents for t in a.handoffs}
        return [a.id for a in self.agents if a.id in involved]

    def workspace_files(self) -> dict[str, dict[str, str]]:
        return {agent_id: dict(files) for agent_id, files in self.files.items()}


def load_catalog(path: Path | None = None, *, provider_models: frozenset[str]) -> Catalog:
    """Read and validate a catalog (`overrides/` next to it holds the agents' own files);
    CatalogError lists every problem."""
    source = path or Path(os.environ.get(CATALOG_ENV) or CATALOG_FILE)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError([f"{source}: cannot read the catalog ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise CatalogError([f"{source}: not UTF-8 text (save the catalog as UTF-8)"]) from None
    except yaml.YAMLError as exc:
        raise CatalogError([f"{source}: not valid YAML ({exc})"]) from None
    parsed = parse_catalog(raw)
    own_files, problems = read_overrides(parsed.ids, source.parent / OVERRIDES_DIR)
    data = CatalogData(company=parsed.company, agents=parsed.agents) if parsed.company else None
    files = render_workspaces(data, own_files) if data else {}
    problems = validate_catalog(parsed, provider_models, files) + problems
    if problems or data is None:
        raise CatalogError(problems)
    return Catalog(agents=list(data.agents), files=files)


def seed_configmap_data(catalog: Catalog) -> dict[str, dict[str, str]]:
    """Agent id -> the data of its seed ConfigMap (one per agent keeps each far below 1 MiB:
    OpenClaw's own limit caps an agent's files at 150,000 characters)."""
    return catalog.workspace_files()
