#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) and run each for
# GKA_FUZZ_SECONDS (default 60) from its committed seed corpus
# (tests/fuzz/corpus/NAME; new inputs go to a scratch copy). A crash leaves
# its input in build-fuzz/artifacts/ and fails the script: copy it into
# tests/fuzz/regressions/NAME/ so that the unit suite replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${GKA_FUZZ_SECONDS:-60}"
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_npy fuzz_safetensors fuzz_grid fuzz_options
mkdir -p build-fuzz/artifacts
status=0
for name in npy safetensors grid options; do
    work="build-fuzz/corpus-$name"
    rm -rf "$work" && mkdir -p "$work"
    cp tests/fuzz/corpus/"$name"/* "$work"/
    seeds=("$work")
    [ -d tests/fuzz/regressions/"$name" ] && seeds+=(tests/fuzz/regressions/"$name")
    echo "fuzz $name: ${seconds}s"
    if ! ./build-fuzz/fuzz_"$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$name"- \
        "${seeds[@]}" >build-fuzz/fuzz-"$name".log 2>&1; then
        echo "fuzz $name: FAILED (see build-fuzz/fuzz-$name.log and build-fuzz/artifacts/)"
        tail -40 build-fuzz/fuzz-"$name".log
        status=1
    else
        grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build-fuzz/fuzz-"$name".log | tr '\n' ' '
        echo
    fi
done
exit $status
