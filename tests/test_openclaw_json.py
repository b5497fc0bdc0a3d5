"""openclaw.json rendered per release (components/openclaw_json/render.py): the roster's shape, the
owners, the secret form of each field, the session visibility, agent-to-agent. Each branch is also
driven on its own with a release that differs in that one field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import agents
from components.config import StackConfig, parse_config
from components.openclaw_json import build_openclaw_json
from components.releases import RELEASES, Release
from engine.harness import RunResult, run_stack

ORIGIN = {"allowedOrigins": ["https://openclaw.teleport.lumie.example"]}
SECRETS = {"gateway.auth.token": "OPENCLAW_GATEWAY_TOKEN", "channels.telegram.botToken": "TELEGRAM_BOT_TOKEN",
           "models.providers.*.apiKey": "DEEPSEEK_API_KEY"}


def ref(var: str) -> dict[str, str]:
    return {"source": "env", "provider": "default", "id": var}


def _config(**raw: Any) -> StackConfig:
    return parse_config({"gateway": ORIGIN, **raw})


def _catalog(config: StackConfig) -> agents.Catalog:
    return agents.load_catalog(provider_models=config.models.model_refs)


def render(release: Release, **raw: Any) -> dict[str, Any]:
    config = _config(**raw)
    doc: dict[str, Any] = json.loads(build_openclaw_json(config, _catalog(config), release).render())
    return doc


def _secret(doc: dict[str, Any], where: str) -> Any:
    if where == "gateway.auth.token":
        return doc["gateway"]["auth"]["token"]
    if where == "channels.telegram.botToken":
        return doc["channels"]["telegram"]["botToken"]
    return doc["models"]["providers"]["deepseek"]["apiKey"]


def _stack_doc(run: RunResult) -> dict[str, Any]:
    (text,) = [r.properties["data"]["openclaw.json"] for r in run.kubernetes()
               if "openclaw.json" in (r.properties.get("data") or {})]
    doc: dict[str, Any] = json.loads(text)
    return doc


@pytest.mark.parametrize("version", ["2026.2.23", "2026.3.7", "2026.6.35"])
def test_list_releases_get_agents_list_and_no_owner_keys(version: str) -> None:
    doc = render(RELEASES[version])
    assert list(doc["agents"]) == ["defaults", "list"]
    assert next(a["id"] for a in doc["agents"]["list"]) == "main" and len(doc["agents"]["list"]) == 29
    assert doc["agents"]["defaults"] == {"model": {"primary": "deepseek/deepseek-v4-flash"}}
    assert "bindings" not in doc
    assert "sessions" not in doc["tools"]  # their default is already "tree"


def test_2026_9_6_gets_keyed_entries_with_explicit_owners() -> None:
    doc = render(RELEASES["2026.9.6"])
    roster = doc["agents"]
    assert list(roster) == ["defaults", "ownership", "entries"] and roster["ownership"] == "explicit"
    assert next(iter(roster["entries"])) == "main" and len(roster["entries"]) == 29
    assert roster["entries"]["data-analyst"] == {
        "name": "데이터 분석가 (Data Analyst)", "workspace": "/home/node/.openclaw/workspaces/data-analyst",
        "agentDir": "/home/node/.openclaw/agents/data-analyst/agent", "model": "deepseek/deepseek-v4-pro"}
    assert roster["defaults"]["systemAgent"] == roster["defaults"]["heartbeat"] == {"agentId": "main"}
    assert doc["bindings"] == [{"agentId": "main", "match": {"channel": "telegram", "accountId": "default"}}]
    assert doc["tools"]["sessions"] == {"visibility": "tree"}  # 2026.9.6 defaults to "all"


def test_telegram_off_renders_no_binding_and_no_token() -> None:
    doc = render(RELEASES["2026.9.6"], telegram={"enabled": False})
    assert "bindings" not in doc and "botToken" not in doc["channels"]["telegram"]
    assert "TELEGRAM_BOT_TOKEN" not in json.dumps(doc)


@pytest.mark.parametrize("version", sorted(RELEASES))
@pytest.mark.parametrize("where", sorted(SECRETS))
def test_each_secret_field_takes_the_form_its_release_accepts(version: str, where: str) -> None:
    release = RELEASES[version]
    value = _secret(render(release), where)
    var = SECRETS[where]
    assert value == (ref(var) if where in release.secret_ref_fields else "${" + var + "}")


@pytest.mark.parametrize("only", sorted(SECRETS))
def test_a_release_with_one_secret_ref_field_gets_exactly_that_one(only: str) -> None:
    release = dataclasses.replace(RELEASES["2026.2.23"], secret_ref_fields=frozenset({only}))
    doc = render(release)
    for where, var in SECRETS.items():
        assert _secret(doc, where) == (ref(var) if where == only else "${" + var + "}")


@pytest.mark.parametrize(("default", "rendered"), [("tree", None), ("all", {"visibility": "tree"})])
def test_session_visibility_is_rendered_only_where_the_default_changed(default: str, rendered: Any) -> None:
    release = dataclasses.replace(RELEASES["2026.2.23"], sessions_visibility_default=default)
    assert render(release)["tools"].get("sessions") == rendered


@pytest.mark.parametrize("shape", ["list", "entries"])
def test_the_shape_follows_the_release_alone(shape: str) -> None:
    release = dataclasses.replace(RELEASES["2026.2.23"], config_shape=shape)
    doc = render(release)
    assert ("list" in doc["agents"], "entries" in doc["agents"], "bindings" in doc) == (
        shape == "list", shape == "entries", shape == "entries")


def test_agent_to_agent_lists_every_requester_and_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = render(RELEASES["2026.9.6"])
    allow = doc["tools"]["agentToAgent"]["allow"]
    catalog = _catalog(_config())
    for agent in catalog.agents:
        for target in agent.handoffs:
            assert agent.id in allow and target in allow
    assert doc["tools"]["agentToAgent"]["enabled"] is True
    # No hand-offs at all: an empty allow-list would allow every pair, so it is rendered disabled.
    (tmp_path / "catalog.yaml").write_text(
        "company: {name: Solo, summary: One agent.}\nagents:\n  - {id: main, name: Main, role: Routes work.}\n",
        encoding="utf-8")
    monkeypatch.setenv("OPENCLAW_AGENT_CATALOG", str(tmp_path / "catalog.yaml"))
    alone = render(RELEASES["2026.9.6"])
    assert alone["tools"]["agentToAgent"] == {"enabled": False, "allow": []}
    assert alone["agents"]["ownership"] == "explicit" and list(alone["agents"]["entries"]) == ["main"]


def test_prod_keeps_its_2026_2_23_config(prod: RunResult) -> None:
    """Prod stays on 2026.2.23 until promoted: placeholders, agents.list, no owner keys."""
    doc = _stack_doc(prod)
    assert doc["gateway"]["auth"]["token"] == "${OPENCLAW_GATEWAY_TOKEN}"
    assert "list" in doc["agents"] and "bindings" not in doc and "sessions" not in doc["tools"]


def test_a_tag_change_alone_changes_the_shape(dev: RunResult) -> None:
    old = _stack_doc(run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw",
                                                                    "tag": "2026.2.23"}}))
    new = _stack_doc(dev)
    assert [a["id"] for a in old["agents"]["list"]] == list(new["agents"]["entries"])
    assert old["models"]["providers"]["deepseek"]["models"] == new["models"]["providers"]["deepseek"]["models"]
    assert old["gateway"]["controlUi"] == new["gateway"]["controlUi"]
