#!/bin/sh
# Seed OpenClaw's state volume before the gateway starts (the Deployment's init container).
#
# Runs in the OpenClaw image as uid 1000 with a read-only root filesystem: only the state
# volume and /tmp are writable. POSIX sh (dash, busybox ash); coreutils (sha256sum), grep, sed, awk, cmp.
#
# Inputs (environment, with defaults):
#   OPENCLAW_STATE_DIR   the state volume                       (/home/node/.openclaw)
#   OPENCLAW_CONFIG_SRC  folder holding openclaw.json           (/config, the config ConfigMap)
#   OPENCLAW_SEED_SRC    folder with <agent id>/<FILE> seeds    (/seed, one projected volume: key
#                        FILE of agent X's ConfigMap is mapped to path X/FILE, since keys cannot hold "/")
#   OPENCLAW_AGENT_IDS   space-separated agent ids, DNS labels  (the folders under OPENCLAW_SEED_SRC)
#   every ${VAR} that openclaw.json references, plus OPENCLAW_GATEWAY_TOKEN and OPENCLAW_DB_PASSWORD
#
# Steps: 1 preflight the secrets and the agent ids (nothing is written before them); 2 write
# openclaw.json atomically; 3 seed workspace files (never seeded: written; seeded earlier and
# unchanged since: updated; edited or deleted since it was seeded: kept as it is; a workspace
# folder removed altogether: seeded afresh); 4 create each agent's directories; 5 move
# workspaces and agent folders not in the catalog into .archive/<UTC time>/ (never deleted);
# 6 print one summary line.
# Exit codes: 0 done (a second run with the same inputs changes nothing); 1 a failed step: every
# file is replaced whole or not at all, nothing is deleted, and the next run picks up where this
# one stopped (the pod stays in Init:Error with this log). Values of variables are never printed.
set -eu
umask 077

STATE=${OPENCLAW_STATE_DIR:-/home/node/.openclaw}
CONFIG_SRC=${OPENCLAW_CONFIG_SRC:-/config}
SEED_SRC=${OPENCLAW_SEED_SRC:-/seed}
STATE_FILE="$STATE/.seed-state"   # "<sha256>  <path relative to STATE>" of every file seeded
seeded=0 updated=0 kept=0 archived=0
TMP_FILES=""

fail() {
  printf 'seed: error: %s\n' "$*" >&2
  exit 1
}

cleanup() {
  for f in $TMP_FILES; do rm -f "$f"; done
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# Write stdin to $1 through a temporary file on the same volume, then rename:
# a reader sees the old file or the new one, never half of either.
write_atomic() {
  tmp="$1.seed-tmp.$$"
  TMP_FILES="$TMP_FILES $tmp"
  cat > "$tmp" || fail "cannot write $tmp"
  mv -f "$tmp" "$1" || fail "cannot move $tmp to $1"
}

# Copy $1 to $2 atomically. Reads through the projected volume's ..data symlinks: a copy, never a link.
install_atomic() {
  write_atomic "$2" < "$1"
}

checksum() {
  sha256sum < "$1" | cut -c1-64
}

# 1. Preflight: a missing secret stops here, by name, instead of a running but useless gateway.
CONFIG="$CONFIG_SRC/openclaw.json"
[ -f "$CONFIG" ] || fail "$CONFIG not found: is the config ConfigMap mounted at $CONFIG_SRC?"
missing=""
# OpenClaw substitutes ${VAR} (upper-case names) and reads $${VAR} as a literal ${VAR}: skip those.
for var in $(grep -o '[$]*[$]{[A-Z_][A-Z0-9_]*}' "$CONFIG" | sed -n 's/^[$]{\([A-Z_][A-Z0-9_]*\)}$/\1/p') \
           OPENCLAW_GATEWAY_TOKEN OPENCLAW_DB_PASSWORD; do
  case " $missing " in *" $var "*) continue ;; esac
  eval "value=\${$var:-}"   # safe: $var matched [A-Z_][A-Z0-9_]*
  [ -n "$value" ] || missing="$missing $var"
done
unset value
[ -z "$missing" ] || fail "missing or empty environment variables:$missing (each comes from a Secret the \
Vault Secrets Operator syncs: check the VaultStaticSecret status and the Vault keys)"

# The agents: given, or the folders of the seed volume (its hidden ..data entries are skipped).
# Checked before anything is written: an id becomes a path on the volume.
if [ -z "${OPENCLAW_AGENT_IDS:-}" ]; then
  [ -d "$SEED_SRC" ] || fail "$SEED_SRC not found: is the seed volume mounted there, or OPENCLAW_AGENT_IDS set?"
  OPENCLAW_AGENT_IDS=""
  for dir in "$SEED_SRC"/*; do
    if [ -d "$dir" ]; then OPENCLAW_AGENT_IDS="$OPENCLAW_AGENT_IDS ${dir##*/}"; fi
  done
fi
[ -n "$OPENCLAW_AGENT_IDS" ] || fail "no agents: $SEED_SRC holds no agent folders and OPENCLAW_AGENT_IDS is empty"
ids=""   # the same list, one space between ids, each once: step 5 matches " $ids " against " <name> "
for id in $OPENCLAW_AGENT_IDS; do
  case $id in
    *[!a-z0-9-]* | -* | *-) fail "bad agent id '$id' (expected a DNS label: a-z, 0-9 and '-', not starting or \
ending with '-'; the catalog's ids are)" ;;
  esac
  case " $ids " in *" $id "*) ;; *) ids="${ids:+$ids }$id" ;; esac
done
OPENCLAW_AGENT_IDS=$ids

# 2. openclaw.json: always the ConfigMap's version, written only when it differs.
mkdir -p "$STATE" || fail "cannot create $STATE"
if ! cmp -s "$CONFIG" "$STATE/openclaw.json" 2>/dev/null; then
  install_atomic "$CONFIG" "$STATE/openclaw.json"
fi

# 3. Seed each agent's workspace.
# The new state is kept in memory and written only if it changed: a run with nothing to do
# creates no file at all, so even the volume root's mtime stays put.
new_state=""

recorded() {
  [ -f "$STATE_FILE" ] && awk -v p="$1" '$2 == p { print $1; exit }' "$STATE_FILE"
  return 0
}

for id in $OPENCLAW_AGENT_IDS; do
  if [ "$id" = main ]; then ws=workspace; else ws="workspaces/$id"; fi
  # A missing workspace folder is a new agent, or one an operator reset by removing it: seed it whole.
  new_ws=no
  [ -d "$STATE/$ws" ] || new_ws=yes
  mkdir -p "$STATE/$ws" || fail "cannot create the workspace of agent $id"
  [ -d "$SEED_SRC/$id" ] || continue
  for src in "$SEED_SRC/$id"/*; do
    [ -f "$src" ] || continue
    rel="$ws/${src##*/}"
    target="$STATE/$rel"
    want=$(checksum "$src")
    seeded_sum=$(recorded "$rel")
    if [ ! -e "$target" ] && [ -n "$seeded_sum" ] && [ "$new_ws" = no ]; then
      # Seeded earlier, since deleted (OpenClaw's agent removes BOOTSTRAP.md after its first run):
      # a deletion is an edit. Re-creating it would restart the first-run ritual on every restart.
      kept=$((kept + 1))
    elif [ ! -e "$target" ]; then
      install_atomic "$src" "$target"
      seeded=$((seeded + 1))
      seeded_sum=$want
    else
      have=$(checksum "$target")
      if [ "$have" = "$want" ]; then
        seeded_sum=$want
      elif [ -n "$seeded_sum" ] && [ "$have" = "$seeded_sum" ]; then
        install_atomic "$src" "$target"   # ours and untouched: take the new seed
        updated=$((updated + 1))
        seeded_sum=$want
      else
        kept=$((kept + 1))                # edited (or not seeded by us): never overwritten
      fi
    fi
    [ -z "$seeded_sum" ] || new_state="${new_state:+$new_state
}$seeded_sum  $rel"
  done
done

# 4. Each agent's own directories.
for id in $OPENCLAW_AGENT_IDS; do
  mkdir -p "$STATE/agents/$id/agent" "$STATE/agents/$id/sessions" \
    || fail "cannot create the directories of agent $id"
done

# 5. Retire what the catalog no longer has: moved aside with a timestamp, never deleted.
archive_dir=""
retire() {  # $1: workspaces | agents
  [ -d "$STATE/$1" ] || return 0
  for dir in "$STATE/$1"/*; do
    [ -d "$dir" ] || continue
    name=${dir##*/}
    case " $OPENCLAW_AGENT_IDS " in *" $name "*) continue ;; esac
    if [ -z "$archive_dir" ]; then
      archive_dir="$STATE/.archive/$(date -u +%Y%m%dT%H%M%SZ)"
      [ ! -e "$archive_dir" ] || archive_dir="$archive_dir-$$"
    fi
    mkdir -p "$archive_dir/$1" || fail "cannot create $archive_dir/$1"
    mv "$dir" "$archive_dir/$1/$name" || fail "cannot archive $dir"
    archived=$((archived + 1))
  done
}
retire workspaces
retire agents

old_state=""
[ ! -f "$STATE_FILE" ] || old_state=$(cat "$STATE_FILE") || fail "cannot read $STATE_FILE"
if [ "$new_state" != "$old_state" ]; then   # $(cat) dropped the final newline, as new_state has none
  write_atomic "$STATE_FILE" <<EOF
$new_state
EOF
fi

# 6. One line for the logs.
echo "seed: seeded=$seeded updated=$updated kept-edited=$kept archived=$archived"
