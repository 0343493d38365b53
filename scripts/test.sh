#!/usr/bin/env bash
# The README's test command, and exactly what CI runs (.ci/run calls it):
#   1. install dependencies, build, run the default suite (CTest labels unit,
#      exhaustive and gpu; the gpu tests skip with a message where no GPU is; `ctest --test-dir build -L slow` runs the slow ones);
#   2. build with AddressSanitizer + UndefinedBehaviorSanitizer and run the unit
#      suite under them;
#   3. run each libFuzzer target for GKA_FUZZ_SECONDS (default 60) from its
#      committed seed corpus;
#   4. run `gka solve` and one figure under valgrind memcheck: no errors, no leaks.
# GKA_TEST_STAGES (default "default asan fuzz valgrind") selects stages.
set -euo pipefail
cd "$(dirname "$0")/.."
stages="${GKA_TEST_STAGES:-default asan fuzz valgrind}"
export GKA_EXTRA_PACKAGES="clang libclang-rt-14-dev valgrind"
bash scripts/setup.sh
jobs="$(nproc)"
# mpirun refuses root unless told; CI runs as root. Oversubscribe: 2 ranks may
# exceed the cores of a small machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

stage() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

for s in $stages; do
    case "$s" in
    default)
        stage "build and default suite"
        bash scripts/build.sh
        ctest --test-dir build -L 'unit|exhaustive|gpu' --output-on-failure -j "$jobs" --timeout 1800
        ;;
    asan)
        stage "ASan+UBSan build and unit suite"
        cmake --preset asan >/dev/null
        cmake --build build-asan -j "$jobs"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            ctest --preset asan -L unit -j "$jobs" --timeout 1800
        ;;
    fuzz)
        stage "fuzzing (${GKA_FUZZ_SECONDS:-60} s per target)"
        bash scripts/fuzz.sh
        ;;
    valgrind)
        stage "valgrind memcheck smoke run"
        bash scripts/valgrind.sh
        ;;
    *)
        echo "scripts/test.sh: unknown stage '$s' (default, asan, fuzz, valgrind)" >&2
        exit 2
        ;;
    esac
done
