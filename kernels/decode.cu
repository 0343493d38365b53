/* Decode step: one token per sequence against a carried fp32 state, one block
 * per sequence. The state update and ||H||_F are one pass over the state
 * (read once, written once); the r Chebyshev iterations then run on the copy
 * in shared memory (fp32 CUDA cores: a matrix-vector product per iteration,
 * too little work per sequence for the tensor cores). */
#include "gka_iteration.h"
#include "gka_kernels_internal.cuh"

namespace {

constexpr int DC_THREADS = 256;

template <int D, typename T>
__global__ void __launch_bounds__(DC_THREADS)
    k_decode(int r, float a, const T *__restrict__ q, const T *__restrict__ k,
             const float *__restrict__ g, const float *__restrict__ beta, float *__restrict__ state,
             T *__restrict__ x, float *__restrict__ hnorm) {
    extern __shared__ __align__(16) float dsm[];
    float *Hs = dsm;        /* D x D */
    float *xs = Hs + D * D; /* 2 x D: x_{i-1} and x_{i-2} by turns */
    float *qs = xs + 2 * D, *ks = qs + D, *red = ks + D;
    const long long i = blockIdx.x;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    if (tid < D) {
        qs[tid] = to_f(q[i * D + tid]);
        ks[tid] = to_f(k[i * D + tid]);
    }
    const float gam = expf(g[i]);
    const float bt = beta ? beta[i] : 1.0f;
    const float b2 = bt * bt;
    __syncthreads();
    float *S = state + i * D * D;
    float ss = 0.0f;
    for (int idx = tid; idx < D * D / 4; idx += DC_THREADS) {
        const int row = (idx * 4) / D, col = (idx * 4) % D;
        float4 v = reinterpret_cast<float4 *>(S)[idx];
        const float kr = b2 * ks[row];
        v.x = gam * v.x + kr * ks[col];
        v.y = gam * v.y + kr * ks[col + 1];
        v.z = gam * v.z + kr * ks[col + 2];
        v.w = gam * v.w + kr * ks[col + 3];
        reinterpret_cast<float4 *>(S)[idx] = v;
        reinterpret_cast<float4 *>(Hs)[idx] = v;
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        ss += __shfl_xor_sync(0xffffffffu, ss, off);
    if (lane == 0) red[warp] = ss;
    __syncthreads();
    float tot = 0.0f;
#pragma unroll
    for (int w = 0; w < DC_THREADS / 32; w++)
        tot += red[w];
    const float hn = sqrtf(tot);
    const float lam = a * hn;
    float rho = 0.0f, s = 0.0f; /* MATH.md section 2 schedule, solvers/gka_iteration.h */
    if (hn > 0.0f) gka_cheb_params_f(hn, lam, &rho, &s);
    const float quarter_rho_sq = gka_cheb_quarter_rho_sq_f(rho);
    if (tid < D) {
        xs[tid] = s * qs[tid]; /* x_0 = s q */
        xs[D + tid] = 0.0f;    /* x_{-1} = 0 */
    }
    __syncthreads();
    float omega = (float)GKA_CHEB_OMEGA0;
    for (int it = 1; it <= r; it++) {
        omega = gka_cheb_omega_next_f(quarter_rho_sq, omega);
        const float neg_s_omega = -(s * omega), omega_minus_1 = omega - 1.0f;
        const float *xc = xs + ((it - 1) & 1) * D;
        float *xn = xs + (it & 1) * D;
        for (int row = warp; row < D; row += DC_THREADS / 32) {
            float acc = 0.0f;
#pragma unroll
            for (int u = 0; u < D / 32; u++)
                acc += Hs[row * D + lane + 32 * u] * xc[lane + 32 * u];
#pragma unroll
            for (int off = 16; off > 0; off >>= 1)
                acc += __shfl_xor_sync(0xffffffffu, acc, off);
            if (lane == 0) {
                const float res = (acc + lam * xc[row]) - qs[row];
                xn[row] = gka_cheb_update_f(xc[row], xn[row], res, neg_s_omega, omega_minus_1); /* xn held x_{i-2} */
            }
        }
        __syncthreads();
    }
    if (tid < D) x[i * D + tid] = from_f<T>(xs[(r & 1) * D + tid]);
    if (tid == 0) hnorm[i] = hn;
}

template <int D, typename T>
cudaError_t launch_decode(int n, int r, float a, const T *q, const T *k, const float *g,
                          const float *beta, float *state, T *x, float *hnorm, cudaStream_t st) {
    const size_t smem = (size_t)(D * D + 4 * D + DC_THREADS / 32) * sizeof(float);
    cudaError_t e = cudaFuncSetAttribute(k_decode<D, T>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    k_decode<D, T><<<(unsigned)n, DC_THREADS, smem, st>>>(r, a, q, k, g, beta, state, x, hnorm);
    return cudaGetLastError();
}

} // namespace

template <typename T>
cudaError_t gka_launch_decode(int n, int D, int r, float a, const T *q, const T *k, const float *g,
                              const float *beta, float *state, T *x, float *hnorm,
                              cudaStream_t st) {
    return D == 64 ? launch_decode<64, T>(n, r, a, q, k, g, beta, state, x, hnorm, st)
                   : launch_decode<128, T>(n, r, a, q, k, g, beta, state, x, hnorm, st);
}

#define GKA_INST(T)                                                                                \
    template cudaError_t gka_launch_decode<T>(int, int, int, float, const T *, const T *,          \
                                              const float *, const float *, float *, T *, float *, \
                                              cudaStream_t);
GKA_INST(bf16)
GKA_INST(__half)
GKA_INST(float)
