/* The gnuplot side of a figure: NAME.gp reads NAME.csv and draws it, so a
 * user can restyle a figure without recomputing it; gka renders it once per
 * requested format, each output renamed into place only when complete. */
#define _POSIX_C_SOURCE 200809L
#include "gka_config.h"
#include "gka_git_commit.h"
#include "gka_figure.h"
#include "gka_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_preamble(FILE *gp, const gka_figure_t *fig) {
    const char *n = fig->name;
    fprintf(gp,
            "# %s.gp: gnuplot script for %s.csv, written by gka %s (commit %s).\n"
            "# %s\n"
            "# Render from this directory:  gnuplot -e \"fmt='png'\" %s.gp\n"
            "# (fmt: pdf, png or svg; default pdf; out='FILE' names the output.)\n"
            "# Restyle freely: the data are read from the CSV by column name.\n\n",
            n, n, GKA_VERSION, GKA_GIT_COMMIT, fig->summary, n);
    double w = fig->width_in > 0 ? fig->width_in : 7.0;
    double h = fig->height_in > 0 ? fig->height_in : 4.5;
    fprintf(gp,
            "if (!exists(\"fmt\")) fmt = \"pdf\"\n"
            "if (!exists(\"out\")) out = \"%s.\" . fmt\n"
            "if (fmt eq \"pdf\") { set terminal pdfcairo size %.2fin,%.2fin font \"Sans,8\" }\n"
            "if (fmt eq \"png\") { set terminal pngcairo size %d,%d font \"Sans,9\" }\n"
            "if (fmt eq \"svg\") { set terminal svg size %d,%d dynamic font \"Sans,9\" background "
            "rgb \"white\" }\n"
            "set output out\n"
            "set datafile separator comma\n"
            "set datafile columnheaders\n"
            "set datafile missing \"nan\"\n"
            "data = \"%s.csv\"\n"
            "set grid lc rgb \"#dddddd\"\n"
            "set key noenhanced\n"
            "set colorsequence podo\n\n",
            n, w, h, (int)(w * 130), (int)(h * 130), (int)(w * 100), (int)(h * 100), n);
}

gka_status_t gka_gnuplot_write_script(const gka_figure_t *fig, const gka_figure_opts_t *opts,
                                      const char *dir) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.gp", dir, fig->name) >= sizeof path)
        return gka_error(GKA_EINVAL, "%s: path too long", dir);
    gka_outfile_t f;
    gka_status_t st = gka_outfile_open(&f, path);
    if (st != GKA_OK) return st;
    write_preamble(f.fp, fig);
    fig->plot(f.fp, opts);
    fprintf(f.fp, "\nunset output\n");
    return gka_outfile_commit(&f);
}

/* Run `gnuplot -e "fmt='F'; out='TMP'" NAME.gp` in dir. Returns the exit
 * status (127: could not be executed); the first lines of its stderr go to
 * errbuf. */
static int run_gnuplot(const char *dir, const char *name, const char *fmt, const char *tmp,
                       char *errbuf, size_t errsize) {
    const char *prog = getenv("GKA_GNUPLOT");
    if (!prog || !*prog) prog = "gnuplot";
    char script[512], expr[4400];
    snprintf(script, sizeof script, "%s.gp", name);
    const char *base = strrchr(tmp, '/');
    snprintf(expr, sizeof expr, "fmt='%s'; out='%s'", fmt, base ? base + 1 : tmp);
    int pipefd[2];
    if (pipe(pipefd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        if (chdir(dir) != 0) _exit(126);
        execlp(prog, prog, "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    size_t got = 0;
    char chunk[512];
    ssize_t r;
    while ((r = read(pipefd[0], chunk, sizeof chunk)) > 0) {
        size_t k = (size_t)r;
        if (got + 1 < errsize) {
            size_t room = errsize - 1 - got;
            memcpy(errbuf + got, chunk, k < room ? k : room);
            got += k < room ? k : room;
        }
    }
    errbuf[got] = '\0';
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* gnuplot's message on one line */
static void one_line(char *s) {
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    if (n > 300) strcpy(s + 297, "...");
}

gka_status_t gka_gnuplot_render(const char *dir, const char *name, unsigned formats,
                                int *rendered) {
    static const char *const ext[] = {"pdf", "png", "svg"};
    *rendered = 0;
    for (unsigned i = 0; i < 3; i++) {
        if (!(formats & (1u << i))) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[i]);
        /* The temporary file of gka_outfile is created (and registered for
         * removal on interrupt); gnuplot writes into it by name; commit renames. */
        gka_outfile_t f;
        gka_status_t st = gka_outfile_open(&f, path);
        if (st != GKA_OK) return st;
        char err[2048];
        int rc = run_gnuplot(dir, name, ext[i], f.tmp, err, sizeof err);
        if (rc != 0) {
            gka_outfile_abort(&f);
            one_line(err);
            if (rc == 127)
                return gka_error(GKA_EUNSUP,
                                 "gnuplot not found; %s/%s.csv and %s.gp are written; render "
                                 "them with: cd %s && gnuplot -e \"fmt='png'\" %s.gp",
                                 dir, name, name, dir, name);
            return gka_error(GKA_EIO, "%s/%s.gp: gnuplot failed (status %d) making %s: %s", dir,
                             name, rc, ext[i], err[0] ? err : "no message");
        }
        st = gka_outfile_commit(&f);
        if (st != GKA_OK) return st;
        *rendered |= (int)(1u << i);
    }
    return GKA_OK;
}
