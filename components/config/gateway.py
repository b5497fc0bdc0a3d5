"""What the gateway runs: model providers, its listener and the Telegram channel."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import _ENV_NAME, Model


class ModelEntry(Model):
    id: str
    name: str


class ProviderConfig(Model):
    base_url: str
    api: Literal["openai-completions", "openai-responses", "anthropic-messages",
                 "google-generative-ai"] = "openai-completions"
    api_key_env: str  # the env var (and token-secret key) that holds this provider's API key
    models: list[ModelEntry]

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not re.match(r"^https://[a-z0-9.-]+(:[0-9]+)?(/.*)?$", value):
            raise ValueError("must be an https:// URL such as https://api.deepseek.com/v1")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("must be an upper-case environment variable name such as DEEPSEEK_API_KEY")
        return value

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[ModelEntry]) -> list[ModelEntry]:
        if not value:
            raise ValueError("must list at least one model")
        ids = [m.id for m in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate model ids {dupes}")
        return value


# DeepSeek retired `deepseek-chat` and `deepseek-reasoner` on 2026-07-24; the current models are
# `deepseek-v4-flash` and `deepseek-v4-pro` (docs/providers/deepseek.md in openclaw 2026.9.6's npm
# tarball). Model ids are release-neutral: the list-shaped releases send them as they are to the
# OpenAI-compatible API, 2026.6.9 and later through the `@openclaw/deepseek-provider` plugin.
def _default_providers() -> dict[str, ProviderConfig]:
    return {"deepseek": ProviderConfig(
        base_url="https://api.deepseek.com/v1", api="openai-completions",
        api_key_env="DEEPSEEK_API_KEY",
        models=[ModelEntry(id="deepseek-v4-flash", name="DeepSeek V4 Flash"),
                ModelEntry(id="deepseek-v4-pro", name="DeepSeek V4 Pro")])}


class ModelsConfig(Model):
    primary: str = "deepseek/deepseek-v4-flash"
    providers: dict[str, ProviderConfig] = Field(default_factory=_default_providers)

    @model_validator(mode="after")
    def _primary_known(self) -> ModelsConfig:
        if not self.providers:
            raise ValueError("providers: configure at least one model provider")
        if self.primary not in self.model_refs:
            raise ValueError(f"primary {self.primary!r} is not a configured model; expected one "
                             f"of {sorted(self.model_refs)}")
        envs = [p.api_key_env for p in self.providers.values()]
        dupes = sorted({e for e in envs if envs.count(e) > 1})
        if dupes:
            raise ValueError(f"providers share apiKeyEnv {dupes}: each provider needs its own key")
        return self

    @property
    def model_refs(self) -> frozenset[str]:
        return frozenset(f"{name}/{m.id}" for name, p in self.providers.items() for m in p.models)


class GatewayConfig(Model):
    port: int = Field(default=18789, ge=1024, le=65535)
    bind: Literal["loopback", "lan", "tailnet", "auto", "custom"] = "lan"
    # Browser origins allowed to open the Control UI (the Teleport app's public address).
    allowed_origins: list[str]

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list the Teleport app origin, e.g. https://openclaw.teleport.example.com")
        bad = [o for o in value if not re.match(r"^https://[a-z0-9.-]+(:[0-9]+)?$", o)]
        if bad:
            raise ValueError(f"origins must be https://host[:port] with no path, got {bad}")
        return value


class TelegramConfig(Model):
    enabled: bool = True
    # DNS gives AAAA records but the pod has no IPv6 egress unless ipv6Egress is on.
    auto_select_family: bool = True


