/* Output files written whole or not at all: data goes to a temporary file in
 * the destination's directory, which is renamed over the destination only on
 * commit. An interrupted or failed run leaves no partial file. Open temporary
 * files are registered so that a SIGINT handler can remove them. */
#ifndef GKA_IO_H
#define GKA_IO_H

#include <stdio.h>

#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gka_outfile {
    FILE *fp; /* write here */
    char path[4096];
    char tmp[4096];
} gka_outfile_t;

/* Create a temporary file beside `path`. Errors name the path. */
gka_status_t gka_outfile_open(gka_outfile_t *f, const char *path);

/* Flush, close and rename over `path`. On any write error the temporary file
 * is removed and the destination is left as it was. */
gka_status_t gka_outfile_commit(gka_outfile_t *f);

/* Close and remove the temporary file. Safe to call twice. */
void gka_outfile_abort(gka_outfile_t *f);

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
