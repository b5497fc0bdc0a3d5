"""The one list of endpoints the gateway depends on, from the stack config.

Two readers, one definition: the preflight init container checks each entry at pod start
(components/scripts/preflight.mjs), and the policy `egress-covers-dependencies`
(policy/egress_dependencies.py) checks each entry against the egress NetworkPolicies at preview. Both
read the same rendered `dependencies.json` in the preflight ConfigMap, so they cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from components.config import StackConfig

DEPENDENCIES_KEY = "dependencies.json"
TELEGRAM_API = ("api.telegram.org", 443)
# Mounted by the kubelet with the ServiceAccount token: verifies the API server's certificate.
SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
FORMAT_VERSION = 1
ENDPOINTS_KEY = "openclaw:network.apiServerEndpoints"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class Dependency:
    kind: str        # database | kubernetes | model | telegram (PreflightConfig.fail_on keys)
    name: str        # how log lines and policy messages name it
    host: str
    port: int
    tls: bool        # check a TLS handshake after the TCP connect
    server_name: str | None = None  # SNI and certificate name; None for an IP address
    ca_file: str | None = None      # extra CA to verify with (the cluster CA for the API server)
    # Where a Service address is translated to (kube-proxy's DNAT): a post-DNAT NetworkPolicy
    # (k3s: kube-router) judges these, not host:port. The preflight checks each, the policy
    # egress-covers-dependencies judges each; endpoints_key is the config key that lists them.
    endpoints: tuple[Endpoint, ...] | None = None
    endpoints_key: str | None = None


def _https(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def dependencies(cfg: StackConfig) -> list[Dependency]:
    """Every endpoint the configuration declares, in a stable order."""
    db = cfg.database
    deps = [Dependency("database", f"DATABASE_URL ({db.host}:{db.port})", db.host, db.port, tls=False)]
    net = cfg.network
    deps.append(Dependency("kubernetes", f"Kubernetes API ({net.api_server}:{net.api_server_port})",
                           net.api_server, net.api_server_port, tls=True, ca_file=SERVICE_ACCOUNT_CA,
                           endpoints=tuple(Endpoint(h, p) for h, p in net.api_endpoints),
                           endpoints_key=ENDPOINTS_KEY))
    for name in sorted(cfg.models.providers):
        url = cfg.models.providers[name].base_url
        host, port = _https(url)
        deps.append(Dependency("model", f"model provider '{name}' ({url})", host, port, tls=True, server_name=host))
    if cfg.telegram.enabled:
        host, port = TELEGRAM_API
        deps.append(Dependency("telegram", "Telegram Bot API", host, port, tls=True, server_name=host))
    return deps


def render_dependencies(cfg: StackConfig) -> str:
    """`dependencies.json`: the list plus what the preflight does with each kind of failure."""
    doc = {
        "version": FORMAT_VERSION,
        "timeoutMs": cfg.preflight.timeout_ms,
        "failOn": {kind: list(kinds) for kind, kinds in sorted(cfg.preflight.fail_on.items())},
        "dependencies": [{_camel(k): v for k, v in asdict(d).items() if v is not None}
                         for d in dependencies(cfg)],
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
