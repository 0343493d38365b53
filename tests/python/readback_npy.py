"""Read gka's float64 .npy outputs back with numpy.load, as a user would.

  gka solve --save-iterates it.npy  [T, R+1, D]: the last iterate of each
      token that is not a NaN row equals --save-x's x bit for bit;
  gka solve --history h.npy          [T, R+1]: the residual history, the same
      numbers as the CSV form (--history h.csv) of the same run, NaN after a
      token stopped early.

Needs python3 + numpy only (not ml_dtypes); exits 77 (CTest: skipped) with a
message where numpy is missing. Usage: readback_npy.py [path/to/gka].
"""

import csv
import os
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import numpy as np
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"SKIP: numpy is needed to read gka's .npy outputs back ({exc})")
    sys.exit(SKIP)


def gka_binary():
    if len(sys.argv) > 1:
        return sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "gka")


def run(*args):
    r = subprocess.run([gka_binary(), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"gka {' '.join(args)} failed ({r.returncode}): {r.stderr}")


def check_iterates(tmp):
    T, D, R = 11, 7, 9
    for solver in ("chebyshev", "cg", "gd", "agd"):
        it, x = os.path.join(tmp, "it.npy"), os.path.join(tmp, "x.npy")
        run("solve", "--solver", solver, "--format", "bf16", "--D", str(D), "--T", str(T),
            "--iters", str(R), "--tol", "0.03", "--save-iterates", it, "--save-x", x)
        a, xs = np.load(it), np.load(x)
        assert a.dtype == np.float64 and a.shape == (T, R + 1, D), (solver, a.dtype, a.shape)
        assert xs.shape == (T, D)
        for t in range(T):
            kept = ~np.isnan(a[t, :, 0])
            n = int(kept.sum())
            assert n >= 1 and kept[:n].all() and not kept[n:].any(), (solver, t, kept)
            last = a[t, n - 1]
            assert last.view(np.uint64).tolist() == xs[t].view(np.uint64).tolist(), (
                solver, t, last, xs[t])
        print(f"iterates {solver}: [T, R+1, D] = {a.shape}, last iterate == x bit for bit")


def read_history_csv(path):
    rows = {}
    with open(path) as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            rows[(int(row["t"]), int(row["iter"]))] = float(row["res"])
    return rows


def check_history(tmp):
    T, D, R = 13, 6, 8
    h_npy, h_csv = os.path.join(tmp, "h.npy"), os.path.join(tmp, "h.csv")
    common = ("solve", "--solver", "cg", "--D", str(D), "--T", str(T), "--iters", str(R),
              "--tol", "1e-5")
    run(*common, "--history", h_npy)
    run(*common, "--history", h_csv)
    h, rows = np.load(h_npy), read_history_csv(h_csv)
    assert h.dtype == np.float64 and h.shape == (T, R + 1), h.shape
    early = 0
    for t in range(T):
        for i in range(R + 1):
            if (t, i) in rows:
                assert h[t, i] == rows[(t, i)], (t, i, h[t, i], rows[(t, i)])
            else:
                assert np.isnan(h[t, i]), (t, i, h[t, i])
                early += 1
    assert early > 0, "no token stopped early: the NaN fill is not exercised"
    print(f"history: [T, R+1] = {h.shape} equals the CSV form; {early} NaN after early stops")


def main():
    with tempfile.TemporaryDirectory(prefix="gka_readback_") as tmp:
        check_iterates(tmp)
        check_history(tmp)


if __name__ == "__main__":
    main()
