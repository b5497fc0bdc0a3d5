"""agents/seed.mjs reads both secret forms a rendered openclaw.json carries: `${VAR}` placeholders
(2026.2.23) and env SecretRef objects (2026.3.7 and later, components/openclaw_json/render.py), and
refuses to seed while one of their variables is missing or empty."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.harness import run_stack
from tests.seed_fixtures import SECRETS, Volume, error_line, summary


def ref(var: str, source: str = "env") -> dict[str, str]:
    return {"source": source, "provider": "default", "id": var}


REFS = {"gateway": {"auth": {"token": ref("OPENCLAW_GATEWAY_TOKEN")}},
        "channels": {"telegram": {"botToken": ref("TELEGRAM_BOT_TOKEN")}},
        "models": {"providers": {"deepseek": {"apiKey": ref("DEEPSEEK_API_KEY")}}}}


def _named(result: Any) -> set[str]:
    line = error_line(result)
    assert ": missing or empty environment variables:" in line, line
    return set(line.partition("variables:")[2].split(";")[0].split())


def test_secret_refs_with_their_variables_seed(volume: Volume) -> None:
    volume.write_config(REFS)
    result = volume.run()
    assert result.returncode == 0, result.stderr
    assert summary(result)["seeded"] == 4


@pytest.mark.parametrize("var", ["OPENCLAW_GATEWAY_TOKEN", "TELEGRAM_BOT_TOKEN", "DEEPSEEK_API_KEY"])
@pytest.mark.parametrize("broken", ["missing", "empty"])
def test_each_secret_ref_variable_is_required(volume: Volume, var: str, broken: str) -> None:
    volume.write_config(REFS)
    env = dict(SECRETS)
    if broken == "missing":
        del env[var]
    else:
        env[var] = ""
    result = volume.run(env=env)
    assert result.returncode == 1
    assert _named(result) == {var}
    assert not volume.state.exists() or not any(volume.state.iterdir())


def test_a_ref_in_a_list_and_a_mixed_config_are_found(volume: Volume) -> None:
    volume.write_config({**REFS, "extra": [{"nested": ref("LISTED_VAR")}], "plain": "${PLACEHOLDER_VAR}"})
    assert _named(volume.run()) == {"LISTED_VAR", "PLACEHOLDER_VAR"}


@pytest.mark.parametrize("node", [
    ref("FILE_ONLY", source="file"),                       # another source: not an environment variable
    {"source": "env", "id": "NO_PROVIDER"},                # not a SecretRef (no provider)
    {"source": "env", "provider": "default", "id": 7},     # id is no name
    "FILE_ONLY",                                           # a plain string
])
def test_what_is_not_an_env_secret_ref_is_not_required(volume: Volume, node: object) -> None:
    volume.write_config({**REFS, "other": node})
    result = volume.run()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("tag", ["2026.2.23", "2026.9.6"])
def test_the_rendered_config_names_its_secrets(volume: Volume, tag: str) -> None:
    """The config the program renders, in both secret forms: every secret it uses is required."""
    run = run_stack("dev", overrides={"openclaw:image": {"repository": "ghcr.io/openclaw/openclaw", "tag": tag}})
    (text,) = [r.properties["data"]["openclaw.json"] for r in run.kubernetes()
               if "openclaw.json" in (r.properties.get("data") or {})]
    volume.write_config(json.loads(text))
    result = volume.run(env={"OPENCLAW_DB_PASSWORD": SECRETS["OPENCLAW_DB_PASSWORD"]})
    assert _named(result) == {"OPENCLAW_GATEWAY_TOKEN", "TELEGRAM_BOT_TOKEN", "DEEPSEEK_API_KEY"}
    assert ("${" in text) is (tag == "2026.2.23")
