"""Agent catalog (placeholder until the catalog issue lands: `main` only)."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Mapping

from pydantic import BaseModel

RETIRED_AGENT_IDS: frozenset[str] = frozenset({"sales", "growth", "cs"})
SEED_SCRIPT = pathlib.Path(__file__).with_name("seed.sh")


class CatalogError(ValueError):
    pass


class Agent(BaseModel):
    id: str
    name: str
    role: str
    handoffs: list[str] = []
    model: str | None = None


class Catalog(BaseModel):
    agents: list[Agent]

    def agents_list(self, state_dir: str = "/home/node/.openclaw") -> list[dict[str, object]]:
        return [{"id": a.id, "name": a.name,
                 "workspace": f"{state_dir}/workspace" if a.id == "main"
                 else f"{state_dir}/workspaces/{a.id}",
                 "agentDir": f"{state_dir}/agents/{a.id}/agent"} for a in self.agents]

    def agent_to_agent_allow(self) -> list[str]:
        return [a.id for a in self.agents]

    def workspace_files(self) -> dict[str, dict[str, str]]:
        return {a.id: {"IDENTITY.md": f"# {a.name}\n\n{a.role}\n"} for a in self.agents}


def load_catalog(path: pathlib.Path | None = None, *, provider_models: frozenset[str]) -> Catalog:
    return Catalog(agents=[Agent(id="main", name="Main", role="Chief operating officer")])


def seed_configmap_data(catalog: Catalog) -> dict[str, dict[str, str]]:
    return catalog.workspace_files()


def content_hash(data: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(data):
        digest.update(key.encode() + b"\0" + data[key].encode() + b"\0")
    return digest.hexdigest()[:10]
