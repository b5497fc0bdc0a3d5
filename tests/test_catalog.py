"""The agent catalog: the real one loads within OpenClaw's limits; every bad catalog is named."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import agents
from agents.model import MAX_AGENT_CHARS, MAX_FILE_CHARS
from engine.harness import RunResult, run_stack

MODELS = frozenset({"deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-pro"})
COMPANY = {"name": "Lumie", "summary": "Academy software."}


def _catalog(tmp_path: Path, agent_list: list[dict[str, Any]], company: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"company": company or COMPANY, "agents": agent_list}), encoding="utf-8")
    return path


def _agent(agent_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": agent_id, "name": agent_id.title(), "role": f"does {agent_id} work", **fields}


def test_real_catalog() -> None:
    catalog = agents.load_catalog(provider_models=MODELS)
    ids = [a.id for a in catalog.agents]
    assert len(ids) == 29 and ids[0] == "main" and len(set(ids)) == 29
    assert not set(ids) & agents.RETIRED_AGENT_IDS
    for agent_id, files in catalog.workspace_files().items():
        assert set(files) == {"IDENTITY.md", "SOUL.md", "AGENTS.md", "TOOLS.md", "USER.md", "BOOTSTRAP.md"}
        assert all(len(t) <= MAX_FILE_CHARS for t in files.values())
        assert sum(len(t) for t in files.values()) <= MAX_AGENT_CHARS
        assert "${" not in "".join(files.values()), agent_id  # every template field filled
    data = agents.seed_configmap_data(catalog)
    assert max(len(json.dumps(d).encode()) for d in data.values()) < 100 * 1024  # far below 1 MiB


def test_real_catalog_routes_work_to_every_agent() -> None:
    """Every agent is reachable from `main` through hand-offs: none waits for work that never comes."""
    catalog = agents.load_catalog(provider_models=MODELS)
    handoffs = {a.id: a.handoffs for a in catalog.agents}
    reached, todo = {"main"}, ["main"]
    while todo:
        for target in handoffs[todo.pop()]:
            if target not in reached:
                reached.add(target)
                todo.append(target)
    assert reached == set(handoffs)
    assert sum(a.model == "deepseek/deepseek-v4-pro" for a in catalog.agents) >= 2


def test_templates_are_filled_and_overrides_win() -> None:
    catalog = agents.load_catalog(provider_models=MODELS)
    files = catalog.workspace_files()
    sdr = next(a for a in catalog.agents if a.id == "sdr")
    assert f"- **Name:** {sdr.name}" in files["sdr"]["IDENTITY.md"]
    assert all(f"- `{t}`" in files["sdr"]["AGENTS.md"] for t in sdr.handoffs)
    override = (Path(agents.__file__).parent / "overrides" / "main" / "SOUL.md").read_text(encoding="utf-8")
    assert files["main"]["SOUL.md"] == override
    assert files["main"]["IDENTITY.md"].startswith("# Identity")  # no override: the template


def test_openclaw_json_derives_from_the_catalog(prod: RunResult, dev: RunResult) -> None:
    """In both shapes: agents.list (prod, 2026.2.23) and keyed agents.entries (dev, 2026.9.6)."""
    catalog = agents.load_catalog(provider_models=MODELS)
    (config,) = [r for r in prod.kubernetes() if "openclaw.json" in r.properties.get("data", {})]
    doc = json.loads(config.properties["data"]["openclaw.json"])
    assert doc["agents"]["list"] == catalog.agents_list()
    analyst = next(a for a in doc["agents"]["list"] if a["id"] == "data-analyst")
    assert analyst == {"id": "data-analyst", "name": "데이터 분석가 (Data Analyst)",
                       "workspace": "/home/node/.openclaw/workspaces/data-analyst",
                       "agentDir": "/home/node/.openclaw/agents/data-analyst/agent",
                       "model": "deepseek/deepseek-v4-pro"}
    assert doc["agents"]["list"][0]["workspace"] == "/home/node/.openclaw/workspace"
    assert doc["tools"]["agentToAgent"] == {"enabled": True, "allow": catalog.agent_to_agent_allow()}
    assert len(doc["tools"]["agentToAgent"]["allow"]) == 29
    (config,) = [r for r in dev.kubernetes() if "openclaw.json" in r.properties.get("data", {})]
    keyed = json.loads(config.properties["data"]["openclaw.json"])
    assert keyed["agents"]["entries"] == {a["id"]: {k: v for k, v in a.items() if k != "id"}
                                          for a in catalog.agents_list()}
    assert list(keyed["agents"]["entries"]) == [a.id for a in catalog.agents]
    assert keyed["tools"]["agentToAgent"] == doc["tools"]["agentToAgent"]


def test_one_seed_configmap_per_agent(dev: RunResult) -> None:
    seeds = [r for r in dev.kubernetes() if r.properties["metadata"]["name"].startswith("openclaw-seed-")
             and agents.SEED_SCRIPT.name not in r.properties.get("data", {})]
    assert len(seeds) == 29
    assert all(len(json.dumps(r.properties).encode()) < 1024 * 1024 for r in seeds)
    (seed,) = [c for c in dev.find("Deployment", "openclaw").properties["spec"]["template"]["spec"]["initContainers"]
               if c["name"] == "seed"]
    env = {e["name"]: e.get("value") for e in seed["env"]}
    assert env["OPENCLAW_AGENT_IDS"].split()[0] == "main" and len(env["OPENCLAW_AGENT_IDS"].split()) == 29


BAD: list[tuple[str, list[dict[str, Any]], list[str]]] = [
    ("no main", [_agent("helper")], ["main.id: no `main` agent (got ids helper"]),
    ("main not first", [_agent("helper"), _agent("main")],
     ["main.id: not the first agent (got position 2; expected 1)"]),
    ("duplicate id", [_agent("main"), _agent("sre"), _agent("sre")], ["sre.id: duplicate id"]),
    ("not a DNS label", [_agent("main"), _agent("Data_Analyst")], ["Data_Analyst.id: not a DNS label"]),
    ("retired id", [_agent("main"), _agent("sales"), _agent("cs")],
     ["sales.id: retired id reused", "cs.id: retired id reused"]),
    ("unknown model", [_agent("main", model="openai/gpt-5")],
     ["main.model: not a configured provider model (got 'openai/gpt-5'"]),
    ("unknown hand-off", [_agent("main", handoffs=["ghost"])], ["main.handoffs: unknown agent (got 'ghost'"]),
    ("hand-off to itself", [_agent("main", handoffs=["main"])], ["main.handoffs: hands off to itself"]),
    ("hand-off twice", [_agent("main", handoffs=["sre", "sre"]), _agent("sre")], ["main.handoffs: listed twice"]),
    ("wrong type", [_agent("main", name=7)], ["main.name: invalid value (got 7; expected a valid string)"]),
    ("entry without id", [_agent("main"), {"name": "Nameless", "role": "r"}],
     ["agents[1].id: required field is missing"]),
    ("not a mapping entry", [_agent("main"), "helper"], ["agents[1]: invalid value (got 'helper'"]),
    # OpenClaw counts JavaScript string length (UTF-16 code units): an emoji is 2, not 1.
    ("emoji count twice", [_agent("main"), _agent("helper", role="\U0001F4DA" * 9_990)],
     ["helper.IDENTITY.md: too long (got 20"]),
    ("file too long", [_agent("main"), _agent("helper", role="x" * 25_000)],
     ["helper.IDENTITY.md: too long (got 25", "helper.SOUL.md: too long (got 25"]),
    ("missing field", [{"id": "main", "name": "Main"}], ["main.role: required field is missing"]),
    ("unknown field", [_agent("main", skills=["x"])],
     ["main.skills: unknown field (got ['x']; expected only id, name, role, handoffs, model)"]),
]


@pytest.mark.parametrize(("case", "agent_list", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_catalog_names_agent_and_field(tmp_path: Path, case: str, agent_list: list[dict[str, Any]],
                                           expected: list[str]) -> None:
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, agent_list), provider_models=MODELS)
    lines = str(info.value).splitlines()
    for words in expected:
        assert any(line.startswith(f"  - {words}") for line in lines), (words, lines)


def test_agent_total_limit_counts_override_files(tmp_path: Path) -> None:
    own = tmp_path / "overrides" / "helper"
    own.mkdir(parents=True)
    for i in range(8):
        (own / f"NOTES{i}.md").write_text("z" * 19_000, encoding="utf-8")
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, [_agent("main"), _agent("helper")]), provider_models=MODELS)
    (line,) = str(info.value).splitlines()
    assert line.startswith("  - helper.files: too long in all (got 15") and "expected at most 150000" in line


def test_every_violation_at_once(tmp_path: Path) -> None:
    agent_list = [_agent("sales"), _agent("x", handoffs=["ghost"], model="m/none"), _agent("x")]
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, agent_list), provider_models=MODELS)
    assert len(info.value.problems) == 5


def test_catalog_override_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(agents.CATALOG_ENV, str(_catalog(tmp_path, [_agent("main"), _agent("helper")])))
    assert [a.id for a in agents.load_catalog(provider_models=MODELS).agents] == ["main", "helper"]


def test_bad_catalog_stops_the_program_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components.config import ConfigError
    monkeypatch.setenv(agents.CATALOG_ENV, str(_catalog(tmp_path, [_agent("main", handoffs=["ghost"])])))
    with pytest.raises(ConfigError, match=r"invalid agent catalog:\n  - main\.handoffs: unknown agent"):
        run_stack("dev")


def test_unreadable_catalog(tmp_path: Path) -> None:
    with pytest.raises(agents.CatalogError, match="cannot read the catalog"):
        agents.load_catalog(tmp_path / "none.yaml", provider_models=MODELS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents: [", encoding="utf-8")
    with pytest.raises(agents.CatalogError, match="not valid YAML"):
        agents.load_catalog(bad, provider_models=MODELS)


def test_a_broken_entry_hides_no_other_violation(tmp_path: Path) -> None:
    agent_list = [_agent("main"), {"id": "broken", "name": "Broken", "handoffs": ["phantom"]},
                  _agent("helper", handoffs=["broken", "ghost"], model="m/none")]
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, agent_list), provider_models=MODELS)
    assert [p.split(" (")[0] for p in info.value.problems] == [
        "broken.role: required field is missing",
        "helper.model: not a configured provider model",
        "helper.handoffs: unknown agent",  # 'ghost' only: 'broken' is named by the file, just invalid
        "broken.handoffs: unknown agent",  # the broken entry's valid fields are still checked
    ]
    assert "'ghost'" in info.value.problems[2] and "'phantom'" in info.value.problems[3]


@pytest.mark.parametrize(("text", "expected"), [
    ("", "catalog: not a mapping (got NoneType"),
    ("- main\n", "catalog: not a mapping (got list"),
    ("company: {name: L, summary: S}\n", "catalog.agents: no agent list (got None"),
    ("company: {name: L}\nagents: [{id: main, name: M, role: R}]\nextra: 1\n",
     "catalog.extra: unknown key (got 'extra'"),
])
def test_malformed_catalog_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(path, provider_models=MODELS)
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_company_fields_are_checked(tmp_path: Path) -> None:
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, [_agent("main")], company={"name": ""}), provider_models=MODELS)
    assert [p.split(" (")[0] for p in info.value.problems] == [
        "company.name: invalid value", "company.summary: required field is missing"]


def test_overrides_that_would_be_ignored_or_break_the_configmaps(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides"
    (overrides / "mian").mkdir(parents=True)                # a typo: no such agent
    (overrides / "main" / "memory").mkdir(parents=True)     # folders are not seeded
    (overrides / "main" / "my notes.md").write_text("x")    # not a ConfigMap key
    (overrides / "main" / ".SOUL.md.swp").write_text("x")   # hidden: the seeder never copies it
    (overrides / "main" / "LOGO.md").write_bytes(b"\xff\xfe\x00")
    (overrides / "README.md").write_text("x")
    (overrides / "main" / "HEARTBEAT.md").write_text("beat\n")
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, [_agent("main")]), provider_models=MODELS)
    assert [p.split(" (")[0] for p in info.value.problems] == [
        "overrides.README.md: not a folder",
        "main..SOUL.md.swp: not a valid file name",
        "main.LOGO.md: not UTF-8 text",
        "main.memory: not a file",
        "main.my notes.md: not a valid file name",
        "mian.overrides: no such agent",
    ]


def test_overrides_live_next_to_the_catalog(tmp_path: Path) -> None:
    (tmp_path / "overrides" / "helper").mkdir(parents=True)
    (tmp_path / "overrides" / "helper" / "HEARTBEAT.md").write_text("check the queue\n", encoding="utf-8")
    catalog = agents.load_catalog(_catalog(tmp_path, [_agent("main"), _agent("helper")]), provider_models=MODELS)
    files = catalog.workspace_files()
    assert files["helper"]["HEARTBEAT.md"] == "check the queue\n"
    # The packaged catalog's overrides (main's SOUL.md) do not leak into another catalog.
    assert files["main"]["SOUL.md"].startswith("# Soul\n\nYou are Main at Lumie.")


def test_every_problem_names_agent_field_value_and_expectation(tmp_path: Path) -> None:
    agent_list = [_agent("Helper", handoffs=["main", "main", "ghost"], model="x/y", extra=1),
                  _agent("main", handoffs=["main"]), _agent("cs", name=""), _agent("cs", role="\U0001F4DA" * 80_000),
                  {"name": "no id"}]
    (tmp_path / "overrides" / "nobody").mkdir(parents=True)
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, agent_list), provider_models=MODELS)
    assert len(info.value.problems) >= 15
    for problem in info.value.problems:
        assert re.fullmatch(r"[\w\[\].-]+\.[\w.-]+: [^()]+ \(got .+; expected .+\)", problem, re.DOTALL), problem


def test_seed_configmaps_are_named_by_their_content(dev: RunResult) -> None:
    from components.gateway import content_name
    catalog = agents.load_catalog(provider_models=MODELS)
    names = {r.properties["metadata"]["name"] for r in dev.kubernetes()}
    for agent_id, files in agents.seed_configmap_data(catalog).items():
        assert content_name(f"openclaw-seed-{agent_id}", files) in names
    files = {"SOUL.md": "soul\n", "AGENTS.md": "agents\n"}
    assert content_name("x", files) == content_name("x", dict(reversed(files.items())))  # key order irrelevant
    assert content_name("x", {"ab": "c"}) != content_name("x", {"a": "bc"})  # separators count
    assert content_name("x", files) != content_name("x", {**files, "SOUL.md": "soul!\n"})
