"""Fixtures shared by the e2e modules: the upgraded volume (built once for the upgrade and the
rollback tests, tests/support/e2e/upgrade.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.e2e.upgrade import Upgraded, upgrade_volume


@pytest.fixture(scope="package")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgraded]:
    result = upgrade_volume(tmp_path_factory.mktemp("upgrade"))
    yield result
    print("\ne2e upgrade 2026.2.23 -> 2026.9.6:" + "".join(f"\n  {k}: {v:.1f}" for k, v in result.figures.items()))
