/* Sweeps: a grid of configurations (solver x format x accumulation x ridge x
 * gate x keys x D x seed ...), expanded into cells, each cell one gka_run
 * over a synthetic stream.
 *
 * Grid file: a TOML 1.0 document (at most GKA_SWEEP_GRID_MAX bytes). Axes
 * and settings are keys at the top level or in the tables [axes] and
 * [settings]; a value is a string or an integer, an axis takes one value or
 * an array (multi-line, with comments, trailing comma) of distinct values:
 *
 *     name = "demo"
 *     [axes]
 *     solver = ["chebyshev", "cg", "kalman"]
 *     format = ["fp64", "bf16"]
 *     ridge  = ["adaptive:0.02", 'fixed:0.25']   # literal strings too
 *     D = [32, 64]
 *     T = 1_024
 *     seed = [1, 2]
 *     [settings]
 *     every = 64
 *
 * Axes (the last varying fastest): solver, variant, format, accum, mode,
 * ridge, keys, gate, beta, D, T, iters, chunk, seed. Settings: every (a row
 * every `every` tokens, and the last token), kappa_every (exact kappa every
 * k tokens; 0: never), name. accum and mode apply to emulated formats (fp64
 * cells ignore them). Refused before any cell runs (exit 2 in gka sweep),
 * with FILE:LINE:COL: a TOML syntax error, an unknown key or table, a key
 * given twice (also as D and axes.D), a value with a space or control
 * character, a value given twice in one axis, a float, boolean or date; and
 * naming the first cell concerned: any combination of values that gka_run or
 * the data generator would refuse (mpfr:0, a variant the solver lacks,
 * lowrank:R with R > D, a chunk form for a solver without one).
 * A cell's parameters follow from its index alone, so every MPI rank
 * expands the same grid and needs only indices.
 *
 * Output: OUT (one row per cell per reported token, the cell's parameters as
 * columns) and OUT.summary.csv (one row per cell), in cell order, written
 * together at the end (both or neither), and OUT.journal, to which each
 * finished cell is appended as it completes (the one file meant to survive
 * an interruption); `--resume` skips the cells the journal holds intact. */
#ifndef GKA_SWEEP_H
#define GKA_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "gka_run.h"
#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    GKA_SWEEP_AXIS_SOLVER,
    GKA_SWEEP_AXIS_VARIANT,
    GKA_SWEEP_AXIS_FORMAT,
    GKA_SWEEP_AXIS_ACCUM,
    GKA_SWEEP_AXIS_MODE,
    GKA_SWEEP_AXIS_RIDGE,
    GKA_SWEEP_AXIS_KEYS,
    GKA_SWEEP_AXIS_GATE,
    GKA_SWEEP_AXIS_BETA,
    GKA_SWEEP_AXIS_D,
    GKA_SWEEP_AXIS_T,
    GKA_SWEEP_AXIS_ITERS,
    GKA_SWEEP_AXIS_CHUNK,
    GKA_SWEEP_AXIS_SEED,
    GKA_SWEEP_NAXES
};

enum { GKA_SWEEP_VALUE_MAX = 64, GKA_SWEEP_VALUES_MAX = 256 };
#define GKA_SWEEP_CELLS_MAX 1000000L

typedef struct gka_sweep_axis {
    size_t n; /* >= 1 */
    char value[GKA_SWEEP_VALUES_MAX][GKA_SWEEP_VALUE_MAX];
} gka_sweep_axis_t;

typedef struct gka_sweep_grid {
    char name[GKA_SWEEP_VALUE_MAX];
    gka_sweep_axis_t axis[GKA_SWEEP_NAXES];
    long every;       /* report a row every `every` tokens (and the last) */
    long kappa_every; /* exact kappa every k tokens; 0 never */
    long ncells;
    uint64_t hash; /* FNV-1a of the expanded grid: a journal belongs to one grid */
} gka_sweep_grid_t;

/* ---- TOML ---------------------------------------------------------------- */

/* A parsed TOML 1.0 document (experiments/sweep_toml.c): every type but
 * dates and times, which grids never use and which are refused. */
typedef enum {
    GKA_TOML_STRING,
    GKA_TOML_INTEGER,
    GKA_TOML_FLOAT,
    GKA_TOML_BOOL,
    GKA_TOML_ARRAY,
    GKA_TOML_TABLE
} gka_toml_kind_t;

typedef struct gka_toml gka_toml_t;
struct gka_toml {
    gka_toml_kind_t kind;
    int line, col; /* where the value (a table: its first key or header) starts */
    char *str;     /* STRING: UTF-8, NUL-terminated, len bytes (may hold NUL bytes, from a Unicode
                      escape of U+0000) */
    size_t len;
    long long i; /* INTEGER (64-bit; larger values are refused) */
    double f;    /* FLOAT */
    int b;       /* BOOL */
    size_t n, cap;
    gka_toml_t **item; /* ARRAY elements, TABLE values (in document order) */
    char **key;        /* TABLE keys (UTF-8, keylen bytes each) */
    size_t *keylen;
    int flags; /* parser bookkeeping */
};

/* Parse a document; errors are GKA_EINVAL "FILE:LINE:COL: what". */
gka_status_t gka_toml_parse(const char *text, size_t len, const char *file, gka_toml_t **root);
void gka_toml_free(gka_toml_t *v);
/* The value of `key` in a table, or NULL. */
const gka_toml_t *gka_toml_get(const gka_toml_t *table, const char *key);

/* Axis names as written in grid files and CSV headers. */
const char *gka_sweep_axis_name(int axis);

/* Parse a grid from text (`file` names it in messages, with the line number)
 * and validate every value (unknown solver or format names, malformed
 * ridge/keys/gate specs, D or T out of range). Unset axes get defaults:
 * solver chebyshev, variant "", format fp64, accum wide, mode ne, ridge
 * adaptive:0.02, keys iid, gate none, beta none, D 64, T 256, iters 30,
 * chunk 0, seed 1; every 32, kappa_every 0. */
gka_status_t gka_sweep_grid_parse(const char *text, const char *file, gka_sweep_grid_t *grid);

/* Read and parse a grid file. */
gka_status_t gka_sweep_grid_load(const char *path, gka_sweep_grid_t *grid);

/* Value of `axis` in cell `cell` (0 <= cell < ncells). */
const char *gka_sweep_cell_value(const gka_sweep_grid_t *grid, long cell, int axis);

/* Check a cell's configuration without running it: GKA_SWEEP_CHECK_DATA
 * generates one token of its keys/gate/beta with its D; GKA_SWEEP_CHECK_RUN
 * runs its solver, format, accumulation, mode, ridge, iterations and chunk
 * over one token with D = 2. The error of the first step that refuses. */
enum { GKA_SWEEP_CHECK_DATA, GKA_SWEEP_CHECK_RUN };
gka_status_t gka_sweep_cell_check(const gka_sweep_grid_t *grid, long cell, int what);

/* Relative cost estimate of a cell (for handing out expensive cells first). */
double gka_sweep_cell_cost(const gka_sweep_grid_t *grid, long cell);

/* CSV headers of the rows file and the summary file (no newline). */
const char *gka_sweep_rows_header(void);
const char *gka_sweep_summary_header(void);

/* Run one cell. The result is a self-contained text block, the unit that
 * MPI ranks send to rank 0 and that the journal stores:
 *     @cell ID ok|failed
 *     <one summary line>
 *     <row lines ...>            (none for failed cells)
 *     @end ID
 * A failed cell (bad configuration, allocation failure, interrupted) is
 * reported in its summary line with the reason; it never aborts the sweep.
 * *block is malloc'ed; returns GKA_ENOMEM only if even that fails. */
gka_status_t gka_sweep_run_cell(const gka_sweep_grid_t *grid, long cell, char **block);

/* Parse a block's first and last lines: its cell id and whether it
 * succeeded. GKA_EFORMAT if the block is not complete (e.g. cut short) or
 * holds a NUL byte. */
gka_status_t gka_sweep_block_parse(const char *block, size_t len, long *cell, int *ok);

/* Check that a block is the complete result of `cell` of this grid: header
 * and end lines with that id, a summary line carrying the cell's own
 * parameters and the header's status, and for an ok cell exactly the rows of
 * gka_sweep_cell_rows(), each with the cell's parameters and its token t.
 * GKA_EFORMAT with a message naming the cell and the first problem. */
gka_status_t gka_sweep_block_check(const gka_sweep_grid_t *grid, const char *block, size_t len,
                                   long cell);

/* Rows a cell reports: the tokens t with (t + 1) % every == 0, and the last. */
long gka_sweep_cell_rows(const gka_sweep_grid_t *grid, long cell);

/* ---- journal -------------------------------------------------------------- */

typedef struct gka_sweep_results {
    long ncells;
    char **block; /* ncells entries; NULL where the cell has no result yet */
} gka_sweep_results_t;

gka_status_t gka_sweep_results_init(gka_sweep_results_t *res, long ncells);
void gka_sweep_results_free(gka_sweep_results_t *res);
/* Take ownership of a block after gka_sweep_block_check (replacing an earlier
 * one for the same cell); a malformed block is freed and refused. */
gka_status_t gka_sweep_results_put(gka_sweep_results_t *res, const gka_sweep_grid_t *grid,
                                   char *block);

/* The journal OUT.journal, format v2: a header line
 *     # gka sweep journal v2 grid HASH cells N
 * then one entry per finished (ok) cell:
 *     @block CELL HASH LEN CRC32
 *     <LEN bytes: the cell's block>
 * LEN and the CRC-32 (zlib's) cover the block's bytes, HASH is the grid's.
 * The journal is the one output meant to survive an interruption; it is held
 * under an exclusive fcntl lock while a sweep runs, so that a second sweep
 * with the same --out is refused. */
#define GKA_SWEEP_JOURNAL_MAX ((size_t)1 << 33) /* 8 GiB: the largest journal read */
#define GKA_SWEEP_GRID_MAX ((size_t)1 << 20)    /* 1 MiB: the largest grid file read */

typedef struct gka_sweep_journal {
    int fd;
    char path[4200];
} gka_sweep_journal_t;

/* Called for each damaged entry found on resume: cell is the cell id when the
 * entry's header could be read, else -1; that cell is run again. */
typedef void (*gka_sweep_damage_fn)(void *ctx, long cell, const char *why);

uint32_t gka_sweep_crc32(const void *data, size_t n);

/* Parse journal text into res: every entry is checked (grid hash, length,
 * CRC-32, gka_sweep_block_check); damaged or cut-short entries are reported
 * through on_damage (may be NULL) and skipped, failed cells are skipped.
 * An empty text is an empty journal. A header of another grid, another
 * format version or with CRLF line ends is an error (GKA_EINVAL). */
gka_status_t gka_sweep_journal_parse(const char *text, size_t len, const char *path,
                                     const gka_sweep_grid_t *grid, gka_sweep_results_t *res,
                                     gka_sweep_damage_fn on_damage, void *ctx);

/* Open (creating) and lock the journal at path. resume: read it into res
 * (gka_sweep_journal_parse); otherwise empty it. A journal locked by another
 * process, not a regular file or larger than GKA_SWEEP_JOURNAL_MAX is refused
 * with a message naming it. */
gka_status_t gka_sweep_journal_open(gka_sweep_journal_t *j, const char *path,
                                    const gka_sweep_grid_t *grid, int resume,
                                    gka_sweep_results_t *res, gka_sweep_damage_fn on_damage,
                                    void *ctx);
/* Append a block as one write and fsync it. */
gka_status_t gka_sweep_journal_append(gka_sweep_journal_t *j, const gka_sweep_grid_t *grid,
                                      const char *block);
/* Close, releasing the lock. */
void gka_sweep_journal_close(gka_sweep_journal_t *j);

/* Write OUT and OUT.summary.csv whole, in cell order, with metadata lines
 * that depend only on the grid and the results (never on ranks, threads or
 * timings, so outputs compare byte for byte), committed together: if either
 * cannot be written, neither is left. *missing receives the number of cells
 * without a successful result (listed in the metadata). */
gka_status_t gka_sweep_write_outputs(const char *out, const char *grid_file,
                                     const gka_sweep_grid_t *grid, const gka_sweep_results_t *res,
                                     long *missing);

#ifdef __cplusplus
}
#endif
#endif
