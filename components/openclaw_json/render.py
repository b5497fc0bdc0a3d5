"""Release-neutral stack settings rendered into the shape of one release's `openclaw.json`.

The stack keeps typed settings that mean the same in every release (gateway, Telegram, model
providers: components/config/gateway.py; the agents: agents/catalog.yaml); what changes between
releases is read from the release model (components/releases.py) and nowhere else:
- the roster: `agents.list` to 2026.7.x; from 2026.8.1 keyed `agents.entries` with
  `agents.ownership: "explicit"`, and an explicit owner for every surface: a route binding for the
  Telegram account, `agents.defaults.systemAgent.agentId`, `agents.defaults.heartbeat.agentId`
  (2026.9.6 dist/zod-schema-*.mjs `AgentsSchema`, `BindingsSchema`; its validator warns "no ambient
  heartbeat owner" without them). 2026.2.23 rejects every one of those keys.
- secrets: SecretRef objects where the release takes one for that field (a missing variable then
  stops the gateway), `${VAR}` placeholders otherwise (from 2026.3.7 a missing `${VAR}` only warns).
- `tools.sessions.visibility`: rendered "tree" where the release's default differs (2026.9.6
  resolveSessionToolsVisibility defaults to "all"; the older ones to "tree"), so agents keep seeing
  only their own session tree.
- `tools.agentToAgent`: always explicit (2026.9.2+ enables it when unset). Both the requesting and
  the target agent must be in `allow` (createAgentToAgentPolicy: matchesAllow(requester) &&
  matchesAllow(target), every release); an empty `allow` allows every pair, so a catalog without
  hand-offs renders it disabled.
"""

from __future__ import annotations

import agents
from components.config import StackConfig
from components.openclaw_json.sections import (
    GATEWAY_TOKEN_ENV,
    TELEGRAM_TOKEN_ENV,
    AgentDefaults,
    AgentEntry,
    AgentOwner,
    Agents,
    AgentToAgent,
    Binding,
    BindingMatch,
    Channels,
    ControlUi,
    Gateway,
    GatewayAuth,
    ListedAgent,
    Models,
    OpenClawJson,
    PrimaryModel,
    Provider,
    ProviderModel,
    Secret,
    SecretRef,
    Sessions,
    Telegram,
    TelegramNetwork,
    Tools,
)
from components.releases import Release, SecretField

TELEGRAM_ACCOUNT = "default"  # the account a single `channels.telegram.botToken` configures


def placeholder(env: str) -> str:
    return "${" + env + "}"


def secret_value(env: str, where: SecretField, release: Release) -> Secret:
    """How the secret in `env` is written at `where` for this release."""
    return SecretRef(id=env) if where in release.secret_ref_fields else placeholder(env)


def _agents(config: StackConfig, catalog: agents.Catalog, release: Release) -> Agents:
    state_dir = config.state_dir
    primary = PrimaryModel(primary=config.models.primary)
    if release.config_shape == "list":
        # `list` is the alias of Agents.listed (a field named list would shadow the type).
        return Agents.model_validate({"defaults": AgentDefaults(model=primary),
                                      "list": [ListedAgent.model_validate(e) for e in catalog.agents_list(state_dir)]})
    owner = AgentOwner(agent_id=catalog.owner)
    return Agents(defaults=AgentDefaults(model=primary, system_agent=owner, heartbeat=owner),
                  ownership="explicit",
                  entries={k: AgentEntry.model_validate(v) for k, v in catalog.agent_entries(state_dir).items()})


def _bindings(config: StackConfig, catalog: agents.Catalog, release: Release) -> list[Binding] | None:
    if release.config_shape == "list" or not config.telegram.enabled:
        return None
    return [Binding(agent_id=catalog.owner, match=BindingMatch(channel="telegram", account_id=TELEGRAM_ACCOUNT))]


def _tools(catalog: agents.Catalog, release: Release) -> Tools:
    allow = catalog.agent_to_agent_allow()
    sessions = None if release.sessions_visibility_default == "tree" else Sessions(visibility="tree")
    return Tools(agent_to_agent=AgentToAgent(enabled=bool(allow), allow=allow), sessions=sessions)


def build_openclaw_json(config: StackConfig, catalog: agents.Catalog, release: Release | None = None) -> OpenClawJson:
    """The gateway's configuration for this stack and agent catalog, in the shape of `release`
    (default: the one `openclaw:image.tag` names)."""
    release = release or config.release
    telegram = config.telegram
    return OpenClawJson(
        gateway=Gateway(bind=config.gateway.bind, port=config.gateway.port,
                        auth=GatewayAuth(token=secret_value(GATEWAY_TOKEN_ENV, "gateway.auth.token", release)),
                        control_ui=ControlUi(allowed_origins=config.gateway.allowed_origins)),
        channels=Channels(telegram=Telegram(
            enabled=telegram.enabled,
            bot_token=(secret_value(TELEGRAM_TOKEN_ENV, "channels.telegram.botToken", release)
                       if telegram.enabled else None),
            network=TelegramNetwork(auto_select_family=telegram.auto_select_family))),
        agents=_agents(config, catalog, release),
        bindings=_bindings(config, catalog, release),
        tools=_tools(catalog, release),
        models=Models(providers={
            name: Provider(base_url=p.base_url, api=p.api,
                           api_key=secret_value(p.api_key_env, "models.providers.*.apiKey", release),
                           models=[ProviderModel(id=m.id, name=m.name) for m in p.models])
            for name, p in config.models.providers.items()}),
    )
