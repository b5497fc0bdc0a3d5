"""tests/support/e2e/pod.py: the rendered pod laid out as the kubelet would (fast; the boot is `./run e2e`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.harness import RunResult, run_stack
from tests.support.e2e.boot import release_of
from tests.support.e2e.pod import IMAGE_CMD, IMAGE_WORKDIR, PodError, expand, fake_secret, materialize, pod_from_render


def test_kubelet_expansion() -> None:
    env = {"A": "x"}
    assert expand("$(A)-$(B)-$$(A)-$$", env) == "x-$(B)-$(A)-$"


def test_gateway_runs_its_rendered_command_with_fake_secrets(dev: RunResult) -> None:
    pod = pod_from_render(dev)
    (gateway,) = pod.containers
    assert (gateway.argv, gateway.workdir) == (IMAGE_CMD, IMAGE_WORKDIR)
    password = fake_secret("openclaw-secrets", "OPENCLAW_DB_PASSWORD")
    assert gateway.env["OPENCLAW_DB_PASSWORD"] == password
    assert gateway.env["DATABASE_URL"] == (f"postgresql://openclaw:{password}@infra-db-rw.infra-db.svc:5432/openclaw")
    assert all(v.startswith("fake-not-a-secret-") for (_, _), v in pod.secret_values.items())
    assert (pod.uid, pod.gid, pod.groups, pod.fs_group) == (1000, 1000, [1000], 1000)
    # Every init container is laid out from its own command, env and mounts; the seed gets the
    # secrets (its preflight of them), the dependency preflight none.
    for init in pod.init_containers:
        assert init.argv and init.mounts
    assert pod.container("seed").env["OPENCLAW_GATEWAY_TOKEN"] == gateway.env["OPENCLAW_GATEWAY_TOKEN"]
    assert "OPENCLAW_GATEWAY_TOKEN" not in pod.container("preflight").env


def test_volumes_follow_the_render(dev: RunResult, tmp_path: Path) -> None:
    pod = pod_from_render(dev)
    paths = materialize(pod, tmp_path / "volumes", tmp_path / "pvc")
    for name, volume in pod.volumes.items():
        path = paths[name]
        if "projected" in volume:
            for source in volume["projected"]["sources"]:
                data = pod.config_maps[source["configMap"]["name"]]
                for item in source["configMap"]["items"]:
                    assert (path / item["path"]).read_text(encoding="utf-8") == data[item["key"]]
            assert (path / "..data").is_symlink()
        elif "configMap" in volume:
            name = volume["configMap"]["name"]
            data: dict[str, str | bytes] = {**pod.config_maps[name], **pod.binary_maps.get(name, {})}
            files = {p.name: p.read_bytes() if isinstance(data.get(p.name), bytes) else p.read_text(encoding="utf-8")
                     for p in path.iterdir() if not p.name.startswith("..")}
            assert files == data
        elif "emptyDir" in volume or "persistentVolumeClaim" in volume:
            assert list(path.iterdir()) == []
            if os.geteuid() == 0:  # the fsGroup ownership the kubelet gives (root only, as the kubelet)
                assert (path.stat().st_uid, path.stat().st_gid) == (1000, 1000)
    assert paths["data"] == tmp_path / "pvc"


def test_a_missing_config_map_key_is_named(dev: RunResult, tmp_path: Path) -> None:
    pod = pod_from_render(dev)
    projected = next(v for v in pod.volumes.values() if "projected" in v)
    source = projected["projected"]["sources"][0]["configMap"]
    source["items"] = [{"key": "NOPE.md", "path": "main/NOPE.md"}]
    with pytest.raises(PodError, match=r"has no key 'NOPE.md'"):
        materialize(pod, tmp_path / "volumes", tmp_path / "pvc")


def test_an_env_override_reaches_the_named_container_only(dev: RunResult) -> None:
    pod = pod_from_render(dev, env_overrides={"seed": {"OPENCLAW_GATEWAY_TOKEN": ""}})
    assert pod.container("seed").env["OPENCLAW_GATEWAY_TOKEN"] == ""
    assert pod.container("migrate").env["OPENCLAW_GATEWAY_TOKEN"] != ""
    assert pod.containers[0].env["OPENCLAW_GATEWAY_TOKEN"] != ""


@pytest.mark.parametrize("stack,tag", [("dev", "2026.9.6"), ("prod", "2026.2.23")])
def test_the_release_is_the_image_tag(stack: str, tag: str) -> None:
    assert release_of(run_stack(stack)) == tag
    bumped = run_stack(stack, overrides={"openclaw:image": {"tag": "2026.6.35"}})
    assert release_of(bumped) == "2026.6.35"
