/* The gnuplot side of a figure, as seen from C: the scripts are files of
 * plots/ (gka_style.gp and one NAME.gp per figure, reading NAME.csv by column
 * names). gka copies the pair beside the CSV, so that OUT/NAME/ stays
 * self-contained and restylable, and renders it there once per requested
 * format, each output renamed into place only when complete. */
#define _POSIX_C_SOURCE 200809L
#include "gka_figure.h"
#include "gka_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GKA_STYLE_SCRIPT "gka_style.gp"
/* Set by CMake (CMakeLists.txt): the install layout's path from the program's
 * directory to the scripts, and the source tree's plots/ for the build tree. */
#ifndef GKA_PLOTS_FROM_BINDIR
#define GKA_PLOTS_FROM_BINDIR "../share/gka/plots"
#endif
#ifndef GKA_PLOTS_SOURCE_DIR
#define GKA_PLOTS_SOURCE_DIR "plots"
#endif

/* ---- where the scripts are ------------------------------------------------ */

static int readable(const char *dir, const char *file) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) return 0;
    return access(path, R_OK) == 0;
}

/* The installed scripts beside the running program: BINDIR/GKA_PLOTS_FROM_BINDIR
 * (e.g. bin/../share/gka/plots), so that an installed tree can be moved. */
static int installed_dir(char *buf, size_t size) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = '\0';
    return (size_t)snprintf(buf, size, "%s/%s", exe, GKA_PLOTS_FROM_BINDIR) < size;
}

gka_status_t gka_plots_dir(char *buf, size_t size) {
    const char *env = getenv("GKA_PLOTS_DIR");
    if (env && *env) {
        /* an explicit choice is never replaced by another directory */
        if ((size_t)snprintf(buf, size, "%s", env) >= size)
            return gka_error(GKA_EINVAL, "GKA_PLOTS_DIR: path too long");
        if (!readable(buf, GKA_STYLE_SCRIPT))
            return gka_error(GKA_EIO, "GKA_PLOTS_DIR=%s: no readable %s there", env,
                             GKA_STYLE_SCRIPT);
        return GKA_OK;
    }
    char inst[4096] = "";
    if (installed_dir(inst, sizeof inst) && readable(inst, GKA_STYLE_SCRIPT)) {
        if ((size_t)snprintf(buf, size, "%s", inst) >= size)
            return gka_error(GKA_EINVAL, "%s: path too long", inst);
        return GKA_OK;
    }
    if (readable(GKA_PLOTS_SOURCE_DIR, GKA_STYLE_SCRIPT)) {
        snprintf(buf, size, "%s", GKA_PLOTS_SOURCE_DIR);
        return GKA_OK;
    }
    return gka_error(GKA_EIO,
                     "no gnuplot scripts found (%s in neither %s nor %s); set GKA_PLOTS_DIR to "
                     "the plots/ directory",
                     GKA_STYLE_SCRIPT, inst[0] ? inst : "the program's share/gka/plots",
                     GKA_PLOTS_SOURCE_DIR);
}

/* The files a figure's script needs: gka_style.gp, NAME.gp, and each other
 * script NAME.gp loads by name (trace.gp draws with precision.gp), so that
 * the copy in OUT/NAME/ renders on its own. */
enum { SCRIPTS_MAX = 4, SCRIPT_NAME_MAX = 256 };
typedef struct {
    char file[SCRIPTS_MAX][SCRIPT_NAME_MAX];
    int n;
} script_set_t;

static void add_loads(const char *path, script_set_t *set) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024], target[SCRIPT_NAME_MAX];
    while (fgets(line, sizeof line, f) && set->n < SCRIPTS_MAX)
        if (sscanf(line, " load \"%255[^\"/]\"", target) == 1 && strcmp(target, GKA_STYLE_SCRIPT))
            snprintf(set->file[set->n++], SCRIPT_NAME_MAX, "%s", target);
    fclose(f);
}

static gka_status_t script_set(const char *plots_dir, const char *name, script_set_t *set) {
    set->n = 2;
    snprintf(set->file[0], SCRIPT_NAME_MAX, "%s", GKA_STYLE_SCRIPT);
    if ((size_t)snprintf(set->file[1], SCRIPT_NAME_MAX, "%s.gp", name) >= SCRIPT_NAME_MAX)
        return gka_error(GKA_EINVAL, "figure name too long");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", plots_dir, set->file[1]);
    add_loads(path, set);
    for (int i = 0; i < set->n; i++)
        if (!readable(plots_dir, set->file[i]))
            return gka_error(GKA_EIO, "%s/%s: no gnuplot script for figure %s (cannot read it)",
                             plots_dir, set->file[i], name);
    return GKA_OK;
}

gka_status_t gka_plots_check(const char *plots_dir, const char *name) {
    script_set_t set;
    return script_set(plots_dir, name, &set);
}

/* Copy one file into an output opened with gka_outfile_open. */
static gka_status_t copy_into(const char *src, gka_outfile_t *f) {
    FILE *in = fopen(src, "rb");
    if (!in) return gka_error(GKA_EIO, "%s: cannot read: %s", src, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        if (fwrite(chunk, 1, n, f->fp) != n) break;
    const int failed = ferror(in) || ferror(f->fp);
    fclose(in);
    return failed ? gka_error(GKA_EIO, "%s: copy to %s failed", src, f->path) : GKA_OK;
}

gka_status_t gka_gnuplot_copy_scripts(const char *plots_dir, const char *name, const char *dir) {
    script_set_t set;
    gka_status_t st = script_set(plots_dir, name, &set);
    if (st != GKA_OK) return st;
    gka_outfile_t out[SCRIPTS_MAX];
    gka_outfile_t *all[SCRIPTS_MAX];
    memset(out, 0, sizeof out);
    for (int i = 0; st == GKA_OK && i < set.n; i++) {
        all[i] = &out[i];
        char src[4096], dst[4096];
        if ((size_t)snprintf(src, sizeof src, "%s/%s", plots_dir, set.file[i]) >= sizeof src ||
            (size_t)snprintf(dst, sizeof dst, "%s/%s", dir, set.file[i]) >= sizeof dst)
            st = gka_error(GKA_EINVAL, "%s: path too long", dir);
        if (st == GKA_OK) st = gka_outfile_open(&out[i], dst);
        if (st == GKA_OK) st = copy_into(src, &out[i]);
    }
    if (st == GKA_OK) return gka_outfile_commit_all(all, (size_t)set.n); /* all, or none */
    for (int i = 0; i < set.n; i++)
        gka_outfile_abort(&out[i]);
    return st;
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
