/* The option table of the gka program: every option of every command is
 * declared once (cli/options.c) with its name, value type, range, default,
 * help text, the commands that take it and the conditions under which it
 * applies. One parser reads every command line from that table (--opt value
 * and --opt=value), `gka CMD --help` and the man page (gka --man) are
 * printed from it, and an option given where it does not apply (--tol with
 * a direct solver, --D with a keys file, ...) is refused with a message
 * naming the option and the reason, from the same declaration. */
#ifndef GKA_CLI_OPTIONS_H
#define GKA_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Commands. gka_cli_command_t (below) describes each one. */
typedef enum {
    GKA_CMD_FORMATS,
    GKA_CMD_ROUND,
    GKA_CMD_SOLVE,
    GKA_CMD_SOLVERS,
    GKA_CMD_GRAD,
    GKA_CMD_FIGURE,
    GKA_CMD_SWEEP,
    GKA_CMD_BENCH_ROUND,
    GKA_CMD_BENCH_SOLVE,
    GKA_CMD_COUNT
} gka_cmd_id_t;

#define GKA_IN(cmd) (1u << (cmd))

/* The largest --save-iterates array gka solve writes: T x (R+1) x D doubles
 * are held by no one (rows stream to the file), but a file this large is a
 * mistake more often than a wish; the help states it, the check refuses
 * before the run. */
#define GKA_ITERATES_MAX_BYTES ((unsigned long long)4 << 30)
#define GKA_ITERATES_LIMIT_TEXT "4 GiB"

/* Every option, one id each. */
typedef enum {
    GKA_OPT_HELP,
    /* problem */
    GKA_OPT_D,
    GKA_OPT_T,
    GKA_OPT_SEED,
    GKA_OPT_DATA_SEED,
    GKA_OPT_ROUND_SEED,
    GKA_OPT_KEYS,
    GKA_OPT_QUERIES,
    GKA_OPT_TRACE,
    GKA_OPT_GATES,
    GKA_OPT_BETAS,
    GKA_OPT_BATCH,
    GKA_OPT_HEAD,
    GKA_OPT_GATE,
    GKA_OPT_BETA,
    GKA_OPT_BETA_MODE,
    GKA_OPT_NO_NORMALIZE,
    GKA_OPT_RIDGE,
    /* arithmetic */
    GKA_OPT_FORMAT,
    GKA_OPT_ACCUM,
    GKA_OPT_MODE,
    GKA_OPT_SUBNORMALS,
    GKA_OPT_SATURATE,
    GKA_OPT_STREAM,
    GKA_OPT_HEX,
    /* solver */
    GKA_OPT_SOLVER,
    GKA_OPT_SOLVERS,
    GKA_OPT_VARIANT,
    GKA_OPT_ITERS,
    GKA_OPT_TOL,
    GKA_OPT_WARM,
    GKA_OPT_CHUNK,
    GKA_OPT_ITER_FORMAT,
    GKA_OPT_CARRY,
    GKA_OPT_REFERENCE,
    GKA_OPT_GRAD_MODE,
    GKA_OPT_NO_LAMBDA_PATH,
    /* output */
    GKA_OPT_CSV,
    GKA_OPT_HISTORY,
    GKA_OPT_EVERY,
    GKA_OPT_SAVE_X,
    GKA_OPT_SAVE_REF,
    GKA_OPT_SAVE_ITERATES,
    GKA_OPT_SAVE_GRAD,
    /* benchmarks */
    GKA_OPT_SIZES,
    GKA_OPT_NUMBER_FORMATS,
    GKA_OPT_MODES,
    GKA_OPT_REPS,
    GKA_OPT_REPEAT,
    /* figures and sweeps */
    GKA_OPT_LIST,
    GKA_OPT_QUICK,
    GKA_OPT_FULL,
    GKA_OPT_TIER,
    GKA_OPT_IMAGE_FORMATS,
    GKA_OPT_GATE_SPECS, /* figure parameters without a solve/grad namesake */
    GKA_OPT_A,
    GKA_OPT_RIDGE_SPECS,
    GKA_OPT_OUT_DIR,
    GKA_OPT_OUT_FILE,
    GKA_OPT_RESUME,
    GKA_OPT_DEDICATED_ROOT,
    GKA_OPT_THREADS,
    GKA_OPT_QUIET,
    GKA_OPT_COUNT
} gka_opt_id_t;
_Static_assert(GKA_OPT_COUNT <= 64, "gka_opt_decl_t.excludes is a 64-bit mask of option ids");

typedef enum {
    GKA_OT_FLAG,   /* no value */
    GKA_OT_INT,    /* long in [lo, hi]; a comma list where the declaration says so */
    GKA_OT_U64,    /* 64-bit non-negative integer */
    GKA_OT_REAL,   /* finite double in [lo, hi] */
    GKA_OT_CHOICE, /* one word of `choices` ("a|b|c") */
    GKA_OT_TEXT,   /* a non-empty string parsed by the command (a spec, a name) */
    GKA_OT_PATH,   /* a non-empty file or directory path */
    GKA_OT_NAMES   /* a comma list of non-empty names (custom:t,emin,emax is one name) */
} gka_opt_type_t;

/* Conditions an option may need: a command computes which hold once it
 * knows the solver and the data (gka_opt_context_t) and calls
 * gka_opts_check_context. A condition that means nothing to a command (the
 * chunked gradient for gka solve) is in its holds_always. */
typedef enum {
    GKA_CTX_ITERATIVE,  /* the solver iterates (chebyshev, cg, gd, agd) */
    GKA_CTX_CHUNK,      /* --chunk is given */
    GKA_CTX_TOKEN_FORM, /* --chunk is not given */
    GKA_CTX_CHUNKABLE,  /* the solver has a chunk form (not kalman) */
    GKA_CTX_ITERATES,   /* there are iterates to store: an iterative solver or the chunk form */
    GKA_CTX_CHUNKED_GRADIENT, /* gka grad: the chunked gradient exists (chebyshev, implicit) */
    GKA_CTX_SYNTHETIC,        /* the keys are generated (no file, no trace) */
    GKA_CTX_KEYS_FILE,        /* the keys come from --keys F.npy */
    GKA_CTX_BATCHED_FILE,     /* a loaded file is [B,T,H,D] */
    GKA_CTX_WRITE_GATES,      /* the data have write gates beta_t */
    GKA_CTX_TRACE_FIGURE,     /* the figure is 'trace' (or all) */
    GKA_CTX_COUNT
} gka_ctx_bit_t;

#define GKA_NEEDS(bit) (1u << (bit))
#define GKA_OPT_BIT(id) (UINT64_C(1) << (id))

typedef struct {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* "N", "SPEC", ... (NULL for flags) */
    gka_opt_type_t type;
    double lo, hi;        /* INT and REAL ranges */
    const char *choices;  /* CHOICE: "on|off" */
    const char *def;      /* default value as text (parsed like a given value), or NULL */
    const char *def_note; /* the default in words where `def` cannot say it ("all cores") */
    struct {
        unsigned cmds; /* commands where `def` is this instead */
        const char *def;
    } alt[3];
    const char *help;
    unsigned cmds;          /* GKA_IN(...) of the commands that take it */
    unsigned list_cmds;     /* INT: commands where it takes a comma list */
    unsigned needs;         /* GKA_NEEDS(...) conditions ... */
    unsigned needs_cmds;    /* ... in these commands (0: all of `cmds`) */
    uint64_t excludes;      /* GKA_OPT_BIT(...) of options it cannot be given with */
    unsigned required_cmds; /* commands that need it given */
    const char *section;    /* heading in --help and the man page */
} gka_opt_decl_t;

typedef struct {
    const char *name;    /* "solve", "bench round" */
    const char *summary; /* one line for `gka --help` */
    const char *args;    /* positional arguments in the usage line ("VALUE...") or NULL */
    int min_args, max_args;
    const char *args_what; /* "grid file": what a positional argument is, for messages */
    const char *about;     /* paragraph(s) after the usage line */
    const char *notes;     /* text after the options, or NULL */
    unsigned holds_always; /* GKA_NEEDS(...) conditions that mean nothing here: they hold */
} gka_cli_command_t;

/* Needs phrases, and what a command says when a condition does not hold. */
typedef struct gka_opt_context {
    unsigned holds;                    /* GKA_NEEDS(...) bits that hold */
    const char *absent[GKA_CTX_COUNT]; /* "with --solver kalman", "with synthetic keys" */
} gka_opt_context_t;

enum { GKA_OPTS_MAX_ARGS = 1024, GKA_OPTS_POOL = 512, GKA_OPTS_TEXT = 8192 };

/* A parsed command line. Values of options not given are their defaults. */
typedef struct gka_opts {
    gka_cmd_id_t cmd;
    unsigned char given[GKA_OPT_COUNT];
    const char *text[GKA_OPT_COUNT]; /* the value as given (or the default text), NULL if none */
    long num[GKA_OPT_COUNT];         /* INT (first item of a list), CHOICE: index of the word */
    uint64_t u64[GKA_OPT_COUNT];
    double real[GKA_OPT_COUNT];
    size_t list_at[GKA_OPT_COUNT], list_n[GKA_OPT_COUNT]; /* lists: items in the pools */
    long pool_num[GKA_OPTS_POOL];
    const char *pool_name[GKA_OPTS_POOL];
    size_t npool;
    char text_pool[GKA_OPTS_TEXT];
    size_t ntext;
    const char *args[GKA_OPTS_MAX_ARGS]; /* positional arguments, in order */
    int nargs;
} gka_opts_t;

const gka_opt_decl_t *gka_opt_decl(gka_opt_id_t id);
const gka_cli_command_t *gka_cli_command(gka_cmd_id_t cmd);
/* The command named `name` ("bench round"), or GKA_CMD_COUNT. */
gka_cmd_id_t gka_cli_command_by_name(const char *name);

/* Parse argv[1..argc) (argv[0] is the command's name) for `cmd`. Returns -1
 * when the command should go on, else the exit status: 0 after printing
 * --help, 2 after one "gka: ..." line for bad usage. */
int gka_opts_parse(gka_cmd_id_t cmd, int argc, char **argv, gka_opts_t *o);

/* Refuse (one message, returns 2) an option given explicitly whose
 * conditions do not hold in `ctx`; returns -1 when all apply. */
int gka_opts_check_context(const gka_opts_t *o, const gka_opt_context_t *ctx);

static inline int gka_opt_given(const gka_opts_t *o, gka_opt_id_t id) {
    return o->given[id];
}
static inline const char *gka_opt_text(const gka_opts_t *o, gka_opt_id_t id) {
    return o->text[id];
}
static inline long gka_opt_long(const gka_opts_t *o, gka_opt_id_t id) {
    return o->num[id];
}
static inline uint64_t gka_opt_u64(const gka_opts_t *o, gka_opt_id_t id) {
    return o->u64[id];
}
static inline double gka_opt_real(const gka_opts_t *o, gka_opt_id_t id) {
    return o->real[id];
}
/* Items of a list option (INT list or NAMES). */
size_t gka_opt_count(const gka_opts_t *o, gka_opt_id_t id);
long gka_opt_long_at(const gka_opts_t *o, gka_opt_id_t id, size_t i);
const char *gka_opt_name_at(const gka_opts_t *o, gka_opt_id_t id, size_t i);

/* The option of `cmd` called `name` (without "--"), or -1. */
int gka_opt_find(gka_cmd_id_t cmd, const char *name);
/* The index in argv of the first positional argument of `cmd` (option
 * values skipped, by the table), or argc. */
int gka_opts_first_positional(gka_cmd_id_t cmd, int argc, char **argv);

/* `gka CMD --help` text, and the whole man page (roff), from the table. */
void gka_cli_print_help(FILE *f, gka_cmd_id_t cmd);
/* The options of cmd, by section, without those for which skip(name, ctx)
 * is nonzero (skip NULL: all): for help texts that list some options apart. */
void gka_cli_print_options(FILE *f, gka_cmd_id_t cmd,
                           int (*skip)(const char *name, const void *ctx), const void *ctx);
void gka_cli_print_man(FILE *f, const char *version);
/* The --help lines of the options of `cmd` that need one of `needs`. */
void gka_cli_print_options_needing(FILE *f, gka_cmd_id_t cmd, unsigned needs);

#endif
