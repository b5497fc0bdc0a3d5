"""Stack configuration: one typed, validated model read from the `openclaw:` config namespace.

Everything is validated before any resource is registered; every problem is reported at once,
each with the config key, the value found and what is expected.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "openclaw"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?$")
_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]+)?)$")
_IMAGE_REF = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_UNIT_MIB = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024,
             "k": 1000 / 1024 / 1024, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2,
             "T": 1000**4 / 1024**2}


class ConfigError(pulumi.RunError):
    """Bad stack configuration. A RunError, so the CLI prints the message without a traceback."""


def quantity_mib(quantity: str) -> float:
    """A Kubernetes memory/storage quantity in MiB (`1Gi` -> 1024)."""
    match = _QUANTITY.match(quantity)
    if match is None:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity such as 500Mi or 1Gi")
    unit = match.group("unit")
    number = float(match.group("num"))
    return number * _UNIT_MIB[unit] if unit else number / (1024 * 1024)


def _quantity(value: str) -> str:
    quantity_mib(value)
    return value


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError("must be a DNS label: lower-case letters, digits and '-', 1-63 characters")
    return value


Quantity = Annotated[str, AfterValidator(_quantity)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]


class _Model(BaseModel):
    # camelCase in YAML, snake_case in Python; unknown keys are typos, so they are errors.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True)


class ImageConfig(_Model):
    repository: str = "ghcr.io/openclaw/openclaw"
    tag: str = "2026.2.23"
    digest: str | None = None

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _IMAGE_REF.match(value):
            raise ValueError("must be a registry/path image name such as ghcr.io/openclaw/openclaw")
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _IMAGE_TAG.match(value):
            raise ValueError("must be an image tag such as 2026.2.23")
        if value == "latest":
            raise ValueError("'latest' is not a release: pin a version such as 2026.2.23")
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not _DIGEST.match(value):
            raise ValueError("must be sha256:<64 hex digits>")
        return value

    @property
    def ref(self) -> str:
        """The pull reference: pinned by digest when one is configured, the tag kept for humans."""
        base = f"{self.repository}:{self.tag}"
        return f"{base}@{self.digest}" if self.digest else base


class ResourcesConfig(_Model):
    cpu_request: str = "50m"
    memory: Quantity = "1Gi"  # request and limit: a burstable heap is how the old pod got OOM-killed
    # Node sizes its heap from the host, not the cgroup: the heap is the limit minus this headroom.
    heap_headroom_mib: int = 128

    @field_validator("cpu_request")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value):
            raise ValueError("must be a CPU quantity such as 50m or 0.5")
        return value

    @model_validator(mode="after")
    def _heap_fits(self) -> ResourcesConfig:
        limit = quantity_mib(self.memory)
        if self.heap_headroom_mib < 64 or self.heap_mib >= limit or self.heap_mib < 256:
            raise ValueError(
                f"heapHeadroomMib={self.heap_headroom_mib} with memory={self.memory} gives a Node heap "
                f"of {self.heap_mib} MiB: it must be at least 256 MiB and at least 64 MiB below "
                "the memory limit, or the pod is OOM-killed without a log line")
        return self

    @property
    def heap_mib(self) -> int:
        return int(quantity_mib(self.memory)) - self.heap_headroom_mib


class StorageConfig(_Model):
    class_name: str = "local-path-retain"
    size: Quantity = "500Mi"

    @field_validator("class_name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        if not _DNS_SUBDOMAIN.match(value) or len(value) > 253:
            raise ValueError("must be a StorageClass name (DNS subdomain) such as local-path-retain")
        return value


class DatabaseConfig(_Model):
    namespace: DnsLabel = "infra-db"
    cluster: DnsLabel = "infra-db"  # CloudNativePG cluster name: its pods carry cnpg.io/cluster=<name>
    host: str = "infra-db-rw.infra-db.svc"
    port: int = Field(default=5432, ge=1, le=65535)
    name: str = "openclaw"
    user: str = "openclaw"

    @model_validator(mode="after")
    def _host_in_namespace(self) -> DatabaseConfig:
        parts = self.host.split(".")
        if len(parts) < 3 or parts[2] != "svc" or parts[1] != self.namespace:
            raise ValueError(
                f"host {self.host!r} must be the in-cluster service <service>.{self.namespace}.svc "
                "so that egress can be limited to that namespace")
        return self

    @property
    def url(self) -> str:
        # $(VAR) is expanded by the kubelet from the container's own env: the password never
        # enters the manifest.
        return (f"postgresql://{self.user}:$(OPENCLAW_DB_PASSWORD)@{self.host}:{self.port}/"
                f"{self.name}")


class NetworkConfig(_Model):
    pod_cidr: str = "10.42.0.0/16"
    service_cidr: str = "10.43.0.0/16"
    api_server: str = "10.43.0.1"
    api_server_port: int = Field(default=443, ge=1, le=65535)
    dns_namespace: DnsLabel = "kube-system"
    dns_pod_labels: dict[str, str] = Field(default_factory=lambda: {"k8s-app": "kube-dns"})
    egress_ports: list[int] = Field(default_factory=lambda: [443])
    ipv6_egress: bool = False
    ingress_port: int | None = None  # defaults to the gateway port; here only to be explicit

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"must be an IPv4 CIDR such as 10.42.0.0/16 ({exc})") from None
        if net.version != 4:
            raise ValueError("must be an IPv4 CIDR such as 10.42.0.0/16")
        return value

    @field_validator("api_server")
    @classmethod
    def _api_server(cls, value: str) -> str:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError("must be the API server's ClusterIP, an IPv4 address such as 10.43.0.1") from None
        return value

    @field_validator("egress_ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("must list at least one port (443)")
        bad = [p for p in value if not 1 <= p <= 65535]
        if bad:
            raise ValueError(f"ports must be 1-65535, got {bad}")
        dupes = sorted({p for p in value if value.count(p) > 1})
        if dupes:
            raise ValueError(f"duplicate ports {dupes}")
        return value

    @model_validator(mode="after")
    def _api_in_service_cidr(self) -> NetworkConfig:
        if ipaddress.IPv4Address(self.api_server) not in ipaddress.ip_network(self.service_cidr):
            raise ValueError(f"apiServer {self.api_server} is not inside serviceCidr {self.service_cidr}")
        if ipaddress.ip_network(self.pod_cidr).overlaps(ipaddress.ip_network(self.service_cidr)):
            raise ValueError(f"podCidr {self.pod_cidr} overlaps serviceCidr {self.service_cidr}")
        return self


class ModelEntry(_Model):
    id: str
    name: str


class ProviderConfig(_Model):
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


def _default_providers() -> dict[str, ProviderConfig]:
    return {"deepseek": ProviderConfig(
        base_url="https://api.deepseek.com/v1", api="openai-completions",
        api_key_env="DEEPSEEK_API_KEY",
        models=[ModelEntry(id="deepseek-chat", name="DeepSeek Chat"),
                ModelEntry(id="deepseek-reasoner", name="DeepSeek Reasoner")])}


class ModelsConfig(_Model):
    primary: str = "deepseek/deepseek-chat"
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


class GatewayConfig(_Model):
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


class TelegramConfig(_Model):
    enabled: bool = True
    # DNS gives AAAA records but the pod has no IPv6 egress unless ipv6Egress is on.
    auto_select_family: bool = True


_VAULT_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_VAULT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_VSO_DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?(s|m|h)$")  # VSO's refreshAfter pattern


def _vault_path(value: str) -> str:
    if not _VAULT_PATH.match(value):
        raise ValueError("must be a Vault path without a leading or trailing '/', such as secret "
                         "or applications/openclaw")
    return value


def _vault_name(value: str) -> str:
    if not _VAULT_NAME.match(value):
        raise ValueError("must be a Vault name: letters, digits, '_', '.', '-' (no '/')")
    return value


VaultPath = Annotated[str, AfterValidator(_vault_path)]
VaultName = Annotated[str, AfterValidator(_vault_name)]


class SecretsConfig(_Model):
    gateway_secret: DnsLabel = "openclaw-secrets"
    token_secret: DnsLabel = "openclaw-token-secrets"
    gateway_vault_path: VaultPath = "applications/openclaw"
    token_vault_path: VaultPath = "tokens"
    # operator: the Vault Secrets Operator syncs the Secrets (values never enter Pulumi state);
    # direct: Pulumi reads Vault and writes the Secrets (values in state, encrypted as secrets).
    mode: Literal["operator", "direct"] = "operator"
    kv_mount: VaultPath = "secret"          # KV v2 secrets engine mount
    auth_mount: VaultPath = "kubernetes"    # Kubernetes auth method mount
    role: VaultName = "openclaw"            # Kubernetes auth role bound to the gateway's account
    policy: VaultName = "openclaw"          # read-only policy on exactly the paths used
    token_ttl: int = Field(default=600, ge=60, le=3600)        # seconds; short: a leak expires soon
    token_max_ttl: int = Field(default=1800, ge=60, le=86400)  # seconds; then a fresh login
    audience: str | None = "vault"          # ServiceAccount token audience the role requires
    refresh_after: str = "5m"               # how often the operator re-reads Vault
    connection_ref: str | None = None       # VaultConnection; None: the operator's default

    @field_validator("refresh_after")
    @classmethod
    def _refresh_after(cls, value: str) -> str:
        if not _VSO_DURATION.match(value):
            raise ValueError("must be a duration in s, m or h, such as 30s, 5m or 1h")
        return value

    @field_validator("connection_ref")
    @classmethod
    def _connection_ref(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^([a-z0-9-]+/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", value):
            raise ValueError("must be a VaultConnection name, optionally <namespace>/<name>")
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a non-empty audience such as vault, or null for none")
        return value

    @model_validator(mode="after")
    def _ttls(self) -> SecretsConfig:
        if self.token_max_ttl < self.token_ttl:
            raise ValueError(f"tokenMaxTtl {self.token_max_ttl} is shorter than tokenTtl "
                             f"{self.token_ttl}: raise tokenMaxTtl or lower tokenTtl")
        if self.gateway_secret == self.token_secret and self.gateway_vault_path != self.token_vault_path:
            raise ValueError(f"gatewaySecret and tokenSecret are both {self.gateway_secret!r} but read "
                             "different Vault paths: one Secret is synced from one path")
        return self


AccessMode = Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]


class VolumeLock(_Model):
    """What the live state volume was created with: fields a PVC cannot change in place."""

    storage_class: str
    access_modes: list[AccessMode] = Field(default_factory=lambda: list[AccessMode](["ReadWriteOnce"]))
    size: Quantity


class KubernetesConfig(_Model):
    """The explicit Kubernetes provider, and what protects the live objects from replacement."""

    context: str | None = None  # kubeconfig context; None: the kubeconfig's current context
    kubeconfig: str | None = None  # path or content; None: KUBECONFIG / ~/.kube/config
    # The provider is replaced (and every object with it) only when this changes: a new context
    # name or setting for the same cluster is an update.
    cluster_identifier: str = "k3s"
    # One-time takeover of objects that already exist (Argo CD's): create becomes server-side
    # apply over them, forcing field ownership away from the old manager. Off after the takeover.
    adopt_existing: bool = False
    volume_lock: VolumeLock | None = None
    namespace_lock: DnsLabel | None = None


class StackConfig(_Model):
    """Everything a stack may set under `openclaw:`; defaults reproduce the k3s dev cluster."""

    namespace: DnsLabel = "openclaw"
    image: ImageConfig = Field(default_factory=ImageConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    gateway: GatewayConfig
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)

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


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + to_camel(item) if "_" in item else
                         ("." if parts else "") + item)
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
    return problems


def parse_config(raw: dict[str, Any]) -> StackConfig:
    """Validate raw config values (keys without the namespace prefix); raise ConfigError."""
    try:
        config = StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc)) from None
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
        if not full_key.startswith(prefix) or ":" in full_key[len(prefix):]:
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
