#!/usr/bin/env bash
# Install (if needed) and start the demo server on the embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/exam-server demo --scale town "$@"
