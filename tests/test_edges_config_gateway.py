"""Edges of the gateway's config (components/config/gateway.py) through the stack config's loading:
each rule of a provider and of the origins on its own, just inside and just outside, and the whole
line a user reads."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}
MODELS = [{"id": "m", "name": "M"}]


def _provider(**changes: Any) -> dict[str, Any]:
    return {"baseUrl": "https://api.example.test/v1", "apiKeyEnv": "P_KEY", "models": MODELS, **changes}


def _models(providers: dict[str, Any], primary: str = "p/m") -> Any:
    return parse_config({"gateway": ORIGIN, "models": {"primary": primary, "providers": providers}}).models


def _line(raw: dict[str, Any], key: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": ORIGIN, **raw})
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - {key}: ")]
    assert len(lines) == 1, str(info.value)
    return lines[0]


@pytest.mark.parametrize("url", ["https://api.example.test", "https://api.example.test:8443",
                                 "https://api.example.test/v1/chat", "https://10.0.0.1:443/"])
def test_an_https_base_url_is_accepted(url: str) -> None:
    assert _models({"p": _provider(baseUrl=url)}).providers["p"].base_url == url


@pytest.mark.parametrize("url", ["http://api.example.test", "https://API.example.test", "https://", "api.example.test",
                                 "https://api.example.test:port", "ftp://api.example.test"])
def test_a_base_url_that_is_not_https_names_the_key_and_the_form(url: str) -> None:
    raw = {"models": {"primary": "p/m", "providers": {"p": _provider(baseUrl=url)}}}
    assert _line(raw, "openclaw:models.providers.p.baseUrl") == (
        "  - openclaw:models.providers.p.baseUrl: must be an https:// URL such as https://api.deepseek.com/v1 "
        f"(got \"{url}\")")


@pytest.mark.parametrize("env", ["P", "P_KEY", "_P", "P2_KEY"])
def test_an_env_name_is_accepted(env: str) -> None:
    assert _models({"p": _provider(apiKeyEnv=env)}).providers["p"].api_key_env == env


@pytest.mark.parametrize("env", ["p_key", "2P", "P-KEY", "", "P KEY"])
def test_an_env_name_that_is_not_one_names_the_key(env: str) -> None:
    raw = {"models": {"primary": "p/m", "providers": {"p": _provider(apiKeyEnv=env)}}}
    assert _line(raw, "openclaw:models.providers.p.apiKeyEnv") == (
        "  - openclaw:models.providers.p.apiKeyEnv: must be an upper-case environment variable name such as "
        f"DEEPSEEK_API_KEY (got \"{env}\")")


def test_a_provider_needs_a_model() -> None:
    raw = {"models": {"primary": "p/m", "providers": {"p": _provider(models=[])}}}
    assert _line(raw, "openclaw:models.providers.p.models") == (
        "  - openclaw:models.providers.p.models: must list at least one model (got [])")


def test_model_ids_are_distinct_within_a_provider() -> None:
    models = [{"id": "b", "name": "B"}, {"id": "a", "name": "A"}, {"id": "b", "name": "B2"},
              {"id": "a", "name": "A2"}, {"id": "c", "name": "C"}]
    raw = {"models": {"primary": "p/c", "providers": {"p": _provider(models=models)}}}
    assert _line(raw, "openclaw:models.providers.p.models").startswith(
        "  - openclaw:models.providers.p.models: duplicate model ids ['a', 'b'] (got ")
    one = [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]
    assert _models({"p": _provider(models=one)}, "p/b").model_refs == {"p/a", "p/b"}


def test_the_same_id_under_two_providers_is_two_models() -> None:
    models = _models({"p": _provider(), "q": _provider(apiKeyEnv="Q_KEY")}, "q/m")
    assert models.model_refs == {"p/m", "q/m"} and models.primary == "q/m"


def test_models_need_a_provider() -> None:
    assert _line({"models": {"providers": {}}}, "openclaw:models") == (
        "  - openclaw:models: providers: configure at least one model provider (got {\"providers\": {}})")


def test_the_primary_model_must_be_configured() -> None:
    line = _line({"models": {"primary": "p/x", "providers": {"p": _provider()}}}, "openclaw:models")
    assert line.startswith("  - openclaw:models: primary 'p/x' is not a configured model; expected one of ['p/m'] "
                           "(got ")


def test_two_providers_need_two_keys() -> None:
    providers = {"p": _provider(), "q": _provider(), "r": _provider(apiKeyEnv="R_KEY")}
    line = _line({"models": {"primary": "p/m", "providers": providers}}, "openclaw:models")
    assert line.startswith("  - openclaw:models: providers share apiKeyEnv ['P_KEY']: each provider needs its own key")


def test_the_default_models_are_deepseeks_current_ones() -> None:
    models = parse_config({"gateway": ORIGIN}).models
    assert models.primary == "deepseek/deepseek-v4-flash"
    assert models.model_refs == {"deepseek/deepseek-v4-flash", "deepseek/deepseek-v4-pro"}
    deepseek = models.providers["deepseek"]
    assert (deepseek.base_url, deepseek.api, deepseek.api_key_env) == (
        "https://api.deepseek.com/v1", "openai-completions", "DEEPSEEK_API_KEY")
    assert [(m.id, m.name) for m in deepseek.models] == [("deepseek-v4-flash", "DeepSeek V4 Flash"),
                                                         ("deepseek-v4-pro", "DeepSeek V4 Pro")]


@pytest.mark.parametrize("origins", [["https://ui.example.test"], ["https://ui.example.test:3080", "https://b.test"]])
def test_origins_that_are_hosts_are_accepted(origins: list[str]) -> None:
    assert parse_config({"gateway": {"allowedOrigins": origins}}).gateway.allowed_origins == origins


def test_no_origin_names_the_teleport_app() -> None:
    assert _line({"gateway": {"allowedOrigins": []}}, "openclaw:gateway.allowedOrigins") == (
        "  - openclaw:gateway.allowedOrigins: list the Teleport app origin, e.g. "
        "https://openclaw.teleport.example.com (got [])")


def test_each_bad_origin_is_named() -> None:
    origins = ["https://ok.test", "http://a.test", "https://b.test/", "https://C.test"]
    assert _line({"gateway": {"allowedOrigins": origins}}, "openclaw:gateway.allowedOrigins").startswith(
        "  - openclaw:gateway.allowedOrigins: origins must be https://host[:port] with no path, got "
        "['http://a.test', 'https://b.test/', 'https://C.test'] (got ")
