#!/usr/bin/env bash
# The README's test command: install dependencies, build, run the default
# suite (labels unit and exhaustive; `ctest --test-dir build -L slow` runs the
# slow ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build -L 'unit|exhaustive' --output-on-failure -j "$(nproc)" --timeout 1800
