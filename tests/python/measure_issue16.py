#!/usr/bin/env python3
"""The numbers issue 16 quotes, measured by numpy and by gka side by side on the
same .npy inputs (not a test: it prints tables; README.md in this folder).

  python3 tests/python/measure_issue16.py build/gka [OLD_GKA [SECTIONS]]

OLD_GKA: a gka built before the Kalman fix (section A's "before" rows; "" to
skip them). SECTIONS: a subset of ABCD (default all).
Sections: A Kalman information form in fp64 (asymmetric vs mirrored update);
B bf16 Kalman on decay:L0 against Cholesky on the same bf16 state; C CG vs
Chebyshev, fp32 iterates on a bf16 chunk state (fp32 carry); D plain bf16 CG
NaN counts at i = 30 and 50 over 128 problems.
"""

import sys

from xcheck_common import (Bf16Stream, Ridge, Workdir, bf16, exact_solutions, gka_binary,
                           gka_help, normalise_rows, np, problem, relerr, states_fp64)
from xcheck_chunk_model import ChunkInputs, chunk_solve
from xcheck_solvers import Emulated, cg, chebyshev, cholesky, token_matvec

D, T = 64, 2048


def kalman_info_numpy(k, g, q, lam0, symmetric):
    """fp64 information form; symmetric=False rounds P_ij + (c u_i) u_j as the
    old gka update did (np.outer(c u, u)), True keeps the lower triangle."""
    P = np.eye(k.shape[1]) / lam0
    x = np.empty_like(q)
    for t in range(len(k)):
        gamma = np.exp(g[t])
        u = P @ k[t]
        P = P + np.outer(-1.0 / (gamma + k[t] @ u) * u, u)
        if symmetric:
            P = np.tril(P) + np.tril(P, -1).T
        P = P * (1.0 / gamma)
        x[t] = P @ q[t]
    return x


def section_a(wd, old):
    print("\n## A. Kalman information form, fp64, decay:0.25, GKA gates g = -4 softplus(z - 6), "
          f"D = {D}, T = {T}, iid keys")
    q, k, g, _ = problem(16, D, T, gates=True)
    qn, kn = normalise_rows(q), normalise_rows(k)
    inputs = wd.write_inputs(q, k, g)
    ridge = Ridge("decay:0.25")
    H, _, lam, _ = states_fp64(kn, g, None, ridge)
    xs = exact_solutions(H, lam, qn)
    print(f"prod(gamma) = {np.exp(np.sum(g)):.3e}")
    print("| implementation | err t=1024 | err t=2047 | median | max | p_asym max |")
    print("|---|---|---|---|---|---|")
    for sym in (False, True):
        e = relerr(kalman_info_numpy(kn, g, qn, 0.25, sym), xs)
        print(f"| numpy info, {'mirrored' if sym else 'asymmetric'} update | {e[1024]:.2e} | "
              f"{e[-1]:.2e} | {np.median(e):.2e} | {e.max():.2e} | |")
    for name, binary in (("gka before the fix", old), ("gka", gka_binary())):
        if not binary:
            continue
        for v in ("info", "cov", "joseph", "sqrt"):
            if v != "info" and binary == old:
                continue
            out = wd.solve(inputs, "--ridge", ridge.spec, "--solver", "kalman", "--variant", v,
                           binary=binary)
            e = out["err"]
            pa = out["p_asym"]
            pa = f"{np.nanmax(pa):.2e}" if np.isfinite(pa).any() else "n/a (keeps R)"
            print(f"| {name} {v} | {e[1024]:.2e} | {e[-1]:.2e} | {np.median(e):.2e} | "
                  f"{e.max():.2e} | {pa} |")
    print(f"gka: {gka_binary()} solve --keys k.npy --queries q.npy --gates g.npy --ridge decay:0.25 "
          "--solver kalman --variant V --csv out.csv")


def section_b(wd):
    print(f"\n## B. bf16 (fp32 accumulation), D = {D}, T = {T}: Kalman on decay:0.25 vs Cholesky "
          "on the same bf16 state")
    print("| gates | solver | gka median | gka max | numpy median | numpy max |")
    print("|---|---|---|---|---|---|")
    for gated in (False, True):
        q, k, g, _ = problem(17 + gated, D, T, gates=gated)
        qn, kn = normalise_rows(q), normalise_rows(k)
        inputs = wd.write_inputs(qn, kn, g) + ["--no-normalize", "--format", "bf16",
                                                "--ridge", "decay:0.25"]
        st = Bf16Stream(qn, kn, g, None, Ridge("decay:0.25"))
        e_np = relerr(cholesky(Emulated("bf16"), st.H, st.lam, st.q), st.xstar)
        tag = "gka:4,-6" if gated else "none"
        out = wd.solve(inputs, "--solver", "cholesky")
        print(f"| {tag} | cholesky | {np.median(out['err']):.3e} | {np.max(out['err']):.3e} | "
              f"{np.median(e_np):.3e} | {np.max(e_np):.3e} |")
        for v in ("info", "cov", "joseph", "sqrt"):
            out = wd.solve(inputs, "--solver", "kalman", "--variant", v)
            e = out["err"]
            print(f"| {tag} | kalman {v} | {np.nanmedian(e):.3e} | {np.nanmax(e):.3e} | | |")
    print(f"gka: {gka_binary()} solve --keys k.npy --queries q.npy [--gates g.npy] --no-normalize "
          "--format bf16 --ridge decay:0.25 --solver cholesky|kalman --variant V --csv out.csv")


def section_c(wd):
    has_carry = "--carry" in gka_help("solve")
    print(f"\n## C. chunk form (C = 64), bf16 snapshots, fp32 carry, fp32 iterates, D = {D}, "
          f"T = {T}, adaptive:0.02 (numpy model; gka columns: gka solve --chunk 64 --carry fp32)")
    print("| gates, beta | r | Chebyshev median vs x* | CG median vs x* | "
          "Chebyshev median vs x*(chunk state) | CG median vs x*(chunk state) | "
          "gka Chebyshev median | gka CG median |")
    print("|---|---|---|---|---|---|---|---|")
    for gated in (False, True):
        q, k, g, beta = problem(19 + gated, D, T, gates=gated, betas=gated)
        qn, kn = normalise_rows(q), normalise_rows(k)
        inp = ChunkInputs(qn, kn, g, beta, 0.02)
        xs, _ = inp.reference()
        inputs = wd.write_inputs(qn, kn, g, beta) + ["--no-normalize", "--format", "bf16"]
        for r in (10, 20, 30):
            row = []
            xsc = np.empty((T, D))
            for solver in ("chebyshev", "cg"):
                x, _ = chunk_solve(inp, C=64, r=r, solver=solver, state_ref=xsc)
                g_med = "n/a"
                if has_carry:
                    out = wd.solve(inputs, "--chunk", "64", "--carry", "fp32", "--solver", solver,
                                   "--iters", str(r), "--ridge", "adaptive:0.02")
                    g_med = f"{np.median(out['err']):.2e}"
                row.append((np.median(relerr(x, xs)), np.median(relerr(x, xsc)), g_med))
            print(f"| {'yes' if gated else 'no'} | {r} | {row[0][0]:.2e} | {row[1][0]:.2e} | "
                  f"{row[0][1]:.2e} | {row[1][1]:.2e} | {row[0][2]} | {row[1][2]} |")
    print(f"gka: {gka_binary()} solve --keys k.npy --queries q.npy [--gates g.npy --betas b.npy] "
          "--no-normalize --format bf16 --chunk 64 --carry fp32 --solver chebyshev|cg --iters R "
          "--ridge adaptive:0.02 --csv out.csv")

    print(f"\n## C2. chunk form, ungated, D = {D}, T = 4096: state carried in fp32 vs in bf16 "
          "(median error, Chebyshev r = 30)")
    q, k, _, _ = problem(24, D, 4096)
    qn, kn = normalise_rows(q), normalise_rows(k)
    inp = ChunkInputs(qn, kn, None, None, 0.02)
    xs, _ = inp.reference()
    inputs = wd.write_inputs(qn, kn) + ["--no-normalize", "--format", "bf16", "--chunk", "64"]
    print("| carry | numpy model | gka |")
    print("|---|---|---|")
    for carry in ("fp32", "bf16"):
        x, _ = chunk_solve(inp, C=64, r=30, carry=carry)
        g_med = "n/a"
        if has_carry:
            g_med = f"{np.median(wd.solve(inputs, '--carry', carry)['err']):.3e}"
        print(f"| {carry} | {np.median(relerr(x, xs)):.3e} | {g_med} |")


def fig1a_problems(n=128, D=128, seed=5):
    """Paper Fig. 1a's synthetic problems: H = sum of t normalised k k^T (t uniform
    in [1, 2048]) scaled to ||H||_F = 1, lambda = 0.02, normalised q."""
    rng = np.random.default_rng(seed)
    H = np.empty((n, D, D))
    q = np.empty((n, D))
    for p in range(n):
        K = normalise_rows(rng.standard_normal((int(rng.integers(1, 2049)), D)))
        H[p] = K.T @ K / np.linalg.norm(K.T @ K)
        q[p] = normalise_rows(rng.standard_normal((1, D)))[0]
    return H, q


def plain_cg_nans(H, lam, q, iters=50):
    """NaN counts of plain CG, bf16 storage and fp32 accumulation, with bf16 and
    with fp32 iterates, at i = 30 and 50, and how many NaNs followed an underflow."""
    rows = []
    for it in ("bf16", "fp32"):
        ar = Emulated(it)
        Hs, ls, qs = H, lam, q
        if it == "fp32":
            ls, qs = lam.astype(np.float32), q.astype(np.float32)
        tr = {}
        _, nan = cg(ar, token_matvec(ar, Hs, ls), qs, iters, plain=True, trace=tr)
        bad = nan[iters - 1]
        first = np.argmax(nan, axis=0)  # first iteration with a NaN iterate
        p = np.arange(len(first))
        before = np.arange(iters)[:, None] <= first[None, :]
        rr_min = np.min(np.where(before, tr["rr"], np.inf), axis=0)
        underflow = bad & (rr_min < 2.0**-126)  # r^T r subnormal or 0 before the NaN
        rows.append((it, nan[29].sum(), bad.sum(), underflow.sum()))
    return rows


def section_d():
    n = 128
    print(f"\n## D. plain CG (no guard; stops only at r = 0 exactly) in bf16 storage with fp32 accumulation, "
          f"{n} problems")
    print("| problems | iterates | NaN at i = 30 | NaN at i = 50 | of which after r^T r < 2^-126 "
          "(underflow, past convergence) |")
    print("|---|---|---|---|---|")
    H, q = fig1a_problems(n)
    for it, n30, n50, nu in plain_cg_nans(bf16(H), bf16(np.full(n, 0.02)), bf16(q)):
        print(f"| Fig. 1a synthetic, D = 128 | {it} | {n30}/{n} | {n50}/{n} | {nu} |")
    sel = np.arange(15, T, 16)
    wd = Workdir()
    for gated in (False, True):
        q, k, g, _ = problem(20 + gated, D, T, gates=gated)
        qn, kn = normalise_rows(q), normalise_rows(k)
        st = Bf16Stream(qn, kn, g, None, Ridge("adaptive:0.02"))
        tag = f"every 16th token, {'GKA-gated' if gated else 'ungated'} stream D = {D}"
        for it, n30, n50, nu in plain_cg_nans(st.H[sel], st.lam[sel], st.q[sel]):
            print(f"| {tag} | {it} | {n30}/{n} | {n50}/{n} | {nu} |")
        inputs = wd.write_inputs(qn, kn, g) + ["--no-normalize", "--format", "bf16"]
        counts = []
        for r in (30, 50):
            out = wd.solve(inputs, "--ridge", "adaptive:0.02", "--solver", "cg", "--variant",
                           "plain", "--iters", str(r))
            counts.append(int(np.sum(out["nonfinite"][sel] != 0)))
        print(f"| {tag}, gka --variant plain | bf16 | {counts[0]}/{n} | {counts[1]}/{n} | |")
    print(f"gka: {gka_binary()} solve --keys k.npy --queries q.npy [--gates g.npy] --no-normalize "
          "--format bf16 --ridge adaptive:0.02 --solver cg --variant plain --iters 30|50 "
          "--csv out.csv (nonfinite column, tokens 15, 31, ..., 2047)")


def main():
    old = sys.argv[2] if len(sys.argv) > 2 else None
    wd = Workdir()
    sections = sys.argv[3] if len(sys.argv) > 3 else "ABCD"
    for name, fn in (("A", lambda: section_a(wd, old)), ("B", lambda: section_b(wd)),
                     ("C", lambda: section_c(wd)), ("D", section_d)):
        if name in sections:
            fn()


if __name__ == "__main__":
    sys.exit(main())
