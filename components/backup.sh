# shellcheck shell=sh
# The backup CronJob's script: store the consistent snapshot tree that the snapshot step
# (components/scripts/snapshot.mjs) built with restic, apply retention, check a subset of the
# repository. POSIX sh: it runs under the restic image's busybox sh, and the tests run this same
# file under dash and busybox with the real restic binary.
#
# Environment: RESTIC_REPOSITORY, RESTIC_PASSWORD (and AWS_* for s3) from the Secret;
# BACKUP_SOURCE (the snapshot tree, read-only), BACKUP_HOST, BACKUP_RELEASE (the release that wrote
# the volume), BACKUP_TAG (openclaw-data; openclaw-pre-upgrade for the snapshot before an upgrade),
# KEEP_LAST/HOURLY/DAILY/WEEKLY/MONTHLY, CHECK_SUBSET; BACKUP_RETENTION=off skips forget/check.
set -eu

log() { printf 'backup: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

for var in RESTIC_REPOSITORY RESTIC_PASSWORD BACKUP_SOURCE BACKUP_HOST BACKUP_RELEASE CHECK_SUBSET; do
  eval "value=\${$var:-}"
  # shellcheck disable=SC2154
  [ -n "$value" ] || fail "$var is not set (the Secret or the CronJob's env lacks it)"
done
[ -d "$BACKUP_SOURCE" ] || fail "source $BACKUP_SOURCE is not a directory: is the volume mounted?"
# Only a tree the snapshot step completed (it writes its manifest last): never the live volume,
# whose SQLite files a plain read can tear.
[ -f "$BACKUP_SOURCE/.openclaw-snapshot.json" ] \
  || fail "no .openclaw-snapshot.json in $BACKUP_SOURCE: the snapshot step did not complete; refusing to back up"
tag=${BACKUP_TAG:-openclaw-data}
err=${TMPDIR:-/tmp}/restic-err.$$
trap 'rm -f "$err"' EXIT

# A repository that does not exist yet is created; `init` refuses to touch an existing one, so a
# wrong password or location can never overwrite anything: it stops here with restic's reason.
if ! restic cat config >/dev/null 2>"$err"; then
  if grep -q -E 'no such file or directory|does not exist|404' "$err" \
     && ! grep -q -E 'dial tcp|no such host|timeout|refused' "$err"; then
    log "no repository yet: initialising it"
    restic init >/dev/null 2>"$err" || fail "restic init: $(grep -m1 'Fatal' "$err" || tail -n1 "$err")"
  else
    fail "cannot open the repository: $(grep -m1 'Fatal' "$err" || tail -n1 "$err")"
  fi
fi
# Only stale locks (a run killed by activeDeadlineSeconds) are removed; a live one stays.
restic unlock >/dev/null 2>"$err" || fail "restic unlock: $(tail -n1 "$err")"

# Paths relative to the volume root: the snapshot's tree root is the volume's root, so a restore
# writes straight into an empty volume. A fixed --host keeps the parent snapshot across pods.
# Session write locks (`<session>.jsonl.lock`, held while OpenClaw appends) are left out: restored
# into a new pod, a lock naming a live PID could block that session for up to 30 minutes.
out=${TMPDIR:-/tmp}/restic-out.$$
trap 'rm -f "$err" "$out"' EXIT
cd "$BACKUP_SOURCE"
rc=0
restic backup --json --host "$BACKUP_HOST" --tag "$tag" --tag "release:$BACKUP_RELEASE" --one-file-system \
  --exclude '*.jsonl.lock' . >"$out" 2>"$err" || rc=$?
summary=$(grep '"message_type":"summary"' "$out" || true)
if [ "$rc" -eq 3 ]; then
  # The snapshot was written, but without the files restic could not read: not a good backup.
  items=$(sed -n 's/.*"item":"\([^"]*\)".*/\1/p' "$err" | head -n3 | tr '\n' ' ')
  fail "restic backup: the snapshot lacks files it could not read (as uid $(id -u)): ${items:-$(tail -n1 "$err")}"
elif [ "$rc" -ne 0 ] || [ -z "$summary" ]; then
  fail "restic backup: $(grep -m1 -E 'Fatal|error' "$err" || tail -n1 "$err")"
fi
log "snapshot done: $summary"
if [ "${BACKUP_RETENTION:-on}" = off ]; then
  log "stored with tags $tag, release:$BACKUP_RELEASE (no retention run)"
  exit 0
fi

restic forget --host "$BACKUP_HOST" --tag "$tag" --prune --keep-last "${KEEP_LAST:-3}" \
  --keep-hourly "${KEEP_HOURLY:-24}" --keep-daily "${KEEP_DAILY:-14}" \
  --keep-weekly "${KEEP_WEEKLY:-8}" --keep-monthly "${KEEP_MONTHLY:-12}" >/dev/null 2>"$err" \
  || fail "restic forget --prune: $(grep -m1 'Fatal' "$err" || tail -n1 "$err")"
restic check --read-data-subset "$CHECK_SUBSET" >/dev/null 2>"$err" \
  || fail "restic check --read-data-subset $CHECK_SUBSET: $(grep -m1 -E 'Fatal|error' "$err" || tail -n1 "$err")"
log "retention applied, check of $CHECK_SUBSET of the data passed"
