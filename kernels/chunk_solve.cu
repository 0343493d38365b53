/* The per-chunk Chebyshev solve (SPEC 3): one block of 8 warps per (sequence,
 * chunk of 64 tokens). All 64 tokens iterate together:
 *   A_c x_c = exp(G_c) H_0 x_c + K^T ((K x_c) o M_{:,c}) + lambda_c x_c
 * computed as X H_0 (64 x D x D) and (mask o X K^T) K (64 x 64 x D) on the
 * tensor cores, bf16 operands (H_0, K, the iterate X and the masked P rounded
 * to bf16), fp32 accumulation; the iterate, the Chebyshev recurrence and all
 * scalars are fp32 in registers.
 *
 * Warp w owns rows 16 (w % 4) .. +15 and the column half w / 4 of the D
 * columns (and of the 64 columns of P). Per iteration: P and X H_0 share the
 * A fragments of X; P is masked, rounded and exchanged through shared memory;
 * the new iterate is written to the other half of a double buffer.
 *
 * Kernels: k_solve is version 1 (norms and iterations in one block); its
 * NORMS_ONLY instantiation is the norms kernel of versions 2 and 3; k_iter runs
 * the iterations (version 2: one 8-warp block per chunk, version 3, the
 * default: one 4-warp block per 32-row half). kernels/NOTES.md has the numbers.
 *
 * Modes: FWD computes ||H_c||_F from the chunk formula (recurrence form of
 * SPEC 3: ||H_c||^2 = e^{2 g_c} ||H_{c-1}||^2 + 2 beta_c^2 k_c^T (e^{g_c}
 * H_{c-1}) k_c + beta_c^4 ||k_c||^4 with k_c^T (e^{g_c} H_{c-1}) k_c =
 * e^{G_c} k_c^T H_0 k_c + sum_{j<c} M_{jc} beta_j^2 (k_j . k_c)^2) and solves
 * for q; SOLVE reads the norms and solves for another right-hand side (dx);
 * APPLY computes H_c x_c for given x and returns dq . H x and x . dq. */
#include "gka_kernels_internal.cuh"

/* The norms-only instantiation returns before the iterations (warning 128:
 * loop not reachable, intended). */
#pragma nv_diag_suppress 128

namespace {

enum { MODE_FWD = 0, MODE_SOLVE = 1, MODE_APPLY = 2 };
constexpr int SV_THREADS = 256;
constexpr int P_LD = 72;

struct SolveArgs {
    const void *rhs;   /* q (FWD), dx (SOLVE), x (APPLY) */
    const void *other; /* APPLY: dq */
    const void *k;
    const bf16 *states;
    const float *gcum, *g, *beta;
    const float *h0sq; /* FWD */
    float *hnorm;      /* FWD: out; SOLVE/APPLY: in */
    void *out;         /* x (FWD) or dq (SOLVE) */
    float *xdq, *hxdq; /* APPLY outputs [BH][T] */
    float a;
    int r;
};

template <int D> constexpr size_t solve_smem_bytes() {
    return (size_t)(D + 64 + 2 * 64) * (D + 8) * sizeof(bf16) + 64 * P_LD * sizeof(bf16) +
           (size_t)10 * 64 * sizeof(float);
}

template <int D, typename T, int MODE, bool NORMS_ONLY>
__global__ void __launch_bounds__(SV_THREADS, 1) k_solve(gka_geom G, SolveArgs args) {
    constexpr int LD = D + 8;
    constexpr int NTY = D / 16; /* n8 tiles per warp in the D columns */
    constexpr int HALF = D / 2;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *Hs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Ks = Hs + D * LD;
    bf16 *Xs = Ks + 64 * LD; /* two buffers of 64 x LD */
    bf16 *Ps = Xs + 2 * 64 * LD;
    float *fs = reinterpret_cast<float *>(Ps + 64 * P_LD);
    float *gs = fs, *b2s = fs + 64, *graw = fs + 128, *vpart = fs + 192; /* vpart: 2 x 64 */
    float *cross = fs + 320, *hns = fs + 384, *rowred = fs + 448;        /* rowred: 2 x 32 */
    float *Wsm = reinterpret_cast<float *>(Xs); /* 64 x 64 fp32, prologue only (FWD) */

    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int wm = warp & 3, wn = warp >> 2;
    const long long rs = (long long)G.H * D;
    const long long tok0 = ((long long)b * G.T + t0) * G.H + h; /* index of token t0 in [B,T,H] */
    const T *K = reinterpret_cast<const T *>(args.k);

    /* ---- load H_0, K and the per-token scalars ---- */
    {
        const bf16 *src = args.states + (bh * G.NC + n) * (long long)D * D;
        for (int i = tid; i < D * D / 8; i += SV_THREADS) {
            const int row = i / (D / 8), cg = (i % (D / 8)) * 8;
            *reinterpret_cast<uint4 *>(Hs + row * LD + cg) =
                *reinterpret_cast<const uint4 *>(src + (long long)row * D + cg);
        }
        for (int i = tid; i < 64 * D / 8; i += SV_THREADS) {
            const int j = i / (D / 8), cg = (i % (D / 8)) * 8;
            float v[8];
            if (j < nv) {
                load8(v, K + (tok0 + (long long)j * G.H) * D + cg);
            } else {
#pragma unroll
                for (int e = 0; e < 8; e++)
                    v[e] = 0.0f;
            }
            store8_bf16(Ks + j * LD + cg, v);
        }
        if (tid < 64) {
            const int j = tid;
            const bool ok = j < nv;
            const long long gi = tok0 + (long long)j * G.H;
            gs[j] = args.gcum[bh * G.T + t0 + min(j, nv - 1)]; /* padding rows: G_last */
            graw[j] = ok ? args.g[gi] : 0.0f;
            const float bt = (ok && args.beta) ? args.beta[gi] : 1.0f;
            b2s[j] = ok ? bt * bt : 0.0f;
            if (MODE != MODE_FWD) hns[j] = ok ? args.hnorm[gi] : 0.0f;
        }
    }
    /* right-hand side (or the given iterate) in accumulator layout */
    float q[NTY][4];
    if (!NORMS_ONLY) {
        const T *R = reinterpret_cast<const T *>(args.rhs);
#pragma unroll
        for (int nt = 0; nt < NTY; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int row = wm * 16 + gq + 8 * (e >> 1);
                const int col = wn * HALF + nt * 8 + 2 * tq + (e & 1);
                q[nt][e] = row < nv ? to_f(R[(tok0 + (long long)row * G.H) * D + col]) : 0.0f;
            }
    }
    __syncthreads();

    /* ---- ||H_c||_F for the 64 tokens (FWD) ---- */
    if (MODE == MODE_FWD) {
        float Y[NTY][4];
        zero_acc<NTY>(Y);
        warp_mma<NTY, D, false, false>(Y, Ks, LD, wm * 16, Hs, LD, wn * HALF); /* K H_0 */
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
        if (NORMS_ONLY) return;
    }

    /* ---- per-row scalars and the decay mask of this thread's P elements ---- */
    float lam[2], sc[2], eg[2];
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        const int row = wm * 16 + gq + 8 * hf;
        const float hn = hns[row];
        const bool ok = row < nv && hn > 0.0f;
        lam[hf] = ok ? args.a * hn : 0.0f;
        sc[hf] = ok ? 2.0f / (hn + 2.0f * lam[hf]) : 0.0f;
        eg[hf] = expf(gs[row]);
    }
    float mk[4][4];
#pragma unroll
    for (int nt = 0; nt < 4; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int row = wm * 16 + gq + 8 * (e >> 1);
            const int col = wn * 32 + nt * 8 + 2 * tq + (e & 1);
            mk[nt][e] = col <= row ? b2s[col] * expf(gs[row] - gs[col]) : 0.0f;
        }

    float x[NTY][4], d[NTY][4];
#pragma unroll
    for (int nt = 0; nt < NTY; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            x[nt][e] = MODE == MODE_APPLY ? q[nt][e] : sc[e >> 1] * q[nt][e];
            d[nt][e] = x[nt][e];
        }
    __syncthreads(); /* Wsm (aliasing Xs) is no longer read */
    auto store_x = [&](bf16 *buf) {
#pragma unroll
        for (int nt = 0; nt < NTY; nt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                const int row = wm * 16 + gq + 8 * hf;
                const int col = wn * HALF + nt * 8 + 2 * tq;
                *reinterpret_cast<uint32_t *>(buf + row * LD + col) =
                    pack_bf16(x[nt][2 * hf], x[nt][2 * hf + 1]);
            }
    };
    store_x(Xs);
    __syncthreads();

    /* one application of H (all rows): Y = e^{G} X H_0 + (mask o X K^T) K */
    float Y[NTY][4];
    auto apply_h = [&](const bf16 *Xc) {
        float P[4][4];
        zero_acc<4>(P);
        zero_acc<NTY>(Y);
#pragma unroll
        for (int k0 = 0; k0 < D; k0 += 16) {
            uint32_t af[4];
            load_a<false>(af, Xc, LD, wm * 16, k0);
#pragma unroll
            for (int nt = 0; nt < 4; nt += 2) {
                uint32_t bfr[4];
                load_b2<false>(bfr, Ks, LD, wn * 32 + nt * 8, k0);
                mma16816(P[nt], af, bfr[0], bfr[1]);
                mma16816(P[nt + 1], af, bfr[2], bfr[3]);
            }
#pragma unroll
            for (int nt = 0; nt < NTY; nt += 2) {
                uint32_t bfr[4];
                load_b2<false>(bfr, Hs, LD, wn * HALF + nt * 8, k0);
                mma16816(Y[nt], af, bfr[0], bfr[1]);
                mma16816(Y[nt + 1], af, bfr[2], bfr[3]);
            }
        }
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                const int row = wm * 16 + gq + 8 * hf;
                const int col = wn * 32 + nt * 8 + 2 * tq;
                *reinterpret_cast<uint32_t *>(Ps + row * P_LD + col) = pack_bf16(
                    P[nt][2 * hf] * mk[nt][2 * hf], P[nt][2 * hf + 1] * mk[nt][2 * hf + 1]);
            }
#pragma unroll
        for (int nt = 0; nt < NTY; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                Y[nt][e] *= eg[e >> 1];
        __syncthreads();
        warp_mma<NTY, 64, false, true>(Y, Ps, P_LD, wm * 16, Ks, LD, wn * HALF);
    };

    if (MODE == MODE_APPLY) {
        apply_h(Xs);
        const T *DQ = reinterpret_cast<const T *>(args.other);
        float pr[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}}; /* [row half][dq.Hx, x.dq] */
#pragma unroll
        for (int nt = 0; nt < NTY; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int row = wm * 16 + gq + 8 * (e >> 1);
                const int col = wn * HALF + nt * 8 + 2 * tq + (e & 1);
                const float dqv =
                    row < nv ? to_f(DQ[(tok0 + (long long)row * G.H) * D + col]) : 0.0f;
                pr[e >> 1][0] += dqv * Y[nt][e];
                pr[e >> 1][1] += dqv * q[nt][e];
            }
#pragma unroll
        for (int hf = 0; hf < 2; hf++)
#pragma unroll
            for (int v = 0; v < 2; v++) {
                pr[hf][v] += __shfl_xor_sync(0xffffffffu, pr[hf][v], 1);
                pr[hf][v] += __shfl_xor_sync(0xffffffffu, pr[hf][v], 2);
            }
        if (wn == 1 && tq == 0)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                rowred[(wm * 16 + gq + 8 * hf) * 2 + 0] = pr[hf][0];
                rowred[(wm * 16 + gq + 8 * hf) * 2 + 1] = pr[hf][1];
            }
        __syncthreads();
        if (wn == 0 && tq == 0)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                const int row = wm * 16 + gq + 8 * hf;
                if (row < nv) {
                    args.hxdq[bh * G.T + t0 + row] = pr[hf][0] + rowred[row * 2 + 0];
                    args.xdq[bh * G.T + t0 + row] = pr[hf][1] + rowred[row * 2 + 1];
                }
            }
        return;
    }

    /* ---- r Chebyshev iterations, all 64 tokens in lock-step ---- */
    const float rho = 1.0f / (1.0f + 2.0f * args.a);
    const float rho2q = 0.25f * rho * rho;
    float omega = 2.0f;
    for (int it = 1; it <= args.r; it++) {
        omega = 1.0f / (1.0f - rho2q * omega);
        const bf16 *Xc = Xs + ((it - 1) & 1) * 64 * LD;
        bf16 *Xn = Xs + (it & 1) * 64 * LD;
        apply_h(Xc);
        const float om1 = omega - 1.0f;
#pragma unroll
        for (int nt = 0; nt < NTY; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int hf = e >> 1;
                const float res = (Y[nt][e] + lam[hf] * x[nt][e]) - q[nt][e];
                const float dn = om1 * d[nt][e] - sc[hf] * omega * res;
                d[nt][e] = dn;
                x[nt][e] += dn;
            }
        store_x(Xn);
        __syncthreads();
    }

    T *O = reinterpret_cast<T *>(args.out);
#pragma unroll
    for (int nt = 0; nt < NTY; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int row = wm * 16 + gq + 8 * (e >> 1);
            const int col = wn * HALF + nt * 8 + 2 * tq + (e & 1);
            if (row < nv) O[(tok0 + (long long)row * G.H) * D + col] = from_f<T>(x[nt][e]);
        }
    (void)rs;
}

/* Version 2 of the iterations (kernels/NOTES.md): warp w owns rows
 * 32 (w % 2) .. +31 and columns (D/4)(w / 2) .. +D/4 - 1, so each B fragment
 * read from shared memory feeds two m16 tiles (26% fewer shared-memory bytes
 * per iteration than version 1's 16-row warp tiles); the norms come from a
 * separate kernel (k_solve with NORMS_ONLY), so this block's prologue is
 * only loads. MODE_SOLVE or MODE_APPLY. */
template <int D, typename T, int MODE, bool SPLIT>
__global__ void __launch_bounds__(SPLIT ? 128 : 256, SPLIT ? 2 : 1)
    k_iter(gka_geom G, SolveArgs args) {
    constexpr int NTH = SPLIT ? 128 : 256;
    constexpr int LD = D + 8;
    constexpr int NQ = D / 32; /* n8 tiles per warp in the D columns */
    constexpr int QW = D / 4;  /* columns per warp */
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *Hs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Ks = Hs + D * LD;
    bf16 *Xs = Ks + 64 * LD;
    bf16 *Ps = Xs + 2 * 64 * LD;
    float *fs = reinterpret_cast<float *>(Ps + 64 * P_LD);
    float *gs = fs, *b2s = fs + 64, *hns = fs + 128, *red = fs + 192; /* red: 4 x 64 x 2 */

    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int wm = SPLIT ? (int)blockIdx.z : warp & 1, wn = SPLIT ? warp : warp >> 1;
    const long long tok0 = ((long long)b * G.T + t0) * G.H + h;
    const T *K = reinterpret_cast<const T *>(args.k);

    {
        const bf16 *src = args.states + (bh * G.NC + n) * (long long)D * D;
        for (int i = tid; i < D * D / 8; i += NTH) {
            const int row = i / (D / 8), cg = (i % (D / 8)) * 8;
            *reinterpret_cast<uint4 *>(Hs + row * LD + cg) =
                *reinterpret_cast<const uint4 *>(src + (long long)row * D + cg);
        }
        for (int i = tid; i < 64 * D / 8; i += NTH) {
            const int j = i / (D / 8), cg = (i % (D / 8)) * 8;
            float v[8];
            if (j < nv) {
                load8(v, K + (tok0 + (long long)j * G.H) * D + cg);
            } else {
#pragma unroll
                for (int e = 0; e < 8; e++)
                    v[e] = 0.0f;
            }
            store8_bf16(Ks + j * LD + cg, v);
        }
        if (tid < 64) {
            const int j = tid;
            const bool ok = j < nv;
            const long long gi = tok0 + (long long)j * G.H;
            gs[j] = args.gcum[bh * G.T + t0 + min(j, nv - 1)]; /* padding rows: G_last */
            const float bt = (ok && args.beta) ? args.beta[gi] : 1.0f;
            b2s[j] = ok ? bt * bt : 0.0f;
            hns[j] = ok ? args.hnorm[gi] : 0.0f;
        }
    }
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

    float lam[2][2], sc[2][2], eg[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int hf = 0; hf < 2; hf++) {
            const int row = wm * 32 + mt * 16 + gq + 8 * hf;
            const float hn = hns[row];
            const bool ok = row < nv && hn > 0.0f;
            lam[mt][hf] = ok ? args.a * hn : 0.0f;
            sc[mt][hf] = ok ? 2.0f / (hn + 2.0f * lam[mt][hf]) : 0.0f;
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
    float x[2][NQ][4], d[2][NQ][4];
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < NQ; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                x[mt][nt][e] = MODE == MODE_APPLY ? q[mt][nt][e] : sc[mt][e >> 1] * q[mt][nt][e];
                d[mt][nt][e] = x[mt][nt][e];
            }
    auto store_x = [&](bf16 *buf) {
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                for (int hf = 0; hf < 2; hf++) {
                    const int row = wm * 32 + mt * 16 + gq + 8 * hf;
                    const int col = wn * QW + nt * 8 + 2 * tq;
                    *reinterpret_cast<uint32_t *>(buf + row * LD + col) =
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
            load_a<false>(a0, Xc, LD, wm * 32, k0);
            load_a<false>(a1, Xc, LD, wm * 32 + 16, k0);
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
            }
        }
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < 2; nt++)
#pragma unroll
                for (int hf = 0; hf < 2; hf++) {
                    const int row = wm * 32 + mt * 16 + gq + 8 * hf;
                    const int col = wn * 16 + nt * 8 + 2 * tq;
                    *reinterpret_cast<uint32_t *>(Ps + row * P_LD + col) =
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
            load_a<false>(a0, Ps, P_LD, wm * 32, k0);
            load_a<false>(a1, Ps, P_LD, wm * 32 + 16, k0);
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
                    if (tq == 0) red[(wn * 64 + wm * 32 + mt * 16 + gq + 8 * hf) * 2 + v] = t;
                }
        __syncthreads();
        if (tid < 64 && tid < nv && (!SPLIT || (tid >> 5) == wm)) {
            float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
            for (int w = 0; w < 4; w++) {
                s0 += red[(w * 64 + tid) * 2 + 0];
                s1 += red[(w * 64 + tid) * 2 + 1];
            }
            args.hxdq[bh * G.T + t0 + tid] = s0;
            args.xdq[bh * G.T + t0 + tid] = s1;
        }
        return;
    }

    const float rho = 1.0f / (1.0f + 2.0f * args.a);
    const float rho2q = 0.25f * rho * rho;
    float omega = 2.0f;
    for (int it = 1; it <= args.r; it++) {
        omega = 1.0f / (1.0f - rho2q * omega);
        const bf16 *Xc = Xs + ((it - 1) & 1) * 64 * LD;
        bf16 *Xn = Xs + (it & 1) * 64 * LD;
        apply_h(Xc);
        const float om1 = omega - 1.0f;
#pragma unroll
        for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < NQ; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int hf = e >> 1;
                    const float res = (Y[mt][nt][e] + lam[mt][hf] * x[mt][nt][e]) - q[mt][nt][e];
                    const float dn = om1 * d[mt][nt][e] - sc[mt][hf] * omega * res;
                    d[mt][nt][e] = dn;
                    x[mt][nt][e] += dn;
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

template <int D> constexpr size_t iter_smem_bytes() {
    return (size_t)(D + 64 + 2 * 64) * (D + 8) * sizeof(bf16) + 64 * P_LD * sizeof(bf16) +
           (size_t)(192 + 4 * 64 * 2) * sizeof(float);
}

int g_variant = 3; /* 1, 2, 3: the versions of kernels/NOTES.md */

/* Version 3: the two 32-row halves of a chunk never exchange data (X and P
 * rows are produced and consumed inside a half), so each half is its own
 * 4-warp block; two blocks fit on an SM, and one block's loads overlap the
 * other's iterations. Version 2: one 8-warp block per chunk. */
template <int D, typename T, int MODE>
cudaError_t launch_iter(const gka_geom &G, const SolveArgs &a, cudaStream_t st) {
    const size_t smem = iter_smem_bytes<D>();
    const bool split = g_variant != 2;
    cudaError_t e =
        cudaFuncSetAttribute(split ? k_iter<D, T, MODE, true> : k_iter<D, T, MODE, false>,
                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    if (split) {
        dim3 grid((unsigned)G.NC, (unsigned)G.BH, 2);
        k_iter<D, T, MODE, true><<<grid, 128, smem, st>>>(G, a);
    } else {
        dim3 grid((unsigned)G.NC, (unsigned)G.BH);
        k_iter<D, T, MODE, false><<<grid, 256, smem, st>>>(G, a);
    }
    return cudaGetLastError();
}

template <int D, typename T, int MODE, bool NORMS_ONLY>
cudaError_t launch_solve(const gka_geom &G, const SolveArgs &a, cudaStream_t st) {
    const size_t smem = solve_smem_bytes<D>();
    cudaError_t e = cudaFuncSetAttribute(k_solve<D, T, MODE, NORMS_ONLY>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)G.NC, (unsigned)G.BH);
    k_solve<D, T, MODE, NORMS_ONLY><<<grid, SV_THREADS, smem, st>>>(G, a);
    return cudaGetLastError();
}

/* Forward: version 1 = one kernel (norms + iterations); version 2 = the
 * norms kernel, then k_iter. SOLVE and APPLY always use k_iter. */
template <typename T, int MODE>
cudaError_t launch_solve_d(const gka_geom &G, const SolveArgs &a, cudaStream_t st) {
    if (MODE == MODE_FWD) {
        if (g_variant == 1)
            return G.D == 64 ? launch_solve<64, T, MODE_FWD, false>(G, a, st)
                             : launch_solve<128, T, MODE_FWD, false>(G, a, st);
        cudaError_t e = G.D == 64 ? launch_solve<64, T, MODE_FWD, true>(G, a, st)
                                  : launch_solve<128, T, MODE_FWD, true>(G, a, st);
        if (e != cudaSuccess) return e;
        return G.D == 64 ? launch_iter<64, T, MODE_SOLVE>(G, a, st)
                         : launch_iter<128, T, MODE_SOLVE>(G, a, st);
    }
    constexpr int M = MODE == MODE_APPLY ? MODE_APPLY : MODE_SOLVE;
    return G.D == 64 ? launch_iter<64, T, M>(G, a, st) : launch_iter<128, T, M>(G, a, st);
}

} // namespace

void gka_solve_set_variant(int v) {
    g_variant = (v >= 1 && v <= 3) ? v : 3;
}

template <typename T>
cudaError_t gka_launch_solve_fwd(const gka_geom &G, const T *q, const T *k, const bf16 *states,
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
    return launch_solve_d<T, MODE_FWD>(G, s, st);
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
    return launch_solve_d<T, MODE_SOLVE>(G, s, st);
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
    return launch_solve_d<T, MODE_APPLY>(G, s, st);
}

#define GKA_INST(T)                                                                                \
    template cudaError_t gka_launch_solve_fwd<T>(                                                  \
        const gka_geom &, const T *, const T *, const bf16 *, const float *, const float *,        \
        const float *, const float *, float, int, T *, float *, cudaStream_t);                     \
    template cudaError_t gka_launch_solve_rhs<T>(                                                  \
        const gka_geom &, const T *, const T *, const bf16 *, const float *, const float *,        \
        const float *, const float *, float, int, T *, cudaStream_t);                              \
    template cudaError_t gka_launch_apply<T>(                                                      \
        const gka_geom &, const T *, const T *, const T *, const bf16 *, const float *,            \
        const float *, const float *, const float *, float *, float *, cudaStream_t);
GKA_INST(bf16)
GKA_INST(__half)
GKA_INST(float)
