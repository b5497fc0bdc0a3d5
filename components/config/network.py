"""The cluster network and the database the gateway reaches."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator

from components.config.base import ConfigError, DnsLabel, Model

KUBELET_PORT = 10250  # every node's kubelet API: no pod of this deployment may reach it
# How to read the API server's endpoints (the addresses a post-DNAT NetworkPolicy judges).
ENDPOINTS_COMMAND = ("`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes` "
                     "(each ENDPOINTS address with the PORTS port, e.g. 192.168.10.10:6443)")


class DatabaseConfig(Model):
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


def parse_endpoint(value: str) -> tuple[str, int]:
    """`192.168.10.10:6443` or `[fd00::1]:6443` -> (address, port); ValueError naming the fix."""
    fix = "expected <IP>:<port> such as 192.168.10.10:6443 ([<IPv6>]:<port> for IPv6)"
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{value!r}: {fix}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r}: {host!r} is not an IP address; {fix}") from None
    if isinstance(address, ipaddress.IPv6Address) and not value.startswith("["):
        raise ValueError(f"{value!r}: {fix}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{value!r}: port {port} is outside 1-65535")
    return str(address), port


class NetworkConfig(Model):
    pod_cidr: str = "10.42.0.0/16"
    service_cidr: str = "10.43.0.0/16"
    # The API Service address the client uses (KUBERNETES_SERVICE_HOST/PORT) ...
    api_server: str = "10.43.0.1"
    api_server_port: int = Field(default=443, ge=1, le=65535)
    # ... and the API server's own endpoints that kube-proxy translates it to. k3s enforces
    # NetworkPolicy with kube-router, which judges egress after that DNAT (k3s-io/k3s#10342), so
    # these are what the egress rule must allow. No default: a cluster fact, read from the cluster
    # (ENDPOINTS_COMMAND); `load_config` refuses a stack without it (required_cluster_facts).
    api_server_endpoints: list[str] | None = None
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

    @field_validator("api_server_endpoints")
    @classmethod
    def _endpoints(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError(f"must list at least one endpoint; read them with: {ENDPOINTS_COMMAND}")
        parsed = [parse_endpoint(v) for v in value]
        for (host, port), text in zip(parsed, value, strict=True):
            address = ipaddress.ip_address(host)
            if port == KUBELET_PORT:
                raise ValueError(f"{text!r}: {KUBELET_PORT} is the kubelet's port, never the API server's "
                                 "(k3s serves the API on 6443)")
            if (address.is_loopback or address.is_unspecified or address.is_multicast
                    or address.is_link_local):
                raise ValueError(f"{text!r}: not an address a pod can reach the API server on; "
                                 f"read the endpoints with: {ENDPOINTS_COMMAND}")
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate endpoints {dupes}")
        return value

    @property
    def api_endpoints(self) -> list[tuple[str, int]]:
        """The API server's endpoints as (address, port); ConfigError when the stack has none."""
        if self.api_server_endpoints is None:
            raise ConfigError(missing_endpoints_message())
        return [parse_endpoint(v) for v in self.api_server_endpoints]

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
        service = ipaddress.ip_network(self.service_cidr)
        for text in self.api_server_endpoints or []:
            if ipaddress.ip_address(parse_endpoint(text)[0]) in service:
                raise ValueError(
                    f"apiServerEndpoints {text!r} is inside serviceCidr {self.service_cidr}: that is a Service "
                    "address (before DNAT), not the API server's endpoint; read them with: " + ENDPOINTS_COMMAND)
        return self


def require_cluster_facts(network: NetworkConfig) -> None:
    """What the program cannot default: a stack without the API server's endpoints is refused
    before any resource exists (the model keeps them optional so partial configs still parse)."""
    if network.api_server_endpoints is None:
        raise ConfigError(missing_endpoints_message())


def missing_endpoints_message() -> str:
    return ("openclaw:network.apiServerEndpoints: required key is missing: the API server's endpoints "
            "(<IP>:<port>, one per server node), which a post-DNAT NetworkPolicy (k3s: kube-router) judges "
            "instead of the Service address; read them with: " + ENDPOINTS_COMMAND)
