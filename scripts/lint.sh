#!/usr/bin/env bash
# The gates .ci/run passes before the tests: ruff (lint and format), the import contracts and mypy. Needs .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/lint-imports" --no-cache
# mypy on the whole tree pyproject.toml names: default settings, check_untyped_defs where its overrides say.
"$BIN/mypy"
