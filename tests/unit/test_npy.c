/* The .npy loader (solvers/npy.c) against a reference writer in this file
 * that produces byte-for-byte what numpy.save writes (format.py:
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", space
 * padded to a multiple of 64 bytes, then '\n'). Round trips for every dtype
 * and byte order, both shapes, batch/head selection, format versions 1-3;
 * each malformed class rejected with its status code and the file name in
 * the message; every truncation and single-byte mutation of a valid file
 * handled without a crash. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gka_data.h"

/* ------------------------------------------------------------------------ */
/* Reference writer                                                         */
/* ------------------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes_t;

static void put(bytes_t *b, const void *src, size_t n) {
    b->p = realloc(b->p, b->n + n + 1);
    cr_assert_not_null(b->p);
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

/* A file with a given header text (padding and '\n' added as numpy does
 * when pad is set) and raw data. */
static bytes_t npy_raw(int major, const char *header, int pad, const void *data, size_t nbytes) {
    bytes_t b = {NULL, 0};
    size_t pre = major == 1 ? 10 : 12, hl = strlen(header);
    size_t total = pre + hl + (pad ? 1 : 0);
    size_t spaces = pad ? (64 - total % 64) % 64 : 0;
    size_t hlen = hl + spaces + (pad ? 1 : 0);
    unsigned char magic[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    for (size_t j = 0; j < (major == 1 ? 2u : 4u); j++)
        magic[8 + j] = (unsigned char)(hlen >> (8 * j));
    put(&b, magic, pre);
    put(&b, header, hl);
    for (size_t j = 0; j < spaces; j++)
        put(&b, " ", 1);
    if (pad) put(&b, "\n", 1);
    if (nbytes) put(&b, data, nbytes);
    return b;
}

static void header_text(char *out, size_t size, const char *descr, int fortran,
                        const uint64_t *shape, int ndim) {
    char s[256] = "";
    for (int j = 0; j < ndim; j++)
        snprintf(s + strlen(s), sizeof s - strlen(s), "%s%llu", j ? ", " : "",
                 (unsigned long long)shape[j]);
    if (ndim == 1) strcat(s, ",");
    snprintf(out, size, "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr,
             fortran ? "True" : "False", s);
}

/* Encode doubles (already exact in the dtype) as descr ("<f2", ">f8", ...). */
static unsigned char *encode(const double *x, size_t n, const char *descr, size_t *nbytes) {
    size_t es = (size_t)(descr[2] - '0');
    int big = descr[0] == '>';
    unsigned char *out = malloc(n * es + 1);
    for (size_t j = 0; j < n; j++) {
        unsigned char le[8];
        if (es == 2) {
            _Float16 h = (_Float16)x[j];
            memcpy(le, &h, 2);
        } else if (es == 4) {
            float f = (float)x[j];
            memcpy(le, &f, 4);
        } else {
            memcpy(le, &x[j], 8);
        }
        for (size_t k = 0; k < es; k++)
            out[j * es + k] = big ? le[es - 1 - k] : le[k];
    }
    *nbytes = n * es;
    return out;
}

static bytes_t npy_file(int major, const char *descr, const uint64_t *shape, int ndim,
                        const double *x) {
    size_t n = 1;
    for (int j = 0; j < ndim; j++)
        n *= shape[j];
    char h[512];
    header_text(h, sizeof h, descr, 0, shape, ndim);
    size_t nbytes;
    unsigned char *data = encode(x, n, descr, &nbytes);
    bytes_t b = npy_raw(major, h, 1, data, nbytes);
    free(data);
    return b;
}

/* Values exactly representable in the dtype: for f2 they include
 * subnormals (multiples of 2^-24 below 2^-14) and large values. */
static double exact_value(char kind, size_t j, uint64_t seed) {
    double z = gka_philox_normal(seed, 99, j * 2);
    if (kind == '2') {
        if (j % 5 == 0)
            z = ldexp((double)(j % 1023 + 1), -24) * (j % 2 ? -1 : 1); /* subnormal */
        else if (j % 7 == 0)
            z = 60000.0 * (z > 0 ? 1 : -1);
        return (double)(_Float16)z;
    }
    if (kind == '4') return (double)(float)(z * 1e3);
    return z;
}

static double *values(size_t n, char kind, uint64_t seed) {
    double *x = malloc(n * sizeof *x);
    for (size_t j = 0; j < n; j++)
        x[j] = exact_value(kind, j, seed);
    return x;
}

static void assert_msg_has(const char *needle) {
    cr_assert(strstr(gka_error_message(), needle), "message '%s' lacks '%s'", gka_error_message(),
              needle);
}

static gka_status_t load_keys(const bytes_t *b, const char *name, gka_trace_t *tr) {
    gka_npy_buffers_t in = {0};
    in.keys = (gka_buffer_t){b->p, b->n, name};
    return gka_trace_from_npy_buffers(&in, NULL, tr);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

Test(npy, roundtrip_all_dtypes_versions_2d) {
    const char *descrs[] = {"<f2", "<f4", "<f8", ">f2", ">f4", ">f8"};
    const uint64_t shape[2] = {7, 5};
    for (int d = 0; d < 6; d++)
        for (int major = 1; major <= 3; major++) {
            double *k = values(35, descrs[d][2], (uint64_t)d);
            double *q = values(35, descrs[d][2], 100u + (uint64_t)d);
            bytes_t kb = npy_file(major, descrs[d], shape, 2, k);
            bytes_t qb = npy_file(major, descrs[d], shape, 2, q);
            cr_assert_eq(kb.n % 64, 35 * (size_t)(descrs[d][2] - '0') % 64,
                         "header not 64-aligned");
            gka_npy_buffers_t in = {0};
            in.keys = (gka_buffer_t){kb.p, kb.n, "k.npy"};
            in.queries = (gka_buffer_t){qb.p, qb.n, "q.npy"};
            gka_trace_t tr;
            cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_OK, "%s v%d: %s",
                         descrs[d], major, gka_error_message());
            cr_assert(tr.T == 7 && tr.D == 5);
            for (int j = 0; j < 35; j++) {
                cr_assert_eq(tr.k[j], k[j], "%s v%d [%d]", descrs[d], major, j);
                cr_assert_eq(tr.q[j], q[j]);
            }
            cr_assert_str_eq(tr.origin, "npy:k.npy[b=0,h=0]");
            gka_trace_free(&tr);
            free(kb.p), free(qb.p), free(k), free(q);
        }
}

/* Element (b, t, h, i) of the [B, T, H, D] arrays. */
static double bthd(int b, int t, int h, int i) {
    return (double)(_Float16)(b * 8 + t * 0.25 + h * 2 + i * 0.0625 - 3);
}

Test(npy, roundtrip_batched_selection_files) {
    enum { B = 2, T = 5, H = 3, D = 4 };
    double k[B * T * H * D], v[B * T * H * D], g[B * T * H], beta[T];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < D; i++) {
                    k[((b * T + t) * H + h) * D + i] = bthd(b, t, h, i);
                    v[((b * T + t) * H + h) * D + i] = -bthd(b, t, h, i);
                }
                g[(b * T + t) * H + h] = -0.125 * (b + t + h);
            }
    for (int t = 0; t < T; t++)
        beta[t] = 0.25 + 0.125 * t;
    const uint64_t s4[4] = {B, T, H, D}, s3[3] = {B, T, H}, s1[1] = {T};
    bytes_t files[4] = {npy_file(1, "<f2", s4, 4, k), npy_file(2, ">f8", s4, 4, v),
                        npy_file(1, "<f4", s3, 3, g), npy_file(3, "<f8", s1, 1, beta)};
    char dir[] = "/tmp/gka_test_npy_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char paths[4][128];
    const char *names[4] = {"keys.npy", "values.npy", "gates.npy", "beta.npy"};
    for (int f = 0; f < 4; f++) {
        snprintf(paths[f], sizeof paths[f], "%s/%s", dir, names[f]);
        FILE *fp = fopen(paths[f], "wb");
        cr_assert_eq(fwrite(files[f].p, 1, files[f].n, fp), files[f].n);
        fclose(fp);
    }
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            gka_npy_paths_t p = {
                .keys = paths[0], .values = paths[1], .gates = paths[2], .beta = paths[3]};
            gka_load_options_t o = gka_load_options_default();
            o.batch = b;
            o.head = h;
            gka_trace_t tr;
            cr_assert_eq(gka_trace_load_npy_paths(&p, &o, &tr), GKA_OK, "%s", gka_error_message());
            cr_assert(tr.T == T && tr.D == D && tr.v && tr.g && tr.beta);
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < D; i++) {
                    cr_assert_eq(tr.k[t * D + i], bthd(b, t, h, i));
                    cr_assert_eq(tr.v[t * D + i], -bthd(b, t, h, i));
                }
                cr_assert_eq(tr.g[t], -0.125 * (b + t + h));
                cr_assert_eq(tr.beta[t], 0.25 + 0.125 * t); /* [T] serves every (b, h) */
            }
            gka_trace_free(&tr);
        }
    /* Short form; out-of-range head names the file. */
    gka_trace_t tr;
    cr_assert_eq(gka_trace_load_npy(paths[0], NULL, paths[2], NULL, 1, 2, &tr), GKA_OK);
    cr_assert_eq(tr.k[3], bthd(1, 0, 2, 3));
    gka_trace_free(&tr);
    cr_assert_eq(gka_trace_load_npy(paths[0], NULL, NULL, NULL, 0, 3, &tr), GKA_EINVAL);
    assert_msg_has("keys.npy");
    assert_msg_has("h=3");
    cr_assert_eq(gka_trace_load_npy("/nonexistent/k.npy", NULL, NULL, NULL, 0, 0, &tr), GKA_EIO);
    assert_msg_has("/nonexistent/k.npy");
    for (int f = 0; f < 4; f++) {
        unlink(paths[f]);
        free(files[f].p);
    }
    rmdir(dir);
}

Test(npy, python2_long_suffix_and_spacing_accepted) {
    const double x[2] = {1.0, 2.0};
    bytes_t b =
        npy_raw(1, "{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(1L,2L)}", 1, x, sizeof x);
    gka_trace_t tr;
    cr_assert_eq(load_keys(&b, "py2.npy", &tr), GKA_OK, "%s", gka_error_message());
    cr_assert(tr.T == 1 && tr.D == 2 && tr.k[1] == 2.0);
    gka_trace_free(&tr);
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* Malformed files                                                          */
/* ------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *what;
    int major;
    const char *header;
    int pad;
    size_t nbytes; /* data bytes appended (zeros) */
    gka_status_t want;
    const char *msg; /* substring expected in the message besides the file name */
} bad_case_t;

#define H2(descr, fo, shape) "{'descr': '" descr "', 'fortran_order': " fo ", 'shape': " shape ", }"

static const bad_case_t bad_cases[] = {
    {"fortran order", 1, H2("<f4", "True", "(2, 3)"), 1, 24, GKA_EINVAL, "fortran"},
    {"integer dtype", 1, H2("<i4", "False", "(2, 3)"), 1, 24, GKA_EINVAL, "dtype '<i4'"},
    {"complex dtype", 1, H2("<c8", "False", "(2, 3)"), 1, 48, GKA_EINVAL, "dtype"},
    {"native-order descr", 1, H2("=f4", "False", "(2, 3)"), 1, 24, GKA_EINVAL, "dtype"},
    {"f16 as f16 longdouble", 1, H2("<f16", "False", "(2, 3)"), 1, 96, GKA_EINVAL, "dtype"},
    {"structured dtype", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 1,
     8, GKA_EINVAL, "structured"},
    {"truncated data", 1, H2("<f4", "False", "(2, 3)"), 1, 23, GKA_EFORMAT, "truncated data"},
    {"trailing bytes", 1, H2("<f4", "False", "(2, 3)"), 1, 25, GKA_EFORMAT, "trailing"},
    {"no newline", 1, H2("<f4", "False", "(2, 3)"), 0, 24, GKA_EFORMAT, "newline"},
    {"missing key", 1, "{'descr': '<f4', 'shape': (2, 3), }", 1, 24, GKA_EFORMAT,
     "exactly the keys"},
    {"duplicate key", 1,
     "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 1, 24,
     GKA_EFORMAT, "duplicate key 'descr'"},
    {"unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", 1, 24,
     GKA_EFORMAT, "unknown key 'x'"},
    {"not a dict", 1, "['descr', '<f4']", 1, 0, GKA_EFORMAT, "not a dict"},
    {"shape not a tuple", 1, H2("<f4", "False", "(6)"), 1, 24, GKA_EFORMAT, "not a tuple"},
    {"shape is a list", 1, H2("<f4", "False", "[2, 3]"), 1, 24, GKA_EFORMAT, "not a tuple"},
    {"negative dimension", 1, H2("<f4", "False", "(-2, 3)"), 1, 24, GKA_EFORMAT, "integer"},
    {"leading zero", 1, H2("<f4", "False", "(02, 3)"), 1, 24, GKA_EFORMAT, "leading zero"},
    {"bad bool", 1, H2("<f4", "false", "(2, 3)"), 1, 24, GKA_EFORMAT, "True or False"},
    {"unterminated string", 1, "{'descr: '<f4', }", 1, 0, GKA_EFORMAT, "header"},
    {"escape in string", 1, "{'des\\cr': '<f4', }", 1, 0, GKA_EFORMAT, "escape"},
    {"garbage after dict", 1, H2("<f4", "False", "(2, 3)") " x", 1, 24, GKA_EFORMAT,
     "after the dict"},
    {"dimension overflow", 1, H2("<f4", "False", "(99999999999999999999, 3)"), 1, 0, GKA_ERANGE,
     "overflow"},
    {"byte count overflow", 1, H2("<f8", "False", "(4611686018427387904, 8)"), 1, 0, GKA_ERANGE,
     "bytes"},
    {"too many dimensions", 1, H2("<f4", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 1, 4, GKA_ERANGE,
     "dimensions"},
    {"rank 3 keys", 1, H2("<f4", "False", "(1, 2, 3)"), 1, 24, GKA_EINVAL,
     "[T, D] or [B, T, H, D]"},
    {"rank 1 keys", 1, H2("<f4", "False", "(6,)"), 1, 24, GKA_EINVAL, "[T, D]"},
    {"zero T", 1, H2("<f4", "False", "(0, 3)"), 1, 0, GKA_EINVAL, "zero"},
    {"D above limit", 1, H2("<f2", "False", "(1, 4097)"), 1, 8194, GKA_ERANGE, "D=4097"},
    {"version 4", 4, H2("<f4", "False", "(2, 3)"), 1, 24, GKA_EFORMAT, "version 4.0"},
};

Test(npy, malformed_classes_rejected) {
    unsigned char zeros[8200] = {0};
    for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
        const bad_case_t *bc = &bad_cases[c];
        bytes_t b = npy_raw(bc->major, bc->header, bc->pad, zeros, bc->nbytes);
        char name[80];
        snprintf(name, sizeof name, "case%zu.npy", c);
        gka_trace_t tr;
        gka_status_t st = load_keys(&b, name, &tr);
        cr_expect_eq(st, bc->want, "%s: status %d, want %d (%s)", bc->what, st, bc->want,
                     gka_error_message());
        cr_expect(strstr(gka_error_message(), name), "%s: '%s' lacks the file name", bc->what,
                  gka_error_message());
        cr_expect(strstr(gka_error_message(), bc->msg), "%s: '%s' lacks '%s'", bc->what,
                  gka_error_message(), bc->msg);
        cr_assert_null(tr.k);
        free(b.p);
    }
}

Test(npy, malformed_preamble) {
    gka_trace_t tr;
    const double x[6] = {0};
    bytes_t good = npy_file(1, "<f8", (const uint64_t[]){2, 3}, 2, x);
    /* bad magic */
    good.p[1] = 'n';
    cr_assert_eq(load_keys(&good, "m.npy", &tr), GKA_EFORMAT);
    assert_msg_has("m.npy: not a .npy file (bad magic)");
    good.p[1] = 'N';
    /* minor version 1 */
    good.p[7] = 1;
    cr_assert_eq(load_keys(&good, "m.npy", &tr), GKA_EFORMAT);
    assert_msg_has("version 1.1");
    good.p[7] = 0;
    /* header length beyond the file */
    good.p[8] = 0xff, good.p[9] = 0x7f;
    cr_assert_eq(load_keys(&good, "m.npy", &tr), GKA_EFORMAT);
    assert_msg_has("truncated header");
    free(good.p);
    /* v2 header length above the 1 MiB cap */
    unsigned char big[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0x01, 0x00, 0x10, 0x00};
    bytes_t b = {big, sizeof big};
    cr_assert_eq(load_keys(&b, "big.npy", &tr), GKA_ERANGE);
    assert_msg_has("big.npy");
    /* empty file and NULL data with a name */
    bytes_t e = {(unsigned char *)"", 0};
    cr_assert_eq(load_keys(&e, "empty.npy", &tr), GKA_EFORMAT);
    assert_msg_has("empty.npy");
}

Test(npy, nonfinite_and_bad_gates_rejected) {
    const uint64_t s[2] = {3, 2};
    double k[6] = {1, 2, 3, 4, 5, 6};
    for (int which = 0; which < 3; which++) {
        double kk[6];
        memcpy(kk, k, sizeof kk);
        kk[3] = which == 0 ? NAN : which == 1 ? INFINITY : -INFINITY;
        const char *descr = which == 0 ? "<f2" : which == 1 ? ">f4" : "<f8";
        bytes_t b = npy_file(1, descr, s, 2, kk);
        gka_trace_t tr;
        cr_assert_eq(load_keys(&b, "nan.npy", &tr), GKA_ENODATA);
        assert_msg_has("nan.npy: k[t=1,i=1]");
        free(b.p);
    }
    const uint64_t s1[1] = {3};
    const double g[3] = {-0.5, 0.25, 0.0}, beta[3] = {0.5, 1.0, 1.5};
    bytes_t kb = npy_file(1, "<f8", s, 2, k), gb = npy_file(1, "<f8", s1, 1, g),
            bb = npy_file(1, "<f8", s1, 1, beta);
    gka_npy_buffers_t in = {0};
    in.keys = (gka_buffer_t){kb.p, kb.n, "k.npy"};
    in.gates = (gka_buffer_t){gb.p, gb.n, "g.npy"};
    gka_trace_t tr;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("g.npy: g[t=1]");
    in.gates.data = NULL;
    in.beta = (gka_buffer_t){bb.p, bb.n, "b.npy"};
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("b.npy: beta[t=2]");
    /* queries with another D */
    const uint64_t s32[2] = {3, 3};
    double q9[9] = {0};
    bytes_t qb = npy_file(1, "<f8", s32, 2, q9);
    in.beta.data = NULL;
    in.queries = (gka_buffer_t){qb.p, qb.n, "q.npy"};
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("q.npy: q has T=3, D=3 but k.npy: k has T=3, D=2");
    /* gates with the shape of rows */
    in.queries.data = NULL;
    in.gates = (gka_buffer_t){kb.p, kb.n, "g2.npy"};
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("g2.npy: g has shape [3, 2]");
    /* no keys */
    in.keys.data = NULL;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    free(kb.p), free(gb.p), free(bb.p), free(qb.p);
}

/* ------------------------------------------------------------------------ */
/* Truncation and mutation                                                  */
/* ------------------------------------------------------------------------ */

static bytes_t small_valid_file(void) {
    const uint64_t s[4] = {1, 3, 2, 2};
    double x[12];
    for (int j = 0; j < 12; j++)
        x[j] = j - 5.5;
    return npy_file(1, "<f4", s, 4, x);
}

Test(npy, every_truncation_rejected) {
    bytes_t full = small_valid_file();
    gka_trace_t tr;
    cr_assert_eq(load_keys(&full, "full.npy", &tr), GKA_OK);
    gka_trace_free(&tr);
    for (size_t len = 0; len < full.n; len++) {
        /* An exact-size copy so that a sanitizer build sees any overread. */
        unsigned char *p = malloc(len ? len : 1);
        memcpy(p, full.p, len);
        bytes_t cut = {p, len};
        gka_status_t st = load_keys(&cut, "cut.npy", &tr);
        cr_assert(st == GKA_EFORMAT, "length %zu: status %d (%s)", len, st, gka_error_message());
        cr_assert(strstr(gka_error_message(), "cut.npy"));
        free(p);
    }
    free(full.p);
}

Test(npy, every_byte_mutation_handled) {
    bytes_t full = small_valid_file();
    static const unsigned char subst[] = {0x00, 0xff, '9', ',', ')', '\'', ' ', '\n', 0x7f, '('};
    long accepted = 0, rejected = 0;
    for (size_t pos = 0; pos < full.n; pos++)
        for (size_t s = 0; s < sizeof subst; s++) {
            unsigned char *p = malloc(full.n);
            memcpy(p, full.p, full.n);
            p[pos] = subst[s];
            bytes_t m = {p, full.n};
            gka_trace_t tr;
            gka_status_t st = load_keys(&m, "mut.npy", &tr);
            if (st == GKA_OK) {
                accepted++;
                cr_assert_eq(gka_trace_validate(&tr), GKA_OK);
                gka_trace_free(&tr);
            } else {
                rejected++;
                cr_assert(strstr(gka_error_message(), "mut.npy"), "pos %zu: %s", pos,
                          gka_error_message());
                cr_assert_null(tr.k);
            }
            free(p);
        }
    free(full.p);
    cr_assert_gt(accepted, 0); /* data-byte mutations are valid files */
    cr_assert_gt(rejected, 0);
}

/* ------------------------------------------------------------------------ */
/* Committed fixtures written by an independent writer (Python struct)      */
/* ------------------------------------------------------------------------ */

#define FIXTURE(name) GKA_SOURCE_DIR "/tests/data/traces/" name

static double fixture_k(int b, int t, int h, int i) {
    return (b * 100 + t * 10 + h * 4 + i) / 8.0 - 3;
}

Test(npy, python_written_fixtures) {
    const char *keys[2] = {FIXTURE("k_bthd_f16.npy"), FIXTURE("k_bthd_f32be.npy")};
    for (int f = 0; f < 2; f++)
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++) {
                gka_trace_t tr;
                cr_assert_eq(gka_trace_load_npy(keys[f], NULL, FIXTURE("g_bth_f32.npy"),
                                                FIXTURE("beta_t_f64.npy"), b, h, &tr),
                             GKA_OK, "%s", gka_error_message());
                cr_assert(tr.T == 5 && tr.D == 4);
                for (int t = 0; t < 5; t++) {
                    for (int i = 0; i < 4; i++)
                        cr_assert_eq(tr.k[t * 4 + i], fixture_k(b, t, h, i));
                    cr_assert_eq(tr.g[t], -(b + t + h) / 16.0);
                    cr_assert_eq(tr.beta[t], (t + 1) / 8.0);
                }
                gka_trace_free(&tr);
            }
    gka_trace_t tr;
    cr_assert_eq(
        gka_trace_load_npy(FIXTURE("k_td_f64.npy"), FIXTURE("k_td_f64.npy"), NULL, NULL, 0, 0, &tr),
        GKA_OK, "%s", gka_error_message());
    for (int t = 0; t < 5; t++)
        for (int i = 0; i < 4; i++)
            cr_assert(tr.k[t * 4 + i] == fixture_k(1, t, 2, i) &&
                      tr.q[t * 4 + i] == tr.k[t * 4 + i]);
    gka_trace_free(&tr);
    /* [T, D] keys with [B, T, H, D] queries (b = h = 0): same T, D, accepted. */
    cr_assert_eq(gka_trace_load_npy(FIXTURE("k_td_f64.npy"), FIXTURE("k_bthd_f16.npy"), NULL, NULL,
                                    0, 0, &tr),
                 GKA_OK);
    cr_assert_eq(tr.q[5], fixture_k(0, 1, 0, 1));
    gka_trace_free(&tr);
    /* A [T] file given as queries: the file and the shape are named. */
    cr_assert_eq(gka_trace_load_npy(FIXTURE("k_td_f64.npy"), FIXTURE("beta_t_f64.npy"), NULL, NULL,
                                    0, 0, &tr),
                 GKA_EINVAL);
    assert_msg_has("beta_t_f64.npy: q has shape [5]");
}
