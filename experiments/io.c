#define _POSIX_C_SOURCE 200809L
#include "gka_io.h"

#include <errno.h>
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

gka_status_t gka_outfile_open(gka_outfile_t *f, const char *path) {
    memset(f, 0, sizeof *f);
    if (!path || !*path) return gka_error(GKA_EINVAL, "output path is empty");
    if (strlen(path) + 16 >= sizeof f->tmp)
        return gka_error(GKA_EINVAL, "%s: output path too long", path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return gka_error(GKA_EIO, "%s: is a directory, not an output file", path);
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        int e = errno;
        f->tmp[0] = '\0';
        return gka_error(GKA_EIO, "%s: cannot create output file: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp);
        f->tmp[0] = '\0';
        return gka_error(GKA_EIO, "%s: cannot open output file: %s", path, strerror(e));
    }
    register_tmp(f->tmp);
    return GKA_OK;
}

gka_status_t gka_outfile_commit(gka_outfile_t *f) {
    if (!f->fp) return gka_error(GKA_EINVAL, "%s: output file is not open", f->path);
    int bad = ferror(f->fp) || fflush(f->fp) != 0;
    int e = errno;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (bad) {
        unregister_tmp(f->tmp);
        unlink(f->tmp);
        f->tmp[0] = '\0';
        return gka_error(GKA_EIO, "%s: write failed: %s", f->path, strerror(e ? e : EIO));
    }
    if (rename(f->tmp, f->path) != 0) {
        e = errno;
        unregister_tmp(f->tmp);
        unlink(f->tmp);
        f->tmp[0] = '\0';
        return gka_error(GKA_EIO, "%s: cannot rename into place: %s", f->path, strerror(e));
    }
    unregister_tmp(f->tmp);
    f->tmp[0] = '\0';
    return GKA_OK;
}

void gka_outfile_abort(gka_outfile_t *f) {
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    if (f->tmp[0]) {
        unregister_tmp(f->tmp);
        unlink(f->tmp);
        f->tmp[0] = '\0';
    }
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
