/* gka sweep: results by cell, the journal that makes runs resumable, and the
 * final outputs. */
#define _POSIX_C_SOURCE 200809L
#include "gka_sweep.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gka_config.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_io.h"

gka_status_t gka_sweep_results_init(gka_sweep_results_t *res, long ncells) {
    res->ncells = ncells;
    res->block = calloc((size_t)ncells, sizeof *res->block);
    if (!res->block) return gka_error(GKA_ENOMEM, "sweep: out of memory for %ld cells", ncells);
    return GKA_OK;
}

void gka_sweep_results_free(gka_sweep_results_t *res) {
    if (!res->block) return;
    for (long i = 0; i < res->ncells; i++)
        free(res->block[i]);
    free(res->block);
    res->block = NULL;
}

gka_status_t gka_sweep_results_put(gka_sweep_results_t *res, char *block) {
    long cell;
    int ok;
    gka_status_t st = gka_sweep_block_parse(block, strlen(block), &cell, &ok);
    if (st != GKA_OK) return st;
    if (cell < 0 || cell >= res->ncells)
        return gka_error(GKA_EFORMAT, "sweep: result for cell %ld outside the grid", cell);
    free(res->block[cell]);
    res->block[cell] = block;
    return GKA_OK;
}

static int block_ok(const char *block) {
    long cell;
    int ok = 0;
    return block && gka_sweep_block_parse(block, strlen(block), &cell, &ok) == GKA_OK && ok;
}

/* ---- journal -------------------------------------------------------------- */

static void journal_header(char *buf, size_t n, const gka_sweep_grid_t *g) {
    snprintf(buf, n, "# gka sweep journal v1 grid %016" PRIx64 " cells %ld\n", g->hash, g->ncells);
}

gka_status_t gka_sweep_journal_read(const char *path, const gka_sweep_grid_t *g,
                                    gka_sweep_results_t *res) {
    if (access(path, F_OK) != 0) return GKA_OK;
    unsigned char *data = NULL;
    size_t len = 0;
    gka_status_t st = gka_read_file(path, &data, &len);
    if (st != GKA_OK) return st;
    char expect[128];
    journal_header(expect, sizeof expect, g);
    const char *text = (const char *)data;
    size_t hlen = strlen(expect);
    if (len < hlen || memcmp(text, expect, hlen) != 0) {
        char got[128] = "";
        sscanf(text, "# gka sweep journal v1 grid %127s", got);
        free(data);
        return gka_error(GKA_EINVAL,
                         "%s: journal of another grid (journal grid %s, this grid %016" PRIx64
                         "); remove it or run without --resume",
                         path, got[0] ? got : "?", g->hash);
    }
    /* Blocks run from "@cell" to "@end" lines; a block cut short by a crash
     * (no @end before the next @cell or the end of file) is skipped. */
    size_t pos = hlen;
    while (pos < len) {
        size_t start = pos, end = pos;
        while (end < len) {
            const char *nl = memchr(text + end, '\n', len - end);
            size_t next = nl ? (size_t)(nl - text) + 1 : len;
            int is_end = !strncmp(text + end, "@end ", 5);
            int is_cell = end > start && !strncmp(text + end, "@cell ", 6);
            if (is_cell) break; /* truncated block: restart here */
            end = next;
            if (is_end) break;
        }
        long cell;
        int ok;
        if (gka_sweep_block_parse(text + start, end - start, &cell, &ok) == GKA_OK && ok &&
            cell >= 0 && cell < res->ncells) {
            char *b = malloc(end - start + 1);
            if (!b) {
                free(data);
                return gka_error(GKA_ENOMEM, "%s: out of memory", path);
            }
            memcpy(b, text + start, end - start);
            b[end - start] = '\0';
            free(res->block[cell]);
            res->block[cell] = b;
        }
        pos = end;
    }
    free(data);
    return GKA_OK;
}

gka_status_t gka_sweep_journal_append(const char *path, const gka_sweep_grid_t *g,
                                      const char *block) {
    FILE *f = fopen(path, "a");
    if (!f) return gka_error(GKA_EIO, "%s: cannot open journal: %s", path, strerror(errno));
    int bad = 0;
    if (ftell(f) == 0) {
        char h[128];
        journal_header(h, sizeof h, g);
        bad |= fputs(h, f) < 0;
    }
    bad |= fputs(block, f) < 0;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad) return gka_error(GKA_EIO, "%s: cannot write journal: %s", path, strerror(errno));
    return GKA_OK;
}

/* ---- outputs -------------------------------------------------------------- */

static void put_meta(gka_csv_t *csv, const char *grid_file, const gka_sweep_grid_t *g, long done,
                     long missing) {
    /* version, commit, compiler, flags, command line, date: gka_csv_write */
    gka_csv_meta(csv, "command", "sweep");
    gka_csv_meta(csv, "grid", "%s", grid_file);
    gka_csv_meta(csv, "grid_name", "%s", g->name);
    gka_csv_meta(csv, "grid_hash", "%016" PRIx64, g->hash);
    gka_csv_meta(csv, "every", "%ld", g->every);
    gka_csv_meta(csv, "kappa_every", "%ld", g->kappa_every);
    for (int a = 0; a < GKA_SWEEP_NAXES; a++) {
        gka_strbuf_t b;
        gka_strbuf_init(&b);
        for (size_t i = 0; i < g->axis[a].n; i++)
            gka_strbuf_printf(&b, "%s%s", i ? " | " : "", g->axis[a].value[i]);
        gka_csv_meta(csv, gka_sweep_axis_name(a), "%s", b.data ? b.data : "");
        gka_strbuf_free(&b);
    }
    gka_csv_meta(csv, "cells", "%ld", g->ncells);
    gka_csv_meta(csv, "cells_done", "%ld", done);
    gka_csv_meta(csv, "cells_missing", "%ld", missing);
}

/* The cells without a successful result, as "3 7 12 ..." (at most ~200). */
static void put_missing(gka_csv_t *csv, const gka_sweep_results_t *res) {
    gka_strbuf_t b;
    gka_strbuf_init(&b);
    long shown = 0, total = 0;
    for (long i = 0; i < res->ncells; i++)
        if (!block_ok(res->block[i])) {
            total++;
            if (shown++ < 200) gka_strbuf_printf(&b, "%s%ld", shown > 1 ? " " : "", i);
        }
    if (total > 200) gka_strbuf_printf(&b, " ... (%ld in all)", total);
    if (total) gka_csv_meta(csv, "missing", "%s", b.data);
    gka_strbuf_free(&b);
}

/* Split a block into its summary line and its row lines. */
static void block_parts(const char *block, const char **summary, size_t *slen, const char **rows,
                        size_t *rlen) {
    const char *l1 = strchr(block, '\n') + 1; /* after "@cell" */
    const char *l2 = strchr(l1, '\n') + 1;    /* after the summary */
    const char *last = block + strlen(block) - 1;
    while (last > l2 && last[-1] != '\n')
        last--;
    *summary = l1;
    *slen = (size_t)(l2 - l1);
    *rows = l2;
    *rlen = (size_t)(last - l2);
}

gka_status_t gka_sweep_write_outputs(const char *out, const char *grid_file,
                                     const gka_sweep_grid_t *g, const gka_sweep_results_t *res,
                                     long *missing) {
    gka_csv_t rows, sums;
    gka_csv_init(&rows);
    gka_csv_init(&sums);
    long done = 0;
    for (long i = 0; i < res->ncells; i++)
        done += block_ok(res->block[i]);
    *missing = g->ncells - done;
    put_meta(&rows, grid_file, g, done, *missing);
    put_meta(&sums, grid_file, g, done, *missing);
    put_missing(&rows, res);
    put_missing(&sums, res);
    gka_csv_header(&rows, gka_sweep_rows_header());
    gka_csv_header(&sums, gka_sweep_summary_header());
    for (long i = 0; i < res->ncells; i++) {
        if (!res->block[i]) continue;
        const char *s, *r;
        size_t sl, rl;
        block_parts(res->block[i], &s, &sl, &r, &rl);
        gka_strbuf_append(&sums.body, s, sl);
        gka_strbuf_append(&rows.body, r, rl);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s.summary.csv", out);
    gka_status_t st = gka_csv_write(&rows, out);
    if (st == GKA_OK) st = gka_csv_write(&sums, path);
    gka_csv_free(&rows);
    gka_csv_free(&sums);
    return st;
}
