/* The .safetensors loader (experiments/data/safetensors.c) against a reference
 * writer in this file that lays files out as huggingface/safetensors does
 * (u64 LE header size, JSON header space-padded to a multiple of 8, tensors
 * back to back). Round trips for F16 (subnormals), BF16 (subnormals), F32,
 * F64, [T, D] and [B, T, H, D], gates [T] and [B, T, H], name mapping, extra
 * tensors and metadata; every malformed class rejected with its status and
 * the file name; every truncation and byte mutation handled. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

/* Header text as given (padded with spaces to a multiple of 8 when pad),
 * then `nbytes` of data. */
static bytes_t st_raw(const char *header, int pad, const void *data, size_t nbytes) {
    size_t hl = strlen(header), spaces = pad ? (8 - hl % 8) % 8 : 0, n = hl + spaces;
    unsigned char len8[8];
    for (int j = 0; j < 8; j++)
        len8[j] = (unsigned char)((uint64_t)n >> (8 * j));
    bytes_t b = {NULL, 0};
    put(&b, len8, 8);
    put(&b, header, hl);
    for (size_t j = 0; j < spaces; j++)
        put(&b, " ", 1);
    put(&b, data, nbytes);
    return b;
}

typedef struct tensor {
    const char *name, *dtype;
    int ndim;
    uint64_t shape[4];
    const double *x; /* values exact in dtype; NULL: zero bytes */
} tensor_t;

static size_t dtype_bytes(const char *dtype) {
    return strcmp(dtype, "F64") == 0 || strcmp(dtype, "I64") == 0   ? 8
           : strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0 ? 4
                                                                    : 2;
}

static size_t count(const tensor_t *t) {
    size_t n = 1;
    for (int j = 0; j < t->ndim; j++)
        n *= t->shape[j];
    return n;
}

static void encode(bytes_t *data, const tensor_t *t) {
    size_t n = count(t), es = dtype_bytes(t->dtype);
    for (size_t j = 0; j < n; j++) {
        double v = t->x ? t->x[j] : 0.0;
        unsigned char le[8] = {0};
        if (strcmp(t->dtype, "F16") == 0) {
            _Float16 h = (_Float16)v;
            memcpy(le, &h, 2);
        } else if (strcmp(t->dtype, "BF16") == 0) {
            float f = (float)v;
            uint32_t u;
            memcpy(&u, &f, 4);
            cr_assert_eq(u & 0xffff, 0u, "value %g not exact in bf16", v);
            le[0] = (unsigned char)(u >> 16), le[1] = (unsigned char)(u >> 24);
        } else if (strcmp(t->dtype, "F32") == 0) {
            float f = (float)v;
            memcpy(le, &f, 4);
        } else if (strcmp(t->dtype, "F64") == 0) {
            memcpy(le, &v, 8);
        } else {
            int64_t i = (int64_t)v;
            memcpy(le, &i, es);
        }
        put(data, le, es);
    }
}

/* Tensors stored in the given order; the header lists them in reverse order
 * when `reverse` (readers must not rely on header order). */
static bytes_t st_file(const tensor_t *t, int n, const char *metadata, int reverse) {
    bytes_t data = {NULL, 0};
    uint64_t begin[16], end[16];
    for (int j = 0; j < n; j++) {
        begin[j] = data.n;
        encode(&data, &t[j]);
        end[j] = data.n;
    }
    char *h = malloc(65536);
    strcpy(h, "{");
    if (metadata) sprintf(h + strlen(h), "\"__metadata__\":%s,", metadata);
    for (int jj = 0; jj < n; jj++) {
        int j = reverse ? n - 1 - jj : jj;
        sprintf(h + strlen(h), "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", jj ? "," : "", t[j].name,
                t[j].dtype);
        for (int d = 0; d < t[j].ndim; d++)
            sprintf(h + strlen(h), "%s%llu", d ? "," : "", (unsigned long long)t[j].shape[d]);
        sprintf(h + strlen(h), "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)begin[j],
                (unsigned long long)end[j]);
    }
    strcat(h, "}");
    bytes_t b = st_raw(h, 1, data.p, data.n);
    free(h);
    free(data.p);
    return b;
}

static void assert_msg_has(const char *needle) {
    cr_assert(strstr(gka_error_message(), needle), "message '%s' lacks '%s'", gka_error_message(),
              needle);
}

static gka_status_t load(const bytes_t *b, const char *name, const gka_load_options_t *o,
                         gka_trace_t *tr) {
    gka_buffer_t in = {b->p, b->n, name, NULL};
    return gka_trace_from_safetensors_buffer(&in, o, tr);
}

/* Exact values: f16 / bf16 subnormals among them. */
static double exact(const char *dtype, size_t j, uint64_t seed) {
    double z = gka_philox_normal(seed, 77, j * 2);
    if (strcmp(dtype, "F16") == 0)
        return (double)(_Float16)(j % 4 == 0 ? ldexp((double)(j + 1), -24) : z);
    if (strcmp(dtype, "BF16") == 0) {
        float f = j % 4 == 0 ? ldexpf((float)(j % 100 + 1), -133) : (float)z;
        uint32_t u;
        memcpy(&u, &f, 4);
        u &= 0xffff0000u;
        memcpy(&f, &u, 4);
        return (double)f;
    }
    if (strcmp(dtype, "F32") == 0) return (double)(float)z;
    return z;
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

Test(safetensors, roundtrip_dtypes_2d) {
    const char *dtypes[] = {"F16", "BF16", "F32", "F64"};
    enum { T = 6, D = 5 };
    for (int d = 0; d < 4; d++) {
        double q[T * D], k[T * D], v[T * D], g[T], beta[T];
        for (size_t j = 0; j < T * D; j++) {
            q[j] = exact(dtypes[d], j, 1);
            k[j] = exact(dtypes[d], j, 2);
            v[j] = exact(dtypes[d], j, 3);
        }
        for (int t = 0; t < T; t++) {
            g[t] = -fabs(exact(dtypes[d], (size_t)t, 4));
            beta[t] = 0.125 * (t + 1);
        }
        tensor_t ts[5] = {{"q", dtypes[d], 2, {T, D}, q},
                          {"k", dtypes[d], 2, {T, D}, k},
                          {"v", dtypes[d], 2, {T, D}, v},
                          {"g", dtypes[d], 1, {T}, g},
                          {"beta", dtypes[d], 1, {T}, beta}};
        bytes_t f = st_file(ts, 5, NULL, d % 2);
        gka_trace_t tr;
        cr_assert_eq(load(&f, "rt.safetensors", NULL, &tr), GKA_OK, "%s: %s", dtypes[d],
                     gka_error_message());
        cr_assert(tr.T == T && tr.D == D && tr.v && tr.g && tr.beta);
        for (int j = 0; j < T * D; j++)
            cr_assert(tr.q[j] == q[j] && tr.k[j] == k[j] && tr.v[j] == v[j], "%s [%d]", dtypes[d],
                      j);
        for (int t = 0; t < T; t++)
            cr_assert(tr.g[t] == g[t] && tr.beta[t] == beta[t]);
        cr_assert_str_eq(tr.origin, "safetensors:rt.safetensors[b=0,h=0]");
        gka_trace_free(&tr);
        free(f.p);
    }
}

static double elem(int b, int t, int h, int i) {
    return 4.0 * b + t + 0.5 * h + 0.125 * i - 2.0;
}

Test(safetensors, roundtrip_batched_mapping_extras_file) {
    enum { B = 3, T = 4, H = 2, D = 3 };
    double k[B * T * H * D], g[B * T * H], step[2] = {7, 9};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < D; i++)
                    k[((b * T + t) * H + h) * D + i] = elem(b, t, h, i);
                g[(b * T + t) * H + h] = -0.25 * (b * 100 + t * 10 + h);
            }
    tensor_t ts[3] = {{"layers.0.step", "I64", 1, {2}, step},
                      {"layers.0.keys", "BF16", 4, {B, T, H, D}, k},
                      {"layers.0.log_gates", "F32", 3, {B, T, H}, g}};
    bytes_t f = st_file(ts, 3, "{\"format\":\"pt\",\"note\":\"caf\\u00e9 \\ud83d\\ude00\"}", 1);
    char path[] = "/tmp/gka_test_st_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, f.p, f.n), (ssize_t)f.n);
    close(fd);
    gka_load_options_t o = gka_load_options_default();
    o.name_k = "layers.0.keys";
    o.name_g = "layers.0.log_gates";
    o.missing_queries = GKA_QUERIES_NEXT_KEY;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            o.batch = b;
            o.head = h;
            gka_trace_t tr;
            cr_assert_eq(gka_trace_load_safetensors(path, &o, &tr), GKA_OK, "%s",
                         gka_error_message());
            cr_assert(tr.T == T && tr.D == D && tr.g && !tr.beta && !tr.v);
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < D; i++) {
                    cr_assert_eq(tr.k[t * D + i], elem(b, t, h, i));
                    cr_assert_eq(tr.q[t * D + i], elem(b, t + 1 < T ? t + 1 : t, h, i));
                }
                cr_assert_eq(tr.g[t], -0.25 * (b * 100 + t * 10 + h));
            }
            gka_trace_free(&tr);
        }
    o.batch = B;
    gka_trace_t tr;
    cr_assert_eq(gka_trace_load_safetensors(path, &o, &tr), GKA_EINVAL);
    assert_msg_has(path);
    assert_msg_has("b=3");
    /* Without the mapping there is no tensor "k". */
    cr_assert_eq(gka_trace_load_safetensors(path, NULL, &tr), GKA_EINVAL);
    assert_msg_has("no tensor named 'k'");
    unlink(path);
    cr_assert_eq(gka_trace_load_safetensors(path, NULL, &tr), GKA_EIO);
    assert_msg_has(path);
    /* The parsed listing itself. */
    gka_st_file_t sf;
    cr_assert_eq(gka_safetensors_parse(f.p, f.n, "x", &sf), GKA_OK);
    cr_assert_eq(sf.count, 3);
    cr_assert_str_eq(sf.tensors[0].name, "layers.0.log_gates"); /* header order */
    cr_assert_str_eq(sf.tensors[2].dtype_name, "I64");
    cr_assert_eq(sf.tensors[2].view.dtype, GKA_DTYPE_OTHER);
    gka_st_file_free(&sf);
    free(f.p);
}

Test(safetensors, accepted_variants) {
    double k[2] = {1.5, -2.5};
    const char *headers[] = {
        /* whitespace everywhere JSON allows, metadata null, escaped name for "k" */
        "{ \"__metadata__\" : null ,\n\t\"\\u006b\" : { \"shape\" : [ 1 , 2 ] , "
        "\"data_offsets\" : [ 0 , 16 ] , \"dtype\" : \"F64\" } }\r\n  ",
        /* zero-sized extra tensor at the end, empty metadata */
        "{\"__metadata__\":{},\"k\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[0,16]},"
        "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[16,16]}}",
    };
    for (int c = 0; c < 2; c++) {
        bytes_t f = st_raw(headers[c], 1, k, sizeof k);
        gka_trace_t tr;
        cr_assert_eq(load(&f, "ok.safetensors", NULL, &tr), GKA_OK, "%d: %s", c,
                     gka_error_message());
        cr_assert(tr.T == 1 && tr.D == 2 && tr.k[1] == -2.5);
        gka_trace_free(&tr);
        free(f.p);
    }
}

/* ------------------------------------------------------------------------ */
/* Malformed files                                                          */
/* ------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *what;
    const char *header;
    size_t nbytes;
    gka_status_t want;
    const char *msg;
} bad_case_t;

#define K_OK "\"k\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"

static const bad_case_t bad_cases[] = {
    {"leading space", " {" K_OK "}", 24, GKA_EFORMAT, "begin with '{'"},
    {"not an object", "[1,2]", 24, GKA_EFORMAT, "begin with '{'"},
    {"missing colon", "{\"k\" {\"dtype\":\"F32\"}}", 24, GKA_EFORMAT, "expected ':'"},
    {"trailing comma", "{" K_OK ",}", 24, GKA_EFORMAT, "expected a string"},
    {"unterminated object", "{" K_OK, 24, GKA_EFORMAT, "expected ',' or '}'"},
    {"unterminated string", "{\"k", 24, GKA_EFORMAT, "unterminated"},
    {"invalid UTF-8", "{\"k\xc3\x28\":{}}", 24, GKA_EFORMAT, "UTF-8"},
    {"overlong UTF-8", "{\"\xc0\xaf\":{}}", 24, GKA_EFORMAT, "UTF-8"},
    {"UTF-8 surrogate", "{\"\xed\xa0\x80\":{}}", 24, GKA_EFORMAT, "UTF-8"},
    {"bad escape", "{\"\\x\":{}}", 24, GKA_EFORMAT, "invalid escape"},
    {"short unicode escape", "{\"\\u12\":{}}", 24, GKA_EFORMAT, "\\u escape"},
    {"lone low surrogate", "{\"\\udc00\":{}}", 24, GKA_EFORMAT, "surrogate"},
    {"unpaired high surrogate", "{\"\\ud800x\":{}}", 24, GKA_EFORMAT, "surrogate"},
    {"NUL in name", "{\"a\\u0000\":{}}", 24, GKA_EFORMAT, "NUL"},
    {"control char", "{\"a\tb\":{}}", 24, GKA_EFORMAT, "control"},
    {"duplicate tensor", "{" K_OK "," K_OK "}", 24, GKA_EFORMAT, "duplicate tensor name 'k'"},
    {"duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}," K_OK "}", 24, GKA_EFORMAT,
     "duplicate key '__metadata__'"},
    {"duplicate field", "{\"k\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", 24, GKA_EFORMAT,
     "duplicate key 'dtype'"},
    {"unknown field", "{\"k\":{\"dtype\":\"F32\",\"foo\":1}}", 24, GKA_EFORMAT,
     "unknown key 'foo'"},
    {"missing field", "{\"k\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", 24, GKA_EFORMAT,
     "needs dtype, shape and data_offsets"},
    {"unknown dtype", "{\"k\":{\"dtype\":\"F128\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "unknown dtype 'F128'"},
    {"three offsets", "{\"k\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24,24]}}", 24,
     GKA_EFORMAT, "2 entries"},
    {"one offset", "{\"k\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24]}}", 24,
     GKA_EFORMAT, "2 entries"},
    {"offsets reversed", "{\"k\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[24,0]}}", 24,
     GKA_EFORMAT, "out of order"},
    {"truncated data", "{" K_OK "}", 20, GKA_EFORMAT, "truncated data"},
    {"trailing bytes", "{" K_OK "}", 28, GKA_EFORMAT, "trailing bytes"},
    {"hole", "{\"k\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]}}", 28, GKA_EFORMAT,
     "hole"},
    {"overlap", "{" K_OK ",\"q\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}", 32,
     GKA_EFORMAT, "overlapping"},
    {"bytes vs shape", "{\"k\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "needs 48 bytes"},
    {"shape overflow",
     "{\"k\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,24]}}", 24,
     GKA_ERANGE, "overflows"},
    {"integer overflow", "{\"k\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616]}}", 24,
     GKA_ERANGE, "overflows"},
    {"rank above limit",
     "{\"k\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
     GKA_ERANGE, "more than 8"},
    {"leading zero", "{\"k\":{\"dtype\":\"F32\",\"shape\":[02,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "leading zero"},
    {"negative", "{\"k\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "non-negative integer"},
    {"fraction", "{\"k\":{\"dtype\":\"F32\",\"shape\":[2.0,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "fraction"},
    {"exponent", "{\"k\":{\"dtype\":\"F32\",\"shape\":[2e0,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "exponent"},
    {"garbage after object", "{" K_OK "}x", 24, GKA_EFORMAT, "after the header object"},
    {"metadata number", "{\"__metadata__\":{\"a\":1}," K_OK "}", 24, GKA_EFORMAT,
     "expected a string"},
    {"metadata nested", "{\"__metadata__\":{\"a\":{\"b\":\"c\"}}," K_OK "}", 24, GKA_EFORMAT,
     "expected a string"},
    {"tensor info a string", "{\"k\":\"F32\"}", 24, GKA_EFORMAT, "not an object"},
    {"shape not an array", "{\"k\":{\"dtype\":\"F32\",\"shape\":6,\"data_offsets\":[0,24]}}", 24,
     GKA_EFORMAT, "shape"},
    {"empty header", "", 0, GKA_EFORMAT, "begin with '{'"},
    /* Well-formed files whose content is unusable. */
    {"no k", "{\"q\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24, GKA_EINVAL,
     "no tensor named 'k'"},
    {"k integer dtype", "{\"k\":{\"dtype\":\"I32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EINVAL, "dtype I32"},
    {"k fp8 dtype", "{\"k\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,3],\"data_offsets\":[0,6]}}", 6,
     GKA_EINVAL, "dtype F8_E4M3"},
    {"k rank 3", "{\"k\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", 24,
     GKA_EINVAL, "[T, D] or [B, T, H, D]"},
    {"g rank 2", "{" K_OK ",\"g\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[24,32]}}",
     32, GKA_EINVAL, "[T] or [B, T, H]"},
    {"q other T", "{" K_OK ",\"q\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[24,36]}}",
     36, GKA_EINVAL, "q has T=1, D=3"},
    {"beta zero", "{" K_OK ",\"beta\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}",
     32, GKA_EINVAL, "beta[t=0]"},
    {"D above limit", "{\"k\":{\"dtype\":\"F16\",\"shape\":[1,4097],\"data_offsets\":[0,8194]}}",
     8194, GKA_ERANGE, "D=4097"},
};

Test(safetensors, malformed_classes_rejected) {
    unsigned char zeros[8200] = {0};
    for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
        const bad_case_t *bc = &bad_cases[c];
        bytes_t f = st_raw(bc->header, 1, zeros, bc->nbytes);
        char name[64];
        snprintf(name, sizeof name, "case%zu.safetensors", c);
        gka_trace_t tr;
        gka_status_t st = load(&f, name, NULL, &tr);
        cr_expect_eq(st, bc->want, "%s: status %d, want %d (%s)", bc->what, st, bc->want,
                     gka_error_message());
        cr_expect(strstr(gka_error_message(), name), "%s: '%s' lacks the file name", bc->what,
                  gka_error_message());
        cr_expect(strstr(gka_error_message(), bc->msg), "%s: '%s' lacks '%s'", bc->what,
                  gka_error_message(), bc->msg);
        cr_assert_null(tr.k);
        free(f.p);
    }
}

Test(safetensors, malformed_size_prefix_and_values) {
    gka_trace_t tr;
    bytes_t tiny = {(unsigned char *)"\x02\0\0\0\0\0\0", 7};
    cr_assert_eq(load(&tiny, "tiny.safetensors", NULL, &tr), GKA_EFORMAT);
    assert_msg_has("tiny.safetensors: truncated");
    bytes_t f = st_raw("{" K_OK "}", 1, (unsigned char[24]){0}, 24);
    f.p[0] = 0xff; /* header length 255 + real: beyond the file */
    cr_assert_eq(load(&f, "h.safetensors", NULL, &tr), GKA_EFORMAT);
    assert_msg_has("truncated header");
    f.p[0] = 0, f.p[2] = 0x20; /* 2 MiB header */
    cr_assert_eq(load(&f, "h.safetensors", NULL, &tr), GKA_ERANGE);
    assert_msg_has("exceeds the limit");
    f.p[2] = 0, f.p[7] = 0x80; /* 2^63 */
    cr_assert_eq(load(&f, "h.safetensors", NULL, &tr), GKA_ERANGE);
    free(f.p);
    /* NaN and Inf in F16, BF16 data */
    const char *dt[2] = {"F16", "BF16"};
    for (int d = 0; d < 2; d++) {
        double k[6] = {1, 2, 3, 4, 5, 6};
        k[4] = d ? NAN : -INFINITY;
        tensor_t t = {"k", dt[d], 2, {3, 2}, k};
        bytes_t b = st_file(&t, 1, NULL, 0);
        cr_assert_eq(load(&b, "nan.safetensors", NULL, &tr), GKA_ENODATA);
        assert_msg_has("nan.safetensors: k[t=2,i=0]");
        free(b.p);
    }
}

/* ------------------------------------------------------------------------ */
/* Truncation and mutation                                                  */
/* ------------------------------------------------------------------------ */

static bytes_t small_valid(void) {
    double k[8], g[2] = {-0.5, -0.25};
    for (int j = 0; j < 8; j++)
        k[j] = j * 0.75 - 2;
    tensor_t ts[2] = {{"k", "BF16", 4, {1, 2, 1, 4}, k}, {"g", "F32", 1, {2}, g}};
    return st_file(ts, 2, "{\"a\":\"b\"}", 0);
}

Test(safetensors, every_truncation_rejected) {
    bytes_t full = small_valid();
    gka_trace_t tr;
    cr_assert_eq(load(&full, "full.safetensors", NULL, &tr), GKA_OK, "%s", gka_error_message());
    gka_trace_free(&tr);
    for (size_t len = 0; len < full.n; len++) {
        unsigned char *p = malloc(len ? len : 1);
        memcpy(p, full.p, len);
        bytes_t cut = {p, len};
        gka_status_t st = load(&cut, "cut.safetensors", NULL, &tr);
        cr_assert(st == GKA_EFORMAT, "length %zu: status %d (%s)", len, st, gka_error_message());
        cr_assert(strstr(gka_error_message(), "cut.safetensors"));
        free(p);
    }
    free(full.p);
}

Test(safetensors, every_byte_mutation_handled) {
    bytes_t full = small_valid();
    static const unsigned char subst[] = {0x00, 0xff, '9', ',', '"', '\\', '{', ']', 0x80, 0xc3};
    long accepted = 0, rejected = 0;
    for (size_t pos = 0; pos < full.n; pos++)
        for (size_t s = 0; s < sizeof subst; s++) {
            unsigned char *p = malloc(full.n);
            memcpy(p, full.p, full.n);
            p[pos] = subst[s];
            bytes_t m = {p, full.n};
            gka_trace_t tr;
            gka_status_t st = load(&m, "mut.safetensors", NULL, &tr);
            if (st == GKA_OK) {
                accepted++;
                cr_assert_eq(gka_trace_validate(&tr), GKA_OK);
                gka_trace_free(&tr);
            } else {
                rejected++;
                cr_assert(strstr(gka_error_message(), "mut.safetensors"), "pos %zu: %s", pos,
                          gka_error_message());
            }
            free(p);
        }
    free(full.p);
    cr_assert_gt(accepted, 0);
    cr_assert_gt(rejected, 0);
}

/* ------------------------------------------------------------------------ */
/* Committed fixture written by an independent writer (Python json/struct)  */
/* ------------------------------------------------------------------------ */

Test(safetensors, python_written_fixture) {
    const char *path = GKA_SOURCE_DIR "/tests/data/traces/trace_bthd.safetensors";
    gka_load_options_t o = gka_load_options_default();
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 3; h++) {
            o.batch = b;
            o.head = h;
            gka_trace_t tr;
            cr_assert_eq(gka_trace_load_safetensors(path, &o, &tr), GKA_OK, "%s",
                         gka_error_message());
            cr_assert(tr.T == 5 && tr.D == 4 && tr.g && tr.beta && !tr.v);
            for (int t = 0; t < 5; t++) {
                for (int i = 0; i < 4; i++) {
                    double k = (b * 100 + t * 10 + h * 4 + i) / 8.0 - 3;
                    cr_assert_eq(tr.k[t * 4 + i], k);
                    cr_assert_eq(tr.q[t * 4 + i], -k);
                }
                cr_assert_eq(tr.g[t], -(b + t + h) / 16.0);
                cr_assert_eq(tr.beta[t], (t + 1) / 8.0);
            }
            gka_trace_free(&tr);
        }
}

/* ---- reads bounded by the header ------------------------------------------ */

/* The file at path is read by gka_safetensors_read_file; returns its status. */
static gka_status_t read_path(const char *path, size_t *len) {
    unsigned char *data = NULL;
    gka_status_t st = gka_safetensors_read_file(path, &data, len);
    free(data);
    return st;
}

Test(safetensors, bounded_reads) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/gka_test_st_%ld.safetensors", (long)getpid());
    bytes_t b = small_valid();
    /* exact, then one trailing byte */
    for (int extra = 0; extra < 2; extra++) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        fwrite(b.p, 1, b.n, f);
        if (extra) fputc(0, f);
        fclose(f);
        size_t len = 0;
        gka_status_t st = read_path(path, &len);
        if (!extra) {
            cr_assert_eq(st, GKA_OK, "%s", gka_error_message());
            cr_assert_eq(len, b.n);
            gka_trace_t tr;
            cr_assert_eq(gka_trace_load_safetensors(path, NULL, &tr), GKA_OK, "%s",
                         gka_error_message());
            gka_trace_free(&tr);
        } else {
            cr_assert_eq(st, GKA_EFORMAT);
            assert_msg_has("1 trailing bytes after the data");
        }
    }
    unlink(path);
    /* an endless stream of zeros: header length 0, refused at once, named */
    cr_assert_eq(symlink("/dev/zero", path), 0);
    size_t len;
    cr_assert_eq(read_path(path, &len), GKA_EFORMAT);
    assert_msg_has(path);
    unlink(path);
    /* a FIFO fed a valid file and then zeros without end */
    cr_assert_eq(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        FILE *w = fopen(path, "wb");
        if (!w) _exit(1);
        fwrite(b.p, 1, b.n, w);
        static unsigned char zeros[65536];
        while (fwrite(zeros, 1, sizeof zeros, w) == sizeof zeros)
            ;
        _exit(0);
    }
    gka_status_t st = read_path(path, &len);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", gka_error_message());
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(path);
    free(b.p);
    cr_assert_eq(st, GKA_EFORMAT, "%s", msg);
    cr_assert(strstr(msg, "more bytes than the header describes"), "%s", msg);
}
