/* gka bench round: throughput of gka_round_array_f32 on float32 arrays, next
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum { MAX_LIST = 16, MAX_REPS = 1000 };

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

static void bench_help(FILE *f) {
    fprintf(f, "usage: gka bench round [--sizes 1M,64M] [--threads N] [--reps R]\n"
               "                       [--formats bf16,fp16,...] [--modes ne,tz,...]\n\n"
               "Times gka_round_array_f32 (float32 in, float32 out) to each format and mode on\n"
               "arrays of the given sizes (suffix K, M, G = 2^10, 2^20, 2^30 values), with one\n"
               "thread and with N threads (default: all cores), next to memcpy of the same\n"
               "array. Inputs are uniform in (-1, 1). GB/s counts 8 bytes per value (read and\n"
               "write); ratio = rounding GB/s / memcpy GB/s. Median of R samples (default 5)\n"
               "of about 20 ms each (back-to-back calls for small arrays); memcpy and rounding\n"
               "samples alternate, so both sides of a row see the same machine load.\n"
               "Defaults: formats bf16,fp16,tf32,e4m3,e5m2; modes ne,na,nz,tp,tn,tz,od,sp,se.\n");
}

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

/* Split a comma list into fields of at most 63 characters; calls fn on each. */
static int each_field(const char *list, const char *what, int (*fn)(const char *, void *),
                      void *ctx) {
    char field[64];
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        if (!strncmp(p, "custom:", 7)) /* custom:t,emin,emax holds two commas */
            for (int k = 0; k < 2 && comma; k++)
                comma = strchr(comma + 1, ',');
        const size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof field)
            return gka_cli_fail(GKA_EXIT_USAGE, "%s: bad list '%s'", what, list);
        memcpy(field, p, len);
        field[len] = '\0';
        int rc = fn(field, ctx);
        if (rc) return rc;
        if (!comma) return 0;
        p = comma + 1;
    }
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

static int parse_options(int argc, char **argv, bench_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->threads = max_threads();
    o->reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        long n = 0;
        if (!strcmp(a, "--sizes")) {
            if (!(v = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
            o->nsizes = 0;
            rc = each_field(v, "--sizes", add_size, o);
        } else if (!strcmp(a, "--formats")) {
            if (!(v = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
            o->nformats = 0;
            rc = each_field(v, "--formats", add_format, o);
        } else if (!strcmp(a, "--modes")) {
            if (!(v = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
            o->nmodes = 0;
            rc = each_field(v, "--modes", add_mode, o);
        } else if (!strcmp(a, "--threads")) {
            if (!(v = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
            if (gka_cli_parse_long(v, "--threads", 1, 1024, &n)) return GKA_EXIT_USAGE;
            o->threads = (int)n;
        } else if (!strcmp(a, "--reps")) {
            if (!(v = gka_cli_value(argc, argv, &i))) return GKA_EXIT_USAGE;
            if (gka_cli_parse_long(v, "--reps", 1, MAX_REPS, &n)) return GKA_EXIT_USAGE;
            o->reps = (int)n;
        } else {
            return gka_cli_fail(GKA_EXIT_USAGE,
                                "bench round: unknown option '%s' (see gka bench round --help)", a);
        }
        if (rc) return rc;
    }
    if (!o->nsizes) add_size("1M", o), add_size("64M", o);
    if (!o->nformats) each_field("bf16,fp16,tf32,e4m3,e5m2", "formats", add_format, o);
    if (!o->nmodes) each_field("ne,na,nz,tp,tn,tz,od,sp,se", "modes", add_mode, o);
    return 0;
}

/* memcpy by `threads` threads, each copying one contiguous part. */
static void parallel_copy(float *dst, const float *src, size_t n, int threads) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int k = 0; k < threads; k++) {
        const size_t lo = n * (size_t)k / (size_t)threads,
                     hi = n * (size_t)(k + 1) / (size_t)threads;
        memcpy(dst + lo, src + lo, (hi - lo) * sizeof *dst);
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
static double sample_copy(float *dst, const float *src, size_t n, int threads, int k) {
    const double t0 = now_seconds();
    for (int c = 0; c < k; c++)
        parallel_copy(dst, src, n, threads);
    return (now_seconds() - t0) / k;
}

static double sample_round(float *dst, const float *src, size_t n, gka_rounding_t *r, int k) {
    const double t0 = now_seconds();
    for (int c = 0; c < k; c++)
        gka_round_array_f32(dst, src, n, r);
    return (now_seconds() - t0) / k;
}

/* Seconds per call of memcpy and of gka_round_array_f32 (medians over
 * samples), the samples of the two taken alternately so that both see the
 * same load on a shared machine. */
static void time_pair(float *dst, const float *src, size_t n, const gka_format_t *f,
                      gka_round_mode_t mode, int threads, int reps, double *times, double *t_copy,
                      double *t_round) {
    gka_rounding_t r = gka_rounding_default(f);
    r.mode = mode;
    r.threads = threads;
    /* warm-up calls, and the first estimates of the calls per sample */
    const int kc = calls_per_sample(sample_copy(dst, src, n, threads, 1));
    const int kr = calls_per_sample(sample_round(dst, src, n, &r, 1));
    double *tc = times, *tr = times + reps;
    for (int rep = 0; rep < reps; rep++) {
        tc[rep] = sample_copy(dst, src, n, threads, kc);
        tr[rep] = sample_round(dst, src, n, &r, kr);
    }
    *t_copy = median(tc, reps);
    *t_round = median(tr, reps);
}

static void fill_inputs(float *x, size_t n) {
    uint64_t s = 0x243F6A8885A308D3ull;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) firstprivate(s)
#endif
    for (size_t i = 0; i < n; i++) {
        uint64_t z = s + 0x9E3779B97F4A7C15ull * (i + 1); /* splitmix64 of i */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[i] = (float)((double)(z >> 11) * 0x1p-52 - 1.0);
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

int gka_cmd_bench_round(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            bench_help(stdout);
            return GKA_EXIT_OK;
        }
    bench_opts_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    double *times = malloc(2 * (size_t)o.reps * sizeof *times);
    if (!times) return gka_cli_fail(GKA_EXIT_FAIL, "bench round: out of memory");
    const int thread_counts[2] = {1, o.threads};
    const int nthread_counts = o.threads > 1 ? 2 : 1;

    printf("# gka bench round: float32 -> format -> float32, inputs uniform in (-1, 1)\n"
           "# median of %d samples of >= 20 ms; GB/s counts 8 bytes per value; ratio = GB/s / "
           "memcpy GB/s\n",
           o.reps);
    printf("# all cores: %d threads (processors available: %d)\n", o.threads, max_threads());
    printf("%-6s %-4s %7s %7s %12s %9s %12s %7s\n", "format", "mode", "size", "threads",
           "Mvalues/s", "GB/s", "memcpy GB/s", "ratio");
    for (size_t si = 0; si < o.nsizes; si++) {
        const size_t n = o.sizes[si];
        float *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
        if (!in || !out) {
            free(in), free(out), free(times);
            return gka_cli_fail(GKA_EXIT_FAIL, "bench round: cannot allocate 2 x %zu floats", n);
        }
        fill_inputs(in, n);
        memset(out, 0, n * sizeof *out);
        for (int tc = 0; tc < nthread_counts; tc++) {
            const int th = thread_counts[tc];
            set_threads(th);
            for (size_t fi = 0; fi < o.nformats; fi++)
                for (size_t mi = 0; mi < o.nmodes; mi++) {
                    double t_copy = 0, t = 0;
                    time_pair(out, in, n, &o.formats[fi], o.modes[mi], th, o.reps, times, &t_copy,
                              &t);
                    const double copy_gbs = 8.0 * (double)n / t_copy * 1e-9;
                    const double gbs = 8.0 * (double)n / t * 1e-9;
                    printf("%-6s %-4s ", o.formats[fi].name, gka_round_mode_name(o.modes[mi]));
                    print_size(n);
                    printf(" %7d %12.1f %9.2f %12.2f %7.2f\n", th, (double)n / t * 1e-6, gbs,
                           copy_gbs, gbs / copy_gbs);
                    fflush(stdout);
                }
        }
        set_threads(o.threads);
        free(in);
        free(out);
    }
    free(times);
    return GKA_EXIT_OK;
}
