#!/usr/bin/env python3
"""fp64 cross-check of gka solve against numpy (see README.md in this folder).

In fp64 two correct implementations differ only by roundoff (~1e-16 relative in
x), so wherever a solver's error is far above roundoff (Chebyshev and CG stopped
early, Kalman on a problem it does not solve exactly) gka's per-token error and
numpy's must agree to the CSV's printing precision (%.9g: 5e-10 relative); we
allow 1e-8. Where the error is roundoff itself (Kalman on decay:L0) each side
must be <= 1e-12 on its own.
Usage: xcheck_fp64.py [path/to/gka]
"""

import sys

from xcheck_common import (Ridge, Workdir, exact_solutions, normalise_rows, np, problem, relerr,
                           report, states_fp64)
from xcheck_solvers import Fp64, cg, chebyshev, kalman_info, token_matvec

D, T = 64, 512
TOL = 1e-8


def agree(name, gka_err, np_err, floor=1e-7):
    """Per-token relative agreement of two error columns (tokens where both
    errors exceed floor, so that roundoff cannot matter)."""
    m = (np_err > floor) & (gka_err > floor)
    rel = np.abs(gka_err[m] - np_err[m]) / np_err[m]
    worst = rel.max() if m.any() else np.inf
    return report(name, m.sum() >= 0.9 * len(np_err) and worst <= TOL,
                  f"{m.sum()} tokens compared, worst relative difference {worst:.2e} "
                  f"(median error gka {np.median(gka_err):.3e}, numpy {np.median(np_err):.3e})")


def main():
    ok = True
    wd = Workdir()
    q, k, g, beta = problem(11, D, T, gates=True, betas=True)
    inputs = wd.write_inputs(q, k, g, beta)
    qn, kn = normalise_rows(q), normalise_rows(k)  # gka normalises the loaded rows

    # 1. the problem itself: ||H_t||_F and lambda_t of the reference problem
    ridge = Ridge("adaptive:0.02")
    H, hnorm, lam, _ = states_fp64(kn, g, beta, ridge)
    xstar = exact_solutions(H, lam, qn)
    out = wd.solve(inputs, "--ridge", ridge.spec, "--solver", "chebyshev", "--iters", "30")
    for col, ref in (("hnorm64", hnorm), ("lambda64", lam), ("hnorm", hnorm)):
        rel = np.max(np.abs(out[col] - ref) / ref)
        ok &= report(f"problem {col}", rel <= TOL, f"max relative difference {rel:.2e}")

    # 2. Chebyshev r = 30, adaptive ridge (error ~1e-4, far above roundoff)
    x = chebyshev(Fp64(), token_matvec(Fp64(), H, lam), qn, lam, hnorm, 30)
    ok &= agree("chebyshev r=30 adaptive:0.02 err", out["err"], relerr(x, xstar))
    res = np.linalg.norm(np.einsum("tij,tj->ti", H, x) + lam[:, None] * x - qn, axis=1)
    ok &= agree("chebyshev r=30 res", out["res"], res / np.linalg.norm(qn, axis=1))

    # 3. CG r = 8 (error ~1e-3) and Chebyshev r = 10 on a fixed ridge
    ridge = Ridge("fixed:0.25")
    H, hnorm, lam, _ = states_fp64(kn, g, beta, ridge)
    xstar = exact_solutions(H, lam, qn)
    out = wd.solve(inputs, "--ridge", ridge.spec, "--solver", "cg", "--iters", "8")
    x, _ = cg(Fp64(), token_matvec(Fp64(), H, lam), qn, 8)
    ok &= agree("cg r=8 fixed:0.25 err", out["err"], relerr(x, xstar))
    out = wd.solve(inputs, "--ridge", ridge.spec, "--solver", "chebyshev", "--iters", "10")
    x = chebyshev(Fp64(), token_matvec(Fp64(), H, lam), qn, lam, hnorm, 10)
    ok &= agree("chebyshev r=10 fixed:0.25 err", out["err"], relerr(x, xstar))

    # 4. the exact solution: gka's fp64 Cholesky against numpy.linalg.solve is
    # compared through gka's own reference, so check that both are at roundoff
    out = wd.solve(inputs, "--ridge", "adaptive:0.02", "--solver", "cholesky")
    ok &= report("cholesky fp64 err", np.max(out["err"]) <= 1e-13,
                 f"max {np.max(out['err']):.2e}")

    # 5. Kalman: on decay:L0 it is exact, over T = 2048 GKA-gated tokens whose
    # gates multiply to ~1e-15 (where an asymmetric update reached 0.4); on
    # fixed:L with gates it solves (H_t + L prod(gamma) I) x = q, so its error
    # against the fixed problem is a property of the mathematics that both sides
    # must reproduce
    ok &= kalman_decay_checks(Workdir())  # its own inputs
    ridge = Ridge("decay:0.25")
    xk = kalman_info(kn, g, beta, ridge.value, qn)
    ridge = Ridge("fixed:0.25")
    H, hnorm, lam, _ = states_fp64(kn, g, beta, ridge)
    xstar_fixed = exact_solutions(H, lam, qn)
    for v in ("info", "sqrt"):
        out = wd.solve(inputs, "--ridge", ridge.spec, "--solver", "kalman", "--variant", v)
        ok &= agree(f"kalman {v} on fixed:0.25 (solves the decayed ridge) err", out["err"],
                    relerr(xk, xstar_fixed), floor=1e-6)
    return 0 if ok else 1


def kalman_decay_checks(wd, T_long=2048):
    ok = True
    q, k, g, beta = problem(12, D, T_long, gates=True, betas=True)
    qn, kn = normalise_rows(q), normalise_rows(k)
    inputs = wd.write_inputs(q, k, g, beta)
    ridge = Ridge("decay:0.25")
    H, hnorm, lam, _ = states_fp64(kn, g, beta, ridge)
    xstar = exact_solutions(H, lam, qn)
    e_np = relerr(kalman_info(kn, g, beta, ridge.value, qn), xstar)
    ok &= report(f"numpy RLS on decay:0.25, T = {T_long}, prod(gamma) = {np.exp(np.sum(g)):.1e}",
                 np.max(e_np) <= 1e-12, f"max err {np.max(e_np):.2e}")
    for v in ("info", "cov", "joseph", "sqrt"):
        out = wd.solve(inputs, "--ridge", ridge.spec, "--solver", "kalman", "--variant", v)
        ok &= report(f"gka kalman {v} on decay:0.25", np.max(out["err"]) <= 1e-12,
                     f"median {np.median(out['err']):.2e} max {np.max(out['err']):.2e}")
        rel = np.max(np.abs(out["lambda64"] - lam) / lam)
        ok &= report(f"kalman {v} lambda64 = 0.25 prod(gamma)", rel <= TOL, f"{rel:.2e}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
