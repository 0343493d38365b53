/* Backward of the chunked solve (MATH.md section 4), chunk-wise, with no D x D matrix
 * per token. With S~_t = G~_t + G~_t^T (only the symmetric part of the
 * adjoint matters, H being symmetric), E_s = D_s + D_s^T =
 * -(dq_s x_s^T + x_s dq_s^T) - 2 c_s H_s, c_s = a (x_s . dq_s) / ||H_s||_F:
 *   y_i   = S~_i k_i,  dk_i = beta_i^2 y_i,  dbeta_i = beta_i (k_i . y_i),
 *   dg_u  = sum_{t >= u} ( <D_t, H_t> - beta_t^2 k_t^T G~_t k_t )
 *         = sum_{t >= u} ( -dq_t . H_t x_t - c_t ||H_t||^2 - beta_t^2 (k_t . y_t) / 2 )
 * (the last line: dH_t/dg_u collects every write before u, so the double sum
 * telescopes into a suffix sum of per-token scalars). Inside a chunk, with
 * the carried state S_f of later chunks (chunk_state.cu, reverse scan):
 *   y_i = e^{G_last - G_i} S_f k_i - e^{G_i} rho_i H_0 k_i
 *         - sum_{s >= i} e^{G_s - G_i} [ (x_s . k_i) dq_s + (dq_s . k_i) x_s ]
 *         - sum_j Z_ij (k_i . k_j) k_j,
 *   rho_m = sum_{s >= m} 2 c_s e^{2 (G_s - G_m)},
 *   Z_ij  = beta_j^2 e^{(G_m - G_i) + (G_m - G_j)} rho_m,  m = max(i, j),
 * and the chunk's contribution to S_f is
 *   U = -(DQ^T e^G X + X^T e^G DQ) - K^T diag(beta^2 e^G rho) K - e^{2 G_0} rho_0 H_0. */
#include "gka_kernels_internal.cuh"

namespace {

/* per-token scalars: rho (suffix recurrence inside the chunk), <D_t, H_t>,
 * the row weights of the gradient-state products and the H_0 coefficient. */
__global__ void k_bwd_scalars(gka_geom G, const float *__restrict__ g,
                              const float *__restrict__ beta, const float *__restrict__ gcum,
                              const float *__restrict__ hnorm, const float *__restrict__ xdq,
                              const float *__restrict__ hxdq, float a, float *__restrict__ rho,
                              float *__restrict__ dh, float *__restrict__ w0,
                              float *__restrict__ w2, float *__restrict__ h0c) {
    __shared__ float cs[64], gr[64], rs[64];
    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    const int j = threadIdx.x;
    const bool ok = j < nv;
    const long long gi = ((long long)b * G.T + t0 + j) * G.H + h;
    const long long ti = bh * G.T + t0 + j;
    float c = 0.0f, hn = 0.0f;
    if (ok) {
        hn = hnorm[gi];
        c = hn > 0.0f ? a * xdq[ti] / hn : 0.0f;
        dh[ti] = -hxdq[ti] - c * hn * hn;
    }
    cs[j] = c;
    gr[j] = ok ? g[gi] : 0.0f;
    __syncthreads();
    if (j == 0) {
        float r = 0.0f;
        for (int m = nv - 1; m >= 0; m--) {
            r = 2.0f * cs[m] + (m + 1 < nv ? expf(2.0f * gr[m + 1]) * r : 0.0f);
            rs[m] = r;
        }
    }
    __syncthreads();
    if (ok) {
        const float Gj = gcum[ti];
        const float bt = beta ? beta[gi] : 1.0f;
        rho[ti] = rs[j];
        w0[ti] = -expf(Gj);
        w2[ti] = -bt * bt * expf(Gj) * rs[j];
        if (j == 0) h0c[bh * G.NC + n] = -expf(2.0f * Gj) * rs[0];
    }
}

constexpr int GY_THREADS = 256;
constexpr int P_LD = 72;

struct GradArgs {
    const void *k, *x, *dq;
    const bf16 *states, *gstates;
    const float *gcum, *glast, *beta, *rho, *dh;
    void *dk;
    float *e, *dbeta;
};

template <int D> constexpr size_t grad_smem_bytes() {
    return (size_t)(3 * 64 + 2 * D) * (D + 8) * sizeof(bf16) + 3 * 64 * P_LD * sizeof(bf16) +
           (size_t)8 * 64 * sizeof(float);
}

template <int D, typename T>
__global__ void __launch_bounds__(GY_THREADS, 1) k_grad_y(gka_geom G, GradArgs args) {
    constexpr int LD = D + 8;
    constexpr int NTY = D / 16;
    constexpr int HALF = D / 2;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *Ks = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Xs = Ks + 64 * LD;
    bf16 *Qs = Xs + 64 * LD; /* dq */
    bf16 *Hs = Qs + 64 * LD;
    bf16 *Ss = Hs + D * LD;
    bf16 *P1 = Ss + D * LD, *P2 = P1 + 64 * P_LD, *P3 = P2 + 64 * P_LD;
    float *fs = reinterpret_cast<float *>(P3 + 64 * P_LD);
    float *gs = fs, *b2s = fs + 64, *rhos = fs + 128, *ured = fs + 192;

    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int wm = warp & 3, wn = warp >> 2;
    const long long tok0 = ((long long)b * G.T + t0) * G.H + h;
    const float gl = args.glast[bh * G.NC + n];

    {
        const bf16 *s0 = args.states + (bh * G.NC + n) * (long long)D * D;
        const bf16 *s1 = args.gstates + (bh * G.NC + n) * (long long)D * D;
        load_state_tile<D, LD>(Hs, nullptr, s0, tid, GY_THREADS);
        load_state_tile<D, LD>(Ss, nullptr, s1, tid, GY_THREADS);
        load_token_rows<D, LD>(Ks, reinterpret_cast<const T *>(args.k), tok0, G.H, nv, tid,
                               GY_THREADS);
        load_token_rows<D, LD>(Xs, reinterpret_cast<const T *>(args.x), tok0, G.H, nv, tid,
                               GY_THREADS);
        load_token_rows<D, LD>(Qs, reinterpret_cast<const T *>(args.dq), tok0, G.H, nv, tid,
                               GY_THREADS);
        if (tid < 64) {
            const int j = tid;
            const bool ok = j < nv;
            const long long gi = tok0 + (long long)j * G.H;
            gs[j] = ok ? args.gcum[bh * G.T + t0 + j] : gl;
            const float bt = (ok && args.beta) ? args.beta[gi] : 1.0f;
            b2s[j] = ok ? bt * bt : 0.0f;
            rhos[j] = ok ? args.rho[bh * G.T + t0 + j] : 0.0f;
        }
    }
    __syncthreads();

    /* e^{G_last - G_i} S_f k_i - e^{G_i} rho_i H_0 k_i */
    float Y[NTY][4], Z[NTY][4];
    zero_acc<NTY>(Y);
    zero_acc<NTY>(Z);
    warp_mma<NTY, D, false, false>(Y, Ks, LD, wm * 16, Ss, LD, wn * HALF);
    warp_mma<NTY, D, false, false>(Z, Ks, LD, wm * 16, Hs, LD, wn * HALF);
    float c1[2], c2[2];
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        const int row = wm * 16 + gq + 8 * hf;
        c1[hf] = expf(gl - gs[row]);
        c2[hf] = -expf(gs[row]) * rhos[row];
    }
#pragma unroll
    for (int nt = 0; nt < NTY; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++)
            Y[nt][e] = c1[e >> 1] * Y[nt][e] + c2[e >> 1] * Z[nt][e];

    /* masked C x C products K X^T, K DQ^T, K K^T */
    {
        float A1[4][4], A2[4][4], A3[4][4];
        zero_acc<4>(A1);
        zero_acc<4>(A2);
        zero_acc<4>(A3);
        warp_mma<4, D, false, false>(A1, Ks, LD, wm * 16, Xs, LD, wn * 32);
        warp_mma<4, D, false, false>(A2, Ks, LD, wm * 16, Qs, LD, wn * 32);
        warp_mma<4, D, false, false>(A3, Ks, LD, wm * 16, Ks, LD, wn * 32);
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                const int i = wm * 16 + gq + 8 * hf;
                const int s0 = wn * 32 + nt * 8 + 2 * tq;
                float m1[2], m3[2];
#pragma unroll
                for (int u = 0; u < 2; u++) {
                    const int s = s0 + u;
                    m1[u] = (s >= i && s < nv && i < nv) ? -expf(gs[s] - gs[i]) : 0.0f;
                    const int m = max(i, s);
                    m3[u] = (s < nv && i < nv)
                                ? -b2s[s] * expf((gs[m] - gs[i]) + (gs[m] - gs[s])) * rhos[m]
                                : 0.0f;
                }
                const int off = i * P_LD + s0;
                *reinterpret_cast<uint32_t *>(P1 + off) =
                    pack_bf16(A1[nt][2 * hf] * m1[0], A1[nt][2 * hf + 1] * m1[1]);
                *reinterpret_cast<uint32_t *>(P2 + off) =
                    pack_bf16(A2[nt][2 * hf] * m1[0], A2[nt][2 * hf + 1] * m1[1]);
                *reinterpret_cast<uint32_t *>(P3 + off) =
                    pack_bf16(A3[nt][2 * hf] * m3[0], A3[nt][2 * hf + 1] * m3[1]);
            }
    }
    __syncthreads();
    warp_mma<NTY, 64, false, true>(Y, P1, P_LD, wm * 16, Qs, LD, wn * HALF);
    warp_mma<NTY, 64, false, true>(Y, P2, P_LD, wm * 16, Xs, LD, wn * HALF);
    warp_mma<NTY, 64, false, true>(Y, P3, P_LD, wm * 16, Ks, LD, wn * HALF);

    /* dk = beta^2 y; u = k . y */
    T *DK = reinterpret_cast<T *>(args.dk);
    float ur[2] = {0.0f, 0.0f};
#pragma unroll
    for (int nt = 0; nt < NTY; nt++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int row = wm * 16 + gq + 8 * (e >> 1);
            const int col = wn * HALF + nt * 8 + 2 * tq + (e & 1);
            ur[e >> 1] += Y[nt][e] * __bfloat162float(Ks[row * LD + col]);
            if (row < nv)
                DK[(tok0 + (long long)row * G.H) * D + col] = from_f<T>(b2s[row] * Y[nt][e]);
        }
#pragma unroll
    for (int hf = 0; hf < 2; hf++) {
        ur[hf] += __shfl_xor_sync(0xffffffffu, ur[hf], 1);
        ur[hf] += __shfl_xor_sync(0xffffffffu, ur[hf], 2);
    }
    if (wn == 1 && tq == 0) {
        ured[wm * 16 + gq] = ur[0];
        ured[wm * 16 + gq + 8] = ur[1];
    }
    __syncthreads();
    if (wn == 0 && tq == 0)
#pragma unroll
        for (int hf = 0; hf < 2; hf++) {
            const int row = wm * 16 + gq + 8 * hf;
            if (row < nv) {
                const float u = ur[hf] + ured[row];
                args.e[bh * G.T + t0 + row] = args.dh[bh * G.T + t0 + row] - 0.5f * b2s[row] * u;
                if (args.dbeta)
                    args.dbeta[tok0 + (long long)row * G.H] =
                        args.beta[tok0 + (long long)row * G.H] * u;
            }
        }
}

/* dg_u = sum_{t >= u} e_t: a reverse scan per sequence. */
__global__ void k_dg_scan(gka_geom G, const float *__restrict__ e, float *__restrict__ dg) {
    __shared__ float buf[2][256];
    const long long bh = blockIdx.x;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int i = threadIdx.x;
    float carry = 0.0f;
    for (int hi = G.T; hi > 0; hi -= 256) {
        const int lo = max(0, hi - 256);
        const int t = hi - 1 - i;
        float v = t >= lo ? e[bh * G.T + t] : 0.0f;
        int cur = 0;
        buf[cur][i] = v;
        __syncthreads();
        for (int off = 1; off < 256; off <<= 1) {
            const float w = buf[cur][i] + (i >= off ? buf[cur][i - off] : 0.0f);
            buf[cur ^ 1][i] = w;
            cur ^= 1;
            __syncthreads();
        }
        v = buf[cur][i];
        if (t >= lo) dg[((long long)b * G.T + t) * G.H + h] = carry + v;
        carry += buf[cur][255];
        __syncthreads();
    }
}

template <int D, typename T>
cudaError_t launch_grad_y(const gka_geom &G, const GradArgs &a, cudaStream_t st) {
    const size_t smem = grad_smem_bytes<D>();
    cudaError_t err = cudaFuncSetAttribute(k_grad_y<D, T>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (err != cudaSuccess) return err;
    dim3 grid((unsigned)G.NC, (unsigned)G.BH);
    k_grad_y<D, T><<<grid, GY_THREADS, smem, st>>>(G, a);
    return cudaGetLastError();
}

} // namespace

cudaError_t gka_launch_bwd_scalars(const gka_geom &G, const float *g, const float *beta,
                                   const float *gcum, const float *hnorm, const float *xdq,
                                   const float *hxdq, float a, float *rho, float *dh, float *w0,
                                   float *w2, float *h0c, cudaStream_t st) {
    dim3 grid((unsigned)G.NC, (unsigned)G.BH);
    k_bwd_scalars<<<grid, 64, 0, st>>>(G, g, beta, gcum, hnorm, xdq, hxdq, a, rho, dh, w0, w2, h0c);
    return cudaGetLastError();
}

template <typename T>
cudaError_t gka_launch_grad_y(const gka_geom &G, const T *k, const T *x, const T *dq,
                              const bf16 *states, const bf16 *gstates, const float *gcum,
                              const float *glast, const float *beta, const float *rho,
                              const float *dh, T *dk, float *e, float *dbeta, cudaStream_t st) {
    GradArgs a{};
    a.k = k;
    a.x = x;
    a.dq = dq;
    a.states = states;
    a.gstates = gstates;
    a.gcum = gcum;
    a.glast = glast;
    a.beta = beta;
    a.rho = rho;
    a.dh = dh;
    a.dk = dk;
    a.e = e;
    a.dbeta = dbeta;
    return G.D == 64 ? launch_grad_y<64, T>(G, a, st) : launch_grad_y<128, T>(G, a, st);
}

cudaError_t gka_launch_dg_scan(const gka_geom &G, const float *e, float *dg, cudaStream_t st) {
    k_dg_scan<<<(unsigned)G.BH, 256, 0, st>>>(G, e, dg);
    return cudaGetLastError();
}

#define GKA_INST(T)                                                                                \
    template cudaError_t gka_launch_grad_y<T>(const gka_geom &, const T *, const T *, const T *,   \
                                              const bf16 *, const bf16 *, const float *,           \
                                              const float *, const float *, const float *,         \
                                              const float *, T *, float *, float *, cudaStream_t);
GKA_INST(bf16)
GKA_INST(__half)
GKA_INST(float)
