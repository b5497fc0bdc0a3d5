"""The agent catalog at its edges (agents/model.py, agents/workspace.py, agents/__init__.py): each
limit just inside and just outside, each rule's message in full (the user reads it to fix the
catalog), each template field with and without its value, and the files read the same whatever the
machine's locale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import agents
from agents.model import MAX_AGENT_CHARS, MAX_FILE_CHARS

MODELS = frozenset({"deepseek/deepseek-chat", "deepseek/deepseek-reasoner"})
COMPANY = {"name": "Lumie", "summary": "Academy software."}
REPO = Path(__file__).resolve().parent.parent


def _catalog(tmp_path: Path, agent_list: list[Any], company: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"company": company or COMPANY, "agents": agent_list}, allow_unicode=True),
                    encoding="utf-8")
    return path


def _agent(agent_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": agent_id, "name": agent_id.title(), "role": f"does {agent_id} work", **fields}


def _problems(tmp_path: Path, agent_list: list[Any], **kwargs: Any) -> list[str]:
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(_catalog(tmp_path, agent_list, **kwargs), provider_models=MODELS)
    assert str(info.value) == "\n".join(f"  - {p}" for p in info.value.problems)
    return info.value.problems


def _files(tmp_path: Path, agent_list: list[Any]) -> dict[str, dict[str, str]]:
    return agents.load_catalog(_catalog(tmp_path, agent_list), provider_models=MODELS).workspace_files()


def test_the_catalog_reads_the_same_whatever_the_locale(tmp_path: Path) -> None:
    """Templates (SOUL.md has non-ASCII text), overrides and the catalog are read as UTF-8: under the
    POSIX locale with Python's UTF-8 mode off, the default encoding is ASCII."""
    own = tmp_path / "overrides" / "main"
    own.mkdir(parents=True)
    (own / "USER.md").write_text("사용자: 민아 ✓\n", encoding="utf-8")
    path = _catalog(tmp_path, [_agent("main", role="운영 총괄")])
    here = agents.load_catalog(path, provider_models=MODELS).workspace_files()
    script = ("import json, sys, agents; c = agents.load_catalog(__import__('pathlib').Path(sys.argv[1]), "
              "provider_models=frozenset()); print(json.dumps(c.workspace_files()))")
    env = {**os.environ, "LC_ALL": "C", "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-X", "utf8=0", "-c", script, str(path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, encoding="utf-8", check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == here
    assert here["main"]["USER.md"] == "사용자: 민아 ✓\n" and "운영 총괄" in here["main"]["IDENTITY.md"]


def test_each_agent_is_told_its_own_model_or_the_primary(tmp_path: Path) -> None:
    files = _files(tmp_path, [_agent("main"), _agent("analyst", model="deepseek/deepseek-reasoner")])
    assert "\n- Model: the stack's primary model (agents.defaults.model.primary).\n" in files["main"]["TOOLS.md"]
    assert "\n- Model: deepseek/deepseek-reasoner.\n" in files["analyst"]["TOOLS.md"]


def test_hand_offs_are_listed_one_per_line_or_nobody(tmp_path: Path) -> None:
    files = _files(tmp_path, [_agent("main", handoffs=["sre", "analyst"]), _agent("sre"), _agent("analyst")])
    assert "You may hand off to:\n- `sre`\n- `analyst`\n\nAnything else" in files["main"]["AGENTS.md"]
    assert "You may hand off to:\n- nobody: report back to `main`\n\nAnything else" in files["sre"]["AGENTS.md"]


def test_every_override_problem_is_named_in_full_and_none_hides_the_next(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides"
    (overrides / "aaa").mkdir(parents=True)                 # sorted first: the folders after it still count
    (overrides / "main" / "memory").mkdir(parents=True)
    (overrides / "main" / "my notes.md").write_text("x")
    (overrides / "main" / "LOGO.md").write_bytes(b"\xff")
    (overrides / "README.md").write_text("x")
    assert _problems(tmp_path, [_agent("main")]) == [
        "overrides.README.md: not a folder (got a file; expected only overrides/<agent id>/ folders)",
        "aaa.overrides: no such agent (got overrides/aaa/; expected a folder named after a catalog id: "
        "rename or remove it)",
        "main.LOGO.md: not UTF-8 text (got undecodable bytes; expected a Markdown or text file)",
        "main.memory: not a file (got a folder; expected files only: seed ConfigMaps carry flat files)",
        "main.my notes.md: not a valid file name (got 'my notes.md'; expected letters, digits, '-', '_' and '.', "
        "not starting with '.')",
    ]


@pytest.mark.parametrize(("name", "valid"), [("A", True), ("9.md", True), ("a" * 253, True), ("a" * 254, False),
                                             ("-x.md", False), ("_x.md", False), (".x", False), ("x y", False),
                                             ("x-y_z.1", True)])
def test_an_override_file_name_is_a_configmap_key_not_starting_with_a_dot(tmp_path: Path, name: str,
                                                                           valid: bool) -> None:
    own = tmp_path / "overrides" / "main"
    own.mkdir(parents=True)
    (own / name).write_text("own\n")
    if valid:
        assert _files(tmp_path, [_agent("main")])["main"][name] == "own\n"
    else:
        (problem,) = _problems(tmp_path, [_agent("main")])
        assert problem.startswith(f"main.{name}: not a valid file name (got {name!r};")


@pytest.mark.parametrize(("extra", "ok"), [(0, True), (1, False)], ids=["at the limit", "one over"])
def test_a_file_may_hold_exactly_openclaws_limit(tmp_path: Path, extra: int, ok: bool) -> None:
    own = tmp_path / "overrides" / "main"
    own.mkdir(parents=True)
    # An emoji is 2 UTF-16 code units, as OpenClaw counts it.
    emoji = (MAX_FILE_CHARS - 1) // 2
    text = "x" * (MAX_FILE_CHARS - 2 * emoji + extra) + "\U0001F4DA" * emoji
    (own / "NOTES.md").write_text(text, encoding="utf-8")
    if ok:
        assert _files(tmp_path, [_agent("main")])["main"]["NOTES.md"] == text
    else:
        assert _problems(tmp_path, [_agent("main")]) == [
            f"main.NOTES.md: too long (got {MAX_FILE_CHARS + 1} characters; expected at most {MAX_FILE_CHARS}: "
            "OpenClaw cuts the rest)"]


@pytest.mark.parametrize(("extra", "ok"), [(0, True), (1, False)], ids=["at the limit", "one over"])
def test_an_agent_may_hold_exactly_openclaws_total(tmp_path: Path, extra: int, ok: bool) -> None:
    own = tmp_path / "overrides" / "main"
    own.mkdir(parents=True)
    (own / "IDENTITY.md").write_text("", encoding="utf-8")
    base = sum(agents.model.js_length(t) for t in _files(tmp_path, [_agent("main")])["main"].values())
    left = MAX_AGENT_CHARS - base + extra
    for i in range(left // MAX_FILE_CHARS + 1):
        size = min(MAX_FILE_CHARS, left - i * MAX_FILE_CHARS)
        (own / f"NOTES{i}.md").write_text("z" * size, encoding="utf-8")
    if ok:
        files = _files(tmp_path, [_agent("main")])["main"]
        assert sum(agents.model.js_length(t) for t in files.values()) == MAX_AGENT_CHARS
    else:
        assert _problems(tmp_path, [_agent("main")]) == [
            f"main.files: too long in all (got {MAX_AGENT_CHARS + 1} characters; expected at most "
            f"{MAX_AGENT_CHARS}: OpenClaw drops what is over)"]


def _raw_problems(tmp_path: Path, raw: bytes) -> list[str]:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(raw)
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(path, provider_models=MODELS)
    return info.value.problems


NO_MAIN = "main.id: no `main` agent (got ids none; expected an agent with id `main`, first: it routes all work)"
BAD_FILES: dict[str, tuple[bytes, list[str]]] = {
    "a list": (b"- main\n", ["catalog: not a mapping (got list; expected the keys company and agents)", NO_MAIN]),
    "an empty agent list": (b"company: {name: L, summary: S}\nagents: []\n",
                            ["catalog.agents: no agent list (got []; expected a list of agents, `main` first)",
                             NO_MAIN]),
    "agents as text": (b"company: {name: L, summary: S}\nagents: main\n",
                       ["catalog.agents: no agent list (got 'main'; expected a list of agents, `main` first)",
                        NO_MAIN]),
    "not UTF-8": (b"company: {name: L, summary: S}\nagents: [{id: main, name: \xff, role: r}]\n",
                  ["{path}: not UTF-8 text (save the catalog as UTF-8)"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_malformed_catalog_file_is_named_in_full(tmp_path: Path, case: str) -> None:
    raw, expected = BAD_FILES[case]
    assert _raw_problems(tmp_path, raw) == [p.format(path=tmp_path / "catalog.yaml") for p in expected]


BAD_ENTRIES: dict[str, tuple[list[Any], dict[str, Any], list[str]]] = {
    "an unknown company field": ([_agent("main")], {**COMPANY, "logo": 1},
                                 ["company.logo: unknown field (got 1; expected only name, summary)"]),
    "no main, by name": ([_agent("helper"), _agent("other")], COMPANY,
                         ["main.id: no `main` agent (got ids helper, other; expected an agent with id `main`, first: "
                          "it routes all work)"]),
    "no id at all": ([{"name": "N", "role": "r"}], COMPANY,
                     ["agents[0].id: required field is missing (got nothing; expected a value)", NO_MAIN]),
    # An entry whose id is no text is named by its position, and its valid fields are still checked.
    "an id that is no text": ([_agent("main"), {"id": 7, "name": "N", "role": "r", "handoffs": ["ghost"]}], COMPANY,
                              ["agents[1].id: invalid value (got 7; expected a valid string)",
                               "agents[1].handoffs: unknown agent (got 'ghost'; expected an id of the catalog)"]),
    # A field that failed is not checked again as if it were valid (hand-offs given as text).
    "hand-offs as text": ([_agent("main"), _agent("helper", handoffs="ghost")], COMPANY,
                          ["helper.handoffs: invalid value (got 'ghost'; expected a valid list)"]),
    "an unknown key before a broken entry": (
        [_agent("main"), {"id": "x", "name": ""}], COMPANY,
        ["catalog.other: unknown key (got 'other'; expected only company, agents)",
         "x.name: invalid value (got ''; expected string should have at least 1 character)",
         "x.role: required field is missing (got nothing; expected a value)"]),
    "ids: case, retired, three times": ([_agent("main"), _agent("Bad"), _agent("sales"), *[_agent("x")] * 3], COMPANY,
                                        ["Bad.id: not a DNS label (got 'Bad'; expected lower-case letters, digits and "
                                         "'-', at most 63, starting and ending with a letter or digit)",
                                         "sales.id: retired id reused (got 'sales'; expected a new id: cs, growth, "
                                         "sales are archived on the volume)",
                                         "x.id: duplicate id (got 'x' 3 times; expected each id once)",
                                         "x.id: duplicate id (got 'x' 3 times; expected each id once)"]),
    "a model no provider offers": ([_agent("main", model="m/x")], COMPANY,
                                   ["main.model: not a configured provider model (got 'm/x'; expected one of "
                                    "deepseek/deepseek-chat, deepseek/deepseek-reasoner, or no model to use the "
                                    "primary)"]),
}


@pytest.mark.parametrize("case", sorted(BAD_ENTRIES))
def test_each_catalog_problem_is_named_in_full(tmp_path: Path, case: str) -> None:
    agent_list, company, expected = BAD_ENTRIES[case]
    path = tmp_path / "catalog.yaml"
    doc: dict[str, Any] = {"company": company, "agents": agent_list}
    if case.startswith("an unknown key"):
        doc["other"] = 1
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(agents.CatalogError) as info:
        agents.load_catalog(path, provider_models=MODELS)
    assert info.value.problems == expected


@pytest.mark.parametrize(("length", "valid"), [(1, True), (63, True), (64, False)])
def test_an_id_is_a_dns_label_of_at_most_63(tmp_path: Path, length: int, valid: bool) -> None:
    agent_id = "a" * length
    if valid:
        assert _files(tmp_path, [_agent("main"), _agent(agent_id)])[agent_id]
    else:
        (problem,) = _problems(tmp_path, [_agent("main"), _agent(agent_id)])
        assert problem.startswith(f"{agent_id}.id: not a DNS label (got '{agent_id}';")


def test_agent_to_agent_allows_who_hands_off_and_who_is_handed_work_in_catalog_order(tmp_path: Path) -> None:
    # b only hands off, c is only handed work, d neither: d is not allowed.
    catalog = agents.load_catalog(_catalog(tmp_path, [_agent("main"), _agent("d"), _agent("c"),
                                                      _agent("b", handoffs=["c"])]), provider_models=MODELS)
    assert catalog.agent_to_agent_allow() == ["c", "b"]
    catalog = agents.load_catalog(_catalog(tmp_path, [_agent("main", handoffs=["b"]), _agent("b")]),
                                  provider_models=MODELS)
    assert catalog.agent_to_agent_allow() == ["main", "b"]
