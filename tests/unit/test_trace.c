/* The trace container and the loaders' shared pieces (experiments/data/trace.c):
 * allocation limits, validation messages, normalisation, rounding, half and
 * bfloat16 decoding (exhaustive against the compiler's _Float16), array
 * views with batch/head selection and byte order, the views -> trace step. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gka_data.h"

static void assert_msg_has(const char *needle) {
    cr_assert(strstr(gka_error_message(), needle), "message '%s' lacks '%s'", gka_error_message(),
              needle);
}

Test(trace, alloc_limits_and_free) {
    gka_trace_t tr = {0};
    cr_assert_eq(gka_trace_alloc(&tr, 0, 5, 0), GKA_EINVAL);
    cr_assert_null(tr.q);
    cr_assert_eq(gka_trace_alloc(&tr, 4, 0, 0), GKA_EINVAL);
    cr_assert_eq(gka_trace_alloc(&tr, 4, -3, 0), GKA_EINVAL);
    cr_assert_eq(gka_trace_alloc(&tr, (int)GKA_TRACE_D_MAX + 1, 5, 0), GKA_ERANGE);
    assert_msg_has("D=4097");
    cr_assert_eq(gka_trace_alloc(&tr, 4, GKA_TRACE_T_MAX + 1, 0), GKA_ERANGE);
    cr_assert_eq(gka_trace_alloc(&tr, 4096, GKA_TRACE_T_MAX, 0), GKA_ERANGE);
    assert_msg_has("T*D");
    cr_assert_null(tr.k);

    cr_assert_eq(gka_trace_alloc(&tr, 3, 7, GKA_TRACE_WITH_G | GKA_TRACE_WITH_BETA), GKA_OK);
    cr_assert_eq(tr.D, 3);
    cr_assert_eq(tr.T, 7);
    cr_assert(tr.q && tr.k && tr.g && tr.beta);
    cr_assert_null(tr.v);
    for (int j = 0; j < 21; j++)
        cr_assert(tr.q[j] == 0.0 && tr.k[j] == 0.0);
    gka_trace_free(&tr);
    cr_assert_null(tr.q);
    cr_assert_eq(tr.T, 0);
    gka_trace_free(&tr); /* twice is fine */
    gka_trace_free(NULL);
}

static void fill_ok(gka_trace_t *tr) {
    cr_assert_eq(
        gka_trace_alloc(tr, 4, 6, GKA_TRACE_WITH_V | GKA_TRACE_WITH_G | GKA_TRACE_WITH_BETA),
        GKA_OK);
    for (int j = 0; j < 24; j++) {
        tr->q[j] = 0.5 + j;
        tr->k[j] = -1.0 + j;
        tr->v[j] = 2.0 * j;
    }
    for (int t = 0; t < 6; t++) {
        tr->g[t] = -0.01 * t;
        tr->beta[t] = 0.2 + 0.1 * t;
    }
}

Test(trace, validate_names_field_and_index) {
    gka_trace_t tr = {0};
    fill_ok(&tr);
    cr_assert_eq(gka_trace_validate(&tr), GKA_OK);

    tr.q[3 * 4 + 2] = NAN;
    cr_assert_eq(gka_trace_validate(&tr), GKA_ENODATA);
    assert_msg_has("q[t=3,i=2]");
    tr.q[3 * 4 + 2] = 1.0;

    tr.v[5 * 4 + 1] = -INFINITY;
    cr_assert_eq(gka_trace_validate(&tr), GKA_ENODATA);
    assert_msg_has("v[t=5,i=1]");
    tr.v[5 * 4 + 1] = 1.0;

    tr.g[4] = 1e-300; /* positive, however small */
    cr_assert_eq(gka_trace_validate(&tr), GKA_EINVAL);
    assert_msg_has("g[t=4]");
    tr.g[4] = NAN;
    cr_assert_eq(gka_trace_validate(&tr), GKA_ENODATA);
    tr.g[4] = -0.0;
    cr_assert_eq(gka_trace_validate(&tr), GKA_OK);

    tr.beta[2] = 0.0;
    cr_assert_eq(gka_trace_validate(&tr), GKA_EINVAL);
    assert_msg_has("beta[t=2]");
    tr.beta[2] = 1.0 + 0x1p-52;
    cr_assert_eq(gka_trace_validate(&tr), GKA_EINVAL);
    tr.beta[2] = 1.0;
    cr_assert_eq(gka_trace_validate(&tr), GKA_OK);

    double *k = tr.k;
    tr.k = NULL;
    cr_assert_eq(gka_trace_validate(&tr), GKA_EINVAL);
    tr.k = k;
    gka_trace_free(&tr);
}

Test(trace, copy_is_deep) {
    gka_trace_t a = {0}, b = {0};
    fill_ok(&a);
    snprintf(a.origin, sizeof a.origin, "test");
    cr_assert_eq(gka_trace_copy(&b, &a), GKA_OK);
    cr_assert_neq(a.q, b.q);
    cr_assert_eq(memcmp(a.v, b.v, 24 * sizeof(double)), 0);
    cr_assert_eq(memcmp(a.beta, b.beta, 6 * sizeof(double)), 0);
    cr_assert_str_eq(b.origin, "test");
    gka_trace_free(&a);
    gka_trace_free(&b);
}

Test(trace, normalize_matches_layer_formula) {
    gka_trace_t tr = {0};
    cr_assert_eq(gka_trace_alloc(&tr, 3, 4, 0), GKA_OK);
    const double rows[4][3] = {{3, 4, 0}, {0, 0, 0}, {1e300, -1e300, 1e300}, {1e-300, 0, 0}};
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 3; i++)
            tr.q[t * 3 + i] = tr.k[t * 3 + i] = rows[t][i];
    gka_trace_normalize(&tr);
    /* Row 0: ||x|| = 5 exactly. */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tr.k[i], rows[0][i] / (5.0 + 1e-6));
    cr_assert(tr.q[3] == 0.0 && tr.q[4] == 0.0 && tr.q[5] == 0.0);
    /* Row 2: no overflow; ||x|| = sqrt(3) 1e300, the 1e-6 is negligible. */
    for (int i = 0; i < 3; i++) {
        cr_assert(isfinite(tr.k[6 + i]));
        cr_assert_float_eq(fabs(tr.k[6 + i]), 1.0 / sqrt(3.0), 1e-15);
    }
    /* Row 3: tiny row: divided by (1e-300 + 1e-6), no underflow of the norm to 0. */
    cr_assert_eq(tr.k[9], 1e-300 / (1e-300 + 1e-6));
    gka_trace_free(&tr);
}

Test(trace, round_q_k_v_only) {
    gka_trace_t tr = {0};
    fill_ok(&tr);
    for (int j = 0; j < 24; j++) {
        tr.q[j] = 1.0 + j * 0x1p-12;
        tr.k[j] = -3.0 - j * 0x1p-11;
        tr.v[j] = 1e-40 * (j + 1); /* bf16 subnormals (min 2^-133 = 9.2e-41): inexact */
    }
    tr.g[1] = -1.0 / 3.0;
    gka_trace_t ref = {0};
    cr_assert_eq(gka_trace_copy(&ref, &tr), GKA_OK);
    gka_rounding_t r = gka_rounding_default(&gka_bf16);
    cr_assert_eq(gka_trace_round(&tr, &r), GKA_OK);
    gka_rounding_t r2 = gka_rounding_default(&gka_bf16);
    int changed = 0;
    for (int j = 0; j < 24; j++) {
        cr_assert_eq(tr.q[j], gka_round(ref.q[j], &r2));
        cr_assert_eq(tr.k[j], gka_round(ref.k[j], &r2));
        cr_assert_eq(tr.v[j], gka_round(ref.v[j], &r2));
        changed += tr.q[j] != ref.q[j];
    }
    cr_assert_gt(changed, 0);
    cr_assert_eq(tr.g[1], -1.0 / 3.0); /* gates untouched */
    cr_assert(r.flags & GKA_FLAG_UNDERFLOW);
    gka_trace_free(&tr);
    gka_trace_free(&ref);
}

Test(trace, f16_decoding_exhaustive) {
#if defined(__FLT16_MAX__)
    for (unsigned b = 0; b < 65536; b++) {
        uint16_t bits = (uint16_t)b;
        _Float16 h;
        memcpy(&h, &bits, sizeof h);
        double want = (double)h, got = gka_f16_bits_to_double(bits);
        if (isnan(want))
            cr_assert(isnan(got), "bits %04x", b);
        else
            cr_assert(got == want && signbit(got) == signbit(want), "bits %04x: %a vs %a", b, got,
                      want);
    }
#endif
    cr_assert_eq(gka_f16_bits_to_double(0x0001), 0x1p-24);
    cr_assert_eq(gka_f16_bits_to_double(0x03ff), 1023 * 0x1p-24);
    cr_assert_eq(gka_f16_bits_to_double(0x0400), 0x1p-14);
    cr_assert_eq(gka_f16_bits_to_double(0x7bff), 65504.0);
    cr_assert_eq(gka_f16_bits_to_double(0xfc00), -INFINITY);
    cr_assert(isnan(gka_f16_bits_to_double(0x7e00)));
    cr_assert(signbit(gka_f16_bits_to_double(0x8000)));
}

Test(trace, bf16_decoding) {
    cr_assert_eq(gka_bf16_bits_to_double(0x3f80), 1.0);
    cr_assert_eq(gka_bf16_bits_to_double(0x0001), 0x1p-133); /* smallest subnormal */
    cr_assert_eq(gka_bf16_bits_to_double(0x0080), 0x1p-126);
    cr_assert_eq(gka_bf16_bits_to_double(0x7f7f), 0x1.fep127);
    cr_assert_eq(gka_bf16_bits_to_double(0xc040), -3.0);
    cr_assert_eq(gka_bf16_bits_to_double(0xff80), -INFINITY);
    cr_assert(isnan(gka_bf16_bits_to_double(0x7fc0)));
    /* Every finite pattern is a float whose low 16 bits are zero. */
    for (unsigned b = 0; b < 65536; b++) {
        double d = gka_bf16_bits_to_double((uint16_t)b);
        if (!isfinite(d)) continue;
        float f = (float)d;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        cr_assert_eq(u, (uint32_t)b << 16);
    }
}

/* A [B=2, T=3, H=2, D=4] float32 array whose element (b, t, h, i) holds
 * 1000 b + 100 t + 10 h + i. */
static float bthd[2 * 3 * 2 * 4];

static gka_array_view_t bthd_view(void) {
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 3; t++)
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 4; i++)
                    bthd[((b * 3 + t) * 2 + h) * 4 + i] = (float)(1000 * b + 100 * t + 10 * h + i);
    gka_array_view_t a = {GKA_DTYPE_F32, 0, 4, {2, 3, 2, 4}, (const unsigned char *)bthd,
                          sizeof bthd,   0};
    return a;
}

Test(trace, array_view_batch_head_selection) {
    gka_array_view_t a = bthd_view();
    for (long b = 0; b < 2; b++)
        for (long h = 0; h < 2; h++) {
            double *x;
            long T;
            int D;
            cr_assert_eq(gka_array_to_double(&a, "f", "k", 1, b, h, &x, &T, &D), GKA_OK);
            cr_assert(T == 3 && D == 4);
            for (int t = 0; t < 3; t++)
                for (int i = 0; i < 4; i++)
                    cr_assert_eq(x[t * 4 + i], 1000.0 * b + 100.0 * t + 10.0 * h + i);
            free(x);
        }
    double *x = NULL;
    long T;
    int D;
    cr_assert_eq(gka_array_to_double(&a, "file.bin", "k", 1, 2, 0, &x, &T, &D), GKA_EINVAL);
    assert_msg_has("file.bin");
    assert_msg_has("b=2");
    cr_assert_eq(gka_array_to_double(&a, "f", "k", 1, 0, -1, &x, &T, &D), GKA_EINVAL);
    assert_msg_has("h=-1");
    /* As gates: rank 4 is not [T] or [B, T, H]. */
    cr_assert_eq(gka_array_to_double(&a, "f", "g", 0, 0, 0, &x, &T, &D), GKA_EINVAL);
    assert_msg_has("[T] or [B, T, H]");
    /* The same bytes as [B=2, T=3, H=8] gates, head 5 of batch 1. */
    gka_array_view_t gv = a;
    gv.ndim = 3;
    gv.shape[2] = 8;
    cr_assert_eq(gka_array_to_double(&gv, "f", "g", 0, 1, 5, &x, &T, &D), GKA_OK);
    cr_assert(T == 3 && D == 1);
    for (int t = 0; t < 3; t++)
        cr_assert_eq(x[t], (double)bthd[(1 * 3 + t) * 8 + 5]);
    free(x);
    /* Byte count not matching the shape. */
    gka_array_view_t bad = a;
    bad.nbytes -= 4;
    cr_assert_eq(gka_array_to_double(&bad, "f", "k", 1, 0, 0, &x, &T, &D), GKA_EFORMAT);
    /* Zero dimension; D above the limit; unsupported dtype. */
    gka_array_view_t z = {GKA_DTYPE_F32, 0, 2, {0, 4}, (const unsigned char *)bthd, 0, 0};
    cr_assert_eq(gka_array_to_double(&z, "f", "k", 1, 0, 0, &x, &T, &D), GKA_EINVAL);
    assert_msg_has("zero");
    static float wide[4097];
    gka_array_view_t w = {GKA_DTYPE_F32, 0, 2, {1, 4097}, (const unsigned char *)wide,
                          sizeof wide,   0};
    cr_assert_eq(gka_array_to_double(&w, "f", "k", 1, 0, 0, &x, &T, &D), GKA_ERANGE);
    gka_array_view_t o = a;
    o.dtype = GKA_DTYPE_OTHER;
    cr_assert_eq(gka_array_to_double(&o, "f", "k", 1, 0, 0, &x, &T, &D), GKA_EINVAL);
}

Test(trace, array_view_big_endian_and_nonfinite) {
    /* 1.5 and -2.25 as big-endian float64, then a big-endian f16 NaN. */
    const unsigned char be64[16] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0x02, 0, 0, 0, 0, 0, 0};
    gka_array_view_t a = {GKA_DTYPE_F64, 1, 1, {2}, be64, 16, 0};
    double *x;
    long T;
    int D;
    cr_assert_eq(gka_array_to_double(&a, "f", "g", 0, 0, 0, &x, &T, &D), GKA_OK);
    cr_assert(x[0] == 1.5 && x[1] == -2.25);
    free(x);
    const unsigned char be16[6] = {0x3c, 0x00, 0x7e, 0x00, 0x00, 0x01};
    gka_array_view_t h = {GKA_DTYPE_F16, 1, 2, {1, 3}, be16, 6, 0};
    cr_assert_eq(gka_array_to_double(&h, "dump.npy", "q", 1, 0, 0, &x, &T, &D), GKA_ENODATA);
    assert_msg_has("dump.npy");
    assert_msg_has("q[t=0,i=1]");
}

static gka_array_view_t rows_view(const double *x, long T, int D) {
    gka_array_view_t a = {GKA_DTYPE_F64,
                          0,
                          2,
                          {(uint64_t)T, (uint64_t)D},
                          (const unsigned char *)x,
                          (size_t)(T * D) * sizeof(double),
                          0};
    return a;
}

Test(trace, views_to_trace_fallbacks_and_mismatch) {
    double k[5 * 3], g[5], g4[4];
    for (int j = 0; j < 15; j++)
        k[j] = j - 7.0;
    for (int t = 0; t < 5; t++)
        g[t] = -0.1 * t;
    gka_array_view_t kv = rows_view(k, 5, 3);
    gka_array_view_t gv = {GKA_DTYPE_F64, 0, 1, {5}, (const unsigned char *)g, sizeof g, 0};
    const gka_array_view_t *views[GKA_ROLE_COUNT] = {NULL, &kv, NULL, &gv, NULL};
    const char *files[GKA_ROLE_COUNT] = {"q.npy", "k.npy", "v.npy", "g.npy", "b.npy"};
    gka_load_options_t opt = gka_load_options_default();
    opt.seed = 42;
    gka_trace_t tr;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "origin-x", &tr), GKA_OK);
    cr_assert_str_eq(tr.origin, "origin-x");
    cr_assert(tr.T == 5 && tr.D == 3 && tr.g && !tr.beta && !tr.v);
    for (int t = 0; t < 5; t++)
        for (int i = 0; i < 3; i++)
            cr_assert_eq(tr.q[t * 3 + i], gka_philox_normal(42, GKA_SYNTH_STREAM_QUERIES,
                                                            (uint64_t)(t * 3 + i) * 2));
    gka_trace_free(&tr);

    opt.missing_queries = GKA_QUERIES_NEXT_KEY;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "", &tr), GKA_OK);
    cr_assert_eq(memcmp(tr.q, k + 3, 12 * sizeof(double)), 0);
    cr_assert_eq(memcmp(tr.q + 12, k + 12, 3 * sizeof(double)), 0);
    gka_trace_free(&tr);

    opt.missing_queries = GKA_QUERIES_LIKE_KEYS;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "", &tr), GKA_EINVAL);
    opt.missing_queries = GKA_QUERIES_IID;

    gka_array_view_t g4v = {GKA_DTYPE_F64, 0, 1, {4}, (const unsigned char *)g4, sizeof g4, 0};
    for (int t = 0; t < 4; t++)
        g4[t] = 0.0;
    views[GKA_ROLE_G] = &g4v;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "", &tr), GKA_EINVAL);
    assert_msg_has("g.npy");
    assert_msg_has("k.npy");
    cr_assert_null(tr.k);

    g[3] = 0.5;
    views[GKA_ROLE_G] = &gv;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "", &tr), GKA_EINVAL);
    assert_msg_has("g.npy: g[t=3]");
    g[3] = -0.3;

    double q[4 * 3] = {0};
    gka_array_view_t qv = rows_view(q, 4, 3);
    views[GKA_ROLE_Q] = &qv;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "", &tr), GKA_EINVAL);
    assert_msg_has("q.npy: q has T=4, D=3");

    views[GKA_ROLE_K] = NULL;
    cr_assert_eq(gka_trace_from_views(views, files, &opt, "", &tr), GKA_EINVAL);
    assert_msg_has("missing");
}

Test(trace, read_file) {
    char path[] = "/tmp/gka_test_trace_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unsigned char bytes[300000];
    for (size_t j = 0; j < sizeof bytes; j++)
        bytes[j] = (unsigned char)(j * 7 + 3);
    cr_assert_eq(write(fd, bytes, sizeof bytes), (ssize_t)sizeof bytes);
    close(fd);
    unsigned char *data;
    size_t len;
    cr_assert_eq(gka_read_file(path, &data, &len), GKA_OK);
    cr_assert_eq(len, sizeof bytes);
    cr_assert_eq(memcmp(data, bytes, len), 0);
    free(data);
    unlink(path);
    cr_assert_eq(gka_read_file(path, &data, &len), GKA_EIO);
    assert_msg_has(path);
    cr_assert_eq(gka_read_file("/tmp", &data, &len), GKA_EIO); /* a directory */
    assert_msg_has("/tmp: read error");
}
