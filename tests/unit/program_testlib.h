/* Running the built gka program (GKA_PROGRAM) from tests: fork/exec with an
 * argument vector (no shell), in a working directory, stdout and stderr
 * captured to files, exit status and terminating signal reported. Shared by
 * test_hostile_cli.c, test_numeric_events.c, test_determinism.c,
 * test_interrupt.c and the test_cmd_*.c tests. Header-only (static functions): each test is one
 * file. */
#ifndef GKA_PROGRAM_TESTLIB_H
#define GKA_PROGRAM_TESTLIB_H

#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PROG_ARGS_MAX = 64, PROG_TEXT_MAX = 65536 };

typedef struct {
    int exited, code;  /* WIFEXITED, WEXITSTATUS */
    int signaled, sig; /* WIFSIGNALED, WTERMSIG */
    char out[PROG_TEXT_MAX], err[PROG_TEXT_MAX];
} prog_result_t;

/* Split `line` at single spaces into argv (after the program name); the
 * token '' stands for an empty argument. buf must outlive argv. */
static inline int prog_split(char *buf, char **argv, int max) {
    int n = 0;
    argv[n++] = (char *)GKA_PROGRAM;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && n < max - 1;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = strcmp(tok, "''") ? tok : (char *)"";
    argv[n] = NULL;
    return n;
}

static inline void prog_slurp(const char *path, char *buf, size_t n) {
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t len = fread(buf, 1, n - 1, f);
    buf[len] = '\0';
    fclose(f);
}

/* Start gka with the space-separated arguments `line` in directory `cwd`,
 * stdout to cwd/.stdout, stderr to cwd/.stderr; env "NAME=VALUE" strings
 * (NULL-terminated list, may be NULL) are added. SIGINT is reset to the
 * default in the child (a background job may inherit it ignored). */
static inline pid_t prog_spawn(const char *cwd, const char *line, const char *const *env) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", line);
    char *argv[PROG_ARGS_MAX];
    prog_split(buf, argv, PROG_ARGS_MAX);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        if (chdir(cwd) != 0) _exit(127);
        int o = open(".stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(".stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(127);
        dup2(o, 1), dup2(e, 2), close(o), close(e);
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(GKA_PROGRAM, argv);
        _exit(127);
    }
    return pid;
}

static inline void prog_wait(pid_t pid, const char *cwd, prog_result_t *r) {
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r->exited = WIFEXITED(st), r->code = r->exited ? WEXITSTATUS(st) : -1;
    r->signaled = WIFSIGNALED(st), r->sig = r->signaled ? WTERMSIG(st) : 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/.stdout", cwd);
    prog_slurp(path, r->out, sizeof r->out);
    unlink(path);
    snprintf(path, sizeof path, "%s/.stderr", cwd);
    prog_slurp(path, r->err, sizeof r->err);
    unlink(path);
}

/* Run to completion. */
static inline void prog_run(const char *cwd, const char *line, const char *const *env,
                            prog_result_t *r) {
    prog_wait(prog_spawn(cwd, line, env), cwd, r);
}

/* Number of lines of s (a last line without '\n' counts). */
static inline int prog_lines(const char *s) {
    int n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '\n';
    if (*s && s[strlen(s) - 1] != '\n') n++;
    return n;
}

/* Number of entries of dir whose name contains `part` (NULL: any entry
 * except . and ..). */
static inline int prog_count_entries(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!part || strstr(e->d_name, part)) n++;
    }
    closedir(d);
    return n;
}

static inline int prog_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static inline void prog_make_tmpdir(char *dir, size_t n, const char *tag) {
    snprintf(dir, n, "/tmp/gka_%s_XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir));
}

static inline void prog_remove_tree(const char *dir) {
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

/* The whole file in a malloc-ed buffer (NULL if it cannot be opened or
 * sized); a short read (the file shrank, an I/O error) fails the test. */
static inline char *prog_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s, "out of memory reading %s", path);
    size_t got = fread(s, 1, (size_t)n, f);
    fclose(f);
    cr_assert_eq(got, (size_t)n, "%s: short read (%zu of %ld bytes)", path, got, n);
    s[got] = '\0';
    if (len) *len = got;
    return s;
}

/* prog_read_file for a file the test expects: one that cannot be read fails
 * the test. */
static inline char *prog_read_file_or_fail(const char *path, size_t *len) {
    char *text = prog_read_file(path, len);
    cr_assert_not_null(text, "cannot read %s", path);
    return text;
}

#ifdef GKA_FIGURE_H
/* Run figure `name` through the library (quick tier, no images, quiet) with
 * `threads` threads into DIR/sub; its CSV path into csv_path. */
static inline void prog_run_figure(const char *name, const char *dir, int threads, const char *sub,
                                   char *csv_path, size_t size) {
    const gka_figure_t *fig = gka_figure_find(name);
    cr_assert_not_null(fig, "figure '%s' is not registered", name);
    gka_figure_opts_t o = gka_figure_opts_default();
    o.threads = threads;
    o.formats = 0;
    o.quiet = 1;
    snprintf(o.out_dir, sizeof o.out_dir, "%s/%s", dir, sub);
    gka_figure_result_t res;
    cr_assert_eq(gka_figure_run(fig, &o, NULL, &res), GKA_OK, "%s", gka_error_message());
    snprintf(csv_path, size, "%s", res.csv_path);
}
#endif

/* Run `gka ARGS` through the shell, stdout and stderr together into out
 * (NUL-terminated, cut at n - 1 bytes); returns the exit status, -1 if the
 * program did not exit normally. For tests that only read the output. */
/* Remove, in place, the lines of s that start with prefix: e.g. the
 * "# command_line: " provenance line, which differs between two runs that
 * must otherwise write the same bytes. Returns the new length. */
static inline size_t prog_drop_lines(char *s, const char *prefix) {
    size_t n = strlen(prefix), w = 0;
    for (size_t r = 0; s[r];) {
        size_t e = r;
        while (s[e] && s[e] != '\n')
            e++;
        if (s[e]) e++;
        if (strncmp(s + r, prefix, n) != 0) {
            memmove(s + w, s + r, e - r);
            w += e - r;
        }
        r = e;
    }
    s[w] = '\0';
    return w;
}

/* Write a [T, D] bf16 .npy as numpy + ml_dtypes does (descr '<V2'). */
static inline void prog_write_bf16_npy(const char *path, int T, int D) {
    char h[128];
    int n = snprintf(h, sizeof h, "{'descr': '<V2', 'fortran_order': False, 'shape': (%d, %d), }",
                     T, D);
    while ((10 + n + 1) % 64)
        h[n++] = ' ';
    h[n++] = '\n';
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(n & 0xff, f), fputc(n >> 8, f);
    fwrite(h, 1, (size_t)n, f);
    for (int j = 0; j < T * D; j++) {
        float v = (float)(1 + (j * 37) % 11) / 8.0f * (j % 3 ? 1.0f : -1.0f); /* exact in bf16 */
        uint32_t u;
        memcpy(&u, &v, 4);
        fputc((u >> 16) & 0xff, f), fputc(u >> 24, f);
    }
    fclose(f);
}

static inline int prog_capture(const char *args, char *out, size_t n) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", GKA_PROGRAM, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run gka with `args` (space-separated) and its stderr on a new pseudo
 * terminal (stdout to /dev/null, or a file where stderr_file is given: then
 * stderr goes there, not to the terminal); returns what the terminal
 * received. */
static inline void prog_run_on_pty(const char *args, const char *stderr_file, char *got, size_t n) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "no pseudo terminal");
    const char *slave = ptsname(m);
    cr_assert_not_null(slave);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", args);
    char *argv[PROG_ARGS_MAX];
    prog_split(buf, argv, PROG_ARGS_MAX);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int s = open(slave, O_RDWR);
        int o = open("/dev/null", O_WRONLY);
        int e = stderr_file ? open(stderr_file, O_WRONLY | O_CREAT | O_TRUNC, 0644) : s;
        if (s < 0 || o < 0 || e < 0) _exit(127);
        dup2(o, 1), dup2(e, 2), dup2(s, 0);
        execv(GKA_PROGRAM, argv);
        _exit(127);
    }
    size_t len = 0;
    for (;;) { /* until the last holder of the slave closes it (EIO) */
        ssize_t r = read(m, got + len, n - 1 - len);
        if (r > 0 && len + (size_t)r < n - 1) len += (size_t)r;
        if (r > 0) continue;
        if (r < 0 && errno == EINTR) continue;
        break;
    }
    got[len] = '\0';
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "gka %s failed", args);
    close(m);
}

#endif
