#define _XOPEN_SOURCE 700
#include "gka_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Registry of temporary files still open, for the signal handler. A fixed
 * table of paths: the handler may only call async-signal-safe unlink(). */
enum { GKA_MAX_OPEN_TMP = 64 };
static char *volatile open_tmp[GKA_MAX_OPEN_TMP];
static volatile sig_atomic_t interrupted_count;

static void register_tmp(char *tmp) {
    for (int i = 0; i < GKA_MAX_OPEN_TMP; i++)
        if (!open_tmp[i]) {
            open_tmp[i] = tmp;
            return;
        }
}

static void unregister_tmp(const char *tmp) {
    for (int i = 0; i < GKA_MAX_OPEN_TMP; i++)
        if (open_tmp[i] == tmp) open_tmp[i] = NULL;
}

static void drop_tmp(gka_outfile_t *f) {
    if (!f->has_tmp) return;
    unregister_tmp(f->tmp);
    unlink(f->tmp);
    f->has_tmp = 0;
    f->tmp[0] = '\0';
}

/* The file a rename must replace: the target of a symbolic link (renaming
 * over the link would replace the link itself). 1 if `path` should be written
 * in place instead: not a regular file, or a link into /proc (/dev/stdout). */
static int resolve_output(const char *path, char *target, size_t n) {
    struct stat ls, st;
    snprintf(target, n, "%s", path);
    if (lstat(path, &ls) != 0) return 0; /* new file */
    if (stat(path, &st) != 0) return 0;  /* dangling link: created beside it */
    if (!S_ISREG(st.st_mode)) return 1;
    if (S_ISLNK(ls.st_mode)) {
        char *real = realpath(path, NULL);
        if (!real || !strncmp(real, "/proc/", 6) || strlen(real) >= n) {
            free(real);
            return 1;
        }
        snprintf(target, n, "%s", real);
        free(real);
    }
    return 0;
}

static gka_status_t open_direct(gka_outfile_t *f) {
    f->direct = 1;
    snprintf(f->tmp, sizeof f->tmp, "%s", f->path);
    f->fp = fopen(f->path, "w");
    if (!f->fp) return gka_error(GKA_EIO, "%s: cannot open output: %s", f->path, strerror(errno));
    return GKA_OK;
}

gka_status_t gka_outfile_open(gka_outfile_t *f, const char *path) {
    memset(f, 0, sizeof *f);
    if (!path || !*path) return gka_error(GKA_EINVAL, "output path is empty");
    if (strlen(path) + 16 >= sizeof f->tmp)
        return gka_error(GKA_EINVAL, "%s: output path too long", path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return gka_error(GKA_EIO, "%s: is a directory, not an output file", path);
    char target[sizeof f->path];
    const int direct = resolve_output(path, target, sizeof target);
    snprintf(f->path, sizeof f->path, "%s", direct ? path : target);
    if (direct) return open_direct(f);
    if (strlen(f->path) + 16 >= sizeof f->tmp)
        return gka_error(GKA_EINVAL, "%s: output path too long", path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.XXXXXX", f->path);
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        int e = errno;
        f->tmp[0] = '\0';
        return gka_error(GKA_EIO, "%s: cannot create output file: %s", path, strerror(e));
    }
    f->has_tmp = 1;
    register_tmp(f->tmp);
    if (fchmod(fd, 0644) != 0) { /* mkstemp's 0600 would hide results from others */
        int e = errno;
        close(fd);
        drop_tmp(f);
        return gka_error(GKA_EIO, "%s: cannot set permissions: %s", path, strerror(e));
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        int e = errno;
        close(fd);
        drop_tmp(f);
        return gka_error(GKA_EIO, "%s: cannot open output file: %s", path, strerror(e));
    }
    return GKA_OK;
}

/* Flush and close; a regular temporary file is also synced, so that the
 * rename never publishes a file whose data are still in flight. 0 or the
 * errno of the first failure. */
static int finish_writing(gka_outfile_t *f) {
    int e = 0;
    errno = 0;
    if (fflush(f->fp) != 0) /* retries what a failed fwrite left: errno says why */
        e = errno ? errno : EIO;
    else if (ferror(f->fp))
        e = EIO;
    if (!e && !f->direct && fsync(fileno(f->fp)) != 0) e = errno;
    if (fclose(f->fp) != 0 && !e) e = errno ? errno : EIO;
    f->fp = NULL;
    return e;
}

gka_status_t gka_outfile_commit(gka_outfile_t *f) {
    gka_outfile_t *one[1] = {f};
    return gka_outfile_commit_all(one, 1);
}

gka_status_t gka_outfile_commit_all(gka_outfile_t *const *f, size_t n) {
    gka_status_t st = GKA_OK;
    for (size_t i = 0; i < n; i++) {
        if (!f[i]->fp) continue;
        int e = finish_writing(f[i]);
        if (e && st == GKA_OK)
            st = gka_error(GKA_EIO, "%s: write failed: %s", f[i]->path, strerror(e));
    }
    if (st != GKA_OK) {
        for (size_t i = 0; i < n; i++)
            drop_tmp(f[i]);
        return st;
    }
    size_t renamed = 0;
    for (; renamed < n; renamed++) {
        gka_outfile_t *o = f[renamed];
        if (!o->has_tmp) continue;
        if (rename(o->tmp, o->path) != 0) {
            st = gka_error(GKA_EIO, "%s: cannot rename into place: %s", o->path, strerror(errno));
            break;
        }
        unregister_tmp(o->tmp);
        o->has_tmp = 0;
        o->tmp[0] = '\0';
        o->placed = 1;
    }
    if (st == GKA_OK) return GKA_OK;
    /* whole or nothing: the new files already in place go too */
    for (size_t i = 0; i < renamed; i++)
        if (f[i]->placed) unlink(f[i]->path), f[i]->placed = 0;
    for (size_t i = 0; i < n; i++)
        drop_tmp(f[i]);
    return st;
}

void gka_outfile_abort(gka_outfile_t *f) {
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    drop_tmp(f);
}

/* ---- paths that must not collide ------------------------------------------ */

/* Absolute form of a path that may not exist yet: realpath of the file, or of
 * its directory followed by its name. */
static void absolute_path(const char *path, char *out, size_t n) {
    char *real = realpath(path, NULL);
    if (real) {
        snprintf(out, n, "%s", real);
        free(real);
        return;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir)
        snprintf(dir, sizeof dir, "/");
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    real = realpath(dir, NULL);
    snprintf(out, n, "%s/%s", real ? real : dir, base);
    free(real);
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char x[8192], y[8192];
    absolute_path(a, x, sizeof x);
    absolute_path(b, y, sizeof y);
    return !strcmp(x, y);
}

static const char *name_or(const char *const *names, size_t i, const char *dflt) {
    return names && names[i] ? names[i] : dflt;
}

gka_status_t gka_paths_check(const char *const *out, const char *const *what_out, size_t nout,
                             const char *const *in, const char *const *what_in, size_t nin) {
    for (size_t i = 0; i < nout; i++) {
        if (!out[i]) continue;
        const char *w = name_or(what_out, i, "output");
        if (!*out[i]) return gka_error(GKA_EINVAL, "%s: output path is empty", w);
        if (out[i][0] == '-')
            return gka_error(GKA_EINVAL,
                             "%s: '%s' looks like an option, not a file name (write ./%s for "
                             "a file of that name)",
                             w, out[i], out[i]);
        for (size_t j = 0; j < i; j++)
            if (out[j] && same_file(out[i], out[j]))
                return gka_error(GKA_EINVAL, "%s and %s name the same file '%s'",
                                 name_or(what_out, j, "output"), w, out[i]);
        for (size_t j = 0; j < nin; j++)
            if (in[j] && same_file(out[i], in[j]))
                return gka_error(GKA_EINVAL,
                                 "%s '%s' is the input of %s: writing it would destroy the input",
                                 w, out[i], name_or(what_in, j, "an input"));
    }
    return GKA_OK;
}

/* ---- bounded reads --------------------------------------------------------- */

gka_status_t gka_read_file_max(const char *path, size_t max, const char *what, unsigned char **data,
                               size_t *len) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return gka_error(GKA_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return gka_error(GKA_EIO, "%s: is a directory, not a %s", path, what);
    }
    /* Read in growing chunks, never more than max + 1 bytes: an endless
     * stream (/dev/zero, a FIFO) is cut off at the limit. */
    size_t cap = 0, n = 0;
    unsigned char *buf = NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 65536;
            if (ncap > max + 1) ncap = max + 1;
            if (ncap <= cap) break;
            unsigned char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                return gka_error(GKA_ENOMEM, "%s: cannot allocate %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return gka_error(GKA_EIO, "%s: read error: %s", path, strerror(e));
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return gka_error(GKA_ERANGE, "%s: %s larger than the limit of %zu bytes", path, what, max);
    }
    if (!buf && !(buf = malloc(1))) return gka_error(GKA_ENOMEM, "%s: out of memory", path);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return GKA_OK;
}

/* ---- locks ----------------------------------------------------------------- */

gka_status_t gka_lock_fd(int fd, const char *path) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == 0) return GKA_OK;
    const int e = errno;
    if (e != EACCES && e != EAGAIN)
        return gka_error(GKA_EIO, "%s: cannot lock: %s", path, strerror(e));
    struct flock who;
    memset(&who, 0, sizeof who);
    who.l_type = F_WRLCK;
    who.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK)
        return gka_error(GKA_EIO, "%s: in use by another run (process %ld holds its lock)", path,
                         (long)who.l_pid);
    return gka_error(GKA_EIO, "%s: in use by another run (locked)", path);
}
gka_status_t gka_mkdirs(const char *dir) {
    char buf[4096];
    if (!dir || !*dir) return gka_error(GKA_EINVAL, "output directory is empty");
    if (strlen(dir) >= sizeof buf) return gka_error(GKA_EINVAL, "%s: path too long", dir);
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        int end = (*p == '\0');
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return gka_error(GKA_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
            if (end) break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return gka_error(GKA_EIO, "%s: not a directory", dir);
    if (access(dir, W_OK) != 0) return gka_error(GKA_EIO, "%s: directory is not writable", dir);
    return GKA_OK;
}

static void on_signal(int sig) {
    (void)sig;
    interrupted_count++;
    if (interrupted_count >= 2) {
        for (int i = 0; i < GKA_MAX_OPEN_TMP; i++)
            if (open_tmp[i]) unlink(open_tmp[i]);
        static const char msg[] = "\ngka: interrupted again; temporary files removed\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
}

void gka_interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int gka_interrupted(void) {
    return interrupted_count > 0;
}
