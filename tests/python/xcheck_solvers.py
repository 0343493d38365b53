"""The solvers of MATH.md section 2, written once in numpy against an arithmetic object
and vectorised over tokens (every token's problem is solved at once; tokens
that stop early keep their iterate). The operation order follows the
arithmetic-table calls of gka's token-form solvers, so that in a narrow format
the same roundings happen in the same order:

  Chebyshev  L = S(hnorm + lambda), den = S(L + lambda), rho = S(S(L - lambda)/den),
             s = S(2/den), rq = S(S(rho^2) / 4); x_0 = S(s q), omega_0 = 2;
             omega_i = S(1/S(1 - S(rq omega))); res = (A x - q) by axpy;
             x_i = axpy(om1, x_{i-1} - x_{i-2}, axpy(-s omega, res, x_{i-1}))
  CG         Hestenes-Stiefel from x = 0, recursive residual, p = S(beta p) + r
  Cholesky   row-oriented dot-product form, then two substitutions

Stops: a residual norm (read in fp64) that is NaN, or above 1e4 ||q||, stops a
token's Chebyshev or CG, and CG stops at pAp <= 0 (the guard), unless
plain=True (textbook CG, NaN propagates); CG always stops at r = 0.
"""

import numpy as np

from xcheck_common import DTOL, F32, bf16


class Fp64:
    """Plain float64 numpy: sums in numpy's own order (fp64 checks compare at 1e-8)."""

    name = "fp64"

    def S(self, x):
        return np.asarray(x, dtype=np.float64)

    def scalar(self, x):
        return np.asarray(x, dtype=np.float64)

    def axpy(self, alpha, x, y):
        return alpha[:, None] * x + y

    def scal(self, alpha, x):
        return alpha[:, None] * x

    def dot(self, x, y):
        return np.einsum("ti,ti->t", x, y)

    def gemv(self, M, x):
        return np.einsum("tij,tj->ti", M, x)


class Emulated:
    """Storage format S (bf16 or fp32) with fp32 accumulation W: values are float32
    arrays. Scalar results are S of the exactly computed value (float64 holds the
    exact +, -, * of two such values; for / and sqrt the 53 -> 24 or 8 bit double
    rounding is innocuous)."""

    def __init__(self, storage):
        self.name = storage
        self.S = bf16 if storage == "bf16" else (lambda x: np.asarray(x).astype(F32))

    def scalar(self, x64):
        return self.S(np.asarray(x64, dtype=np.float64))

    def axpy(self, alpha, x, y):
        return self.S(alpha.astype(F32)[:, None] * x + y)

    def scal(self, alpha, x):
        return self.S(alpha.astype(np.float64)[:, None] * x.astype(np.float64))

    def dot(self, x, y):
        return self.S(np.add.accumulate(x * y, axis=1, dtype=F32)[:, -1])

    def gemv(self, M, x):
        acc = M[:, :, 0] * x[:, 0:1]
        for j in range(1, x.shape[1]):
            acc = acc + M[:, :, j] * x[:, j:j + 1]
        return self.S(acc)


def f64(x):
    return np.asarray(x, dtype=np.float64)


def sadd(ar, a, b):
    return ar.scalar(f64(a) + f64(b))


def ssub(ar, a, b):
    return ar.scalar(f64(a) - f64(b))


def smul(ar, a, b):
    return ar.scalar(f64(a) * f64(b))


def sdiv(ar, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return ar.scalar(f64(a) / f64(b))


def token_matvec(ar, H, lam):
    """(H_t + lambda_t I) x: gemv, then axpy(lambda, x, y)."""
    return lambda x: ar.axpy(lam, x, ar.gemv(H, x))


def _stop_checks(res, qscale, active):
    rn = np.linalg.norm(f64(res), axis=1)
    stop = np.isnan(rn) | (rn > DTOL * qscale)
    return active & ~stop


def chebyshev(ar, matvec, q, lam, hnorm, r):
    """Chebyshev iteration (MATH.md section 2 schedule), r steps. Returns x (T, D)."""
    T = q.shape[0]
    one = np.ones(T)
    L = sadd(ar, hnorm, lam)
    den = sadd(ar, L, lam)
    rho = sdiv(ar, ssub(ar, L, lam), den)
    s = sdiv(ar, 2.0 * one, den)
    rq = smul(ar, smul(ar, rho, rho), 0.25 * one)
    ok = (f64(den) > 0) & np.isfinite(f64(s))
    xp = np.zeros_like(q)
    xc = ar.scal(s, q)
    omega = ar.scalar(2.0 * one)
    qn = np.linalg.norm(f64(q), axis=1)
    qscale = np.where(qn > 0, qn, 1.0)
    active = ok.copy()
    with np.errstate(all="ignore"):
        for _ in range(r):
            omega = sdiv(ar, one, ssub(ar, one, smul(ar, rq, omega)))
            res = ar.axpy(-one, q, matvec(xc))
            active = _stop_checks(res, qscale, active)
            nso = -smul(ar, s, omega)
            om1 = ssub(ar, omega, one)
            d = ar.axpy(-one, xp, xc)
            xn = ar.axpy(om1, d, ar.axpy(nso, res, xc))
            a = active[:, None]
            xp, xc = np.where(a, xc, xp), np.where(a, xn, xc)
    return np.where(ok[:, None], xc, 0.0)


def cg(ar, matvec, q, r, plain=False, trace=None):
    """Conjugate gradient from x = 0, r iterations. plain: textbook CG, stopping
    only at r = 0 exactly, no guard. Returns x (T, D) and the NaN mask after each iteration
    (r, T), which plain CG needs; trace, a dict if given, receives the (r, T)
    arrays "rr" (r^T r entering iteration i) and "pAp"."""
    T = q.shape[0]
    one = np.ones(T)
    x = np.zeros_like(q)
    res = q.copy()
    p = res.copy()
    rr = ar.dot(res, res)
    qn = np.linalg.norm(f64(q), axis=1)
    qscale = np.where(qn > 0, qn, 1.0)
    active = np.ones(T, bool)
    nan_after = np.zeros((r, T), bool)
    if trace is not None:
        trace["rr"], trace["pAp"] = np.zeros((r, T)), np.zeros((r, T))
    with np.errstate(all="ignore"):
        for i in range(r):
            rn = np.linalg.norm(f64(res), axis=1)
            active &= rn != 0  # converged (tol = 0), in both variants
            if not plain:
                active &= ~(np.isnan(rn) | (rn > DTOL * qscale))
            Ap = matvec(p)
            pAp = ar.dot(p, Ap)
            if not plain:
                active &= f64(pAp) > 0
            if trace is not None:
                trace["rr"][i], trace["pAp"][i] = rr, pAp
            alpha = sdiv(ar, rr, pAp)
            xn = ar.axpy(alpha, p, x)
            rn_ = ar.axpy(-alpha, Ap, res)
            rr_new = ar.dot(rn_, rn_)
            beta = sdiv(ar, rr_new, rr)
            pn = ar.axpy(one, rn_, ar.scal(beta, p))
            a = active[:, None]
            x = np.where(a, xn, x)
            res = np.where(a, rn_, res)
            p = np.where(a, pn, p)
            rr = np.where(active, rr_new, rr)
            nan_after[i] = ~np.all(np.isfinite(f64(x)), axis=1)
    return x, nan_after


def cholesky(ar, H, lam, q):
    """Cholesky of H + lambda I in the arithmetic (dot-product form), then
    L y = q and L^T x = y; a pivot <= 0 gives x = 0 (gka's LOST_PD)."""
    T, D, _ = H.shape
    M = H.copy()
    idx = np.arange(D)
    M[:, idx, idx] = sadd(ar, M[:, idx, idx], lam[:, None])
    good = np.ones(T, bool)
    with np.errstate(all="ignore"):
        for i in range(D):
            for j in range(i):
                t = M[:, i, 0] if j == 0 else ar.scalar(
                    f64(M[:, i, j]) - f64(ar.dot(M[:, i, :j], M[:, j, :j])))
                M[:, i, j] = sdiv(ar, t, M[:, j, j])
            t = M[:, i, i] if i == 0 else ar.scalar(
                f64(M[:, i, i]) - f64(ar.dot(M[:, i, :i], M[:, i, :i])))
            good &= f64(t) > 0
            M[:, i, i] = ar.scalar(np.sqrt(np.where(f64(t) > 0, f64(t), 1.0)))
        y = np.zeros_like(q)
        for i in range(D):
            t = q[:, i] if i == 0 else ar.scalar(f64(q[:, i]) - f64(ar.dot(M[:, i, :i], y[:, :i])))
            y[:, i] = sdiv(ar, t, M[:, i, i])
        x = np.zeros_like(q)
        for i in range(D - 1, -1, -1):
            t = y[:, i]
            if i + 1 < D:
                t = ar.scalar(f64(t) - f64(ar.dot(M[:, i + 1:, i], x[:, i + 1:])))
            x[:, i] = sdiv(ar, t, M[:, i, i])
    return np.where(good[:, None], x, 0.0)


def kalman_info(k, g, beta, lam0, q):
    """RLS in fp64, information form with the symmetric update:
    P = (P - u u^T / (gamma/beta^2 + k^T u)) / gamma, u = P k, P_0 = I / lam0."""
    T, D = k.shape
    P = np.eye(D) / lam0
    x = np.empty((T, D))
    for t in range(T):
        gamma = 1.0 if g is None else np.exp(g[t])
        b2 = 1.0 if beta is None else beta[t] ** 2
        u = P @ k[t]
        P = P - np.outer(u, u) / (gamma / b2 + k[t] @ u)
        P = 0.5 * (P + P.T) / gamma
        x[t] = P @ q[t]
    return x
