/* gka bench round: throughput of gka_round_array_f32 on float32 arrays (and
 * of gka_round_array on double arrays of the same values: the f64 rows), next
 * to memcpy of the same array measured in the same run. Both move 8 bytes per
 * value (4 read, 4 written), which is what GB/s counts; ratio = rounding GB/s
 * over memcpy GB/s at the same size and thread count. Each figure is the
 * median of --reps timed samples after one untimed warm-up call; a sample
 * times as many back-to-back calls as fill about 20 ms (1 for large arrays).
 * memcpy and rounding samples alternate (one of each per repetition), so
 * that on a shared machine both sides of a row see the same load. The
 * rounding runs with the context's thread count (gka_rounding_t.threads). */
#include "gka_stats.h"
#include "gka_cli.h"
#include "gka_precision.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum { MAX_LIST = 16 };

typedef struct {
    size_t sizes[MAX_LIST];
    size_t nsizes;
    gka_format_t formats[MAX_LIST];
    size_t nformats;
    gka_round_mode_t modes[MAX_LIST];
    size_t nmodes;
    int threads; /* "all cores" */
    int reps;
} bench_opts_t;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double median(double *v, int n) {
    return gka_stats_median(v, (size_t)n); /* experiments/stats.c */
}

/* "64M" -> 67108864; 1 .. 2^30 values. */
static int parse_size(const char *s, size_t *out) {
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *s == '-') return 1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end || v == 0 || v > (1ull << 30) >> shift) return 1;
    *out = (size_t)(v << shift);
    return 0;
}

static int add_size(const char *f, void *ctx) {
    bench_opts_t *o = ctx;
    if (o->nsizes == MAX_LIST) return gka_cli_fail(GKA_EXIT_USAGE, "--sizes: too many sizes");
    if (parse_size(f, &o->sizes[o->nsizes]))
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "--sizes: '%s' is not a size from 1 to 1G values (e.g. 1M, 4096)", f);
    o->nsizes++;
    return 0;
}

static int add_format(const char *f, void *ctx) {
    bench_opts_t *o = ctx;
    if (o->nformats == MAX_LIST) return gka_cli_fail(GKA_EXIT_USAGE, "--formats: too many formats");
    if (gka_format_by_name(f, &o->formats[o->nformats]) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "--formats: %s", gka_error_message());
    o->nformats++;
    return 0;
}

static int add_mode(const char *f, void *ctx) {
    bench_opts_t *o = ctx;
    if (o->nmodes == MAX_LIST) return gka_cli_fail(GKA_EXIT_USAGE, "--modes: too many modes");
    if (gka_round_mode_by_name(f, &o->modes[o->nmodes]) != GKA_OK)
        return gka_cli_fail(GKA_EXIT_USAGE, "--modes: %s", gka_error_message());
    o->nmodes++;
    return 0;
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* Each item of the list option `id` through `add`. */
static int add_items(const gka_opts_t *opts, gka_opt_id_t id, int (*add)(const char *, void *),
                     bench_opts_t *o) {
    for (size_t i = 0; i < gka_opt_count(opts, id); i++) {
        const int rc = add(gka_opt_name_at(opts, id, i), o);
        if (rc) return rc;
    }
    return 0;
}

static int parse_options(int argc, char **argv, bench_opts_t *o) {
    gka_opts_t opts;
    const int rc = gka_opts_parse(GKA_CMD_BENCH_ROUND, argc, argv, &opts);
    if (rc >= 0) return rc;
    memset(o, 0, sizeof *o);
    o->threads = gka_opt_given(&opts, GKA_OPT_THREADS) ? (int)gka_opt_long(&opts, GKA_OPT_THREADS)
                                                       : max_threads();
    o->reps = (int)gka_opt_long(&opts, GKA_OPT_REPS);
    int bad = add_items(&opts, GKA_OPT_SIZES, add_size, o);
    if (!bad) bad = add_items(&opts, GKA_OPT_NUMBER_FORMATS, add_format, o);
    if (!bad) bad = add_items(&opts, GKA_OPT_MODES, add_mode, o);
    return bad ? GKA_EXIT_USAGE : -1;
}

/* memcpy of n elements of `size` bytes by `threads` threads, each copying
 * one contiguous part. */
static void parallel_copy(void *dst, const void *src, size_t n, size_t size, int threads) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int k = 0; k < threads; k++) {
        const size_t lo = n * (size_t)k / (size_t)threads,
                     hi = n * (size_t)(k + 1) / (size_t)threads;
        memcpy((char *)dst + lo * size, (const char *)src + lo * size, (hi - lo) * size);
    }
}

/* Calls per timed sample: enough that one sample lasts about 20 ms, so
 * that thread wake-up and timer noise do not dominate small arrays. */
static int calls_per_sample(double one_call_seconds) {
    const double target = 0.02;
    if (one_call_seconds <= 0) return 1000;
    const double k = target / one_call_seconds;
    return k < 1 ? 1 : (k > 1000 ? 1000 : (int)k);
}

/* One timed sample: k back-to-back calls, seconds per call. */
static double sample_copy(void *dst, const void *src, size_t n, size_t size, int threads, int k) {
    const double t0 = now_seconds();
    for (int c = 0; c < k; c++)
        parallel_copy(dst, src, n, size, threads);
    return (now_seconds() - t0) / k;
}

/* size 4: gka_round_array_f32 on floats; size 8: gka_round_array on doubles. */
static double sample_round(void *dst, const void *src, size_t n, size_t size, gka_rounding_t *r,
                           int k) {
    const double t0 = now_seconds();
    for (int c = 0; c < k; c++)
        if (size == sizeof(float))
            gka_round_array_f32(dst, src, n, r);
        else
            gka_round_array(dst, src, n, r);
    return (now_seconds() - t0) / k;
}

/* Seconds per call of memcpy and of gka_round_array_f32 (medians over
 * samples), the samples of the two taken alternately so that both see the
 * same load on a shared machine. */
static void time_pair(void *dst, const void *src, size_t n, size_t size, const gka_format_t *f,
                      gka_round_mode_t mode, int threads, int reps, double *times, double *t_copy,
                      double *t_round) {
    gka_rounding_t r = gka_rounding_default(f);
    r.mode = mode;
    r.threads = threads;
    /* warm-up calls, and the first estimates of the calls per sample */
    const int kc = calls_per_sample(sample_copy(dst, src, n, size, threads, 1));
    const int kr = calls_per_sample(sample_round(dst, src, n, size, &r, 1));
    double *tc = times, *tr = times + reps;
    for (int rep = 0; rep < reps; rep++) {
        tc[rep] = sample_copy(dst, src, n, size, threads, kc);
        tr[rep] = sample_round(dst, src, n, size, &r, kr);
    }
    *t_copy = median(tc, reps);
    *t_round = median(tr, reps);
}

/* The same values as floats or, widened, as doubles (size 4 or 8). */
static void fill_inputs(void *x, size_t n, size_t size) {
    uint64_t s = 0x243F6A8885A308D3ull;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) firstprivate(s)
#endif
    for (size_t i = 0; i < n; i++) {
        uint64_t z = s + 0x9E3779B97F4A7C15ull * (i + 1); /* splitmix64 of i */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const float v = (float)((double)(z >> 11) * 0x1p-52 - 1.0);
        if (size == sizeof(float))
            ((float *)x)[i] = v;
        else
            ((double *)x)[i] = (double)v;
    }
}

static void print_size(size_t n) {
    if (n % (1u << 20) == 0)
        printf("%6zuM", n >> 20);
    else if (n % (1u << 10) == 0)
        printf("%6zuK", n >> 10);
    else
        printf("%7zu", n);
}

/* One row per format and mode for arrays of n elements of `size` bytes on
 * `threads` threads. */
static void print_rows(void *out, const void *in, size_t n, size_t size, int threads,
                       const bench_opts_t *o, double *times) {
    set_threads(threads);
    for (size_t fi = 0; fi < o->nformats; fi++)
        for (size_t mi = 0; mi < o->nmodes; mi++) {
            double t_copy = 0, t = 0;
            time_pair(out, in, n, size, &o->formats[fi], o->modes[mi], threads, o->reps, times,
                      &t_copy, &t);
            const double bytes = 2.0 * (double)size * (double)n; /* read + written */
            const double copy_gbs = bytes / t_copy * 1e-9, gbs = bytes / t * 1e-9;
            printf("%-5s %-6s %-4s ", size == sizeof(float) ? "f32" : "f64", o->formats[fi].name,
                   gka_round_mode_name(o->modes[mi]));
            print_size(n);
            printf(" %7d %12.1f %9.2f %12.2f %7.2f\n", threads, (double)n / t * 1e-6, gbs, copy_gbs,
                   gbs / copy_gbs);
            fflush(stdout);
        }
}

int gka_cmd_bench_round(int argc, char **argv) {
    bench_opts_t o;
    const int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    double *times = malloc(2 * (size_t)o.reps * sizeof *times);
    if (!times) return gka_cli_fail(GKA_EXIT_FAIL, "bench round: out of memory");
    const int thread_counts[2] = {1, o.threads};
    const int nthread_counts = o.threads > 1 ? 2 : 1;

    printf("# gka bench round: f32 rows gka_round_array_f32 (float32 -> format -> float32), f64 "
           "rows gka_round_array (double -> format -> double); inputs uniform in (-1, 1)\n"
           "# median of %d samples of >= 20 ms; GB/s counts the bytes read and written (8 per "
           "value for f32, 16 for f64); ratio = GB/s / memcpy GB/s of the same array\n",
           o.reps);
    printf("# all cores: %d threads (processors available: %d); wide kernels of the f32 rows "
           "below 2M values: %s (GKA_ROUND_WIDE=avx2|off lowers it)\n",
           o.threads, max_threads(), gka_round_array_isa());
    printf("%-5s %-6s %-4s %7s %7s %12s %9s %12s %7s\n", "array", "format", "mode", "size",
           "threads", "Mvalues/s", "GB/s", "memcpy GB/s", "ratio");
    for (size_t si = 0; si < o.nsizes; si++) {
        const size_t n = o.sizes[si];
        /* room for doubles; the float rows use the first half of each */
        double *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
        if (!in || !out) {
            free(in), free(out), free(times);
            return gka_cli_fail(GKA_EXIT_FAIL, "bench round: cannot allocate 2 x %zu doubles", n);
        }
        memset(out, 0, n * sizeof *out);
        for (int ti = 0; ti < 2; ti++) {
            const size_t size = ti == 0 ? sizeof(float) : sizeof(double);
            fill_inputs(in, n, size);
            for (int tc = 0; tc < nthread_counts; tc++)
                print_rows(out, in, n, size, thread_counts[tc], &o, times);
        }
        set_threads(o.threads);
        free(in);
        free(out);
    }
    free(times);
    return GKA_EXIT_OK;
}
