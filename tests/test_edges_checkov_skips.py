"""Edges of the checkov annotations (components/checkov_skips.py): numbered from 1 in the order of the
check ids, `<check id>=<reason>`, the two digest checks only while no digest is pinned, for the
gateway's and the backup's lists and for any other."""

from __future__ import annotations

import pytest

from components.checkov_skips import BACKUP, GATEWAY, WITHOUT_DIGEST, checkov_skips


def test_the_checks_are_numbered_from_one_in_the_order_of_their_ids() -> None:
    assert checkov_skips({"CKV_K8S_9": "b", "CKV_K8S_10": "a", "CKV_K8S_1": "c"}, True) == {
        "checkov.io/skip1": "CKV_K8S_1=c", "checkov.io/skip2": "CKV_K8S_10=a", "checkov.io/skip3": "CKV_K8S_9=b"}


def test_the_digest_checks_join_only_while_no_digest_is_pinned() -> None:
    kept = {"CKV_K8S_99": "kept"}
    assert checkov_skips(kept, True) == {"checkov.io/skip1": "CKV_K8S_99=kept"}
    assert checkov_skips(kept, False) == {"checkov.io/skip1": f"CKV_K8S_15={WITHOUT_DIGEST['CKV_K8S_15']}",
                                          "checkov.io/skip2": f"CKV_K8S_43={WITHOUT_DIGEST['CKV_K8S_43']}",
                                          "checkov.io/skip3": "CKV_K8S_99=kept"}
    assert checkov_skips({}, True) == {}


@pytest.mark.parametrize(("kept", "ids"), [
    (GATEWAY, ["CKV_K8S_11", "CKV_K8S_35", "CKV_K8S_38", "CKV_K8S_40"]),
    (BACKUP, ["CKV_K8S_35", "CKV_K8S_40"]),
])
@pytest.mark.parametrize("pinned", [False, True])
def test_each_workload_s_annotations_carry_each_reason_once(kept: dict[str, str], ids: list[str], pinned: bool) -> None:
    expected = sorted(ids + ([] if pinned else ["CKV_K8S_15", "CKV_K8S_43"]))
    skips = checkov_skips(kept, pinned)
    assert list(skips) == [f"checkov.io/skip{i}" for i in range(1, len(expected) + 1)]
    reasons = {**kept, **WITHOUT_DIGEST}
    assert list(skips.values()) == [f"{check}={reasons[check]}" for check in expected]
    # checkov splits the value at its first `=`: a reason holds none.
    assert all(value.count("=") == 1 for value in skips.values())
