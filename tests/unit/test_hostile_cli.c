/* Hostile input to every input path of the gka program: command-line options
 * of every subcommand, .npy / .safetensors / grid files with bad content,
 * unreadable and unwritable paths. Each case checks the exit status (2 bad
 * usage or input, 1 failure while running), no crash, exactly one
 * "gka: ..." line on stderr naming the field or file and the problem, and no
 * output file (or temporary *.tmp.*) left behind. docs/ERRORS.md lists the
 * classes and messages. Files are written by this test into a temporary
 * directory, which is also the working directory of every run. */
#include "program_testlib.h"

#include <math.h>
#include <stdint.h>

static char dir[256];

static void setup(void) {
    prog_make_tmpdir(dir, sizeof dir, "hostile");
    char path[512];
    snprintf(path, sizeof path, "%s/out", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
}

static void teardown(void) {
    prog_remove_tree(dir);
}

/* ---- writing test files -------------------------------------------------- */

static void write_bytes(const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* A .npy v1.0 file: header dict with descr and shape as given, padded as
 * numpy pads, then `n` data bytes. */
static void write_npy(const char *name, const char *descr, const char *shape, int fortran,
                      const void *data, size_t n) {
    char hdr[512];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                       descr, fortran ? "True" : "False", shape);
    while ((10 + len + 1) % 64)
        hdr[len++] = ' ';
    hdr[len++] = '\n';
    unsigned char *buf = malloc(10 + (size_t)len + n);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(len & 0xff), buf[9] = (unsigned char)(len >> 8);
    memcpy(buf + 10, hdr, (size_t)len);
    if (n) memcpy(buf + 10 + len, data, n);
    write_bytes(name, buf, 10 + (size_t)len + n);
    free(buf);
}

/* T x D float32 values sin(i+1) / 2 (finite, nonzero), with optional poison
 * at index `at`. */
static void f32_rows(float *v, size_t n, size_t at, float poison) {
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(0.5 * sin((double)i + 1.0));
    if (at < n) v[at] = poison;
}

/* A .safetensors file from a JSON header and a byte buffer. */
static void write_st(const char *name, const char *json, const void *data, size_t n) {
    size_t h = strlen(json);
    unsigned char *buf = malloc(8 + h + n);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, json, h);
    if (n) memcpy(buf + 8 + h, data, n);
    write_bytes(name, buf, 8 + h + n);
    free(buf);
}

static void write_text(const char *name, const char *text) {
    write_bytes(name, text, strlen(text));
}

static void make_files(void) {
    float v[64], w[64];
    f32_rows(v, 24, 99, 0.0f);
    write_npy("good.npy", "<f4", "(6, 4)", 0, v, 24 * 4);
    f32_rows(w, 24, 9, NAN);
    write_npy("nan.npy", "<f4", "(6, 4)", 0, w, 24 * 4);
    f32_rows(w, 24, 12, INFINITY);
    write_npy("inf.npy", "<f4", "(6, 4)", 0, w, 24 * 4);
    int32_t iv[24] = {0};
    write_npy("int.npy", "<i4", "(6, 4)", 0, iv, sizeof iv);
    write_npy("rank3.npy", "<f4", "(2, 3, 4)", 0, v, 24 * 4);
    write_npy("rank1.npy", "<f4", "(24,)", 0, v, 24 * 4);
    write_npy("v2.npy", "<V2", "(6, 4)", 0, v, 24 * 2); /* bf16 as ml_dtypes saves it */
    write_npy("zeroT.npy", "<f4", "(0, 4)", 0, v, 0);
    float *big = calloc(5000, sizeof *big);
    write_npy("bigD.npy", "<f4", "(1, 5000)", 0, big, 5000 * 4);
    for (int i = 0; i < 2000; i++)
        big[i] = 1.0f;
    write_npy("D2000.npy", "<f4", "(1, 2000)", 0, big, 2000 * 4);
    free(big);
    write_npy("trunc.npy", "<f4", "(6, 4)", 0, v, 24 * 4 - 5);
    write_npy("trailing.npy", "<f4", "(6, 4)", 0, v, 24 * 4 + 2);
    write_npy("hugeshape.npy", "<f4", "(4611686018427387904, 4)", 0, v, 16);
    write_npy("negshape.npy", "<f4", "(-6, 4)", 0, v, 16);
    write_bytes("empty.npy", "", 0);
    write_bytes("trunchdr.npy", "\x93NUMPY\x01\x00\x76\x00{'descr'", 18);
    write_bytes("badmagic.npy", "\x93NUMPX\x01\x00\x10\x00{}              ", 26);
    /* v2.0 header length 2^31 */
    write_bytes("hugehdr.npy", "\x93NUMPY\x02\x00\x00\x00\x00\x80{'descr': '<f4'}\n", 29);
    write_npy("q5.npy", "<f4", "(5, 4)", 0, v, 20 * 4);
    write_npy("q_D3.npy", "<f4", "(6, 3)", 0, v, 18 * 4);
    float g[6] = {-0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f};
    write_npy("gates_T5.npy", "<f4", "(5,)", 0, g, 5 * 4);
    g[0] = 0.5f;
    write_npy("gates_pos.npy", "<f4", "(6,)", 0, g, 6 * 4);
    g[0] = -0.1f, g[2] = NAN;
    write_npy("gates_nan.npy", "<f4", "(6,)", 0, g, 6 * 4);
    float b[6] = {2, 1, 1, 1, 1, 1};
    write_npy("betas_2.npy", "<f4", "(6,)", 0, b, 6 * 4);
    b[0] = 0.0f;
    write_npy("betas_0.npy", "<f4", "(6,)", 0, b, 6 * 4);

    /* safetensors: q then k, F32 [6, 4] each (96 bytes each) */
    float qk[48];
    f32_rows(qk, 48, 99, 0.0f);
    const char *good = "{\"q\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]},"
                       "\"k\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[96,192]}}";
    write_st("good.safetensors", good, qk, sizeof qk);
    write_st("trunc.safetensors", good, qk, sizeof qk - 7);
    f32_rows(qk, 48, 24 + 5, NAN);
    write_st("nan.safetensors", good, qk, sizeof qk);
    f32_rows(qk, 48, 99, 0.0f);
    write_st("int.safetensors",
             "{\"q\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]},"
             "\"k\":{\"dtype\":\"I32\",\"shape\":[6,4],\"data_offsets\":[96,192]}}",
             qk, sizeof qk);
    write_st("nok.safetensors",
             "{\"q\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]}}", qk, 96);
    write_st("shape.safetensors",
             "{\"q\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]},"
             "\"k\":{\"dtype\":\"F32\",\"shape\":[4,6],\"data_offsets\":[96,192]}}",
             qk, sizeof qk);
    write_st("rank3.safetensors",
             "{\"q\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]},"
             "\"k\":{\"dtype\":\"F32\",\"shape\":[2,3,4],\"data_offsets\":[96,192]}}",
             qk, sizeof qk);
    write_st("badjson.safetensors", "{\"q\":", NULL, 0);
    write_bytes("tiny.safetensors", "\x01\x02", 2);
    unsigned char hl[8 + 2] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}'}; /* 2^40 */
    write_bytes("hdrlen.safetensors", hl, sizeof hl);
    unsigned char hb[8 + 2] = {0, 0, 0x20, 0, 0, 0, 0, 0, '{', '}'}; /* 2^21 > 1 MiB */
    write_bytes("hdrbig.safetensors", hb, sizeof hb);

    /* grid files */
    write_text("ok.toml", "D = 4\nT = 4\n");
    write_text("g_key.toml", "bogus = 1\n");
    write_text("g_D0.toml", "D = 0\n");
    write_text("g_Dneg.toml", "D = [4, -1]\n");
    write_text("g_solver.toml", "solver = \"lanczos\"\n");
    write_text("g_Thuge.toml", "T = 99999999999999999999\n");
    write_text("g_list.toml", "D = [4, 8\n");
    write_text("g_nan.toml", "ridge = \"adaptive:nan\"\n");
    write_text("g_twice.toml", "D = 4\nD = 8\n");
    write_text("g_every.toml", "D = 4\nT = 4\nevery = -1\n");
    write_text("g_format.toml", "D = 4\nT = 4\nformat = \"bf17\"\n");
    write_text("g_string.toml", "name = \"x\n");
    write_bytes("g_nul.toml", "D = 4\n\0", 7);
    char cells[2048];
    int len = 0;
    for (const char *ax = "DTs"; *ax; ax++) {
        len += snprintf(cells + len, sizeof cells - (size_t)len, "%s = [1",
                        *ax == 'D'   ? "D"
                        : *ax == 'T' ? "T"
                                     : "seed");
        for (int i = 2; i <= 120; i++)
            len += snprintf(cells + len, sizeof cells - (size_t)len, ",%d", i);
        len += snprintf(cells + len, sizeof cells - (size_t)len, "]\n");
    }
    write_text("g_cells.toml", cells); /* 120^3 > 10^6 cells */

    char path[512];
    snprintf(path, sizeof path, "%s/adir", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/d.npy", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
}

/* ---- checks --------------------------------------------------------------- */

/* Expected exit: 2, 1, or ANY_FAIL (1 or 2: a bad input that is caught at run
 * time; see docs/ERRORS.md). */
enum { ANY_FAIL = -1 };

typedef struct {
    const char *args; /* space-separated, '' = empty argument */
    int code;
    const char *says; /* a substring the message must contain */
} bad_case_t;

/* Run one case and check: no signal, the exit status, exactly one stderr
 * line "gka: ..." containing `says`, nothing left in out/. */
static void expect_bad(const bad_case_t *c) {
    prog_result_t *r = malloc(sizeof *r);
    prog_run(dir, c->args, NULL, r);
    cr_expect(!r->signaled, "'%s' killed by signal %d; stderr: %s", c->args, r->sig, r->err);
    if (c->code == ANY_FAIL)
        cr_expect(r->code == 1 || r->code == 2, "'%s' exit %d; stderr: %s", c->args, r->code,
                  r->err);
    else
        cr_expect_eq(r->code, c->code, "'%s' exit %d, expected %d; stderr: %s", c->args, r->code,
                     c->code, r->err);
    cr_expect(!strncmp(r->err, "gka: ", 5), "'%s' stderr does not start 'gka: ': %s", c->args,
              r->err);
    cr_expect_eq(prog_lines(r->err), 1, "'%s' stderr has %d lines: %s", c->args, prog_lines(r->err),
                 r->err);
    cr_expect(strstr(r->err, c->says) != NULL, "'%s' message lacks '%s': %s", c->args, c->says,
              r->err);
    char out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    cr_expect_eq(prog_count_entries(out, NULL), 0, "'%s' left files in out/", c->args);
    cr_expect_eq(prog_count_entries(dir, ".tmp."), 0, "'%s' left a temporary file", c->args);
    free(r);
}

static void expect_all(const bad_case_t *cases, size_t n) {
    for (size_t i = 0; i < n; i++)
        expect_bad(&cases[i]);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* tiny problem for solve cases that must fail before doing any work */
#define SMALL " --D 4 --T 4 --csv out/x.csv"

TestSuite(hostile_cli, .init = setup, .fini = teardown, .timeout = 120);

Test(hostile_cli, top_level) {
    static const bad_case_t c[] = {
        {"frobnicate", 2, "unknown command 'frobnicate'"},
        {"bench", 2, "bench needs a target"},
        {"bench bogus", 2, "unknown command 'bench bogus'"},
    };
    expect_all(c, N(c));
    prog_result_t *r = malloc(sizeof *r);
    prog_run(dir, "", NULL, r); /* no command: usage on stderr, exit 2 */
    cr_expect_eq(r->code, 2);
    cr_expect(strstr(r->err, "usage: gka COMMAND"), "%s", r->err);
    free(r);
}

Test(hostile_cli, solve_options) {
    static const bad_case_t c[] = {
        {"solve --bogus 1" SMALL, 2, "unknown option '--bogus'"},
        {"solve extra" SMALL, 2, "unexpected argument 'extra'"},
        {"solve --D 0 --T 4", 2, "--D: 0 is out of range [1, 1024]"},
        {"solve --D -1 --T 4", 2, "--D: -1 is out of range"},
        {"solve --D 1025 --T 4", 2, "--D: 1025 is out of range"},
        {"solve --D 99999999999999999999 --T 4", 2,
         "--D: '99999999999999999999' is not an integer"},
        {"solve --D 4x --T 4", 2, "--D: '4x' is not an integer"},
        {"solve --D '' --T 4", 2, "--D: '' is not an integer"},
        {"solve --T 0 --D 4", 2, "--T: 0 is out of range"},
        {"solve --T -5 --D 4", 2, "--T: -5 is out of range"},
        {"solve --T 10000001 --D 4", 2, "--T: 10000001 is out of range"},
        {"solve --T 1e3 --D 4", 2, "--T: '1e3' is not an integer"},
        {"solve --iters -1" SMALL, 2, "--iters: -1 is out of range"},
        {"solve --tol nan" SMALL, 2, "--tol: 'nan' is not finite"},
        {"solve --tol inf" SMALL, 2, "--tol: 'inf' is not finite"},
        {"solve --tol -1" SMALL, 2, "--tol: -1 must be >= 0"},
        {"solve --ridge adaptive:nan" SMALL, 2, "'nan' is not a finite number"},
        {"solve --ridge adaptive:inf" SMALL, 2, "'inf' is not a finite number"},
        {"solve --ridge adaptive:0" SMALL, 2, "value must be > 0"},
        {"solve --ridge adaptive:-1" SMALL, 2, "value must be > 0"},
        {"solve --ridge fixed:-1" SMALL, 2, "ridge 'fixed:-1'"},
        {"solve --ridge bogus:1" SMALL, 2, "expected fixed:LAMBDA, adaptive:A or decay:LAMBDA0"},
        {"solve --ridge adaptive:" SMALL, 2, "'' is not a finite number"},
        {"solve --gate const:nan" SMALL, 2, "gate spec 'const:nan' is invalid"},
        {"solve --gate const:0" SMALL, 2, "gate spec 'const:0' is invalid"},
        {"solve --gate uniform:0.9,0.1" SMALL, 2, "gate spec 'uniform:0.9,0.1' is invalid"},
        {"solve --beta sigmoid:inf" SMALL, 2, "beta spec 'sigmoid:inf' is invalid"},
        {"solve --keys powerlaw:nan" SMALL, 2, "keys spec 'powerlaw:nan' is invalid"},
        {"solve --keys repeated:0" SMALL, 2, "keys spec 'repeated:0' is invalid"},
        {"solve --keys lowrank:100,0.1" SMALL, 2, "lowrank rank 100 must be in [1, D=4]"},
        {"solve --keys nonsense" SMALL, 2, "keys spec 'nonsense' is invalid"},
        {"solve --queries sideways" SMALL, 2, "sideways"},
        {"solve --format bf17" SMALL, 2, "unknown arithmetic format 'bf17'"},
        {"solve --format custom:30,-10,10" SMALL, 2, "custom:30,-10,10"},
        {"solve --accum sideways --format bf16" SMALL, 2, "sideways"},
        {"solve --mode zz --format bf16" SMALL, 2, "unknown rounding mode 'zz'"},
        {"solve --seed -1" SMALL, 2, "--seed: '-1' is not a non-negative integer"},
        {"solve --seed 99999999999999999999999" SMALL, 2, "is not a 64-bit non-negative integer"},
        {"solve --every -1" SMALL, 2, "--every: -1 is out of range"},
        {"solve --chunk 0" SMALL, 2, "--chunk: 0 is out of range"},
        {"solve --chunk 4 --iter-format bf17" SMALL, 2, "'bf17'"},
        {"solve --solver lanczos" SMALL, 2, "lanczos"},
        {"solve --variant bogus" SMALL, 2, "unknown variant 'bogus'"},
        {"solve --solver kalman --variant bogus" SMALL, 2,
         "unknown variant 'bogus' (info,cov,joseph,sqrt)"},
        {"solve --batch -1" SMALL, 2, "--batch: -1 is out of range"},
        {"solve --D 4 --T 4 --iters", 2, "option --iters needs a value"},
        {"solve --D 4 --T 4 --csv ''", 2, "--csv: empty path"},
    };
    expect_all(c, N(c));
}

Test(hostile_cli, solve_npy_files) {
    make_files();
    static const bad_case_t c[] = {
        {"solve --keys nan.npy --csv out/x.csv", 2, "nan.npy: k[t=2,i=1] = nan is not finite"},
        {"solve --keys inf.npy --csv out/x.csv", 2, "inf.npy: k[t=3,i=0] = inf is not finite"},
        {"solve --keys int.npy --csv out/x.csv", 2, "int.npy: unsupported dtype '<i4'"},
        {"solve --keys rank3.npy --csv out/x.csv", 2,
         "rank3.npy: k has shape [2, 3, 4]; expected [T, D] or [B, T, H, D]"},
        {"solve --keys rank1.npy --csv out/x.csv", 2, "rank1.npy: k has shape [24]"},
        {"solve --keys v2.npy --csv out/x.csv", 2, "name it: v2.npy:bf16"},
        {"solve --keys zeroT.npy --csv out/x.csv", 2,
         "zeroT.npy: k has shape [0, 4] with a zero dimension"},
        {"solve --keys bigD.npy --csv out/x.csv", 2, "bigD.npy: k has D=5000 > limit 4096"},
        {"solve --keys D2000.npy --csv out/x.csv", 2, "D = 2000 out of range [1, 1024]"},
        {"solve --keys trunc.npy --csv out/x.csv", 2,
         "trunc.npy: truncated data: shape and dtype need 96 bytes, 91 present"},
        {"solve --keys trailing.npy --csv out/x.csv", 2,
         "trailing.npy: 2 trailing bytes after the data"},
        {"solve --keys trunchdr.npy --csv out/x.csv", 2, "trunchdr.npy: truncated header"},
        {"solve --keys empty.npy --csv out/x.csv", 2, "empty.npy: not a .npy file"},
        {"solve --keys badmagic.npy --csv out/x.csv", 2,
         "badmagic.npy: not a .npy file (bad magic)"},
        {"solve --keys hugehdr.npy --csv out/x.csv", 2,
         "hugehdr.npy: .npy header length 2147483648 exceeds the limit 1048576"},
        {"solve --keys hugeshape.npy --csv out/x.csv", 2,
         "hugeshape.npy: .npy shape describes more than"},
        {"solve --keys negshape.npy --csv out/x.csv", 2, "negshape.npy: malformed .npy header"},
        {"solve --keys nonexistent.npy --csv out/x.csv", 2,
         "nonexistent.npy: cannot open: No such file or directory"},
        {"solve --keys adir/x.npy --csv out/x.csv", 2, "adir/x.npy: cannot open"},
        {"solve --keys d.npy --csv out/x.csv", 2, "d.npy: "},
        {"solve --keys good.npy --queries q5.npy --csv out/x.csv", 2,
         "q5.npy: q has T=5, D=4 but good.npy: k has T=6, D=4"},
        {"solve --keys good.npy --queries q_D3.npy --csv out/x.csv", 2, "q_D3.npy: q has T=6, D=3"},
        {"solve --keys good.npy --queries nan.npy --csv out/x.csv", 2,
         "nan.npy: q[t=2,i=1] = nan is not finite"},
        {"solve --keys good.npy --gates gates_pos.npy --csv out/x.csv", 2,
         "gates_pos.npy: g[t=0] = 0.5 > 0 (log gates must be <= 0)"},
        {"solve --keys good.npy --gates gates_nan.npy --csv out/x.csv", 2, "gates_nan.npy: g[t=2"},
        {"solve --keys good.npy --gates gates_T5.npy --csv out/x.csv", 2,
         "gates_T5.npy: g has T=5 but good.npy: k has T=6"},
        {"solve --keys good.npy --gates good.npy --csv out/x.csv", 2,
         "good.npy: g has shape [6, 4]; expected [T] or [B, T, H]"},
        {"solve --keys good.npy --betas betas_2.npy --csv out/x.csv", 2,
         "betas_2.npy: beta[t=0] = 2 is outside (0, 1]"},
        {"solve --keys good.npy --betas betas_0.npy --csv out/x.csv", 2,
         "betas_0.npy: beta[t=0] = 0 is outside (0, 1]"},
    };
    expect_all(c, N(c));
}

Test(hostile_cli, solve_safetensors_files) {
    make_files();
    static const bad_case_t c[] = {
        {"solve --trace nan.safetensors --csv out/x.csv", 2,
         "nan.safetensors: k[t=1,i=1] = nan is not finite"},
        {"solve --trace int.safetensors --csv out/x.csv", 2,
         "int.safetensors: tensor 'k' has dtype I32; need F16, BF16, F32 or F64"},
        {"solve --trace nok.safetensors --csv out/x.csv", 2,
         "nok.safetensors: no tensor named 'k'"},
        {"solve --trace shape.safetensors --csv out/x.csv", 2,
         "q has T=6, D=4 but shape.safetensors: k has T=4, D=6"},
        {"solve --trace rank3.safetensors --csv out/x.csv", 2,
         "rank3.safetensors: k has shape [2, 3, 4]"},
        {"solve --trace trunc.safetensors --csv out/x.csv", 2,
         "trunc.safetensors: tensor 'k': data_offsets end 192 beyond"},
        {"solve --trace hdrlen.safetensors --csv out/x.csv", 2,
         "hdrlen.safetensors: safetensors header length 1099511627776 exceeds the limit 1048576"},
        {"solve --trace hdrbig.safetensors --csv out/x.csv", 2,
         "hdrbig.safetensors: safetensors header length 2097152 exceeds"},
        {"solve --trace badjson.safetensors --csv out/x.csv", 2,
         "badjson.safetensors: malformed safetensors header"},
        {"solve --trace tiny.safetensors --csv out/x.csv", 2,
         "tiny.safetensors: truncated: 2 bytes"},
        {"solve --trace adir --csv out/x.csv", 2, "adir: "},
        {"solve --trace none.safetensors --csv out/x.csv", 2,
         "none.safetensors: cannot open: No such file or directory"},
    };
    expect_all(c, N(c));
}

/* The good files load (so the failures above are about the defect). */
Test(hostile_cli, good_files_load) {
    make_files();
    prog_result_t *r = malloc(sizeof *r);
    prog_run(dir, "solve --keys good.npy --csv ok1.csv", NULL, r);
    cr_expect_eq(r->code, 0, "%s", r->err);
    prog_run(dir, "solve --trace good.safetensors --csv ok2.csv", NULL, r);
    cr_expect_eq(r->code, 0, "%s", r->err);
    char p[512];
    snprintf(p, sizeof p, "%s/ok2.csv", dir);
    cr_expect(prog_exists(p));
    free(r);
}

Test(hostile_cli, unwritable_outputs) {
    make_files();
    static const bad_case_t c[] = {
        {"solve --D 4 --T 4 --csv /etc/passwd/x.csv", 2,
         "/etc/passwd/x.csv: cannot create output file: Not a directory"},
        {"solve --D 4 --T 4 --history /etc/passwd/x.csv", 2,
         "/etc/passwd/x.csv: cannot create output file"},
        {"solve --D 4 --T 4 --csv /nonexistent-dir/x.csv", 2,
         "/nonexistent-dir/x.csv: cannot create output file: No such file or directory"},
        /* the CSV is opened first, then the history fails: the CSV must go */
        {"solve --D 4 --T 4 --csv out/x.csv --history /etc/passwd/h.csv", 2, "/etc/passwd/h.csv"},
        /* a directory as output file: refused when the output is opened, before the run */
        {"solve --D 4 --T 4 --csv adir", 2, "adir: is a directory, not an output file"},
        {"grad --D 4 --T 4 --csv /etc/passwd/x.csv", 2,
         "/etc/passwd/x.csv: cannot create output file"},
        {"grad --D 4 --T 4 --csv adir", 2, "adir: is a directory, not an output file"},
        {"figure kappa --quick --images none --quiet --out /etc/passwd/x", 2,
         "/etc/passwd/x: cannot create directory: Not a directory"},
        {"figure kappa --quick --images none --quiet --out ''", 2, "--out: empty path"},
    };
    expect_all(c, N(c));
}

/* Found by this test (both fixed): with --csv unwritable and --history given,
 * solve aborted the never-opened history file and crashed (SIGSEGV); the
 * sweep refused an unwritable --out only after running every cell. Both are
 * refused before any work now, with one line. */
Test(hostile_cli, known_defects_unwritable_first_of_two_outputs) {
    make_files();
    static const bad_case_t c[] = {
        {"solve --D 4 --T 4 --csv /etc/passwd/x.csv --history out/h.csv", 2,
         "/etc/passwd/x.csv: cannot create output file"},
        {"sweep ok.toml --quiet --out /etc/passwd/x.csv", 2,
         "/etc/passwd/x.csv: cannot create output file: Not a directory"},
    };
    expect_all(c, N(c));
}

/* Issue 14, points 2 and 6: outputs that are devices are written in place
 * (and a full one fails), outputs that are inputs or each other refused. */
Test(hostile_cli, outputs_that_would_destroy_data) {
    make_files();
    static const bad_case_t c[] = {
        {"solve --D 4 --T 64 --csv /dev/full", 1,
         "/dev/full: write failed: No space left on device"},
        {"solve --D 4 --T 4 --history /dev/full", 1, "/dev/full: write failed"},
        {"solve --keys good.npy --csv good.npy", 2,
         "--csv 'good.npy' is the input of --keys: writing it would destroy the input"},
        {"solve --keys good.npy --history ./good.npy", 2, "is the input of --keys"},
        {"solve --D 4 --T 4 --csv out/x.csv --history out/x.csv", 2,
         "--csv and --history name the same file 'out/x.csv'"},
        {"solve --D 4 --T 4 --csv --warm", 2,
         "option --csv needs a value (found the option '--warm'"},
        {"solve --keys good.npy --save-x good.npy", 2,
         "--save-x 'good.npy' is the input of --keys"},
        {"solve --D 4 --T 4 --csv out/x.csv --save-ref out/x.csv", 2,
         "--csv and --save-ref name the same file 'out/x.csv'"},
        /* whole or nothing: the CSV is not left when the array cannot be written */
        {"solve --D 4 --T 64 --csv out/x.csv --history out/h.csv --save-x /dev/full", 1,
         "/dev/full: write failed: No space left on device"},
        {"sweep ok.toml --quiet --out ok.toml", 2, "--out 'ok.toml' is the input of the grid file"},
        {"sweep ok.toml --quiet --out /dev/null", 2, "--out /dev/null is not a regular file"},
    };
    expect_all(c, N(c));
    struct stat st;
    cr_assert_eq(stat("/dev/full", &st), 0);
    cr_expect(S_ISCHR(st.st_mode), "/dev/full was replaced by a regular file");
    cr_assert_eq(stat("/dev/null", &st), 0);
    cr_expect(S_ISCHR(st.st_mode), "/dev/null was replaced by a regular file");
    prog_result_t *r = malloc(sizeof *r);
    prog_run(dir, "solve --D 4 --T 4 --csv /dev/null", NULL, r);
    cr_expect_eq(r->code, 0, "%s", r->err);
    free(r);
    char good[512];
    snprintf(good, sizeof good, "%s/good.npy", dir);
    cr_expect(prog_exists(good), "the input was overwritten or removed");
}

/* Issue 14, points 10 and 11: grid values wrong in form or in substance are
 * refused with exit 2 before the first cell runs. */
Test(hostile_cli, grid_values_refused_before_any_cell) {
    make_files();
    write_text("v_twice.toml", "D = 4\n[axes]\nD = 8\n");
    write_text("v_space.toml", "ridge = \"adaptive: 0.02\"\n");
    write_text("v_seed.toml", "seed = \" 1\"\n");
    write_text("v_mpfr.toml", "D = 4\nT = 4\nformat = \"mpfr:0\"\n");
    write_text("v_variant.toml", "D = 4\nT = 4\nsolver = \"cg\"\nvariant = \"bogus\"\n");
    write_text("v_rank.toml", "D = 4\nT = 4\nkeys = \"lowrank:100,0.1\"\n");
    write_text("v_chunk.toml", "D = 4\nT = 8\nsolver = [\"chebyshev\", \"kalman\"]\nchunk = 4\n");
    write_text("v_newline.toml", "name = \"a\\nb\"\n");
    write_text("v_bare.toml", "solver = chebyshev\n");
    char link[512];
    snprintf(link, sizeof link, "%s/v_zero.toml", dir);
    cr_assert_eq(symlink("/dev/zero", link), 0);
    static const bad_case_t c[] = {
        {"sweep v_twice.toml --quiet --out out/s.csv", 2,
         "v_twice.toml:3:5: D is set twice (first on line 1)"},
        {"sweep v_space.toml --quiet --out out/s.csv", 2,
         "v_space.toml:1:9: ridge: value holds a space"},
        {"sweep v_seed.toml --quiet --out out/s.csv", 2,
         "v_seed.toml:1:8: seed: value holds a space"},
        {"sweep v_mpfr.toml --quiet --out out/s.csv", 2, "v_mpfr.toml: cell 0 (format = mpfr:0): "},
        {"sweep v_variant.toml --quiet --out out/s.csv", 2,
         "cell 0 (solver = cg, variant = bogus): solver cg: unknown variant 'bogus'"},
        {"sweep v_rank.toml --quiet --out out/s.csv", 2,
         "cell 0 (keys = lowrank:100,0.1, D = 4): keys: lowrank rank 100 must be in [1, D=4]"},
        {"sweep v_chunk.toml --quiet --out out/s.csv", 2, "cell 1 (solver = kalman, chunk = 4): "},
        {"sweep v_newline.toml --quiet --out out/s.csv", 2,
         "name: value holds a control character"},
        {"sweep v_bare.toml --quiet --out out/s.csv", 2,
         "v_bare.toml:1:10: 'chebyshev' is not a TOML value (a string needs quotes"},
        {"sweep v_zero.toml --quiet --out out/s.csv", 2,
         "v_zero.toml: grid file larger than the limit of 1048576 bytes"},
    };
    expect_all(c, N(c));
}

Test(hostile_cli, figure_options_and_files) {
    make_files();
    static const bad_case_t c[] = {
        {"figure bogus", 2, "unknown figure 'bogus'"},
        {"figure --list x", 2, "--list takes no arguments"},
        {"figure kappa --out out --threads 0", 2, "--threads: 0 is out of range [1, 1024]"},
        {"figure kappa --out out --threads -1", 2, "--threads: -1 is out of range [1, 1024]"},
        {"figure kappa --out out --threads x", 2, "--threads: 'x'"},
        {"figure kappa --out out --seed -1", 2, "--seed: '-1' is not a non-negative integer"},
        {"figure kappa --out out --seed", 2, "option --seed needs a value"},
        {"figure kappa --out out --images bogus", 2, "--images: unknown format 'bogus'"},
        {"figure kappa --out out --bogus", 2, "unknown option '--bogus'"},
        {"figure kappa --out out --quick --full", 2, "--quick and --full are exclusive"},
        {"figure kappa --out out extra", 2, "more than one figure name ('extra')"},
        {"figure kappa --out out --keys good.npy", 2,
         "figure kappa: --keys: keys spec 'good.npy' is invalid"},
        {"figure omega --out out --keys good.npy", 2, "--keys does not apply to figure 'omega'"},
        {"figure trace --out out --keys good.npy --trace good.safetensors", 2,
         "--keys and --trace are exclusive"},
        {"figure trace --out out --keys none.npy", 2, "none.npy: cannot read the trace file"},
    };
    expect_all(c, N(c));
    /* bad data found while the figure runs: a failure naming the file; the
       figure's directory may exist but holds no file */
    static const bad_case_t d[] = {
        {"figure trace --quick --images none --quiet --out fo --keys nan.npy", ANY_FAIL,
         "nan.npy: k[t=2,i=1] = nan is not finite"},
        {"figure trace --quick --images none --quiet --out fo --trace int.safetensors", ANY_FAIL,
         "int.safetensors: tensor 'k' has dtype I32"},
        {"figure trace --quick --images none --quiet --out fo --keys d.npy", ANY_FAIL, "d.npy: "},
    };
    expect_all(d, N(d));
    char fo[512];
    snprintf(fo, sizeof fo, "%s/fo/trace", dir);
    cr_expect(prog_count_entries(fo, NULL) <= 0, "figure left files in fo/trace");
}

Test(hostile_cli, sweep_grid_files) {
    make_files();
    static const bad_case_t c[] = {
        {"sweep g_key.toml --quiet --out out/s.csv", 2, "g_key.toml:1:9: unknown key 'bogus'"},
        {"sweep g_D0.toml --quiet --out out/s.csv", 2,
         "g_D0.toml:1:5: D = '0': expected an integer in [1, 1024]"},
        {"sweep g_Dneg.toml --quiet --out out/s.csv", 2, "g_Dneg.toml:1:9: D = '-1'"},
        {"sweep g_solver.toml --quiet --out out/s.csv", 2,
         "g_solver.toml:1:10: solver = 'lanczos': unknown solver"},
        {"sweep g_Thuge.toml --quiet --out out/s.csv", 2,
         "g_Thuge.toml:1:5: integer outside the 64-bit range"},
        {"sweep g_list.toml --quiet --out out/s.csv", 2,
         "g_list.toml:2:1: expected ',' or ']' in an array"},
        {"sweep g_nan.toml --quiet --out out/s.csv", 2, "'nan' is not a finite number"},
        {"sweep g_twice.toml --quiet --out out/s.csv", 2,
         "g_twice.toml:2:1: key 'D' defined twice"},
        {"sweep g_every.toml --quiet --out out/s.csv", 2, "g_every.toml:3:9: every = '-1'"},
        {"sweep g_format.toml --quiet --out out/s.csv", 2,
         "g_format.toml:3:10: format = 'bf17': unknown format"},
        {"sweep g_string.toml --quiet --out out/s.csv", 2,
         "g_string.toml:1:10: unterminated string"},
        {"sweep g_nul.toml --quiet --out out/s.csv", 2,
         "g_nul.toml: grid file contains a NUL byte"},
        {"sweep g_cells.toml --quiet --out out/s.csv", 2,
         "g_cells.toml: the grid has more than 1000000 cells"},
        {"sweep none.toml --quiet --out out/s.csv", 2,
         "none.toml: cannot open: No such file or directory"},
        {"sweep adir --quiet --out out/s.csv", 2, "adir: "},
        {"sweep good.npy --quiet --out out/s.csv", 2, "good.npy: grid file contains a NUL byte"},
        {"sweep ok.toml --quiet --out out/s.csv --threads 0", 2, "--threads: 0 is out of range"},
        {"sweep ok.toml --quiet --out out/s.csv --bogus", 2, "unknown option '--bogus'"},
        {"sweep ok.toml ok.toml --quiet --out out/s.csv", 2, "more than one grid file"},
    };
    expect_all(c, N(c));
}

Test(hostile_cli, round_formats_grad_bench) {
    static const bad_case_t c[] = {
        {"round 1.0", 2, "round: --format is required"},
        {"round --format bf17 1", 2, "round: unknown format 'bf17'"},
        {"round --format bf16", 2, "round: no VALUE given"},
        {"round --format bf16 abc", 2, "round: 'abc' is not a number"},
        {"round --format bf16 1e999", 2, "round: '1e999' is beyond the range of double"},
        {"round --format bf16 --mode zz 1", 2, "unknown rounding mode 'zz'"},
        {"round --format bf16 --seed -1 1", 2, "--seed: '-1'"},
        {"round --format bf16 --subnormals maybe 1", 2,
         "--subnormals takes on or off, not 'maybe'"},
        {"round --format custom:27,-10,10 1", 2, "precision t = 27 is out of range [2, 26]"},
        {"round --format custom:8,10,-10 1", 2, "emin = 10 is out of range"},
        {"round --format bf16 --bogus 1", 2, "unknown option '--bogus'"},
        {"round --format", 2, "option --format needs a value"},
        {"formats --bogus", 2, "formats: unknown option '--bogus'"},
        {"grad --bogus", 2, "grad: unknown option '--bogus'"},
        {"bench solve --bogus", 2, "bench solve: unknown option '--bogus'"},
        {"grad --D 0", 2, "--D: 0 is out of range"},
        {"grad --T 0 --D 4", 2, "--T: 0 is out of range"},
        {"grad --D x", 2, "--D: 'x' is not an integer"},
        {"grad --D 4 --T 4 --iters -1", 2, "--iters: -1 is out of range"},
        {"grad --D 4 --T 4 --solver kalman", 2, "solver 'kalman' has no implicit gradient"},
        {"grad --D 4 --T 4 --grad-mode bogus", 2,
         "--grad-mode takes implicit or iterations, not 'bogus'"},
        {"grad --D 4 --T 4 --mode implicit", 2,
         "--mode is the rounding mode; the gradient mode is now --grad-mode implicit"},
        {"grad --D 4 --T 4 --mode bogus", 2, "unknown rounding mode 'bogus'"},
        {"grad --D 4 --T 4 --ridge decay:0.5", 2, "gradients need fixed: or adaptive:"},
        {"grad --D 4 --T 4 --ridge adaptive:nan", 2, "'nan' is not a finite number"},
        {"grad --D 4 --T 4 --format bf17", 2, "'bf17'"},
        {"grad --D 4 --T 4 --keys none.npy", 2,
         "none.npy: cannot open"}, /* loaded as gka solve does */
        {"grad --D 4 --T 4 --chunk 4 --solver cg", 2,
         "it needs the chunked gradient (--solver chebyshev --grad-mode implicit)"},
        {"grad --D 4 --T 4 extra", 2, "unexpected argument 'extra'"},
        {"grad --D", 2, "option --D needs a value"},
        {"bench round --sizes 0 --reps 1", 2, "--sizes: '0' is not a size"},
        {"bench round --sizes 1Q --reps 1", 2, "--sizes: '1Q' is not a size"},
        {"bench round --sizes 99999999G --reps 1", 2, "'99999999G' is not a size"},
        {"bench round --sizes 1K --reps 0", 2, "--reps: 0 is out of range"},
        {"bench round --sizes 1K --reps 1 --threads 0", 2, "--threads: 0 is out of range"},
        {"bench round --sizes 1K --reps 1 --formats bf17", 2, "unknown format 'bf17'"},
        {"bench round --sizes 1K --reps 1 --modes zz", 2, "unknown rounding mode 'zz'"},
        {"bench round --sizes 1K --reps 1 --bogus", 2, "unknown option '--bogus'"},
        {"bench solve --D 0 --T 2 --repeat 1", 2, "--D: 0 is out of range"},
        {"bench solve --D 4,x --T 2 --repeat 1", 2, "--D: 'x' is not an integer"},
        {"bench solve --D 4 --T 0 --repeat 1", 2, "--T: 0 is out of range"},
        {"bench solve --D 4 --T 2 --iters -1", 2, "--iters: -1 is out of range"},
        {"bench solve --D 4 --T 2 --solvers lanczos", 2, "unknown solver 'lanczos'"},
        {"bench solve --D 4 --T 2 --repeat 0", 2, "--repeat: 0 is out of range"},
        {"bench solve --D 4 --T 2 --bogus 1", 2, "unknown option '--bogus'"},
    };
    expect_all(c, N(c));
}
