# shellcheck shell=sh
# The restore drill's restic step (docs/backup-runbook.md, "Restore drills"): restore the latest
# snapshot into scratch space and verify what restic can verify; the verify step (drill-verify.mjs,
# the OpenClaw image) then checks the databases and the workspace layout. POSIX sh for the restic
# image's busybox; the tests run this same file under dash and busybox with the real restic.
#
# Environment: RESTIC_REPOSITORY, RESTIC_PASSWORD (and AWS_* for s3) from the Secret; DRILL_TARGET
# (an empty folder in the scratch emptyDir), BACKUP_HOST, DRILL_TAG (openclaw-data), CHECK_SUBSET.
set -eu

log() { printf 'drill: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

target=${DRILL_TARGET:-/scratch/tree}
host=${BACKUP_HOST:-openclaw-data}
tag=${DRILL_TAG:-openclaw-data}
err=${TMPDIR:-/tmp}/restic-err.$$
trap 'rm -f "$err"' EXIT
reason() { grep -m1 -E 'Fatal|no space left|error|Error|invalid|mismatch' "$err" || tail -n1 "$err"; }

mkdir -p "$target"
[ -z "$(ls -A "$target")" ] || fail "scratch folder $target is not empty"

# The repository's structure, and a part of its data read back and decrypted.
restic check --read-data-subset "${CHECK_SUBSET:-5%}" >/dev/null 2>"$err" || fail "restic check: $(reason)"
line=$(restic snapshots --json --host "$host" --tag "$tag" latest 2>"$err") || fail "restic snapshots: $(reason)"
id=$(printf '%s' "$line" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | tail -n1)
when=$(printf '%s' "$line" | sed -n 's/.*"time":"\([^"]*\)".*/\1/p' | tail -n1)
[ -n "$id" ] || fail "no snapshot of host $host with tag $tag in the repository: has a backup ever run?"
log "restoring snapshot $id of $when into $target"
# --verify reads every restored file back and compares it with the snapshot's SHA-256 blob hashes.
restic restore "$id" --target "$target" --verify >/dev/null 2>"$err" || fail "restic restore --verify: $(reason)"
grep -q -i -E 'error|invalid' "$err" && fail "restic restore --verify: $(reason)"

# File count: the snapshot's listing against the restored tree (one character per entry, so
# names holding newlines count once).
want=$(restic ls --json "$id" 2>"$err" | grep -c '"struct_type":"node"') || fail "restic ls: $(reason)"
have=$(find "$target" -mindepth 1 -exec sh -c 'for f; do printf .; done' sh {} + | wc -c)
[ "$want" -eq "$have" ] || fail "snapshot $id lists $want entries, the restore holds $have"
printf '%s %s\n' "$id" "$when" >"$target/../snapshot-id"
log "snapshot $id restored and verified by restic: $have entries"
