#!/usr/bin/env bash
# gka solve and one figure under valgrind memcheck: any error or definite /
# indirect leak fails. OpenBLAS and OpenMP keep thread pools alive until exit
# ("possibly lost" / "still reachable"), which are not leaks of gka's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/gka ] || bash scripts/build.sh
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
vg=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-origins=yes --quiet)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
echo "valgrind: gka solve (bf16 Chebyshev, D 16, T 48)"
"${vg[@]}" ./build/gka solve --solver chebyshev --format bf16 --accum fp32 --ridge adaptive:0.02 \
    --gate gka --keys iid --D 16 --T 48 --iters 10 --seed 1 --csv "$out/solve.csv" >/dev/null
echo "valgrind: gka solve (kalman, fp16)"
"${vg[@]}" ./build/gka solve --solver kalman --format fp16 --ridge fixed:0.25 --D 8 --T 32 \
    --seed 2 --csv "$out/kalman.csv" >/dev/null
echo "valgrind: gka figure omega --quick"
"${vg[@]}" ./build/gka figure omega --quick --images none --quiet --out "$out" >/dev/null
echo "valgrind: bad input paths"
set +e
"${vg[@]}" ./build/gka solve --solver nosuch >/dev/null 2>&1; [ $? -eq 2 ] || { echo "valgrind: bad-input run did not exit 2 cleanly"; exit 1; }
set -e
echo "valgrind: clean"
