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
