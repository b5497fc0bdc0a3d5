"""`openclaw:kubernetes.releaseLock`: the release that last wrote the live state volume, and the
refusal of a tag that cannot read it (a downgrade across a state migration; components/migration.py
has the marker the pod keeps on the volume and the guard that refuses the same at start)."""

from __future__ import annotations

from components.releases import RELEASES, version_key

MARKER = ".state-release.json"   # on the volume: components/scripts/state.mjs writes it
RUNBOOK = "docs/upgrade-runbook.md#roll-back"


def downgrade_problem(tag: str, lock: str | None) -> str | None:
    """Why moving the live volume (last written by `lock`) to `tag` is refused at preview, or None.
    Within one state epoch both directions are fine; an unset lock is not checked (the pod's
    state-guard still refuses a lower epoch at start)."""
    if lock is None:
        return None
    known = ", ".join(sorted(RELEASES, key=version_key))
    locked = RELEASES.get(lock)
    if locked is None:
        return (f"openclaw:kubernetes.releaseLock: {lock!r} is not a release this program knows (known: {known}); "
                "set it to the release that last ran on the live volume (its pod's state-guard log or "
                f"{MARKER} on the volume says which)")
    target = RELEASES.get(tag)
    if target is None or target.state_epoch >= locked.state_epoch:
        return None  # an unknown tag is the release model's to refuse
    return (f"openclaw:image.tag: {tag} (state epoch {target.state_epoch}) cannot read the live volume, which "
            f"{lock} (openclaw:kubernetes.releaseLock, epoch {locked.state_epoch}) migrated; a downgrade across a "
            f"state migration is refused. Roll back instead: restore the pre-upgrade snapshot with tag {tag} "
            f"and set releaseLock to {tag} in the same change ({RUNBOOK})")
