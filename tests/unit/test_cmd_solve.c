/* gka solve end to end: CSV, summary, exit codes. */
#include "program_testlib.h"
#include "gka_run.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long count_lines(const char *path, char *first, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    long c = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue; /* provenance and parameters */
        if (c == 0) snprintf(first, n, "%s", line);
        c++;
    }
    fclose(f);
    return c;
}

Test(cmd_solve, writes_csv_and_summary) {
    char out[8192], tmpl[] = "/tmp/gka_solve_XXXXXX", first[4096], args[1024];
    cr_assert(mkdtemp(tmpl));
    snprintf(args, sizeof args,
             "solve --solver chebyshev --format bf16 --accum fp32 --ridge adaptive:0.02 --gate gka "
             "--keys iid --D 16 --T 50 --iters 30 --seed 1 --every 10 --csv %s/out.csv "
             "--history %s/h.csv",
             tmpl, tmpl);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "error     median") && strstr(out, "iteration_limit 50"), "%s", out);
    char path[1100];
    snprintf(path, sizeof path, "%s/out.csv", tmpl);
    cr_assert_eq(count_lines(path, first, sizeof first), 51);
    cr_assert(!strncmp(first, "t,err,res,kappa,", 16), "%s", first);
    snprintf(path, sizeof path, "%s/h.csv", tmpl);
    cr_assert_eq(count_lines(path, first, sizeof first), 1 + 50 * 31);
    snprintf(args, sizeof args, "rm -rf %s", tmpl);
    cr_assert_eq(system(args), 0);
}

Test(cmd_solve, chunk_form_and_kalman_run) {
    char out[8192];
    cr_assert_eq(prog_capture("solve --chunk 8 --format bf16 --D 8 --T 30", out, sizeof out), 0,
                 "%s", out);
    cr_assert(strstr(out, "chunk form"), "%s", out);
    cr_assert_eq(prog_capture("solve --solver kalman --variant joseph --ridge decay:0.5 --gate "
                              "const:0.9 --D 8 --T 30",
                              out, sizeof out),
                 0, "%s", out);
    cr_assert(strstr(out, "kalman P"), "%s", out);
}

Test(cmd_solve, bad_input_exit_2) {
    char out[8192];
    const char *bad[] = {
        "solve --solver lanczos",
        "solve --D 0",
        "solve --D 1025",
        "solve --T 0",
        "solve --T 10000001",
        "solve --ridge fixed:-1",
        "solve --format bf17",
        "solve --accum sideways",
        "solve --keys nonsense",
        "solve --variant info",
        "solve --solver kalman --chunk 4",
        "solve --bogus",
        "solve --csv /nonexistent-dir/x.csv --T 4",
        "solve --keys /nonexistent.npy",
        "solve --iters",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(prog_capture(bad[i], out, sizeof out), 2, "'%s' -> %s", bad[i], out);
        cr_assert(!strncmp(out, "gka: ", 5), "'%s': %s", bad[i], out);
        cr_assert(strchr(out, '\n') == out + strlen(out) - 1, "'%s' not one line: %s", bad[i], out);
    }
}

/* A float32 [T, D] .npy file (format 1.0) of seeded values. */
static void write_npy(const char *path, int T, int D, unsigned seed) {
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", T, D);
    int total = 10 + n + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f), fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    srand(seed);
    for (int i = 0; i < T * D; i++) {
        float v = (float)rand() / (float)RAND_MAX - 0.5f;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

/* Keys and queries from .npy files, and the same as tensors k, q of a
 * .safetensors file: both runs solve the same problem. */
Test(cmd_solve, loads_npy_and_safetensors) {
    char tmpl[] = "/tmp/gka_load_XXXXXX", out[8192], args[4096], kp[256], qp[256], sp[256];
    cr_assert(mkdtemp(tmpl));
    snprintf(kp, sizeof kp, "%s/k.npy", tmpl);
    snprintf(qp, sizeof qp, "%s/q.npy", tmpl);
    snprintf(sp, sizeof sp, "%s/t.safetensors", tmpl);
    const int T = 40, D = 8;
    write_npy(kp, T, D, 1);
    write_npy(qp, T, D, 2);
    snprintf(args, sizeof args, "solve --keys %s --queries %s --format bf16", kp, qp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "D=8 T=40"), "%s", out);
    char npy_summary[8192];
    snprintf(npy_summary, sizeof npy_summary, "%s", strstr(out, "error"));
    *strstr(npy_summary, "reference") = '\0';
    /* the same data as safetensors */
    char json[512];
    const size_t nb = (size_t)T * D * 4;
    int jn = snprintf(json, sizeof json,
                      "{\"k\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]},"
                      "\"q\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}}",
                      T, D, nb, T, D, nb, 2 * nb);
    FILE *f = fopen(sp, "wb");
    unsigned long long hl = (unsigned long long)jn;
    for (int i = 0; i < 8; i++)
        fputc((int)((hl >> (8 * i)) & 0xff), f);
    fwrite(json, 1, (size_t)jn, f);
    const char *srcs[2] = {kp, qp};
    for (int s = 0; s < 2; s++) {
        FILE *g = fopen(srcs[s], "rb");
        unsigned char buf[8192];
        size_t got = fread(buf, 1, sizeof buf, g);
        fclose(g);
        fwrite(buf + got - nb, 1, nb, f);
    }
    fclose(f);
    snprintf(args, sizeof args, "solve --trace %s --format bf16", sp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    char *e = strstr(out, "error");
    cr_assert(e);
    *strstr(e, "reference") = '\0';
    cr_assert_str_eq(e, npy_summary);
    snprintf(args, sizeof args, "solve --D 8 --trace %s/missing.safetensors", tmpl);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    snprintf(args, sizeof args, "rm -rf %s", tmpl);
    cr_assert_eq(system(args), 0);
}

/* --reference: the summary names the reference; every choice measures the
 * same median error here; a bad choice is a usage error. */
Test(cmd_solve, reference_choice) {
    const char *refs[] = {"lapack", "mpfr:200", "arb:256", "cholesky64"};
    char out[8192], first[64] = "";
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char args[256], want[64];
        snprintf(args, sizeof args, "solve --D 8 --T 40 --format bf16 --reference %s", refs[i]);
        cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
        snprintf(want, sizeof want, "reference %s: failures 0", refs[i]);
        cr_assert(strstr(out, want), "%s: %s", refs[i], out);
        const char *e = strstr(out, "error     median");
        cr_assert(e);
        char med[64];
        snprintf(med, sizeof med, "%.*s", 40, e);
        if (!first[0]) snprintf(first, sizeof first, "%s", med);
        cr_assert_str_eq(med, first, "%s", refs[i]);
    }
    cr_assert_eq(prog_capture("solve --D 8 --T 4 --reference mpfr:20", out, sizeof out), 2, "%s",
                 out);
    cr_assert(strstr(out, "--reference"), "%s", out);
    cr_assert_eq(prog_capture("solve --D 8 --T 4 --reference dposv", out, sizeof out), 2, "%s",
                 out);
}

/* A float32 .npy file of the given shape (rank 1, 2 or 4) of seeded values in
 * (-0.5, 0.5), or of `fill` when fill != 0 (log gates must be <= 0). */
static void write_npy_shape(const char *path, int rank, const int *shape, float fill) {
    char dims[96] = "", hdr[192];
    size_t count = 1, len = 0;
    for (int i = 0; i < rank; i++) {
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%d,%s", shape[i],
                                i + 1 < rank ? " " : "");
        count *= (size_t)shape[i];
    }
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                     dims);
    int total = 10 + n + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f), fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    srand(3);
    for (size_t i = 0; i < count; i++) {
        float v = fill != 0.0f ? fill : (float)rand() / (float)RAND_MAX - 0.5f;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

/* A .safetensors file with one F32 tensor k [T, D]. */
static void write_safetensors_k(const char *path, int T, int D) {
    char json[256];
    const size_t nb = (size_t)T * (size_t)D * 4;
    int jn = snprintf(json, sizeof json,
                      "{\"k\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]}}", T,
                      D, nb);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    for (int i = 0; i < 8; i++)
        fputc((int)(((unsigned long long)jn >> (8 * i)) & 0xff), f);
    fwrite(json, 1, (size_t)jn, f);
    for (size_t i = 0; i < nb / 4; i++) {
        float v = (float)((i * 7919) % 13) / 13.0f - 0.5f;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

/* Options that do not apply to the solver or the data at hand are refused
 * (exit 2, one line naming the option and why) before any work; they were
 * silently ignored before the option table (byte-identical output). */
Test(cmd_solve, inapplicable_options_refused) {
    char dir[] = "/tmp/gka_inapplicable_XXXXXX", out[8192], args[2048];
    cr_assert(mkdtemp(dir));
    char k2[300], k4[300], g1[300], st[300];
    snprintf(k2, sizeof k2, "%s/k2.npy", dir);
    snprintf(k4, sizeof k4, "%s/k4.npy", dir);
    snprintf(g1, sizeof g1, "%s/g.npy", dir);
    snprintf(st, sizeof st, "%s/t.safetensors", dir);
    write_npy_shape(k2, 2, (const int[]){12, 4}, 0.0f);
    write_npy_shape(k4, 4, (const int[]){2, 12, 3, 4}, 0.0f);
    write_npy_shape(g1, 1, (const int[]){12}, -0.1f);
    write_safetensors_k(st, 12, 4);
    const struct {
        const char *args, *says;
    } bad[] = {
        {"--solver kalman --tol 1e-3", "--tol does not apply with --solver kalman"},
        {"--solver cholesky --tol 1e-3", "--tol does not apply with --solver cholesky"},
        {"--solver kalman --warm", "--warm does not apply with --solver kalman"},
        {"--solver cholesky --warm", "--warm does not apply with --solver cholesky"},
        {"--solver kalman --iters 5", "--iters does not apply with --solver kalman"},
        {"--solver cholesky --iters 5", "--iters does not apply with --solver cholesky"},
        {"--solver cholesky --history h.csv", "--history does not apply with --solver cholesky"},
        {"--solver kalman --iter-format bf16",
         "--iter-format does not apply with --solver kalman in token form"},
        {"--solver cholesky --iter-format fp32",
         "--iter-format does not apply with --solver cholesky in token form"},
        {"--carry fp32", "--carry does not apply without --chunk"},
        {"--solver kalman --chunk 4", "--chunk does not apply with --solver kalman"},
        {"--chunk 4 --warm", "--warm does not apply with --chunk"},
        {"--beta-mode fold", "--beta-mode does not apply without write gates"},
        {"--keys K2 --beta-mode fold", "--beta-mode does not apply without write gates"},
        {"--chunk 4 --tol 1e-6", "--tol does not apply with --chunk"},
        {"--chunk 4 --history h.csv", "--history does not apply with --chunk"},
        {"--keys K2 --D 8", "k has D=4 but D=8 was asked for"}, /* --D is checked */
        {"--trace ST --D 8", "k has D=4 but D=8 was asked for"},
        {"--keys K2 --beta sigmoid", "--beta does not apply with --keys"},
        {"--keys K2 --gate const:0.9", "--gate does not apply with --keys"},
        {"--betas G1", "--betas does not apply with synthetic keys"},
        {"--gates G1", "--gates does not apply with synthetic keys"},
        {"--batch 1", "--batch does not apply with synthetic data"},
        {"--head 1", "--head does not apply with synthetic data"},
        {"--keys K2 --batch 1", "--batch does not apply with a [T,D] file"},
        {"--keys K2 --head 1", "--head does not apply with a [T,D] file"},
        {"--trace ST --head 1", "--head does not apply with a [T,D] file"},
        {"--trace ST --gates G1", "--trace and --gates are exclusive"},
        {"--trace ST --keys K2", "--keys and --trace are exclusive"},
        {"--trace ST --queries next", "--queries and --trace are exclusive"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s", bad[i].args);
        char *p;
        const char *files[][2] = {{"K2", k2}, {"ST", st}, {"G1", g1}};
        char expanded[1024] = "";
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t;
             t = strtok_r(NULL, " ", &save)) {
            const char *w = t;
            for (size_t f = 0; f < 3; f++)
                if (!strcmp(t, files[f][0])) w = files[f][1];
            strncat(expanded, w, sizeof expanded - strlen(expanded) - 2);
            strcat(expanded, " ");
        }
        snprintf(args, sizeof args, "solve --T 12 %s--csv %s/x.csv", expanded, dir);
        cr_expect_eq(prog_capture(args, out, sizeof out), 2, "'%s' -> %s", args, out);
        cr_expect(strstr(out, bad[i].says), "'%s': '%s' lacks '%s'", args, out, bad[i].says);
        cr_expect(!strncmp(out, "gka: ", 5) && (p = strchr(out, '\n')) && !p[1],
                  "'%s' not one line: %s", args, out);
    }
    snprintf(args, sizeof args, "%s/x.csv", dir);
    cr_expect(!prog_exists(args), "a refused run wrote its CSV");
    /* where they apply they are taken */
    const char *good[] = {"--keys K4 --batch 1 --head 2",
                          "--keys K2 --gates G1 --betas B1",
                          "--solver cg --tol 1e-6 --warm --iters 12",
                          "--D 4 --beta sigmoid",
                          "--solver cholesky --chunk 4 --iter-format fp32 --carry bf16",
                          "--solver cg --iter-format fp32",
                          "--beta sigmoid --beta-mode fold"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char line[512], expanded[1024] = "";
        snprintf(line, sizeof line, "%s", good[i]);
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t;
             t = strtok_r(NULL, " ", &save)) {
            const char *w = !strcmp(t, "K4")   ? k4
                            : !strcmp(t, "K2") ? k2
                            : !strcmp(t, "G1") ? g1
                            : !strcmp(t, "B1") ? "BETAS"
                                               : t;
            char betas[320];
            if (!strcmp(w, "BETAS")) {
                snprintf(betas, sizeof betas, "%s/b.npy", dir);
                write_npy_shape(betas, 1, (const int[]){12}, 0.5f);
                w = betas;
            }
            strncat(expanded, w, sizeof expanded - strlen(expanded) - 2);
            strcat(expanded, " ");
        }
        snprintf(args, sizeof args, "solve --T 12 %s", expanded);
        cr_expect_eq(prog_capture(args, out, sizeof out), 0, "'%s' -> %s", args, out);
    }
    snprintf(args, sizeof args, "rm -rf %s", dir);
    cr_expect_eq(system(args), 0);
}

/* ---- --save-x / --save-ref, and loaded files (h-lib) ----------------------- */

#include "gka_data.h"
#include <math.h>

/* Read a [T, D] float64 .npy written by gka back through the library. */
static double *read_f64_npy(const char *path, long *T, int *D) {
    unsigned char *data;
    size_t len;
    gka_array_view_t v;
    cr_assert_eq(gka_npy_read_file(path, NULL, &data, &len), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_npy_parse(data, len, path, &v), GKA_OK, "%s", gka_error_message());
    cr_assert(v.dtype == GKA_DTYPE_F64 && !v.big_endian && !v.fortran_order && v.ndim == 2);
    double *x = NULL;
    cr_assert_eq(gka_array_to_double(&v, path, "x", 1, 0, 0, &x, T, D), GKA_OK);
    free(data);
    return x;
}

Test(cmd_solve, save_x_and_ref_agree_with_the_csv) {
    char dir[256], args[2048], path[600], out[8192];
    prog_make_tmpdir(dir, sizeof dir, "solve_save");
    snprintf(args, sizeof args,
             "solve --format bf16 --D 12 --T 40 --gate gka --csv %s/s.csv --save-x %s/x.npy "
             "--save-ref %s/xr.npy",
             dir, dir, dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    long T, T2;
    int D, D2;
    snprintf(path, sizeof path, "%s/x.npy", dir);
    double *x = read_f64_npy(path, &T, &D);
    snprintf(path, sizeof path, "%s/xr.npy", dir);
    double *xr = read_f64_npy(path, &T2, &D2);
    cr_assert(T == 40 && D == 12 && T2 == 40 && D2 == 12);
    /* ||x_t - x*_t|| / ||x*_t|| from the arrays is the CSV's err column */
    snprintf(path, sizeof path, "%s/s.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[4096];
    long t = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == 't') continue;
        double err_csv = strtod(strchr(line, ',') + 1, NULL), num = 0, den = 0;
        for (int i = 0; i < D; i++) {
            double d = x[t * D + i] - xr[t * D + i];
            num += d * d;
            den += xr[t * D + i] * xr[t * D + i];
        }
        double err = sqrt(num) / sqrt(den);
        cr_assert(fabs(err - err_csv) <= 1e-8 * err_csv, "t=%ld: %.17g vs %.17g", t, err, err_csv);
        t++;
    }
    fclose(f);
    cr_assert_eq(t, 40);
    free(x);
    free(xr);
    /* numpy reads them as [T, D] float64 */
    if (system("python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
        snprintf(args, sizeof args,
                 "cd %s && python3 -c \"import numpy as np; x = np.load('x.npy'); "
                 "r = np.load('xr.npy'); assert x.shape == (40, 12) and x.dtype == np.float64; "
                 "assert r.shape == x.shape and np.isfinite(r).all(); "
                 "e = np.linalg.norm(x - r, axis=1) / np.linalg.norm(r, axis=1); "
                 "assert 0 < np.median(e) < 0.5, e\"",
                 dir);
        cr_assert_eq(system(args), 0, "numpy.load check failed");
    } else {
        cr_log_warn("python3 with numpy not available: numpy.load check skipped");
    }
    prog_remove_tree(dir);
}

Test(cmd_solve, save_x_not_left_after_a_failed_run) {
    char dir[256], args[1024], out[8192];
    prog_make_tmpdir(dir, sizeof dir, "solve_save_fail");
    /* kalman refuses the chunk form inside gka_run, after the outputs are open */
    snprintf(args, sizeof args,
             "solve --solver kalman --ridge decay:0.5 --chunk 4 --D 4 --T 8 --save-x %s/x.npy "
             "--save-ref %s/r.npy",
             dir, dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert_eq(prog_count_entries(dir, NULL), 0, "files left in %s", dir);
    snprintf(args, sizeof args, "solve --D 4 --T 8 --save-x %s/no/such/dir/x.npy", dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "x.npy"), "%s", out);
    prog_remove_tree(dir);
}

Test(cmd_solve, bf16_keys_file_named_dtype_D_conflict_and_notice) {
    char dir[256], args[2048], out[8192], path[600];
    prog_make_tmpdir(dir, sizeof dir, "solve_bf16");
    snprintf(path, sizeof path, "%s/k.npy", dir);
    prog_write_bf16_npy(path, 20, 6);
    snprintf(args, sizeof args, "solve --keys %s:bf16", path);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "D=6 T=20"), "%s", out);
    cr_assert(strstr(out, "gka: notice: no queries in the input; using synthetic iid"), "%s", out);
    snprintf(args, sizeof args, "solve --keys %s:bf16 --queries %s:bf16", path, path);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    cr_assert_null(strstr(out, "notice"), "%s", out);
    /* refused after loading (a [T,D] file has no batches): the refusal is the
       only line, the queries notice is not printed before it */
    snprintf(args, sizeof args, "solve --keys %s:bf16 --batch 1", path);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--batch does not apply with a [T,D] file"), "%s", out);
    cr_assert_null(strstr(out, "notice"), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "more than one line: %s", out);
    snprintf(args, sizeof args, "solve --keys %s", path);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "carries no float type") && strstr(out, "k.npy:bf16"), "%s", out);
    snprintf(args, sizeof args, "solve --keys %s:bf16 --D 64", path);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "k has D=6 but D=64 was asked for"), "%s", out);
    prog_remove_tree(dir);
}

/* ---- --save-iterates and --history F.npy (h-outputs) ----------------------- */

/* A float64 .npy of gka's read back whole: its shape (ndim, shape) and its
 * values (malloc'ed, C order). */
static double *read_f64_nd(const char *path, int *ndim, uint64_t *shape) {
    unsigned char *data;
    size_t len;
    gka_array_view_t v;
    cr_assert_eq(gka_npy_read_file(path, NULL, &data, &len), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_npy_parse(data, len, path, &v), GKA_OK, "%s", gka_error_message());
    cr_assert(v.dtype == GKA_DTYPE_F64 && !v.big_endian && !v.fortran_order);
    *ndim = v.ndim;
    for (int i = 0; i < v.ndim; i++)
        shape[i] = v.shape[i];
    double *x = malloc(v.nbytes);
    cr_assert_not_null(x);
    memcpy(x, v.data, v.nbytes); /* little-endian hosts: the bytes are the doubles */
    free(data);
    return x;
}

/* The last iterate that is not a NaN row, of token j of a [T, R+1, D] array. */
static const double *last_iterate(const double *it, long j, int R1, int D) {
    const double *tok = it + (size_t)j * (size_t)R1 * (size_t)D, *last = NULL;
    for (int i = 0; i < R1; i++)
        if (!isnan(tok[(size_t)i * (size_t)D])) last = tok + (size_t)i * (size_t)D;
    return last;
}

Test(cmd_solve, save_iterates_last_is_x_bit_for_bit) {
    const char *solvers[] = {"chebyshev", "cg", "gd", "agd"};
    char dir[256], args[2048], path[600], out[8192];
    prog_make_tmpdir(dir, sizeof dir, "solve_iterates");
    for (size_t k = 0; k < sizeof solvers / sizeof solvers[0]; k++) {
        /* bf16 with --tol: some tokens stop early, their later rows are NaN */
        snprintf(args, sizeof args,
                 "solve --solver %s --format bf16 --D 6 --T 9 --iters 12 --tol 0.02 "
                 "--save-iterates %s/it.npy --save-x %s/x.npy",
                 solvers[k], dir, dir);
        cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
        int nd, nx;
        uint64_t sh[8], shx[8];
        snprintf(path, sizeof path, "%s/it.npy", dir);
        double *it = read_f64_nd(path, &nd, sh);
        snprintf(path, sizeof path, "%s/x.npy", dir);
        double *x = read_f64_nd(path, &nx, shx);
        cr_assert(nd == 3 && sh[0] == 9 && sh[1] == 13 && sh[2] == 6, "%s: shape", solvers[k]);
        for (long t = 0; t < 9; t++) {
            const double *last = last_iterate(it, t, 13, 6);
            cr_assert_not_null(last, "%s t=%ld: no iterate", solvers[k], t);
            cr_assert(!memcmp(last, x + t * 6, 6 * sizeof(double)), "%s t=%ld: last iterate != x",
                      solvers[k], t);
        }
        free(it);
        free(x);
    }
    prog_remove_tree(dir);
}

Test(cmd_solve, save_iterates_with_every_keeps_the_measured_tokens) {
    char dir[256], args[2048], path[600], out[8192];
    prog_make_tmpdir(dir, sizeof dir, "solve_iterates_every");
    snprintf(args, sizeof args,
             "solve --D 5 --T 10 --iters 4 --every 4 --save-iterates %s/it.npy --save-x %s/x.npy",
             dir, dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    int nd, nx;
    uint64_t sh[8], shx[8];
    snprintf(path, sizeof path, "%s/it.npy", dir);
    double *it = read_f64_nd(path, &nd, sh);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    double *x = read_f64_nd(path, &nx, shx);
    /* tokens 0, 4, 8 and the last, 9 */
    cr_assert(nd == 3 && sh[0] == 4 && sh[1] == 5 && sh[2] == 5);
    const long kept[] = {0, 4, 8, 9};
    for (long j = 0; j < 4; j++)
        cr_assert(!memcmp(it + (size_t)j * 25 + 20, x + kept[j] * 5, 5 * sizeof(double)),
                  "row %ld is not token %ld", j, kept[j]);
    /* x_0 of a cold Chebyshev start is s q, not zero */
    cr_assert(it[0] != 0.0 || it[1] != 0.0);
    free(it);
    free(x);
    prog_remove_tree(dir);
}

Test(cmd_solve, save_iterates_refused_without_iterates_or_over_the_limit) {
    char dir[256], args[2048], out[8192];
    prog_make_tmpdir(dir, sizeof dir, "solve_iterates_refused");
    const char *cases[][2] = {
        {"--solver cholesky", "--save-iterates does not apply with --solver cholesky"},
        {"--solver kalman --ridge decay:0.5",
         "--save-iterates does not apply with --solver kalman"},
        {"--chunk 4", "--save-iterates does not apply with --chunk"},
        /* 6000 x 101 x 1024 doubles: 4.6 GiB */
        {"--D 1024 --T 6000 --iters 100", "over the limit of 4 GiB"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(args, sizeof args, "solve %s --save-iterates %s/it.npy --csv %s/s.csv",
                 cases[k][0], dir, dir);
        cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s: %s", cases[k][0], out);
        cr_assert(strstr(out, cases[k][1]), "%s: %s", cases[k][0], out);
        cr_assert_eq(prog_lines(out), 1, "%s: one line: %s", cases[k][0], out);
        cr_assert_eq(prog_count_entries(dir, NULL), 0, "%s: files left", cases[k][0]);
    }
    prog_remove_tree(dir);
}

Test(cmd_solve, history_npy_is_the_csv_history_with_nan_after_early_stops) {
    char dir[256], args[2048], path[600], out[8192];
    prog_make_tmpdir(dir, sizeof dir, "solve_history_npy");
    const char *common = "solve --solver cg --D 6 --T 12 --iters 8 --tol 1e-5";
    snprintf(args, sizeof args, "%s --history %s/h.npy", common, dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    snprintf(args, sizeof args, "%s --history %s/h.csv", common, dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    int nd;
    uint64_t sh[8];
    snprintf(path, sizeof path, "%s/h.npy", dir);
    double *h = read_f64_nd(path, &nd, sh);
    cr_assert(nd == 2 && sh[0] == 12 && sh[1] == 9, "shape [%d]", nd);
    /* every CSV row is the array's entry; the entries without a row are NaN */
    unsigned char seen[12 * 9] = {0};
    snprintf(path, sizeof path, "%s/h.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == 't') continue;
        char *end;
        const long t = strtol(line, &end, 10), i = strtol(end + 1, &end, 10);
        const double res = strtod(end + 1, NULL);
        cr_assert(t >= 0 && t < 12 && i >= 0 && i < 9);
        cr_assert_eq(h[t * 9 + i], res, "t=%ld iter=%ld", t, i);
        seen[t * 9 + i] = 1;
    }
    fclose(f);
    long nan_fill = 0;
    for (int k = 0; k < 12 * 9; k++) {
        if (seen[k]) continue;
        cr_assert(isnan(h[k]), "entry %d without a CSV row is %g", k, h[k]);
        nan_fill++;
    }
    cr_assert_gt(nan_fill, 0, "no token stopped early: the test does not reach the NaN fill");
    free(h);
    prog_remove_tree(dir);
}

/* ---- --data-seed / --round-seed ----------------------------------------- */

/* The bytes of `name` in dir (malloc'ed), for bit-for-bit comparisons. */
static char *file_bytes(const char *dir, const char *name, size_t *len) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *b = prog_read_file(path, len);
    cr_assert_not_null(b, "%s missing", path);
    return b;
}

/* Run one solve into dir/NAME_x.npy and NAME_ref.npy. */
static void seeded_solve(const char *dir, const char *name, const char *mode, const char *seeds) {
    char args[2048], out[8192];
    snprintf(args, sizeof args,
             "solve --format bf16 --mode %s --D 8 --T 24 --gate gka %s --save-x %s/%s_x.npy "
             "--save-ref %s/%s_ref.npy --csv %s/%s.csv",
             mode, seeds, dir, name, dir, name, dir, name);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
}

static int same_file(const char *dir, const char *a, const char *b) {
    size_t la, lb;
    char *x = file_bytes(dir, a, &la), *y = file_bytes(dir, b, &lb);
    const int same = la == lb && !memcmp(x, y, la);
    free(x), free(y);
    return same;
}

Test(cmd_solve, data_seed_and_round_seed_draw_apart) {
    char dir[256], out[8192], args[1024];
    prog_make_tmpdir(dir, sizeof dir, "solve_seeds");
    /* round to nearest: the round seed draws nothing, so the problem (x*) and the
       answer are the data seed's alone */
    seeded_solve(dir, "ne_a", "ne", "--data-seed 7 --round-seed 1");
    seeded_solve(dir, "ne_b", "ne", "--data-seed 7 --round-seed 2");
    seeded_solve(dir, "ne_c", "ne", "--data-seed 8 --round-seed 1");
    cr_assert(same_file(dir, "ne_a_ref.npy", "ne_b_ref.npy"), "same data seed, other x*");
    cr_assert(same_file(dir, "ne_a_x.npy", "ne_b_x.npy"));
    cr_assert(!same_file(dir, "ne_a_ref.npy", "ne_c_ref.npy"), "the data seed draws nothing");
    /* stochastic rounding over the same data: another round seed, another result */
    seeded_solve(dir, "sr_a", "sr", "--data-seed 7 --round-seed 1");
    seeded_solve(dir, "sr_b", "sr", "--data-seed 7 --round-seed 2");
    cr_assert(!same_file(dir, "sr_a_x.npy", "sr_b_x.npy"), "the round seed draws nothing");
    /* --seed S is --data-seed S --round-seed S */
    seeded_solve(dir, "both", "sr", "--seed 7");
    seeded_solve(dir, "split", "sr", "--data-seed 7 --round-seed 7");
    cr_assert(same_file(dir, "both_x.npy", "split_x.npy"));
    /* both seeds in the provenance header */
    size_t len;
    char *csv = file_bytes(dir, "sr_b.csv", &len);
    cr_assert(strstr(csv, "\n# seed: 7\n") && strstr(csv, "\n# round_seed: 2\n"), "%s", csv);
    free(csv);
    /* --seed with either is refused */
    snprintf(args, sizeof args, "solve --seed 1 --round-seed 2 --csv %s/no.csv", dir);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--seed and --round-seed are exclusive") && prog_lines(out) == 1, "%s",
              out);
    cr_assert(!prog_exists(strcat(strcpy(args, dir), "/no.csv")));
    prog_remove_tree(dir);
}

/* ---- the progress bar (terminals only) ------------------------------------ */

Test(cmd_solve, progress_bar_only_on_a_terminal_and_not_quiet, .timeout = 120) {
    /* several seconds of CPU (so more wall time): past the bar's 1 s delay */
    const char *run = "solve --format bf16 --D 128 --T 6000";
    char args[512], got[65536], file[] = "/tmp/gka_progress_XXXXXX";
    snprintf(args, sizeof args, "%s", run);
    prog_run_on_pty(args, NULL, got, sizeof got);
    cr_assert(strstr(got, "\rsolve") && strstr(got, "%") && strstr(got, "left ~"),
              "no bar on a terminal: '%s'", got);
    snprintf(args, sizeof args, "%s --quiet", run);
    prog_run_on_pty(args, NULL, got, sizeof got);
    cr_assert_str_empty(got, "--quiet drew: '%s'", got);
    /* stderr a file: nothing there (the CLI tests count its lines) */
    int fd = mkstemp(file);
    cr_assert(fd >= 0);
    close(fd);
    prog_run_on_pty(run, file, got, sizeof got);
    size_t n;
    char *err = prog_read_file(file, &n);
    cr_assert(err && n == 0, "stderr a file received '%s'", err ? err : "");
    free(err);
    unlink(file);
}
