"""Stack configuration: one typed, validated model read from the `openclaw:` config namespace.

One module per section; this package re-exports what the program and the tests use.
"""

from components.config.base import CONFIG_NAMESPACE, ConfigError, DnsLabel, Model, Quantity, quantity_mib
from components.config.gateway import GatewayConfig, ModelEntry, ModelsConfig, ProviderConfig, TelegramConfig
from components.config.kubernetes import KubernetesConfig, VolumeLock
from components.config.network import DatabaseConfig, NetworkConfig
from components.config.secrets import SecretsConfig
from components.config.stack import StackConfig, format_errors, load_config, parse_config, replacement_problems
from components.config.workload import (
    GatewayImageConfig,
    ImageConfig,
    ResourcesConfig,
    StorageConfig,
    WorkloadSizing,
)

__all__ = [
    "CONFIG_NAMESPACE", "ConfigError", "DatabaseConfig", "DnsLabel", "GatewayConfig", "GatewayImageConfig",
    "ImageConfig",
    "KubernetesConfig", "Model", "ModelEntry", "ModelsConfig", "NetworkConfig", "ProviderConfig", "Quantity",
    "ResourcesConfig", "SecretsConfig", "StackConfig", "StorageConfig", "TelegramConfig", "VolumeLock",
    "WorkloadSizing",
    "format_errors", "load_config", "parse_config", "quantity_mib", "replacement_problems",
]
