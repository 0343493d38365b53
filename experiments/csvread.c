/* Reading a gka CSV back: one header, `# key: value` lines (after the header,
 * where gka writes them, or before it, as older files have them), rows of
 * comma-separated cells (no quoting: gka's CSVs never need it). */
#define _POSIX_C_SOURCE 200809L
#include "gka_figure.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int push(char ***arr, size_t *n, size_t *cap, char *s) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **p = realloc(*arr, c * sizeof *p);
        if (!p) return 0;
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = s;
    return 1;
}

static void chomp(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Split a line at commas into strdup'ed cells appended to arr. */
static long split(char *line, char ***arr, size_t *n, size_t *cap) {
    long count = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        char *cell = strdup(p);
        if (!cell || !push(arr, n, cap, cell)) {
            free(cell);
            return -1;
        }
        count++;
        if (!comma) break;
        p = comma + 1;
    }
    return count;
}

static gka_status_t read_meta(gka_csv_doc_t *doc, const char *line, size_t *cap_k, size_t *cap_v) {
    const char *colon = strstr(line, ": ");
    if (!colon) return GKA_OK; /* a plain comment */
    char *key = strndup(line + 2, (size_t)(colon - line - 2));
    char *val = strdup(colon + 2);
    size_t nk = doc->nmeta;
    if (!key || !val || !push(&doc->meta_key, &nk, cap_k, key) ||
        !push(&doc->meta_value, &doc->nmeta, cap_v, val)) {
        free(key);
        free(val);
        return GKA_ENOMEM;
    }
    return GKA_OK;
}

gka_status_t gka_csv_read(const char *path, gka_csv_doc_t *doc) {
    memset(doc, 0, sizeof *doc);
    FILE *fp = fopen(path, "r");
    if (!fp) return gka_error(GKA_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap_k = 0, cap_v = 0, cap_c = 0, cap_cells = 0, ncells = 0;
    char *line = NULL;
    size_t linecap = 0;
    gka_status_t st = GKA_OK;
    size_t lineno = 0;
    while (st == GKA_OK && getline(&line, &linecap, fp) >= 0) {
        lineno++;
        chomp(line);
        if (line[0] == '#') {
            if (read_meta(doc, line, &cap_k, &cap_v) != GKA_OK)
                st = gka_error(GKA_ENOMEM, "%s: out of memory", path);
            continue;
        }
        if (!line[0]) continue;
        if (!doc->ncols) {
            size_t n = 0;
            long k = split(line, &doc->col, &n, &cap_c);
            if (k < 0) st = gka_error(GKA_ENOMEM, "%s: out of memory", path);
            doc->ncols = n;
            continue;
        }
        long k = split(line, &doc->cells, &ncells, &cap_cells);
        if (k < 0)
            st = gka_error(GKA_ENOMEM, "%s: out of memory", path);
        else if ((size_t)k != doc->ncols)
            st = gka_error(GKA_EFORMAT, "%s:%zu: %ld cells, header has %zu", path, lineno, k,
                           doc->ncols);
        else
            doc->nrows++;
    }
    free(line);
    fclose(fp);
    if (st == GKA_OK && !doc->ncols) st = gka_error(GKA_EFORMAT, "%s: no header line", path);
    if (st != GKA_OK) {
        /* cells beyond nrows*ncols belong to a rejected row */
        doc->nrows = ncells / (doc->ncols ? doc->ncols : 1);
        size_t keep = doc->nrows * doc->ncols;
        for (size_t i = keep; i < ncells; i++)
            free(doc->cells[i]);
        gka_csv_doc_free(doc);
    }
    return st;
}

void gka_csv_doc_free(gka_csv_doc_t *doc) {
    for (size_t i = 0; i < doc->nmeta; i++) {
        free(doc->meta_key[i]);
        free(doc->meta_value[i]);
    }
    for (size_t i = 0; i < doc->ncols; i++)
        free(doc->col[i]);
    for (size_t i = 0; i < doc->nrows * doc->ncols; i++)
        free(doc->cells[i]);
    free(doc->meta_key);
    free(doc->meta_value);
    free(doc->col);
    free(doc->cells);
    memset(doc, 0, sizeof *doc);
}

const char *gka_csv_doc_meta(const gka_csv_doc_t *doc, const char *key) {
    for (size_t i = 0; i < doc->nmeta; i++)
        if (!strcmp(doc->meta_key[i], key)) return doc->meta_value[i];
    return NULL;
}

long gka_csv_doc_column(const gka_csv_doc_t *doc, const char *name) {
    for (size_t i = 0; i < doc->ncols; i++)
        if (!strcmp(doc->col[i], name)) return (long)i;
    return -1;
}

const char *gka_csv_doc_cell(const gka_csv_doc_t *doc, size_t row, size_t col) {
    if (row >= doc->nrows || col >= doc->ncols) return NULL;
    return doc->cells[row * doc->ncols + col];
}

double gka_csv_doc_num(const gka_csv_doc_t *doc, size_t row, size_t col) {
    const char *s = gka_csv_doc_cell(doc, row, col);
    if (!s || !*s) return (double)NAN;
    char *end = NULL;
    double v = strtod(s, &end);
    return *end ? (double)NAN : v;
}
