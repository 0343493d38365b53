/* gka sweep GRID [--out FILE] [--resume] [--threads N] [--quiet]
 *
 * One process: cells run in this process (OpenMP threads with --threads).
 * Under `mpirun -np N gka sweep ...` (when built with MPI): every rank,
 * rank 0 included, takes the next cell from a shared counter held by rank 0
 * (MPI_Fetch_and_op, so ranks take cells as they free up: cells differ in
 * cost by orders of magnitude, and the most expensive are handed out first).
 * Ranks send each finished cell's text block to rank 0, which journals it and
 * writes the outputs at the end, in cell order: the same bytes as a
 * one-process run. */
#include "gka_cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gka_config.h"
#include "gka_io.h"
#include "gka_sweep.h"
#include "options.h"

#ifdef GKA_HAVE_MPI
#include <mpi.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    const char *grid_file;
    const char *out;
    int resume, threads, quiet;
    int dedicated_root; /* MPI: rank 0 only hands out and writes (many ranks, many nodes) */
} sweep_opts_t;

/* 0 to go on, 1 after a message for bad usage (exit 2); --help prints the
 * help and exits 0. */
static int parse_opts(int argc, char **argv, sweep_opts_t *o) {
    gka_opts_t opts;
    const int rc = gka_opts_parse(GKA_CMD_SWEEP, argc, argv, &opts);
    if (rc == GKA_EXIT_OK) exit(GKA_EXIT_OK);
    if (rc >= 0) return 1;
    o->grid_file = opts.args[0];
    o->out = gka_opt_text(&opts, GKA_OPT_OUT_FILE);
    o->resume = gka_opt_given(&opts, GKA_OPT_RESUME);
    o->quiet = gka_opt_given(&opts, GKA_OPT_QUIET);
    o->dedicated_root = gka_opt_given(&opts, GKA_OPT_DEDICATED_ROOT);
    o->threads =
        gka_opt_given(&opts, GKA_OPT_THREADS) ? (int)gka_opt_long(&opts, GKA_OPT_THREADS) : 1;
    return 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the cells still to run, most expensive first ------------------------- */

typedef struct {
    long *cell;
    long n;
} todo_t;

static const gka_sweep_grid_t *cost_grid;

static int by_cost_desc(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    double cx = gka_sweep_cell_cost(cost_grid, x), cy = gka_sweep_cell_cost(cost_grid, y);
    if (cx != cy) return cx < cy ? 1 : -1;
    return x < y ? -1 : (x > y);
}

static int make_todo(const gka_sweep_grid_t *g, const gka_sweep_results_t *res, todo_t *t) {
    t->cell = malloc((size_t)g->ncells * sizeof *t->cell);
    if (!t->cell) return gka_cli_fail(GKA_EXIT_FAIL, "sweep: out of memory");
    t->n = 0;
    for (long i = 0; i < g->ncells; i++)
        if (!res->block[i]) t->cell[t->n++] = i;
    cost_grid = g;
    qsort(t->cell, (size_t)t->n, sizeof *t->cell, by_cost_desc);
    return 0;
}

/* ---- progress and bookkeeping on the writing process ---------------------- */

typedef struct {
    const sweep_opts_t *o;
    const gka_sweep_grid_t *g;
    gka_sweep_results_t *res;
    char journal[4200];
    gka_sweep_journal_t jf;            /* open and locked on the writing process */
    long total, done, failed, stopped; /* stopped: cut off by an interruption */
    int workers;
    double t0;
    int io_error;
} book_t;

static void report_failure(long cell, const char *block) {
    /* the message is the summary line's last field, after "failed" and
     * 18 commas (gka_sweep_summary_header) */
    const char *msg = strstr(block, ",failed,");
    for (int commas = 0; msg && *msg && commas < 19; msg++)
        commas += (*msg == ',');
    fprintf(stderr, "gka: sweep: cell %ld failed: %.*s\n", cell, msg ? (int)strcspn(msg, "\n") : 0,
            msg ? msg : "");
}

static void record(book_t *b, char *block) {
    long cell = -1;
    int ok = 0;
    if (gka_sweep_block_parse(block, strlen(block), &cell, &ok) != GKA_OK ||
        gka_sweep_block_check(b->g, block, strlen(block), cell) != GKA_OK) {
        gka_cli_fail(GKA_EXIT_FAIL, "sweep: malformed result block: %s", gka_error_message());
        free(block);
        b->failed++;
        return;
    }
    if (!ok && gka_interrupted()) {
        /* cut off by SIGINT, not a result: run again by --resume */
        b->stopped++;
        free(block);
        return;
    }
    if (ok && gka_sweep_journal_append(&b->jf, b->g, block) != GKA_OK && !b->io_error) {
        gka_cli_fail(GKA_EXIT_FAIL, "sweep: %s (continuing; --resume will redo cells)",
                     gka_error_message());
        b->io_error = 1;
    }
    if (!ok) {
        b->failed++;
        report_failure(cell, block);
    }
    b->done++;
    gka_sweep_results_put(b->res, b->g, block);
    if (b->o->quiet) return;
    const double el = now() - b->t0;
    const long left = b->total - b->done;
    const long running = left < b->workers ? left : b->workers;
    fprintf(stderr,
            "sweep: %ld/%ld cells done (%ld failed), %ld running, %.1f s elapsed, ~%.0f s left\n",
            b->done, b->total, b->failed, running, el,
            b->done ? el / (double)b->done * (double)left : 0.0);
}

static int finish(book_t *b) {
    long missing = 0;
    const gka_status_t st =
        gka_sweep_write_outputs(b->o->out, b->o->grid_file, b->g, b->res, &missing);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_RUN, "sweep");
    printf("sweep %s: %ld cells, %ld ok, %ld missing; %.2f s on %d worker(s)\n", b->g->name,
           b->g->ncells, b->g->ncells - missing, missing, now() - b->t0, b->workers);
    printf("wrote %s and %s.summary.csv (journal %s)\n", b->o->out, b->o->out, b->journal);
    if (missing)
        return gka_cli_fail(GKA_EXIT_FAIL,
                            "sweep: %ld cell(s) missing: see the 'missing' line of %s", missing,
                            b->o->out);
    return GKA_EXIT_OK;
}

/* ---- one process ---------------------------------------------------------- */

static int run_local(book_t *b, const todo_t *todo) {
    int stop = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->o->threads)
#endif
    for (long i = 0; i < todo->n; i++) {
        if (stop) continue;
        char *block = NULL;
        if (gka_sweep_run_cell(b->g, todo->cell[i], &block) != GKA_OK) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            stop = 1;
            continue;
        }
#ifdef _OPENMP
#pragma omp critical(gka_sweep_record)
#endif
        {
            record(b, block);
            if (gka_interrupted()) stop = 1;
        }
    }
    if (gka_interrupted()) {
        fprintf(
            stderr,
            "gka: sweep interrupted: %ld of %ld cells finished, kept in %s; rerun with --resume\n",
            b->done - b->failed, b->total, b->journal);
        return 130;
    }
    if (stop) return gka_cli_fail(GKA_EXIT_FAIL, "sweep: %s", gka_error_message());
    return finish(b);
}

/* ---- MPI ------------------------------------------------------------------ */

#ifdef GKA_HAVE_MPI
enum { TAG_RESULT = 1, TAG_DONE = 2 };

static int launched_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static long next_index(MPI_Win win) {
    long one = 1, got = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win);
    MPI_Fetch_and_op(&one, &got, MPI_LONG, 0, 0, MPI_SUM, win);
    MPI_Win_unlock(0, win);
    return got;
}

/* Rank 0: receive whatever results have arrived (blocking = wait for one). */
static void drain(book_t *b, int blocking, int *done_ranks) {
    for (;;) {
        int flag = 0;
        MPI_Status s;
        if (blocking)
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &s), flag = 1;
        else
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &s);
        if (!flag) return;
        int count = 0;
        MPI_Get_count(&s, MPI_CHAR, &count);
        char *buf = malloc((size_t)count + 1);
        MPI_Recv(buf, count, MPI_CHAR, s.MPI_SOURCE, s.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        buf[count] = '\0';
        if (s.MPI_TAG == TAG_DONE) {
            (*done_ranks)++;
            free(buf);
        } else {
            record(b, buf);
        }
        if (blocking) return;
    }
}

static int run_mpi(book_t *b, todo_t *todo, int rank, int size) {
    long *counter = NULL;
    MPI_Win win;
    MPI_Win_allocate(rank == 0 ? (MPI_Aint)sizeof(long) : 0, sizeof(long), MPI_INFO_NULL,
                     MPI_COMM_WORLD, &counter, &win);
    if (rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win);
        *counter = 0;
        MPI_Win_unlock(0, win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int done_ranks = 0;
    /* Workers send without waiting (rank 0 may be busy in a cell of its own):
     * each block stays alive until its send completes. */
    char **sent = calloc((size_t)todo->n + 1, sizeof *sent);
    MPI_Request *req = malloc(((size_t)todo->n + 1) * sizeof *req);
    if (!sent || !req) {
        fprintf(stderr, "gka: sweep: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, GKA_EXIT_FAIL);
    }
    int nreq = 0;
    const int computes = !(rank == 0 && b->o->dedicated_root && size > 1);
    for (long i; computes && (i = next_index(win)) < todo->n;) {
        char *block = NULL;
        if (gka_sweep_run_cell(b->g, todo->cell[i], &block) != GKA_OK) {
            fprintf(stderr, "gka: sweep: rank %d: %s\n", rank, gka_error_message());
            MPI_Abort(MPI_COMM_WORLD, GKA_EXIT_FAIL);
        }
        if (rank == 0) {
            record(b, block);
            drain(b, 0, &done_ranks);
        } else {
            sent[nreq] = block;
            MPI_Isend(block, (int)strlen(block), MPI_CHAR, 0, TAG_RESULT, MPI_COMM_WORLD,
                      &req[nreq++]);
        }
    }
    int rc = GKA_EXIT_OK;
    if (rank == 0) {
        while (done_ranks < size - 1)
            drain(b, 1, &done_ranks);
        rc = finish(b);
    } else {
        MPI_Isend("", 0, MPI_CHAR, 0, TAG_DONE, MPI_COMM_WORLD, &req[nreq++]);
        MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
    }
    for (int i = 0; i < nreq; i++)
        free(sent[i]);
    free(sent);
    free(req);
    MPI_Win_free(&win);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
}
#endif

/* ---- entry ---------------------------------------------------------------- */

static void on_damage(void *ctx, long cell, const char *why) {
    const book_t *b = ctx;
    if (cell >= 0)
        fprintf(stderr, "gka: sweep: %s: cell %ld: %s; running it again\n", b->journal, cell, why);
    else
        fprintf(stderr, "gka: sweep: %s: %s; skipped\n", b->journal, why);
}

/* The outputs are OUT and two files named after it: OUT must be a file
 * name, not a device or FIFO (OUT.summary.csv and OUT.journal beside
 * /dev/null would be new files in /dev). */
static int check_outputs(const sweep_opts_t *o, const char *summary, const char *journal) {
    struct stat st;
    if (stat(o->out, &st) == 0 && !S_ISREG(st.st_mode))
        return gka_cli_fail(GKA_EXIT_USAGE,
                            "sweep: --out %s is not a regular file (the summary and journal are "
                            "written beside it, as %s and %s)",
                            o->out, summary, journal);
    const char *outs[] = {o->out, summary, journal};
    const char *names[] = {"--out", "--out (summary)", "--out (journal)"};
    const char *ins[] = {o->grid_file};
    const char *in_names[] = {"the grid file"};
    const gka_status_t pst = gka_paths_check(outs, names, 3, ins, in_names, 1);
    if (pst != GKA_OK) return gka_cli_fail_status(pst, GKA_STAGE_INPUT, "sweep");
    /* Refuse unwritable outputs before running anything: open (and drop) a
     * temporary file beside each output. */
    for (size_t i = 0; i < 2; i++) {
        gka_outfile_t probe;
        const gka_status_t ost = gka_outfile_open(&probe, outs[i]);
        if (ost != GKA_OK) return gka_cli_fail_status(ost, GKA_STAGE_INPUT, "sweep");
        gka_outfile_abort(&probe);
    }
    return 0;
}

/* Every rank expands the grid; only the writing rank (0) checks the outputs
 * and opens, locks and reads the journal. */
static int prepare(const sweep_opts_t *o, gka_sweep_grid_t *g, gka_sweep_results_t *res, book_t *b,
                   int writer) {
    gka_status_t st = gka_sweep_grid_load(o->grid_file, g);
    if (st != GKA_OK) return gka_cli_fail_status(st, GKA_STAGE_INPUT, "sweep");
    if ((st = gka_sweep_results_init(res, g->ncells)) != GKA_OK)
        return gka_cli_fail_status(st, GKA_STAGE_RUN, "sweep");
    *b = (book_t){o, g, res, "", {-1, ""}, 0, 0, 0, 0, 1, now(), 0};
    snprintf(b->journal, sizeof b->journal, "%s.journal", o->out);
    if (!writer) return 0;
    char summary[4200];
    snprintf(summary, sizeof summary, "%s.summary.csv", o->out);
    int rc = check_outputs(o, summary, b->journal);
    if (rc) return rc;
    if ((st = gka_sweep_journal_open(&b->jf, b->journal, g, o->resume, res, on_damage, b)) !=
        GKA_OK)
        return gka_cli_fail_status(st, GKA_STAGE_INPUT, "sweep");
    return 0;
}

/* The MPI rank from the launcher's environment, before MPI_Init (0 without
 * one): ranks other than 0 keep usage errors to themselves, so that a bad
 * command line gives one message, not one per rank. */
static int launcher_rank(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

/* Silence stderr (saved in *saved) on ranks other than 0; undo with -1. */
static void quiet_stderr(int rank, int *saved) {
    if (rank == 0) return;
    fflush(stderr);
    if (*saved < 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull < 0) return;
        *saved = dup(2);
        dup2(devnull, 2);
        close(devnull);
    } else {
        dup2(*saved, 2);
        close(*saved);
        *saved = -1;
    }
}

int gka_cmd_sweep(int argc, char **argv) {
    sweep_opts_t o;
    int saved_stderr = -1;
    const int env_rank = launcher_rank();
    quiet_stderr(env_rank, &saved_stderr);
    int bad = parse_opts(argc, argv, &o);
    quiet_stderr(env_rank, &saved_stderr);
    if (bad) return GKA_EXIT_USAGE;
    gka_sweep_grid_t *g = calloc(1, sizeof *g);
    if (!g) return gka_cli_fail(GKA_EXIT_FAIL, "sweep: out of memory");
    gka_sweep_results_t res = {0, NULL};
    book_t b = {0};
    b.jf.fd = -1;
    todo_t todo = {NULL, 0};
    int rank = 0, size = 1, rc = 0;
#ifdef GKA_HAVE_MPI
    const int use_mpi = launched_by_mpirun();
    if (use_mpi) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
#endif
    /* Rank 0 prepares first and tells the others whether to go on: one
     * message for a bad grid or output, not one per rank. */
    if (rank == 0) rc = prepare(&o, g, &res, &b, 1);
    if (rc == 0 && rank == 0) rc = make_todo(g, &res, &todo);
#ifdef GKA_HAVE_MPI
    if (use_mpi) MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
    if (rc == 0 && rank != 0) rc = prepare(&o, g, &res, &b, 0);
#ifdef GKA_HAVE_MPI
    if (use_mpi) {
        MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        MPI_Bcast(&todo.n, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        if (rc == 0 && rank != 0) todo.cell = malloc((size_t)(todo.n ? todo.n : 1) * sizeof(long));
        if (rc == 0) MPI_Bcast(todo.cell, (int)todo.n, MPI_LONG, 0, MPI_COMM_WORLD);
    }
#endif
    if (rc == 0) {
        gka_interrupt_install();
        b.total = todo.n;
        b.workers = size > 1 ? size - (o.dedicated_root ? 1 : 0) : o.threads;
        if (rank == 0 && !o.quiet)
            fprintf(stderr, "sweep %s: %ld cells, %ld to run (%ld already in %s), %d worker(s)\n",
                    g->name, g->ncells, todo.n, g->ncells - todo.n, b.journal, b.workers);
#ifdef GKA_HAVE_MPI
        if (use_mpi)
            rc = run_mpi(&b, &todo, rank, size);
        else
#endif
            rc = run_local(&b, &todo);
    }
#ifdef GKA_HAVE_MPI
    if (use_mpi) MPI_Finalize();
#endif
    gka_sweep_journal_close(&b.jf); /* releases the lock (rank 0) */
    free(todo.cell);
    gka_sweep_results_free(&res);
    free(g);
    return rc;
}
