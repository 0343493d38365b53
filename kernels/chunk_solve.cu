/* The per-chunk Chebyshev solve (MATH.md section 3). All 64 tokens of a chunk iterate
 * together:
 *   A_c x_c = exp(G_c) H_0 x_c + K^T ((K x_c) o M_{:,c}) + lambda_c x_c
 * computed as X H_0 (64 x D x D) and (mask o X K^T) K (64 x 64 x D) on the
 * tensor cores, bf16 operands (H_0, K, the iterate X and the masked P rounded
 * to bf16), fp32 accumulation; the iterate, the Chebyshev recurrence and all
 * scalars are fp32 in registers. With fp32 chunk states, H_0 = hi + lo (two
 * bf16 operands, load_state_tile) and X H_0 is X hi + X lo.
 *
 * Two kernels (kernels/NOTES.md has the versions and their numbers):
 *   k_norms: ||H_c||_F of the 64 tokens from the chunk formula (recurrence
 *     form of MATH.md section 3: ||H_c||^2 = e^{2 g_c} ||H_{c-1}||^2 + 2 beta_c^2 k_c^T
 *     (e^{g_c} H_{c-1}) k_c + beta_c^4 ||k_c||^4 with k_c^T (e^{g_c} H_{c-1})
 *     k_c = e^{G_c} k_c^T H_0 k_c + sum_{j<c} M_{jc} beta_j^2 (k_j . k_c)^2).
 *   k_iter: the chunk iteration kernel, one 4-warp block per 32-row half of a
 *     chunk (the halves never exchange data: X and P rows are produced and
 *     consumed inside a half; two blocks per SM, one block's loads overlap the
 *     other's iterations). Warp w owns the columns (D/4) w .. +D/4 - 1 of X
 *     and 16 w .. +15 of P. Modes: SOLVE (r Chebyshev steps for the rhs: q in
 *     the forward, dx in the backward) and APPLY (one application of H to x,
 *     returning dq . H x and x . dq per token, for the backward). */
#include "gka_iteration.h"
#include "gka_kernels_internal.cuh"

/* The APPLY instantiation returns before the iterations (warning 128: loop
 * not reachable, intended). */
#pragma nv_diag_suppress 128

namespace {

enum { MODE_SOLVE = 1, MODE_APPLY = 2 };
constexpr int P_LD = 72;
constexpr int NORMS_THREADS = 256;
constexpr int ITER_THREADS = 128;

struct SolveArgs {
    const void *rhs;   /* q or dx (SOLVE), x (APPLY) */
    const void *other; /* APPLY: dq */
    const void *k;
    const void *states; /* bf16 or fp32 [BH][NC][D][D] */
    const float *gcum, *g, *beta;
    const float *h0sq; /* k_norms */
    float *hnorm;      /* k_norms: out; k_iter: in */
    void *out;         /* x (forward) or dq (backward) */
    float *xdq, *hxdq; /* APPLY outputs [BH][T] */
    float a;
    int r;
};

template <typename S> __host__ __device__ constexpr int split_of() {
    return sizeof(S) == 4 ? 2 : 1; /* bf16 operand copies of H_0 */
}

template <int D, typename S> constexpr size_t norms_smem_bytes() {
    return (size_t)(split_of<S>() * D + 64) * (D + 8) * sizeof(bf16) +
           (size_t)64 * 64 * sizeof(float) + (size_t)7 * 64 * sizeof(float);
}

/* ||H_c||_F for the 64 tokens of chunk (blockIdx.x, sequence blockIdx.y).
 * 8 warps: warp w owns rows 16 (w % 4) .. +15 and the column half w / 4. */
template <int D, typename T, typename S>
__global__ void __launch_bounds__(NORMS_THREADS, 2) k_norms(gka_geom G, SolveArgs args) {
    constexpr int LD = D + 8;
    constexpr int NTY = D / 16;
    constexpr int HALF = D / 2;
    constexpr bool SPLIT_H = sizeof(S) == 4;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *Hs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Hl = Hs + D * LD; /* fp32 states only */
    bf16 *Ks = Hs + split_of<S>() * D * LD;
    float *Wsm = reinterpret_cast<float *>(Ks + 64 * LD); /* (k_i . k_j)^2 */
    float *fs = Wsm + 64 * 64;
    float *gs = fs, *b2s = fs + 64, *graw = fs + 128, *vpart = fs + 192; /* vpart: 2 x 64 */
    float *cross = fs + 320, *hns = fs + 384;

    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int wm = warp & 3, wn = warp >> 2;
    const long long tok0 = ((long long)b * G.T + t0) * G.H + h;

    load_state_tile<D, LD>(
        Hs, Hl, reinterpret_cast<const S *>(args.states) + (bh * G.NC + n) * (long long)D * D, tid,
        NORMS_THREADS);
    load_token_rows<D, LD>(Ks, reinterpret_cast<const T *>(args.k), tok0, G.H, nv, tid,
                           NORMS_THREADS);
    if (tid < 64) {
        const int j = tid;
        const bool ok = j < nv;
        const long long gi = tok0 + (long long)j * G.H;
        gs[j] = args.gcum[bh * G.T + t0 + min(j, nv - 1)];
        graw[j] = ok ? args.g[gi] : 0.0f;
        const float bt = (ok && args.beta) ? args.beta[gi] : 1.0f;
        b2s[j] = ok ? bt * bt : 0.0f;
    }
    __syncthreads();

    float Y[NTY][4];
    zero_acc<NTY>(Y);
    warp_mma<NTY, D, false, false>(Y, Ks, LD, wm * 16, Hs, LD, wn * HALF); /* K H_0 */
    if (SPLIT_H) warp_mma<NTY, D, false, false>(Y, Ks, LD, wm * 16, Hl, LD, wn * HALF);
    float vr[2] = {0.0f, 0.0f};
#pragma unroll
    for (int nt = 0; nt < NTY; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int row = wm * 16 + gq + 8 * (e >> 1);
            const int col = wn * HALF + nt * 8 + 2 * tq + (e & 1);
            vr[e >> 1] += Y[nt][e] * __bfloat162float(Ks[row * LD + col]);
        }
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        vr[hf] += __shfl_xor_sync(0xffffffffu, vr[hf], 1);
        vr[hf] += __shfl_xor_sync(0xffffffffu, vr[hf], 2);
        if (tq == 0) vpart[wn * 64 + wm * 16 + gq + 8 * hf] = vr[hf];
    }
    float P[4][4];
    zero_acc<4>(P);
    warp_mma<4, D, false, false>(P, Ks, LD, wm * 16, Ks, LD, wn * 32); /* K K^T */
#pragma unroll
    for (int nt = 0; nt < 4; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int row = wm * 16 + gq + 8 * (e >> 1);
            const int col = wn * 32 + nt * 8 + 2 * tq + (e & 1);
            Wsm[row * 64 + col] = P[nt][e] * P[nt][e];
        }
    __syncthreads();
    if (tid < 64) {
        const int c = tid;
        const float Gc = gs[c];
        float cr = expf(Gc) * (vpart[c] + vpart[64 + c]);
        for (int j = 0; j < c; j++)
            cr += b2s[j] * expf(Gc - gs[j]) * Wsm[j * 64 + c];
        cross[c] = cr;
    }
    __syncthreads();
    if (tid == 0) {
        const int tiles = (D / 64) * (D / 64);
        float n2 = 0.0f;
        for (int i = 0; i < tiles; i++)
            n2 += args.h0sq[(bh * G.NC + n) * tiles + i];
        for (int c = 0; c < 64; c++) {
            n2 = expf(2.0f * graw[c]) * n2 + 2.0f * b2s[c] * cross[c] +
                 b2s[c] * b2s[c] * Wsm[c * 64 + c];
            hns[c] = sqrtf(fmaxf(n2, 0.0f));
        }
    }
    __syncthreads();
    if (tid < nv) args.hnorm[tok0 + (long long)tid * G.H] = hns[tid];
}

template <int D, typename S> constexpr size_t iter_smem_bytes() {
    return (size_t)(split_of<S>() * D + 64 + 2 * 32) * (D + 8) * sizeof(bf16) +
           (size_t)32 * P_LD * sizeof(bf16) + (size_t)(192 + 4 * 32 * 2) * sizeof(float);
}

/* The chunk iteration kernel: rows 32 z .. +31 of chunk (x, sequence y) for
 * z = blockIdx.z. Local row lr = 16 mt + g + 8 hf (g = lane / 4) of this
 * block is chunk row 32 z + lr. */
template <int D, typename T, typename S, int MODE>
__global__ void __launch_bounds__(ITER_THREADS, 2) k_iter(gka_geom G, SolveArgs args) {
    constexpr int LD = D + 8;
    constexpr int NQ = D / 32; /* n8 tiles per warp in the D columns */
    constexpr int QW = D / 4;  /* columns per warp */
    constexpr bool SPLIT_H = sizeof(S) == 4;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *Hs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Hl = Hs + D * LD; /* fp32 states only */
    bf16 *Ks = Hs + split_of<S>() * D * LD;
    bf16 *Xs = Ks + 64 * LD; /* two buffers of 32 x LD */
    bf16 *Ps = Xs + 2 * 32 * LD;
    float *fs = reinterpret_cast<float *>(Ps + 32 * P_LD);
    float *gs = fs, *b2s = fs + 64, *hns = fs + 128, *red = fs + 192; /* red: 4 x 32 x 2 */

    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    const int tid = threadIdx.x, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int wm = (int)blockIdx.z, wn = tid >> 5;
    const long long tok0 = ((long long)b * G.T + t0) * G.H + h;

    load_state_tile<D, LD>(
        Hs, Hl, reinterpret_cast<const S *>(args.states) + (bh * G.NC + n) * (long long)D * D, tid,
        ITER_THREADS);
    load_token_rows<D, LD>(Ks, reinterpret_cast<const T *>(args.k), tok0, G.H, nv, tid,
                           ITER_THREADS);
    if (tid < 64) {
        const int j = tid;
        const bool ok = j < nv;
        const long long gi = tok0 + (long long)j * G.H;
        gs[j] = args.gcum[bh * G.T + t0 + min(j, nv - 1)]; /* padding rows: G_last */
        const float bt = (ok && args.beta) ? args.beta[gi] : 1.0f;
        b2s[j] = ok ? bt * bt : 0.0f;
        hns[j] = ok ? args.hnorm[gi] : 0.0f;
    }
    /* right-hand side (or the given iterate) in accumulator layout */
    float q[2][NQ][4];
    {
        const T *R = reinterpret_cast<const T *>(args.rhs);
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                for (int hf = 0; hf < 2; hf++) {
                    const int row = wm * 32 + mt * 16 + gq + 8 * hf;
                    const int col = wn * QW + nt * 8 + 2 * tq;
                    float v0 = 0.0f, v1 = 0.0f;
                    if (row < nv) {
                        const T *p = R + (tok0 + (long long)row * G.H) * D + col;
                        v0 = to_f(p[0]);
                        v1 = to_f(p[1]);
                    }
                    q[mt][nt][2 * hf] = v0;
                    q[mt][nt][2 * hf + 1] = v1;
                }
    }
    __syncthreads();

    /* per-row scalars and the decay mask of this thread's P elements */
    float lam[2][2], sc[2][2], quarter_rho_sq[2][2], eg[2][2]; /* quarter_rho_sq = rho^2 / 4 of the row */
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int hf = 0; hf < 2; hf++) {
            const int row = wm * 32 + mt * 16 + gq + 8 * hf;
            const float hn = hns[row];
            const bool ok = row < nv && hn > 0.0f;
            lam[mt][hf] = ok ? args.a * hn : 0.0f;
            float rh = 0.0f, s = 0.0f;
            if (ok) gka_cheb_params_f(hn, lam[mt][hf], &rh, &s);
            sc[mt][hf] = s;
            quarter_rho_sq[mt][hf] = gka_cheb_quarter_rho_sq_f(rh);
            eg[mt][hf] = expf(gs[row]);
        }
    float mk[2][2][4];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 2; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int row = wm * 32 + mt * 16 + gq + 8 * (e >> 1);
                const int col = wn * 16 + nt * 8 + 2 * tq + (e & 1);
                mk[mt][nt][e] = col <= row ? b2s[col] * expf(gs[row] - gs[col]) : 0.0f;
            }
    /* x_0 = s q (APPLY: the given x), x_{-1} = 0 */
    float x[2][NQ][4], xp[2][NQ][4];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < NQ; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                x[mt][nt][e] = MODE == MODE_APPLY ? q[mt][nt][e] : sc[mt][e >> 1] * q[mt][nt][e];
                xp[mt][nt][e] = 0.0f;
            }
    auto store_x = [&](bf16 *buf) {
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                for (int hf = 0; hf < 2; hf++) {
                    const int lr = mt * 16 + gq + 8 * hf;
                    const int col = wn * QW + nt * 8 + 2 * tq;
                    *reinterpret_cast<uint32_t *>(buf + lr * LD + col) =
                        pack_bf16(x[mt][nt][2 * hf], x[mt][nt][2 * hf + 1]);
                }
    };
    store_x(Xs);
    __syncthreads();

    float Y[2][NQ][4];
    auto apply_h = [&](const bf16 *Xc) {
        float P[2][2][4];
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
            zero_acc<2>(P[mt]);
            zero_acc<NQ>(Y[mt]);
        }
#pragma unroll
        for (int k0 = 0; k0 < D; k0 += 16) {
            uint32_t a0[4], a1[4], bfr[4];
            load_a<false>(a0, Xc, LD, 0, k0);
            load_a<false>(a1, Xc, LD, 16, k0);
            load_b2<false>(bfr, Ks, LD, wn * 16, k0);
            mma16816(P[0][0], a0, bfr[0], bfr[1]);
            mma16816(P[0][1], a0, bfr[2], bfr[3]);
            mma16816(P[1][0], a1, bfr[0], bfr[1]);
            mma16816(P[1][1], a1, bfr[2], bfr[3]);
#pragma unroll
            for (int nt = 0; nt < NQ; nt += 2) {
                load_b2<false>(bfr, Hs, LD, wn * QW + nt * 8, k0);
                mma16816(Y[0][nt], a0, bfr[0], bfr[1]);
                mma16816(Y[0][nt + 1], a0, bfr[2], bfr[3]);
                mma16816(Y[1][nt], a1, bfr[0], bfr[1]);
                mma16816(Y[1][nt + 1], a1, bfr[2], bfr[3]);
                if (SPLIT_H) {
                    load_b2<false>(bfr, Hl, LD, wn * QW + nt * 8, k0);
                    mma16816(Y[0][nt], a0, bfr[0], bfr[1]);
                    mma16816(Y[0][nt + 1], a0, bfr[2], bfr[3]);
                    mma16816(Y[1][nt], a1, bfr[0], bfr[1]);
                    mma16816(Y[1][nt + 1], a1, bfr[2], bfr[3]);
                }
            }
        }
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < 2; nt++)
#pragma unroll
                for (int hf = 0; hf < 2; hf++) {
                    const int lr = mt * 16 + gq + 8 * hf;
                    const int col = wn * 16 + nt * 8 + 2 * tq;
                    *reinterpret_cast<uint32_t *>(Ps + lr * P_LD + col) =
                        pack_bf16(P[mt][nt][2 * hf] * mk[mt][nt][2 * hf],
                                  P[mt][nt][2 * hf + 1] * mk[mt][nt][2 * hf + 1]);
                }
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    Y[mt][nt][e] *= eg[mt][e >> 1];
        __syncthreads();
#pragma unroll
        for (int k0 = 0; k0 < 64; k0 += 16) {
            uint32_t a0[4], a1[4], bfr[4];
            load_a<false>(a0, Ps, P_LD, 0, k0);
            load_a<false>(a1, Ps, P_LD, 16, k0);
#pragma unroll
            for (int nt = 0; nt < NQ; nt += 2) {
                load_b2<true>(bfr, Ks, LD, wn * QW + nt * 8, k0);
                mma16816(Y[0][nt], a0, bfr[0], bfr[1]);
                mma16816(Y[0][nt + 1], a0, bfr[2], bfr[3]);
                mma16816(Y[1][nt], a1, bfr[0], bfr[1]);
                mma16816(Y[1][nt + 1], a1, bfr[2], bfr[3]);
            }
        }
    };

    if (MODE == MODE_APPLY) {
        apply_h(Xs);
        const T *DQ = reinterpret_cast<const T *>(args.other);
        float pr[2][2][2]; /* [mt][hf][dq.Hx, x.dq] */
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++)
                pr[mt][hf][0] = pr[mt][hf][1] = 0.0f;
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int row = wm * 32 + mt * 16 + gq + 8 * (e >> 1);
                    const int col = wn * QW + nt * 8 + 2 * tq + (e & 1);
                    const float dqv =
                        row < nv ? to_f(DQ[(tok0 + (long long)row * G.H) * D + col]) : 0.0f;
                    pr[mt][e >> 1][0] += dqv * Y[mt][nt][e];
                    pr[mt][e >> 1][1] += dqv * q[mt][nt][e];
                }
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++)
#pragma unroll
                for (int v = 0; v < 2; v++) {
                    float t = pr[mt][hf][v];
                    t += __shfl_xor_sync(0xffffffffu, t, 1);
                    t += __shfl_xor_sync(0xffffffffu, t, 2);
                    if (tq == 0) red[(wn * 32 + mt * 16 + gq + 8 * hf) * 2 + v] = t;
                }
        __syncthreads();
        const int row = wm * 32 + tid;
        if (tid < 32 && row < nv) {
            float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
            for (int w = 0; w < 4; w++) {
                s0 += red[(w * 32 + tid) * 2 + 0];
                s1 += red[(w * 32 + tid) * 2 + 1];
            }
            args.hxdq[bh * G.T + t0 + row] = s0;
            args.xdq[bh * G.T + t0 + row] = s1;
        }
        return;
    }

    /* r Chebyshev steps (MATH.md section 2) with the schedule and the element update of
     * solvers/gka_iteration.h, all rows in lock-step; each row has its own
     * rho = ||H|| / (||H|| + 2 lambda) rounded as the CPU model rounds it. */
    float omega[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int hf = 0; hf < 2; hf++)
            omega[mt][hf] = (float)GKA_CHEB_OMEGA0;
    for (int it = 1; it <= args.r; it++) {
        const bf16 *Xc = Xs + ((it - 1) & 1) * 32 * LD;
        bf16 *Xn = Xs + (it & 1) * 32 * LD;
        apply_h(Xc);
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                omega[mt][hf] = gka_cheb_omega_next_f(quarter_rho_sq[mt][hf], omega[mt][hf]);
                const float neg_s_omega = -(sc[mt][hf] * omega[mt][hf]), omega_minus_1 = omega[mt][hf] - 1.0f;
#pragma unroll
                for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                    for (int c = 0; c < 2; c++) {
                        const int e = 2 * hf + c;
                        const float xc = x[mt][nt][e];
                        const float res = (Y[mt][nt][e] + lam[mt][hf] * xc) - q[mt][nt][e];
                        x[mt][nt][e] = gka_cheb_update_f(xc, xp[mt][nt][e], res, neg_s_omega, omega_minus_1);
                        xp[mt][nt][e] = xc;
                    }
            }
        store_x(Xn);
        __syncthreads();
    }

    T *O = reinterpret_cast<T *>(args.out);
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < NQ; nt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                const int row = wm * 32 + mt * 16 + gq + 8 * hf;
                const int col = wn * QW + nt * 8 + 2 * tq;
                if (row < nv) {
                    T *p = O + (tok0 + (long long)row * G.H) * D + col;
                    p[0] = from_f<T>(x[mt][nt][2 * hf]);
                    p[1] = from_f<T>(x[mt][nt][2 * hf + 1]);
                }
            }
}

template <int D, typename T, typename S>
cudaError_t launch_norms(const gka_geom &G, const SolveArgs &a, cudaStream_t st) {
    const size_t smem = norms_smem_bytes<D, S>();
    cudaError_t e = cudaFuncSetAttribute(k_norms<D, T, S>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)G.NC, (unsigned)G.BH);
    k_norms<D, T, S><<<grid, NORMS_THREADS, smem, st>>>(G, a);
    return cudaGetLastError();
}

template <int D, typename T, typename S, int MODE>
cudaError_t launch_iter(const gka_geom &G, const SolveArgs &a, cudaStream_t st) {
    const size_t smem = iter_smem_bytes<D, S>();
    cudaError_t e = cudaFuncSetAttribute(k_iter<D, T, S, MODE>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)G.NC, (unsigned)G.BH, 2);
    k_iter<D, T, S, MODE><<<grid, ITER_THREADS, smem, st>>>(G, a);
    return cudaGetLastError();
}

template <typename T, typename S, int MODE>
cudaError_t launch_iter_d(const gka_geom &G, const SolveArgs &a, cudaStream_t st) {
    return G.D == 64 ? launch_iter<64, T, S, MODE>(G, a, st)
                     : launch_iter<128, T, S, MODE>(G, a, st);
}

} // namespace

/* Forward: the norms, then the r iterations for q. */
template <typename T, typename S>
cudaError_t gka_launch_solve_fwd(const gka_geom &G, const T *q, const T *k, const S *states,
                                 const float *gcum, const float *g, const float *beta,
                                 const float *h0sq, float a, int r, T *x, float *hnorm,
                                 cudaStream_t st) {
    SolveArgs s{};
    s.rhs = q;
    s.k = k;
    s.states = states;
    s.gcum = gcum;
    s.g = g;
    s.beta = beta;
    s.h0sq = h0sq;
    s.hnorm = hnorm;
    s.out = x;
    s.a = a;
    s.r = r;
    cudaError_t e =
        G.D == 64 ? launch_norms<64, T, S>(G, s, st) : launch_norms<128, T, S>(G, s, st);
    if (e != cudaSuccess) return e;
    return launch_iter_d<T, S, MODE_SOLVE>(G, s, st);
}

template <typename T>
cudaError_t gka_launch_solve_rhs(const gka_geom &G, const T *rhs, const T *k, const bf16 *states,
                                 const float *gcum, const float *g, const float *beta,
                                 const float *hnorm, float a, int r, T *out, cudaStream_t st) {
    SolveArgs s{};
    s.rhs = rhs;
    s.k = k;
    s.states = states;
    s.gcum = gcum;
    s.g = g;
    s.beta = beta;
    s.hnorm = const_cast<float *>(hnorm);
    s.out = out;
    s.a = a;
    s.r = r;
    return launch_iter_d<T, bf16, MODE_SOLVE>(G, s, st);
}

template <typename T>
cudaError_t gka_launch_apply(const gka_geom &G, const T *x, const T *dq, const T *k,
                             const bf16 *states, const float *gcum, const float *g,
                             const float *beta, const float *hnorm, float *xdq, float *hxdq,
                             cudaStream_t st) {
    SolveArgs s{};
    s.rhs = x;
    s.other = dq;
    s.k = k;
    s.states = states;
    s.gcum = gcum;
    s.g = g;
    s.beta = beta;
    s.hnorm = const_cast<float *>(hnorm);
    s.xdq = xdq;
    s.hxdq = hxdq;
    s.a = 0.0f;
    s.r = 0;
    return launch_iter_d<T, bf16, MODE_APPLY>(G, s, st);
}

#define GKA_INST_S(T, S)                                                                           \
    template cudaError_t gka_launch_solve_fwd<T, S>(                                               \
        const gka_geom &, const T *, const T *, const S *, const float *, const float *,           \
        const float *, const float *, float, int, T *, float *, cudaStream_t);
#define GKA_INST(T)                                                                                \
    GKA_INST_S(T, bf16)                                                                            \
    GKA_INST_S(T, float)                                                                           \
    template cudaError_t gka_launch_solve_rhs<T>(                                                  \
        const gka_geom &, const T *, const T *, const bf16 *, const float *, const float *,        \
        const float *, const float *, float, int, T *, cudaStream_t);                              \
    template cudaError_t gka_launch_apply<T>(                                                      \
        const gka_geom &, const T *, const T *, const T *, const bf16 *, const float *,            \
        const float *, const float *, const float *, float *, float *, cudaStream_t);
GKA_INST(bf16)
GKA_INST(__half)
GKA_INST(float)
