/* The ridge stream: H_t, U_t, ||H_t||_F and lambda_t in a studied arithmetic,
 * with an fp64 mirror of the same problem built from the same rounded inputs
 * (the reference problem). */
#include "solver_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gka_status_t gka_ridge_parse(const char *spec, gka_ridge_t *out) {
    if (!spec || !out) return gka_error(GKA_EINVAL, "ridge: NULL spec");
    static const struct {
        const char *prefix;
        gka_ridge_kind_t kind;
    } kinds[] = {{"fixed:", GKA_RIDGE_FIXED},
                 {"adaptive:", GKA_RIDGE_ADAPTIVE},
                 {"decay:", GKA_RIDGE_DECAY}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(spec, kinds[i].prefix, n) != 0) continue;
        const char *num = spec + n;
        char *end = NULL;
        errno = 0;
        double v = strtod(num, &end);
        if (!*num || *end || errno == ERANGE || !isfinite(v))
            return gka_error(GKA_EINVAL, "ridge '%s': '%s' is not a finite number", spec, num);
        if (kinds[i].kind == GKA_RIDGE_FIXED ? v < 0.0 : v <= 0.0)
            return gka_error(GKA_EINVAL, "ridge '%s': value must be %s", spec,
                             kinds[i].kind == GKA_RIDGE_FIXED ? ">= 0" : "> 0");
        out->kind = kinds[i].kind;
        out->value = v;
        return GKA_OK;
    }
    return gka_error(GKA_EINVAL, "ridge '%s': expected fixed:LAMBDA, adaptive:A or decay:LAMBDA0",
                     spec);
}

void gka_ridge_format(const gka_ridge_t *ridge, char *buf, size_t n) {
    static const char *names[] = {"fixed", "adaptive", "decay"};
    snprintf(buf, n, "%s:%.17g", names[ridge->kind], ridge->value);
}

static int fp32_gates(const gka_arith_t *ar);

void gka_stream_destroy(gka_stream_t *st) {
    if (!st) return;
    gka_arith_t *ar = st->A;
    size_t DD = (size_t)st->D * (size_t)st->D;
    if (st->H) ar->free(ar, st->H, DD);
    if (st->U) ar->free(ar, st->U, DD);
    if (st->q) ar->free(ar, st->q, (size_t)st->D);
    if (st->k) ar->free(ar, st->k, (size_t)st->D);
    if (st->tmp) ar->free(ar, st->tmp, (size_t)st->D);
    void *scalars[] = {st->gamma, st->beta2, st->hnorm, st->lambda, st->ridge_value, st->one};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        gka_scalar_free(ar, scalars[i]);
    free(st->H64);
    free(st->fbuf);
    free(st->q64);
    free(st->k64);
    free(st);
}

gka_status_t gka_stream_create(gka_stream_t **out, gka_arith_t *ar, int D, const gka_ridge_t *ridge,
                               int with_U) {
    if (!out || !ar || !ridge) return gka_error(GKA_EINVAL, "gka_stream_create: NULL argument");
    *out = NULL;
    if (D < 1 || D > GKA_D_MAX)
        return gka_error(GKA_EINVAL, "stream: D = %d out of range [1, %d]", D, GKA_D_MAX);
    if (ridge->kind > GKA_RIDGE_DECAY || !isfinite(ridge->value) || ridge->value < 0.0)
        return gka_error(GKA_EINVAL, "stream: invalid ridge value %g", ridge->value);
    gka_stream_t *st = calloc(1, sizeof *st);
    if (!st) return gka_error(GKA_ENOMEM, "stream: out of memory");
    st->A = ar;
    st->D = D;
    st->ridge = *ridge;
    size_t n = (size_t)D, DD = n * n;
    st->H = ar->alloc(ar, DD);
    st->U = with_U ? ar->alloc(ar, DD) : NULL;
    st->q = ar->alloc(ar, n);
    st->k = ar->alloc(ar, n);
    st->tmp = ar->alloc(ar, n);
    st->gamma = gka_scalar_new(ar, 1.0);
    st->beta2 = gka_scalar_new(ar, 1.0);
    st->hnorm = gka_scalar_new(ar, 0.0);
    st->ridge_value = gka_scalar_new(ar, ridge->value);
    st->lambda = gka_scalar_new(ar, ridge->kind == GKA_RIDGE_ADAPTIVE ? 0.0 : ridge->value);
    st->one = gka_scalar_new(ar, 1.0);
    st->H64 = calloc(DD, sizeof(double));
    st->fbuf = fp32_gates(ar) ? malloc(DD * sizeof(float)) : NULL;
    st->q64 = calloc(n, sizeof(double));
    st->k64 = calloc(n, sizeof(double));
    if (!st->H || (with_U && !st->U) || !st->q || !st->k || !st->tmp || !st->gamma || !st->beta2 ||
        !st->hnorm || !st->ridge_value || !st->lambda || !st->one || !st->H64 || !st->q64 ||
        !st->k64 || (fp32_gates(ar) && !st->fbuf)) {
        gka_stream_destroy(st);
        return gka_error(GKA_ENOMEM, "stream: out of memory for D = %d", D);
    }
    st->gamma64 = 1.0;
    st->beta2_64 = 1.0;
    st->lambda64 = ridge->kind == GKA_RIDGE_ADAPTIVE ? 0.0 : ridge->value;
    st->lambda_init = ridge->value;
    *out = st;
    return GKA_OK;
}

/* Emulated tables narrower than fp32: elements are doubles holding format
 * values, and the gate is kept in fp32 (as the reference kernels keep their
 * gates), so that a bf16 stream does not round gamma = 0.9975 to 0.9961. */
static int fp32_gates(const gka_arith_t *ar) {
    return ar->mpfr_prec == 0 && ar->elem_size == sizeof(double) && ar->store.format.t < 24;
}

/* x_j = round(gamma x_j) as a kernel does it: the product in fp32, then
 * one rounding to the storage format (through the float fast path when the
 * format lies inside float's range, else from the exact product in double).
 * The flags of that rounding go to ar->events like the table's own. */
static void decay_fp32_gate(gka_arith_t *ar, double gamma, void *x, size_t n, float *buf) {
    double *v = x;
    const gka_format_t *f = &ar->store.format;
    if (f->emax > 127 || f->emin < -126) {
        for (size_t i = 0; i < n; i++)
            v[i] = gamma * v[i];
        ar->from_double(ar, x, v, n);
        return;
    }
    const float gf = (float)gamma;
    for (size_t i = 0; i < n; i++)
        buf[i] = gf * (float)v[i];
    ar->store.flags = 0;
    gka_round_array_f32(buf, buf, n, &ar->store);
    ar->events |= ar->store.flags;
    for (size_t i = 0; i < n; i++)
        v[i] = (double)buf[i];
}

int gka_gate_fp32(const gka_arith_t *ar) {
    return fp32_gates(ar);
}

void gka_gate_element(gka_arith_t *ar, double gamma, void *dst) {
    if (fp32_gates(ar)) { /* the element is a double: it holds the fp32 gate unrounded */
        gka_rounding_t r32 = gka_rounding_default(&gka_fp32);
        *(double *)dst = gka_round(gamma, &r32);
        return;
    }
    ar->set_d(ar, dst, gamma);
}

/* The one gate decay x_j = gamma x_j of the stream and of gka_gate_scale:
 * the fp32 gate for fp32-gate tables (buf: n floats), else the table's scal
 * by the element gamma (whose value is gamma64). */
static void decay_by_gate(gka_arith_t *ar, double gamma64, const void *gamma, void *x, size_t n,
                          float *buf) {
    if (fp32_gates(ar))
        decay_fp32_gate(ar, gamma64, x, n, buf);
    else
        ar->scal(ar, n, gamma, x);
}

gka_status_t gka_gate_scale(gka_arith_t *ar, double gamma64, void *x, size_t n) {
    float *buf = fp32_gates(ar) ? malloc((n ? n : 1) * sizeof *buf) : NULL;
    void *g = fp32_gates(ar) ? NULL : gka_scalar_new(ar, gamma64);
    if (!buf && !g) return gka_error(GKA_ENOMEM, "gate: out of memory (n = %zu)", n);
    decay_by_gate(ar, gamma64, g, x, n, buf);
    free(buf);
    gka_scalar_free(ar, g);
    return GKA_OK;
}

static double frobenius64(const double *H, size_t DD) {
    double s = 0.0;
    for (size_t i = 0; i < DD; i++)
        s += H[i] * H[i];
    return sqrt(s);
}

/* ||H||_F and lambda in both the studied arithmetic and the mirror. */
static void update_norms(gka_stream_t *st) {
    gka_arith_t *ar = st->A;
    size_t DD = (size_t)st->D * (size_t)st->D;
    ar->nrm2(ar, st->hnorm, DD, st->H);
    st->hnorm64 = frobenius64(st->H64, DD);
    if (st->ridge.kind == GKA_RIDGE_ADAPTIVE) {
        ar->mul(ar, st->lambda, st->ridge_value, st->hnorm);
        st->lambda64 = st->ridge.value * st->hnorm64;
    }
}

gka_status_t gka_stream_push(gka_stream_t *st, const double *q, const double *k, double g,
                             double beta, const double *v) {
    if (!st || !q || !k) return gka_error(GKA_EINVAL, "gka_stream_push: NULL argument");
    if (g > 0.0 || isnan(g))
        return gka_error(GKA_EINVAL, "stream token %ld: log-gate g = %g must be <= 0", st->t, g);
    if (!isfinite(beta))
        return gka_error(GKA_EINVAL, "stream token %ld: beta = %g is not finite", st->t, beta);
    if (st->U && !v)
        return gka_error(GKA_EINVAL, "stream token %ld: stream keeps U_t but v is NULL", st->t);
    gka_arith_t *ar = st->A;
    const int D = st->D;
    const size_t n = (size_t)D, DD = n * n;
    ar->from_double(ar, st->q, q, n);
    ar->to_double(ar, st->q64, st->q, n);
    ar->from_double(ar, st->k, k, n);
    ar->to_double(ar, st->k64, st->k, n);
    const int wide_gate = fp32_gates(ar);
    if (wide_gate) {
        gka_rounding_t r32 = gka_rounding_default(&gka_fp32);
        st->gamma64 = g == 0.0 ? 1.0 : gka_round(exp(g), &r32);
        ar->set_d(ar, st->gamma, st->gamma64); /* element form, for solvers (Kalman) */
    } else {
        ar->set_d(ar, st->gamma, g == 0.0 ? 1.0 : exp(g));
        st->gamma64 = ar->get_d(ar, st->gamma);
    }
    ar->set_d(ar, st->beta2, beta);
    const double beta64 = ar->get_d(ar, st->beta2);
    ar->mul(ar, st->beta2, st->beta2, st->beta2);
    st->beta2_64 = beta64 * beta64;
    const int decays = st->gamma64 != 1.0;

    /* studied arithmetic: H = gamma H + beta^2 k k^T */
    if (decays) decay_by_gate(ar, st->gamma64, st->gamma, st->H, DD, st->fbuf);
    ar->syr(ar, n, st->beta2, st->k, st->H);
    if (st->U) {
        ar->from_double(ar, st->tmp, v, n);
        if (decays) decay_by_gate(ar, st->gamma64, st->gamma, st->U, DD, st->fbuf);
        void *c = ar->alloc(ar, 1);
        if (!c) return gka_error(GKA_ENOMEM, "stream: out of memory");
        for (int i = 0; i < D; i++) {
            ar->mul(ar, c, st->beta2, GKA_CELEM(ar, st->tmp, i));
            ar->axpy(ar, n, c, st->k, GKA_ELEM(ar, st->U, (size_t)i * n));
        }
        ar->free(ar, c, 1);
    }
    if (st->ridge.kind == GKA_RIDGE_DECAY && wide_gate)
        decay_fp32_gate(ar, st->gamma64, st->lambda, 1, st->fbuf);
    else if (st->ridge.kind == GKA_RIDGE_DECAY)
        ar->mul(ar, st->lambda, st->gamma, st->lambda);

    /* fp64 mirror; beta^2 (k_i k_j) keeps it exactly symmetric */
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double *h = &st->H64[(size_t)i * n + (size_t)j];
            *h = st->gamma64 * *h + st->beta2_64 * (st->k64[i] * st->k64[j]);
        }
    if (st->ridge.kind == GKA_RIDGE_DECAY) st->lambda64 *= st->gamma64;
    update_norms(st);
    if (st->t == 0 && st->ridge.kind == GKA_RIDGE_ADAPTIVE)
        st->lambda_init = ar->get_d(ar, st->lambda);
    st->t++;
    return GKA_OK;
}

gka_status_t gka_stream_set_H(gka_stream_t *st, const double *H) {
    if (!st || !H) return gka_error(GKA_EINVAL, "gka_stream_set_H: NULL argument");
    const size_t n = (size_t)st->D, DD = n * n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (H[i * n + j] != H[j * n + i] && !(isnan(H[i * n + j]) && isnan(H[j * n + i])))
                return gka_error(GKA_EINVAL, "gka_stream_set_H: H[%zu][%zu] != H[%zu][%zu]", i, j,
                                 j, i);
    st->A->from_double(st->A, st->H, H, DD);
    st->A->to_double(st->A, st->H64, st->H, DD);
    update_norms(st);
    if (st->t == 0 && st->ridge.kind == GKA_RIDGE_ADAPTIVE)
        st->lambda_init = st->A->get_d(st->A, st->lambda);
    return GKA_OK;
}

gka_status_t gka_stream_set_query(gka_stream_t *st, const double *q) {
    if (!st || !q) return gka_error(GKA_EINVAL, "gka_stream_set_query: NULL argument");
    st->A->from_double(st->A, st->q, q, (size_t)st->D);
    st->A->to_double(st->A, st->q64, st->q, (size_t)st->D);
    return GKA_OK;
}

double gka_stream_rel_residual64(const gka_stream_t *st, const void *x, double *x64) {
    st->A->to_double(st->A, x64, x, (size_t)st->D);
    return gka_stream_rel_residual64_d(st, x64);
}

double gka_stream_rel_residual64_d(const gka_stream_t *st, const double *x64) {
    const size_t n = (size_t)st->D;
    double rr = 0.0, qq = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = st->lambda64 * x64[i] - st->q64[i];
        for (size_t j = 0; j < n; j++)
            s += st->H64[i * n + j] * x64[j];
        rr += s * s;
        qq += st->q64[i] * st->q64[i];
    }
    return qq > 0.0 ? sqrt(rr / qq) : sqrt(rr);
}

void gka_stream_matvec(const gka_stream_t *st, const void *x, void *y) {
    gka_arith_t *ar = st->A;
    const size_t n = (size_t)st->D;
    ar->gemv(ar, n, n, st->one, st->H, x, NULL, y);
    ar->axpy(ar, n, st->lambda, x, y);
}
