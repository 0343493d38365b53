/* Output files written whole or not at all, and bounded reads of inputs.
 *
 * A regular output file is written to a temporary file in the destination's
 * directory, which is renamed over the destination only on commit: an
 * interrupted or failed run leaves no partial file. An output path that is
 * not a regular file (a character device such as /dev/null or /dev/full, a
 * FIFO, /dev/stdout) cannot be replaced by a rename: it is opened and written
 * in place, and every write, flush and close error is reported (so a full
 * disk or /dev/full fails the command). Open temporary files are registered
 * so that a SIGINT handler can remove them. */
#ifndef GKA_IO_H
#define GKA_IO_H

#include <stddef.h>
#include <stdio.h>

#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gka_outfile {
    FILE *fp; /* write here */
    char path[4096];
    char tmp[4096]; /* the file written: a temporary beside path, or path itself when direct */
    int direct;     /* 1: path is not a regular file; written in place, never renamed */
    int has_tmp;    /* 1: tmp is a temporary file of ours (removed on abort) */
    int placed;     /* 1: renamed into place by the last commit */
} gka_outfile_t;

/* Open an output: a temporary file beside `path` (following a symbolic link
 * to its target), or `path` itself where it is not a regular file. A
 * directory is refused. Errors name the path. */
gka_status_t gka_outfile_open(gka_outfile_t *f, const char *path);

/* Flush, close and rename over `path` (direct outputs: flush and close). On
 * any write error the temporary file is removed and the destination is left
 * as it was. */
gka_status_t gka_outfile_commit(gka_outfile_t *f);

/* Commit n outputs together (CSV + history, rows + summary): every file is
 * flushed and closed first, and only if all of them were written completely
 * are they renamed into place. If a write fails, every temporary file is
 * removed; if a rename fails, the files already renamed are removed too, so
 * that none of the new files is left. Entries with fp == NULL are skipped. */
gka_status_t gka_outfile_commit_all(gka_outfile_t *const *f, size_t n);

/* Close and remove the temporary file. Safe to call twice, and on a zeroed
 * struct. A direct output is only closed. */
void gka_outfile_abort(gka_outfile_t *f);

/* Refuse, before any work, output paths that would destroy data or each
 * other: an empty path, a path that starts with '-' (an option taken as a
 * file name, as in `--csv --warm`), two outputs naming the same file, or an
 * output naming the same file as an input (same device and inode where the
 * file exists, the same absolute path otherwise). NULL entries are skipped.
 * `what_out` / `what_in` name the options in messages (may be NULL). */
gka_status_t gka_paths_check(const char *const *outputs, const char *const *what_out, size_t nout,
                             const char *const *inputs, const char *const *what_in, size_t nin);

/* Read at most `max` bytes of `path` (a regular file, pipe or device) into a
 * malloc'ed buffer, NUL-terminated (*len excludes the NUL). A longer input is
 * refused with GKA_ERANGE naming the file, `what` (e.g. "grid file") and the
 * limit; a directory with GKA_EIO "is a directory". */
gka_status_t gka_read_file_max(const char *path, size_t max, const char *what, unsigned char **data,
                               size_t *len);

/* An exclusive advisory lock (fcntl F_SETLK) on the whole open file fd.
 * GKA_EIO naming `path` and the holder's pid when
 * another process holds it. The lock lasts until fd is closed. */
gka_status_t gka_lock_fd(int fd, const char *path);

/* Create a directory and its parents (mkdir -p). */
gka_status_t gka_mkdirs(const char *dir);

/* SIGINT/SIGTERM: install a handler that sets a flag (checked by long loops
 * through gka_interrupted()) and, on a second signal, removes registered
 * temporary files and exits 130. */
void gka_interrupt_install(void);
int gka_interrupted(void);

#ifdef __cplusplus
}
#endif
#endif
