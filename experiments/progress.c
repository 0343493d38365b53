/* A progress bar on a terminal: figure, step, fraction done, elapsed time and
 * an estimate of the time left. Nothing is printed unless the caller enabled
 * it and the stream is a terminal, so redirected output and CSVs stay clean. */
#define _POSIX_C_SOURCE 200809L
#include "gka_figure.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double gka_wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gka_progress_start(gka_progress_t *p, FILE *out, int quiet, const char *figure, long total) {
    gka_progress_start_after(p, out, quiet, figure, total, 0.0);
}

void gka_progress_start_after(gka_progress_t *p, FILE *out, int quiet, const char *figure,
                              long total, double delay) {
    memset(p, 0, sizeof *p);
    p->delay = delay;
    p->out = (!quiet && out && isatty(fileno(out))) ? out : NULL;
    snprintf(p->figure, sizeof p->figure, "%s", figure ? figure : "");
    p->total = total > 0 ? total : 1;
    p->t0 = p->last = gka_wall_seconds();
}

void gka_progress_step(gka_progress_t *p, const char *step) {
    if (!p || !p->out) return;
    snprintf(p->step, sizeof p->step, "%s", step ? step : "");
}

static void draw(gka_progress_t *p, long done, double now) {
    enum { WIDTH = 24 };
    double frac = (double)done / (double)p->total;
    if (frac > 1.0) frac = 1.0;
    double elapsed = now - p->t0;
    char bar[WIDTH + 1];
    int fill = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    char eta[32] = "?";
    if (frac > 0.0) snprintf(eta, sizeof eta, "%.0fs", elapsed * (1.0 - frac) / frac);
    fprintf(p->out, "\r%-14s %-22.22s [%s] %3.0f%%  %6.1fs  left ~%s\033[K", p->figure, p->step,
            bar, 100.0 * frac, elapsed, eta);
    fflush(p->out);
}

void gka_progress_advance(gka_progress_t *p, long n) {
    if (!p) return;
    long done = __atomic_add_fetch(&p->done, n, __ATOMIC_RELAXED);
    if (!p->out) return;
    /* One drawing thread at a time; others skip rather than wait. */
    if (__atomic_exchange_n(&p->busy, 1, __ATOMIC_ACQUIRE)) return;
    double now = gka_wall_seconds();
    if (now - p->t0 >= p->delay && (now - p->last >= 0.1 || done >= p->total)) {
        p->last = now;
        p->drawn = 1;
        draw(p, done, now);
    }
    __atomic_store_n(&p->busy, 0, __ATOMIC_RELEASE);
}

void gka_progress_finish(gka_progress_t *p) {
    if (!p || !p->out || (p->delay > 0.0 && !p->drawn)) return;
    fprintf(p->out, "\r\033[K");
    fflush(p->out);
}
