# shellcheck shell=sh
# The in-cluster restore Job's script (docs/backup-runbook.md): restore one snapshot into the new,
# EMPTY claim mounted at RESTORE_TARGET, verify, and stop on the first problem. POSIX sh for the
# restic image's busybox; the tests run this same file under dash and busybox with the real restic.
set -eu

log() { printf 'restore: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

target=${RESTORE_TARGET:-/restore}
snapshot=${SNAPSHOT:-latest}
host=${BACKUP_HOST:-openclaw-data}
err=${TMPDIR:-/tmp}/restic-err.$$
trap 'rm -f "$err"' EXIT
reason() { grep -m1 -E 'Fatal|no space left|error' "$err" || tail -n1 "$err"; }

[ -d "$target" ] || fail "$target is not a directory: is the new claim mounted?"
# Every entry, hidden ones too, but an empty filesystem's lost+found (globs, not ls: any name).
left=""
for entry in "$target"/* "$target"/.[!.]* "$target"/..?*; do
  { [ -e "$entry" ] || [ -L "$entry" ]; } || continue
  [ "${entry##*/}" != lost+found ] || continue
  left="${left:+$left }${entry##*/}"
done
[ -z "$left" ] || fail "refusing $target: it is not empty ($(printf '%s' "$left" | tr '\n' ' ' | cut -c1-200)...): restore only into a new, empty claim"

restic check >/dev/null 2>"$err" || fail "restic check: $(reason)"
line=$(restic snapshots --json --host "$host" "$snapshot" 2>"$err") || fail "restic snapshots: $(reason)"
id=$(printf '%s' "$line" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | tail -n1)
[ -n "$id" ] || fail "no snapshot $snapshot of host $host: $(reason)"
# A snapshot taken by a newer release than the one that will run on this volume is refused: an
# older release cannot open state a newer one migrated (docs/upgrade-runbook.md#roll-back).
taken=$(printf '%s' "$line" | sed -n 's/.*"release:\([0-9.]*\)".*/\1/p' | tail -n1)
if [ -n "${TARGET_RELEASE:-}" ] && [ -n "$taken" ] && awk -v a="$taken" -v b="$TARGET_RELEASE" 'BEGIN {
    n = split(a, x, "."); split(b, y, ".")
    for (i = 1; i <= n; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 }
    exit 1 }'; then
  fail "refusing snapshot $id: it was taken from OpenClaw $taken, newer than the target release $TARGET_RELEASE; restore a snapshot with the tag release:$TARGET_RELEASE (openclaw-pre-upgrade: the one before the upgrade), see docs/upgrade-runbook.md#roll-back"
fi
log "restoring snapshot $id into $target"
restic restore "$id" --target "$target" --verify >/dev/null 2>"$err" || fail "restic restore --verify: $(reason)"

# Entry count: the snapshot's listing against what is on the volume (names may hold newlines,
# so count one character per entry, not lines).
want=$(restic ls --json "$id" 2>"$err" | grep -c '"struct_type":"node"') || fail "restic ls: $(reason)"
have=$(find "$target" -mindepth 1 ! -path "$target/lost+found" ! -path "$target/lost+found/*" \
  -exec sh -c 'for f; do printf .; done' sh {} + | wc -c)
[ "$want" -eq "$have" ] || fail "the snapshot lists $want entries, $target holds $have: do not use this copy"
log "snapshot $id restored and verified: $have entries, contents checked against the snapshot's hashes"
