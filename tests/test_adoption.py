"""Taking over from Argo CD and every later `up`: one explicit provider, adoption by switch, the volume never
replaced, Vault objects never taken silently (tests/test_adoption_vault.py),
the operator's Secrets never missing, mode switches and rotations."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError
from components.secret_lifecycle import VAULT_VERSIONS_ANNOTATION
from engine.analyzer import PolicyAnalyzer, load_policy_config, mandatory
from engine.harness import (
    REPO,
    RunResult,
    run_stack,
)
from engine.vault_fixture import kv_v2_invokes
from tests.vault_fixtures import DIRECT, FAKE_VAULT, run_direct
from tools import render

DEV_K8S = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]["openclaw:kubernetes"]


def _k8s(**changes: Any) -> dict[str, Any]:
    return {"openclaw:kubernetes": {**DEV_K8S, **changes}}


def _provider(run: RunResult) -> Any:
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    return provider


POLICY = "vault:index/policy:Policy"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"


def secrets_config(**changes: Any) -> dict[str, Any]:
    dev = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]["openclaw:secrets"]
    return {"openclaw:secrets": {**dev, **changes}}


def test_every_kubernetes_object_uses_the_explicit_provider(dev: RunResult) -> None:
    provider = _provider(dev)
    assert provider.properties["context"] == "default"
    assert provider.properties["clusterIdentifier"] == "lumie-k3s"
    assert provider.properties["enableServerSideApply"] == "true"
    objects = dev.kubernetes()
    assert len(objects) > 40
    for record in objects:
        assert record.provider.startswith(provider.urn + "::"), record.name


def test_adoption_is_off_by_default_and_reaches_the_provider_when_on(dev: RunResult) -> None:
    assert _provider(dev).properties["upsertExistingObjects"] == "false"
    assert _provider(dev).properties["enablePatchForce"] == "false"
    adopting = _provider(run_stack("dev", overrides=_k8s(adoptExisting=True)))
    assert adopting.properties["upsertExistingObjects"] == "true"
    assert adopting.properties["enablePatchForce"] == "true"
    # A cluster identifier keeps a context rename an update, not a replacement of every object.
    assert adopting.properties["clusterIdentifier"] == "lumie-k3s"


def test_volume_and_namespace_are_protected(dev: RunResult) -> None:
    pvc = dev.find("PersistentVolumeClaim", "openclaw-data")
    assert pvc.options.protect and pvc.options.retain_on_delete
    assert not pvc.options.delete_before_replace and not pvc.options.replace_on_changes
    assert dev.find("Namespace", "openclaw").options.protect


@pytest.mark.parametrize(("overrides", "key", "words"), [
    ({"openclaw:storage": {"className": "local-path", "size": "500Mi"}}, "openclaw:storage.className",
     "'local-path' differs from the live volume's 'local-path-retain'"),
    ({"openclaw:storage": {"className": "local-path-retain", "size": "100Mi"}}, "openclaw:storage.size",
     "100Mi is smaller than the live volume's 500Mi"),
    (_k8s(volumeLock={**DEV_K8S["volumeLock"], "accessModes": ["ReadWriteMany"]}),
     "openclaw:kubernetes.volumeLock.accessModes", "the live volume has ['ReadWriteMany']"),
    ({"openclaw:namespace": "openclaw-v2"}, "openclaw:namespace", "differs from the live namespace 'openclaw'"),
])
def test_a_change_that_would_replace_live_state_fails(overrides: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        run_stack("dev", overrides=overrides)
    message = str(info.value)
    assert message.startswith("refusing a change that would replace live state (1):")
    line = message.splitlines()[1]
    assert line.startswith(f"  - {key}: ") and words in line, message


def test_growing_the_volume_is_allowed() -> None:
    run = run_stack("dev", overrides={"openclaw:storage": {"className": "local-path-retain", "size": "1Gi"}})
    assert run.find("PersistentVolumeClaim", "openclaw-data").properties["spec"]["resources"]["requests"] == {
        "storage": "1Gi"}


def test_render_marks_adopted_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_stack("dev", overrides=_k8s(adoptExisting=True))
    written = render.write_render(run, tmp_path)
    adoption = yaml.safe_load((tmp_path / "adoption.yaml").read_text(encoding="utf-8"))
    listed = {(o["kind"], o["name"]) for o in adoption["objects"]}
    assert ("PersistentVolumeClaim", "openclaw-data") in listed and ("Namespace", "openclaw") in listed
    assert len(listed) == len(run.kubernetes())
    assert not any(o["kind"].startswith("vault:") for o in adoption["objects"])
    table = render.format_table(written, tmp_path)
    assert table.splitlines()[0].endswith("ON FIRST UP")
    assert "adopt if it exists" in next(line for line in table.splitlines() if "openclaw-data" in line)


def test_render_without_adoption_writes_no_adoption_list(tmp_path: Path, dev: RunResult) -> None:
    (tmp_path / "adoption.yaml").write_text("stale", encoding="utf-8")
    written = render.write_render(dev, tmp_path)
    assert not (tmp_path / "adoption.yaml").exists()
    assert "ON FIRST UP" not in render.format_table(written, tmp_path)


# --- The operator's Secrets: never a pod without them (issue point 2) -----------------------------

def test_static_secrets_wait_for_the_sync_and_orphan_their_secret_on_delete(dev: RunResult) -> None:
    deployment = dev.find("Deployment", "openclaw")
    (auth,) = [r for r in dev.kubernetes() if r.properties["kind"] == "VaultAuth"]
    (role,) = dev.by_type(ROLE)
    assert role.urn in auth.dependencies
    for name in ("openclaw-secrets", "openclaw-token-secrets"):
        vss = dev.find("VaultStaticSecret", name)
        annotations = vss.properties["metadata"]["annotations"]
        # pulumi-kubernetes waits for VSO's SecretSynced condition before the VSS counts as created,
        # and the Deployment waits for the VSS: the new pod starts only once the Secret holds data.
        assert annotations["pulumi.com/waitFor"] == "condition=SecretSynced"
        assert vss.urn in deployment.dependencies
        # A deleted VSS would garbage-collect its Secret (owner reference): orphan it instead.
        assert annotations["pulumi.com/deletionPropagationPolicy"] == "orphan"
        assert {auth.urn, role.urn} <= set(vss.dependencies)
        # Outside a takeover the operator never overwrites a Secret it does not own.
        assert vss.properties["spec"]["destination"]["overwrite"] is False
        assert vss.properties["spec"]["destination"]["create"] is True


def test_the_takeover_lets_the_new_static_secrets_take_the_live_secrets_over() -> None:
    run = run_stack("dev", overrides=_k8s(adoptExisting=True))
    for name in ("openclaw-secrets", "openclaw-token-secrets"):
        destination = run.find("VaultStaticSecret", name).properties["spec"]["destination"]
        # VSO overwrites an existing Secret only with overwrite on and only if the Secret carries no
        # owner labels of another VSS (helpers/secrets.go): tools.takeover strips those first.
        assert (destination["name"], destination["create"], destination["overwrite"]) == (name, True, True)


def test_the_takeover_applies_under_a_fixed_field_manager(dev: RunResult) -> None:
    run = run_stack("dev", overrides=_k8s(adoptExisting=True))
    for record in run.kubernetes():
        annotations = record.properties["metadata"].get("annotations") or {}
        assert annotations.get("pulumi.com/patchFieldManager") == "pulumi-openclaw", record.name
    # Outside the takeover the provider keeps the name it stored in state: no annotation.
    assert not any("pulumi.com/patchFieldManager" in (r.properties["metadata"].get("annotations") or {})
                   for r in dev.kubernetes())


# --- Switching secrets.mode and rotating (issue point 3) ------------------------------------------

@pytest.mark.parametrize(("mode", "lock"), [("direct", "operator"), ("operator", "direct")])
def test_a_mode_switch_without_adoption_is_refused_with_the_way_to_do_it(mode: str, lock: str) -> None:
    overrides = {**secrets_config(mode=mode), **_k8s(secretsModeLock=lock)}
    with pytest.raises(ConfigError) as info:
        run_stack("dev", overrides=overrides, invokes=kv_v2_invokes(FAKE_VAULT))
    line = str(info.value).splitlines()[1]
    assert line.startswith(f"  - openclaw:secrets.mode: {mode!r} differs from openclaw:kubernetes.secretsModeLock "
                           f"{lock!r}")
    assert "one `pulumi up` with openclaw:kubernetes.adoptExisting true" in line
    assert f"set secretsModeLock to {mode!r} and adoptExisting back to false" in line


def test_operator_to_direct_with_adoption_keeps_thesecrets_config() -> None:
    run = run_stack("dev", overrides={**secrets_config(mode="direct"), **_k8s(secretsModeLock="operator",
                                                                        adoptExisting=True)},
                    invokes=kv_v2_invokes(FAKE_VAULT))
    provider = _provider(run)
    # The plain Secrets are server-side applied over the operator's (upsert), the VSS are gone from
    # the program (deleted with orphan propagation, as their last registration said).
    assert provider.properties["upsertExistingObjects"] == "true"
    for name in ("openclaw-secrets", "openclaw-token-secrets"):
        secret = run.find("Secret", name)
        # Back to operator mode later: the Secret stays for the operator to take over.
        assert secret.options.retain_on_delete
    assert not [r for r in run.kubernetes() if r.properties["kind"] == "VaultStaticSecret"]


def test_a_rotated_secret_is_updated_in_place_not_replaced(dev: RunResult) -> None:
    # pulumi-kubernetes replaces a Secret whose data changes unless enableSecretMutable is on; a
    # replacement of a retained, named Secret would skip the delete and fail the create.
    assert _provider(dev).properties["enableSecretMutable"] == "true"
    for secret in run_direct().by_type("kubernetes:core/v1:Secret"):
        assert secret.options.retain_on_delete and not secret.properties.get("immutable")


def test_a_matching_lock_or_no_lock_needs_nothing(dev: RunResult) -> None:
    assert run_direct(_k8s(secretsModeLock="direct")).find("Secret", "openclaw-secrets")
    assert run_direct(_k8s(secretsModeLock=None)).find("Secret", "openclaw-secrets")


def _template(run: RunResult) -> dict[str, Any]:
    return dict(run.find("Deployment", "openclaw").properties["spec"]["template"]["metadata"])


def test_a_rotation_in_direct_mode_rolls_the_pod_without_a_value_or_hash_in_the_template() -> None:
    before = run_stack("dev", overrides=DIRECT, invokes=kv_v2_invokes(FAKE_VAULT, {"tokens": 3,
                                                                                      "applications/openclaw": 7}))
    rotated_values = {path: {k: v.replace("fake-not-a-secret", "fake-rotated-not-a-secret") for k, v in data.items()}
                      for path, data in FAKE_VAULT.items()}
    same_version = run_stack("dev", overrides=DIRECT, invokes=kv_v2_invokes(rotated_values, {
        "tokens": 3, "applications/openclaw": 7}))
    rotated = run_stack("dev", overrides=DIRECT, invokes=kv_v2_invokes(rotated_values, {
        "tokens": 4, "applications/openclaw": 7}))
    assert _template(before)["annotations"] == {
        VAULT_VERSIONS_ANNOTATION: "secret/applications/openclaw=7 secret/tokens=3"}
    # Only the version rolls the pod: the template is a function of Vault's version numbers, not of values.
    assert _template(same_version) == _template(before)
    assert _template(rotated)["annotations"] == {
        VAULT_VERSIONS_ANNOTATION: "secret/applications/openclaw=7 secret/tokens=4"}
    assert rotated.find("Secret", "openclaw-token-secrets").properties["stringData"]["DEEPSEEK_API_KEY"] == (
        "fake-rotated-not-a-secret-0003")
    manifests = json.dumps([r.properties for r in rotated.kubernetes() if r.properties["kind"] != "Secret"])
    for data in rotated_values.values():
        for value in data.values():
            for text in (value, hashlib.sha256(value.encode()).hexdigest(), hashlib.sha1(value.encode()).hexdigest(),
                         hashlib.md5(value.encode()).hexdigest()):
                assert text[:12] not in manifests


def test_operator_mode_leaves_the_rollout_to_the_operator(dev: RunResult) -> None:
    assert "annotations" not in _template(dev)
    for name in ("openclaw-secrets", "openclaw-token-secrets"):
        assert dev.find("VaultStaticSecret", name).properties["spec"]["rolloutRestartTargets"] == [
            {"kind": "Deployment", "name": "openclaw"}]


@pytest.mark.parametrize("overrides", [_k8s(adoptExisting=True), DIRECT], ids=["takeover", "direct"])
def test_the_takeover_and_direct_runs_pass_the_policy_pack(analyzer: PolicyAnalyzer, overrides: dict[str, Any]) -> None:
    # The field-manager and vault-versions annotations, overwrite, retain: nothing the pack refuses.
    run = run_stack("dev", overrides=overrides, invokes=kv_v2_invokes(FAKE_VAULT))
    assert mandatory(analyzer.analyze(run.resources, load_policy_config("dev"))) == []
