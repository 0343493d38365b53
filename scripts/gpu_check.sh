#!/usr/bin/env bash
# The one script the GPU machine runs (through the device tool): builds the
# minimal configuration (no MPFR/FLINT/GSL/LAPACK/Criterion there) with the
# CUDA kernels, checks them against the CPU chunk model and the exact
# solution, times them, and (--baseline DIR) builds and times another
# checkout DIR on the same card for a same-machine comparison.
# Logs go to $OUT (the device tool's return folder) or ./gpu-out.
#   scripts/gpu_check.sh [--quick] [--no-sanitizer] [--no-ncu] [--baseline DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
QUICK=""
SAN=1
NCU=1
BASE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK="--quick" ;;
    --no-sanitizer) SAN=0 ;;
    --no-ncu) NCU=0 ;;
    --baseline) BASE="$(cd "$2" && pwd)"; shift ;;
    *) echo "gpu_check.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
build() { # build SOURCE_DIR BUILD_DIR LOG
  cmake -S "$1" -B "$2" -DGKA_MINIMAL=ON -DGKA_CUDA=ON -DCMAKE_BUILD_TYPE=Release -G Ninja \
    && cmake --build "$2" -j8 --target gka
} 
BUILD=build-gpu
echo "== build" >&2
build . "$BUILD" > "$OUT/build.log" 2>&1 &
pb=$!
if [ -n "$BASE" ]; then build "$BASE" "$BASE/build-base" > "$OUT/build-base.log" 2>&1 & pbb=$!; fi
if ! wait $pb; then tail -40 "$OUT/build.log"; exit 1; fi
{ nvidia-smi; nvcc --version
  cuobjdump --dump-resource-usage "$BUILD"/kernels/libgka_cuda.a 2>&1 | grep -E "Function|REG"
} >> "$OUT/build.log" 2>&1 || true
rc=0
echo "== checks" >&2
OMP_NUM_THREADS=16 timeout 300 "$BUILD"/gka bench gpu --check-only $QUICK --csv "$OUT/check.csv" \
  > "$OUT/check.log" 2>&1 || rc=1
cat "$OUT/check.log"
echo "== timing" >&2
"$BUILD"/gka bench gpu --time-only $QUICK --csv "$OUT/bench.csv" > "$OUT/bench.log" 2>&1 || rc=1
if [ -n "$BASE" ]; then
  echo "== baseline timing ($BASE)" >&2
  if wait $pbb; then
    timeout 150 "$BASE/build-base/gka" bench gpu --time-only $QUICK > "$OUT/bench-base.log" 2>&1 || true
  else
    tail -20 "$OUT/build-base.log"
  fi
fi
if [ "$NCU" = 1 ]; then
  echo "== per-kernel times (ncu, one forward + backward, B=1 H=16 D=128 T=32768)" >&2
  timeout 200 ncu --metrics gpu__time_duration.sum "$BUILD"/gka bench gpu --profile 32768 \
    > "$OUT/ncu.log" 2>&1 || echo "ncu failed (see ncu.log)" >&2
  grep -E "k_[a-z_]+|gpu__time_duration" "$OUT/ncu.log" | sed -E 's/\(anonymous namespace\):://' \
    | paste - - | awk '{print $1, $(NF-1), $NF}' | cut -c1-120 || true
fi
if [ "$SAN" = 1 ]; then
  echo "== compute-sanitizer (memcheck, quick checks)" >&2
  OMP_NUM_THREADS=16 timeout 240 compute-sanitizer --tool memcheck --error-exitcode 3 \
    "$BUILD"/gka bench gpu --check-only --quick > "$OUT/sanitizer.log" 2>&1 || rc=1
  tail -5 "$OUT/sanitizer.log"
fi
# The whole baseline table (its rows start with B, not with a kind name).
[ -n "$BASE" ] && [ -f "$OUT/bench-base.log" ] && { echo "== baseline ($BASE)"; cat "$OUT/bench-base.log"; }
cat "$OUT/bench.log"
exit $rc
