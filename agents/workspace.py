"""Workspace seed files: templates filled with each agent's fields; a file in
`overrides/<agent id>/` replaces the template of that name for that agent, or adds a file
(HEARTBEAT.md, MEMORY.md...) the templates do not have."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from string import Template

from agents.model import CatalogData

TEMPLATES = Path(__file__).with_name("templates")
OVERRIDES_DIR = "overrides"  # next to the catalog file
WORKSPACE_FILES = ("IDENTITY.md", "SOUL.md", "AGENTS.md", "TOOLS.md", "USER.md", "BOOTSTRAP.md")
# A file name becomes a ConfigMap key and a path in the seed volume: the key alphabet, and no
# leading dot (the seeder skips hidden files, and editors leave swap files there).
_FILE_NAME = re.compile(r"^[A-Za-z0-9][-._A-Za-z0-9]{0,252}$")


def render_workspaces(data: CatalogData,
                      own_files: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Agent id -> file name -> content: the templates, then the agent's own files over them."""
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
        result[agent.id] = files | dict(own_files.get(agent.id, {}))
    return result


def read_overrides(ids: Collection[str], overrides: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The files of `overrides/<agent id>/`, and a problem for anything there that would be
    silently ignored or break the seed ConfigMaps."""
    files: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    if not overrides.is_dir():
        return files, problems
    for folder in sorted(overrides.iterdir()):
        if not folder.is_dir():
            problems.append(f"overrides.{folder.name}: not a folder (got a file; expected only "
                            "overrides/<agent id>/ folders)")
            continue
        if folder.name not in ids:
            problems.append(f"{folder.name}.overrides: no such agent (got overrides/{folder.name}/; expected "
                            "a folder named after a catalog id: rename or remove it)")
            continue
        own = files.setdefault(folder.name, {})
        for path in sorted(folder.iterdir()):
            where = f"{folder.name}.{path.name}"
            if not path.is_file():
                problems.append(f"{where}: not a file (got a folder; expected files only: seed ConfigMaps "
                                "carry flat files)")
            elif not _FILE_NAME.match(path.name):
                problems.append(f"{where}: not a valid file name (got {path.name!r}; expected letters, digits, "
                                "'-', '_' and '.', not starting with '.')")
            else:
                try:
                    own[path.name] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    problems.append(f"{where}: not UTF-8 text (got undecodable bytes; expected a Markdown or "
                                    "text file)")
    return files, problems
