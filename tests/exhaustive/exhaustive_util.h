/* Small helpers shared by the exhaustive sweeps (tests/exhaustive/test_*.c). */
#ifndef GKA_EXHAUSTIVE_UTIL_H
#define GKA_EXHAUSTIVE_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 1 when `name` is an item of the comma list in environment variable `env`,
 * or when that variable is unset or empty (run everything). */
static inline int exhaustive_env_selects(const char *env, const char *name) {
    const char *sel = getenv(env);
    if (!sel || !*sel) return 1;
    const size_t n = strlen(name);
    for (const char *p = strstr(sel, name); p; p = strstr(p + 1, name))
        if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

/* Monotonic wall clock in seconds, for the progress lines. */
static inline double exhaustive_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
