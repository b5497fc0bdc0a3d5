"""The storage policies (policy/storage.py) at their edges, in both shapes: the class just inside and
just outside the list (configured and default), a PVC without a class, and `protect` on and off."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyzer import PolicyAnalyzer
from engine.harness import RunResult
from engine.marshal import UNKNOWN
from tests.policy_edges import findings, messages
from tests.test_policy import mutate

PVC = "PersistentVolumeClaim openclaw/openclaw-data"


def _class(value: str | None) -> Any:
    def apply(props: dict[str, Any]) -> None:
        if value is None:
            props["spec"].pop("storageClassName")
        else:
            props["spec"]["storageClassName"] = value
    return apply


@pytest.mark.parametrize("config", [{}, {"pvc-storage-class": "mandatory"}], ids=["stack config", "default list"])
@pytest.mark.parametrize(("value", "allowed"), [("local-path-retain", True), ("local-path", False),
                                                ("local-path-retain2", False), ("", False), (None, False)])
def test_storage_class(analyzer: PolicyAnalyzer, dev: RunResult, config: dict[str, Any], value: str | None,
                       allowed: bool) -> None:
    found = findings(analyzer, mutate(dev, "PersistentVolumeClaim", "openclaw-data", _class(value)),
                     "pvc-storage-class", config)
    assert found == ([] if allowed else [
        ("pvc-storage-class", "mandatory", f"{PVC}: storageClassName {value!r} is not one of ['local-path-retain']: "
                                           "state needs a class that retains the volume")])


def test_each_configured_class_on_its_own(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    config = {"pvc-storage-class": {"enforcementLevel": "mandatory", "allowedStorageClasses": ["fast", "slow"]}}
    for value, allowed in (("fast", True), ("slow", True), ("local-path-retain", False)):
        found = findings(analyzer, mutate(dev, "PersistentVolumeClaim", "openclaw-data", _class(value)),
                         "pvc-storage-class", config)
        assert (found == []) is allowed, (value, found)


@pytest.mark.parametrize("protect", [True, False])
def test_protect(analyzer: PolicyAnalyzer, dev: RunResult, protect: bool) -> None:
    found = findings(analyzer, mutate(dev, "PersistentVolumeClaim", "openclaw-data", lambda p: None, protect=protect),
                     "pvc-protected")
    assert messages(found) == ([] if protect else [
        f"{PVC}: not protected: set the `protect` resource option so no plan can delete the agents' state"])


def test_an_unknown_class_is_undecidable(analyzer: PolicyAnalyzer, dev: RunResult) -> None:
    records = mutate(dev, "PersistentVolumeClaim", "openclaw-data", lambda p: p["spec"].__setitem__(
        "storageClassName", UNKNOWN))
    assert findings(analyzer, records, "pvc-storage-class") == [
        ("pvc-storage-class", "mandatory", f"undecidable at preview: {PVC} spec.storageClassName is unknown, and the "
         "class must be one of ['local-path-retain']: make the value known in the program, or apply what it depends "
         "on first")]
