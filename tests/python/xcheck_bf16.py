#!/usr/bin/env python3
"""bf16 token-form cross-check of gka solve against numpy + ml_dtypes (see
README.md in this folder).

gka's token form stores H_t, the inputs, the iterates and the scalars in bf16
and accumulates in fp32 (`--format bf16`, default `--accum wide`). numpy
reproduces that model with ml_dtypes.bfloat16 roundings and float32 running
sums in the same index order (xcheck_common.py, xcheck_solvers.py), so the
two must agree bit for bit: every token's error must be equal to the CSV's
9 printed digits (we allow 1e-8 relative), Chebyshev, CG and Cholesky alike
(one rounding done differently anywhere moves the error by ~1e-3 relative,
five orders above the tolerance). The bf16 state itself is
checked through ||H_t||_F and lambda_t (equal to the bit) and through the fp64
reference problem built from the rounded inputs (hnorm64 to 1e-8).
A weaker statistical check (median errors within a factor 1.05) is reported
beside it, for the record; it is the one that would remain if the rounding
orders ever diverged.
Usage: xcheck_bf16.py [path/to/gka]
"""

import subprocess
import sys

from xcheck_common import (Bf16Stream, Ridge, Workdir, gka_binary, normalise_rows, np, problem,
                           relerr, report)
from xcheck_solvers import Emulated, cg, chebyshev, cholesky, token_matvec

D, T = 64, 384
TOL = 1e-8


def same_errors(name, gka_err, np_err):
    both_nan = np.isnan(gka_err) & np.isnan(np_err)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(gka_err - np_err) / np.abs(np_err)
    rel = np.where(both_nan, 0.0, rel)
    equal = rel <= TOL
    med = np.nanmedian(gka_err) / np.nanmedian(np_err)
    ok = bool(equal.all()) and abs(med - 1) <= 0.05
    return report(name, ok, f"{equal.sum()}/{len(equal)} tokens equal to 9 digits "
                  f"(worst {np.nanmax(rel):.2e}); median error gka {np.nanmedian(gka_err):.4e} "
                  f"numpy {np.nanmedian(np_err):.4e}; max gka {np.nanmax(gka_err):.3e}")


def check_case(wd, q, k, g, beta, ridge_spec, iters):
    ok = True
    ridge = Ridge(ridge_spec)
    qn, kn = normalise_rows(q), normalise_rows(k)
    inputs = wd.write_inputs(qn, kn, g, beta) + ["--no-normalize", "--format", "bf16"]
    st = Bf16Stream(qn, kn, g, beta, ridge)
    ar = Emulated("bf16")
    mv = token_matvec(ar, st.H, st.lam)
    tag = f"{ridge_spec}{' gated' if g is not None else ''}"

    out = wd.solve(inputs, "--ridge", ridge_spec, "--solver", "chebyshev", "--iters", str(iters))
    for col, ref in (("hnorm", st.hnorm), ("lambda", st.lam), ("hnorm64", st.hnorm64),
                     ("lambda64", st.lam64)):
        rel = np.max(np.abs(out[col] - ref) / np.abs(ref))
        ok &= report(f"bf16 state {col} ({tag})", rel <= TOL, f"max relative difference {rel:.2e}")
    x = chebyshev(ar, mv, st.q, st.lam, st.hnorm, iters)
    ok &= same_errors(f"chebyshev r={iters} ({tag})", out["err"], relerr(x, st.xstar))

    out = wd.solve(inputs, "--ridge", ridge_spec, "--solver", "cg", "--iters", str(iters))
    x, _ = cg(ar, mv, st.q, iters)
    ok &= same_errors(f"cg r={iters} ({tag})", out["err"], relerr(x, st.xstar))

    out = wd.solve(inputs, "--ridge", ridge_spec, "--solver", "cholesky")
    x = cholesky(ar, st.H, st.lam, st.q)
    ok &= same_errors(f"cholesky ({tag})", out["err"], relerr(x, st.xstar))
    return ok


def check_plain_cg(wd):
    """Textbook CG (gka --variant plain) past convergence: the recursive residual
    keeps shrinking until p^T A p underflows to 0 and alpha = rr / 0 makes NaN;
    which tokens end in NaN must be the same on both sides."""
    if "plain" not in subprocess.run([gka_binary(), "solvers"], capture_output=True,
                                     text=True).stdout:
        print("note: gka cg has no plain variant in this build; plain CG not compared")
        return True
    q, k, _, _ = problem(23, D, T)
    qn, kn = normalise_rows(q), normalise_rows(k)
    inputs = wd.write_inputs(qn, kn) + ["--no-normalize", "--format", "bf16"]
    st = Bf16Stream(qn, kn, None, None, Ridge("adaptive:0.02"))
    ar = Emulated("bf16")
    ok = True
    for r in (30, 50):
        out = wd.solve(inputs, "--ridge", "adaptive:0.02", "--solver", "cg", "--variant", "plain",
                       "--iters", str(r))
        x, nan = cg(ar, token_matvec(ar, st.H, st.lam), st.q, r, plain=True)
        e_np = relerr(x, st.xstar)
        n_gka, n_np = int(np.sum(out["nonfinite"] != 0)), int(nan[-1].sum())
        ok &= report(f"plain cg r={r} NaN tokens (adaptive:0.02)", n_gka == n_np,
                     f"gka {n_gka}/{T}, numpy {n_np}/{T}")
        ok &= same_errors(f"plain cg r={r} (adaptive:0.02)", out["err"], e_np)
    return ok


def main():
    wd = Workdir()
    ok = check_plain_cg(wd)
    q, k, g, beta = problem(21, D, T, gates=True, betas=True)
    ok &= check_case(wd, q, k, g, beta, "adaptive:0.02", 30)
    q, k, _, _ = problem(22, D, T)
    ok &= check_case(wd, q, k, None, None, "fixed:0.25", 20)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
