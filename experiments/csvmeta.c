/* CSV files with provenance: every CSV gka writes has the same layout
 *
 *     t,err,res,...                    the header: the first line
 *     # gka_version: 0.1.0             provenance, the same keys in every file
 *     # git_commit: ...                (gka_csv_write_head)
 *     # ...
 *     # D: 64                          the producer's parameters (gka_csv_meta)
 *     0,1.2345678901234567e-05,...     rows
 *
 * The header comes first so that numpy.genfromtxt(names=True, comments='#')
 * reads the names from it (it takes the first line, stripped of any '#'),
 * and pandas.read_csv(comment='#') and gnuplot skip the '#' lines. A key
 * appears once per file (checked when the file is written); numbers are
 * written with %.17g so that doubles round-trip exactly. */
#define _POSIX_C_SOURCE 200809L
#include "gka_config.h"
#include "gka_git_commit.h"
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

/* ---- provenance ------------------------------------------------------------ */

static char command_line[4096];

/* An argument as a POSIX shell would need it: bare if it is made of safe
 * characters, else in single quotes ('\'' for a quote). Line breaks become
 * the two characters \n so that the value stays on one line. */
static void append_arg(gka_strbuf_t *b, const char *arg) {
    int bare = *arg != '\0';
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+.,/:@%", *p))
            bare = 0;
    if (bare) {
        gka_strbuf_append(b, arg, strlen(arg));
        return;
    }
    gka_strbuf_append(b, "'", 1);
    for (const char *p = arg; *p; p++) {
        if (*p == '\'')
            gka_strbuf_append(b, "'\\''", 4);
        else if (*p == '\n' || *p == '\r')
            gka_strbuf_append(b, *p == '\n' ? "\\n" : "\\r", 2);
        else
            gka_strbuf_append(b, p, 1);
    }
    gka_strbuf_append(b, "'", 1);
}

void gka_csv_set_command_line(int argc, char *const *argv) {
    gka_strbuf_t b;
    gka_strbuf_init(&b);
    for (int i = 0; i < argc; i++) {
        if (i) gka_strbuf_append(&b, " ", 1);
        append_arg(&b, argv[i] ? argv[i] : "");
    }
    snprintf(command_line, sizeof command_line, "%s", b.data ? b.data : "");
    gka_strbuf_free(&b);
}

/* The last second of 9999: four-digit years, as the date format has. */
#define GKA_DATE_EPOCH_MAX 253402300799LL

gka_status_t gka_csv_date(char *buf, size_t size) {
    time_t now = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (*sde < '0' || *sde > '9' || *end || errno == ERANGE || v < 0 || v > GKA_DATE_EPOCH_MAX)
            return gka_error(GKA_EINVAL,
                             "SOURCE_DATE_EPOCH='%.40s' is not a date: it must be whole seconds "
                             "since 1970-01-01 UTC, 0 .. %lld (the end of year 9999)",
                             sde, GKA_DATE_EPOCH_MAX);
        now = (time_t)v;
    }
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return gka_error(GKA_ERANGE, "the date %lld cannot be written", (long long)now);
    return GKA_OK;
}

/* Provenance lines into b: what produced the file. */
static void provenance(gka_strbuf_t *b, const char *date) {
    gka_strbuf_printf(b, "# gka_version: %s\n", GKA_VERSION);
    gka_strbuf_printf(b, "# git_commit: %s\n", GKA_GIT_COMMIT);
    gka_strbuf_printf(b, "# compiler: %s\n", GKA_C_COMPILER);
    gka_strbuf_printf(b, "# c_flags: %s\n", GKA_C_FLAGS);
    gka_strbuf_printf(b, "# build_type: %s\n", GKA_BUILD_TYPE);
    gka_strbuf_printf(b, "# command_line: %s\n", command_line);
    gka_strbuf_printf(b, "# date_utc: %s\n", date);
}

/* The first key that appears twice among the "# key: value" lines of text
 * (copied into dup), or 0. */
static int duplicate_key(const char *text, char *dup, size_t size) {
    for (const char *a = text; a && *a; a = strchr(a, '\n'), a = a ? a + 1 : NULL) {
        const char *colon = strstr(a, ": ");
        const char *eol = strchr(a, '\n');
        if (strncmp(a, "# ", 2) || !colon || (eol && colon > eol)) continue;
        size_t n = (size_t)(colon - a) + 2; /* "# key: " */
        for (const char *b = eol ? eol + 1 : NULL; b && *b;
             b = strchr(b, '\n'), b = b ? b + 1 : NULL)
            if (!strncmp(a, b, n)) {
                snprintf(dup, size, "%.*s", (int)(n - 4), a + 2);
                return 1;
            }
    }
    return 0;
}

gka_status_t gka_csv_write_head(FILE *fp, const char *path, const char *header,
                                const gka_csv_t *meta) {
    char date[64], dup[128];
    gka_status_t st = gka_csv_date(date, sizeof date);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", gka_error_message());
        return gka_error(st, "%s: %s", path, why);
    }
    if (meta && meta->meta.status != GKA_OK)
        return gka_error(GKA_ENOMEM, "%s: out of memory while building the CSV", path);
    gka_strbuf_t b;
    gka_strbuf_init(&b);
    gka_strbuf_printf(&b, "%s\n", header);
    provenance(&b, date);
    if (meta && meta->meta.len) gka_strbuf_append(&b, meta->meta.data, meta->meta.len);
    if (b.status == GKA_OK && duplicate_key(b.data, dup, sizeof dup))
        st = gka_error(GKA_EINVAL, "%s: metadata key '%s' given twice", path, dup);
    else if (b.status != GKA_OK)
        st = gka_error(GKA_ENOMEM, "%s: out of memory while building the CSV", path);
    else if (fwrite(b.data, 1, b.len, fp) != b.len)
        st = gka_error(GKA_EIO, "%s: write failed: %s", path, strerror(errno));
    gka_strbuf_free(&b);
    return st;
}

void gka_csv_standard_meta(gka_csv_t *c, const char *figure, const char *description,
                           const gka_figure_opts_t *opts) {
    char fmts[64];
    gka_csv_meta(c, "command", "figure");
    gka_csv_meta(c, "figure", "%s", figure);
    gka_csv_meta(c, "description", "%s", description);
    gka_csv_meta(c, "seed", "%llu", (unsigned long long)opts->seed);
    gka_csv_meta(c, "tier", "%s", gka_tier_name(opts->tier));
    gka_csv_meta(c, "image_formats", "%s", gka_formats_string(opts->formats, fmts, sizeof fmts));
}

gka_status_t gka_csv_put(const gka_csv_t *c, gka_outfile_t *f) {
    const char *path = f->path;
    if (c->meta.status != GKA_OK || c->body.status != GKA_OK)
        return gka_error(GKA_ENOMEM, "%s: out of memory while building the CSV", path);
    if (c->ncols == 0 || !c->body.data) return gka_error(GKA_EINVAL, "%s: CSV has no header", path);
    /* the body starts with the header line; the provenance goes after it */
    const char *eol = strchr(c->body.data, '\n');
    size_t hlen = eol ? (size_t)(eol - c->body.data) : c->body.len;
    char *header = strndup(c->body.data, hlen);
    if (!header) return gka_error(GKA_ENOMEM, "%s: out of memory", path);
    gka_status_t st = gka_csv_write_head(f->fp, path, header, c);
    free(header);
    if (st != GKA_OK) return st;
    size_t rest = eol ? c->body.len - hlen - 1 : 0;
    if (rest) fwrite(eol + 1, 1, rest, f->fp);
    return GKA_OK;
}

gka_status_t gka_csv_write(const gka_csv_t *c, const char *path) {
    gka_outfile_t f;
    gka_status_t st = gka_outfile_open(&f, path);
    if (st == GKA_OK) st = gka_csv_put(c, &f);
    if (st != GKA_OK) {
        gka_outfile_abort(&f);
        return st;
    }
    return gka_outfile_commit(&f);
}
