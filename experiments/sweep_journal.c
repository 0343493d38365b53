/* gka sweep: results by cell, the journal that makes runs resumable, and the
 * final outputs. */
#define _XOPEN_SOURCE 700
#include "gka_sweep.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
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

gka_status_t gka_sweep_results_put(gka_sweep_results_t *res, const gka_sweep_grid_t *g,
                                   char *block) {
    long cell;
    int ok;
    gka_status_t st = gka_sweep_block_parse(block, strlen(block), &cell, &ok);
    if (st == GKA_OK && (cell < 0 || cell >= res->ncells))
        st = gka_error(GKA_EFORMAT, "sweep: result for cell %ld outside the grid", cell);
    if (st == GKA_OK) st = gka_sweep_block_check(g, block, strlen(block), cell);
    if (st != GKA_OK) {
        free(block);
        return st;
    }
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

/* CRC-32 (IEEE 802.3, the polynomial of zlib and gzip: python's zlib.crc32
 * gives the same numbers), bit by bit: journals are read once per run. */
uint32_t gka_sweep_crc32(const void *data, size_t n) {
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static int journal_header(char *buf, size_t n, const gka_sweep_grid_t *g) {
    return snprintf(buf, n, "# gka sweep journal v2 grid %016" PRIx64 " cells %ld\n", g->hash,
                    g->ncells);
}

static void report(gka_sweep_damage_fn on_damage, void *ctx, long cell, const char *why) {
    if (on_damage) on_damage(ctx, cell, why);
}

/* The first line, or why it is not this grid's journal header. */
static gka_status_t check_header(const char *path, const char *text, size_t len,
                                 const gka_sweep_grid_t *g, size_t *hlen) {
    char expect[128], got[32] = "";
    journal_header(expect, sizeof expect, g);
    const char *nl = memchr(text, '\n', len);
    size_t n = nl ? (size_t)(nl - text) + 1 : len;
    *hlen = n;
    if (n == strlen(expect) && !memcmp(text, expect, n)) return GKA_OK;
    if (nl && nl > text && nl[-1] == '\r')
        return gka_error(GKA_EINVAL,
                         "%s: journal has CRLF line ends (edited or copied as text?); remove it "
                         "or run without --resume",
                         path);
    if (n >= 25 && !memcmp(text, "# gka sweep journal v1 ", 23))
        return gka_error(GKA_EINVAL,
                         "%s: journal of an older gka (format v1, without checksums); remove it "
                         "or run without --resume",
                         path);
    if (sscanf(text, "# gka sweep journal v2 grid %16[0-9a-f]", got) == 1)
        return gka_error(GKA_EINVAL,
                         "%s: journal of another grid (journal grid %s, this grid %016" PRIx64
                         "); remove it or run without --resume",
                         path, got, g->hash);
    return gka_error(GKA_EINVAL,
                     "%s: not a gka sweep journal (first line is not '# gka sweep journal v2 "
                     "...'); remove it or run without --resume",
                     path);
}

/* Start of the next block header after `from`, or len. */
static size_t next_block(const char *text, size_t len, size_t from) {
    for (size_t i = from; i + 7 <= len; i++)
        if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, "@block ", 7)) return i;
    return len;
}

/* One "@block CELL GRID LEN CRC" entry at pos; on success the block is
 * stored in res and *next is the position after it. Otherwise *why says what
 * is wrong, *cell is the cell id when the header could be read (else -1),
 * and *next is where reading resumes. */
static int read_block(const char *text, size_t len, size_t pos, const gka_sweep_grid_t *g,
                      gka_sweep_results_t *res, long *cell, size_t *next, char *why, size_t nwhy) {
    long id = -1;
    char grid[17] = "";
    unsigned long long blen = 0;
    unsigned crc = 0;
    int used = 0;
    *cell = -1;
    *next = next_block(text, len, pos + 1);
    const char *nl = memchr(text + pos, '\n', len - pos);
    char line[128];
    size_t ln = nl ? (size_t)(nl - (text + pos)) : len - pos;
    snprintf(line, sizeof line, "%.*s", (int)(ln < sizeof line ? ln : sizeof line - 1), text + pos);
    if (!nl ||
        sscanf(line, "@block %ld %16[0-9a-f] %llu %8x%n", &id, grid, &blen, &crc, &used) != 4 ||
        (size_t)used != ln) {
        snprintf(why, nwhy, "unreadable block header at byte %zu", pos);
        return 0;
    }
    *cell = id;
    char want[17];
    snprintf(want, sizeof want, "%016" PRIx64, g->hash);
    if (strcmp(grid, want) != 0) {
        snprintf(why, nwhy, "block of another grid (%s)", grid);
        return 0;
    }
    if (id < 0 || id >= g->ncells) {
        snprintf(why, nwhy, "cell id outside the grid of %ld cells", g->ncells);
        return 0;
    }
    const size_t body = pos + ln + 1;
    if (blen > len - body) {
        snprintf(why, nwhy, "block cut short (%llu bytes announced, %zu present)", blen,
                 len - body);
        return 0;
    }
    if (gka_sweep_crc32(text + body, (size_t)blen) != crc) {
        snprintf(why, nwhy, "checksum mismatch (the block was altered)");
        return 0;
    }
    if (gka_sweep_block_check(g, text + body, (size_t)blen, id) != GKA_OK) {
        snprintf(why, nwhy, "%s", gka_error_message());
        return 0;
    }
    long got_id;
    int ok = 0;
    gka_sweep_block_parse(text + body, (size_t)blen, &got_id, &ok);
    *next = body + (size_t)blen;
    if (!ok) return 1; /* a failed cell is simply run again */
    char *b = malloc((size_t)blen + 1);
    if (!b) {
        snprintf(why, nwhy, "out of memory");
        return 0;
    }
    memcpy(b, text + body, (size_t)blen);
    b[blen] = '\0';
    free(res->block[id]);
    res->block[id] = b;
    return 1;
}

gka_status_t gka_sweep_journal_parse(const char *text, size_t len, const char *path,
                                     const gka_sweep_grid_t *g, gka_sweep_results_t *res,
                                     gka_sweep_damage_fn on_damage, void *ctx) {
    if (len == 0) return GKA_OK; /* created by a run that finished no cell */
    size_t pos;
    gka_status_t st = check_header(path, text, len, g, &pos);
    if (st != GKA_OK) return st;
    while (pos < len) {
        long cell;
        size_t next;
        char why[256];
        if (!read_block(text, len, pos, g, res, &cell, &next, why, sizeof why))
            report(on_damage, ctx, cell, why);
        pos = next;
    }
    return GKA_OK;
}

gka_status_t gka_sweep_journal_open(gka_sweep_journal_t *j, const char *path,
                                    const gka_sweep_grid_t *g, int resume, gka_sweep_results_t *res,
                                    gka_sweep_damage_fn on_damage, void *ctx) {
    j->fd = -1;
    if (snprintf(j->path, sizeof j->path, "%s", path) >= (int)sizeof j->path)
        return gka_error(GKA_EINVAL, "%s: path too long", path);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return gka_error(GKA_EIO, "%s: cannot open journal: %s", path, strerror(errno));
    struct stat sb;
    gka_status_t st = GKA_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = gka_error(GKA_EINVAL, "%s: journal is not a regular file", path);
    if (st == GKA_OK) st = gka_lock_fd(fd, path);
    if (st == GKA_OK && resume && (uint64_t)sb.st_size > (uint64_t)GKA_SWEEP_JOURNAL_MAX)
        st = gka_error(GKA_ERANGE, "%s: journal larger than the limit of %zu bytes", path,
                       (size_t)GKA_SWEEP_JOURNAL_MAX);
    if (st == GKA_OK && resume) {
        size_t n = (size_t)sb.st_size, got = 0;
        char *text = malloc(n + 1);
        if (!text) st = gka_error(GKA_ENOMEM, "%s: cannot allocate %zu bytes", path, n);
        while (st == GKA_OK && got < n) {
            ssize_t r = pread(fd, text + got, n - got, (off_t)got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                st = gka_error(GKA_EIO, "%s: read error: %s", path, r ? strerror(errno) : "EOF");
                break;
            }
            got += (size_t)r;
        }
        if (st == GKA_OK) st = gka_sweep_journal_parse(text, n, path, g, res, on_damage, ctx);
        free(text);
    }
    if (st == GKA_OK && !resume && ftruncate(fd, 0) != 0)
        st = gka_error(GKA_EIO, "%s: cannot empty the old journal: %s", path, strerror(errno));
    if (st != GKA_OK) {
        close(fd);
        return st;
    }
    j->fd = fd;
    /* A journal written by other means (damaged, another version) was refused
     * above; from here on it is this grid's: rewrite the header if missing. */
    if (lseek(fd, 0, SEEK_END) == 0) {
        char h[128];
        int hn = journal_header(h, sizeof h, g);
        if (write(fd, h, (size_t)hn) != hn) {
            gka_sweep_journal_close(j);
            return gka_error(GKA_EIO, "%s: cannot write journal: %s", path, strerror(errno));
        }
    }
    return GKA_OK;
}

gka_status_t gka_sweep_journal_append(gka_sweep_journal_t *j, const gka_sweep_grid_t *g,
                                      const char *block) {
    const size_t n = strlen(block);
    long cell;
    int ok;
    if (gka_sweep_block_parse(block, n, &cell, &ok) != GKA_OK) return GKA_EFORMAT;
    char head[128];
    int hn = snprintf(head, sizeof head, "@block %ld %016" PRIx64 " %zu %08x\n", cell, g->hash, n,
                      (unsigned)gka_sweep_crc32(block, n));
    /* One write of header and block (O_APPEND): an interruption leaves a
     * block cut short, which the next --resume reports and runs again. */
    char *buf = malloc((size_t)hn + n);
    if (!buf) return gka_error(GKA_ENOMEM, "%s: out of memory", j->path);
    memcpy(buf, head, (size_t)hn);
    memcpy(buf + hn, block, n);
    size_t done = 0, total = (size_t)hn + n;
    while (done < total) {
        ssize_t w = write(j->fd, buf + done, total - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int e = errno;
    free(buf);
    if (done < total)
        return gka_error(GKA_EIO, "%s: cannot write journal: %s", j->path, strerror(e));
    if (fsync(j->fd) != 0)
        return gka_error(GKA_EIO, "%s: cannot sync journal: %s", j->path, strerror(errno));
    return GKA_OK;
}

void gka_sweep_journal_close(gka_sweep_journal_t *j) {
    if (j->fd >= 0) close(j->fd);
    j->fd = -1;
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

/* Split a (checked) block into its summary line and its row lines. */
static void block_parts(const char *block, const char **summary, size_t *slen, const char **rows,
                        size_t *rlen) {
    const char *end = block + strlen(block);
    const char *l1 = strchr(block, '\n');
    l1 = l1 ? l1 + 1 : end; /* after "@cell" */
    const char *l2 = strchr(l1, '\n');
    l2 = l2 ? l2 + 1 : end; /* after the summary */
    const char *last = end > l2 ? end - 1 : l2;
    while (last > l2 && last[-1] != '\n')
        last--; /* start of "@end" */
    *summary = l1;
    *slen = (size_t)(l2 - l1);
    *rows = l2;
    *rlen = (size_t)(last - l2);
}

/* Rows and summary committed together: both or neither. */
static gka_status_t write_pair(const gka_csv_t *rows, const char *out, const gka_csv_t *sums,
                               const char *sum_path) {
    gka_outfile_t fr, fs;
    gka_status_t st = gka_outfile_open(&fr, out);
    if (st != GKA_OK) return st;
    if ((st = gka_outfile_open(&fs, sum_path)) == GKA_OK && (st = gka_csv_put(rows, &fr)) == GKA_OK)
        st = gka_csv_put(sums, &fs);
    if (st != GKA_OK) {
        gka_outfile_abort(&fr);
        gka_outfile_abort(&fs);
        return st;
    }
    gka_outfile_t *both[2] = {&fr, &fs};
    return gka_outfile_commit_all(both, 2);
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
    gka_status_t st = write_pair(&rows, out, &sums, path);
    gka_csv_free(&rows);
    gka_csv_free(&sums);
    return st;
}
