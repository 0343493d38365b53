/* `gka figure all --quick` through the command line, as the README's main
 * command runs it: every listed figure leaves its CSV (with metadata), its
 * gnuplot script and a rendered PNG, and nothing temporary. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static long file_size(const char *dir, const char *name, const char *ext) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.%s", dir, name, name, ext);
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

Test(figure_all, quick_tier_renders_every_figure, .timeout = 900) {
    char dir[] = "/tmp/gka_figall_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s figure all --quick --images png --quiet --out %s >%s/log 2>&1",
             GKA_PROGRAM, dir, dir);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "gka figure all --quick failed (see %s/log)",
              dir);
    /* the figure names, from the program's own list */
    snprintf(cmd, sizeof cmd, "%s figure --list", GKA_PROGRAM);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[512];
    int figures = 0;
    while (fgets(line, sizeof line, p)) {
        char name[64];
        if (sscanf(line, " %63s", name) != 1 || !strcmp(name, "all")) continue;
        if (!strchr("abcdefghijklmnopqrstuvwxyz", name[0])) continue;
        cr_expect_gt(file_size(dir, name, "csv"), 200, "%s: no CSV", name);
        cr_expect_gt(file_size(dir, name, "gp"), 100, "%s: no gnuplot script", name);
        cr_expect_gt(file_size(dir, name, "png"), 1000, "%s: no PNG", name);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/%s.csv", dir, name, name);
        FILE *f = fopen(path, "r");
        if (f) {
            /* the header line, then the provenance (experiments/csvmeta.c) */
            cr_expect(fgets(line, sizeof line, f) && line[0] != '#' &&
                          fgets(line, sizeof line, f) && !strncmp(line, "# gka_version: ", 15),
                      "%s: CSV does not start with its header and provenance", name);
            fclose(f);
        }
        figures++;
    }
    pclose(p);
    cr_expect_geq(figures, 9, "only %d figures listed", figures);
    snprintf(cmd, sizeof cmd, "find %s -name '*.tmp.*' | grep -q . && exit 1; rm -rf %s", dir, dir);
    cr_expect_eq(system(cmd), 0, "temporary files left in %s", dir);
}
