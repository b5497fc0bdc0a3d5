"""Which probes the gateway gets, from the release it runs (`openclaw:image.tag`, read through the
release model components/releases.py: `health_routes`, `startup_route`, `channel_readiness`).

What the releases answer, read from the npm tarballs `openclaw@<version>` (dist/*.js) and booted
(`./run e2e`, FACTS.md):
- 2026.2.23: no health route; every GET returns 200 with the Control UI page. An HTTP probe
  proves nothing, so startup and liveness stay a TCP connect. `POST /tools/invoke` is
  authenticated (`handleToolsInvokeHttpRequest`): 401 without the gateway token; with it and an
  empty body, 400 `{"ok":false,"error":{"type":"invalid_request",...}}` before any tool is built or
  run. That is the readiness check: it proves the HTTP stack and the event loop answer (the kernel
  completes a TCP connect even when the loop is stuck) and the token works, with no side effect.
- 2026.3.7 and later: the gateway answers `/health`, `/healthz`, `/ready`, `/readyz` itself
  (`handleGatewayProbeRequest`): `/healthz` -> 200 `{"ok":true,"status":"live"}`, `/readyz` -> 200
  `{"ready":true,...}` or 503 `{"ready":false,"failing":[...]}` (`createReadinessChecker`: a channel
  account unhealthy past DEFAULT_CHANNEL_CONNECT_GRACE_MS, 120 s, or the gateway starting, draining,
  its state database failing). A request from loopback gets the details (`failing`).
  The probes fetch the route and check the JSON body (a kubelet httpGet checks only the status,
  and the Control UI's 200 would pass it on a release mis-detected here).
- 2026.8.1 and later: `/startupz` -> 503 `{"ok":false,"status":"starting"}` until the startup
  sidecars are done, then 200 `{"ok":true,"status":"started"}` (`createStartupChecker`,
  dist/server-start-*.mjs of 2026.9.6): the startup probe waits for it instead of /healthz.

Readiness on a release whose /readyz reports channels: with `openclaw:probes.channelReadiness`
"ignore" (the default) a 503 whose `failing` lists only configured channels counts as ready. The
gateway is one replica behind Teleport: unready removes the only endpoint of the Service, so a
Telegram outage (theirs, or our egress) would also take away the Control UI and the HTTP API, the
tools an operator needs to look into it. Anything else in `failing` (starting, draining,
state-database, agent databases, plugin reload, internal) is not ready. docs/operations.md.

Every probe is an exec of `node -e` inside the container, as the TCP probe of the old manifests
was: the bind may be loopback, and the body must be checked. The HTTP checks use node's `http`
module (undici's fetch costs about twice the CPU to load). Measured (bench/probe_cost.py): 33 ms
CPU for the TCP probe, 37-43 ms for the HTTP ones, 57 MB peak RSS each; readiness every 10 s plus
liveness every 30 s is about 5.5 millicores, 11% of the 50m request. `openclaw:probes.kind`
forces one kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components.config import StackConfig
from components.openclaw_json import GATEWAY_TOKEN_ENV

PROBE_TIMEOUT_MS = 4000  # under the probes' timeoutSeconds (5): the probe reports why it failed


@dataclass(frozen=True)
class ProbeCommands:
    kind: str  # "http" (health routes) or "tcp"
    startup: list[str]
    readiness: list[str]
    liveness: list[str]


def tcp_check(port: int) -> list[str]:
    """A TCP connect to the gateway on loopback."""
    script = (f"const s=require('net').createConnection({port},'127.0.0.1');"
              "s.on('connect',()=>{s.end();process.exit(0)});"
              "s.on('error',e=>{console.log('connect 127.0.0.1:" + str(port) + ": '+e.code);process.exit(1)});"
              f"setTimeout(()=>{{console.log('connect timed out');process.exit(1)}},{PROBE_TIMEOUT_MS})")
    return ["node", "-e", script]


def _http(port: int, method: str, path: str, headers: str, body: str, verdict: str) -> list[str]:
    """node's own http client (undici's fetch doubled a probe's CPU: 85 ms against 40, bench/bench.py).
    `verdict` is JS run with `r` (the response) and `t` (the body text) that exits 0 when healthy."""
    label = f"{method} {path}"
    script = ("const h=require('http');"
              f"const q=h.request({{host:'127.0.0.1',port:{port},path:'{path}',method:'{method}',"
              f"headers:{headers},timeout:{PROBE_TIMEOUT_MS}}},r=>{{let t='';r.setEncoding('utf8');"
              "r.on('data',c=>t+=c);r.on('end',()=>{let j;try{j=JSON.parse(t)}catch{}"
              f"{verdict}"
              f"console.log('{label}: '+r.statusCode+' '+(j?t.slice(0,300):'not JSON '+t.slice(0,80)));"
              "process.exit(1)})});"
              f"q.on('timeout',()=>{{console.log('{label}: timed out');q.destroy();process.exit(1)}});"
              f"q.on('error',e=>{{console.log('{label}: '+e.code);process.exit(1)}});"
              f"q.end({body})")
    return ["node", "-e", script]


def http_check(port: int, path: str, condition: str) -> list[str]:
    """GET a health route; healthy only on 200 with a JSON body `j` for which `condition` (JS)
    holds. What it got is printed: the kubelet puts it in the probe-failure event."""
    return _http(port, "GET", path, "{}", "", f"if(r.statusCode===200&&j&&({condition}))process.exit(0);")


# /healthz: {"ok":true,"status":"live"}. /readyz: {"ready":true,...} when the gateway wires its
# readiness checker, else the static {"ok":true,"status":"ready"} (handleGatewayProbeRequest).
# /startupz: {"ok":true,"status":"started"} (createStartupChecker).
LIVE = "j.ok===true&&j.status==='live'"
READY = "j.ready===true||(j.ready===undefined&&j.ok===true&&j.status==='ready')"
STARTED = "j.ok===true&&j.status==='started'"


def ready_despite_channels(channels: list[str]) -> str:
    """The /readyz verdict that keeps the pod ready while only these channels are failing."""
    return (f"{READY}||(r.statusCode===503&&Array.isArray(j.failing)&&j.failing.length>0&&"
            f"j.failing.every(f=>{json.dumps(channels)}.includes(f)))")


def http_ready(port: int, path: str, condition: str) -> list[str]:
    """GET a health route that answers 503 with JSON when not ready: `condition` sees both."""
    return _http(port, "GET", path, "{}", "", f"if((r.statusCode===200||r.statusCode===503)&&j&&({condition}))"
                 "process.exit(0);")


def invoke_check(port: int, token_env: str = GATEWAY_TOKEN_ENV) -> list[str]:
    """POST /tools/invoke with the gateway token from the container's env and no tool: ready when
    the answer is JSON and not an auth failure, a missing route or a server error. The token never
    enters the manifest; node reads it from its own environment."""
    headers = (f"{{authorization:'Bearer '+(process.env.{token_env}||''),'content-type':'application/json',"
               "'content-length':2}")
    return _http(port, "POST", "/tools/invoke", headers, "'{}'",
                 "if(j&&typeof j==='object'&&r.statusCode<500&&![401,403,404,405,429].includes(r.statusCode))"
                 "process.exit(0);")


def configured_channels(cfg: StackConfig) -> list[str]:
    """The channel ids openclaw.json enables (what /readyz names in `failing`)."""
    return ["telegram"] if cfg.telegram.enabled else []


def select_probes(cfg: StackConfig) -> ProbeCommands:
    """The probe commands for the configured release (or the kind `openclaw:probes.kind` forces)."""
    port = cfg.gateway.port
    release = cfg.release
    kind = cfg.probes.kind
    if kind == "auto":
        kind = "http" if release.health_routes else "tcp"
    if kind == "http":
        live = http_check(port, "/healthz", LIVE)
        startup = http_check(port, "/startupz", STARTED) if release.startup_route else live
        tolerate = release.channel_readiness and cfg.probes.channel_readiness == "ignore"
        readiness = (http_ready(port, "/readyz", ready_despite_channels(configured_channels(cfg))) if tolerate
                     else http_check(port, "/readyz", READY))
        return ProbeCommands("http", startup=startup, readiness=readiness, liveness=live)
    tcp = tcp_check(port)
    readiness = invoke_check(port) if cfg.probes.invoke_readiness else tcp
    return ProbeCommands("tcp", startup=tcp, readiness=readiness, liveness=tcp)
