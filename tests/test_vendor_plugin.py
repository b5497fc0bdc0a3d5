"""tools/vendor_plugin.py: the one way a plugin tarball enters vendor/plugins/ (the registry part
runs against the real npm registry and is marked e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components import plugins as plugins_module
from components.plugins import integrity_of, tarball_name
from components.releases import RELEASES
from tools import vendor_plugin

PINNED = RELEASES["2026.9.6"].plugins[0]


@pytest.mark.parametrize("argv", [[], ["@openclaw/deepseek-provider"], ["@openclaw/deepseek-provider@^2026.9.5"],
                                  ["@openclaw/deepseek-provider@latest"], ["a@1.0.0", "b@1.0.0"]])
def test_only_an_exact_version_is_vendored(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert vendor_plugin.main(argv) == 2
    assert "usage: python -m tools.vendor_plugin <package>@<exact version>" in capsys.readouterr().err


@pytest.mark.e2e
def test_vendoring_writes_the_registrys_tarball(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(vendor_plugin, "VENDOR", tmp_path)
    assert vendor_plugin.main([f"{PINNED.package}@{PINNED.version}"]) == 0
    data = (tmp_path / tarball_name(PINNED)).read_bytes()
    assert integrity_of(data) == PINNED.integrity
    assert data == (plugins_module.VENDOR / tarball_name(PINNED)).read_bytes()
    assert f'"{PINNED.integrity}"' in capsys.readouterr().out


@pytest.mark.e2e
def test_a_version_the_registry_does_not_have_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(vendor_plugin, "VENDOR", tmp_path)
    assert vendor_plugin.main([f"{PINNED.package}@1999.1.1"]) == 1
    assert capsys.readouterr().err.startswith(f"vendor_plugin: error: npm view {PINNED.package}@1999.1.1 failed")
    assert list(tmp_path.iterdir()) == []
