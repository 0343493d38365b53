/* Error reporting for libgka, after GSL: every fallible function returns a
 * gka_status_t; the library never aborts or exits. The last error's message
 * (which names the file, field or value at fault) is kept per thread. */
#ifndef GKA_ERROR_H
#define GKA_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    GKA_OK = 0,
    GKA_EINVAL = 1,   /* invalid argument: unknown name, out-of-range value, bad shape */
    GKA_ENOMEM = 2,   /* allocation failed */
    GKA_EIO = 3,      /* file could not be opened, read or written */
    GKA_EFORMAT = 4,  /* malformed input file (header, dtype, truncated data) */
    GKA_ERANGE = 5,   /* overflow of a size or a value that must be finite */
    GKA_ENODATA = 6,  /* non-finite (NaN/Inf) input data */
    GKA_EUNSUP = 7,   /* not available in this build (e.g. minimal build without MPFR) */
    GKA_EDEVICE = 8,  /* GPU / CUDA failure */
    GKA_EINTR = 9,    /* interrupted (SIGINT) */
    GKA_ENUMERIC = 10 /* a numerical event that the caller asked to treat as an error */
} gka_status_t;

/* Short fixed description of a status code. */
const char *gka_strerror(gka_status_t status);

/* Record an error for this thread and return `status` (so callers can write
 * `return gka_error(GKA_EINVAL, "...", ...)`). */
gka_status_t gka_error(gka_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Message of the last error recorded on this thread ("" if none). */
const char *gka_error_message(void);

/* Forget the last error on this thread. */
void gka_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
