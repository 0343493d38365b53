#!/usr/bin/env bash
# The one script the GPU machine runs (through the device tool): builds the
# minimal configuration (no MPFR/FLINT/GSL/LAPACK/Criterion there) with the
# CUDA kernels, checks them against the CPU references and times them.
# Logs go to $OUT (the device tool's return folder) or ./gpu-out.
#   scripts/gpu_check.sh [--quick] [--no-sanitizer]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
QUICK=""
SAN=1
for a in "$@"; do
  case "$a" in
    --quick) QUICK="--quick" ;;
    --no-sanitizer) SAN=0 ;;
    *) echo "gpu_check.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
BUILD=build-gpu
echo "== build" >&2
if ! { cmake -S . -B "$BUILD" -DGKA_MINIMAL=ON -DGKA_CUDA=ON -DCMAKE_BUILD_TYPE=Release -G Ninja \
       && cmake --build "$BUILD" -j16 --target gka; } > "$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"; exit 1
fi
{ nvidia-smi; nvcc --version
  cuobjdump --dump-resource-usage "$BUILD"/kernels/libgka_cuda.a 2>&1 | grep -E "Function|REG"
} >> "$OUT/build.log" 2>&1 || true
rc=0
echo "== checks" >&2
OMP_NUM_THREADS=16 "$BUILD"/gka bench gpu --check-only $QUICK --csv "$OUT/check.csv" \
  > "$OUT/check.log" 2>&1 || rc=1
cat "$OUT/check.log"
echo "== timing" >&2
"$BUILD"/gka bench gpu --time-only $QUICK --csv "$OUT/bench.csv" > "$OUT/bench.log" 2>&1 || rc=1
echo "== per-kernel times (ncu, one forward + backward, B=1 H=16 D=128 T=32768)" >&2
timeout 200 ncu --metrics gpu__time_duration.sum "$BUILD"/gka bench gpu --profile 32768 \
  > "$OUT/ncu.log" 2>&1 || echo "ncu failed (see ncu.log)" >&2
grep -E "k_[a-z_]+|gpu__time_duration" "$OUT/ncu.log" | sed -E 's/\(anonymous namespace\):://' \
  | paste - - | awk '{print $1, $(NF-1), $NF}' | cut -c1-120 || true
if [ "$SAN" = 1 ]; then
  echo "== compute-sanitizer (memcheck, quick checks)" >&2
  timeout 240 compute-sanitizer --tool memcheck --error-exitcode 3 \
    "$BUILD"/gka bench gpu --check-only --quick > "$OUT/sanitizer.log" 2>&1 || rc=1
  tail -5 "$OUT/sanitizer.log"
fi
cat "$OUT/bench.log"
exit $rc
