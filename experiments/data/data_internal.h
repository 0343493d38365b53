/* Pieces the loaders share (experiments/data/trace.c), not part of the public API. */
#ifndef GKA_DATA_INTERNAL_H
#define GKA_DATA_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "gka_error.h"

/* Append up to n more bytes from fp to the malloc-ed *buf of *len bytes
 * (growing it; *buf may be NULL). Stops early only at end of file (then *len
 * grows by less: the parser reports the truncation). GKA_EIO on a read error,
 * GKA_ENOMEM, naming path. */
gka_status_t gka_read_more(FILE *fp, const char *path, unsigned char **buf, size_t *len, size_t n);

/* GKA_OK if fp is at end of file after `expected` bytes; otherwise
 * GKA_EFORMAT "more bytes than the header describes" (reads one byte only, so
 * an endless stream fails at once). */
gka_status_t gka_check_at_end(FILE *fp, const char *path, size_t expected);

#endif
