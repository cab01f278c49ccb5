#!/usr/bin/env bash
# Install Debian's pg_auto_failover for PostgreSQL 15 (the failover drill and its test, marker
# "failover") when pg_autoctl is missing. Idempotent and quiet: does nothing when it is there.
# Needs root (CI runs as root) or sudo. The package adds no running service: the drill starts
# its own monitor and nodes on their own ports and data directories.
set -euo pipefail

EXTENSION=/usr/share/postgresql/15/extension/pgautofailover.control
if command -v pg_autoctl >/dev/null 2>&1 && [ -f "$EXTENSION" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-failover.sh: pg_autoctl is missing and we are not root (no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends postgresql-15-auto-failover >/dev/null

if ! command -v pg_autoctl >/dev/null 2>&1 || [ ! -f "$EXTENSION" ]; then
  echo "install-failover.sh: apt-get ran but pg_autoctl or its extension is still missing" >&2
  exit 1
fi
