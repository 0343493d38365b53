/* Figures: each one command that computes a data set, writes it as a CSV with
 * `# key: value` metadata lines, copies the figure's gnuplot script (a file
 * of plots/ that reads the CSV by column names, so a user can restyle it)
 * beside it and renders it to PDF, PNG and SVG.
 *
 *   OUT/NAME/NAME.csv   metadata + header + rows, written whole or not at all
 *   OUT/NAME/NAME.gp, gka_style.gp   copies of plots/NAME.gp and plots/gka_style.gp:
 *                       `cd OUT/NAME && gnuplot -e "fmt='png'" NAME.gp`
 *   OUT/NAME/NAME.{pdf,png,svg}
 *
 * Reproducibility: a figure's work is split into independent jobs (streams,
 * configurations), each with its own arithmetic table and data seeded from
 * (seed, job); jobs run in parallel (OpenMP) and their rows are joined in job
 * order, so the CSV is byte-identical whatever the number of threads. The
 * date line honours SOURCE_DATE_EPOCH (reproducible-builds convention) so
 * that whole files can be compared. */
#ifndef GKA_FIGURE_H
#define GKA_FIGURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gka_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum { GKA_TIER_QUICK = 0, GKA_TIER_FULL = 1 } gka_tier_t;

enum { GKA_FMT_PDF = 1u << 0, GKA_FMT_PNG = 1u << 1, GKA_FMT_SVG = 1u << 2 };
enum { GKA_FMT_ALL = GKA_FMT_PDF | GKA_FMT_PNG | GKA_FMT_SVG };

/* The parameters of a figure's experiment. Each figure declares the ones it
 * takes (gka_figure_param_decl_t, in its fig_*.c) with a value per tier; a value
 * set in gka_figure_opts_t overrides the tier's. The names are the options of
 * `gka figure NAME` (--D, --T, --formats, ...). */
typedef enum {
    GKA_FP_D,       /* head dimension */
    GKA_FP_T,       /* tokens */
    GKA_FP_FORMATS, /* number formats (fp64, bf16, custom:t,emin,emax, ...) */
    GKA_FP_SOLVERS, /* solver labels the figure knows */
    GKA_FP_RIDGES,  /* ridge specs (adaptive:A, fixed:L, decay:L0) */
    GKA_FP_GATES,   /* decay gate specs (none, gka, const:G, ...) */
    GKA_FP_KEYS,    /* key specs (iid, powerlaw:P, ...), or a .npy file (trace) */
    GKA_FP_ITERS,   /* iterations r (a list where the figure says so) */
    GKA_FP_A,       /* ridge ratios a */
    GKA_FP_CHUNK,   /* chunk size C of the chunk form */
    GKA_FP_COUNT
} gka_figure_param_id_t;

enum { GKA_FP_MAX_ITEMS = 32, GKA_FP_ITEM_LEN = 1024 };

/* Values of the parameters, as items (a list parameter has several). Text
 * items always; num[] holds the value of INT and REAL parameters. */
typedef struct gka_figure_param_values {
    unsigned set;                                  /* bits (1u << id) of the parameters held */
    size_t n[GKA_FP_COUNT];                        /* items of each */
    char item[GKA_FP_COUNT][GKA_FP_MAX_ITEMS][64]; /* text of each item */
    char path[GKA_FP_ITEM_LEN];                    /* GKA_FP_KEYS as a file path (trace) */
    double num[GKA_FP_COUNT][GKA_FP_MAX_ITEMS];
} gka_figure_params_t;

typedef struct gka_figure_opts {
    gka_tier_t tier;
    gka_figure_params_t params; /* overrides of the tier's parameter values (set: which) */
    uint64_t seed;
    int threads;           /* OpenMP threads; 0: the runtime's default */
    unsigned formats;      /* GKA_FMT_* bits; 0: CSV and script only */
    int quiet;             /* no progress bar */
    char out_dir[3072];    /* figures go to out_dir/NAME/ */
    char trace_path[1024]; /* `trace`: keys from a .safetensors file ("" if none) */
} gka_figure_opts_t;

/* Defaults: quick tier, seed 1, threads 0, all formats, out_dir "results". */
gka_figure_opts_t gka_figure_opts_default(void);

gka_status_t gka_tier_by_name(const char *name, gka_tier_t *out); /* "quick", "full" */
const char *gka_tier_name(gka_tier_t tier);

/* "pdf,png,svg" (any subset, any order), "all", or "none". (The command line
 * of `gka figure` is parsed by the program's option table, cli/options.h.) */
gka_status_t gka_formats_parse(const char *list, unsigned *out);
/* Canonical comma list ("pdf,png,svg", "none") into buf. */
const char *gka_formats_string(unsigned formats, char *buf, size_t size);

/* The parameter's name: "D", "T", "formats", ... (the option without "--"). */
const char *gka_figure_param_name(gka_figure_param_id_t id);
/* The parameter called `name`, or GKA_FP_COUNT. */
gka_figure_param_id_t gka_figure_param_by_name(const char *name);
/* Override parameter `id` with n items ("64"; "fp64", "bf16"; ...) in opts.
 * Checked only for size here (GKA_EINVAL: too many or too long items);
 * values are checked against the figure by gka_figure_params. */
gka_status_t gka_figure_opts_set_param(gka_figure_opts_t *opts, gka_figure_param_id_t id, size_t n,
                                       const char *const *items);

/* ------------------------------------------------------------------------ */
/* CSV with metadata                                                         */
/* ------------------------------------------------------------------------ */

/* A growable text buffer; `status` is sticky (GKA_ENOMEM after a failed
 * allocation, later appends are ignored). */
typedef struct gka_strbuf {
    char *data;
    size_t len, cap;
    gka_status_t status;
} gka_strbuf_t;

void gka_strbuf_init(gka_strbuf_t *b);
void gka_strbuf_free(gka_strbuf_t *b);
void gka_strbuf_printf(gka_strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gka_strbuf_vprintf(gka_strbuf_t *b, const char *fmt, va_list ap);
void gka_strbuf_append(gka_strbuf_t *b, const char *s, size_t n);

/* A CSV under construction: metadata lines, one header line, rows.
 * Written, every gka CSV has one layout: the header line first, then the
 * provenance lines that every file carries (gka_csv_write_head), then the
 * producer's "# key: value" lines, then the rows. The header comes first so
 * that numpy.genfromtxt(names=True, comments='#') takes the column names
 * from it; pandas.read_csv(comment='#') and gnuplot skip the '#' lines. */
typedef struct gka_csv {
    gka_strbuf_t meta;
    gka_strbuf_t body;
    int ncols; /* columns in the header (0 before gka_csv_header) */
} gka_csv_t;

void gka_csv_init(gka_csv_t *c);
void gka_csv_free(gka_csv_t *c);
/* "# key: value" (the value must not contain a newline; it is cut there).
 * Each key once per file: a key given twice (here or among the provenance
 * keys) makes the write fail with GKA_EINVAL naming it. Numbers: %.17g. */
void gka_csv_meta(gka_csv_t *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The header, e.g. "solver,iteration,residual". */
void gka_csv_header(gka_csv_t *c, const char *names);
/* One row; the format has no newline. Numbers: %.17g or a fixed format. */
void gka_csv_row(gka_csv_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append rows already formatted (a job's output, joined in job order). */
void gka_csv_append_rows(gka_csv_t *c, const gka_strbuf_t *rows);
/* A figure's own keys: command ("figure"), figure, description, seed, tier,
 * image_formats (the rendered plot types). */
void gka_csv_standard_meta(gka_csv_t *c, const char *figure, const char *description,
                           const gka_figure_opts_t *opts);
/* Write header + provenance + metadata + rows to `path`, whole or not at all. */
gka_status_t gka_csv_write(const gka_csv_t *c, const char *path);
/* The same into an output opened with gka_outfile_open (experiments/gka_io.h),
 * not committed: for files committed together (gka_outfile_commit_all). */
struct gka_outfile;
gka_status_t gka_csv_put(const gka_csv_t *c, struct gka_outfile *f);

/* Provenance: the keys every CSV carries, in this order, right after the
 * header line: gka_version, git_commit, compiler, c_flags, build_type,
 * command_line (as set by gka_csv_set_command_line, shell-quoted, "" if
 * never set), date_utc. gka_csv_write_head writes the header line, these and
 * then meta's lines (meta may be NULL) to fp: for programs that stream their
 * rows (gka solve, gka grad). GKA_EINVAL for a key given twice or a bad
 * SOURCE_DATE_EPOCH, GKA_EIO for a write error; messages name path. */
gka_status_t gka_csv_write_head(FILE *fp, const char *path, const char *header,
                                const gka_csv_t *meta);
/* The command line recorded in every CSV (the program calls it once, from
 * main, before any CSV is written; not thread-safe). */
void gka_csv_set_command_line(int argc, char *const *argv);
/* The date line's value, "YYYY-MM-DDTHH:MM:SSZ": now, or SOURCE_DATE_EPOCH
 * (reproducible-builds convention) when set and not empty. A
 * SOURCE_DATE_EPOCH that is not an integer in 0 .. 253402300799 (the end of
 * year 9999) is refused with GKA_EINVAL and a message, never clamped or
 * printed as garbage. */
gka_status_t gka_csv_date(char *buf, size_t size);

/* A CSV file read back (for tests and tools): metadata pairs, column names
 * and cells as strings. */
typedef struct gka_csv_doc {
    size_t nmeta;
    char **meta_key, **meta_value;
    size_t ncols, nrows;
    char **col;   /* ncols names */
    char **cells; /* nrows * ncols, row-major */
} gka_csv_doc_t;

gka_status_t gka_csv_read(const char *path, gka_csv_doc_t *doc);
void gka_csv_doc_free(gka_csv_doc_t *doc);
const char *gka_csv_doc_meta(const gka_csv_doc_t *doc, const char *key); /* NULL if absent */
long gka_csv_doc_column(const gka_csv_doc_t *doc, const char *name);     /* -1 if absent */
const char *gka_csv_doc_cell(const gka_csv_doc_t *doc, size_t row, size_t col);
double gka_csv_doc_num(const gka_csv_doc_t *doc, size_t row, size_t col); /* NaN if not a number */

/* ------------------------------------------------------------------------ */
/* Progress (stderr, only when enabled and a terminal)                       */
/* ------------------------------------------------------------------------ */

typedef struct gka_progress {
    FILE *out; /* NULL: silent */
    char figure[48];
    char step[64];
    long total;
    long done; /* updated atomically */
    double t0, last;
    double delay; /* seconds before the first drawing (short runs draw nothing) */
    int drawn;    /* 1 once drawn: finish erases only a bar that was drawn */
    int busy;     /* one printer at a time */
} gka_progress_t;

/* Enabled only if `out` is a terminal and !quiet. */
void gka_progress_start(gka_progress_t *p, FILE *out, int quiet, const char *figure, long total);
/* The same, drawing nothing before `delay` seconds have passed: a bar only
 * for runs longer than that (gka solve, gka grad: 1 s). */
void gka_progress_start_after(gka_progress_t *p, FILE *out, int quiet, const char *label,
                              long total, double delay);
/* Label of the current step, e.g. "bf16 chebyshev". Thread-safe enough:
 * only for display. */
void gka_progress_step(gka_progress_t *p, const char *step);
/* n units of work done (thread-safe); redraws at most every 0.1 s. */
void gka_progress_advance(gka_progress_t *p, long n);
/* Erase the bar. */
void gka_progress_finish(gka_progress_t *p);
/* Wall-clock seconds (monotonic). */
double gka_wall_seconds(void);

/* ------------------------------------------------------------------------ */
/* Figures                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct gka_figure gka_figure_t;

/* Computes the figure's data: adds its own metadata and rows to `csv`. P
 * holds every parameter the figure takes, checked (gka_figure_params). The
 * drawing is not C: it is the script plots/NAME.gp (gka_plots_dir). */
typedef gka_status_t (*gka_figure_run_fn)(const gka_figure_opts_t *opts,
                                          const gka_figure_params_t *P, gka_progress_t *prog,
                                          gka_csv_t *csv);

/* How a figure takes one parameter. */
enum {
    GKA_FPF_STATE_ITER = 1u << 0, /* formats: "S+I" (state S, iterates I) allowed */
    GKA_FPF_NO_DECAY = 1u << 1,   /* ridges: fixed and adaptive only */
    GKA_FPF_PATH = 1u << 2        /* keys: a .npy file path, not specs */
};
typedef struct gka_figure_param_declaration {
    gka_figure_param_id_t id;
    const char *help;    /* what it is in this figure */
    const char *def[2];  /* value per tier (quick, full): a plain comma list ("" none) */
    double lo, hi;       /* integer and real items: range */
    size_t max_items;    /* 1: one value; else a list of at most this many */
    const char *choices; /* names the figure knows ("chebyshev|cg|gd"), or NULL */
    unsigned flags;      /* GKA_FPF_* */
} gka_figure_param_decl_t;

struct gka_figure {
    const char *name; /* also the script's name: plots/NAME.gp */
    const char *summary;
    gka_figure_run_fn run;
    const gka_figure_param_decl_t *params; /* the parameters it takes */
    size_t nparams;
};

/* The declaration of parameter `id` in `fig`, or NULL if it takes none. */
const gka_figure_param_decl_t *gka_figure_param_decl(const gka_figure_t *fig,
                                                     gka_figure_param_id_t id);
/* Bits (1u << id) of the parameters fig takes. */
unsigned gka_figure_params_taken(const gka_figure_t *fig);
/* Every parameter of fig: the tier's value, or the override in opts,
 * checked (range, count, known names: formats, solvers, ridges, gates, keys)
 * before any work. GKA_EINVAL with a message naming figure, parameter and
 * value; an override of a parameter fig does not take is refused too. */
gka_status_t gka_figure_params(const gka_figure_t *fig, const gka_figure_opts_t *opts,
                               gka_figure_params_t *P);
/* Parameter values: count, item text, number (INT and REAL parameters). */
static inline size_t gka_figure_count(const gka_figure_params_t *P, gka_figure_param_id_t id) {
    return P->n[id];
}
static inline const char *gka_figure_item(const gka_figure_params_t *P, gka_figure_param_id_t id,
                                          size_t i) {
    return P->item[id][i];
}
static inline double gka_figure_num(const gka_figure_params_t *P, gka_figure_param_id_t id,
                                    size_t i) {
    return P->num[id][i];
}
static inline int gka_figure_int(const gka_figure_params_t *P, gka_figure_param_id_t id) {
    return (int)P->num[id][0];
}
/* The items of a name parameter as pointers (into P), for loops over them. */
void gka_figure_names(const gka_figure_params_t *P, gka_figure_param_id_t id, const char **out);
/* An item as a CSV cell: its commas (custom:5,-14,15, lowrank:4,0.01) as
 * ';', so that the cell stays one column. Returns buf. */
const char *gka_figure_cell(const char *item, char *buf, size_t size);
/* "# NAME: value" metadata for every parameter of fig, in declaration order
 * (lists comma-separated, reals %.17g, a keys file by its path or "none"). */
void gka_figure_params_meta(const gka_figure_t *fig, const gka_figure_params_t *P, gka_csv_t *csv);

/* The registry, in display order. */
const gka_figure_t *const *gka_figure_list(size_t *count);
const gka_figure_t *gka_figure_find(const char *name); /* NULL if unknown */

/* What one figure run did. */
typedef struct gka_figure_result {
    double elapsed_s; /* compute + write + render */
    double render_s;  /* gnuplot part */
    int rendered;     /* formats actually rendered (GKA_FMT_* bits) */
    char dir[3200];   /* OUT/NAME */
    char csv_path[3300];
} gka_figure_result_t;

/* Run one figure: find its scripts (before any work: GKA_EIO naming the
 * missing file), create OUT/NAME, compute, write the CSV, copy gka_style.gp
 * and NAME.gp beside it, render. If gnuplot is missing, the CSV and scripts
 * are still written and the error (GKA_EUNSUP) says how to render them. */
gka_status_t gka_figure_run(const gka_figure_t *fig, const gka_figure_opts_t *opts,
                            gka_progress_t *prog, gka_figure_result_t *res);

/* Independent jobs in parallel: job(j, ctx, rows) appends its rows to its own
 * buffer; buffers are joined into csv in job order. The first failing job (by
 * index) decides the status. Stops early on SIGINT (GKA_EINTR). */
typedef gka_status_t (*gka_figure_job_fn)(size_t job, void *ctx, gka_strbuf_t *rows);
gka_status_t gka_figure_parallel(size_t njobs, gka_figure_job_fn job, void *ctx, gka_csv_t *csv);

/* ------------------------------------------------------------------------ */
/* gnuplot                                                                   */
/* ------------------------------------------------------------------------ */

/* The directory of the figure scripts (gka_style.gp, NAME.gp): $GKA_PLOTS_DIR
 * when set (and then only it); else the installed share/gka/plots found from
 * the running program's directory (/proc/self/exe; the installed tree may be
 * moved); else the source tree's plots/ (a path compiled in, for the build
 * tree). A candidate counts only if it holds gka_style.gp; GKA_EIO with the
 * places searched when none does. */
gka_status_t gka_plots_dir(char *buf, size_t size);
/* GKA_OK if plots_dir holds readable gka_style.gp, NAME.gp and each script
 * NAME.gp loads by name; else GKA_EIO naming the missing file. */
gka_status_t gka_plots_check(const char *plots_dir, const char *name);
/* Copy those scripts from plots_dir into dir, all or none. */
gka_status_t gka_gnuplot_copy_scripts(const char *plots_dir, const char *name, const char *dir);
/* Render DIR/NAME.gp to each requested format, each output written whole or
 * not at all. The program is $GKA_GNUPLOT if set, else `gnuplot`. Missing
 * program: GKA_EUNSUP with a message saying how to render by hand. */
gka_status_t gka_gnuplot_render(const char *dir, const char *name, unsigned formats, int *rendered);

/* Shared helpers for figures */
/* Seed for an independent sub-stream: mixes (seed, a, b) (SplitMix64). */
uint64_t gka_figure_seed(uint64_t seed, uint64_t a, uint64_t b);

#ifdef __cplusplus
}
#endif
#endif
