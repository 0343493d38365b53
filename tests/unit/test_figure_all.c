/* `gka figure all --quick` through the command line, as the README's main
 * command runs it: every listed figure leaves its CSV (with metadata), the
 * copies of its plots/ scripts and a rendered PNG, and nothing temporary;
 * and each figure's directory renders again on its own, by hand, from the
 * CSV the figure wrote, without a gnuplot warning (an empty panel, a
 * missing column). Skipped with a message where gnuplot is absent. */
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

/* cd DIR/NAME && gnuplot -e "fmt='svg'; out='again.svg'" NAME.gp: exit 0, no
 * message on stderr, a non-empty SVG. */
static void render_by_hand(const char *dir, const char *name) {
    char cmd[2048], err[1024], msg[2048] = "";
    snprintf(err, sizeof err, "%s/%s/gnuplot.err", dir, name);
    snprintf(cmd, sizeof cmd,
             "cd '%s/%s' && gnuplot -e \"fmt='svg'; out='again.svg'\" %s.gp 2> gnuplot.err", dir,
             name, name);
    int st = system(cmd);
    FILE *f = fopen(err, "r");
    if (f) {
        msg[fread(msg, 1, sizeof msg - 1, f)] = '\0';
        fclose(f);
    }
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: gnuplot failed: %s", name, msg);
    cr_expect_str_empty(msg, "%s: gnuplot said: %s", name, msg);
    char svg[1024];
    snprintf(svg, sizeof svg, "%s/%s/again.svg", dir, name);
    struct stat sb;
    cr_expect(stat(svg, &sb) == 0 && sb.st_size > 1000, "%s: no SVG rendered by hand", name);
}

Test(figure_all, quick_tier_renders_every_figure, .timeout = 900) {
    if (system("command -v gnuplot > /dev/null 2>&1") != 0)
        cr_skip_test("gnuplot not installed: the figures' scripts cannot be rendered");
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
        char style[1024];
        snprintf(style, sizeof style, "%s/%s/gka_style.gp", dir, name);
        cr_expect_eq(access(style, R_OK), 0, "%s: gka_style.gp not copied beside it", name);
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
        render_by_hand(dir, name);
        figures++;
    }
    pclose(p);
    cr_expect_geq(figures, 9, "only %d figures listed", figures);
    snprintf(cmd, sizeof cmd, "find %s -name '*.tmp.*' | grep -q . && exit 1; rm -rf %s", dir, dir);
    cr_expect_eq(system(cmd), 0, "temporary files left in %s", dir);
}
