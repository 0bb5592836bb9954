#!/usr/bin/env bash
# The gates .ci/run passes before the tests: ruff (lint and format) and the import contracts. Needs .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/lint-imports" --no-cache
