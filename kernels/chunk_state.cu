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
 * the operands of the next chunks are copied into a ring of shared-memory
 * slots (cp.async) while the current one is multiplied. The forward stores
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

/* One chunk's operands as they arrive (ring slot): the raw 64 x 64 tiles of
 * A and B (elements of T), the row weights and the chunk's two scalars. */
template <typename T, int NPROD> struct ScanSlot {
    T a[NPROD][64][64];
    T b[NPROD][64][64];
    float w[NPROD][64];
    float scal[4]; /* glast, h0c */
};

template <typename T, int NPROD, int STAGES> constexpr size_t scan_smem_bytes() {
    return (size_t)STAGES * sizeof(ScanSlot<T, NPROD>) + 2 * NPROD * 64 * ST_LD * sizeof(bf16);
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
 * The operands of chunk n + STAGES are copied (cp.async) into a ring of
 * shared-memory slots while chunk n is multiplied, so the loads' latency is
 * off the serial path; the state update itself (decay times state plus the
 * chunk's product) is the only step that depends on the previous chunk. */
template <typename T, typename S, int NPROD, bool REV, int STAGES>
__global__ void __launch_bounds__(ST_THREADS) k_state_scan(gka_geom G, ScanArgs<NPROD> args) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    using Slot = ScanSlot<T, NPROD>;
    Slot *ring = reinterpret_cast<Slot *>(smem_raw);
    bf16 *As = reinterpret_cast<bf16 *>(ring + STAGES); /* [NPROD][64][ST_LD] */
    bf16 *Bs = As + NPROD * 64 * ST_LD;                 /* [NPROD][64][ST_LD] */
    __shared__ float red[ST_THREADS / 32];

    const int D = G.D;
    const int tpd = D / 64;
    const int ti = blockIdx.x / tpd, tj = blockIdx.x % tpd;
    const long long bh = blockIdx.y;
    const int b = (int)(bh / G.H), h = (int)(bh % G.H);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gq = lane >> 2, tq = lane & 3;
    const int NC = G.NC;
    constexpr int EPC = 16 / (int)sizeof(T); /* elements per 16-byte copy */
    constexpr int CPR = 64 / EPC;            /* copies per tile row */

    /* issue the copies of the chunk at scan step `step` into its slot */
    auto issue = [&](int step) {
        if (step < NC) {
            const int n = REV ? NC - 1 - step : step;
            const int t0 = n * GKA_CHUNK;
            Slot &sl = ring[step % STAGES];
#pragma unroll
            for (int p = 0; p < NPROD; p++) {
                const T *A = reinterpret_cast<const T *>(args.A[p]);
                const T *Bm = reinterpret_cast<const T *>(args.Bsrc[p]);
                for (int i = tid; i < 64 * CPR; i += ST_THREADS) {
                    const int j = i / CPR, c = (i % CPR) * EPC;
                    const int t = t0 + j;
                    const bool ok = t < G.T;
                    const long long base =
                        ok ? ((long long)b * G.T + t) * G.H * D + (long long)h * D : 0;
                    cp_async16(&sl.a[p][j][c], A + base + ti * 64 + c, ok);
                    cp_async16(&sl.b[p][j][c], Bm + base + tj * 64 + c, ok);
                }
                if (tid < 64) {
                    const bool ok = t0 + tid < G.T;
                    cp_async4(&sl.w[p][tid], args.w[p] + (ok ? bh * G.T + t0 + tid : 0), ok);
                }
            }
            if (tid == 64) cp_async4(&sl.scal[0], args.glast + bh * NC + n, true);
            if (tid == 65) cp_async4(&sl.scal[1], REV ? args.h0c + bh * NC + n : args.glast, REV);
        }
        cp_async_commit(); /* empty groups keep the count uniform */
    };
    /* the slot's tiles as bf16 operands, B rows scaled by their weight */
    auto stage = [&](const Slot &sl) {
#pragma unroll
        for (int p = 0; p < NPROD; p++)
            for (int i = tid; i < 64 * 8; i += ST_THREADS) {
                const int j = i >> 3, cg = (i & 7) * 8;
                float v[8];
                load8(v, &sl.a[p][j][cg]);
                store8_bf16(As + (p * 64 + j) * ST_LD + cg, v);
                load8(v, &sl.b[p][j][cg]);
                const float wj = sl.w[p][j];
#pragma unroll
                for (int e = 0; e < 8; e++)
                    v[e] *= wj;
                store8_bf16(Bs + (p * 64 + j) * ST_LD + cg, v);
            }
    };

    for (int s = 0; s < STAGES; s++)
        issue(s);
    float acc[8][4];
    zero_acc<8>(acc);
    S *const out = reinterpret_cast<S *>(args.out);
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
        cp_async_wait<STAGES - 1>(); /* this thread's copies of chunk n are done */
        __syncthreads();             /* everyone's are; As/Bs free (previous MMA done) */
        const Slot &sl = ring[step % STAGES];
        stage(sl);
        const float decay = expf(sl.scal[0]);
        const float hc = REV ? sl.scal[1] : 0.0f;
        if (args.h0sq && tid == 0) /* red is rewritten only after the next barrier */
            args.h0sq[(bh * NC + n) * (tpd * tpd) + blockIdx.x] = red[0] + red[1] + red[2] + red[3];
        __syncthreads(); /* As/Bs ready; the slot may be refilled */
        issue(step + STAGES);
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
    }
    cp_async_wait<0>();
    if (args.final_state) {
        float *fp = args.final_state + (bh * D + ti * 64 + warp * 16) * (long long)D + tj * 64;
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                fp[(gq + 8 * (e >> 1)) * (long long)D + nt * 8 + 2 * tq + (e & 1)] = acc[nt][e];
    }
}

/* Ring depth: 4 chunks ahead in the forward scan; the backward's three
 * products per chunk fit 2 slots of 2-byte inputs, 1 of fp32 inputs. */
constexpr int FWD_STAGES = 4;
template <typename T> constexpr int bwd_stages() {
    return sizeof(T) == 2 ? 2 : 1;
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
    const size_t smem = scan_smem_bytes<T, 1, FWD_STAGES>();
    cudaError_t e = cudaFuncSetAttribute(k_state_scan<T, S, 1, false, FWD_STAGES>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)(tpd * tpd), (unsigned)G.BH);
    k_state_scan<T, S, 1, false, FWD_STAGES><<<grid, ST_THREADS, smem, st>>>(G, a);
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
    constexpr int NS = bwd_stages<T>();
    const size_t smem = scan_smem_bytes<T, 3, NS>();
    cudaError_t e = cudaFuncSetAttribute(k_state_scan<T, bf16, 3, true, NS>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)(tpd * tpd), (unsigned)G.BH);
    k_state_scan<T, bf16, 3, true, NS><<<grid, ST_THREADS, smem, st>>>(G, a);
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
