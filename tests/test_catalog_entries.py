"""The agents' entries of openclaw.json as the catalog gives them (agents/__init__.py): both shapes
(`agents.list` to 2026.7.x, `agents.entries` from 2026.8.1), by default under the image's state
folder /home/node/.openclaw, and under another one when the stack sets it."""

from __future__ import annotations

from pathlib import Path

import yaml

import agents

MODELS = frozenset({"deepseek/deepseek-chat"})


def _catalog(tmp_path: Path) -> agents.Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"company": {"name": "Lumie", "summary": "Academy software."}, "agents": [
        {"id": "main", "name": "Main", "role": "routes work"},
        {"id": "sre", "name": "SRE", "role": "runs things", "model": "deepseek/deepseek-chat"},
    ]}), encoding="utf-8")
    return agents.load_catalog(path, provider_models=MODELS)


def _entries(home: str) -> dict[str, dict[str, object]]:
    return {"main": {"name": "Main", "workspace": f"{home}/workspace", "agentDir": f"{home}/agents/main/agent"},
            "sre": {"name": "SRE", "workspace": f"{home}/workspaces/sre", "agentDir": f"{home}/agents/sre/agent",
                    "model": "deepseek/deepseek-chat"}}


def test_the_entries_default_to_the_images_state_folder(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    assert catalog.agent_entries() == _entries("/home/node/.openclaw")
    assert list(catalog.agent_entries()) == ["main", "sre"]   # catalog order
    assert catalog.agents_list() == [{"id": k, **v} for k, v in _entries("/home/node/.openclaw").items()]


def test_the_entries_follow_another_state_folder(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    assert catalog.agent_entries("/state") == _entries("/state")
    assert catalog.agents_list("/state") == [{"id": k, **v} for k, v in _entries("/state").items()]
