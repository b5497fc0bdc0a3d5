"""Workspace seed files: templates filled with each agent's fields; a file in
`overrides/<agent id>/` replaces the template of that name for that agent, or adds a file
(HEARTBEAT.md, MEMORY.md...) the templates do not have."""

from __future__ import annotations

from pathlib import Path
from string import Template

from agents.model import CatalogData

TEMPLATES = Path(__file__).with_name("templates")
OVERRIDES = Path(__file__).with_name("overrides")
WORKSPACE_FILES = ("IDENTITY.md", "SOUL.md", "AGENTS.md", "TOOLS.md", "USER.md", "BOOTSTRAP.md")


def render_workspaces(data: CatalogData, overrides: Path = OVERRIDES) -> dict[str, dict[str, str]]:
    """Agent id -> file name -> content."""
    templates = {name: Template((TEMPLATES / name).read_text(encoding="utf-8")) for name in WORKSPACE_FILES}
    result: dict[str, dict[str, str]] = {}
    for agent in data.agents:
        fields = {
            "id": agent.id,
            "name": agent.name,
            "role": agent.role,
            "company_name": data.company.name,
            "company_summary": data.company.summary,
            "model": agent.model or "the stack's primary model (agents.defaults.model.primary)",
            "handoff_lines": "\n".join(f"- `{t}`" for t in agent.handoffs) or "- nobody: report back to `main`",
        }
        files = {name: template.substitute(fields) for name, template in templates.items()}
        own = overrides / agent.id
        if own.is_dir():
            files |= {p.name: p.read_text(encoding="utf-8") for p in sorted(own.iterdir()) if p.is_file()}
        result[agent.id] = files
    return result
