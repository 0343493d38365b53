#!/usr/bin/env bash
# The README's main command: install dependencies, build, and reproduce the
# headline figures into ./results (quick tier; pass --full for the full tier).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
tier="${1:---quick}"
./build/gka figure all "$tier" --out results
