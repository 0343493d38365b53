/* Synthetic ridge streams (experiments/data/synth.c): spec parsing, determinism per
 * seed and independence of T, normalisation, the covariance spectrum of the
 * correlated keys against the prescription (eigenvalues of the sample
 * covariance by LAPACKE_dsyev), repeated keys, gate and beta formulas
 * against direct computations. */
#include <criterion/criterion.h>

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"

static void assert_msg_has(const char *needle) {
    cr_assert(strstr(gka_error_message(), needle), "message '%s' lacks '%s'", gka_error_message(),
              needle);
}

/* ------------------------------------------------------------------------ */
/* Spec strings                                                             */
/* ------------------------------------------------------------------------ */

Test(synth, keys_spec_parse_and_format) {
    gka_keys_spec_t k;
    cr_assert_eq(gka_keys_spec_parse("iid", &k), GKA_OK);
    cr_assert_eq(k.kind, GKA_KEYS_IID);
    cr_assert_eq(gka_keys_spec_parse("powerlaw:1.5", &k), GKA_OK);
    cr_assert(k.kind == GKA_KEYS_POWERLAW && k.power == 1.5);
    cr_assert_eq(gka_keys_spec_parse("expdecay:16", &k), GKA_OK);
    cr_assert(k.kind == GKA_KEYS_EXPDECAY && k.scale == 16);
    cr_assert_eq(gka_keys_spec_parse("lowrank:8,0.01", &k), GKA_OK);
    cr_assert(k.kind == GKA_KEYS_LOWRANK && k.rank == 8 && k.noise == 0.01);
    cr_assert_eq(gka_keys_spec_parse("repeated:32", &k), GKA_OK);
    cr_assert(k.kind == GKA_KEYS_REPEATED && k.pool == 32 && !k.pool_random);
    cr_assert_eq(gka_keys_spec_parse("repeated:5,random", &k), GKA_OK);
    cr_assert(k.pool == 5 && k.pool_random);
    const char *good[] = {"iid",         "powerlaw:0",     "powerlaw:2.25", "expdecay:0.5",
                          "lowrank:1,0", "lowrank:3,1e-3", "repeated:1",    "repeated:7,random"};
    for (size_t j = 0; j < sizeof good / sizeof good[0]; j++) {
        gka_keys_spec_t a, b;
        char buf[96];
        cr_assert_eq(gka_keys_spec_parse(good[j], &a), GKA_OK, "%s", good[j]);
        gka_keys_spec_format(&a, buf, sizeof buf);
        cr_assert_eq(gka_keys_spec_parse(buf, &b), GKA_OK, "%s -> %s", good[j], buf);
        cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "%s -> %s", good[j], buf);
    }
    const char *bad[] = {"",
                         "IID",
                         "iid:1",
                         "gauss",
                         "powerlaw",
                         "powerlaw:",
                         "powerlaw:-1",
                         "powerlaw:1,2",
                         "powerlaw:nan",
                         "powerlaw:inf",
                         "powerlaw:1x",
                         "powerlaw: 1",
                         "expdecay:0",
                         "expdecay:-3",
                         "lowrank:8",
                         "lowrank:0,0.1",
                         "lowrank:2.5,0.1",
                         "lowrank:8,-0.1",
                         "lowrank:8,,",
                         "lowrank:5000,0",
                         "repeated:0",
                         "repeated:3,sometimes",
                         "repeated:1.5",
                         "repeated:",
                         "repeated:4,"};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        cr_assert_eq(gka_keys_spec_parse(bad[j], &k), GKA_EINVAL, "'%s' accepted", bad[j]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[j]);
        assert_msg_has(quoted);
    }
}

Test(synth, gate_beta_queries_spec_parse) {
    gka_gate_spec_t g;
    cr_assert_eq(gka_gate_spec_parse("none", &g), GKA_OK);
    cr_assert_eq(g.kind, GKA_GATE_NONE);
    cr_assert_eq(gka_gate_spec_parse("const:0.99", &g), GKA_OK);
    cr_assert(g.kind == GKA_GATE_CONST && g.gamma == 0.99);
    cr_assert_eq(gka_gate_spec_parse("uniform:0.9,1", &g), GKA_OK);
    cr_assert(g.kind == GKA_GATE_UNIFORM && g.lo == 0.9 && g.hi == 1.0);
    cr_assert_eq(gka_gate_spec_parse("gka", &g), GKA_OK);
    cr_assert(g.kind == GKA_GATE_GKA && g.A == 0 && g.dt_bias == GKA_GATE_DEFAULT_DT_BIAS);
    cr_assert_eq(gka_gate_spec_parse("gka:4,-3", &g), GKA_OK);
    cr_assert(g.A == 4 && g.dt_bias == -3);
    const char *good[] = {"none", "const:1", "const:0.5", "uniform:0.5,0.5",
                          "gka",  "gka:2",   "gka:0,-4.5"};
    for (size_t j = 0; j < sizeof good / sizeof good[0]; j++) {
        gka_gate_spec_t a, b;
        char buf[96];
        cr_assert_eq(gka_gate_spec_parse(good[j], &a), GKA_OK, "%s", good[j]);
        gka_gate_spec_format(&a, buf, sizeof buf);
        cr_assert_eq(gka_gate_spec_parse(buf, &b), GKA_OK, "%s -> %s", good[j], buf);
        cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "%s -> %s", good[j], buf);
    }
    const char *bad[] = {"",
                         "None",
                         "none:1",
                         "const",
                         "const:0",
                         "const:1.01",
                         "const:-0.5",
                         "uniform:0.9",
                         "uniform:1,0.9",
                         "uniform:0,1",
                         "uniform:0.5,1.5",
                         "gka:-1",
                         "gka:1,2,3",
                         "gka:",
                         "gka:inf",
                         "gka:1,nan",
                         "mamba"};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        cr_assert_eq(gka_gate_spec_parse(bad[j], &g), GKA_EINVAL, "'%s' accepted", bad[j]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[j]);
        assert_msg_has(quoted);
    }
    gka_beta_spec_t b;
    cr_assert_eq(gka_beta_spec_parse("none", &b), GKA_OK);
    cr_assert_eq(b.kind, GKA_BETA_NONE);
    cr_assert_eq(gka_beta_spec_parse("sigmoid", &b), GKA_OK);
    cr_assert(b.kind == GKA_BETA_SIGMOID && b.scale == 1.0);
    cr_assert_eq(gka_beta_spec_parse("sigmoid:2.5", &b), GKA_OK);
    cr_assert(b.scale == 2.5);
    const char *badb[] = {"", "sigmoid:", "sigmoid:x", "none:2", "tanh", "sigmoid:1,2"};
    for (size_t j = 0; j < sizeof badb / sizeof badb[0]; j++) {
        cr_assert_eq(gka_beta_spec_parse(badb[j], &b), GKA_EINVAL, "'%s' accepted", badb[j]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", badb[j]);
        assert_msg_has(quoted);
    }
    gka_queries_kind_t q;
    cr_assert(gka_queries_spec_parse("iid", &q) == GKA_OK && q == GKA_QUERIES_IID);
    cr_assert(gka_queries_spec_parse("keys", &q) == GKA_OK && q == GKA_QUERIES_LIKE_KEYS);
    cr_assert(gka_queries_spec_parse("next", &q) == GKA_OK && q == GKA_QUERIES_NEXT_KEY);
    cr_assert_eq(gka_queries_spec_parse("prev", &q), GKA_EINVAL);
    assert_msg_has("'prev'");
}

/* ------------------------------------------------------------------------ */
/* Determinism and structure                                                */
/* ------------------------------------------------------------------------ */

static gka_synth_config_t config(int D, long T, uint64_t seed, const char *keys, const char *gate,
                                 const char *beta) {
    gka_synth_config_t c = gka_synth_config_default(D, T, seed);
    cr_assert_eq(gka_keys_spec_parse(keys, &c.keys), GKA_OK);
    cr_assert_eq(gka_gate_spec_parse(gate, &c.gate), GKA_OK);
    cr_assert_eq(gka_beta_spec_parse(beta, &c.beta), GKA_OK);
    return c;
}

static int same(const double *a, const double *b, size_t n) {
    if (!a || !b) return a == b;
    return memcmp(a, b, n * sizeof(double)) == 0;
}

Test(synth, deterministic_per_seed_and_prefix_stable) {
    const char *keys[] = {"iid",           "powerlaw:1", "expdecay:4",
                          "lowrank:3,0.1", "repeated:5", "repeated:5,random"};
    for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
        gka_synth_config_t c = config(12, 40, 7, keys[j], "gka", "sigmoid");
        c.with_values = 1;
        c.queries = GKA_QUERIES_LIKE_KEYS;
        gka_trace_t a, b, d, s;
        cr_assert_eq(gka_synth_generate(&c, &a), GKA_OK, "%s", gka_error_message());
        cr_assert_eq(gka_synth_generate(&c, &b), GKA_OK);
        size_t n = 40 * 12;
        cr_assert(same(a.q, b.q, n) && same(a.k, b.k, n) && same(a.v, b.v, n) &&
                  same(a.g, b.g, 40) && same(a.beta, b.beta, 40));
        cr_assert_str_eq(a.origin, b.origin);
        cr_assert(strstr(a.origin, keys[j]) || c.keys.kind == GKA_KEYS_REPEATED, "%s", a.origin);
        c.seed = 8;
        cr_assert_eq(gka_synth_generate(&c, &d), GKA_OK);
        cr_assert(!same(a.k, d.k, n) && !same(a.q, d.q, n) && !same(a.g, d.g, 40));
        /* A shorter run is a prefix: data depend on (seed, t, i) only. */
        c.seed = 7;
        c.T = 17;
        cr_assert_eq(gka_synth_generate(&c, &s), GKA_OK);
        cr_assert(same(a.k, s.k, 17 * 12) && same(a.q, s.q, 17 * 12) && same(a.g, s.g, 17) &&
                      same(a.beta, s.beta, 17) && same(a.v, s.v, 17 * 12),
                  "%s", keys[j]);
        gka_trace_free(&a), gka_trace_free(&b), gka_trace_free(&d), gka_trace_free(&s);
    }
}

Test(synth, normalised_rows_and_raw_values) {
    gka_synth_config_t c = config(16, 50, 3, "powerlaw:1", "none", "none");
    c.normalize = 0;
    gka_trace_t raw, nrm;
    cr_assert_eq(gka_synth_generate(&c, &raw), GKA_OK);
    c.normalize = 1;
    cr_assert_eq(gka_synth_generate(&c, &nrm), GKA_OK);
    cr_assert(!nrm.g && !nrm.beta && !nrm.v);
    for (long t = 0; t < 50; t++) {
        double nk = 0, nq = 0;
        for (int i = 0; i < 16; i++) {
            nk += raw.k[t * 16 + i] * raw.k[t * 16 + i];
            nq += raw.q[t * 16 + i] * raw.q[t * 16 + i];
        }
        nk = sqrt(nk), nq = sqrt(nq);
        for (int i = 0; i < 16; i++) {
            cr_assert_float_eq(nrm.k[t * 16 + i], raw.k[t * 16 + i] / (nk + 1e-6), 1e-15);
            cr_assert_float_eq(nrm.q[t * 16 + i], raw.q[t * 16 + i] / (nq + 1e-6), 1e-15);
        }
    }
    /* iid raw queries are the documented Philox normals. */
    for (int j = 0; j < 50 * 16; j++)
        cr_assert_eq(raw.q[j], gka_philox_normal(3, GKA_SYNTH_STREAM_QUERIES, (uint64_t)j * 2));
    gka_trace_free(&raw), gka_trace_free(&nrm);
}

/* Smallest and largest eigenvalue, and all eigenvalues ascending in w. */
static void eig(double *A, int n, double *w) {
    cr_assert_eq(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', n, A, n, w), 0);
}

/* Sample second moment (1/T) sum x_t x_t^T of T rows. */
static void second_moment(const double *x, long T, int D, double *C) {
    memset(C, 0, (size_t)D * (size_t)D * sizeof *C);
    for (long t = 0; t < T; t++)
        for (int r = 0; r < D; r++)
            for (int c = 0; c < D; c++)
                C[r * D + c] += x[t * D + r] * x[t * D + c] / (double)T;
}

/* Keys are k_t = M z_t with M = Q diag(sqrt(lambda)), so the sample
 * covariance is C = M W M^T with W the sample covariance of the z_t. By
 * Ostrowski's theorem, eig_i(C) = theta_i lambda_i with theta_i in
 * [eig_min(W), eig_max(W)]: a deterministic check of the generator (W is
 * rebuilt here from the documented Philox stream), independent of sampling
 * luck. W itself must satisfy the Davidson-Szarek bound for Gaussian
 * matrices, eig(W) in [(1 - sqrt(D/T) - s/sqrt(T))^2, (1 + sqrt(D/T) +
 * s/sqrt(T))^2] with probability >= 1 - 2 exp(-s^2/2); s = 6 (failure
 * probability 3e-8) tests the normals' statistics. */
static void check_spectrum(const char *spec, int D, long T, uint64_t seed) {
    gka_synth_config_t c = config(D, T, seed, spec, "none", "none");
    c.normalize = 0;
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK, "%s", gka_error_message());
    double *C = malloc((size_t)D * D * sizeof *C), *W = malloc((size_t)D * D * sizeof *W),
           *mu = malloc((size_t)D * sizeof *mu), *w = malloc((size_t)D * sizeof *w),
           *lambda = malloc((size_t)D * sizeof *lambda), *z = malloc((size_t)T * D * sizeof *z);
    for (long j = 0; j < T * D; j++)
        z[j] = gka_philox_normal(seed, GKA_SYNTH_STREAM_KEYS, (uint64_t)j * 2);
    second_moment(tr.k, T, D, C);
    second_moment(z, T, D, W);
    eig(C, D, mu);
    eig(W, D, w);
    cr_assert_eq(gka_keys_spectrum(&c.keys, D, lambda), GKA_OK);
    double ratio = sqrt((double)D / (double)T), s = 6.0 / sqrt((double)T);
    double lo = pow(1 - ratio - s, 2), hi = pow(1 + ratio + s, 2);
    cr_assert(w[0] >= lo && w[D - 1] <= hi, "%s: eig(W) in [%g, %g], bound [%g, %g]", spec, w[0],
              w[D - 1], lo, hi);
    /* lambda is descending, mu ascending. Slack 1e-10 relative to lambda_1
     * covers the rounding of C and of dsyev (condition at most ~1e4 here). */
    double worst = 0;
    for (int i = 0; i < D; i++) {
        double li = lambda[D - 1 - i], m = mu[i], slack = 1e-10 * lambda[0];
        cr_assert(m >= w[0] * li - slack && m <= w[D - 1] * li + slack,
                  "%s: eigenvalue %d: %.6g not in [%.6g, %.6g] x lambda %.6g", spec, i, m, w[0],
                  w[D - 1], li);
        if (li > 1e-3 * lambda[0]) worst = fmax(worst, fabs(m / li - 1));
    }
    cr_assert_lt(worst, hi - 1, "%s: relative eigenvalue error %g", spec, worst);
    cr_log_info("%s D=%d T=%ld: eig(W) in [%.4f, %.4f] (bound [%.4f, %.4f]); "
                "max |mu_i/lambda_i - 1| = %.4f",
                spec, D, T, w[0], w[D - 1], lo, hi, worst);
    gka_trace_free(&tr);
    free(C), free(W), free(mu), free(w), free(lambda), free(z);
}

Test(synth, covariance_spectrum_matches_prescription) {
    check_spectrum("powerlaw:1", 24, 6000, 11);
    check_spectrum("powerlaw:2", 16, 4000, 12);
    check_spectrum("expdecay:4", 20, 5000, 13);
    check_spectrum("lowrank:5,0.1", 24, 6000, 14);
    check_spectrum("iid", 24, 6000, 15);
}

Test(synth, prescribed_spectrum_values_and_basis_orthogonal) {
    gka_keys_spec_t k;
    double lam[8];
    cr_assert_eq(gka_keys_spec_parse("powerlaw:1.5", &k), GKA_OK);
    cr_assert_eq(gka_keys_spectrum(&k, 8, lam), GKA_OK);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(lam[i], pow(i + 1.0, -1.5));
    cr_assert_eq(gka_keys_spec_parse("expdecay:3", &k), GKA_OK);
    cr_assert_eq(gka_keys_spectrum(&k, 8, lam), GKA_OK);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(lam[i], exp(-i / 3.0));
    cr_assert_eq(gka_keys_spec_parse("lowrank:3,0.5", &k), GKA_OK);
    cr_assert_eq(gka_keys_spectrum(&k, 8, lam), GKA_OK);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(lam[i], i < 3 ? 1.25 : 0.25);
    cr_assert_eq(gka_keys_spec_parse("lowrank:9,0.5", &k), GKA_OK);
    cr_assert_eq(gka_keys_spectrum(&k, 8, lam), GKA_EINVAL);
    assert_msg_has("rank 9");
    gka_synth_config_t c = config(8, 10, 1, "lowrank:9,0.5", "none", "none");
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_EINVAL);
    cr_assert_null(tr.k);

    enum { D = 64 };
    static double Q[D * D];
    cr_assert_eq(gka_synth_basis(D, 5, Q), GKA_OK);
    double err = 0;
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double s = 0;
            for (int r = 0; r < D; r++)
                s += Q[r * D + a] * Q[r * D + b];
            err = fmax(err, fabs(s - (a == b)));
        }
    cr_assert_lt(err, 1e-13, "||Q^T Q - I||_max = %g", err);
    /* Q R = G with R upper triangular, positive diagonal: R = Q^T G. */
    double rmin = INFINITY, lower = 0;
    for (int r = 0; r < D; r++)
        for (int cc = 0; cc < D; cc++) {
            double s = 0;
            for (int i = 0; i < D; i++)
                s += Q[i * D + r] *
                     gka_philox_normal(5, GKA_SYNTH_STREAM_BASIS, (uint64_t)(i * D + cc) * 2);
            if (r == cc) rmin = fmin(rmin, s);
            if (r > cc) lower = fmax(lower, fabs(s));
        }
    cr_assert_gt(rmin, 0.0);
    cr_assert_lt(lower, 1e-12);
}

Test(synth, repeated_keys_from_pool) {
    gka_synth_config_t c = config(6, 30, 9, "repeated:4", "none", "none");
    c.queries = GKA_QUERIES_LIKE_KEYS;
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    for (long t = 4; t < 30; t++)
        cr_assert(same(tr.k + t * 6, tr.k + (t % 4) * 6, 6), "t=%ld", t);
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 6; i++)
            cr_assert(!same(tr.k + j * 6, tr.k + ((j + 1) % 4) * 6, 6));
    /* Queries like keys are pool members too. */
    for (long t = 0; t < 30; t++) {
        int hit = 0;
        for (int j = 0; j < 4; j++)
            hit |= same(tr.q + t * 6, tr.k + j * 6, 6);
        cr_assert(hit, "query %ld not in the pool", t);
    }
    gka_trace_free(&tr);
    c = config(6, 200, 9, "repeated:3,random", "none", "none");
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    int counts[3] = {0};
    for (long t = 0; t < 200; t++) {
        int hit = -1;
        for (int j = 0; j < 3; j++) {
            double p[6];
            for (int i = 0; i < 6; i++)
                p[i] = gka_philox_normal(9, GKA_SYNTH_STREAM_POOL, (uint64_t)(j * 6 + i) * 2);
            double n = 0;
            for (int i = 0; i < 6; i++)
                n += p[i] * p[i];
            n = sqrt(n) + 1e-6;
            int eq = 1;
            for (int i = 0; i < 6; i++)
                eq &= fabs(tr.k[t * 6 + i] - p[i] / n) < 1e-15;
            if (eq) hit = j;
        }
        cr_assert_geq(hit, 0, "key %ld not from the pool", t);
        counts[hit]++;
    }
    /* Uniform choice: each of 3 ~ 66.7 +- 6.7; 5 sigma. */
    for (int j = 0; j < 3; j++)
        cr_assert(counts[j] > 33 && counts[j] < 100, "pool %d used %d times", j, counts[j]);
    gka_trace_free(&tr);
}

Test(synth, next_key_queries) {
    gka_synth_config_t c = config(5, 9, 2, "expdecay:2", "none", "none");
    c.queries = GKA_QUERIES_NEXT_KEY;
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    cr_assert(same(tr.q, tr.k + 5, 8 * 5));
    cr_assert(same(tr.q + 8 * 5, tr.k + 8 * 5, 5));
    gka_trace_free(&tr);
}

/* ------------------------------------------------------------------------ */
/* Gates and beta                                                           */
/* ------------------------------------------------------------------------ */

Test(synth, gates_const_uniform_in_range) {
    gka_synth_config_t c = config(4, 500, 4, "iid", "const:0.97", "none");
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    for (long t = 0; t < 500; t++)
        cr_assert_eq(tr.g[t], log(0.97));
    gka_trace_free(&tr);
    c = config(4, 2000, 4, "iid", "uniform:0.8,0.95", "none");
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    double gmin = 1, gmax = 0, mean = 0;
    for (long t = 0; t < 2000; t++) {
        double gamma = exp(tr.g[t]);
        cr_assert(tr.g[t] <= 0 && gamma >= 0.8 * (1 - 1e-15) && gamma <= 0.95 * (1 + 1e-15));
        gmin = fmin(gmin, gamma), gmax = fmax(gmax, gamma), mean += gamma / 2000;
    }
    /* Spread over the range; mean 0.875 +- 0.043/sqrt(2000) ~ 1e-3: 5 sigma. */
    cr_assert(gmin < 0.81 && gmax > 0.94, "[%g, %g]", gmin, gmax);
    cr_assert_float_eq(mean, 0.875, 5e-3);
    gka_trace_free(&tr);
    c = config(4, 50, 4, "iid", "uniform:1,1", "none");
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    for (long t = 0; t < 50; t++)
        cr_assert(tr.g[t] == 0.0);
    gka_trace_free(&tr);
}

Test(synth, gka_gate_formula_and_typical_range) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
        gka_synth_config_t c = config(4, 300, seed, "iid", "gka", "none");
        gka_trace_t tr;
        cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
        double u = gka_philox_uniform(seed, GKA_SYNTH_STREAM_GATE_A, 0);
        double A = exp(u * log(16.0));
        cr_assert_float_eq(gka_gate_A(&c.gate, seed), A, 1e-13 * A);
        cr_assert(A >= 1 && A <= 16);
        double g[300];
        for (long t = 0; t < 300; t++) {
            double z = gka_philox_normal(seed, GKA_SYNTH_STREAM_GATES, (uint64_t)t * 2);
            double x = z - 6.0;
            /* Direct, in long double so that log(1 + e^x) keeps its accuracy
             * for small e^x (x >= -10 here: error ~1e-19 / e^x < 3e-15). */
            double want = (double)(-(long double)A * logl(1.0L + expl((long double)x)));
            cr_assert_float_eq(tr.g[t], want, 1e-14 * fabs(want), "seed %llu t %ld",
                               (unsigned long long)seed, t);
            g[t] = tr.g[t];
        }
        /* Documented: median gamma = exp(-A softplus(-6)) in [0.961, 0.9975]. */
        int below = 0;
        double med = exp(-A * log1p(exp(-6.0)));
        for (long t = 0; t < 300; t++)
            below += exp(g[t]) < med;
        cr_assert(below > 110 && below < 190, "median check: %d of 300 below", below);
        cr_assert(med >= 0.961 && med <= 0.9976, "median gamma %g", med);
        gka_trace_free(&tr);
    }
    /* Explicit A and dt_bias; softplus stable for large arguments. */
    gka_synth_config_t c = config(4, 100, 3, "iid", "gka:2,30", "none");
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    for (long t = 0; t < 100; t++) {
        double z = gka_philox_normal(3, GKA_SYNTH_STREAM_GATES, (uint64_t)t * 2);
        cr_assert_float_eq(tr.g[t], -2 * (z + 30 + log1p(exp(-(z + 30)))), 1e-13);
    }
    gka_trace_free(&tr);
}

Test(synth, beta_sigmoid_of_projection) {
    gka_synth_config_t c = config(10, 400, 6, "powerlaw:0.5", "none", "sigmoid");
    c.with_values = 1;
    gka_trace_t tr;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    double w[10], bmin = 1, bmax = 0;
    for (int i = 0; i < 10; i++)
        w[i] = gka_philox_normal(6, GKA_SYNTH_STREAM_BETA, (uint64_t)i * 2);
    for (long t = 0; t < 400; t++) {
        double s = 0;
        for (int i = 0; i < 10; i++)
            s += w[i] * tr.k[t * 10 + i];
        double want = 1 / (1 + exp(-s));
        cr_assert_float_eq(tr.beta[t], want, 1e-15);
        cr_assert(tr.beta[t] > 0 && tr.beta[t] < 1);
        bmin = fmin(bmin, tr.beta[t]), bmax = fmax(bmax, tr.beta[t]);
    }
    /* w.k ~ N(0, 1) for unit k: over 400 draws beta spans well past (0.2, 0.8). */
    cr_assert(bmin < 0.2 && bmax > 0.8, "[%g, %g]", bmin, bmax);
    for (int j = 0; j < 400 * 10; j++)
        cr_assert_eq(tr.v[j], gka_philox_normal(6, GKA_SYNTH_STREAM_VALUES, (uint64_t)j * 2));
    gka_trace_free(&tr);
    /* Unnormalised large keys and a big scale: clamped, still inside (0, 1). */
    c = config(10, 100, 6, "iid", "none", "sigmoid:1000");
    c.normalize = 0;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_OK);
    for (long t = 0; t < 100; t++)
        cr_assert(tr.beta[t] > 0 && tr.beta[t] < 1);
    gka_trace_free(&tr);
}

Test(synth, bad_config_rejected) {
    gka_trace_t tr;
    gka_synth_config_t c = gka_synth_config_default(0, 10, 1);
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_EINVAL);
    c = gka_synth_config_default(8, 0, 1);
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_EINVAL);
    c = gka_synth_config_default(5000, 10, 1);
    cr_assert_neq(gka_synth_generate(&c, &tr), GKA_OK);
    c = gka_synth_config_default(8, 10, 1);
    c.gate.kind = GKA_GATE_CONST;
    c.gate.gamma = 1.5;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_EINVAL);
    c = gka_synth_config_default(8, 10, 1);
    c.queries = (gka_queries_kind_t)7;
    cr_assert_eq(gka_synth_generate(&c, &tr), GKA_EINVAL);
    cr_assert_null(tr.k);
}
