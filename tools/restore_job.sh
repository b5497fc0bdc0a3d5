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
id=$(restic snapshots --json --host "$host" "$snapshot" 2>"$err" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | tail -n1)
[ -n "$id" ] || fail "no snapshot $snapshot of host $host: $(reason)"
log "restoring snapshot $id into $target"
restic restore "$id" --target "$target" --verify >/dev/null 2>"$err" || fail "restic restore --verify: $(reason)"

# Entry count: the snapshot's listing against what is on the volume (names may hold newlines,
# so count one character per entry, not lines).
want=$(restic ls --json "$id" 2>"$err" | grep -c '"struct_type":"node"') || fail "restic ls: $(reason)"
have=$(find "$target" -mindepth 1 ! -path "$target/lost+found" ! -path "$target/lost+found/*" \
  -exec sh -c 'for f; do printf .; done' sh {} + | wc -c)
[ "$want" -eq "$have" ] || fail "the snapshot lists $want entries, $target holds $have: do not use this copy"
log "snapshot $id restored and verified: $have entries, contents checked against the snapshot's hashes"
