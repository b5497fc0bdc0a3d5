"""Edges of the release model's answers (components/releases.py): each release's derived answers on
their own, the version and tag forms at the edge of each pattern, and the messages a user reads."""

from __future__ import annotations

import dataclasses
import json

import pytest

from components import releases
from components.releases import RELEASES, UnknownReleaseError, release_for, tag_key, untested_base, version_key

KNOWN = "2026.2.23, 2026.3.7, 2026.6.35, 2026.9.6"


@pytest.mark.parametrize(("version", "validator", "secret_refs"), [
    ("2026.2.23", "start", False),   # no `config validate`, plain strings for the secret fields
    ("2026.3.7", "config-validate", True),
    ("2026.6.35", "config-validate", True),
    ("2026.9.6", "config-validate", True),
])
def test_each_releases_validator_and_secret_refs(version: str, validator: str, secret_refs: bool) -> None:
    release = RELEASES[version]
    assert release.validator == validator
    assert release.secret_refs is secret_refs
    assert release.key == tuple(int(p) for p in version.split("."))


@pytest.mark.parametrize("missing", releases.SECRET_FIELDS)
def test_secret_refs_need_every_secret_field(missing: str) -> None:
    partial = dataclasses.replace(RELEASES["2026.9.6"],
                                  secret_ref_fields=frozenset(f for f in releases.SECRET_FIELDS if f != missing))
    assert partial.secret_refs is False


def test_the_newest_and_the_oldest() -> None:
    assert (releases.NEWEST.version, releases.OLDEST.version) == ("2026.9.6", "2026.2.23")


@pytest.mark.parametrize(("version", "key"), [("2026.9.6", (2026, 9, 6)), ("2026.10.0", (2026, 10, 0)),
                                              ("0.0.0", (0, 0, 0))])
def test_a_version_key_is_numeric(version: str, key: tuple[int, ...]) -> None:
    assert version_key(version) == key


@pytest.mark.parametrize("version", ["2026.9", "2026.9.6.1", "v2026.9.6", "2026.9.6-beta.1", "", "2026.9.x"])
def test_a_version_that_is_no_release_is_refused(version: str) -> None:
    with pytest.raises(ValueError) as error:
        version_key(version)
    assert str(error.value) == f"{version!r} is not a release version such as 2026.9.6"


@pytest.mark.parametrize(("tag", "key"), [
    ("2026.9.7", (2026, 9, 7, 1)), ("v2026.9.7", (2026, 9, 7, 1)),
    ("2026.9.7-beta.1", (2026, 9, 7, 0)), ("v2026.10.0-rc-2", (2026, 10, 0, 0)),
    ("main", None), ("2026.9", None), ("2026.9.7-", None), ("V2026.9.7", None), ("x2026.9.7", None),
    ("2026.9.7+build", None),
])
def test_a_tags_key(tag: str, key: tuple[int, ...] | None) -> None:
    assert tag_key(tag) == key


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_a_known_release_is_its_own_untested_base(version: str) -> None:
    assert untested_base(version) is RELEASES[version]
    assert release_for(version) is RELEASES[version]


def test_a_pre_release_of_a_known_release_is_rendered_as_the_one_below() -> None:
    assert untested_base("2026.9.6-rc.1").version == "2026.6.35"


def test_the_messages_name_the_tag_and_the_known_releases() -> None:
    with pytest.raises(UnknownReleaseError) as unknown:
        release_for("2026.9.7")
    assert str(unknown.value) == f"'2026.9.7' is not a release this program supports (known: {KNOWN})"
    with pytest.raises(UnknownReleaseError) as no_version:
        untested_base("main")
    assert str(no_version.value) == (
        "'main' is not a release version such as 2026.9.6: an untested release must still be a version, to "
        f"render it as the newest known one below it (known: {KNOWN})")
    with pytest.raises(UnknownReleaseError) as older:
        untested_base("2026.2.22")
    assert str(older.value) == (f"'2026.2.22' is older than every release this program supports (known: {KNOWN}): "
                                "pin one of them")
    assert releases.known_versions() == KNOWN


def test_the_table_lists_every_release_in_version_order_with_sets_as_sorted_lists() -> None:
    table = releases.table()
    assert list(table) == ["2026.2.23", "2026.3.7", "2026.6.35", "2026.9.6"]
    newest = table["2026.9.6"]
    assert newest["commands"] == ["backup", "backup-restore", "backup-sqlite", "config-validate", "doctor"]
    assert newest["secret_ref_fields"] == sorted(releases.SECRET_FIELDS)
    assert newest["plugin_providers"] == ["deepseek"]
    assert newest["migration"] == ("doctor", "--fix", "--non-interactive")
    data = json.loads(releases.table_json())
    assert data["format"] == 1 and data["releases"] == json.loads(json.dumps(table))
    assert data["generatedBy"] == "python -m components.releases > policy/releases.json"


def test_the_known_list_and_the_table_are_in_version_order_past_a_one_digit_month(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A release of month 10 sorts after month 9 (as text it would sort before month 2)."""
    monkeypatch.setitem(RELEASES, "2026.10.0", dataclasses.replace(RELEASES["2026.9.6"], version="2026.10.0"))
    assert releases.known_versions() == f"{KNOWN}, 2026.10.0"
    assert list(releases.table()) == ["2026.2.23", "2026.3.7", "2026.6.35", "2026.9.6", "2026.10.0"]
    with pytest.raises(UnknownReleaseError, match=r"\(known: 2026\.2\.23, 2026\.3\.7, 2026\.6\.35, 2026\.9\.6, "
                                                  r"2026\.10\.0\)"):
        release_for("2026.10.1")
