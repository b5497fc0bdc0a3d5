"""The whole stack config: one model for every `openclaw:` key, its errors and its loading.

Everything is validated before any resource is registered; every problem is reported at once,
each with the config key, the value found and what is expected.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pydantic import Field, ValidationError, model_validator

from components.config.backup import BackupConfig
from components.config.base import CONFIG_NAMESPACE, ConfigError, DnsLabel, Model, quantity_mib
from components.config.gateway import GatewayConfig, ModelsConfig, TelegramConfig
from components.config.kubernetes import KubernetesConfig
from components.config.network import DatabaseConfig, NetworkConfig
from components.config.ops import AlertsConfig, PreflightConfig, ProbesConfig, RolloutConfig
from components.config.release_lock import downgrade_problem
from components.config.secrets import SecretsConfig, mode_switch_problem
from components.config.workload import (
    GatewayImageConfig,
    ResourcesConfig,
    StorageConfig,
    WorkloadSizing,
    release_problems,
    sizing_problems,
    workload_sizing,
)
from components.releases import Release


class StackConfig(Model):
    """Everything a stack may set under `openclaw:`; defaults reproduce the k3s dev cluster."""

    namespace: DnsLabel = "openclaw"
    image: GatewayImageConfig = Field(default_factory=GatewayImageConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    gateway: GatewayConfig
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    preflight: PreflightConfig = Field(default_factory=PreflightConfig)
    probes: ProbesConfig = Field(default_factory=ProbesConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)

    @model_validator(mode="after")
    def _ports_distinct(self) -> StackConfig:
        if self.network.ingress_port is not None and self.network.ingress_port != self.gateway.port:
            raise ValueError(f"network.ingressPort {self.network.ingress_port} differs from "
                             f"gateway.port {self.gateway.port}: ingress must reach the gateway")
        if self.gateway.port in (self.database.port, 53):
            raise ValueError(f"gateway.port {self.gateway.port} collides with a dependency port")
        return self

    @property
    def state_dir(self) -> str:
        return "/home/node/.openclaw"

    @property
    def release(self) -> Release:
        """The release the program renders for (openclaw:image.tag, components/releases.py)."""
        return self.image.release

    @property
    def sizing(self) -> WorkloadSizing:
        """Memory limit, heap cap and startup budget for this release (components/config/workload.py)."""
        return workload_sizing(self.resources, self.release)


def _location(loc: tuple[int | str, ...]) -> str:
    """The key as the stack file spells it. pydantic names a field by its alias (camelCase, the model's
    alias_generator) and a key of the user's own (a provider's name, an unknown key) as written, so
    neither is converted; `[key]` marks a bad key of a map, which the path already ends with."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item != "[key]":
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def format_errors(error: ValidationError, namespace: str = CONFIG_NAMESPACE) -> str:
    """One message listing every bad key: `openclaw:<key>: <problem> (got <value>)`."""
    lines = [f"invalid stack configuration ({error.error_count()} problem(s)):"]
    for item in error.errors():
        key = _location(tuple(item["loc"]))
        key = f"{namespace}:{key}" if key else f"{namespace}"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "required key is missing: set it in Pulumi.<stack>.yaml"
        elif item["type"] == "extra_forbidden":
            message = "unknown key (a typo?): remove it or use one of the documented keys"
        got = item.get("input")
        shown = "" if item["type"] in ("missing",) else f" (got {json.dumps(got, default=str)})"
        lines.append(f"  - {key}: {message}{shown}")
    return "\n".join(lines)


def replacement_problems(config: StackConfig) -> list[str]:
    """Changes that would make the engine replace the state volume or the namespace, i.e. delete
    the agents' memory: each names the key, the live value (the lock) and the way out."""
    k = config.kubernetes
    problems = []
    fix = ("changing it replaces the PVC and loses every agent's state; migrate the data first "
           "(docs/takeover-runbook.md), then update openclaw:kubernetes.volumeLock")
    lock = k.volume_lock
    if lock is not None:
        if config.storage.class_name != lock.storage_class:
            problems.append(f"openclaw:storage.className: {config.storage.class_name!r} differs from the live "
                            f"volume's {lock.storage_class!r} (openclaw:kubernetes.volumeLock.storageClass): {fix}")
        if lock.access_modes != ["ReadWriteOnce"]:
            problems.append(f"openclaw:kubernetes.volumeLock.accessModes: the program creates ['ReadWriteOnce'], "
                            f"the live volume has {lock.access_modes}: {fix}")
        if quantity_mib(config.storage.size) < quantity_mib(lock.size):
            problems.append(f"openclaw:storage.size: {config.storage.size} is smaller than the live volume's "
                            f"{lock.size} (openclaw:kubernetes.volumeLock.size): a PVC cannot shrink")
    if k.namespace_lock is not None and config.namespace != k.namespace_lock:
        problems.append(f"openclaw:namespace: {config.namespace!r} differs from the live namespace "
                        f"{k.namespace_lock!r} (openclaw:kubernetes.namespaceLock): a new namespace means a new "
                        "PVC and the old one orphaned; move the data first, then update the lock")
    switch = mode_switch_problem(config.secrets.mode, k.secrets_mode_lock, k.adopt_existing)
    if switch is not None:
        problems.append(switch)
    downgrade = downgrade_problem(config.image.tag, k.release_lock)
    if downgrade is not None:
        problems.append(downgrade)
    return problems


def parse_config(raw: dict[str, Any]) -> StackConfig:
    """Validate raw config values (keys without the namespace prefix); raise ConfigError."""
    try:
        config = StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc)) from None
    # Release-dependent checks, after the model is valid: the tag first, since sizing needs its release.
    release = release_problems(config.image)
    sizing = release or sizing_problems(config.resources, config.release)
    if sizing:
        raise ConfigError("\n".join([f"invalid stack configuration ({len(sizing)} problem(s)):",
                                      *(f"  - {p}" for p in sizing)]))
    problems = replacement_problems(config)
    if problems:
        raise ConfigError("\n".join([f"refusing a change that would replace live state ({len(problems)}):",
                                      *(f"  - {p}" for p in problems)]))
    return config


def _raw_from_pulumi() -> dict[str, Any]:
    """Every `openclaw:*` key of the running stack, objects decoded from their JSON text."""
    prefix = f"{CONFIG_NAMESPACE}:"
    cfg = pulumi.Config(CONFIG_NAMESPACE)
    known = pulumi.runtime.config.CONFIG.get() | pulumi.runtime.config.get_config_env()
    raw: dict[str, Any] = {}
    for full_key in sorted(known):
        # Another namespace's key (a provider's, `kubernetes:context`) is not ours. One of ours with a
        # further `:` (`openclaw:gateway:port`, the CLI takes it as the name `gateway:port`) is kept, so
        # the model refuses it as an unknown key instead of the setting being ignored without a word.
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix):]
        text = cfg.get(key)
        if text is None:
            continue
        # Structured values reach the program as JSON text; scalars stay the strings they are.
        raw[key] = json.loads(text) if text.lstrip().startswith(("{", "[")) else text
    return raw


def load_config() -> StackConfig:
    """Read and validate `openclaw:*` from the current stack before any resource exists."""
    return parse_config(_raw_from_pulumi())
