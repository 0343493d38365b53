#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
/* The figure framework: CSV with metadata (write, read back), option parsing,
 * formats, token sampling, robust median/max, parallel jobs in order. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gka_figure_internal.h"
#include "gka_figure.h"
#include "program_testlib.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_figure_csv");
}

static void remove_tmpdir(void) {
    prog_remove_tree(tmpdir);
}

TestSuite(figure_csv, .init = make_tmpdir, .fini = remove_tmpdir);

Test(figure_csv, write_and_read_back) {
    gka_csv_t c;
    gka_csv_init(&c);
    gka_figure_opts_t o = gka_figure_opts_default();
    o.seed = 42;
    o.tier = GKA_TIER_FULL;
    o.formats = GKA_FMT_PNG | GKA_FMT_SVG;
    setenv("SOURCE_DATE_EPOCH", "86400", 1);
    gka_csv_standard_meta(&c, "demo", "a demo", &o);
    gka_csv_meta(&c, "D", "%d", 128);
    gka_csv_meta(&c, "multi", "first line\nsecond line");
    gka_csv_header(&c, "t,solver,err");
    cr_assert_eq(c.ncols, 3);
    double third = 1.0 / 3.0;
    gka_csv_row(&c, "%d,%s,%.17g", 1, "cg", third);
    gka_csv_row(&c, "%d,%s,%.17g", 2, "chebyshev", 1e-300);
    char path[512];
    snprintf(path, sizeof path, "%s/demo.csv", tmpdir);
    cr_assert_eq(gka_csv_write(&c, path), GKA_OK);
    gka_csv_free(&c);

    gka_csv_doc_t d;
    cr_assert_eq(gka_csv_read(path, &d), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(d.ncols, 3);
    cr_assert_eq(d.nrows, 2);
    cr_assert_str_eq(gka_csv_doc_meta(&d, "seed"), "42");
    cr_assert_str_eq(gka_csv_doc_meta(&d, "tier"), "full");
    cr_assert_str_eq(gka_csv_doc_meta(&d, "image_formats"), "png,svg");
    cr_assert_str_eq(gka_csv_doc_meta(&d, "date_utc"), "1970-01-02T00:00:00Z");
    cr_assert_str_eq(gka_csv_doc_meta(&d, "multi"), "first line");
    cr_assert_str_eq(gka_csv_doc_meta(&d, "D"), "128");
    cr_assert_not_null(gka_csv_doc_meta(&d, "git_commit"));
    cr_assert_not_null(gka_csv_doc_meta(&d, "compiler"));
    cr_assert_not_null(gka_csv_doc_meta(&d, "c_flags"));
    cr_assert_not_null(gka_csv_doc_meta(&d, "gka_version"));
    cr_assert_null(gka_csv_doc_meta(&d, "absent"));
    long e = gka_csv_doc_column(&d, "err");
    cr_assert_eq(e, 2);
    cr_assert_eq(gka_csv_doc_column(&d, "nope"), -1);
    /* %.17g round-trips exactly */
    cr_assert(gka_csv_doc_num(&d, 0, (size_t)e) == third);
    cr_assert(gka_csv_doc_num(&d, 1, (size_t)e) == 1e-300);
    cr_assert_str_eq(gka_csv_doc_cell(&d, 1, 1), "chebyshev");
    cr_assert(isnan(gka_csv_doc_num(&d, 1, 1)));
    gka_csv_doc_free(&d);
    unsetenv("SOURCE_DATE_EPOCH");
}

Test(figure_csv, no_partial_file_on_failure) {
    gka_csv_t c;
    gka_csv_init(&c);
    char path[512];
    snprintf(path, sizeof path, "%s/missing_dir/x.csv", tmpdir);
    gka_csv_header(&c, "a");
    cr_assert_eq(gka_csv_write(&c, path), GKA_EIO);
    gka_csv_free(&c);
    /* no header: refused, nothing written */
    gka_csv_init(&c);
    snprintf(path, sizeof path, "%s/noheader.csv", tmpdir);
    cr_assert_eq(gka_csv_write(&c, path), GKA_EINVAL);
    cr_assert_neq(access(path, F_OK), 0);
    gka_csv_free(&c);
}

Test(figure_csv, reader_rejects_ragged_rows) {
    char path[512];
    snprintf(path, sizeof path, "%s/ragged.csv", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("# k: v\na,b\n1,2\n3\n", f);
    fclose(f);
    gka_csv_doc_t d;
    cr_assert_eq(gka_csv_read(path, &d), GKA_EFORMAT);
    cr_assert(strstr(gka_error_message(), "ragged.csv:4") != NULL, "%s", gka_error_message());
}

Test(figure_csv, formats_round_trip) {
    unsigned f;
    char buf[64];
    cr_assert_eq(gka_formats_parse("none", &f), GKA_OK);
    cr_assert_eq(f, 0u);
    cr_assert_str_eq(gka_formats_string(f, buf, sizeof buf), "none");
    cr_assert_eq(gka_formats_parse("svg,png,pdf", &f), GKA_OK);
    cr_assert_str_eq(gka_formats_string(f, buf, sizeof buf), "pdf,png,svg");
    cr_assert_eq(gka_formats_parse("all", &f), GKA_OK);
    cr_assert_eq(f, (unsigned)GKA_FMT_ALL);
}

Test(figure_csv, registry) {
    size_t n;
    const gka_figure_t *const *list = gka_figure_list(&n);
    cr_assert_geq(n, 4);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(gka_figure_find(list[i]->name), list[i]);
        cr_assert(list[i]->run && strlen(list[i]->summary) > 10);
    }
    cr_assert_null(gka_figure_find("nonexistent"));
}

Test(figure_csv, sample_tokens) {
    long t[64];
    for (long T = 1; T < 5000; T = T * 3 + 1) {
        size_t m = gka_figure_sample_tokens(T, 32, t);
        cr_assert_geq(m, 1);
        cr_assert_leq(m, 32);
        cr_assert_eq(t[0], 0);
        cr_assert_eq(t[m - 1], T - 1);
        for (size_t i = 1; i < m; i++)
            cr_assert_gt(t[i], t[i - 1]);
    }
}

Test(figure_csv, median_max_treat_nan_as_worst) {
    double v[] = {3.0, NAN, 1.0, 2.0, 5.0};
    cr_assert(isinf(gka_figure_max(v, 5)));
    double m = gka_figure_median(v, 5);
    cr_assert_eq(m, 3.0);
    double w[] = {4.0, 1.0, 3.0, 2.0};
    cr_assert_eq(gka_figure_median(w, 4), 2.5);
    cr_assert_eq(gka_figure_max(w, 4), 4.0);
    double x[] = {1.0, 2.0};
    double y[] = {1.0, NAN};
    cr_assert(isinf(gka_figure_rel_error(2, y, x)));
    double z[] = {1.0, 2.0 + 1e-3};
    cr_assert_float_eq(gka_figure_rel_error(2, z, x), 1e-3 / sqrt(5.0), 1e-15);
}

static gka_status_t job_rows(size_t j, void *ctx, gka_strbuf_t *rows) {
    (void)ctx;
    for (size_t i = 0; i <= j % 3; i++)
        gka_strbuf_printf(rows, "%zu,%zu\n", j, i);
    return j == 37 ? gka_error(GKA_ENUMERIC, "job 37 failed on purpose") : GKA_OK;
}

static gka_status_t job_ok(size_t j, void *ctx, gka_strbuf_t *rows) {
    (void)ctx;
    gka_strbuf_printf(rows, "%zu\n", j);
    return GKA_OK;
}

Test(figure_csv, parallel_jobs_in_order) {
    gka_csv_t c;
    gka_csv_init(&c);
    gka_csv_header(&c, "j");
    cr_assert_eq(gka_figure_parallel(100, job_ok, NULL, &c), GKA_OK);
    gka_strbuf_t want;
    gka_strbuf_init(&want);
    gka_strbuf_printf(&want, "j\n");
    for (int j = 0; j < 100; j++)
        gka_strbuf_printf(&want, "%d\n", j);
    cr_assert_str_eq(c.body.data, want.data);
    gka_strbuf_free(&want);
    gka_csv_free(&c);
    gka_csv_init(&c);
    cr_assert_eq(gka_figure_parallel(50, job_rows, NULL, &c), GKA_ENUMERIC);
    cr_assert(strstr(gka_error_message(), "job 37"));
    gka_csv_free(&c);
}

Test(figure_csv, seeds_differ) {
    cr_assert_neq(gka_figure_seed(1, 0, 0), gka_figure_seed(1, 0, 1));
    cr_assert_neq(gka_figure_seed(1, 0, 1), gka_figure_seed(1, 1, 0));
    cr_assert_neq(gka_figure_seed(1, 2, 3), gka_figure_seed(2, 2, 3));
    cr_assert_eq(gka_figure_seed(7, 2, 3), gka_figure_seed(7, 2, 3));
}
