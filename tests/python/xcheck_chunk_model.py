"""A numpy model of the chunk form (MATH.md section 3) in the reference kernels' regime.

Per chunk of C tokens with keys K (bf16), log-gates g (fp32), beta (fp32):
  G_c = running sum of g (fp32), W_jc = fp32(exp(G_c - G_j)) beta_j^2 for j <= c
  S_0 = the stored snapshot of the running state: bf16(H_run) (carry="fp32"),
        or H_run itself when the running state is kept in bf16 (carry="bf16",
        gka's CPU model before issue 16: the state is rounded at every chunk
        boundary and the scan continues from the rounded state)
  A_c x = exp(G_c) S_0 x + K^T ((K x) o W_{:,c}) + lambda_c x      (fp32 products)
  ||H_c||_F^2 = exp(2G_c) ||S_0||^2 + 2 exp(G_c) sum_j W_jc k_j^T S_0 k_j
                + sum_ij W_ic W_jc (k_i . k_j)^2                    (fp32)
  lambda_c = a ||H_c||_F; the solver runs on fp32 iterates and scalars
  H_run <- fp32(exp(G_last)) H_run + K^T bf16(W_{:,last} o K)       (fp32 accumulation,
        the weighted keys cast to bf16 as the tensor-core operand)
Matrix products use numpy float32 matmul: fp32 accumulation in numpy's order,
which is not gka's; this model is compared with gka statistically, not bit for
bit. With exact=True every step runs in float64 with no rounding, which must
reproduce the token form in exact arithmetic (the model's own unit check).
"""

import numpy as np

from xcheck_common import F32, bf16
from xcheck_solvers import Emulated, Fp64, cg, chebyshev


class ChunkInputs:
    """Inputs rounded as the kernels take them, and the fp64 reference problem
    built from the rounded values."""

    def __init__(self, q, k, g, beta, a, exact=False):
        T, D = k.shape
        self.T, self.D, self.a, self.exact = T, D, a, exact
        cast = (lambda x: np.asarray(x, np.float64)) if exact else bf16
        self.q, self.k = cast(q), cast(k)
        self.g = np.zeros(T) if g is None else np.asarray(g, np.float64)
        self.beta = np.ones(T) if beta is None else np.asarray(beta, np.float64)
        if not exact:
            self.g, self.beta = self.g.astype(F32), self.beta.astype(F32)

    def reference(self):
        """x*_t of the fp64 problem from the rounded inputs, and ||H_t||_F."""
        T, D = self.T, self.D
        k64 = self.k.astype(np.float64)
        gamma = np.exp(self.g.astype(np.float64))
        b2 = self.beta.astype(np.float64) ** 2
        H = np.zeros((D, D))
        Hs = np.empty((T, D, D))
        for t in range(T):
            H = gamma[t] * H + b2[t] * np.outer(k64[t], k64[t])
            Hs[t] = H
        hn = np.sqrt(np.einsum("tij,tij->t", Hs, Hs))
        A = Hs + (self.a * hn)[:, None, None] * np.eye(D)
        return np.linalg.solve(A, self.q.astype(np.float64)[:, :, None])[:, :, 0], hn


def chunk_state_solutions(S0, K, W, eG, a, q):
    """x of the problem the chunk state defines, in fp64: H_c = exp(G_c) S_0 +
    sum_j W_jc k_j k_j^T from the stored snapshot and the rounded chunk inputs,
    lambda_c = a ||H_c||_F (separates the solver's error from the state's)."""
    S0, K, W, eG = (np.asarray(v, np.float64) for v in (S0, K, W, eG))
    H = eG[:, None, None] * S0[None] + np.einsum("cj,jd,je->cde", W, K, K)
    lam = a * np.sqrt(np.einsum("cde,cde->c", H, H))
    A = H + lam[:, None, None] * np.eye(K.shape[1])
    return np.linalg.solve(A, np.asarray(q, np.float64)[:, :, None])[:, :, 0]


def chunk_solve(inp, C=64, r=30, solver="chebyshev", carry="fp32", plain=False, state_ref=None):
    """The chunk form over the whole sequence. Returns x (T, D) and ||H_c||_F (T);
    state_ref, a (T, D) array if given, receives chunk_state_solutions."""
    T, D = inp.T, inp.D
    dt = np.float64 if inp.exact else F32
    ar = Fp64() if inp.exact else Emulated("fp32")
    snap = (lambda H: H) if inp.exact else bf16
    H_run = np.zeros((D, D), dt)
    x_all = np.empty((T, D))
    hn_all = np.empty(T)
    a = dt(inp.a)
    for t0 in range(0, T, C):
        n = min(C, T - t0)
        K = inp.k[t0:t0 + n].astype(dt)
        G = np.add.accumulate(inp.g[t0:t0 + n].astype(dt), dtype=dt)
        eG = np.exp(G.astype(np.float64)).astype(dt)
        b2 = (inp.beta[t0:t0 + n] * inp.beta[t0:t0 + n]).astype(dt)
        dG = (G[:, None] - G[None, :]).astype(np.float64)
        W = np.where(np.tri(n, dtype=bool), np.exp(np.minimum(dG, 0.0)), 0.0).astype(dt)
        W = (W * b2[None, :]).astype(dt)  # W[c, j] = exp(G_c - G_j) beta_j^2, j <= c
        S0 = H_run if carry == "bf16" or inp.exact else snap(H_run)
        S0 = S0.astype(dt)
        KS0K = np.einsum("jd,jd->j", K @ S0, K).astype(dt)
        KK2 = ((K @ K.T) ** 2).astype(dt)
        h0 = dt(np.sum(S0 * S0, dtype=dt))
        hn2 = eG * eG * h0 + dt(2) * eG * (W @ KS0K) + np.einsum("ci,ij,cj->c", W, KK2, W)
        hn = np.sqrt(hn2.astype(dt)).astype(dt)
        lam = (a * hn).astype(dt)

        def matvec(x, K=K, S0=S0, W=W, eG=eG, lam=lam):
            Kx = (x @ K.T).astype(dt)  # (c, j): k_j . x_c
            return (eG[:, None] * (x @ S0.T) + (Kx * W) @ K + lam[:, None] * x).astype(dt)

        q = inp.q[t0:t0 + n].astype(dt)
        if solver == "chebyshev":
            x = chebyshev(ar, matvec, q, lam, hn, r)
        else:
            x, _ = cg(ar, matvec, q, r, plain=plain)
        x_all[t0:t0 + n] = x
        if state_ref is not None:
            state_ref[t0:t0 + n] = chunk_state_solutions(S0, K, W, eG, inp.a, q)
        hn_all[t0:t0 + n] = hn
        wk = W[n - 1][:, None] * K
        if not inp.exact:
            wk = bf16(wk)
        H_run = (eG[n - 1] * H_run + K.T @ wk.astype(dt)).astype(dt)
        if carry == "bf16" and not inp.exact:
            H_run = bf16(H_run)
    return x_all, hn_all

