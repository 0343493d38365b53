/* Seeded synthetic ridge streams (gka_data.h): keys with a prescribed
 * covariance spectrum, queries, values, decay gates and write gates. Every
 * random number is drawn from the counter-based Philox generator at a
 * position fixed by (stream, t, i), so the data depend on nothing but the
 * seed and the configuration. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"

/* ------------------------------------------------------------------------ */
/* Spec strings                                                             */
/* ------------------------------------------------------------------------ */

/* Split "name:args" into the name (copied into name, cap bytes) and args
 * (NULL when there is no ':'). */
static int split_spec(const char *s, char *name, size_t cap, const char **args) {
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (n + 1 > cap) return -1;
    memcpy(name, s, n);
    name[n] = '\0';
    *args = colon ? colon + 1 : NULL;
    return 0;
}

/* Comma-separated finite numbers, each consumed whole. Returns the count, or
 * -1 when a piece is empty, not a number, not finite, or there are more than
 * max pieces. */
static int parse_numbers(const char *args, double *out, int max) {
    int n = 0;
    const char *p = args;
    for (;;) {
        if (n >= max) return -1;
        char *end;
        errno = 0;
        if (*p == '\0' || *p == ',' || isspace((unsigned char)*p)) return -1;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(v)) return -1;
        out[n++] = v;
        if (*end == '\0') return n;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

static int is_count(double v, double lo, double hi) {
    return v >= lo && v <= hi && v == floor(v);
}

static gka_status_t spec_error(const char *what, const char *s, const char *expect) {
    return gka_error(GKA_EINVAL, "%s spec '%s' is invalid; expected %s", what, s, expect);
}

#define KEYS_EXPECT                                                                                \
    "iid, powerlaw:P (P >= 0), expdecay:S (S > 0), lowrank:R,NOISE (R >= 1, NOISE >= 0), "         \
    "repeated:M[,random|,cyclic] (M >= 1)"

gka_status_t gka_keys_spec_parse(const char *s, gka_keys_spec_t *out) {
    if (!s || !out) return gka_error(GKA_EINVAL, "keys spec: NULL argument");
    gka_keys_spec_t k;
    memset(&k, 0, sizeof k);
    char name[16];
    const char *args;
    double v[2];
    if (split_spec(s, name, sizeof name, &args)) return spec_error("keys", s, KEYS_EXPECT);
    if (strcmp(name, "iid") == 0 && !args) {
        k.kind = GKA_KEYS_IID;
    } else if (strcmp(name, "powerlaw") == 0 && args && parse_numbers(args, v, 1) == 1 &&
               v[0] >= 0) {
        k.kind = GKA_KEYS_POWERLAW;
        k.power = v[0];
    } else if (strcmp(name, "expdecay") == 0 && args && parse_numbers(args, v, 1) == 1 &&
               v[0] > 0) {
        k.kind = GKA_KEYS_EXPDECAY;
        k.scale = v[0];
    } else if (strcmp(name, "lowrank") == 0 && args && parse_numbers(args, v, 2) == 2 &&
               is_count(v[0], 1, (double)GKA_TRACE_D_MAX) && v[1] >= 0) {
        k.kind = GKA_KEYS_LOWRANK;
        k.rank = (int)v[0];
        k.noise = v[1];
    } else if (strcmp(name, "repeated") == 0 && args) {
        const char *comma = strchr(args, ',');
        char num[32];
        size_t n = comma ? (size_t)(comma - args) : strlen(args);
        if (n + 1 > sizeof num) return spec_error("keys", s, KEYS_EXPECT);
        memcpy(num, args, n);
        num[n] = '\0';
        if (parse_numbers(num, v, 1) != 1 || !is_count(v[0], 1, (double)GKA_TRACE_T_MAX))
            return spec_error("keys", s, KEYS_EXPECT);
        if (comma && strcmp(comma + 1, "random") == 0)
            k.pool_random = 1;
        else if (comma && strcmp(comma + 1, "cyclic") != 0)
            return spec_error("keys", s, KEYS_EXPECT);
        k.kind = GKA_KEYS_REPEATED;
        k.pool = (long)v[0];
    } else {
        return spec_error("keys", s, KEYS_EXPECT);
    }
    *out = k;
    return GKA_OK;
}

void gka_keys_spec_format(const gka_keys_spec_t *k, char *buf, size_t size) {
    switch (k->kind) {
    case GKA_KEYS_POWERLAW:
        snprintf(buf, size, "powerlaw:%.17g", k->power);
        break;
    case GKA_KEYS_EXPDECAY:
        snprintf(buf, size, "expdecay:%.17g", k->scale);
        break;
    case GKA_KEYS_LOWRANK:
        snprintf(buf, size, "lowrank:%d,%.17g", k->rank, k->noise);
        break;
    case GKA_KEYS_REPEATED:
        snprintf(buf, size, "repeated:%ld,%s", k->pool, k->pool_random ? "random" : "cyclic");
        break;
    default:
        snprintf(buf, size, "iid");
    }
}

gka_status_t gka_queries_spec_parse(const char *s, gka_queries_kind_t *out) {
    if (!s || !out) return gka_error(GKA_EINVAL, "queries spec: NULL argument");
    if (strcmp(s, "iid") == 0)
        *out = GKA_QUERIES_IID;
    else if (strcmp(s, "keys") == 0)
        *out = GKA_QUERIES_LIKE_KEYS;
    else if (strcmp(s, "next") == 0)
        *out = GKA_QUERIES_NEXT_KEY;
    else
        return spec_error("queries", s, "iid, keys or next");
    return GKA_OK;
}

static const char *queries_name(gka_queries_kind_t q) {
    return q == GKA_QUERIES_LIKE_KEYS ? "keys" : q == GKA_QUERIES_NEXT_KEY ? "next" : "iid";
}

static int gate_ok(const gka_gate_spec_t *g) {
    switch (g->kind) {
    case GKA_GATE_NONE:
        return 1;
    case GKA_GATE_CONST:
        return g->gamma > 0 && g->gamma <= 1;
    case GKA_GATE_UNIFORM:
        return g->lo > 0 && g->lo <= g->hi && g->hi <= 1;
    case GKA_GATE_GKA:
        return isfinite(g->A) && g->A >= 0 && isfinite(g->dt_bias);
    default:
        return 0;
    }
}

#define GATE_EXPECT                                                                                \
    "none, const:GAMMA (0 < GAMMA <= 1), uniform:LO,HI (0 < LO <= HI <= 1), gka, gka:A or "        \
    "gka:A,DT_BIAS (A >= 0, 0 = draw)"

gka_status_t gka_gate_spec_parse(const char *s, gka_gate_spec_t *out) {
    if (!s || !out) return gka_error(GKA_EINVAL, "gate spec: NULL argument");
    gka_gate_spec_t g;
    memset(&g, 0, sizeof g);
    g.dt_bias = GKA_GATE_DEFAULT_DT_BIAS;
    char name[16];
    const char *args;
    double v[2];
    int n = 0;
    if (split_spec(s, name, sizeof name, &args)) return spec_error("gate", s, GATE_EXPECT);
    if (args && (n = parse_numbers(args, v, 2)) < 1) return spec_error("gate", s, GATE_EXPECT);
    if (strcmp(name, "none") == 0 && !args) {
        g.kind = GKA_GATE_NONE;
    } else if (strcmp(name, "const") == 0 && n == 1) {
        g.kind = GKA_GATE_CONST;
        g.gamma = v[0];
    } else if (strcmp(name, "uniform") == 0 && n == 2) {
        g.kind = GKA_GATE_UNIFORM;
        g.lo = v[0];
        g.hi = v[1];
    } else if (strcmp(name, "gka") == 0) {
        g.kind = GKA_GATE_GKA;
        if (n >= 1) g.A = v[0];
        if (n == 2) g.dt_bias = v[1];
    } else {
        return spec_error("gate", s, GATE_EXPECT);
    }
    if (!gate_ok(&g)) return spec_error("gate", s, GATE_EXPECT);
    *out = g;
    return GKA_OK;
}

void gka_gate_spec_format(const gka_gate_spec_t *g, char *buf, size_t size) {
    switch (g->kind) {
    case GKA_GATE_CONST:
        snprintf(buf, size, "const:%.17g", g->gamma);
        break;
    case GKA_GATE_UNIFORM:
        snprintf(buf, size, "uniform:%.17g,%.17g", g->lo, g->hi);
        break;
    case GKA_GATE_GKA:
        snprintf(buf, size, "gka:%.17g,%.17g", g->A, g->dt_bias);
        break;
    default:
        snprintf(buf, size, "none");
    }
}

gka_status_t gka_beta_spec_parse(const char *s, gka_beta_spec_t *out) {
    if (!s || !out) return gka_error(GKA_EINVAL, "beta spec: NULL argument");
    gka_beta_spec_t b = {GKA_BETA_NONE, 1.0};
    char name[16];
    const char *args;
    double v[1];
    static const char expect[] = "none, sigmoid or sigmoid:SCALE (finite)";
    if (split_spec(s, name, sizeof name, &args)) return spec_error("beta", s, expect);
    if (strcmp(name, "none") == 0 && !args) {
        b.kind = GKA_BETA_NONE;
    } else if (strcmp(name, "sigmoid") == 0 && (!args || parse_numbers(args, v, 1) == 1)) {
        b.kind = GKA_BETA_SIGMOID;
        if (args) b.scale = v[0];
    } else {
        return spec_error("beta", s, expect);
    }
    *out = b;
    return GKA_OK;
}

void gka_beta_spec_format(const gka_beta_spec_t *b, char *buf, size_t size) {
    if (b->kind == GKA_BETA_SIGMOID)
        snprintf(buf, size, "sigmoid:%.17g", b->scale);
    else
        snprintf(buf, size, "none");
}

/* ------------------------------------------------------------------------ */
/* Spectrum and basis                                                       */
/* ------------------------------------------------------------------------ */

gka_status_t gka_keys_spectrum(const gka_keys_spec_t *spec, int D, double *lambda) {
    if (!spec || !lambda || D < 1 || D > GKA_TRACE_D_MAX)
        return gka_error(GKA_EINVAL, "keys spectrum: bad argument (D=%d)", D);
    if (spec->kind == GKA_KEYS_LOWRANK && (spec->rank < 1 || spec->rank > D))
        return gka_error(GKA_EINVAL, "keys: lowrank rank %d must be in [1, D=%d]", spec->rank, D);
    if ((spec->kind == GKA_KEYS_POWERLAW && !(spec->power >= 0 && isfinite(spec->power))) ||
        (spec->kind == GKA_KEYS_EXPDECAY && !(spec->scale > 0 && isfinite(spec->scale))) ||
        (spec->kind == GKA_KEYS_LOWRANK && !(spec->noise >= 0 && isfinite(spec->noise))) ||
        (spec->kind == GKA_KEYS_REPEATED && spec->pool < 1) || spec->kind < GKA_KEYS_IID ||
        spec->kind > GKA_KEYS_REPEATED)
        return gka_error(GKA_EINVAL, "keys: invalid spec (kind %d)", (int)spec->kind);
    for (int i = 0; i < D; i++) {
        double idx = (double)(i + 1);
        switch (spec->kind) {
        case GKA_KEYS_POWERLAW:
            lambda[i] = pow(idx, -spec->power);
            break;
        case GKA_KEYS_EXPDECAY:
            lambda[i] = exp(-(double)i / spec->scale);
            break;
        case GKA_KEYS_LOWRANK:
            lambda[i] = (i < spec->rank ? 1.0 : 0.0) + spec->noise * spec->noise;
            break;
        default:
            lambda[i] = 1.0;
        }
    }
    return GKA_OK;
}

/* Householder reflector for x (length n): v (v[0] adjusted in place in x),
 * tau = 2 / v.v, and the resulting diagonal entry alpha = -sign(x0) ||x||. */
static double householder(double *x, int n, double *alpha) {
    double amax = 0.0;
    for (int i = 0; i < n; i++)
        amax = fmax(amax, fabs(x[i]));
    if (amax == 0.0) {
        *alpha = 0.0;
        return 0.0;
    }
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (x[i] / amax) * (x[i] / amax);
    double norm = amax * sqrt(s);
    *alpha = x[0] >= 0 ? -norm : norm;
    x[0] -= *alpha;
    double vv = 0.0;
    for (int i = 0; i < n; i++)
        vv += x[i] * x[i];
    return 2.0 / vv;
}

gka_status_t gka_synth_basis(int D, uint64_t seed, double *Q) {
    if (D < 1 || D > GKA_TRACE_D_MAX || !Q)
        return gka_error(GKA_EINVAL, "synth basis: bad argument (D=%d)", D);
    size_t n = (size_t)D;
    double *A = malloc(n * n * sizeof *A), *col = malloc(n * sizeof *col),
           *V = malloc(n * n * sizeof *V), *tau = malloc(n * sizeof *tau),
           *sgn = malloc(n * sizeof *sgn);
    if (!A || !col || !V || !tau || !sgn) {
        free(A), free(col), free(V), free(tau), free(sgn);
        return gka_error(GKA_ENOMEM, "synth basis: cannot allocate D=%d", D);
    }
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++)
            A[r * n + c] = gka_philox_normal(seed, GKA_SYNTH_STREAM_BASIS, (r * n + c) * 2);
    /* A = Q R by Householder reflections; reflector k is stored in V[k*n + k ..]. */
    for (size_t k = 0; k < n; k++) {
        size_t m = n - k;
        for (size_t i = 0; i < m; i++)
            col[i] = A[(k + i) * n + k];
        double alpha;
        tau[k] = householder(col, (int)m, &alpha);
        sgn[k] = alpha < 0 ? -1.0 : 1.0;
        for (size_t i = 0; i < m; i++)
            V[k * n + k + i] = col[i];
        for (size_t c = k; c < n && tau[k] != 0.0; c++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += col[i] * A[(k + i) * n + c];
            s *= tau[k];
            for (size_t i = 0; i < m; i++)
                A[(k + i) * n + c] -= s * col[i];
        }
    }
    /* Q = H_0 H_1 ... H_{n-1}, accumulated from the right end onto I. */
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++)
            Q[r * n + c] = r == c ? 1.0 : 0.0;
    for (size_t kk = n; kk-- > 0;) {
        const double *v = V + kk * n + kk;
        size_t m = n - kk;
        for (size_t c = kk; c < n && tau[kk] != 0.0; c++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += v[i] * Q[(kk + i) * n + c];
            s *= tau[kk];
            for (size_t i = 0; i < m; i++)
                Q[(kk + i) * n + c] -= s * v[i];
        }
    }
    /* Haar measure: make diag(R) positive by flipping the columns of Q. */
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++)
            Q[r * n + c] *= sgn[c];
    free(A), free(col), free(V), free(tau), free(sgn);
    return GKA_OK;
}

/* ------------------------------------------------------------------------ */
/* Gates                                                                    */
/* ------------------------------------------------------------------------ */

double gka_gate_A(const gka_gate_spec_t *spec, uint64_t seed) {
    if (spec->A > 0) return spec->A;
    double u = gka_philox_uniform(seed, GKA_SYNTH_STREAM_GATE_A, 0);
    return GKA_GATE_A_MIN * pow(GKA_GATE_A_MAX / GKA_GATE_A_MIN, u);
}

static double softplus(double x) {
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static void fill_gates(const gka_synth_config_t *cfg, double *g) {
    const gka_gate_spec_t *s = &cfg->gate;
    double A = gka_gate_A(s, cfg->seed);
    for (long t = 0; t < cfg->T; t++) {
        uint64_t c = (uint64_t)t * 2;
        if (s->kind == GKA_GATE_CONST) {
            g[t] = log(s->gamma);
        } else if (s->kind == GKA_GATE_UNIFORM) {
            double u = gka_philox_uniform(cfg->seed, GKA_SYNTH_STREAM_GATES, c);
            g[t] = log(s->lo + (s->hi - s->lo) * u);
        } else {
            double z = gka_philox_normal(cfg->seed, GKA_SYNTH_STREAM_GATES, c);
            g[t] = -A * softplus(z + s->dt_bias);
        }
    }
}

static void fill_beta(const gka_synth_config_t *cfg, const double *k, double *beta, double *w) {
    size_t D = (size_t)cfg->D;
    for (size_t i = 0; i < D; i++)
        w[i] = gka_philox_normal(cfg->seed, GKA_SYNTH_STREAM_BETA, i * 2);
    for (long t = 0; t < cfg->T; t++) {
        const double *row = k + (size_t)t * D;
        double s = 0.0;
        for (size_t i = 0; i < D; i++)
            s += w[i] * row[i];
        double x = fmin(30.0, fmax(-30.0, cfg->beta.scale * s));
        beta[t] = 1.0 / (1.0 + exp(-x));
    }
}

/* ------------------------------------------------------------------------ */
/* Keys and queries                                                         */
/* ------------------------------------------------------------------------ */

static void normals_row(uint64_t seed, uint64_t stream, long t, size_t D, double *out) {
    for (size_t i = 0; i < D; i++)
        out[i] = gka_philox_normal(seed, stream, ((uint64_t)t * D + i) * 2);
}

/* row = M z, M = Q diag(sqrt(lambda)), z standard normal from (stream, t). */
static void correlated_row(const double *M, uint64_t seed, uint64_t stream, long t, size_t D,
                           double *z, double *row) {
    normals_row(seed, stream, t, D, z);
    for (size_t r = 0; r < D; r++) {
        double s = 0.0;
        for (size_t i = 0; i < D; i++)
            s += M[r * D + i] * z[i];
        row[r] = s;
    }
}

static long pool_index(const gka_keys_spec_t *k, uint64_t seed, uint64_t stream, long t,
                       int random) {
    if (!random) return t % k->pool;
    long j = (long)(gka_philox_uniform(seed, stream, (uint64_t)t * 2) * (double)k->pool);
    return j < k->pool ? j : k->pool - 1;
}

typedef struct work {
    double *M; /* D x D: Q diag(sqrt(lambda)) (correlated kinds) */
    double *z; /* D */
} work_t;

static gka_status_t prepare_basis(const gka_synth_config_t *cfg, work_t *w) {
    size_t D = (size_t)cfg->D;
    w->z = malloc(D * sizeof(double));
    if (!w->z) return gka_error(GKA_ENOMEM, "synth: cannot allocate");
    gka_keys_kind_t kind = cfg->keys.kind;
    if (kind != GKA_KEYS_POWERLAW && kind != GKA_KEYS_EXPDECAY && kind != GKA_KEYS_LOWRANK)
        return GKA_OK;
    double *lambda = malloc(D * sizeof(double));
    w->M = malloc(D * D * sizeof(double));
    if (!lambda || !w->M) {
        free(lambda);
        return gka_error(GKA_ENOMEM, "synth: cannot allocate the D=%zu basis", D);
    }
    gka_status_t st = gka_keys_spectrum(&cfg->keys, cfg->D, lambda);
    if (!st) st = gka_synth_basis(cfg->D, cfg->seed, w->M);
    for (size_t r = 0; !st && r < D; r++)
        for (size_t c = 0; c < D; c++)
            w->M[r * D + c] *= sqrt(lambda[c]);
    free(lambda);
    return st;
}

static void fill_keys(const gka_synth_config_t *cfg, const work_t *w, double *k) {
    size_t D = (size_t)cfg->D;
    const gka_keys_spec_t *ks = &cfg->keys;
    for (long t = 0; t < cfg->T; t++) {
        double *row = k + (size_t)t * D;
        if (w->M) {
            correlated_row(w->M, cfg->seed, GKA_SYNTH_STREAM_KEYS, t, D, w->z, row);
        } else if (ks->kind == GKA_KEYS_REPEATED) {
            long j = pool_index(ks, cfg->seed, GKA_SYNTH_STREAM_POOL_INDEX, t, ks->pool_random);
            normals_row(cfg->seed, GKA_SYNTH_STREAM_POOL, j, D, row);
        } else {
            normals_row(cfg->seed, GKA_SYNTH_STREAM_KEYS, t, D, row);
        }
    }
}

static void fill_queries(const gka_synth_config_t *cfg, const work_t *w, const double *k,
                         double *q) {
    size_t D = (size_t)cfg->D;
    const gka_keys_spec_t *ks = &cfg->keys;
    for (long t = 0; t < cfg->T; t++) {
        double *row = q + (size_t)t * D;
        if (cfg->queries == GKA_QUERIES_NEXT_KEY) {
            long src = t + 1 < cfg->T ? t + 1 : t;
            memcpy(row, k + (size_t)src * D, D * sizeof(double));
        } else if (cfg->queries == GKA_QUERIES_LIKE_KEYS && w->M) {
            correlated_row(w->M, cfg->seed, GKA_SYNTH_STREAM_QUERIES, t, D, w->z, row);
        } else if (cfg->queries == GKA_QUERIES_LIKE_KEYS && ks->kind == GKA_KEYS_REPEATED) {
            long j = pool_index(ks, cfg->seed, GKA_SYNTH_STREAM_QUERY_INDEX, t, 1);
            normals_row(cfg->seed, GKA_SYNTH_STREAM_POOL, j, D, row);
        } else {
            normals_row(cfg->seed, GKA_SYNTH_STREAM_QUERIES, t, D, row);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Generation                                                               */
/* ------------------------------------------------------------------------ */

gka_synth_config_t gka_synth_config_default(int D, long T, uint64_t seed) {
    gka_synth_config_t c;
    memset(&c, 0, sizeof c);
    c.D = D;
    c.T = T;
    c.seed = seed;
    c.keys.kind = GKA_KEYS_IID;
    c.queries = GKA_QUERIES_IID;
    c.gate.kind = GKA_GATE_NONE;
    c.gate.dt_bias = GKA_GATE_DEFAULT_DT_BIAS;
    c.beta.kind = GKA_BETA_NONE;
    c.beta.scale = 1.0;
    c.normalize = 1;
    return c;
}

static gka_status_t check_config(const gka_synth_config_t *cfg) {
    double *lambda =
        malloc((size_t)(cfg->D > 0 && cfg->D <= GKA_TRACE_D_MAX ? cfg->D : 1) * sizeof(double));
    if (!lambda) return gka_error(GKA_ENOMEM, "synth: cannot allocate");
    gka_status_t st = gka_keys_spectrum(&cfg->keys, cfg->D, lambda);
    free(lambda);
    if (st) return st;
    if (cfg->queries < GKA_QUERIES_IID || cfg->queries > GKA_QUERIES_NEXT_KEY)
        return gka_error(GKA_EINVAL, "synth: invalid queries kind %d", (int)cfg->queries);
    if (!gate_ok(&cfg->gate))
        return gka_error(GKA_EINVAL, "synth: invalid gate spec (kind %d)", (int)cfg->gate.kind);
    if (cfg->beta.kind != GKA_BETA_NONE &&
        !(cfg->beta.kind == GKA_BETA_SIGMOID && isfinite(cfg->beta.scale)))
        return gka_error(GKA_EINVAL, "synth: invalid beta spec (kind %d)", (int)cfg->beta.kind);
    return GKA_OK;
}

static void describe(const gka_synth_config_t *cfg, char *buf, size_t size) {
    char k[64], g[96], b[48];
    gka_keys_spec_format(&cfg->keys, k, sizeof k);
    gka_gate_spec_format(&cfg->gate, g, sizeof g);
    gka_beta_spec_format(&cfg->beta, b, sizeof b);
    snprintf(buf, size, "synth:keys=%s,queries=%s,gate=%s,beta=%s,norm=%d,seed=%llu", k,
             queries_name(cfg->queries), g, b, cfg->normalize, (unsigned long long)cfg->seed);
}

gka_status_t gka_synth_generate(const gka_synth_config_t *cfg, gka_trace_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!cfg || !out) return gka_error(GKA_EINVAL, "synth: NULL argument");
    gka_status_t st = check_config(cfg);
    if (st) return st;
    unsigned with = (cfg->with_values ? GKA_TRACE_WITH_V : 0u) |
                    (cfg->gate.kind != GKA_GATE_NONE ? GKA_TRACE_WITH_G : 0u) |
                    (cfg->beta.kind != GKA_BETA_NONE ? GKA_TRACE_WITH_BETA : 0u);
    if ((st = gka_trace_alloc(out, cfg->D, cfg->T, with))) return st;
    work_t w = {NULL, NULL};
    st = prepare_basis(cfg, &w);
    if (!st) {
        fill_keys(cfg, &w, out->k);
        fill_queries(cfg, &w, out->k, out->q);
        if (cfg->normalize) gka_trace_normalize(out);
        for (long t = 0; out->v && t < cfg->T; t++)
            normals_row(cfg->seed, GKA_SYNTH_STREAM_VALUES, t, (size_t)cfg->D,
                        out->v + (size_t)t * (size_t)cfg->D);
        if (out->g) fill_gates(cfg, out->g);
        if (out->beta) fill_beta(cfg, out->k, out->beta, w.z);
        describe(cfg, out->origin, sizeof out->origin);
        st = gka_trace_validate(out);
    }
    free(w.M);
    free(w.z);
    if (st) gka_trace_free(out);
    return st;
}
