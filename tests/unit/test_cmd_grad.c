/* gka grad end to end: summary, per-token CSV, exit codes for bad input. */
#include "program_testlib.h"
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The summary's relative error of a group ("    dk     1.234e-02"). */
static double summary_err(const char *out, const char *group) {
    char key[32];
    snprintf(key, sizeof key, "    %s ", group);
    const char *p = strstr(out, key);
    cr_assert_not_null(p, "no '%s' in %s", group, out);
    return strtod(p + strlen(key), NULL);
}

Test(cmd_grad, bf16_chebyshev_csv_and_summary) {
    char out[8192], tmpl[] = "/tmp/gka_grad_XXXXXX", args[1024], path[1100], line[4096];
    cr_assert(mkdtemp(tmpl));
    snprintf(args, sizeof args,
             "grad --solver chebyshev --format bf16 --accum fp32 --ridge adaptive:0.02 --gate gka "
             "--keys iid --D 16 --T 40 --iters 30 --grad-mode implicit --seed 1 --csv %s/out.csv",
             tmpl);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    const double edk = summary_err(out, "dk");
    cr_assert(isfinite(edk) && edk > 1e-4 && edk < 0.5, "bf16 dk error %g", edk);
    snprintf(path, sizeof path, "%s/out.csv", tmpl);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    long rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue; /* provenance and parameters */
        if (rows == 0)
            cr_assert(!strncmp(line, "t,err_dq,err_dk,err_dg,", 23), "%s", line);
        else
            cr_assert(strstr(line, "nan") == NULL && strstr(line, "inf") == NULL, "%s", line);
        rows++;
    }
    fclose(f);
    cr_assert_eq(rows, 41);
    snprintf(args, sizeof args, "rm -rf %s", tmpl);
    cr_assert_eq(system(args), 0);
}

/* The count after a summary label ("  non-finite dq/dk entries: 4"). */
static long summary_count(const char *out, const char *label) {
    const char *p = strstr(out, label);
    cr_assert_not_null(p, "no '%s' in %s", label, out);
    return strtol(p + strlen(label), NULL, 10);
}

/* fp16 with a small first write gate: x_0 . dq_0 exceeds 65504 (a genuine
 * overflow, MATH.md section 4). The run succeeds (a numerical event is not an
 * error), the errors are +Inf, the summary counts the non-finite dq/dk entries
 * and dg/dbeta tokens, and the CSV flags token 0 alone. fp32: all finite. */
Test(cmd_grad, fp16_overflow_is_flagged_in_summary_and_csv) {
    char out[8192], tmpl[] = "/tmp/gka_grad_XXXXXX", args[1024], path[1100], line[4096];
    cr_assert(mkdtemp(tmpl));
    const char *formats[] = {"fp16", "fp32"};
    for (int f = 0; f < 2; f++) {
        snprintf(args, sizeof args,
                 "grad --D 4 --T 8 --format %s --gate gka --beta sigmoid --iters 2 --seed 4 "
                 "--csv %s/%s.csv",
                 formats[f], tmpl, formats[f]);
        cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
        const int overflow = f == 0;
        cr_assert_eq(isinf(summary_err(out, "dk")), overflow, "%s", out);
        cr_assert_eq(summary_count(out, "non-finite dq/dk entries: ") > 0, overflow, "%s", out);
        cr_assert_eq(summary_count(out, "non-finite dg/dbeta tokens: "), overflow, "%s", out);
        snprintf(path, sizeof path, "%s/%s.csv", tmpl, formats[f]);
        FILE *fp = fopen(path, "r");
        cr_assert_not_null(fp);
        long row = -1, flagged = 0, first = -1;
        while (fgets(line, sizeof line, fp)) {
            if (line[0] == '#') continue;
            if (row++ < 0) continue; /* the header */
            const char *last = strrchr(line, ',');
            cr_assert_not_null(last, "%s", line);
            if (atoi(last + 1)) flagged++, first = first < 0 ? atol(line) : first; /* t */
        }
        fclose(fp);
        cr_assert_eq(row, 8);
        cr_assert_eq(flagged, overflow, "%s: %ld flagged tokens", formats[f], flagged);
        if (overflow) cr_assert_eq(first, 0);
    }
    snprintf(args, sizeof args, "rm -rf %s", tmpl);
    cr_assert_eq(system(args), 0);
}

Test(cmd_grad, fp64_converged_modes_and_chunk_form_are_accurate) {
    char out[8192];
    const char *cfgs[] = {
        "grad --D 8 --T 20 --gate gka --beta sigmoid --iters 150",
        "grad --D 8 --T 20 --gate gka --beta sigmoid --iters 150 --chunk 6",
        "grad --D 8 --T 20 --gate gka --solver cg --grad-mode iterations --iters 40",
    };
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(prog_capture(cfgs[i], out, sizeof out), 0, "%s: %s", cfgs[i], out);
        const char *groups[] = {"dq", "dk", "dg", "dbeta"};
        for (size_t g = 0; g < 4; g++) {
            const double e = summary_err(out, groups[g]);
            cr_assert(e <= 1e-11, "%s: %s error %g", cfgs[i], groups[g], e);
        }
    }
    cr_assert_eq(prog_capture("grad --D 8 --T 20 --no-lambda-path --iters 150", out, sizeof out), 0,
                 "%s", out);
    cr_assert(summary_err(out, "dq") <= 1e-11, "%s", out);
    cr_assert(strstr(out, "no lambda path"), "%s", out);
}

Test(cmd_grad, bad_input_exits_2_with_one_line) {
    const char *bad[] = {"grad --mode tape",     "grad --D 0",         "grad --solver kalman",
                         "grad --ridge decay:1", "grad --format bf17", "grad --chunk 4 --solver cg",
                         "grad --iters x",       "grad --bogus 1",     "grad --D 128 --T 2048"};
    char out[8192];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(prog_capture(bad[i], out, sizeof out), 2, "%s: %s", bad[i], out);
        cr_assert(!strncmp(out, "gka: ", 5), "%s: %s", bad[i], out);
        cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "%s: more than one line: %s", bad[i],
                     out);
    }
}

/* ---- the same data inputs as gka solve, and --save-grad ------------------ */

#include "gka_data.h"

/* A 1-D float64 .npy of n values. */
static void write_vec_npy(const char *path, const double *v, int n) {
    char hdr[128];
    int len =
        snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }", n);
    while ((10 + len + 1) % 64)
        hdr[len++] = ' ';
    hdr[len++] = '\n';
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    const unsigned char hl[2] = {(unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
    fwrite(magic, 1, 8, f), fwrite(hl, 1, 2, f), fwrite(hdr, 1, (size_t)len, f);
    fwrite(v, sizeof *v, (size_t)n, f); /* x86: little-endian */
    fclose(f);
}

static double *read_npy(const char *path, long *rows, int *cols) {
    unsigned char *data;
    size_t len;
    gka_array_view_t v;
    cr_assert_eq(gka_npy_read_file(path, NULL, &data, &len), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(gka_npy_parse(data, len, path, &v), GKA_OK, "%s", gka_error_message());
    cr_assert(v.dtype == GKA_DTYPE_F64 && v.ndim == 2, "%s", path);
    double *x = NULL;
    cr_assert_eq(gka_array_to_double(&v, path, "x", 1, 0, 0, &x, rows, cols), GKA_OK);
    free(data);
    return x;
}

/* The dg column of a gka grad CSV (t,err_dq,err_dk,err_dg,err_dbeta,dg,...). */
static void csv_dg(const char *path, double *dg, long T) {
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char line[1024];
    long t = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == 't') continue;
        double v[6];
        long tt;
        cr_assert_eq(sscanf(line, "%ld,%lg,%lg,%lg,%lg,%lg", &tt, v, v + 1, v + 2, v + 3, v + 4),
                     6);
        cr_assert(t < T);
        dg[t++] = v[4];
    }
    fclose(f);
    cr_assert_eq(t, T);
}

Test(cmd_grad, loads_npy_inputs_and_saves_the_gradients) {
    char dir[256], args[4096], kp[300], qp[300], gp[300], pre[300], path[400], csv[300];
    char out[8192];
    prog_make_tmpdir(dir, sizeof dir, "grad_files");
    const int T = 24, D = 8;
    double k[24 * 8], q[24 * 8], g[24];
    for (int i = 0; i < T * D; i++)
        k[i] = sin(0.7 * i + 0.3), q[i] = cos(1.3 * i);
    for (int t = 0; t < T; t++)
        g[t] = -0.05 * (1 + t % 3);
    snprintf(kp, sizeof kp, "%s/k.npy", dir), snprintf(qp, sizeof qp, "%s/q.npy", dir);
    snprintf(gp, sizeof gp, "%s/g.npy", dir), snprintf(pre, sizeof pre, "%s/grad", dir);
    snprintf(csv, sizeof csv, "%s/g.csv", dir);
    cr_assert_eq(gka_npy_write_f64(kp, k, (size_t)T, (size_t)D), GKA_OK);
    cr_assert_eq(gka_npy_write_f64(qp, q, (size_t)T, (size_t)D), GKA_OK);
    write_vec_npy(gp, g, T);
    snprintf(args, sizeof args,
             "grad --keys %s --queries %s --gates %s --format bf16 --save-grad %s --csv %s", kp, qp,
             gp, pre, csv);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "D=8 T=24"), "%s", out);
    const char *names[] = {"dq", "dk", "dg", "dbeta"};
    const int cols[] = {D, D, 1, 1};
    double *saved[4];
    for (int i = 0; i < 4; i++) {
        long rows;
        int c;
        snprintf(path, sizeof path, "%s_%s.npy", pre, names[i]);
        saved[i] = read_npy(path, &rows, &c);
        cr_assert(rows == T && c == cols[i], "%s: [%ld, %d]", names[i], rows, c);
        for (long j = 0; j < rows * c; j++)
            cr_assert(isfinite(saved[i][j]), "%s[%ld]", names[i], j);
    }
    double dg[24];
    csv_dg(csv, dg, T);
    for (int t = 0; t < T; t++)
        cr_assert_eq(saved[2][t], dg[t], "dg[%d]: saved %.17g, csv %.17g", t, saved[2][t], dg[t]);
    for (int i = 0; i < 4; i++)
        free(saved[i]);
    /* the gates are used: without them dg differs */
    snprintf(args, sizeof args, "grad --keys %s --queries %s --format bf16 --csv %s", kp, qp, csv);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    double dg0[24];
    csv_dg(csv, dg0, T);
    int differ = 0;
    for (int t = 0; t < T; t++)
        differ |= dg0[t] != dg[t];
    cr_assert(differ, "--gates had no effect");
    /* keys without queries: the notice, and the same data context as gka
       solve after loading (a [T,D] file has no batches: one line, no notice) */
    snprintf(args, sizeof args, "grad --keys %s", kp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "gka: notice: no queries in the input"), "%s", out);
    snprintf(args, sizeof args, "grad --keys %s --head 1", kp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "grad: --head does not apply with a [T,D] file"), "%s", out);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "more than one line: %s", out);
    /* synthetic data only: --gate with a keys file is refused */
    snprintf(args, sizeof args, "grad --keys %s --gate const:0.9", kp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--gate does not apply with --keys"), "%s", out);
    /* bad inputs: --D against the file, gates without file keys */
    snprintf(args, sizeof args, "grad --keys %s --D 9", kp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    snprintf(args, sizeof args, "grad --gates %s", gp);
    cr_assert_eq(prog_capture(args, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "--gates does not apply with synthetic keys"), "%s", out);
    prog_remove_tree(dir);
}

/* --mode is the rounding mode in every command; the old spelling of the
 * gradient mode is refused with the new name, and options that do not apply
 * to the solver are refused (they were ignored). */
Test(cmd_grad, grad_mode_and_inapplicable_options) {
    const struct {
        const char *args, *says;
    } bad[] = {
        {"grad --D 4 --T 4 --mode implicit", "the gradient mode is now --grad-mode implicit"},
        {"grad --D 4 --T 4 --mode iterations", "the gradient mode is now --grad-mode iterations"},
        {"grad --D 4 --T 4 --grad-mode tape", "--grad-mode takes implicit or iterations"},
        {"grad --D 4 --T 4 --solver cholesky --iters 5",
         "--iters does not apply with --solver cholesky"},
        {"grad --D 4 --T 4 --solver cholesky --chunk 2",
         "--chunk does not apply with --solver cholesky"},
    };
    char out[8192];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(prog_capture(bad[i].args, out, sizeof out), 2, "%s: %s", bad[i].args, out);
        cr_expect(strstr(out, bad[i].says), "%s: %s", bad[i].args, out);
    }
    /* the rounding mode reaches the arithmetic: stochastic rounding changes
       the bf16 gradients, and --mode ne is the default */
    char ne[8192], def[8192], sr[8192];
    cr_assert_eq(prog_capture("grad --D 8 --T 16 --format bf16 --mode ne", ne, sizeof ne), 0, "%s",
                 ne);
    cr_assert_eq(prog_capture("grad --D 8 --T 16 --format bf16", def, sizeof def), 0, "%s", def);
    cr_assert_eq(prog_capture("grad --D 8 --T 16 --format bf16 --mode sr", sr, sizeof sr), 0, "%s",
                 sr);
    cr_expect_str_eq(ne, def);
    cr_expect(strcmp(ne, sr) != 0, "--mode sr gave the round-to-nearest result: %s", sr);
}

/* The summary's lines of a grad run with these seeds (its numbers). */
static void grad_summary(const char *mode, const char *seeds, char *out, size_t n) {
    char args[1024];
    snprintf(args, sizeof args, "grad --format bf16 --mode %s --D 8 --T 24 --gate gka %s", mode,
             seeds);
    cr_assert_eq(prog_capture(args, out, n), 0, "%s", out);
}

Test(cmd_grad, data_seed_and_round_seed_draw_apart) {
    char a[8192], b[8192], c[8192];
    /* round to nearest: the round seed draws nothing */
    grad_summary("ne", "--data-seed 3 --round-seed 1", a, sizeof a);
    grad_summary("ne", "--data-seed 3 --round-seed 9", b, sizeof b);
    grad_summary("ne", "--data-seed 4 --round-seed 1", c, sizeof c);
    cr_assert_str_eq(a, b);
    cr_assert(strcmp(a, c) != 0, "the data seed draws nothing");
    /* stochastic rounding: another round seed, other gradients */
    grad_summary("sr", "--data-seed 3 --round-seed 1", a, sizeof a);
    grad_summary("sr", "--data-seed 3 --round-seed 9", b, sizeof b);
    cr_assert(strcmp(a, b) != 0, "the round seed draws nothing");
    grad_summary("sr", "--seed 3", a, sizeof a);
    grad_summary("sr", "--data-seed 3 --round-seed 3", c, sizeof c);
    cr_assert_str_eq(a, c, "--seed 3 is both seeds 3");
    cr_assert_eq(prog_capture("grad --seed 1 --data-seed 2", a, sizeof a), 2, "%s", a);
    cr_assert(strstr(a, "--seed and --data-seed are exclusive"), "%s", a);
}

Test(cmd_grad, progress_bar_only_on_a_terminal_and_not_quiet, .timeout = 120) {
    /* a second or more of CPU (so more wall time): past the bar's 1 s delay */
    const char *run = "grad --format bf16 --D 32 --T 4096 --iters 150";
    char args[512], got[65536], file[] = "/tmp/gka_grad_progress_XXXXXX";
    prog_run_on_pty(run, NULL, got, sizeof got);
    cr_assert(strstr(got, "\rgrad (forward)") && strstr(got, "%"), "no bar: '%s'", got);
    snprintf(args, sizeof args, "%s --quiet", run);
    prog_run_on_pty(args, NULL, got, sizeof got);
    cr_assert_str_empty(got, "--quiet drew: '%s'", got);
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
