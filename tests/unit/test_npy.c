/* The .npy loader (experiments/data/npy.c) against a reference writer in this file
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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
    in.keys = (gka_buffer_t){b->p, b->n, name, NULL};
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
            in.keys = (gka_buffer_t){kb.p, kb.n, "k.npy", NULL};
            in.queries = (gka_buffer_t){qb.p, qb.n, "q.npy", NULL};
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
    {"2-byte records, no dtype named", 1, H2("<V2", "False", "(2, 3)"), 1, 12, GKA_EINVAL, ":bf16"},
    {"integer dtype", 1, H2("<i4", "False", "(2, 3)"), 1, 24, GKA_EINVAL, "unsupported dtype"},
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
    in.keys = (gka_buffer_t){kb.p, kb.n, "k.npy", NULL};
    in.gates = (gka_buffer_t){gb.p, gb.n, "g.npy", NULL};
    gka_trace_t tr;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("g.npy: g[t=1]");
    in.gates.data = NULL;
    in.beta = (gka_buffer_t){bb.p, bb.n, "b.npy", NULL};
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("b.npy: beta[t=2]");
    /* queries with another D */
    const uint64_t s32[2] = {3, 3};
    double q9[9] = {0};
    bytes_t qb = npy_file(1, "<f8", s32, 2, q9);
    in.beta.data = NULL;
    in.queries = (gka_buffer_t){qb.p, qb.n, "q.npy", NULL};
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("q.npy: q has T=3, D=3 but k.npy: k has T=3, D=2");
    /* gates with the shape of rows */
    in.queries.data = NULL;
    in.gates = (gka_buffer_t){kb.p, kb.n, "g2.npy", NULL};
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

/* ------------------------------------------------------------------------ */
/* Fortran order, named dtypes (bf16 as numpy + ml_dtypes writes it)         */
/* ------------------------------------------------------------------------ */

/* A [T, D] f8 file in Fortran order: element (t, i) stored at i * T + t. */
Test(npy, fortran_order_2d_and_batched) {
    enum { T = 5, D = 3 };
    double c[T * D], f[T * D];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < D; i++) {
            c[t * D + i] = 10 * t + i + 0.5;
            f[i * T + t] = c[t * D + i];
        }
    char h[256];
    header_text(h, sizeof h, "<f8", 1, (const uint64_t[]){T, D}, 2);
    bytes_t b = npy_raw(1, h, 1, f, sizeof f);
    gka_trace_t tr;
    cr_assert_eq(load_keys(&b, "f.npy", &tr), GKA_OK, "%s", gka_error_message());
    cr_assert(tr.T == T && tr.D == D);
    for (int j = 0; j < T * D; j++)
        cr_assert_eq(tr.k[j], c[j], "element %d", j);
    gka_trace_free(&tr);
    free(b.p);
    /* [B, T, H, D] = [2, 3, 2, 2] in Fortran order: (b, t, h, i) at
     * b + 2 (t + 3 (h + 2 i)); select b = 1, h = 1 */
    double bf[24];
    for (int bb = 0; bb < 2; bb++)
        for (int t = 0; t < 3; t++)
            for (int hh = 0; hh < 2; hh++)
                for (int i = 0; i < 2; i++)
                    bf[bb + 2 * (t + 3 * (hh + 2 * i))] = 1000 * bb + 100 * t + 10 * hh + i;
    header_text(h, sizeof h, "<f8", 1, (const uint64_t[]){2, 3, 2, 2}, 4);
    b = npy_raw(1, h, 1, bf, sizeof bf);
    gka_npy_buffers_t in = {0};
    in.keys = (gka_buffer_t){b.p, b.n, "bf.npy", NULL};
    gka_load_options_t o = gka_load_options_default();
    o.batch = 1, o.head = 1;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, &o, &tr), GKA_OK, "%s", gka_error_message());
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 2; i++)
            cr_assert_eq(tr.k[t * 2 + i], 1000 + 100 * t + 10 + i);
    gka_trace_free(&tr);
    free(b.p);
}

/* bf16 bits b: the value is the float with b in its upper half. */
static double bf16_value(uint16_t bits) {
    uint32_t u = (uint32_t)bits << 16;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

Test(npy, bf16_records_read_as_named) {
    enum { T = 4, D = 2 };
    uint16_t bits[T * D] = {0x3f80, 0xbf80, 0x4049, 0x0001, 0x7f7f, 0x8000, 0x3e4d, 0xc2f6};
    const char *descrs[] = {"<V2", "|V2", "<u2", "<i2"};
    for (size_t d = 0; d < 4; d++) {
        char h[256];
        header_text(h, sizeof h, descrs[d], 0, (const uint64_t[]){T, D}, 2);
        bytes_t b = npy_raw(1, h, 1, bits, sizeof bits);
        gka_npy_buffers_t in = {0};
        in.keys = (gka_buffer_t){b.p, b.n, "k.npy", "bf16"};
        gka_trace_t tr;
        cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_OK, "%s: %s", descrs[d],
                     gka_error_message());
        for (int j = 0; j < T * D; j++)
            cr_assert_eq(tr.k[j], bf16_value(bits[j]), "%s element %d", descrs[d], j);
        gka_trace_free(&tr);
        /* unnamed: refused, saying how to name it */
        in.keys.dtype = NULL;
        cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
        assert_msg_has("k.npy:bf16");
        /* a 4-byte type named for 2-byte records */
        in.keys.dtype = "f32";
        cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
        assert_msg_has("2-byte");
        free(b.p);
    }
    /* A float descr that contradicts the named dtype is refused, not reinterpreted;
     * naming the file's own dtype is accepted. */
    const double x[4] = {1, 2, 3, 4};
    bytes_t f4 = npy_file(1, "<f4", (const uint64_t[]){2, 2}, 2, x);
    gka_npy_buffers_t in = {0};
    in.keys = (gka_buffer_t){f4.p, f4.n, "k4.npy", "bf16"};
    gka_trace_t tr;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("'<f4' (f32), not bf16");
    in.keys.dtype = "float32";
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(tr.k[3], 4.0);
    gka_trace_free(&tr);
    in.keys.dtype = "int8";
    cr_assert_eq(gka_trace_from_npy_buffers(&in, NULL, &tr), GKA_EINVAL);
    assert_msg_has("unknown dtype 'int8'");
    free(f4.p);
}

Test(npy, spec_split) {
    char path[64];
    const char *dt;
    cr_assert_eq(gka_npy_spec_split("k.npy:bf16", path, sizeof path, &dt), 1);
    cr_assert_str_eq(path, "k.npy");
    cr_assert_str_eq(dt, "bf16");
    cr_assert_eq(gka_npy_spec_split("dir:x/k.npy", path, sizeof path, &dt), 1);
    cr_assert_str_eq(path, "dir:x/k.npy");
    cr_assert_null(dt);
    cr_assert_eq(gka_npy_spec_split("k.npy:int8", path, sizeof path, &dt), 0); /* not a dtype */
    cr_assert_eq(gka_npy_spec_split("powerlaw:1", path, sizeof path, &dt), 0);
    cr_assert_eq(gka_npy_spec_split("k.safetensors:bf16", path, sizeof path, &dt), 0);
    cr_assert_eq(gka_npy_spec_split("abcdefgh.npy", path, 8, &dt), 0); /* does not fit */
}

/* ------------------------------------------------------------------------ */
/* Options: --D against the file, fallback queries reported                 */
/* ------------------------------------------------------------------------ */

Test(npy, expect_D_and_queries_fallback) {
    const double x[6] = {1, 2, 3, 4, 5, 6};
    bytes_t k = npy_file(1, "<f8", (const uint64_t[]){2, 3}, 2, x);
    gka_npy_buffers_t in = {0};
    in.keys = (gka_buffer_t){k.p, k.n, "k.npy", NULL};
    gka_load_options_t o = gka_load_options_default();
    o.expect_D = 64;
    gka_trace_t tr;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, &o, &tr), GKA_EINVAL);
    assert_msg_has("k.npy: k has D=3 but D=64 was asked for");
    cr_assert_null(tr.k);
    o.expect_D = 3;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, &o, &tr), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(tr.queries_fallback, 1);
    gka_trace_free(&tr);
    in.queries = in.keys;
    cr_assert_eq(gka_trace_from_npy_buffers(&in, &o, &tr), GKA_OK);
    cr_assert_eq(tr.queries_fallback, 0);
    gka_trace_free(&tr);
    free(k.p);
}

/* ------------------------------------------------------------------------ */
/* Reads bounded by the header                                              */
/* ------------------------------------------------------------------------ */

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void tmp_path(char *out, size_t n, const char *leaf) {
    snprintf(out, n, "/tmp/gka_test_npy_%ld_%s", (long)getpid(), leaf);
}

/* A symlink to /dev/zero as keys: an error naming the file, at once. */
Test(npy, endless_zero_stream_fails_fast) {
    char link[256];
    tmp_path(link, sizeof link, "zero.npy");
    unlink(link);
    cr_assert_eq(symlink("/dev/zero", link), 0);
    double t0 = seconds();
    gka_trace_t tr;
    gka_status_t st = gka_trace_load_npy(link, NULL, NULL, NULL, 0, 0, &tr);
    double dt = seconds() - t0;
    unlink(link);
    cr_assert_eq(st, GKA_EFORMAT, "%s", gka_error_message());
    assert_msg_has(link);
    cr_assert_lt(dt, 1.0, "took %.2f s", dt);
}

/* A FIFO fed a valid header and then zeros without end: the loader reads the
 * shape's bytes plus one and stops with "more bytes than the header
 * describes" (the old reader read until 64 GiB). */
Test(npy, endless_stream_after_valid_header_fails_fast) {
    char fifo[256];
    tmp_path(fifo, sizeof fifo, "fifo.npy");
    unlink(fifo);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    const double x[6] = {0};
    bytes_t b = npy_file(1, "<f8", (const uint64_t[]){2, 3}, 2, x);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        FILE *w = fopen(fifo, "wb");
        if (!w) _exit(1);
        fwrite(b.p, 1, b.n, w);
        static unsigned char zeros[65536];
        while (fwrite(zeros, 1, sizeof zeros, w) == sizeof zeros)
            ;
        _exit(0);
    }
    double t0 = seconds();
    unsigned char *data = NULL;
    size_t len = 0;
    gka_status_t st = gka_npy_read_file(fifo, NULL, &data, &len);
    double dt = seconds() - t0;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", gka_error_message());
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(fifo);
    free(b.p);
    cr_assert_eq(st, GKA_EFORMAT, "%s", msg);
    cr_assert(strstr(msg, fifo) && strstr(msg, "more bytes than the header describes"), "%s", msg);
    cr_assert_null(data);
    cr_assert_lt(dt, 2.0, "took %.2f s", dt);
}

/* Files on disk: exact, truncated and with a trailing byte. */
Test(npy, bounded_read_of_regular_files) {
    const double x[6] = {1, 2, 3, 4, 5, 6};
    bytes_t b = npy_file(2, "<f8", (const uint64_t[]){2, 3}, 2, x);
    char path[256];
    tmp_path(path, sizeof path, "k.npy");
    for (int variant = 0; variant < 3; variant++) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        size_t n = variant == 1 ? b.n - 1 : b.n;
        fwrite(b.p, 1, n, f);
        if (variant == 2) fputc(0, f);
        fclose(f);
        unsigned char *data = NULL;
        size_t len = 0;
        gka_status_t st = gka_npy_read_file(path, NULL, &data, &len);
        if (variant == 0) {
            cr_assert_eq(st, GKA_OK, "%s", gka_error_message());
            cr_assert_eq(len, b.n);
            cr_assert_eq(memcmp(data, b.p, b.n), 0);
        } else {
            /* truncation reads what is there (the parser names it); one
             * byte too many is refused here, counted from the file size */
            if (variant == 1) {
                cr_assert_eq(st, GKA_OK);
                gka_array_view_t v;
                cr_assert_eq(gka_npy_parse(data, len, path, &v), GKA_EFORMAT);
                assert_msg_has("truncated data");
            } else {
                cr_assert_eq(st, GKA_EFORMAT);
                assert_msg_has("1 trailing bytes after the data");
            }
        }
        free(data);
    }
    unlink(path);
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* Files written by numpy and ml_dtypes themselves (skipped without them)   */
/* ------------------------------------------------------------------------ */

Test(npy, numpy_ml_dtypes_written_files) {
    if (system("python3 -c 'import numpy, ml_dtypes' >/dev/null 2>&1") != 0)
        cr_skip_test("python3 with numpy and ml_dtypes not available: numpy-written files not "
                     "checked");
    char dir[256];
    tmp_path(dir, sizeof dir, "py");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && cd %s && python3 -c \""
             "import numpy as np, ml_dtypes\n"
             "rng = np.random.default_rng(5)\n"
             "k = rng.standard_normal((7, 5)).astype(ml_dtypes.bfloat16)\n"
             "np.save('k_bf16.npy', k)\n"
             "np.save('k_ref.npy', k.astype(np.float64))\n"
             "np.save('k_fortran.npy', np.asfortranarray(k.astype(np.float64)))\n"
             "b = rng.standard_normal((2, 7, 3, 5)).astype(np.float32)\n"
             "np.save('b_fortran.npy', np.asfortranarray(b))\n"
             "np.save('b_ref.npy', np.ascontiguousarray(b[1, :, 2, :]).astype(np.float64))\n"
             "\"",
             dir, dir);
    cr_assert_eq(system(cmd), 0, "python3 failed");
    char p[5][300];
    const char *leaf[5] = {"k_bf16.npy:bf16", "k_ref.npy", "k_fortran.npy", "b_fortran.npy",
                           "b_ref.npy"};
    for (int j = 0; j < 5; j++)
        snprintf(p[j], sizeof p[j], "%s/%s", dir, leaf[j]);
    gka_trace_t bf, ref, fo, bfo, bref;
    gka_load_options_t o = gka_load_options_default();
    cr_assert_eq(gka_trace_load_npy_paths(&(gka_npy_paths_t){.keys = p[0]}, &o, &bf), GKA_OK, "%s",
                 gka_error_message());
    cr_assert_eq(gka_trace_load_npy_paths(&(gka_npy_paths_t){.keys = p[1]}, &o, &ref), GKA_OK);
    cr_assert_eq(gka_trace_load_npy_paths(&(gka_npy_paths_t){.keys = p[2]}, &o, &fo), GKA_OK);
    cr_assert(bf.T == 7 && bf.D == 5 && ref.T == 7 && fo.D == 5);
    for (int j = 0; j < 35; j++)
        cr_assert(bf.k[j] == ref.k[j] && fo.k[j] == ref.k[j], "element %d", j);
    o.batch = 1, o.head = 2;
    cr_assert_eq(gka_trace_load_npy_paths(&(gka_npy_paths_t){.keys = p[3]}, &o, &bfo), GKA_OK, "%s",
                 gka_error_message());
    o.batch = 0, o.head = 0;
    cr_assert_eq(gka_trace_load_npy_paths(&(gka_npy_paths_t){.keys = p[4]}, &o, &bref), GKA_OK);
    for (int j = 0; j < 35; j++)
        cr_assert(bfo.k[j] == bref.k[j], "batched element %d", j);
    /* the bf16 file without its dtype: refused, telling how to name it */
    char bare[300];
    snprintf(bare, sizeof bare, "%s/k_bf16.npy", dir);
    gka_trace_t none;
    cr_assert_eq(gka_trace_load_npy_paths(&(gka_npy_paths_t){.keys = bare}, &o, &none), GKA_EINVAL);
    assert_msg_has("'<V2' carries no float type");
    gka_trace_free(&bf), gka_trace_free(&ref), gka_trace_free(&fo);
    gka_trace_free(&bfo), gka_trace_free(&bref);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
