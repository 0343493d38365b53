#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* putenv, in program_testlib.h */
/* experiments/gnuplot.c and plots/: where the figure scripts are found
 * (GKA_PLOTS_DIR, then the installed tree, then the source tree), a missing
 * script refused before any work, the copy beside the CSV, and the scripts
 * themselves reading the CSV by column names only (no `using 1:2`, `$2`,
 * `column(3)` or `every`). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gka_figure.h"
#include "program_testlib.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    prog_make_tmpdir(tmpdir, sizeof tmpdir, "test_gnuplot");
}

static void remove_tmpdir(void) {
    unsetenv("GKA_PLOTS_DIR");
    prog_remove_tree(tmpdir);
}

TestSuite(gnuplot, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 120);

static void write_file(const char *dir, const char *name, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(gnuplot, source_tree_has_every_figure_script) {
    unsetenv("GKA_PLOTS_DIR");
    char dir[4096];
    cr_assert_eq(gka_plots_dir(dir, sizeof dir), GKA_OK, "%s", gka_error_message());
    size_t n;
    const gka_figure_t *const *list = gka_figure_list(&n);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(gka_plots_check(dir, list[i]->name), GKA_OK, "%s: %s", list[i]->name,
                     gka_error_message());
}

Test(gnuplot, plots_dir_env_is_the_only_choice) {
    char empty[512], dir[4096];
    snprintf(empty, sizeof empty, "%s/empty", tmpdir);
    cr_assert_eq(mkdir(empty, 0755), 0);
    setenv("GKA_PLOTS_DIR", empty, 1);
    cr_assert_eq(gka_plots_dir(dir, sizeof dir), GKA_EIO);
    cr_expect(strstr(gka_error_message(), "GKA_PLOTS_DIR") &&
                  strstr(gka_error_message(), "gka_style.gp"),
              "%s", gka_error_message());
    /* a style file but no omega.gp: the figure's own script is named */
    write_file(empty, "gka_style.gp", "# style\n");
    cr_assert_eq(gka_plots_dir(dir, sizeof dir), GKA_OK);
    cr_assert_str_eq(dir, empty);
    cr_assert_eq(gka_plots_check(dir, "omega"), GKA_EIO);
    cr_expect(strstr(gka_error_message(), "omega.gp"), "%s", gka_error_message());
    /* a script that loads another: the loaded one is needed too */
    write_file(empty, "omega.gp", "name = \"omega\"\nload \"panel.gp\"\n");
    cr_assert_eq(gka_plots_check(dir, "omega"), GKA_EIO);
    cr_expect(strstr(gka_error_message(), "panel.gp"), "%s", gka_error_message());
    write_file(empty, "panel.gp", "load \"gka_style.gp\"\n");
    cr_assert_eq(gka_plots_check(dir, "omega"), GKA_OK, "%s", gka_error_message());
    char out[512];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    cr_assert_eq(mkdir(out, 0755), 0);
    cr_assert_eq(gka_gnuplot_copy_scripts(dir, "omega", out), GKA_OK, "%s", gka_error_message());
    const char *copied[] = {"gka_style.gp", "omega.gp", "panel.gp"};
    for (int i = 0; i < 3; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", out, copied[i]);
        cr_expect_eq(access(p, R_OK), 0, "%s not copied", copied[i]);
    }
    unsetenv("GKA_PLOTS_DIR");
}

/* The program: a script missing from GKA_PLOTS_DIR is one line, exit 1,
 * before any work (no CSV written). */
Test(gnuplot, missing_script_is_one_error_before_the_work) {
    char plots[512], line[1024], csv[1024], env[600];
    snprintf(plots, sizeof plots, "%s/p", tmpdir);
    cr_assert_eq(mkdir(plots, 0755), 0);
    write_file(plots, "gka_style.gp", "# style\n");
    snprintf(env, sizeof env, "GKA_PLOTS_DIR=%s", plots);
    const char *envs[] = {env, NULL};
    snprintf(line, sizeof line, "figure omega --quick --images none --quiet --out %s/r", tmpdir);
    prog_result_t *r = malloc(sizeof *r);
    prog_wait(prog_spawn(tmpdir, line, envs), tmpdir, r);
    cr_assert(r->exited && r->code == 1, "exit %d: %s", r->code, r->err);
    cr_expect(strstr(r->err, "omega.gp") && strstr(r->err, plots), "%s", r->err);
    cr_expect_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1, "not one line: %s", r->err);
    snprintf(csv, sizeof csv, "%s/r/omega/omega.csv", tmpdir);
    cr_expect_neq(access(csv, F_OK), 0, "the figure ran although its script is missing");
    free(r);
}

/* One using spec: the text after `using` up to the plot style. Fields are
 * split at ':' outside parentheses and strings; a bare number or `$N` is a
 * column by position. */
static int positional_field(const char *f, size_t n) {
    while (n && isspace((unsigned char)*f))
        f++, n--;
    while (n && isspace((unsigned char)f[n - 1]))
        n--;
    if (!n) return 0;
    size_t i = 0;
    while (i < n && isdigit((unsigned char)f[i]))
        i++;
    return i == n;
}

static const char *using_problem(const char *spec) {
    int depth = 0, quote = 0;
    const char *field = spec;
    for (const char *p = spec;; p++) {
        if (quote) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '"' || *p == '\'')
            quote = *p;
        else if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        const int end = !*p || (depth == 0 && (*p == ' ' || *p == ','));
        if (depth == 0 && (*p == ':' || end)) {
            if (positional_field(field, (size_t)(p - field))) return "a column by number";
            field = p + 1;
        }
        if (end) return NULL;
    }
}

static void check_script(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[4096];
    int no = 0;
    while (fgets(line, sizeof line, f)) {
        no++;
        char *hash = strchr(line, '#');
        if (hash && (hash == line || isspace((unsigned char)hash[-1]))) *hash = '\0';
        for (const char *p = line; (p = strstr(p, " every ")); p++) /* every ::a::b, every 2 */
            cr_expect(p[7] != ':' && !isdigit((unsigned char)p[7]),
                      "%s:%d: rows by position (every): %s", path, no, line);
        for (const char *p = line; (p = strchr(p, '$')); p++)
            cr_expect(!isdigit((unsigned char)p[1]), "%s:%d: $N column: %s", path, no, line);
        const char *fn[] = {"column(", "strcol(", "stringcolumn(", "valid("};
        for (int k = 0; k < 4; k++)
            for (const char *p = line; (p = strstr(p, fn[k])); p++)
                cr_expect(!isdigit((unsigned char)p[strlen(fn[k])]), "%s:%d: %s by number: %s",
                          path, no, fn[k], line);
        for (const char *p = line; (p = strstr(p, "using ")); p++) {
            const char *why = using_problem(p + 6);
            cr_expect_null(why, "%s:%d: %s in `using`: %s", path, no, why ? why : "", line);
        }
    }
    fclose(f);
}

Test(gnuplot, scripts_read_columns_by_name) {
    cr_assert_not_null(using_problem("1:2 with lines"));
    cr_assert_null(using_problem("\"t\":(f(column(\"err\"))) with lines"));
    cr_assert_not_null(using_problem("(column(\"i\")):3 with lines"));
    char dir[600];
    snprintf(dir, sizeof dir, "%s/plots", GKA_SOURCE_DIR);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int scripts = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".gp")) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_script(path);
        scripts++;
    }
    closedir(d);
    size_t nfig;
    gka_figure_list(&nfig);
    cr_expect_geq(scripts, (int)nfig + 1, "%d scripts for %zu figures and the style", scripts,
                  nfig);
}
