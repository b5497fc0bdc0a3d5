#!/bin/sh
# Placeholder seeding script until the catalog issue lands: copies openclaw.json only.
set -eu
STATE="${OPENCLAW_STATE_DIR:-/home/node/.openclaw}"
cp "${OPENCLAW_CONFIG_SRC:-/config}/openclaw.json" "$STATE/openclaw.json"
