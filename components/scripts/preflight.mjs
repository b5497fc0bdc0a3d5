// Dependency preflight: runs as an init container after seeding, in the gateway image (Node 22).
//
//   node /preflight/preflight.mjs [dependencies.json]
//
// Reads the dependency list the Pulumi program rendered (components/dependencies.py; the policy
// egress-covers-dependencies reads the same file), checks every entry at once and prints one line
// per dependency with each stage's result and time, then a summary line:
//   dns4 / dns6  dns.lookup with family 4 / 6: getaddrinfo, so /etc/hosts and the pod's resolv.conf
//                search domains apply exactly as for the gateway (resolve4/resolve6 skip both)
//   tcp4 / tcp6  a TCP connect to the first address of each family that answered
//   tls          a TLS handshake (SNI = the host name) over the first connected family, certificate
//                verified against the system CAs, plus the dependency's caFile if it has one
//   endpoint=    for a Service address with `endpoints` (the Kubernetes API): a TCP connect (and TLS,
//                the certificate checked against the Service address the client dials) to each
//                address kube-proxy translates it to. A NetworkPolicy enforced after that DNAT
//                (k3s: kube-router) judges these, so a failure names both and the config key.
// Exit 0: nothing failed that the config enforces (failures under `warn` are still logged);
// 1: an enforced failure (config openclaw:preflight.failOn); 2: the input file is unusable.
import { spawn } from "node:child_process";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import net from "node:net";
import { createInterface } from "node:readline";
import tls from "node:tls";
import { fileURLToPath } from "node:url";

const DEFAULT_INPUT = "/preflight/dependencies.json";
const KINDS = ["dns", "unreachable", "refused", "tls"];
const CLASSES = ["database", "kubernetes", "model", "telegram"];
const HINTS = {
  dns: "no A or AAAA answer: check the host name, that the Service exists, and DNS egress (port 53)",
  unreachable: "the connect timed out or had no route: an egress NetworkPolicy drops it, or the address is wrong",
  refused: "refused: nothing listens there (the upstream is down or restarting), or a NetworkPolicy REJECTs it",
  tls: "the TLS handshake failed: wrong server name, an intercepting proxy or an unknown CA",
};

function now() {
  return performance.now();
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// getaddrinfo cannot be cancelled, and node's exit waits for the thread it blocks (a resolver that
// never answers holds the pod for its full retry time). So the lookups run in a child process of
// this script (`--resolve host...`, one JSON line per answer), killed once every check is done.
function startResolver(hosts) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--resolve", ...hosts], {
    stdio: ["ignore", "pipe", "inherit"],
    // Every lookup at once: libuv's default 4 threads would queue the rest behind a slow resolver.
    // Two lookups per name, and libuv runs slow I/O (getaddrinfo) on at most half the pool
    // (libuv src/threadpool.c slow_work_thread_threshold, src/unix/getaddrinfo.c UV__WORK_SLOW_IO).
    env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.min(128, Math.max(4, hosts.length * 4))) },
  });
  const waiting = new Map();
  const answers = new Map();
  for (const host of hosts) {
    for (const family of [4, 6]) {
      answers.set(`${family}/${host}`, new Promise((resolve) => waiting.set(`${family}/${host}`, resolve)));
    }
  }
  createInterface({ input: child.stdout }).on("line", (line) => {
    const a = JSON.parse(line);
    waiting.get(`${a.family}/${a.host}`)?.(a);
  });
  child.on("exit", () => {
    for (const resolve of waiting.values()) resolve({ code: "resolver exited" });
  });
  return { answer: (host, family) => answers.get(`${family}/${host}`), stop: () => child.kill("SIGKILL") };
}

async function resolveChild(hosts) {
  await Promise.all(hosts.flatMap((host) => [4, 6].map(async (family) => {
    const start = now();
    let answer;
    try {
      answer = { addresses: (await lookup(host, { family, all: true })).map((a) => a.address) };
    } catch (err) {
      answer = { code: err.code || String(err) };
    }
    process.stdout.write(JSON.stringify({ host, family, ms: Math.round(now() - start), ...answer }) + "\n");
  })));
}

async function resolveFamily(resolver, host, family, ms) {
  if (net.isIP(host)) {
    return net.isIP(host) === family ? { state: "ip", ms: 0, addresses: [host] } : { state: "skip", ms: 0, addresses: [] };
  }
  const start = now();
  const result = await withTimeout(resolver.answer(host, family), ms);
  if (result.timedOut) return { state: "timeout", ms: Math.round(now() - start), addresses: [] };
  if (result.code) return { state: "none", ms: result.ms ?? Math.round(now() - start), addresses: [], code: result.code };
  const addresses = result.addresses.filter((a) => net.isIP(a) === family);
  return addresses.length ? { state: "ok", ms: result.ms, addresses } : { state: "none", ms: result.ms, addresses: [], code: "ENODATA" };
}

function connect(address, port, ms) {
  const start = now();
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: address, port });
    const finish = (state, code) => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      if (state !== "ok") socket.destroy();
      resolve({ state, ms: Math.round(now() - start), code, socket: state === "ok" ? socket : undefined });
    };
    const timer = setTimeout(() => finish("timeout", "ETIMEDOUT"), ms);
    socket.once("connect", () => finish("ok"));
    socket.once("error", (err) => {
      const refused = ["ECONNREFUSED", "ECONNRESET"].includes(err.code);
      finish(refused ? "refused" : "unreachable", err.code);
    });
  });
}

function handshake(socket, dep, ms) {
  const start = now();
  // host: the name (or IP) the certificate must match; servername: SNI, never an IP (RFC 6066).
  const name = dep.serverName || dep.host;
  const options = { socket, host: name, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] };
  if (!net.isIP(name)) options.servername = name;
  let note = "";
  if (dep.caFile) {
    try {
      options.ca = [...tls.rootCertificates, readFileSync(dep.caFile, "utf8")];
    } catch {
      note = "unverified: no " + dep.caFile;
    }
  }
  return new Promise((resolve) => {
    const secure = tls.connect(options);
    const finish = (state, code) => {
      clearTimeout(timer);
      secure.removeAllListeners("error");
      secure.on("error", () => {});
      secure.destroy();
      resolve({ state, ms: Math.round(now() - start), code });
    };
    const timer = setTimeout(() => finish("timeout", "ETIMEDOUT"), ms);
    secure.once("secureConnect", () => {
      // Without a CA to check against (no caFile mounted), a completed handshake is what we know.
      if (secure.authorized || note) finish("ok", note || undefined);
      else finish("fail", String(secure.authorizationError));
    });
    secure.once("error", (err) => finish("fail", err.code || err.message));
  });
}

function show(stage) {
  if (!stage || stage.state === "skip") return "skip";
  const extra = [stage.ms + "ms"];
  if (stage.addresses && stage.addresses.length && stage.state === "ok") extra.push(stage.addresses.slice(0, 2).join(","));
  if (stage.code) extra.push(stage.code);
  return `${stage.state}(${extra.join(" ")})`;
}

// A Service address with endpoints: check each endpoint as the filter after DNAT sees it.
async function checkEndpoints(dep, ms) {
  return Promise.all((dep.endpoints || []).map(async (ep) => {
    const tcp = await connect(ep.host, ep.port, ms);
    let tlsStage = null;
    if (tcp.state === "ok" && dep.tls) tlsStage = await handshake(tcp.socket, { ...dep, serverName: dep.serverName || dep.host }, ms);
    if (tcp.socket) tcp.socket.destroy();
    return { ep, tcp, tls: tlsStage, ok: tcp.state === "ok" && (!tlsStage || tlsStage.state === "ok") };
  }));
}

function endpointNotes(dep, failure, endpoints) {
  if (!endpoints.length) return [];
  const key = dep.endpointsKey || "the endpoints list";
  const listed = endpoints.map((e) => `${e.ep.host}:${e.ep.port}`).join(", ");
  const failed = endpoints.filter((e) => !e.ok).map((e) => `${e.ep.host}:${e.ep.port} ${e.tls && e.tcp.state === "ok" ? "tls" : e.tcp.state}`);
  if (failure && failure !== "dns" && failed.length === endpoints.length) {
    return [`post-DNAT: ${dep.host}:${dep.port} is translated by kube-proxy to the API server's endpoints (${listed}), ` +
      `and a NetworkPolicy enforced after DNAT (k3s: kube-router) judges those, not the Service address; ` +
      `none of them answered either: allow them in egress (${key}) and check that ${key} lists what ` +
      "`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes` shows"];
  }
  if (failure && failure !== "dns") {
    return [`post-DNAT: the endpoints in ${key} answer (${listed}) but ${dep.host}:${dep.port} does not: kube-proxy ` +
      `translates it to an endpoint missing from ${key} (a server added or moved?); compare with ` +
      "`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`"];
  }
  if (!failure && failed.length) {
    return [`endpoint ${failed.join(", ")} of ${key} failed while ${dep.host}:${dep.port} answered: ` +
      "kube-proxy may translate a connection to it; check the list against the cluster's EndpointSlice"];
  }
  return [];
}

async function check(dep, ms, resolver) {
  const [dns4, dns6] = await Promise.all([4, 6].map((f) => resolveFamily(resolver, dep.host, f, ms)));
  const targets = { 4: dns4.addresses[0], 6: dns6.addresses[0] };
  const [tcp4, tcp6] = await Promise.all([4, 6].map((f) => (targets[f] ? connect(targets[f], dep.port, ms) : null)));
  const open = [tcp4, tcp6].filter((t) => t && t.state === "ok");
  let tlsStage = null;
  const [endpoints] = await Promise.all([
    checkEndpoints(dep, ms),
    (async () => { if (dep.tls && open.length) tlsStage = await handshake(open[0].socket, dep, ms); })(),
  ]);
  for (const t of open) t.socket.destroy();

  const tried = [tcp4, tcp6].filter(Boolean);
  let failure = null;
  if (!tried.length) failure = "dns";
  else if (!open.length) failure = tried.some((t) => t.state !== "refused") ? "unreachable" : "refused";
  else if (tlsStage && tlsStage.state !== "ok") failure = "tls";
  const notes = [];
  // An address family that answers in DNS but cannot be reached: clients that try it first stall
  // (the known Telegram failure: AAAA records, no IPv6 egress).
  for (const [family, t] of [["IPv6", tcp6], ["IPv4", tcp4]]) {
    if (!failure && t && t.state !== "ok") notes.push(`${family} answered in DNS but ${t.state}`);
  }
  notes.push(...endpointNotes(dep, failure, endpoints));
  // The kubelet sets these even with enableServiceLinks: false (kubernetes pkg/kubelet/kubelet_pods.go,
  // getServiceEnvVarMap): the cluster's own word on where the API is. The egress rule follows the config.
  const { KUBERNETES_SERVICE_HOST: apiHost, KUBERNETES_SERVICE_PORT: apiPort } = process.env;
  if (dep.kind === "kubernetes" && apiHost && apiHost !== dep.host) {
    notes.push(`KUBERNETES_SERVICE_HOST is ${apiHost}: network.apiServer differs`);
  }
  if (dep.kind === "kubernetes" && apiPort && Number(apiPort) !== dep.port) {
    notes.push(`KUBERNETES_SERVICE_PORT is ${apiPort}: network.apiServerPort differs`);
  }
  return { dep, dns4, dns6, tcp4, tcp6, tls: tlsStage, endpoints, failure, notes };
}

function load(path) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err.message} (mount the preflight ConfigMap, key dependencies.json)`);
  }
  const problems = [];
  if (doc.version !== 1) problems.push(`version: expected 1, got ${JSON.stringify(doc.version)}`);
  if (!Array.isArray(doc.dependencies)) problems.push("dependencies: expected a list");
  for (const [i, d] of (Array.isArray(doc.dependencies) ? doc.dependencies : []).entries()) {
    if (!d || typeof d !== "object" || Array.isArray(d)) {
      problems.push(`dependencies[${i}]: expected an object, got ${JSON.stringify(d)}`);
      continue;
    }
    if (!CLASSES.includes(d.kind)) problems.push(`dependencies[${i}].kind: expected one of ${CLASSES}, got ${JSON.stringify(d.kind)}`);
    if (typeof d.host !== "string" || !d.host) problems.push(`dependencies[${i}].host: expected a host name or address`);
    if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) problems.push(`dependencies[${i}].port: expected 1-65535, got ${JSON.stringify(d.port)}`);
    // Optional, but a wrong type would reach tls.connect (a TypeError, not a line per dependency).
    for (const key of ["name", "serverName", "caFile", "endpointsKey"]) {
      if (d[key] !== undefined && (typeof d[key] !== "string" || !d[key])) {
        problems.push(`dependencies[${i}].${key}: expected a non-empty string, got ${JSON.stringify(d[key])}`);
      }
    }
    if (d.tls !== undefined && typeof d.tls !== "boolean") {
      problems.push(`dependencies[${i}].tls: expected true or false, got ${JSON.stringify(d.tls)}`);
    }
    if (d.endpoints !== undefined && !Array.isArray(d.endpoints)) problems.push(`dependencies[${i}].endpoints: expected a list of {host, port}`);
    for (const [j, e] of (Array.isArray(d.endpoints) ? d.endpoints : []).entries()) {
      if (!e || !net.isIP(e.host)) problems.push(`dependencies[${i}].endpoints[${j}].host: expected an IP address, got ${JSON.stringify(e && e.host)}`);
      if (!e || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) problems.push(`dependencies[${i}].endpoints[${j}].port: expected 1-65535, got ${JSON.stringify(e && e.port)}`);
    }
  }
  for (const [cls, kinds] of Object.entries(doc.failOn || {})) {
    for (const k of kinds) if (!KINDS.includes(k)) problems.push(`failOn.${cls}: unknown failure ${JSON.stringify(k)} (expected ${KINDS})`);
  }
  if (problems.length) throw new Error(`${path} is invalid:\n  - ${problems.join("\n  - ")}`);
  return doc;
}

async function main() {
  const path = process.argv[2] || process.env.PREFLIGHT_DEPENDENCIES || DEFAULT_INPUT;
  let doc;
  try {
    doc = load(path);
  } catch (err) {
    console.error(`preflight: error: ${err.message}`);
    return 2;
  }
  const ms = Number.isInteger(doc.timeoutMs) ? doc.timeoutMs : 3000;
  const start = now();
  const names = [...new Set(doc.dependencies.map((d) => d.host).filter((h) => !net.isIP(h)))];
  const resolver = startResolver(names);
  const results = await Promise.all(doc.dependencies.map((d) => check(d, ms, resolver)));
  resolver.stop();
  const counts = { ok: 0, degraded: 0, warn: 0, enforce: 0 };
  const enforced = [];
  for (const r of results) {
    const enforce = r.failure && (doc.failOn?.[r.dep.kind] || []).includes(r.failure);
    let verdict = "OK";
    if (r.failure) {
      verdict = `FAIL ${r.failure} ${enforce ? "enforced" : "warn"}`;
      counts[enforce ? "enforce" : "warn"] += 1;
      if (enforce) enforced.push(`${r.dep.kind} ${r.dep.host}:${r.dep.port} ${r.failure}`);
    } else if (r.notes.length) {
      verdict = "DEGRADED";
      counts.degraded += 1;
    } else {
      counts.ok += 1;
    }
    const via = r.endpoints.map((e) => ` endpoint=${e.ep.host}:${e.ep.port} tcp=${show(e.tcp)}` +
      (r.dep.tls ? ` tls=${e.tcp.state === "ok" ? show(e.tls) : "skip"}` : "")).join("");
    const stages = `dns4=${show(r.dns4)} dns6=${show(r.dns6)} tcp4=${show(r.tcp4)} tcp6=${show(r.tcp6)} tls=${r.dep.tls ? show(r.tls) : "skip"}${via}`;
    const tail = [...r.notes, ...(r.failure ? [HINTS[r.failure]] : [])].join("; ");
    console.log(`preflight: [${verdict}] ${r.dep.kind} ${r.dep.host}:${r.dep.port} ${stages} -- ${r.dep.name}${tail ? " -- " + tail : ""}`);
  }
  const code = enforced.length ? 1 : 0;
  console.log(`preflight: summary: ${results.length} checked in ${Math.round(now() - start)}ms: ${counts.ok} ok, ` +
    `${counts.degraded} degraded, ${counts.warn} failed (warn), ${counts.enforce} failed (enforced)` +
    (enforced.length ? `: ${enforced.join(", ")}: exit 1 (openclaw:preflight.failOn)` : ": exit 0"));
  return code;
}

if (process.argv[2] === "--resolve") {
  resolveChild(process.argv.slice(3)).then(() => process.exit(0));
} else {
  main().then((code) => process.exit(code), (err) => {
    console.error(`preflight: error: ${err.stack || err}`);
    process.exit(2);
  });
}
