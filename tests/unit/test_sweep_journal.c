/* The sweep journal (experiments/sweep_journal.c): every entry carries its
 * length, CRC-32, cell id and grid id and is checked on resume. Each hostile
 * journal of issue 14 (a two-line block, a NUL byte, an edited number, a
 * deleted or garbage row, a block with only its summary, an ok block whose
 * summary says failed, a block whose id differs from its rows, CRLF, an empty
 * journal) is built here from real blocks: the damaged cell is reported by
 * id and left to run again, the others are kept, nothing crashes. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_sweep.h"

static gka_sweep_grid_t grid;
static char *blocks[3];

static void setup(void) {
    const char *text = "D = 4\nT = 12\nevery = 4\nseed = [1, 2, 3]\n";
    cr_assert_eq(gka_sweep_grid_parse(text, "j.toml", &grid), GKA_OK, "%s", gka_error_message());
    for (long c = 0; c < 3; c++)
        cr_assert_eq(gka_sweep_run_cell(&grid, c, &blocks[c]), GKA_OK);
}

static void teardown(void) {
    for (int c = 0; c < 3; c++)
        free(blocks[c]);
}

TestSuite(sweep_journal, .init = setup, .fini = teardown);

typedef struct {
    char text[1 << 16];
    size_t n;
} jtext_t;

static void header(jtext_t *j) {
    j->n = (size_t)sprintf(j->text, "# gka sweep journal v2 grid %016" PRIx64 " cells %ld\n",
                           grid.hash, grid.ncells);
}

/* An entry with a correct length and CRC over `body` (which may be damaged:
 * only the content checks can catch it then). */
static void entry(jtext_t *j, long cell, const char *body, size_t len) {
    j->n += (size_t)sprintf(j->text + j->n, "@block %ld %016" PRIx64 " %zu %08x\n", cell, grid.hash,
                            len, (unsigned)gka_sweep_crc32(body, len));
    memcpy(j->text + j->n, body, len);
    j->n += len;
}

typedef struct {
    long cell[16];
    char why[16][256];
    int n;
} damage_t;

static void on_damage(void *ctx, long cell, const char *why) {
    damage_t *d = ctx;
    if (d->n < 16) {
        d->cell[d->n] = cell;
        snprintf(d->why[d->n], sizeof d->why[0], "%s", why);
        d->n++;
    }
}

/* Parse j; cell `bad` must be reported (once) and absent, the others kept. */
static void expect_only_bad(jtext_t *j, long bad, const char *why) {
    gka_sweep_results_t res;
    cr_assert_eq(gka_sweep_results_init(&res, grid.ncells), GKA_OK);
    damage_t d = {0};
    cr_assert_eq(gka_sweep_journal_parse(j->text, j->n, "j.journal", &grid, &res, on_damage, &d),
                 GKA_OK, "%s", gka_error_message());
    cr_assert_eq(d.n, 1, "%d damaged entries reported", d.n);
    cr_assert_eq(d.cell[0], bad, "reported cell %ld", d.cell[0]);
    cr_assert(strstr(d.why[0], why) != NULL, "reason '%s' lacks '%s'", d.why[0], why);
    for (long c = 0; c < 3; c++) {
        if (c == bad)
            cr_assert_null(res.block[c], "damaged cell %ld kept", c);
        else
            cr_assert_str_eq(res.block[c], blocks[c], "cell %ld lost or altered", c);
    }
    gka_sweep_results_free(&res);
}

/* Cells 0 and 2 intact, cell 1 replaced by `body`. */
static void with_cell1(jtext_t *j, const char *body, size_t len) {
    header(j);
    entry(j, 0, blocks[0], strlen(blocks[0]));
    entry(j, 1, body, len);
    entry(j, 2, blocks[2], strlen(blocks[2]));
}

Test(sweep_journal, crc32_is_zlibs) {
    cr_assert_eq(gka_sweep_crc32("123456789", 9), 0xCBF43926u);
    cr_assert_eq(gka_sweep_crc32("", 0), 0u);
}

Test(sweep_journal, intact_journal_is_read_whole) {
    static jtext_t j;
    with_cell1(&j, blocks[1], strlen(blocks[1]));
    gka_sweep_results_t res;
    gka_sweep_results_init(&res, grid.ncells);
    damage_t d = {0};
    cr_assert_eq(gka_sweep_journal_parse(j.text, j.n, "j", &grid, &res, on_damage, &d), GKA_OK);
    cr_assert_eq(d.n, 0);
    for (int c = 0; c < 3; c++)
        cr_assert_str_eq(res.block[c], blocks[c]);
    gka_sweep_results_free(&res);
}

Test(sweep_journal, two_line_block_is_rerun) {
    static jtext_t j;
    const char *b = "@cell 1 ok\n@end 1\n"; /* crashed the old reader (issue 14.1) */
    with_cell1(&j, b, strlen(b));
    expect_only_bad(&j, 1, "summary line");
}

Test(sweep_journal, nul_byte_is_rerun) {
    static jtext_t j;
    char b[4096];
    size_t n = strlen(blocks[1]);
    memcpy(b, blocks[1], n);
    b[20] = '\0'; /* issue 14.5: counted as journalled but missing, forever */
    with_cell1(&j, b, n);
    expect_only_bad(&j, 1, "");
}

Test(sweep_journal, edited_number_fails_the_checksum) {
    static jtext_t j;
    with_cell1(&j, blocks[1], strlen(blocks[1]));
    char *p = strstr(j.text + 200, ",ok,0.");
    cr_assert_not_null(p);
    p[5] = '7';
    expect_only_bad(&j, 1, "checksum");
}

Test(sweep_journal, deleted_and_garbage_rows_are_rerun) {
    static jtext_t j;
    char b[4096];
    /* drop the first row (valid checksum over the shortened block) */
    const char *s = strchr(strchr(blocks[1], '\n') + 1, '\n') + 1;
    const char *r = strchr(s, '\n') + 1;
    size_t head = (size_t)(s - blocks[1]);
    memcpy(b, blocks[1], head);
    strcpy(b + head, r);
    with_cell1(&j, b, strlen(b));
    expect_only_bad(&j, 1, "");
    /* a garbage row in place of the first */
    memcpy(b, blocks[1], head);
    strcpy(b + head, "garbage,1,2,3\n");
    strcat(b, r);
    with_cell1(&j, b, strlen(b));
    expect_only_bad(&j, 1, "row 1");
}

Test(sweep_journal, summary_only_and_failed_summary_are_rerun) {
    static jtext_t j;
    char b[4096];
    const char *s = strchr(blocks[1], '\n') + 1;
    const char *rows = strchr(s, '\n') + 1;
    size_t head = (size_t)(rows - blocks[1]);
    memcpy(b, blocks[1], head);
    strcpy(b + head, "@end 1\n");
    with_cell1(&j, b, strlen(b));
    expect_only_bad(&j, 1, "0 rows, expected 3");
    /* an ok block whose summary says failed */
    strcpy(b, blocks[1]);
    char *ok = strstr(b, ",ok,");
    cr_assert_not_null(ok);
    memmove(ok + 8, ok + 4, strlen(ok + 4) + 1);
    memcpy(ok, ",failed,", 8);
    with_cell1(&j, b, strlen(b));
    expect_only_bad(&j, 1, "summary line");
}

Test(sweep_journal, block_with_another_cells_rows_is_rerun) {
    static jtext_t j;
    /* cell 2's block filed under cell 1 ("cell 39 twice, cell 143 absent") */
    with_cell1(&j, blocks[2], strlen(blocks[2]));
    expect_only_bad(&j, 1, "says cell 2");
}

Test(sweep_journal, cut_short_entry_is_rerun) {
    static jtext_t j;
    header(&j);
    entry(&j, 0, blocks[0], strlen(blocks[0]));
    entry(&j, 2, blocks[2], strlen(blocks[2]));
    entry(&j, 1, blocks[1], strlen(blocks[1]));
    j.n -= 30; /* a crash mid-write */
    expect_only_bad(&j, 1, "cut short");
}

Test(sweep_journal, header_problems_are_named) {
    gka_sweep_results_t res;
    gka_sweep_results_init(&res, grid.ncells);
    cr_assert_eq(gka_sweep_journal_parse("", 0, "e.journal", &grid, &res, NULL, NULL), GKA_OK,
                 "an empty journal is an empty journal: %s", gka_error_message());
    static jtext_t j;
    header(&j);
    j.text[j.n - 1] = '\r';
    j.text[j.n++] = '\n';
    cr_assert_neq(gka_sweep_journal_parse(j.text, j.n, "c.journal", &grid, &res, NULL, NULL),
                  GKA_OK);
    cr_assert(strstr(gka_error_message(), "CRLF") != NULL, "%s", gka_error_message());
    const char *v1 = "# gka sweep journal v1 grid 0123456789abcdef cells 3\n";
    cr_assert_neq(gka_sweep_journal_parse(v1, strlen(v1), "o.journal", &grid, &res, NULL, NULL),
                  GKA_OK);
    cr_assert(strstr(gka_error_message(), "older gka") != NULL, "%s", gka_error_message());
    const char *other = "# gka sweep journal v2 grid 0123456789abcdef cells 3\n";
    cr_assert_neq(
        gka_sweep_journal_parse(other, strlen(other), "a.journal", &grid, &res, NULL, NULL),
        GKA_OK);
    cr_assert(strstr(gka_error_message(), "another grid (journal grid 0123456789abcdef") != NULL,
              "%s", gka_error_message());
    gka_sweep_results_free(&res);
}

Test(sweep_journal, results_refuse_malformed_blocks) {
    gka_sweep_results_t res;
    gka_sweep_results_init(&res, grid.ncells);
    cr_assert_neq(gka_sweep_results_put(&res, &grid, strdup("@cell 0 ok\n@end 0\n")), GKA_OK);
    cr_assert_null(res.block[0]);
    cr_assert_eq(gka_sweep_results_put(&res, &grid, strdup(blocks[0])), GKA_OK);
    gka_sweep_results_free(&res);
}
