#include "gka_error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[512];

const char *gka_strerror(gka_status_t status) {
    switch (status) {
    case GKA_OK:
        return "success";
    case GKA_EINVAL:
        return "invalid argument";
    case GKA_ENOMEM:
        return "out of memory";
    case GKA_EIO:
        return "input/output error";
    case GKA_EFORMAT:
        return "malformed input";
    case GKA_ERANGE:
        return "value or size out of range";
    case GKA_ENODATA:
        return "non-finite input data";
    case GKA_EUNSUP:
        return "not available in this build";
    case GKA_EDEVICE:
        return "GPU device error";
    case GKA_EINTR:
        return "interrupted";
    case GKA_ENUMERIC:
        return "numerical failure";
    }
    return "unknown error";
}

gka_status_t gka_error(gka_status_t status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return status;
}

const char *gka_error_message(void) {
    return last_message;
}

void gka_error_clear(void) {
    last_message[0] = '\0';
}
