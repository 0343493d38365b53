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

/* How many bytes the file must have: reads its first bytes from fp into
 * *buf (gka_read_more) and sets *total from their header. */
typedef gka_status_t (*gka_expected_size_fn)(FILE *fp, const char *path, void *ctx,
                                             unsigned char **buf, size_t *len, size_t *total);

/* Read the file at path whole into the malloc-ed *data of *len bytes, never
 * more than `expected` says it has: a short file gets the parser's message
 * (the caller parses *data), a longer one gka_check_at_end's. On an error
 * *data is NULL and *len 0. */
gka_status_t gka_read_bounded(const char *path, gka_expected_size_fn expected, void *ctx,
                              unsigned char **data, size_t *len);

#endif
