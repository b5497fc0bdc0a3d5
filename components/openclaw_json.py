"""`openclaw.json` as typed models (the sections OpenClaw 2026.2.23 reads; FACTS.md).

Secrets appear only as `${VAR}` placeholders that OpenClaw fills from the environment at load
time; a missing or empty variable aborts startup, and the seeding step checks them first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from components.config import StackConfig

GATEWAY_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN"
TELEGRAM_TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


def placeholder(env: str) -> str:
    return "${" + env + "}"


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class GatewayAuth(_Section):
    mode: str = "token"
    token: str = placeholder(GATEWAY_TOKEN_ENV)


class ControlUi(_Section):
    allowed_origins: list[str]


class Gateway(_Section):
    mode: str = "local"
    bind: str
    port: int
    auth: GatewayAuth = Field(default_factory=GatewayAuth)
    control_ui: ControlUi


class TelegramNetwork(_Section):
    auto_select_family: bool


class Telegram(_Section):
    enabled: bool
    # Only when enabled: every placeholder must resolve at startup, even for a disabled channel.
    bot_token: str | None = None
    network: TelegramNetwork


class Channels(_Section):
    telegram: Telegram


class PrimaryModel(_Section):
    primary: str


class AgentDefaults(_Section):
    model: PrimaryModel


class Agents(_Section):
    defaults: AgentDefaults
    list: Sequence[dict[str, object]]


class AgentToAgent(_Section):
    enabled: bool = True
    allow: list[str]


class Tools(_Section):
    agent_to_agent: AgentToAgent


class ProviderModel(_Section):
    id: str
    name: str


class Provider(_Section):
    base_url: str
    api_key: str
    api: str
    models: list[ProviderModel]


class Models(_Section):
    providers: dict[str, Provider]


class OpenClawJson(_Section):
    gateway: Gateway
    channels: Channels
    agents: Agents
    tools: Tools
    models: Models

    def render(self) -> str:
        return json.dumps(self.model_dump(by_alias=True, exclude_none=True), indent=2,
                          ensure_ascii=False, sort_keys=False) + "\n"


def build_openclaw_json(config: StackConfig, agents_list: Sequence[dict[str, object]],
                        agent_to_agent_allow: list[str]) -> OpenClawJson:
    """The gateway's configuration for this stack and agent catalog."""
    return OpenClawJson(
        gateway=Gateway(bind=config.gateway.bind, port=config.gateway.port,
                        control_ui=ControlUi(allowed_origins=config.gateway.allowed_origins)),
        channels=Channels(telegram=Telegram(
            enabled=config.telegram.enabled,
            bot_token=placeholder(TELEGRAM_TOKEN_ENV) if config.telegram.enabled else None,
            network=TelegramNetwork(auto_select_family=config.telegram.auto_select_family))),
        agents=Agents(defaults=AgentDefaults(model=PrimaryModel(primary=config.models.primary)),
                      list=agents_list),
        tools=Tools(agent_to_agent=AgentToAgent(allow=agent_to_agent_allow)),
        models=Models(providers={
            name: Provider(base_url=p.base_url, api_key=placeholder(p.api_key_env), api=p.api,
                           models=[ProviderModel(id=m.id, name=m.name) for m in p.models])
            for name, p in config.models.providers.items()}),
    )
