/* The MPFR half of the CI-sized proof of correct rounding
 * (docs/ROUNDING_PROOF.md): for every format of tests/unit/round_proof.h,
 * every breakpoint (each value of the format, the grid point above max, each
 * midpoint) and the float32 neighbours on both sides of each, of both signs,
 * plus every NaN/Inf class and float32's edges, are rounded
 *   - by gka_round (value and flags) and by gka_round_array_f32 (values, OR of
 *     flags) in the 7 deterministic modes x subnormals kept/flushed x
 *     overflow to Inf/saturating, against MPFR's emulation (mpfr_oracle.h);
 *   - in SP and SE, by the decision of gka_round_tail and of the array
 *     kernel evaluated at chosen draws: SP must round away from zero exactly
 *     for the draws whose top 53 bits are below ceil(p 2^53), with p = (|x| -
 *     |toward-zero neighbour|) / spacing computed by MPFR, so the probability
 *     is ceil(p 2^53) / 2^53 (= p exactly for these inputs); SE exactly for
 *     the draws with the top bit set (probability 1/2); exact inputs never
 *     move.
 * The double neighbours of each breakpoint (nextafter) are checked through
 * gka_round too (double inputs; not part of the float32 proof).
 * tests/exhaustive/test_round_exhaustive.c supplies the other half: the array
 * path is monotone over all 2^32 float32 inputs in each variant. */
#include <criterion/criterion.h>

#include "mpfr_oracle.h"
#include "round_internal.h"
#include "unit/round_proof.h"

typedef struct {
    long checked, bad;
    char first[400];
} proof_tally_t;

static void note(proof_tally_t *t, int ok, const char *what, const gka_format_t *f,
                 const gka_rounding_t *r, double x, double got, double want, unsigned gf,
                 unsigned wf) {
    t->checked++;
    if (ok) return;
    if (!t->bad++)
        snprintf(t->first, sizeof t->first,
                 "%s %s mode %s sub %d sat %d: x = %a: got %a flags %#x, want %a flags %#x", what,
                 f->name, gka_round_mode_name(r->mode), r->subnormals, r->saturate, x, got, gf,
                 want, wf);
}

static oracle_facts_t facts_of(double x, const gka_format_t *f) {
    mpfr_t m;
    mpfr_init2(m, 64);
    oracle_with_tail(m, x, 0);
    const oracle_facts_t o = oracle_facts(m, f);
    mpfr_clear(m);
    return o;
}

/* Deterministic modes: the scalar path on each input, value and flags. */
static void check_scalar(const float *x, const oracle_facts_t *o, size_t n, const gka_format_t *f,
                         proof_tally_t *t) {
    for (size_t i = 0; i < n; i++)
        for (int v = 0; v < PROOF_NVARIANTS; v++) {
            gka_rounding_t r = proof_context(f, v);
            unsigned wf = 0;
            const double want = oracle_finish(&o[i], f, r.mode, r.subnormals, r.saturate, &wf);
            const double got = gka_round((double)x[i], &r);
            note(t, oracle_same(got, want) && r.flags == wf, "gka_round", f, &r, (double)x[i], got,
                 want, r.flags, wf);
        }
}

/* Deterministic modes: the array path on the chunk at once per variant
 * (values, and the flags as the OR of the expected ones). */
static void check_array(const float *x, const oracle_facts_t *o, size_t n, const gka_format_t *f,
                        float *y, proof_tally_t *t) {
    for (int v = 0; v < PROOF_NVARIANTS; v++) {
        gka_rounding_t r = proof_context(f, v);
        cr_assert_eq(gka_round_array_f32(y, x, n, &r), GKA_OK);
        unsigned all = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned wf = 0;
            const double w = oracle_finish(&o[i], f, r.mode, r.subnormals, r.saturate, &wf);
            all |= wf;
            note(t, oracle_same((double)y[i], w), "gka_round_array_f32", f, &r, (double)x[i],
                 (double)y[i], w, 0, 0);
        }
        note(t, r.flags == all, "gka_round_array_f32 flags of a chunk starting at", f, &r,
             (double)x[0], 0, 0, r.flags, all);
    }
}

/* Double inputs next to the breakpoints, scalar path. */
static void check_doubles(const double *bp, size_t nb, const gka_format_t *f, proof_tally_t *t) {
    for (size_t i = 0; i < nb; i++)
        for (int s = -1; s <= 1; s += 2)
            for (int d = -1; d <= 1; d += 2) {
                const double x = nextafter(s * bp[i], d * INFINITY);
                const oracle_facts_t o = facts_of(x, f);
                for (int v = 0; v < PROOF_NVARIANTS; v++) {
                    gka_rounding_t r = proof_context(f, v);
                    unsigned wf = 0;
                    const double want = oracle_finish(&o, f, r.mode, r.subnormals, r.saturate, &wf);
                    const double got = gka_round(x, &r);
                    note(t, oracle_same(got, want) && r.flags == wf, "gka_round (double)", f, &r, x,
                         got, want, r.flags, wf);
                }
            }
}

/* The stochastic threshold of x: how many values of the top 53 draw bits
 * round away from zero, ceil(p 2^53) with p = (|x| - |toward|) / (|away| -
 * |toward|), computed exactly by MPFR. */
static uint64_t sp_threshold(double x, const oracle_facts_t *o) {
    const double toward = o->neg ? o->hi : o->lo, away = o->neg ? o->lo : o->hi;
    mpfr_t num, den;
    mpfr_inits2(256, num, den, (mpfr_ptr)0);
    mpfr_set_d(num, fabs(x), MPFR_RNDN);
    mpfr_sub_d(num, num, fabs(toward), MPFR_RNDN); /* exact in 256 bits */
    mpfr_set_d(den, fabs(away), MPFR_RNDN);
    mpfr_sub_d(den, den, fabs(toward), MPFR_RNDN);
    mpfr_div(num, num, den, MPFR_RNDU);
    mpfr_mul_2ui(num, num, 53, MPFR_RNDU);
    mpfr_ceil(num, num);
    const uint64_t T = (uint64_t)mpfr_get_d(num, MPFR_RNDN); /* exact: T <= 2^53 */
    mpfr_clears(num, den, (mpfr_ptr)0);
    return T;
}

/* What rounding x to the neighbour `y` gives after the range rules, with
 * the flags (the rules are those of NE: overflow to Inf/NaN or, when
 * saturating, to max; flushing). */
static double sr_expected(const oracle_facts_t *o, double y, const gka_format_t *f,
                          const gka_rounding_t *r, unsigned *flags) {
    oracle_facts_t c = *o;
    c.nearest = y;
    return oracle_finish(&c, f, GKA_RND_NE, r->subnormals, r->saturate, flags);
}

enum { NDRAWS = 4 };

/* The draws to evaluate for x, and for each whether it must round away from
 * zero: both sides of the threshold and the two ends of the range. */
static int sr_draws(gka_round_mode_t mode, uint64_t T, uint64_t draws[NDRAWS], int away[NDRAWS]) {
    if (mode == GKA_RND_SE) {
        const uint64_t d[NDRAWS] = {0, UINT64_C(0x7fffffffffffffff), UINT64_C(0x8000000000000000),
                                    UINT64_MAX};
        for (int k = 0; k < NDRAWS; k++)
            draws[k] = d[k], away[k] = k >= 2;
        return NDRAWS;
    }
    int n = 0;
    if (T >= 1) { /* the largest draw that rounds away, and 0 */
        draws[n] = ((T - 1) << 11) | 0x7ffu, away[n++] = 1;
        draws[n] = 0, away[n++] = 1;
    }
    if (T < (UINT64_C(1) << 53)) { /* the smallest draw that rounds toward zero, and the top */
        draws[n] = T << 11, away[n++] = 0;
        draws[n] = UINT64_MAX, away[n++] = 0;
    }
    return n;
}

static void check_stochastic(const float *x, const oracle_facts_t *facts, size_t n,
                             const gka_format_t *f, proof_tally_t *t) {
    uint32_t *in = malloc(n * NDRAWS * sizeof *in), *out = malloc(n * NDRAWS * sizeof *out);
    uint64_t *dr = malloc(n * NDRAWS * sizeof *dr);
    double *want = malloc(n * NDRAWS * sizeof *want);
    cr_assert(in && out && dr && want);
    for (int m = 0; m < 2; m++)
        for (int opt = 0; opt < 4; opt++) {
            gka_rounding_t r = gka_rounding_default(f);
            r.mode = m ? GKA_RND_SE : GKA_RND_SP;
            r.subnormals = opt % 2 == 0;
            r.saturate = opt / 2;
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                const double xi = (double)x[i];
                const oracle_facts_t o = facts[i];
                uint64_t draws[NDRAWS];
                int away[NDRAWS], nd;
                if (o.kind == 0 && !o.exact) {
                    nd = sr_draws(r.mode, sp_threshold(xi, &o), draws, away);
                } else { /* exact, zero, Inf, NaN: as NE, whatever the draw */
                    nd = sr_draws(GKA_RND_SE, 0, draws, away);
                }
                for (int j = 0; j < nd; j++) {
                    unsigned wf = 0;
                    double w;
                    if (o.kind == 0 && !o.exact)
                        w = sr_expected(&o, away[j] != o.neg ? o.hi : o.lo, f, &r, &wf);
                    else
                        w = oracle_finish(&o, f, GKA_RND_NE, r.subnormals, r.saturate, &wf);
                    gka_rounding_t s = r;
                    const double got = gka_round_tail_draw(xi, 0, draws[j], &s);
                    note(t, oracle_same(got, w) && s.flags == wf, "gka_round_tail_draw", f, &s, xi,
                         got, w, s.flags, wf);
                    memcpy(&in[k], &x[i], sizeof in[k]);
                    dr[k] = draws[j];
                    want[k++] = w;
                }
            }
            gka_round_f32_draws(out, in, dr, k, &r);
            for (size_t i = 0; i < k; i++) {
                float y;
                memcpy(&y, &out[i], sizeof y);
                float xi;
                memcpy(&xi, &in[i], sizeof xi);
                note(t, oracle_same((double)y, want[i]), "gka_round_f32_draws", f, &r, (double)xi,
                     (double)y, want[i], 0, 0);
            }
        }
    free(in), free(out), free(dr), free(want);
}

static void prove_format(int i) {
    const gka_format_t f = proof_format(i);
    double *bp = NULL;
    const size_t nb = proof_breakpoints(&f, &bp);
    cr_assert(nb > 0 && bp);
    /* the breakpoints are increasing, start at 0 and end one grid step above max */
    for (size_t k = 1; k < nb; k++)
        cr_assert_lt(bp[k - 1], bp[k]);
    cr_assert_eq(bp[0], 0.0);
    cr_assert_eq(bp[nb - 2] * 2 - bp[nb - 3], bp[nb - 1]);
    cr_assert_eq(bp[nb - 3], f.max);
    float *x = NULL;
    const size_t n = proof_inputs(bp, nb, &x);
    cr_assert(n > 0 && x);
    proof_tally_t t = {0, 0, ""};
    enum { CHUNK = 1 << 15 };
    oracle_facts_t *o = malloc(CHUNK * sizeof *o);
    float *y = malloc(CHUNK * sizeof *y);
    cr_assert(o && y);
    for (size_t c = 0; c < n; c += CHUNK) {
        const size_t m = n - c < CHUNK ? n - c : CHUNK;
        for (size_t k = 0; k < m; k++)
            o[k] = facts_of((double)x[c + k], &f);
        check_scalar(x + c, o, m, &f, &t);
        check_array(x + c, o, m, &f, y, &t);
        check_stochastic(x + c, o, m, &f, &t);
    }
    check_doubles(bp, nb, &f, &t);
    free(o);
    free(y);
    cr_log_info("%s: %zu breakpoints, %zu float32 inputs, %ld checks", f.name, nb, n, t.checked);
    cr_expect_eq(t.bad, 0, "%s: %ld of %ld checks differ from MPFR; first: %s", f.name, t.bad,
                 t.checked, t.first);
    cr_assert_gt(t.checked, (long)n * PROOF_NVARIANTS);
    free(bp);
    free(x);
}

TestSuite(round_proof, .timeout = 600);

Test(round_proof, tf32) {
    prove_format(0);
}
Test(round_proof, bf16) {
    prove_format(1);
}
Test(round_proof, fp16) {
    prove_format(2);
}
Test(round_proof, e4m3) {
    prove_format(3);
}
Test(round_proof, e5m2) {
    prove_format(4);
}
Test(round_proof, custom_2_m3_4) {
    prove_format(5);
}
Test(round_proof, custom_5_m20_20) {
    prove_format(6);
}
Test(round_proof, custom_3_m126_127) {
    prove_format(7);
}
Test(round_proof, custom_10_m12_12) {
    prove_format(8);
}

/* The breakpoint list of a tiny format, written out by hand: custom:2,-3,4
 * has values 0, 1/16 (subnormal), 1/8, 3/16, 1/4, ..., 16, 24 (max), and 32
 * above max. */
Test(round_proof, breakpoints_by_hand) {
    gka_format_t f;
    cr_assert_eq(gka_format_custom(2, -3, 4, &f), GKA_OK);
    double *bp = NULL;
    const size_t nb = proof_breakpoints(&f, &bp);
    const double values[] = {0, 0.0625, 0.125, 0.1875, 0.25, 0.375, 0.5, 0.75, 1, 1.5,
                             2, 3,      4,     6,      8,    12,    16,  24,   32};
    const size_t nv = sizeof values / sizeof values[0];
    cr_assert_eq(nb, 2 * nv - 1);
    for (size_t i = 0; i < nv; i++) {
        cr_assert_eq(bp[2 * i], values[i], "value %zu: %a", i, bp[2 * i]);
        if (i) cr_assert_eq(bp[2 * i - 1], 0.5 * (values[i - 1] + values[i]));
    }
    free(bp);
}
