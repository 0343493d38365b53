/* The trace container (gka_data.h): allocation, validation, normalisation,
 * rounding, and the pieces the loaders share: reading a file into memory and
 * converting a file array view (f16 / bf16 / f32 / f64, either byte order)
 * into double rows. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "gka_data.h"

/* ------------------------------------------------------------------------ */
/* Container                                                                */
/* ------------------------------------------------------------------------ */

static gka_status_t check_sizes(long D, long T) {
    if (D < 1 || T < 1)
        return gka_error(GKA_EINVAL, "trace: sizes must be positive (D=%ld, T=%ld)", D, T);
    if (D > GKA_TRACE_D_MAX)
        return gka_error(GKA_ERANGE, "trace: D=%ld exceeds the limit %ld", D, GKA_TRACE_D_MAX);
    if (T > GKA_TRACE_T_MAX)
        return gka_error(GKA_ERANGE, "trace: T=%ld exceeds the limit %ld", T, GKA_TRACE_T_MAX);
    if (T > GKA_TRACE_ELEMS_MAX / D)
        return gka_error(GKA_ERANGE, "trace: T*D=%ld*%ld exceeds the limit %ld elements", T, D,
                         GKA_TRACE_ELEMS_MAX);
    return GKA_OK;
}

static double *alloc_doubles(size_t n) {
    return calloc(n, sizeof(double));
}

gka_status_t gka_trace_alloc(gka_trace_t *tr, int D, long T, unsigned with) {
    if (!tr) return gka_error(GKA_EINVAL, "trace: NULL trace");
    memset(tr, 0, sizeof *tr);
    gka_status_t st = check_sizes(D, T);
    if (st) return st;
    size_t n = (size_t)T * (size_t)D;
    tr->D = D;
    tr->T = T;
    tr->q = alloc_doubles(n);
    tr->k = alloc_doubles(n);
    int fail = !tr->q || !tr->k;
    if (with & GKA_TRACE_WITH_V) fail |= !(tr->v = alloc_doubles(n));
    if (with & GKA_TRACE_WITH_G) fail |= !(tr->g = alloc_doubles((size_t)T));
    if (with & GKA_TRACE_WITH_BETA) fail |= !(tr->beta = alloc_doubles((size_t)T));
    if (fail) {
        gka_trace_free(tr);
        return gka_error(GKA_ENOMEM, "trace: cannot allocate D=%d, T=%ld", D, T);
    }
    return GKA_OK;
}

void gka_trace_free(gka_trace_t *tr) {
    if (!tr) return;
    free(tr->q);
    free(tr->k);
    free(tr->v);
    free(tr->g);
    free(tr->beta);
    memset(tr, 0, sizeof *tr);
}

static void copy_if(double *dst, const double *src, size_t n) {
    if (src) memcpy(dst, src, n * sizeof(double));
}

gka_status_t gka_trace_copy(gka_trace_t *dst, const gka_trace_t *src) {
    if (dst) memset(dst, 0, sizeof *dst);
    if (!dst || !src || !src->q || !src->k)
        return gka_error(GKA_EINVAL, "trace copy: NULL or empty trace");
    unsigned with = (src->v ? GKA_TRACE_WITH_V : 0u) | (src->g ? GKA_TRACE_WITH_G : 0u) |
                    (src->beta ? GKA_TRACE_WITH_BETA : 0u);
    gka_status_t st = gka_trace_alloc(dst, src->D, src->T, with);
    if (st) return st;
    size_t n = (size_t)src->T * (size_t)src->D;
    copy_if(dst->q, src->q, n);
    copy_if(dst->k, src->k, n);
    copy_if(dst->v, src->v, n);
    copy_if(dst->g, src->g, (size_t)src->T);
    copy_if(dst->beta, src->beta, (size_t)src->T);
    memcpy(dst->origin, src->origin, sizeof dst->origin);
    dst->batched = src->batched;
    dst->queries_fallback = src->queries_fallback;
    return GKA_OK;
}

static gka_status_t check_finite_rows(const double *x, long T, int D, const char *field) {
    if (!x) return GKA_OK;
    for (long t = 0; t < T; t++)
        for (int i = 0; i < D; i++) {
            double v = x[(size_t)t * (size_t)D + (size_t)i];
            if (!isfinite(v))
                return gka_error(GKA_ENODATA, "trace: %s[t=%ld,i=%d] = %g is not finite", field, t,
                                 i, v);
        }
    return GKA_OK;
}

gka_status_t gka_trace_validate(const gka_trace_t *tr) {
    if (!tr) return gka_error(GKA_EINVAL, "trace: NULL trace");
    gka_status_t st = check_sizes(tr->D, tr->T);
    if (st) return st;
    if (!tr->q || !tr->k) return gka_error(GKA_EINVAL, "trace: %s is missing", tr->q ? "k" : "q");
    if ((st = check_finite_rows(tr->q, tr->T, tr->D, "q")) ||
        (st = check_finite_rows(tr->k, tr->T, tr->D, "k")) ||
        (st = check_finite_rows(tr->v, tr->T, tr->D, "v")) ||
        (st = check_finite_rows(tr->g, tr->T, 1, "g")) ||
        (st = check_finite_rows(tr->beta, tr->T, 1, "beta")))
        return st;
    for (long t = 0; tr->g && t < tr->T; t++)
        if (!(tr->g[t] <= 0.0))
            return gka_error(GKA_EINVAL, "trace: g[t=%ld] = %g > 0 (log gates must be <= 0)", t,
                             tr->g[t]);
    for (long t = 0; tr->beta && t < tr->T; t++)
        if (!(tr->beta[t] > 0.0 && tr->beta[t] <= 1.0))
            return gka_error(GKA_EINVAL, "trace: beta[t=%ld] = %g is outside (0, 1]", t,
                             tr->beta[t]);
    return GKA_OK;
}

/* ||x||_2 without overflow or underflow: scale by the largest magnitude. */
static double scaled_norm(const double *x, int n) {
    double amax = 0.0;
    for (int i = 0; i < n; i++)
        amax = fmax(amax, fabs(x[i]));
    if (amax == 0.0 || !isfinite(amax)) return amax;
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double y = x[i] / amax;
        s += y * y;
    }
    return amax * sqrt(s);
}

static void normalize_rows(double *x, long T, int D) {
    for (long t = 0; t < T; t++) {
        double *row = x + (size_t)t * (size_t)D;
        double denom = scaled_norm(row, D) + 1e-6;
        for (int i = 0; i < D; i++)
            row[i] /= denom;
    }
}

void gka_trace_normalize(gka_trace_t *tr) {
    if (!tr || tr->D < 1 || tr->T < 1) return;
    if (tr->q) normalize_rows(tr->q, tr->T, tr->D);
    if (tr->k) normalize_rows(tr->k, tr->T, tr->D);
}

gka_status_t gka_trace_round(gka_trace_t *tr, gka_rounding_t *r) {
    if (!tr || !r || !tr->q || !tr->k)
        return gka_error(GKA_EINVAL, "trace round: NULL or empty trace or rounding context");
    size_t n = (size_t)tr->T * (size_t)tr->D;
    gka_round_array(tr->q, tr->q, n, r);
    gka_round_array(tr->k, tr->k, n, r);
    if (tr->v) gka_round_array(tr->v, tr->v, n, r);
    return GKA_OK;
}

/* ------------------------------------------------------------------------ */
/* Files into memory                                                        */
/* ------------------------------------------------------------------------ */

gka_status_t gka_read_file(const char *path, unsigned char **data, size_t *len) {
    if (!path || !data || !len) return gka_error(GKA_EINVAL, "read: NULL argument");
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return gka_error(GKA_EIO, "%s: cannot open: %s", path, strerror(errno));
    /* Read in growing chunks rather than trusting a size from fseek: works
     * for pipes and for files that change size while read. */
    size_t cap = 0, n = 0;
    unsigned char *buf = NULL;
    for (;;) {
        if (n == cap) {
            if (cap >= GKA_DATA_FILE_MAX) {
                free(buf);
                fclose(fp);
                return gka_error(GKA_ERANGE, "%s: file larger than the limit of %zu bytes", path,
                                 (size_t)GKA_DATA_FILE_MAX);
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > GKA_DATA_FILE_MAX) ncap = GKA_DATA_FILE_MAX;
            unsigned char *nb = realloc(buf, ncap + 1); /* +1: never 0 bytes */
            if (!nb) {
                free(buf);
                fclose(fp);
                return gka_error(GKA_ENOMEM, "%s: cannot allocate %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(fp), saved = errno;
    fclose(fp);
    if (err) {
        free(buf);
        return gka_error(GKA_EIO, "%s: read error: %s", path, strerror(saved));
    }
    *data = buf;
    *len = n;
    return GKA_OK;
}

gka_status_t gka_read_more(FILE *fp, const char *path, unsigned char **buf, size_t *len, size_t n) {
    if (n > GKA_DATA_FILE_MAX - *len)
        return gka_error(GKA_ERANGE, "%s: file larger than the limit of %zu bytes", path,
                         (size_t)GKA_DATA_FILE_MAX);
    unsigned char *nb = realloc(*buf, *len + n + 1); /* +1: never 0 bytes */
    if (!nb) return gka_error(GKA_ENOMEM, "%s: cannot allocate %zu bytes", path, *len + n);
    *buf = nb;
    size_t got = fread(nb + *len, 1, n, fp);
    *len += got;
    if (got < n && ferror(fp))
        return gka_error(GKA_EIO, "%s: read error: %s", path, strerror(errno));
    return GKA_OK;
}

gka_status_t gka_check_at_end(FILE *fp, const char *path, size_t expected) {
    unsigned char extra;
    if (fread(&extra, 1, 1, fp) == 1) {
        /* a regular file says how much is left; a stream is not read on */
        struct stat sb;
        if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size > expected)
            return gka_error(GKA_EFORMAT, "%s: %zu trailing bytes after the data", path,
                             (size_t)sb.st_size - expected);
        return gka_error(GKA_EFORMAT,
                         "%s: more bytes than the header describes (%zu); not read further", path,
                         expected);
    }
    if (ferror(fp)) return gka_error(GKA_EIO, "%s: read error: %s", path, strerror(errno));
    return GKA_OK;
}

gka_status_t gka_read_bounded(const char *path, gka_expected_size_fn expected, void *ctx,
                              unsigned char **data, size_t *len) {
    if (!path || !data || !len) return gka_error(GKA_EINVAL, "read: NULL argument");
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return gka_error(GKA_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t total = 0;
    gka_status_t st = expected(fp, path, ctx, data, len, &total);
    if (!st && total > *len) st = gka_read_more(fp, path, data, len, total - *len);
    if (!st && *len == total) st = gka_check_at_end(fp, path, total);
    fclose(fp);
    if (st) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return st;
}

gka_status_t gka_dtype_by_name(const char *name, gka_dtype_t *out) {
    static const struct {
        const char *name;
        gka_dtype_t dtype;
    } names[] = {{"bf16", GKA_DTYPE_BF16}, {"bfloat16", GKA_DTYPE_BF16}, {"f16", GKA_DTYPE_F16},
                 {"fp16", GKA_DTYPE_F16},  {"float16", GKA_DTYPE_F16},   {"f32", GKA_DTYPE_F32},
                 {"fp32", GKA_DTYPE_F32},  {"float32", GKA_DTYPE_F32},   {"f64", GKA_DTYPE_F64},
                 {"fp64", GKA_DTYPE_F64},  {"float64", GKA_DTYPE_F64}};
    for (size_t j = 0; name && j < sizeof names / sizeof names[0]; j++)
        if (!strcmp(name, names[j].name)) {
            *out = names[j].dtype;
            return GKA_OK;
        }
    return gka_error(GKA_EINVAL, "unknown dtype '%s' (bf16, f16, f32, f64)", name ? name : "");
}

/* ------------------------------------------------------------------------ */
/* Element conversion                                                       */
/* ------------------------------------------------------------------------ */

double gka_f16_bits_to_double(uint16_t bits) {
    int sign = (bits >> 15) & 1;
    int exp = (bits >> 10) & 0x1f;
    int frac = bits & 0x3ff;
    double v;
    if (exp == 0x1f)
        v = frac ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexp((double)frac, -24); /* subnormal: frac * 2^-14 * 2^-10 */
    else
        v = ldexp((double)(frac | 0x400), exp - 25);
    return sign ? -v : v;
}

double gka_bf16_bits_to_double(uint16_t bits) {
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}

static size_t dtype_size(gka_dtype_t dt) {
    switch (dt) {
    case GKA_DTYPE_F16:
    case GKA_DTYPE_BF16:
        return 2;
    case GKA_DTYPE_F32:
        return 4;
    case GKA_DTYPE_F64:
        return 8;
    default:
        return 0;
    }
}

static uint64_t load_uint(const unsigned char *p, size_t n, int big_endian) {
    uint64_t u = 0;
    for (size_t j = 0; j < n; j++) {
        size_t byte = big_endian ? j : n - 1 - j;
        u = (u << 8) | p[byte];
    }
    return u;
}

static double element_at(const gka_array_view_t *a, size_t idx) {
    size_t es = dtype_size(a->dtype);
    uint64_t u = load_uint(a->data + idx * es, es, a->big_endian);
    switch (a->dtype) {
    case GKA_DTYPE_F16:
        return gka_f16_bits_to_double((uint16_t)u);
    case GKA_DTYPE_BF16:
        return gka_bf16_bits_to_double((uint16_t)u);
    case GKA_DTYPE_F32: {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, sizeof f);
        return (double)f;
    }
    default: {
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    }
}

static void shape_string(const gka_array_view_t *a, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, size, "[");
    for (int j = 0; j < a->ndim && used < size; j++)
        used += (size_t)snprintf(buf + used, size - used, "%s%llu", j ? ", " : "",
                                 (unsigned long long)a->shape[j]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* Resolve (T, D, offset of element (b, t=0, h, i=0), strides between tokens
 * and between elements of a row) for the accepted layouts, in C or Fortran
 * order. */
typedef struct layout {
    uint64_t T, D, base, token_stride, elem_stride;
} layout_t;

/* Element strides of each dimension: C order (last index fastest) or
 * Fortran order (first index fastest). */
static void dim_strides(const gka_array_view_t *a, uint64_t *stride) {
    uint64_t n = 1;
    for (int k = 0; k < a->ndim; k++) {
        int j = a->fortran_order ? k : a->ndim - 1 - k;
        stride[j] = n;
        n *= a->shape[j];
    }
}

static gka_status_t resolve_layout(const gka_array_view_t *a, const char *file, const char *field,
                                   int want_rows, long b, long h, layout_t *L) {
    char shp[160];
    shape_string(a, shp, sizeof shp);
    int unbatched = want_rows ? 2 : 1, batched = want_rows ? 4 : 3;
    if (a->ndim != unbatched && a->ndim != batched)
        return gka_error(GKA_EINVAL, "%s: %s has shape %s; expected %s", file, field, shp,
                         want_rows ? "[T, D] or [B, T, H, D]" : "[T] or [B, T, H]");
    for (int j = 0; j < a->ndim; j++)
        if (a->shape[j] == 0)
            return gka_error(GKA_EINVAL, "%s: %s has shape %s with a zero dimension", file, field,
                             shp);
    /* Sizes are bounded: product(shape) * itemsize == nbytes was checked by
     * the parser, so these products cannot overflow. */
    uint64_t stride[GKA_DATA_NDIM_MAX];
    dim_strides(a, stride);
    if (a->ndim == unbatched) {
        L->T = a->shape[0];
        L->D = want_rows ? a->shape[1] : 1;
        L->base = 0;
        L->token_stride = stride[0];
        L->elem_stride = want_rows ? stride[1] : 1;
    } else {
        uint64_t B = a->shape[0], H = a->shape[2];
        if (b < 0 || (uint64_t)b >= B)
            return gka_error(GKA_EINVAL, "%s: %s has shape %s; batch index b=%ld out of range",
                             file, field, shp, b);
        if (h < 0 || (uint64_t)h >= H)
            return gka_error(GKA_EINVAL, "%s: %s has shape %s; head index h=%ld out of range", file,
                             field, shp, h);
        L->T = a->shape[1];
        L->D = want_rows ? a->shape[3] : 1;
        L->token_stride = stride[1];
        L->elem_stride = want_rows ? stride[3] : 1;
        L->base = (uint64_t)b * stride[0] + (uint64_t)h * stride[2];
    }
    if (L->D > (uint64_t)GKA_TRACE_D_MAX)
        return gka_error(GKA_ERANGE, "%s: %s has D=%llu > limit %ld", file, field,
                         (unsigned long long)L->D, GKA_TRACE_D_MAX);
    if (L->T > (uint64_t)GKA_TRACE_T_MAX)
        return gka_error(GKA_ERANGE, "%s: %s has T=%llu > limit %ld", file, field,
                         (unsigned long long)L->T, GKA_TRACE_T_MAX);
    if (L->T * L->D > (uint64_t)GKA_TRACE_ELEMS_MAX)
        return gka_error(GKA_ERANGE, "%s: %s has T*D=%llu > limit %ld elements", file, field,
                         (unsigned long long)(L->T * L->D), GKA_TRACE_ELEMS_MAX);
    return GKA_OK;
}

/* Product of the dimensions, or UINT64_MAX on overflow. */
static uint64_t shape_product(const gka_array_view_t *a) {
    uint64_t n = 1;
    for (int j = 0; j < a->ndim; j++) {
        if (a->shape[j] != 0 && n > UINT64_MAX / a->shape[j]) return UINT64_MAX;
        n *= a->shape[j];
    }
    return n;
}

gka_status_t gka_array_to_double(const gka_array_view_t *a, const char *file, const char *field,
                                 int want_rows, long b, long h, double **out, long *T, int *D) {
    if (!a || !out || !T || !D) return gka_error(GKA_EINVAL, "array conversion: NULL argument");
    *out = NULL;
    file = file ? file : "<memory>";
    field = field ? field : "array";
    size_t es = dtype_size(a->dtype);
    if (es == 0)
        return gka_error(GKA_EINVAL, "%s: %s has an unsupported dtype (need F16, BF16, F32, F64)",
                         file, field);
    if (a->ndim < 0 || a->ndim > GKA_DATA_NDIM_MAX)
        return gka_error(GKA_EINVAL, "%s: %s has rank %d", file, field, a->ndim);
    uint64_t count = shape_product(a);
    if (count == UINT64_MAX || count > SIZE_MAX / es || count * es != a->nbytes ||
        (a->nbytes && !a->data))
        return gka_error(GKA_EFORMAT, "%s: %s: %zu data bytes do not match its shape and dtype",
                         file, field, a->nbytes);
    layout_t L = {0, 0, 0, 0, 0};
    gka_status_t st = resolve_layout(a, file, field, want_rows, b, h, &L);
    if (st) return st;
    double *x = malloc((size_t)(L.T * L.D) * sizeof(double));
    if (!x)
        return gka_error(GKA_ENOMEM, "%s: %s: cannot allocate T=%llu x D=%llu", file, field,
                         (unsigned long long)L.T, (unsigned long long)L.D);
    for (uint64_t t = 0; t < L.T; t++)
        for (uint64_t i = 0; i < L.D; i++) {
            double v = element_at(a, (size_t)(L.base + t * L.token_stride + i * L.elem_stride));
            if (!isfinite(v)) {
                free(x);
                return gka_error(GKA_ENODATA, "%s: %s[t=%llu,i=%llu] = %g is not finite", file,
                                 field, (unsigned long long)t, (unsigned long long)i, v);
            }
            x[t * L.D + i] = v;
        }
    *out = x;
    *T = (long)L.T;
    *D = (int)L.D;
    return GKA_OK;
}

gka_load_options_t gka_load_options_default(void) {
    gka_load_options_t o;
    memset(&o, 0, sizeof o);
    o.missing_queries = GKA_QUERIES_IID;
    o.seed = 1;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Views -> trace                                                           */
/* ------------------------------------------------------------------------ */

const char *gka_role_name(gka_role_t role) {
    static const char *const names[GKA_ROLE_COUNT] = {"q", "k", "v", "g", "beta"};
    return role >= 0 && role < GKA_ROLE_COUNT ? names[role] : "?";
}

static gka_status_t fallback_queries(gka_trace_t *tr, const gka_load_options_t *opt) {
    size_t D = (size_t)tr->D;
    tr->q = malloc((size_t)tr->T * D * sizeof(double));
    if (!tr->q) return gka_error(GKA_ENOMEM, "loader: cannot allocate queries");
    for (long t = 0; t < tr->T; t++) {
        double *row = tr->q + (size_t)t * D;
        if (opt->missing_queries == GKA_QUERIES_NEXT_KEY) {
            long src = t + 1 < tr->T ? t + 1 : t;
            memcpy(row, tr->k + (size_t)src * D, D * sizeof(double));
        } else {
            for (size_t i = 0; i < D; i++)
                row[i] = gka_philox_normal(opt->seed, GKA_SYNTH_STREAM_QUERIES,
                                           ((uint64_t)t * D + i) * 2);
        }
    }
    return GKA_OK;
}

static gka_status_t check_gate_values(const gka_trace_t *tr, const char *const files[]) {
    for (long t = 0; tr->g && t < tr->T; t++)
        if (!(tr->g[t] <= 0.0))
            return gka_error(GKA_EINVAL, "%s: g[t=%ld] = %g > 0 (log gates must be <= 0)",
                             files[GKA_ROLE_G], t, tr->g[t]);
    for (long t = 0; tr->beta && t < tr->T; t++)
        if (!(tr->beta[t] > 0.0 && tr->beta[t] <= 1.0))
            return gka_error(GKA_EINVAL, "%s: beta[t=%ld] = %g is outside (0, 1]",
                             files[GKA_ROLE_BETA], t, tr->beta[t]);
    return GKA_OK;
}

static double **role_slot(gka_trace_t *tr, int role) {
    double **slots[GKA_ROLE_COUNT] = {&tr->q, &tr->k, &tr->v, &tr->g, &tr->beta};
    return slots[role];
}

gka_status_t gka_trace_from_views(const gka_array_view_t *const views[GKA_ROLE_COUNT],
                                  const char *const files_in[GKA_ROLE_COUNT],
                                  const gka_load_options_t *opt_in, const char *origin,
                                  gka_trace_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!views || !out) return gka_error(GKA_EINVAL, "loader: NULL argument");
    gka_load_options_t opt = opt_in ? *opt_in : gka_load_options_default();
    const char *files[GKA_ROLE_COUNT];
    for (int r = 0; r < GKA_ROLE_COUNT; r++)
        files[r] = files_in && files_in[r] ? files_in[r] : "<memory>";
    if (!views[GKA_ROLE_K])
        return gka_error(GKA_EINVAL, "%s: keys (k) are missing", files[GKA_ROLE_K]);
    if (!views[GKA_ROLE_Q] && opt.missing_queries != GKA_QUERIES_IID &&
        opt.missing_queries != GKA_QUERIES_NEXT_KEY)
        return gka_error(GKA_EINVAL, "loader: missing queries must be 'iid' or 'next'");
    static const int order[GKA_ROLE_COUNT] = {GKA_ROLE_K, GKA_ROLE_Q, GKA_ROLE_V, GKA_ROLE_G,
                                              GKA_ROLE_BETA};
    gka_status_t st = GKA_OK;
    for (int j = 0; j < GKA_ROLE_COUNT && !st; j++) {
        int r = order[j];
        if (!views[r]) continue;
        int rows = r == GKA_ROLE_Q || r == GKA_ROLE_K || r == GKA_ROLE_V;
        long T;
        int D;
        st = gka_array_to_double(views[r], files[r], gka_role_name(r), rows, opt.batch, opt.head,
                                 role_slot(out, r), &T, &D);
        if (st) break;
        if (r == GKA_ROLE_K) {
            out->T = T;
            out->D = D;
        } else if (rows && (T != out->T || D != out->D)) {
            st = gka_error(GKA_EINVAL, "%s: %s has T=%ld, D=%d but %s: k has T=%ld, D=%d", files[r],
                           gka_role_name(r), T, D, files[GKA_ROLE_K], out->T, out->D);
        } else if (T != out->T) {
            st = gka_error(GKA_EINVAL, "%s: %s has T=%ld but %s: k has T=%ld", files[r],
                           gka_role_name(r), T, files[GKA_ROLE_K], out->T);
        }
    }
    if (!st && opt.expect_D > 0 && out->D != opt.expect_D)
        st = gka_error(GKA_EINVAL,
                       "%s: k has D=%d but D=%d was asked for (drop --D or use a file "
                       "with D=%d)",
                       files[GKA_ROLE_K], out->D, opt.expect_D, opt.expect_D);
    if (!st && !out->q) {
        st = fallback_queries(out, &opt);
        out->queries_fallback = 1;
    }
    if (!st) st = check_gate_values(out, files);
    if (!st) st = gka_trace_validate(out);
    if (st) {
        gka_trace_free(out);
        return st;
    }
    snprintf(out->origin, sizeof out->origin, "%s", origin ? origin : "");
    out->batched = views[GKA_ROLE_K]->ndim == 4;
    return GKA_OK;
}
