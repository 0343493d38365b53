"""Shared pieces of the independent numpy + ml_dtypes cross-checks of gka.

Nothing here calls into gka's C code: the problem (normalisation, gates,
state), the solvers and every rounding are written again in numpy, with
ml_dtypes.bfloat16 for the rounding to bf16 and numpy float32 for the fp32
accumulator. The scripts write .npy inputs, run the `gka` binary on them, read
its per-token CSV and compare.

The rounding model reproduced for bf16 storage with fp32 accumulation (gka's
default `--accum wide` for emulated formats, precision/arith_emulated.c):
  S(.) rounds to bf16 (RNE), W(.) is a native float32 operation;
  scalar ops   S(a op b) of the exact result (a, b bf16)
  dot, gemv    fp32 running sum in index order j = 0, 1, ..., then S
  axpy         y_j = S(W(W(alpha x_j) + y_j))
  scal         x_j = S(alpha x_j)
  syr          a_i = W(alpha k_i); M_ij = S(W(M_ij + W(a_i k_j)))
  nrm2         S(sqrtf(fp32 running sum of x_j^2))
  gate decay   H = S(W(gamma32 H)) with gamma32 = fp32(exp(g))
Sums in a fixed order are written as np.add.accumulate (strictly sequential),
never np.sum or np.dot, whose order is unspecified.
"""

import csv
import math
import os
import subprocess
import sys
import tempfile

SKIP = 77  # CTest SKIP_RETURN_CODE

try:
    import numpy as np
    import ml_dtypes
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"SKIP: numpy and ml_dtypes are needed for the cross-checks ({exc})")
    sys.exit(SKIP)

BF16 = ml_dtypes.bfloat16
F32 = np.float32
DTOL = 1e4  # GKA_SOLVER_DTOL: a residual above DTOL ||q|| stops a solve as diverged


# ---- running gka -------------------------------------------------------------


def gka_binary():
    """The gka program: argv[1] (CTest passes it), $GKA, or build/gka."""
    if len(sys.argv) > 1:
        return sys.argv[1]
    if os.environ.get("GKA"):
        return os.environ["GKA"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "gka")


def gka_help(sub="solve"):
    return subprocess.run([gka_binary(), sub, "--help"], capture_output=True, text=True).stdout


def read_csv(path):
    """gka's per-token CSV as a dict of columns (comment lines start with '#')."""
    with open(path) as f:
        rows = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(rows)
    cols = {name: [] for name in reader.fieldnames}
    for row in reader:
        for name, v in row.items():
            cols[name].append(v)
    out = {}
    for name, vals in cols.items():
        try:
            out[name] = np.array([float(v) for v in vals])
        except ValueError:
            out[name] = np.array(vals)
    return out


class Workdir:
    """A temporary directory holding the .npy inputs and gka's CSVs."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="gka_xcheck_")
        self.path = self._tmp.name

    def file(self, name):
        return os.path.join(self.path, name)

    def write_inputs(self, q, k, g=None, beta=None):
        args = []
        for name, arr, opt in (("q", q, "--queries"), ("k", k, "--keys"), ("g", g, "--gates"),
                               ("b", beta, "--betas")):
            if arr is None:
                continue
            np.save(self.file(name + ".npy"), np.ascontiguousarray(arr, dtype=np.float64))
            args += [opt, self.file(name + ".npy")]
        return args

    def solve(self, inputs, *opts, name="out", binary=None):
        """Run `gka solve` on the written inputs; return its CSV columns."""
        out = self.file(name + ".csv")
        cmd = [binary or gka_binary(), "solve", *inputs, "--csv", out, *opts]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
        return read_csv(out)


# ---- inputs --------------------------------------------------------------------


def normalise_rows(x):
    """q / (||q|| + 1e-6), row by row, as the layer (and gka's loaders) do."""
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6)


def gka_like_gates(rng, T, A=4.0, dt_bias=-6.0):
    """g = -A softplus(z + dt_bias), z ~ N(0, 1)."""
    z = rng.standard_normal(T) + dt_bias
    return -A * np.logaddexp(0.0, z)


def problem(seed, D, T, gates=False, betas=False):
    """iid Gaussian keys and queries (not normalised: gka normalises what it loads,
    numpy does it again with normalise_rows), optional GKA-like gates and
    sigmoid betas."""
    rng = np.random.default_rng(seed)
    k = rng.standard_normal((T, D))
    q = rng.standard_normal((T, D))
    g = gka_like_gates(rng, T) if gates else None
    beta = 1.0 / (1.0 + np.exp(-rng.standard_normal(T))) if betas else None
    return q, k, g, beta


# ---- rounding ------------------------------------------------------------------


def bf16(x):
    """Round (float64 or float32) to bf16, RNE, returned as float32 values."""
    return np.asarray(x).astype(BF16).astype(F32)


def bf16_scalar(x):
    """S(x) of an exactly computed scalar (float64 holds a op b exactly enough:
    double rounding 53 -> 8 bits is innocuous for + - * / sqrt)."""
    return float(np.float64(x).astype(BF16))


def seqsum(x, axis=-1):
    """fp32 running sum in index order along axis (x float32)."""
    return np.add.accumulate(x, axis=axis, dtype=F32).take(-1, axis=axis)


def relerr(x, ref):
    """||x - ref|| / ||ref|| per row, NaN where x is not finite."""
    x = np.asarray(x, dtype=np.float64)
    e = np.linalg.norm(x - ref, axis=-1) / np.linalg.norm(ref, axis=-1)
    return np.where(np.all(np.isfinite(x), axis=-1), e, np.nan)


# ---- the ridge problem -----------------------------------------------------------


class Ridge:
    """fixed:L, adaptive:A or decay:L0, parsed from gka's spelling."""

    def __init__(self, spec):
        self.spec = spec
        self.kind, v = spec.split(":")
        self.value = float(v)

    def lambdas64(self, hnorm64, gamma64):
        if self.kind == "fixed":
            return np.full_like(hnorm64, self.value)
        if self.kind == "adaptive":
            return self.value * hnorm64
        return self.value * np.cumprod(gamma64)


def states_fp64(k, g, beta, ridge):
    """The fp64 problem from inputs as they are (fp64 runs): H_t (T, D, D),
    ||H_t||_F and lambda_t. Returns H, hnorm, lam, gamma."""
    T, D = k.shape
    gamma = np.ones(T) if g is None else np.array([math.exp(v) for v in g])
    b2 = np.ones(T) if beta is None else beta * beta
    H = np.empty((T, D, D))
    cur = np.zeros((D, D))
    for t in range(T):
        cur = gamma[t] * cur + b2[t] * np.outer(k[t], k[t])
        H[t] = cur
    hnorm = np.sqrt(np.einsum("tij,tij->t", H, H))
    return H, hnorm, ridge.lambdas64(hnorm, gamma), gamma


def exact_solutions(H, lam, q):
    """x*_t = (H_t + lambda_t I)^{-1} q_t in fp64 (numpy.linalg.solve)."""
    D = H.shape[1]
    A = H + lam[:, None, None] * np.eye(D)
    return np.linalg.solve(A, q[:, :, None])[:, :, 0]


class Bf16Stream:
    """gka's bf16 token-form state (fp32 accumulation, fp32 gates), all tokens at
    once, and beside it the fp64 problem built from the same rounded inputs
    (gka's reference problem)."""

    def __init__(self, q, k, g, beta, ridge):
        T, D = k.shape
        self.T, self.D, self.ridge = T, D, ridge
        self.q = bf16(q)
        self.k = bf16(k)
        gamma32 = np.ones(T, F32) if g is None else np.array(
            [math.exp(v) for v in g]).astype(F32)
        b = np.ones(T, F32) if beta is None else bf16(beta)
        b2 = bf16(b * b)  # S(b b): a product of two bf16 is exact in fp32
        self.H = np.empty((T, D, D), F32)
        self.hnorm = np.empty(T, F32)
        self.lam = np.empty(T, F32)
        H = np.zeros((D, D), F32)
        lam = F32(bf16_scalar(ridge.value)) if ridge.kind != "adaptive" else F32(0)
        a = bf16_scalar(ridge.value)
        for t in range(T):
            if gamma32[t] != 1:
                H = bf16(gamma32[t] * H)
                if ridge.kind == "decay":
                    lam = bf16(gamma32[t] * lam)
            ai = b2[t] * self.k[t]  # W(beta^2 k_i)
            H = bf16(H + ai[:, None] * self.k[t][None, :])
            self.H[t] = H
            s = seqsum((H * H).reshape(-1))
            self.hnorm[t] = bf16(np.sqrt(s))
            if ridge.kind == "adaptive":
                lam = F32(bf16_scalar(a * float(self.hnorm[t])))
            self.lam[t] = lam
        # fp64 mirror: gamma as fp32, beta^2 = b b in fp64, rounded k
        g64 = gamma32.astype(np.float64)
        b64 = b.astype(np.float64)
        self.H64 = np.empty((T, D, D))
        cur = np.zeros((D, D))
        k64 = self.k.astype(np.float64)
        for t in range(T):
            cur = g64[t] * cur + (b64[t] * b64[t]) * np.outer(k64[t], k64[t])
            self.H64[t] = cur
        self.hnorm64 = np.sqrt(np.einsum("tij,tij->t", self.H64, self.H64))
        self.lam64 = ridge.lambdas64(self.hnorm64, g64)
        self.q64 = self.q.astype(np.float64)
        self.xstar = exact_solutions(self.H64, self.lam64, self.q64)

    def matvec(self, x):
        """(H + lambda I) x per token: gemv (fp32 running sum, S), then
        axpy(lambda, x, y)."""
        acc = self.H[:, :, 0] * x[:, 0:1]
        for j in range(1, self.D):
            acc = acc + self.H[:, :, j] * x[:, j:j + 1]
        y = bf16(acc)
        return axpy(self.lam[:, None], x, y)


def axpy(alpha, x, y):
    """S(W(W(alpha x) + y)), alpha broadcast per token."""
    return bf16(F32(alpha) * x + y)


def bf16_mul(a, b):
    """S(a b) elementwise for bf16 arrays (exact in float64)."""
    return bf16(a.astype(np.float64) * b.astype(np.float64))


def bf16_div(a, b):
    return bf16(a.astype(np.float64) / b.astype(np.float64))


def bf16_add(a, b):
    return bf16(a.astype(np.float64) + b.astype(np.float64))


def bf16_dot(x, y):
    """S(fp32 running sum of x_j y_j) per token."""
    return bf16(seqsum(x * y, axis=1))


def norm64(v):
    return np.linalg.norm(v.astype(np.float64), axis=1)


def report(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    return ok
