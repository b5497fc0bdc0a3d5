"""The cluster network and the database the gateway reaches."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator

from components.config.base import DnsLabel, Model


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


class NetworkConfig(Model):
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


