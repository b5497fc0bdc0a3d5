"""openclaw.json as the program renders it (components/openclaw_json/), at its edges: where each agent of a
list-shape release lives on the volume, and the text the seeder writes (2-space JSON in the document's key
order, non-ASCII kept as UTF-8, one final newline) — what a reviewer reads in the ConfigMap diff."""

from __future__ import annotations

import json

import pytest

import agents
from components.openclaw_json import build_openclaw_json
from components.releases import RELEASES
from tests.test_openclaw_json import _catalog, _config

STATE = "/home/node/.openclaw"  # the state volume's mount in the gateway container (FACTS.md)
LIST_RELEASES = [v for v, r in RELEASES.items() if r.config_shape == "list"]


@pytest.mark.parametrize("version", LIST_RELEASES)
def test_each_listed_agent_lives_under_the_state_dir(version: str) -> None:
    config = _config()
    catalog = _catalog(config)
    doc = json.loads(build_openclaw_json(config, catalog, RELEASES[version]).render())
    listed = doc["agents"]["list"]
    assert [a["id"] for a in listed] == [a.id for a in catalog.agents]
    for entry in listed:
        workspace = f"{STATE}/workspace" if entry["id"] == agents.MAIN_AGENT else f"{STATE}/workspaces/{entry['id']}"
        assert (entry["workspace"], entry["agentDir"]) == (workspace, f"{STATE}/agents/{entry['id']}/agent")


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_the_text_is_indented_json_in_document_order_with_utf8_kept(version: str) -> None:
    config = _config()
    catalog = _catalog(config)
    first = catalog.agents[0].model_copy(update={"name": "Zoë — Café"})
    catalog = catalog.model_copy(update={"agents": [first, *catalog.agents[1:]]})
    text = build_openclaw_json(config, catalog, RELEASES[version]).render()
    doc = json.loads(text)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "Zoë — Café" in text and "\\u" not in text            # UTF-8 as is, not \u escapes
    lines = text.splitlines()
    assert lines[0] == "{" and lines[1].startswith('  "') and not lines[1].startswith('   ')   # two spaces a level
    # keys in the document's own order (the order OpenClaw's docs show), not sorted
    assert [line.split('"')[1] for line in lines if line.startswith('  "')] == list(doc)
    assert list(doc) != sorted(doc)
