"""Edges of the secrets config (components/config/secrets.py) through the stack config's loading:
each rule just inside and just outside, the whole line a user reads, and each branch of a switch of
`secrets.mode` against the lock."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config

ORIGIN = {"allowedOrigins": ["https://ui.example.test"]}


def _secrets(**secrets: Any) -> Any:
    return parse_config({"gateway": ORIGIN, "secrets": secrets}).secrets


def _line(key: str, **secrets: Any) -> str:
    with pytest.raises(ConfigError) as info:
        _secrets(**secrets)
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith(f"  - openclaw:secrets{key}: ")]
    assert len(lines) == 1, str(info.value)
    return lines[0]


@pytest.mark.parametrize("path", ["secret", "applications/openclaw", "a/b/c", "A_b.c-d"])
def test_a_vault_path_is_accepted(path: str) -> None:
    assert _secrets(kvMount=path).kv_mount == path


@pytest.mark.parametrize("path", ["/secret", "secret/", "a//b", "", "a b"])
def test_a_vault_path_with_a_stray_slash_names_the_key(path: str) -> None:
    assert _line(".kvMount", kvMount=path) == (
        "  - openclaw:secrets.kvMount: must be a Vault path without a leading or trailing '/', such as secret or "
        f"applications/openclaw (got \"{path}\")")


@pytest.mark.parametrize("name", ["openclaw", "Open_claw.1-x"])
def test_a_vault_name_is_accepted(name: str) -> None:
    assert _secrets(role=name).role == name


@pytest.mark.parametrize("name", ["a/b", "", "a b"])
def test_a_vault_name_with_a_slash_names_the_key(name: str) -> None:
    assert _line(".role", role=name) == (
        f"  - openclaw:secrets.role: must be a Vault name: letters, digits, '_', '.', '-' (no '/') (got \"{name}\")")


@pytest.mark.parametrize("value", ["30s", "5m", "1h", "1.5h", "0s"])
def test_a_refresh_duration_is_accepted(value: str) -> None:
    assert _secrets(refreshAfter=value).refresh_after == value


@pytest.mark.parametrize("value", ["5", "5d", "m", "1.h", "5m "])
def test_a_refresh_that_is_no_duration_names_the_key(value: str) -> None:
    assert _line(".refreshAfter", refreshAfter=value) == (
        f"  - openclaw:secrets.refreshAfter: must be a duration in s, m or h, such as 30s, 5m or 1h (got \"{value}\")")


@pytest.mark.parametrize("ref", [None, "vault", "ops/vault", "vault-1.prod", "a"])
def test_a_connection_ref_is_accepted(ref: str | None) -> None:
    assert _secrets(connectionRef=ref).connection_ref == ref


@pytest.mark.parametrize("ref", ["Vault", "a/b/c", "-vault", "vault.", "ops/", ""])
def test_a_connection_ref_that_is_no_name_names_the_key(ref: str) -> None:
    assert _line(".connectionRef", connectionRef=ref) == (
        "  - openclaw:secrets.connectionRef: must be a VaultConnection name, optionally <namespace>/<name> "
        f"(got \"{ref}\")")


@pytest.mark.parametrize("audience", [None, "vault", " vault"])
def test_an_audience_or_none_is_accepted(audience: str | None) -> None:
    assert _secrets(audience=audience).audience == audience


@pytest.mark.parametrize("audience", ["", "  "])
def test_a_blank_audience_names_the_key(audience: str) -> None:
    assert _line(".audience", audience=audience) == (
        "  - openclaw:secrets.audience: must be a non-empty audience such as vault, or null for none "
        f"(got \"{audience}\")")


@pytest.mark.parametrize(("ttl", "max_ttl", "ok"), [(600, 600, True), (600, 601, True), (601, 600, False),
                                                    (60, 60, True), (3600, 86400, True)])
def test_the_max_ttl_is_at_least_the_ttl(ttl: int, max_ttl: int, ok: bool) -> None:
    if ok:
        secrets = _secrets(tokenTtl=ttl, tokenMaxTtl=max_ttl)
        assert (secrets.token_ttl, secrets.token_max_ttl) == (ttl, max_ttl)
    else:
        assert _line("", tokenTtl=ttl, tokenMaxTtl=max_ttl).startswith(
            f"  - openclaw:secrets: tokenMaxTtl {max_ttl} is shorter than tokenTtl {ttl}: raise tokenMaxTtl or "
            "lower tokenTtl (got ")


def test_one_secret_may_be_read_from_one_path() -> None:
    same = _secrets(gatewaySecret="s", tokenSecret="s", gatewayVaultPath="p", tokenVaultPath="p")
    assert (same.gateway_secret, same.token_secret) == ("s", "s")
    apart = _secrets(gatewaySecret="a", tokenSecret="b", gatewayVaultPath="p", tokenVaultPath="q")
    assert (apart.gateway_vault_path, apart.token_vault_path) == ("p", "q")
    assert _line("", gatewaySecret="s", tokenSecret="s", gatewayVaultPath="p", tokenVaultPath="q").startswith(
        "  - openclaw:secrets: gatewaySecret and tokenSecret are both 's' but read different Vault paths: one "
        "Secret is synced from one path (got ")


def _switch(mode: str, lock: str | None, adopt: bool) -> str | None:
    kubernetes: dict[str, Any] = {"adoptExisting": adopt}
    if lock is not None:
        kubernetes["secretsModeLock"] = lock
    raw = {"gateway": ORIGIN, "secrets": {"mode": mode}, "kubernetes": kubernetes}
    try:
        parse_config(raw)
    except ConfigError as error:
        return str(error)
    return None


@pytest.mark.parametrize(("mode", "lock", "adopt"), [
    ("operator", None, False), ("direct", None, False), ("operator", "operator", False), ("direct", "direct", False),
    ("operator", "direct", True), ("direct", "operator", True),
])
def test_a_mode_that_writes_the_live_secrets_or_adopts_them_passes(mode: str, lock: str | None, adopt: bool) -> None:
    assert _switch(mode, lock, adopt) is None


@pytest.mark.parametrize(("mode", "lock", "how"), [("direct", "operator", "plain Secrets are applied over"),
                                                   ("operator", "direct", "VaultStaticSecrets take over")])
def test_a_switch_without_adoption_says_how_to_do_it(mode: str, lock: str, how: str) -> None:
    assert _switch(mode, lock, False) == (
        "refusing a change that would replace live state (1):\n"
        f"  - openclaw:secrets.mode: {mode!r} differs from openclaw:kubernetes.secretsModeLock {lock!r} (what writes "
        "the live Secrets now): switching needs one `pulumi up` with openclaw:kubernetes.adoptExisting true, so the "
        f"new {how} the live ones and the pod never loses them; after that up set secretsModeLock to {mode!r} and "
        "adoptExisting back to false (docs/takeover-runbook.md, 'Switching secrets.mode')")
