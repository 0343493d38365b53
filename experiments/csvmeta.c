/* CSV files with `# key: value` metadata lines first: what produced the data
 * (version, commit, compiler, flags, date, seed, tier, parameters) travels
 * with it. */
#define _POSIX_C_SOURCE 200809L
#include "gka_config.h"
#include "gka_figure.h"
#include "gka_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gka_strbuf_init(gka_strbuf_t *b) {
    b->data = NULL;
    b->len = b->cap = 0;
    b->status = GKA_OK;
}

void gka_strbuf_free(gka_strbuf_t *b) {
    free(b->data);
    gka_strbuf_init(b);
}

static int strbuf_reserve(gka_strbuf_t *b, size_t extra) {
    if (b->status != GKA_OK) return 0;
    if (b->len + extra + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->status = GKA_ENOMEM;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void gka_strbuf_append(gka_strbuf_t *b, const char *s, size_t n) {
    if (!strbuf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void gka_strbuf_vprintf(gka_strbuf_t *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->status = GKA_EINVAL;
        return;
    }
    if (!strbuf_reserve(b, (size_t)n)) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void gka_strbuf_printf(gka_strbuf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gka_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void gka_csv_init(gka_csv_t *c) {
    gka_strbuf_init(&c->meta);
    gka_strbuf_init(&c->body);
    c->ncols = 0;
}

void gka_csv_free(gka_csv_t *c) {
    gka_strbuf_free(&c->meta);
    gka_strbuf_free(&c->body);
    c->ncols = 0;
}

void gka_csv_meta(gka_csv_t *c, const char *key, const char *fmt, ...) {
    gka_strbuf_t v;
    gka_strbuf_init(&v);
    va_list ap;
    va_start(ap, fmt);
    gka_strbuf_vprintf(&v, fmt, ap);
    va_end(ap);
    if (v.status != GKA_OK) {
        c->meta.status = v.status;
        gka_strbuf_free(&v);
        return;
    }
    /* A metadata value is one line: cut at the first line break. */
    size_t n = v.data ? strcspn(v.data, "\r\n") : 0;
    gka_strbuf_printf(&c->meta, "# %s: ", key);
    gka_strbuf_append(&c->meta, v.data ? v.data : "", n);
    gka_strbuf_append(&c->meta, "\n", 1);
    gka_strbuf_free(&v);
}

void gka_csv_header(gka_csv_t *c, const char *names) {
    int n = 1;
    for (const char *p = names; *p; p++)
        n += (*p == ',');
    c->ncols = n;
    gka_strbuf_printf(&c->body, "%s\n", names);
}

void gka_csv_row(gka_csv_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gka_strbuf_vprintf(&c->body, fmt, ap);
    va_end(ap);
    gka_strbuf_append(&c->body, "\n", 1);
}

void gka_csv_append_rows(gka_csv_t *c, const gka_strbuf_t *rows) {
    if (rows->status != GKA_OK) {
        c->body.status = rows->status;
        return;
    }
    if (rows->len) gka_strbuf_append(&c->body, rows->data, rows->len);
}

/* UTC date of the run, or of SOURCE_DATE_EPOCH when set (reproducible output). */
static void utc_date(char *buf, size_t size) {
    time_t now = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (!*end && errno == 0 && v >= 0) now = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void gka_csv_standard_meta(gka_csv_t *c, const char *figure, const char *description,
                           const gka_figure_opts_t *opts) {
    char date[64], fmts[64];
    utc_date(date, sizeof date);
    gka_csv_meta(c, "figure", "%s", figure);
    gka_csv_meta(c, "description", "%s", description);
    gka_csv_meta(c, "gka_version", "%s", GKA_VERSION);
    gka_csv_meta(c, "git_commit", "%s", GKA_GIT_COMMIT);
    gka_csv_meta(c, "compiler", "%s", GKA_C_COMPILER);
    gka_csv_meta(c, "c_flags", "%s", GKA_C_FLAGS);
    gka_csv_meta(c, "build_type", "%s", GKA_BUILD_TYPE);
    gka_csv_meta(c, "date_utc", "%s", date);
    gka_csv_meta(c, "seed", "%llu", (unsigned long long)opts->seed);
    gka_csv_meta(c, "tier", "%s", gka_tier_name(opts->tier));
    gka_csv_meta(c, "formats", "%s", gka_formats_string(opts->formats, fmts, sizeof fmts));
}

gka_status_t gka_csv_write(const gka_csv_t *c, const char *path) {
    if (c->meta.status != GKA_OK || c->body.status != GKA_OK)
        return gka_error(GKA_ENOMEM, "%s: out of memory while building the CSV", path);
    if (c->ncols == 0) return gka_error(GKA_EINVAL, "%s: CSV has no header", path);
    gka_outfile_t f;
    gka_status_t st = gka_outfile_open(&f, path);
    if (st != GKA_OK) return st;
    if (c->meta.len) fwrite(c->meta.data, 1, c->meta.len, f.fp);
    if (c->body.len) fwrite(c->body.data, 1, c->body.len, f.fp);
    return gka_outfile_commit(&f);
}
