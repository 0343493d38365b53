/* Chunk bookkeeping and the scan over chunks.
 *
 * k_prep: per chunk, the chunk-local cumulative log-gate G_c = sum_{j<=c} g_j,
 * the write weights w_j = beta_j^2 exp(G_last - G_j) and G_last.
 *
 * k_state_scan: one block per (sequence, 64x64 tile of the D x D state) walks
 * the chunks in order, keeping its tile of the state in fp32 registers:
 *   forward:  store H_start[n] = H (bf16), then H = exp(G_last) H + K^T diag(w) K
 *   backward: store S_f[n] = S, then
 *             S = exp(G_last) S + sum_p A_p^T diag(w_p) B_p + h0c[n] H_start[n]
 * (the reverse scan of the symmetric gradient state, MATH.md section 4; see chunk_grad.cu).
 * The products run on the tensor cores (bf16 operands, fp32 accumulation);
 * the next chunk's operands are loaded into registers while the current one
 * is multiplied. The forward stores
 * the chunk start states as bf16 snapshots or, with the fp32-state option,
 * in fp32; the running state is fp32 either way. */
#include "gka_kernels_internal.cuh"

namespace {

__global__ void k_prep(gka_geom G, const float *__restrict__ g, const float *__restrict__ beta,
                       float *__restrict__ gcum, float *__restrict__ wf,
                       float *__restrict__ glast) {
    const int n = blockIdx.x;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int lane = threadIdx.x;
    const int t0 = n * GKA_CHUNK;
    const int nv = min(GKA_CHUNK, G.T - t0);
    float gv[2], b2[2];
#pragma unroll
    for (int e = 0; e < 2; e++) {
        const int j = 2 * lane + e;
        const long long gi = ((long long)b * G.T + t0 + j) * G.H + h;
        gv[e] = j < nv ? g[gi] : 0.0f;
        const float bt = (j < nv && beta) ? beta[gi] : 1.0f;
        b2[e] = j < nv ? bt * bt : 0.0f;
    }
    /* inclusive scan of the pair sums across the warp */
    float s = gv[0] + gv[1];
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
        const float o = __shfl_up_sync(0xffffffffu, s, off);
        if (lane >= off) s += o;
    }
    float Gc[2];
    Gc[0] = (s - (gv[0] + gv[1])) + gv[0];
    Gc[1] = Gc[0] + gv[1];
    const int last = nv - 1;
    const float gl = __shfl_sync(0xffffffffu, Gc[last & 1], last >> 1);
#pragma unroll
    for (int e = 0; e < 2; e++) {
        const int j = 2 * lane + e;
        if (j < nv) {
            gcum[bh * G.T + t0 + j] = Gc[e];
            wf[bh * G.T + t0 + j] = b2[e] * expf(gl - Gc[e]);
        }
    }
    if (lane == 0) glast[bh * G.NC + n] = gl;
}

constexpr int ST_LD = 72; /* 64 + 8: conflict-free ldmatrix rows */
constexpr int ST_THREADS = 128;

template <int NPROD> struct ScanArgs {
    const void *A[NPROD]; /* token tensors [B,T,H,D] */
    const void *Bsrc[NPROD];
    const float *w[NPROD]; /* [BH][T] row weights of B */
    const float *glast;    /* [BH][NC] */
    const float *h0c;      /* [BH][NC] or NULL (backward: coefficient of H_start) */
    const bf16 *h0;        /* forward states (backward only) */
    void *out;             /* [BH][NC][D][D], bf16 or fp32 (S) */
    float *h0sq;           /* [BH][NC][tiles] or NULL */
    float *final_state;    /* [BH][D][D] fp32 or NULL */
};

/* 8 raw elements of a token row, kept in registers between load and store. */
template <typename T> struct Raw8 { uint4 u; };
template <> struct Raw8<float> { float4 a, b; };
template <typename T> __device__ __forceinline__ void raw_load(Raw8<T> &r, const T *p) {
    r.u = *reinterpret_cast<const uint4 *>(p);
}
template <> __device__ __forceinline__ void raw_load<float>(Raw8<float> &r, const float *p) {
    r.a = *reinterpret_cast<const float4 *>(p);
    r.b = *reinterpret_cast<const float4 *>(p + 4);
}
template <typename T> __device__ __forceinline__ void raw_zero(Raw8<T> &r) {
    r.u = make_uint4(0, 0, 0, 0);
}
template <> __device__ __forceinline__ void raw_zero<float>(Raw8<float> &r) {
    r.a = r.b = make_float4(0, 0, 0, 0);
}
template <typename T> __device__ __forceinline__ void raw_float(float out[8], const Raw8<T> &r) {
    load8(out, reinterpret_cast<const T *>(&r.u));
}
template <> __device__ __forceinline__ void raw_float<float>(float out[8], const Raw8<float> &r) {
    out[0] = r.a.x;
    out[1] = r.a.y;
    out[2] = r.a.z;
    out[3] = r.a.w;
    out[4] = r.b.x;
    out[5] = r.b.y;
    out[6] = r.b.z;
    out[7] = r.b.w;
}

constexpr int ST_GROUPS = 64 * 8 / ST_THREADS; /* 16-byte groups per thread per slice */

template <int NPROD> constexpr size_t scan_smem_bytes() {
    return (size_t)2 * NPROD * 64 * ST_LD * sizeof(bf16);
}

__device__ __forceinline__ void store_state_pair(bf16 *p, float v0, float v1) {
    *reinterpret_cast<uint32_t *>(p) = pack_bf16(v0, v1);
}
__device__ __forceinline__ void store_state_pair(float *p, float v0, float v1) {
    *reinterpret_cast<float2 *>(p) = make_float2(v0, v1);
}
/* The value a chunk's solve sees of a state entry (its norm formula too). */
__device__ __forceinline__ float snapshot_value(bf16 *, float v) {
    return __bfloat162float(__float2bfloat16_rn(v));
}
__device__ __forceinline__ float snapshot_value(float *, float v) {
    return v;
}

/* One block per (sequence, 64 x 64 tile (ti, tj) of the D x D state) walks
 * the chunks in order with its tile in fp32 registers (4 warps of 16 rows).
 * The operands of chunk n + 1 are loaded into registers while chunk n is
 * multiplied (version 3's prefetch; on one H100 in one call, 1.44 us per
 * step for this against 1.75 us for a 4-deep cp.async ring in shared
 * memory, which put a shared-memory round trip on the serial chain;
 * kernels/NOTES.md, version 4.1);
 * the state update itself (decay times state plus the chunk's product) is
 * the only step that depends on the previous chunk. */
template <typename T, typename S, int NPROD, bool REV>
__global__ void __launch_bounds__(ST_THREADS) k_state_scan(gka_geom G, ScanArgs<NPROD> args) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    bf16 *As = reinterpret_cast<bf16 *>(smem_raw); /* [NPROD][64][ST_LD] */
    bf16 *Bs = As + NPROD * 64 * ST_LD;            /* [NPROD][64][ST_LD] */
    __shared__ float red[ST_THREADS / 32];

    const int D = G.D;
    const int tpd = D / 64;
    const int ti = blockIdx.x / tpd, tj = blockIdx.x % tpd;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int NC = G.NC;

    Raw8<T> ra[NPROD][ST_GROUPS], rb[NPROD][ST_GROUPS];
    float wr[NPROD][ST_GROUPS];
    float gl_next = 0.0f, hc_next = 0.0f; /* the chunk's scalars travel with its data */

    auto prefetch = [&](int n) {
        const int t0 = n * GKA_CHUNK;
        gl_next = args.glast[bh * NC + n];
        if (REV) hc_next = args.h0c[bh * NC + n];
#pragma unroll
        for (int i = 0; i < ST_GROUPS; i++) {
            const int idx = tid + i * ST_THREADS;
            const int j = idx >> 3, cg = (idx & 7) * 8;
            const int t = t0 + j;
            const bool ok = t < G.T;
            const long long base = ((long long)b * G.T + t) * G.H * D + (long long)h * D;
#pragma unroll
            for (int p = 0; p < NPROD; p++) {
                const T *A = reinterpret_cast<const T *>(args.A[p]);
                const T *Bm = reinterpret_cast<const T *>(args.Bsrc[p]);
                if (ok) {
                    raw_load(ra[p][i], A + base + ti * 64 + cg);
                    raw_load(rb[p][i], Bm + base + tj * 64 + cg);
                    wr[p][i] = args.w[p][bh * G.T + t];
                } else {
                    raw_zero(ra[p][i]);
                    raw_zero(rb[p][i]);
                    wr[p][i] = 0.0f;
                }
            }
        }
    };
    /* the prefetched tiles as bf16 operands, B rows scaled by their weight */
    auto stage = [&]() {
#pragma unroll
        for (int i = 0; i < ST_GROUPS; i++) {
            const int idx = tid + i * ST_THREADS;
            const int j = idx >> 3, cg = (idx & 7) * 8;
#pragma unroll
            for (int p = 0; p < NPROD; p++) {
                float v[8];
                raw_float(v, ra[p][i]);
                store8_bf16(As + (p * 64 + j) * ST_LD + cg, v);
                raw_float(v, rb[p][i]);
#pragma unroll
                for (int e = 0; e < 8; e++)
                    v[e] *= wr[p][i];
                store8_bf16(Bs + (p * 64 + j) * ST_LD + cg, v);
            }
        }
    };

    float acc[8][4];
    zero_acc<8>(acc);
    S *const out = reinterpret_cast<S *>(args.out);
    prefetch(REV ? NC - 1 : 0);
    for (int step = 0; step < NC; step++) {
        const int n = REV ? NC - 1 - step : step;
        /* state at the start of chunk n (forward) / carried into chunk n (backward) */
        S *outp = out + ((bh * NC + n) * D + ti * 64 + warp * 16) * (long long)D + tj * 64;
        float ss = 0.0f;
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int hf = 0; hf < 2; hf++) {
                const float v0 = acc[nt][2 * hf], v1 = acc[nt][2 * hf + 1];
                const float r0 = snapshot_value(outp, v0), r1 = snapshot_value(outp, v1);
                ss += r0 * r0 + r1 * r1;
                store_state_pair(outp + (gq + 8 * hf) * (long long)D + nt * 8 + 2 * tq, v0, v1);
            }
        if (args.h0sq) {
#pragma unroll
            for (int off = 16; off > 0; off >>= 1)
                ss += __shfl_xor_sync(0xffffffffu, ss, off);
            if (lane == 0) red[warp] = ss;
        }
        stage(); /* As/Bs are free: the previous step ended with a barrier */
        const float decay = expf(gl_next);
        const float hc = hc_next;
        __syncthreads();
        if (args.h0sq && tid == 0) /* red is rewritten only after the next barrier */
            args.h0sq[(bh * NC + n) * (tpd * tpd) + blockIdx.x] = red[0] + red[1] + red[2] + red[3];
        if (step + 1 < NC) prefetch(REV ? n - 1 : n + 1); /* in flight during the MMA */
        float P[8][4];
        zero_acc<8>(P);
#pragma unroll
        for (int p = 0; p < NPROD; p++)
            warp_mma<8, 64, true, true>(P, As + p * 64 * ST_LD, ST_LD, warp * 16,
                                        Bs + p * 64 * ST_LD, ST_LD, 0);
        const bf16 *h0p = nullptr;
        if (REV) h0p = args.h0 + ((bh * NC + n) * D + ti * 64 + warp * 16) * (long long)D + tj * 64;
#pragma unroll
        for (int nt = 0; nt < 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float v = decay * acc[nt][e] + P[nt][e];
                if (REV) {
                    const int row = gq + 8 * (e >> 1), col = nt * 8 + 2 * tq + (e & 1);
                    v += hc * __bfloat162float(h0p[row * (long long)D + col]);
                }
                acc[nt][e] = v;
            }
        }
        __syncthreads();
    }
    if (args.final_state) {
        float *fp = args.final_state + (bh * D + ti * 64 + warp * 16) * (long long)D + tj * 64;
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                fp[(gq + 8 * (e >> 1)) * (long long)D + nt * 8 + 2 * tq + (e & 1)] = acc[nt][e];
    }
}

} // namespace

cudaError_t gka_launch_prep(const gka_geom &G, const float *g, const float *beta, float *gcum,
                            float *wf, float *glast, cudaStream_t st) {
    dim3 grid((unsigned)G.NC, (unsigned)G.BH);
    k_prep<<<grid, 32, 0, st>>>(G, g, beta, gcum, wf, glast);
    return cudaGetLastError();
}

template <typename T, typename S>
cudaError_t gka_launch_state_fwd(const gka_geom &G, const T *k, const float *wf, const float *glast,
                                 S *states, float *h0sq, float *final_state, cudaStream_t st) {
    ScanArgs<1> a{};
    a.A[0] = k;
    a.Bsrc[0] = k;
    a.w[0] = wf;
    a.glast = glast;
    a.out = states;
    a.h0sq = h0sq;
    a.final_state = final_state;
    const int tpd = G.D / 64;
    const size_t smem = scan_smem_bytes<1>();
    cudaError_t e = cudaFuncSetAttribute(k_state_scan<T, S, 1, false>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)(tpd * tpd), (unsigned)G.BH);
    k_state_scan<T, S, 1, false><<<grid, ST_THREADS, smem, st>>>(G, a);
    return cudaGetLastError();
}

template <typename T>
cudaError_t gka_launch_state_bwd(const gka_geom &G, const T *k, const T *x, const T *dq,
                                 const float *w0, const float *w2, const float *glast,
                                 const float *h0c, const bf16 *h0, bf16 *gstates, cudaStream_t st) {
    ScanArgs<3> a{};
    a.A[0] = dq;
    a.Bsrc[0] = x;
    a.w[0] = w0;
    a.A[1] = x;
    a.Bsrc[1] = dq;
    a.w[1] = w0;
    a.A[2] = k;
    a.Bsrc[2] = k;
    a.w[2] = w2;
    a.glast = glast;
    a.h0c = h0c;
    a.h0 = h0;
    a.out = gstates;
    const int tpd = G.D / 64;
    const size_t smem = scan_smem_bytes<3>();
    cudaError_t e = cudaFuncSetAttribute(k_state_scan<T, bf16, 3, true>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)(tpd * tpd), (unsigned)G.BH);
    k_state_scan<T, bf16, 3, true><<<grid, ST_THREADS, smem, st>>>(G, a);
    return cudaGetLastError();
}

#define GKA_INST(T)                                                                                \
    template cudaError_t gka_launch_state_fwd<T, bf16>(const gka_geom &, const T *, const float *, \
                                                       const float *, bf16 *, float *, float *,    \
                                                       cudaStream_t);                              \
    template cudaError_t gka_launch_state_fwd<T, float>(const gka_geom &, const T *,               \
                                                        const float *, const float *, float *,     \
                                                        float *, float *, cudaStream_t);           \
    template cudaError_t gka_launch_state_bwd<T>(                                                  \
        const gka_geom &, const T *, const T *, const T *, const float *, const float *,           \
        const float *, const float *, const bf16 *, bf16 *, cudaStream_t);
GKA_INST(bf16)
GKA_INST(__half)
GKA_INST(float)
