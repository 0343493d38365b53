/* `gka formats` and `gka round`, run as the built program (GKA_PROGRAM):
 * output agrees with the library, bad input gives one "gka: ..." line and
 * exit status 2, never a crash. */
/* gka round (cli/cmd_round.c): the header's overflow behaviour comes from
 * each format's own rule (gka_overflow_value), not a fixed string (it used
 * to say "overflow to inf" for e4m3, whose overflow is NaN); an invalid
 * --mode is named as such. */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp, fdopen */
#include "program_testlib.h"
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "gka_precision.h"

typedef struct {
    int status; /* exit status, or -1 if killed by a signal */
    char out[65536];
    char err[4096];
} run_t;

/* Run GKA_PROGRAM with the arguments (a shell-quoted string); stdout and
 * stderr captured separately. */
static void run_gka(const char *args, run_t *r) {
    char errfile[] = "/tmp/gka_test_cmd_XXXXXX";
    const int fd = mkstemp(errfile);
    cr_assert_geq(fd, 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", GKA_PROGRAM, args, errfile);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen %s", cmd);
    const size_t n = fread(r->out, 1, sizeof r->out - 1, p);
    r->out[n] = '\0';
    const int st = pclose(p);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    FILE *e = fdopen(fd, "r");
    const size_t m = fread(r->err, 1, sizeof r->err - 1, e);
    r->err[m] = '\0';
    fclose(e);
    remove(errfile);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(cmd_round, formats_table) {
    static run_t r;
    run_gka("formats", &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    size_t n = 0;
    gka_format_list(&n);
    cr_assert_eq(count_lines(r.out), (int)n + 1, "%s", r.out);
    const char *line = strstr(r.out, "\nbf16 ");
    cr_assert(line, "%s", r.out);
    char name[16], inf[8];
    int t, emin, emax, bits;
    double u, eps, max, mn, ms;
    cr_assert_eq(sscanf(line + 1, "%15s %d %d %d %lg %lg %lg %lg %lg %7s %d", name, &t, &emin,
                        &emax, &u, &eps, &max, &mn, &ms, inf, &bits),
                 11);
    cr_assert(t == 8 && emin == -126 && emax == 127 && bits == 16 && !strcmp(inf, "yes"));
    cr_assert(u == 0x1p-8 && eps == 0x1p-7);
    cr_assert_lt(fabs(mn / 0x1p-126 - 1), 1e-5);
    cr_assert_lt(fabs(max / gka_bf16.max - 1), 1e-5);
    cr_assert_lt(fabs(ms / gka_bf16.min_subnormal - 1), 1e-5);
    cr_assert(strstr(r.out, "\ne4m3 ") && strstr(strstr(r.out, "\ne4m3 "), " no "));
    run_gka("formats --hex", &r);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "0x1.fep+127") && strstr(r.out, "0x1.cp+8") &&
                  strstr(r.out, "0x1p-133"),
              "%s", r.out);
}

/* Every printed row agrees with gka_round and the encoding decodes to it. */
static void check_rows(const char *args, const gka_format_t *f, gka_rounding_t rr,
                       const double *inputs, int n) {
    static run_t r;
    run_gka(args, &r);
    cr_assert_eq(r.status, 0, "%s: %s", args, r.err);
    cr_assert_eq(count_lines(r.out), n + 2, "%s", r.out);
    const char *line = strchr(strchr(r.out, '\n') + 1, '\n') + 1; /* skip two header lines */
    for (int i = 0; i < n; i++) {
        char in[64], out[64], bits[64], flags[64];
        cr_assert_eq(sscanf(line, "%63s %63s %63s %63s", in, out, bits, flags), 4, "%s", line);
        rr.counter = (uint64_t)i;
        rr.flags = 0;
        const double want = gka_round(inputs[i], &rr);
        const double got = strtod(out, NULL);
        cr_assert(isnan(want) ? isnan(got) : got == want && !signbit(got) == !signbit(want),
                  "%s: row %d '%s': %s, library %a", args, i, in, out, want);
        const double from_bits =
            f->storage_bits ? gka_format_decode(f, strtoull(bits, NULL, 16)) : strtod(bits, NULL);
        cr_assert(isnan(want) ? isnan(from_bits) : from_bits == want, "%s: bits %s", args, bits);
        cr_assert_eq(!strcmp(flags, "-"), rr.flags == 0, "%s: flags %s", args, flags);
        cr_assert_eq(strstr(flags, "overflow") != NULL, (rr.flags & GKA_FLAG_OVERFLOW) != 0);
        line = strchr(line, '\n') + 1;
    }
}

Test(cmd_round, rows_agree_with_library) {
    const double v[] = {0.1, -3.14159, 1e39, -1e-45, NAN, -INFINITY, 1.0078125, 65520, 464, 0};
    const char *vs = "0.1 -3.14159 1e39 -1e-45 nan -inf 0x1.02p0 65520 464 0";
    const struct {
        const char *opts;
        const gka_format_t *f;
        gka_round_mode_t mode;
        int sub, sat;
    } cases[] = {
        {"--format bf16", &gka_bf16, GKA_RND_NE, 1, 0},
        {"--format bf16 --mode rz", &gka_bf16, GKA_RND_TZ, 1, 0},
        {"--format fp16 --mode ru --subnormals off", &gka_fp16, GKA_RND_TP, 0, 0},
        {"--format e4m3 --saturate --mode na", &gka_e4m3, GKA_RND_NA, 1, 1},
        {"--format e4m3", &gka_e4m3, GKA_RND_NE, 1, 0},
        {"--format e5m2 --mode od", &gka_e5m2, GKA_RND_OD, 1, 0},
        {"--format tf32 --mode -1", &gka_tf32, GKA_RND_NA, 1, 0},
        {"--format fp32 --mode tn", &gka_fp32, GKA_RND_TN, 1, 0},
        {"--format bf16 --mode sp --seed 77 --stream 3", &gka_bf16, GKA_RND_SP, 1, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char args[512];
        snprintf(args, sizeof args, "round %s %s", cases[c].opts, vs);
        gka_rounding_t rr = gka_rounding_default(cases[c].f);
        rr.mode = cases[c].mode;
        rr.subnormals = cases[c].sub;
        rr.saturate = cases[c].sat;
        if (rr.mode == GKA_RND_SP) {
            rr.seed = 77;
            rr.stream = 3;
        }
        check_rows(args, cases[c].f, rr, v, 10);
    }
    gka_format_t cf;
    cr_assert_eq(gka_format_custom(12, -30, 30, &cf), GKA_OK);
    gka_rounding_t rr = gka_rounding_default(&cf);
    rr.mode = GKA_RND_TP;
    const double cv[] = {0.1, -7.77, 1e10};
    check_rows("round --format custom:12,-30,30 --mode tp 0.1 -7.77 1e10", &cf, rr, cv, 3);
}

Test(cmd_round, stochastic_output_reproducible) {
    static run_t a, b;
    run_gka("round --format bf16 --mode sp --seed 5 1.001 1.001 1.001 1.001 1.001 1.001", &a);
    run_gka("round --format bf16 --mode sp --seed 5 1.001 1.001 1.001 1.001 1.001 1.001", &b);
    cr_assert_eq(a.status, 0);
    cr_assert_str_eq(a.out, b.out);
}

/* Bad input: exit 2, exactly one line on stderr, starting "gka: " and
 * naming the culprit; nothing on stdout. */
Test(cmd_round, bad_input_one_line_exit_2) {
    const struct {
        const char *args, *named;
    } bad[] = {
        {"round --format bf17 1", "bf17"},
        {"round --format bf16 --mode xx 1", "xx"},
        {"round --format bf16 abc", "abc"},
        {"round --format bf16 1.5x", "1.5x"},
        {"round --format bf16", "VALUE"},
        {"round 1.0", "--format"},
        {"round --format custom:30,-10,10 1", "t = 30"},
        {"round --format custom:8,10,10 1", "emin"},
        {"round --format custom:8 1", "custom:8"},
        {"round --format bf16 --subnormals maybe 1", "maybe"},
        {"round --format bf16 --seed -3 1", "-3"},
        {"round --format bf16 1e999", "1e999"},
        {"round --format", "--format"},
        {"round --format bf16 --bogus 1", "--bogus"},
        {"round --format bf16 ''", "''"},
        {"formats --nope", "--nope"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        static run_t r;
        run_gka(bad[i].args, &r);
        cr_assert_eq(r.status, 2, "'%s' exited %d", bad[i].args, r.status);
        cr_assert_eq(count_lines(r.err), 1, "'%s': stderr '%s'", bad[i].args, r.err);
        cr_assert(!strncmp(r.err, "gka: ", 5), "%s", r.err);
        cr_assert_str_eq(r.out, "", "'%s' printed to stdout", bad[i].args);
        if (strcmp(bad[i].named, "''"))
            cr_assert(strstr(r.err, bad[i].named), "'%s': '%s' does not name %s", bad[i].args,
                      r.err, bad[i].named);
    }
    static run_t h;
    run_gka("round --help", &h);
    cr_assert_eq(h.status, 0);
    cr_assert(strstr(h.out, "usage: gka round"));
}

static void header_of(const char *args, char *line, size_t n) {
    static char out[PROG_TEXT_MAX];
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s: %s", args, out);
    const char *nl = strchr(out, '\n');
    cr_assert(nl && out[0] == '#', "%s", out);
    const size_t len = (size_t)(nl - out) < n - 1 ? (size_t)(nl - out) : n - 1;
    memcpy(line, out, len);
    line[len] = '\0';
}

Test(cmd_round, header_overflow_from_the_format) {
    const struct {
        const char *args, *want;
    } cases[] = {
        {"round --format e4m3 1", "overflow to nan (e4m3 has no infinities)"},
        {"round --format e4m3 --saturate 1", "saturating, overflow to +-max finite (448)"},
        {"round --format fp16 1", "overflow to +-inf"},
        {"round --format bf16 --mode tz 1", "overflow to +-max finite (3.3895313892515355e+38)"},
        {"round --format fp16 --mode tp 1", "overflow to +inf above, max finite -65504 below"},
        {"round --format e4m3 --mode tn 1", "overflow to max finite 448 above, nan below"},
        {"round --format e5m2 --saturate 1", "overflow to +-max finite (57344)"},
        {"round --format custom:5,-20,20 1", "overflow to +-inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[512];
        header_of(cases[i].args, line, sizeof line);
        cr_expect(strstr(line, cases[i].want), "'%s': header '%s' lacks '%s'", cases[i].args, line,
                  cases[i].want);
    }
}

/* Every built-in format: the header agrees with the rounding of a huge
 * value (what the format really does on overflow). */
Test(cmd_round, header_matches_rounding_every_format) {
    size_t n = 0;
    const gka_format_t *const *list = gka_format_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (list[i]->t >= 53) continue; /* fp64 never overflows from a double */
        char args[128], line[512];
        snprintf(args, sizeof args, "round --format %s 1e300", list[i]->name);
        header_of(args, line, sizeof line);
        gka_rounding_t r = gka_rounding_default(list[i]);
        const double y = gka_round(1e300, &r);
        cr_expect(strstr(line, isnan(y) ? "overflow to nan" : "overflow to +-inf"), "%s: %s",
                  list[i]->name, line);
    }
}

Test(cmd_round, invalid_mode_named) {
    static char out[PROG_TEXT_MAX];
    cr_assert_eq(prog_capture("round --format bf16 --mode 42 1", out, sizeof out), 2);
    cr_assert(strstr(out, "--mode") && strstr(out, "'42'"), "%s", out);
    cr_assert_eq(prog_lines(out), 1, "%s", out);
}
