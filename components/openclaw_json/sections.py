"""`openclaw.json` as typed models: the sections this program writes, in every shape a supported
release reads (components/releases.py). Which shape and which secret form a release gets is decided
in components/openclaw_json/render.py; the models only refuse what no release accepts.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GATEWAY_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN"
TELEGRAM_TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SecretRef(_Section):
    """A SecretRef (2026.3.2+ for provider keys and the Telegram token, 2026.3.7+ for the gateway
    token; zod-schema.core `SecretRefSchema`): resolved from the gateway's environment at start, and a
    missing variable stops the gateway (`required secrets are unavailable`) instead of warning."""

    source: Literal["env"] = "env"
    provider: str = "default"
    id: str


Secret = str | SecretRef  # a `${VAR}` placeholder, or a SecretRef


class GatewayAuth(_Section):
    mode: str = "token"
    token: Secret


class ControlUi(_Section):
    allowed_origins: list[str]


class Gateway(_Section):
    mode: str = "local"
    bind: str
    port: int
    auth: GatewayAuth
    control_ui: ControlUi


class TelegramNetwork(_Section):
    auto_select_family: bool


class Telegram(_Section):
    enabled: bool
    # Only when enabled: every placeholder must resolve at startup, even for a disabled channel.
    bot_token: Secret | None = None
    network: TelegramNetwork


class Channels(_Section):
    telegram: Telegram


class PrimaryModel(_Section):
    primary: str


class AgentOwner(_Section):
    agent_id: str


class AgentDefaults(_Section):
    model: PrimaryModel
    # 2026.8.1+ (entries shape): who owns system work and heartbeats in a multi-agent roster.
    system_agent: AgentOwner | None = None
    heartbeat: AgentOwner | None = None


class AgentEntry(_Section):
    name: str
    workspace: str
    agent_dir: str
    model: str | None = None


class ListedAgent(_Section):
    id: str
    name: str
    workspace: str
    agent_dir: str
    model: str | None = None


class Agents(_Section):
    defaults: AgentDefaults
    # To 2026.7.x: `list`; from 2026.8.1: keyed `entries` with `ownership: "explicit"`.
    listed: list[ListedAgent] | None = Field(default=None, alias="list")
    ownership: Literal["explicit"] | None = None
    entries: dict[str, AgentEntry] | None = None


class AgentToAgent(_Section):
    enabled: bool
    allow: list[str]


class Sessions(_Section):
    visibility: Literal["self", "tree", "agent", "all"]


class Tools(_Section):
    agent_to_agent: AgentToAgent
    sessions: Sessions | None = None


class ProviderModel(_Section):
    id: str
    name: str


class Provider(_Section):
    base_url: str
    api_key: Secret
    api: str
    models: list[ProviderModel]


class Models(_Section):
    providers: dict[str, Provider]


class BindingMatch(_Section):
    channel: str
    account_id: str


class Binding(_Section):
    agent_id: str
    match: BindingMatch


class OpenClawJson(_Section):
    gateway: Gateway
    channels: Channels
    agents: Agents
    # 2026.8.1+: the explicit owner of each channel account (route bindings).
    bindings: list[Binding] | None = None
    tools: Tools
    models: Models

    def document(self) -> dict[str, object]:
        doc: dict[str, object] = self.model_dump(by_alias=True, exclude_none=True)
        return doc

    def render(self) -> str:
        return json.dumps(self.document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
