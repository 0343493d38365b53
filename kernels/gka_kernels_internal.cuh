/* Device helpers shared by the kernels: warp-level bf16 tensor-core tiles
 * (mma.sync m16n8k16, fp32 accumulation, operands from shared memory through
 * ldmatrix), dtype loads and stores, and the launch functions the host API
 * calls. Chunk size is fixed at 64 tokens; D is a template parameter. */
#ifndef GKA_KERNELS_INTERNAL_CUH
#define GKA_KERNELS_INTERNAL_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "gka_kernels.h"

typedef __nv_bfloat16 bf16;

#define GKA_CHUNK 64

/* ---- dtype conversions -------------------------------------------------- */
__device__ __forceinline__ float to_f(float v) {
    return v;
}
__device__ __forceinline__ float to_f(bf16 v) {
    return __bfloat162float(v);
}
__device__ __forceinline__ float to_f(__half v) {
    return __half2float(v);
}
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) {
    return v;
}
template <> __device__ __forceinline__ bf16 from_f<bf16>(float v) {
    return __float2bfloat16_rn(v);
}
template <> __device__ __forceinline__ __half from_f<__half>(float v) {
    return __float2half_rn(v);
}

/* Eight consecutive elements of a row to float (16- or 32-byte aligned). */
__device__ __forceinline__ void load8(float out[8], const bf16 *p) {
    uint4 u = *reinterpret_cast<const uint4 *>(p);
    const bf16 *h = reinterpret_cast<const bf16 *>(&u);
#pragma unroll
    for (int i = 0; i < 8; i++)
        out[i] = __bfloat162float(h[i]);
}
__device__ __forceinline__ void load8(float out[8], const __half *p) {
    uint4 u = *reinterpret_cast<const uint4 *>(p);
    const __half *h = reinterpret_cast<const __half *>(&u);
#pragma unroll
    for (int i = 0; i < 8; i++)
        out[i] = __half2float(h[i]);
}
__device__ __forceinline__ void load8(float out[8], const float *p) {
    float4 a = *reinterpret_cast<const float4 *>(p);
    float4 b = *reinterpret_cast<const float4 *>(p + 4);
    out[0] = a.x;
    out[1] = a.y;
    out[2] = a.z;
    out[3] = a.w;
    out[4] = b.x;
    out[5] = b.y;
    out[6] = b.z;
    out[7] = b.w;
}
/* Store eight floats as bf16 (one 16-byte shared-memory store). */
__device__ __forceinline__ void store8_bf16(bf16 *p, const float v[8]) {
    uint4 u;
    bf16 *h = reinterpret_cast<bf16 *>(&u);
#pragma unroll
    for (int i = 0; i < 8; i++)
        h[i] = __float2bfloat16_rn(v[i]);
    *reinterpret_cast<uint4 *>(p) = u;
}
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

/* ---- tensor-core tiles --------------------------------------------------- */
__device__ __forceinline__ uint32_t smem_u32(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}
__device__ __forceinline__ void ldsm_x4(uint32_t r[4], const bf16 *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], const bf16 *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0,
                                         uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
        "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* A fragment of the 16x16 block (rows m0.., k k0..) of A. AT = false: A is
 * stored [m][k] with leading dimension ld; AT = true: stored [k][m]. */
template <bool AT>
__device__ __forceinline__ void load_a(uint32_t a[4], const bf16 *A, int ld, int m0, int k0) {
    const int lane = threadIdx.x & 31;
    if (!AT)
        ldsm_x4(a, A + (m0 + (lane & 15)) * ld + k0 + (lane >> 4) * 8);
    else
        ldsm_x4_t(a, A + (k0 + (lane & 7) + ((lane >> 4) << 3)) * ld + m0 + ((lane >> 3) & 1) * 8);
}
/* B fragments of two n8 tiles (n0.., n0+8..) at k k0. BT = false: B stored
 * [n][k]; BT = true: stored [k][n]. b[0..1] tile n0, b[2..3] tile n0+8. */
template <bool BT>
__device__ __forceinline__ void load_b2(uint32_t b[4], const bf16 *Bm, int ld, int n0, int k0) {
    const int lane = threadIdx.x & 31;
    if (!BT)
        ldsm_x4(b, Bm + (n0 + (lane & 7) + ((lane >> 4) << 3)) * ld + k0 + ((lane >> 3) & 1) * 8);
    else
        ldsm_x4_t(b, Bm + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * ld + n0 + (lane >> 4) * 8);
}

/* acc[NT] += A[m0:m0+16, 0:KD] * B[0:KD, n0:n0+8 NT]. Accumulator element
 * (nt, e): row m0 + g + 8 (e >> 1), column n0 + 8 nt + 2 t + (e & 1), with
 * g = lane / 4, t = lane % 4. */
template <int NT, int KD, bool AT, bool BT>
__device__ __forceinline__ void warp_mma(float (*acc)[4], const bf16 *A, int lda, int m0,
                                         const bf16 *Bm, int ldb, int n0) {
#pragma unroll
    for (int k0 = 0; k0 < KD; k0 += 16) {
        uint32_t a[4];
        load_a<AT>(a, A, lda, m0, k0);
#pragma unroll
        for (int nt = 0; nt < NT; nt += 2) {
            uint32_t b[4];
            load_b2<BT>(b, Bm, ldb, n0 + nt * 8, k0);
            mma16816(acc[nt], a, b[0], b[1]);
            mma16816(acc[nt + 1], a, b[2], b[3]);
        }
    }
}

template <int NT> __device__ __forceinline__ void zero_acc(float (*acc)[4]) {
#pragma unroll
    for (int i = 0; i < NT; i++)
        acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
}

/* ---- chunk prologue: tiles into shared memory ----------------------------- */

/* The D x D chunk start state into shared memory (leading dimension LD) as
 * tensor-core operands. bf16 states are copied; fp32 states are split into
 * hi = bf16(H) and lo = bf16(H - hi), so that X hi + X lo carries H to about
 * 2^-17 relative (the fp32-state option, kernels/NOTES.md). */
template <int D, int LD>
__device__ __forceinline__ void load_state_tile(bf16 *Hs, bf16 *, const bf16 *src, int tid,
                                                int nth) {
    for (int i = tid; i < D * D / 8; i += nth) {
        const int row = i / (D / 8), cg = (i % (D / 8)) * 8;
        *reinterpret_cast<uint4 *>(Hs + row * LD + cg) =
            *reinterpret_cast<const uint4 *>(src + (long long)row * D + cg);
    }
}
template <int D, int LD>
__device__ __forceinline__ void load_state_tile(bf16 *Hs, bf16 *Hl, const float *src, int tid,
                                                int nth) {
    for (int i = tid; i < D * D / 8; i += nth) {
        const int row = i / (D / 8), cg = (i % (D / 8)) * 8;
        float v[8], lo[8];
        load8(v, src + (long long)row * D + cg);
#pragma unroll
        for (int e = 0; e < 8; e++)
            lo[e] = v[e] - __bfloat162float(__float2bfloat16_rn(v[e]));
        store8_bf16(Hs + row * LD + cg, v);
        store8_bf16(Hl + row * LD + cg, lo);
    }
}

/* The 64 token rows of a chunk of a [B, T, H, D] tensor (row j at
 * src[(tok0 + j H) D]) into shared memory as bf16; rows j >= nv are zero. */
template <int D, int LD, typename T>
__device__ __forceinline__ void load_token_rows(bf16 *dst, const T *src, long long tok0, int H,
                                                int nv, int tid, int nth) {
    for (int i = tid; i < 64 * D / 8; i += nth) {
        const int j = i / (D / 8), cg = (i % (D / 8)) * 8;
        float v[8];
        if (j < nv) {
            load8(v, src + (tok0 + (long long)j * H) * D + cg);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++)
                v[e] = 0.0f;
        }
        store8_bf16(dst + j * LD + cg, v);
    }
}

/* ---- asynchronous copies (cp.async, sm_80+) -------------------------------- */
/* 16 bytes global -> shared; valid = false writes 16 zero bytes instead. */
__device__ __forceinline__ void cp_async16(void *dst, const void *src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async4(void *dst, const void *src, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
                 "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::);
}
/* Wait until at most N committed groups of this thread are still in flight. */
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

/* ---- per-launch geometry ------------------------------------------------- */
struct gka_geom {
    int B, T, H, D, NC; /* NC = number of chunks = ceil(T / 64) */
    long long BH;
};

/* Forward workspace layout (byte offsets computed by gka_fwd_ws_layout). */
struct gka_fwd_ws {
    void *states; /* [BH][NC][D][D] chunk start states, bf16 (or fp32: state_fp32) */
    float *gcum;  /* [BH][T] chunk-local cumulative log-gate */
    float *wf;    /* [BH][T] beta^2 exp(G_last - G_t) */
    float *glast; /* [BH][NC] G of the chunk's last token */
    float *h0sq;  /* [BH][NC][4] ||H_0||^2 partial sums by state tile */
};
struct gka_bwd_ws {
    bf16 *gstates; /* [BH][NC][D][D] carried gradient states S_f */
    float *xdq;    /* [BH][T] x_t . dq_t */
    float *hxdq;   /* [BH][T] dq_t . H_t x_t */
    float *rho;    /* [BH][T] */
    float *dh;     /* [BH][T] <D_t, H_t> */
    float *w0;     /* [BH][T] -exp(G_t) */
    float *w2;     /* [BH][T] -beta^2 exp(G_t) rho_t */
    float *h0c;    /* [BH][NC] -exp(2 G_0) rho_0 */
    float *e;      /* [BH][T] per-token terms of dg */
};

#endif
