#!/usr/bin/env bash
# The failover drill (docs/operations.md): installs Debian's pg_auto_failover when missing, then
# builds a monitor, a primary and a synchronous standby on this machine (their own ports and
# data directories under a temporary folder), serves selpo on them, kills the primary's
# postmaster with kill -9 under traffic and prints what came back and what was lost (nothing).
# Arguments go to bench/failover.py: --long (20 s of traffic, two kills), --kills N, --keep ...
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-failover.sh
exec .venv/bin/python bench/failover.py "$@"
