/* One parser for every command, and --help and the man page, from the
 * declarations of cli/option_table.c. */
#include "options.h"
#include "gka_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What each condition of gka_ctx_bit_t asks for, in words. */
static const char *const needs_phrase[GKA_CTX_COUNT] = {
    [GKA_CTX_ITERATIVE] = "an iterative solver (chebyshev, cg, gd, agd)",
    [GKA_CTX_CHUNK] = "the chunk form (--chunk C)",
    [GKA_CTX_TOKEN_FORM] = "the token form (the chunk form runs r cold iterations: no warm "
                           "start, tolerance or history)",
    [GKA_CTX_CHUNKABLE] = "a solver with a chunk form (chebyshev, cg, gd, agd, cholesky; "
                          "kalman is a recursion over the tokens)",
    [GKA_CTX_ITERATES] = "iterates: an iterative solver (chebyshev, cg, gd, agd), or the chunk "
                         "form",
    [GKA_CTX_CHUNKED_GRADIENT] = "the chunked gradient (--solver chebyshev --grad-mode implicit)",
    [GKA_CTX_SYNTHETIC] = "synthetic data (no --keys F.npy, no --trace)",
    [GKA_CTX_KEYS_FILE] = "keys from a file (--keys F.npy)",
    [GKA_CTX_BATCHED_FILE] = "an input file of shape [B,T,H,D]",
    [GKA_CTX_WRITE_GATES] = "write gates beta_t (--beta SPEC, --betas F.npy, or a trace with "
                            "beta)",
    [GKA_CTX_TRACE_FIGURE] = "the figure 'trace'",
};

/* The same, short, for the annotations of --help. */
static const char *const needs_short[GKA_CTX_COUNT] = {
    [GKA_CTX_ITERATIVE] = "iterative solvers only",
    [GKA_CTX_CHUNK] = "with --chunk only",
    [GKA_CTX_TOKEN_FORM] = "token form only",
    [GKA_CTX_CHUNKABLE] = "not with kalman",
    [GKA_CTX_ITERATES] = "iterative solvers or the chunk form",
    [GKA_CTX_CHUNKED_GRADIENT] = "gradients: chebyshev implicit only",
    [GKA_CTX_SYNTHETIC] = "synthetic data only",
    [GKA_CTX_KEYS_FILE] = "with --keys F.npy only",
    [GKA_CTX_BATCHED_FILE] = "[B,T,H,D] files only",
    [GKA_CTX_WRITE_GATES] = "with write gates only",
    [GKA_CTX_TRACE_FIGURE] = "figure 'trace' only",
};

gka_cmd_id_t gka_cli_command_by_name(const char *name) {
    for (int c = 0; c < GKA_CMD_COUNT; c++)
        if (!strcmp(gka_cli_command(c)->name, name)) return c;
    return GKA_CMD_COUNT;
}

static int takes(const gka_opt_decl_t *d, gka_cmd_id_t cmd) {
    return (d->cmds & GKA_IN(cmd)) != 0;
}

static const char *default_for(const gka_opt_decl_t *d, gka_cmd_id_t cmd) {
    for (size_t i = 0; i < sizeof d->alt / sizeof d->alt[0]; i++)
        if (d->alt[i].cmds & GKA_IN(cmd)) return d->alt[i].def;
    return d->def;
}

static int has_alt(const gka_opt_decl_t *d, gka_cmd_id_t cmd) {
    for (size_t i = 0; i < sizeof d->alt / sizeof d->alt[0]; i++)
        if (d->alt[i].cmds & GKA_IN(cmd)) return 1;
    return 0;
}

static int is_list(const gka_opt_decl_t *d, gka_cmd_id_t cmd) {
    return d->type == GKA_OT_NAMES || (d->list_cmds & GKA_IN(cmd));
}

/* The option of `cmd` called `name` (without "--", `len` characters). */
static int find_option(gka_cmd_id_t cmd, const char *name, size_t len) {
    for (int id = 0; id < GKA_OPT_COUNT; id++) {
        const gka_opt_decl_t *d = gka_opt_decl(id);
        if (takes(d, cmd) && strlen(d->name) == len && !strncmp(d->name, name, len)) return id;
    }
    return -1;
}

int gka_opt_find(gka_cmd_id_t cmd, const char *name) {
    return find_option(cmd, name, strlen(name));
}

int gka_opts_first_positional(gka_cmd_id_t cmd, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) return i + 1 < argc ? i + 1 : argc;
        if (strncmp(argv[i], "--", 2) != 0) {
            if (strcmp(argv[i], "-h") != 0) return i;
            continue;
        }
        const char *name = argv[i] + 2;
        if (strchr(name, '=')) continue;
        const int id = find_option(cmd, name, strlen(name));
        if (id >= 0 && gka_opt_decl(id)->type != GKA_OT_FLAG) i++; /* its value */
    }
    return argc;
}

/* ---- values ------------------------------------------------------------- */

static int parse_long_item(const char *opt, const char *s, double lo, double hi, long *out) {
    char *end = NULL;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (!*s || *end || errno == ERANGE || *s == ' ' || *s == '+')
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: '%s' is not an integer", opt, s);
    if ((double)v < lo || (double)v > hi)
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: %ld is out of range [%.0f, %.0f]", opt, v, lo,
                            hi);
    *out = v;
    return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: '%s' is not a non-negative integer", opt, s);
    const unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: '%s' is not a 64-bit non-negative integer", opt,
                            s);
    *out = (uint64_t)v;
    return 0;
}

static int parse_real(const gka_opt_decl_t *d, const char *s, double *out) {
    char *end = NULL;
    const double v = strtod(s, &end);
    if (!*s || *end || *s == ' ')
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: '%s' is not a number", d->name, s);
    if (!isfinite(v)) return gka_cli_fail(GKA_EXIT_USAGE, "--%s: '%s' is not finite", d->name, s);
    if (v < d->lo && isinf(d->hi))
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: %s must be >= %g", d->name, s, d->lo);
    if (v < d->lo || v > d->hi)
        return gka_cli_fail(GKA_EXIT_USAGE, "--%s: %s is out of range [%g, %g]", d->name, s, d->lo,
                            d->hi);
    *out = v;
    return 0;
}

/* "a|b|c" -> "a, b or c" */
static void choices_words(const char *choices, char *buf, size_t size) {
    size_t n = 0, words = 1;
    for (const char *p = choices; *p; p++)
        words += *p == '|';
    size_t w = 0;
    buf[0] = '\0';
    for (const char *p = choices; *p && n + 8 < size; w++) {
        const size_t len = strcspn(p, "|");
        const char *sep = w == 0 ? "" : (w + 1 == words ? " or " : ", ");
        n += (size_t)snprintf(buf + n, size - n, "%s%.*s", sep, (int)len, p);
        p += len + (p[len] == '|');
    }
}

static int parse_choice(const gka_opt_decl_t *d, const char *s, long *out) {
    long index = 0;
    for (const char *p = d->choices;; index++) {
        const size_t len = strcspn(p, "|");
        if (strlen(s) == len && !strncmp(p, s, len)) {
            *out = index;
            return 0;
        }
        if (!p[len]) break;
        p += len + 1;
    }
    char words[256];
    choices_words(d->choices, words, sizeof words);
    return gka_cli_fail(GKA_EXIT_USAGE, "--%s takes %s, not '%s'", d->name, words, s);
}

/* Whether the list text after a comma continues the item before it: a spec
 * "kind:..." whose own values are comma-separated numbers or the words
 * random/cyclic (custom:t,emin,emax, lowrank:R,NOISE, uniform:LO,HI,
 * gka:A,DT_BIAS, repeated:M,random) is one item. */
static int continues_spec(const char *item, size_t len, const char *next) {
    if (!memchr(item, ':', len)) return 0;
    if (!strncmp(next, "random", 6) || !strncmp(next, "cyclic", 6)) return 1;
    return (*next >= '0' && *next <= '9') || *next == '-' || *next == '+' || *next == '.';
}

/* Length of the list item at p: up to the next comma that starts another item. */
static size_t item_length(const char *p) {
    const char *comma = strchr(p, ',');
    while (comma && continues_spec(p, (size_t)(comma - p), comma + 1))
        comma = strchr(comma + 1, ',');
    return comma ? (size_t)(comma - p) : strlen(p);
}

static int parse_list(gka_opts_t *o, int id, const char *s) {
    const gka_opt_decl_t *d = gka_opt_decl(id);
    o->list_at[id] = o->npool, o->list_n[id] = 0;
    for (const char *p = s;;) {
        const size_t len = item_length(p);
        if (len == 0)
            return gka_cli_fail(GKA_EXIT_USAGE, "--%s: empty item in the list '%s'", d->name, s);
        if (o->npool == GKA_OPTS_POOL || o->ntext + len + 1 > GKA_OPTS_TEXT)
            return gka_cli_fail(GKA_EXIT_USAGE, "--%s: the list '%.40s...' is too long", d->name,
                                s);
        char *item = o->text_pool + o->ntext;
        memcpy(item, p, len);
        item[len] = '\0';
        o->ntext += len + 1;
        if (d->type == GKA_OT_INT &&
            parse_long_item(d->name, item, d->lo, d->hi, &o->pool_num[o->npool]))
            return 1;
        o->pool_name[o->npool++] = item;
        o->list_n[id]++;
        if (!p[len]) break;
        p += len + 1;
    }
    o->num[id] = o->pool_num[o->list_at[id]];
    return 0;
}

/* Store the value `s` of option `id`; 0 or nonzero after a message. */
static int set_value(gka_opts_t *o, int id, const char *s) {
    const gka_opt_decl_t *d = gka_opt_decl(id);
    o->text[id] = s;
    if (d->type != GKA_OT_FLAG && d->type != GKA_OT_REAL && !*s)
        return gka_cli_fail(GKA_EXIT_USAGE,
                            d->type == GKA_OT_PATH  ? "--%s: empty path"
                            : d->type == GKA_OT_INT ? "--%s: '' is not an integer"
                                                    : "--%s: empty value",
                            d->name);
    if (is_list(d, o->cmd)) return parse_list(o, id, s);
    switch (d->type) {
    case GKA_OT_INT:
        return parse_long_item(d->name, s, d->lo, d->hi, &o->num[id]);
    case GKA_OT_U64:
        return parse_u64(d->name, s, &o->u64[id]);
    case GKA_OT_REAL:
        return parse_real(d, s, &o->real[id]);
    case GKA_OT_CHOICE:
        return parse_choice(d, s, &o->num[id]);
    default:
        return 0;
    }
}

/* ---- the command line --------------------------------------------------- */

static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

static int set_defaults(gka_opts_t *o) {
    for (int id = 0; id < GKA_OPT_COUNT; id++) {
        const gka_opt_decl_t *d = gka_opt_decl(id);
        const char *def = default_for(d, o->cmd);
        if (takes(d, o->cmd) && def && set_value(o, id, def))
            return gka_cli_fail(GKA_EXIT_FAIL, "internal: bad default '%s' of --%s", def, d->name);
    }
    return 0;
}

static int positional(gka_opts_t *o, const char *arg) {
    const gka_cli_command_t *c = gka_cli_command(o->cmd);
    if (o->nargs < c->max_args && o->nargs < GKA_OPTS_MAX_ARGS) {
        o->args[o->nargs++] = arg;
        return 0;
    }
    if (c->max_args == 0)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: unexpected argument '%s' (see gka %s --help)",
                            c->name, arg, c->name);
    if (c->max_args == 1)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: more than one %s ('%s')", c->name, c->args_what,
                            arg);
    return gka_cli_fail(GKA_EXIT_USAGE, "%s: more than %d arguments", c->name, c->max_args);
}

/* One "--name[=value]" at argv[*i]. */
static int option(gka_opts_t *o, int argc, char **argv, int *i) {
    const gka_cli_command_t *c = gka_cli_command(o->cmd);
    const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
    const size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const int id = find_option(o->cmd, name, len);
    if (id < 0)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: unknown option '%.*s' (see gka %s --help)",
                            c->name, (int)len + 2, arg, c->name);
    const gka_opt_decl_t *d = gka_opt_decl(id);
    if (o->given[id])
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: option --%s is given twice", c->name, d->name);
    o->given[id] = 1;
    if (d->type == GKA_OT_FLAG) {
        if (eq) return gka_cli_fail(GKA_EXIT_USAGE, "option --%s takes no value", d->name);
        return 0;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!eq) {
        /* "--csv --warm" is a forgotten value, not a file named --warm
           (write --csv=--warm for that). */
        if (*i + 1 >= argc)
            return gka_cli_fail(GKA_EXIT_USAGE, "option --%s needs a value", d->name);
        if (!strncmp(argv[*i + 1], "--", 2))
            return gka_cli_fail(GKA_EXIT_USAGE,
                                "option --%s needs a value (found the option '%s'; write "
                                "--%s=VALUE for a value that starts with --)",
                                d->name, argv[*i + 1], d->name);
        value = argv[++*i];
    }
    return set_value(o, id, value);
}

static int check_given(const gka_opts_t *o) {
    const gka_cli_command_t *c = gka_cli_command(o->cmd);
    for (int id = 0; id < GKA_OPT_COUNT; id++) {
        const gka_opt_decl_t *d = gka_opt_decl(id);
        if (!takes(d, o->cmd)) continue;
        if ((d->required_cmds & GKA_IN(o->cmd)) && !o->given[id])
            return gka_cli_fail(GKA_EXIT_USAGE, "%s: --%s is required (see gka %s --help)", c->name,
                                d->name, c->name);
        if (!o->given[id]) continue;
        for (int other = 0; other < GKA_OPT_COUNT; other++)
            if (other > id && o->given[other] &&
                ((d->excludes & GKA_OPT_BIT(other)) ||
                 (gka_opt_decl(other)->excludes & GKA_OPT_BIT(id))))
                return gka_cli_fail(GKA_EXIT_USAGE, "%s: --%s and --%s are exclusive", c->name,
                                    d->name, gka_opt_decl(other)->name);
    }
    if (o->nargs < c->min_args)
        return gka_cli_fail(GKA_EXIT_USAGE, "%s: no %s given (see gka %s --help)", c->name,
                            c->args_what, c->name);
    return 0;
}

int gka_opts_parse(gka_cmd_id_t cmd, int argc, char **argv, gka_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    if (wants_help(argc, argv)) {
        gka_cli_print_help(stdout, cmd);
        return ferror(stdout) ? GKA_EXIT_FAIL : GKA_EXIT_OK;
    }
    if (set_defaults(o)) return GKA_EXIT_FAIL;
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int bad;
        if (!only_args && !strcmp(a, "--"))
            only_args = 1, bad = 0;
        else if (!only_args && !strncmp(a, "--", 2))
            bad = option(o, argc, argv, &i);
        else
            bad = positional(o, a);
        if (bad) return GKA_EXIT_USAGE;
    }
    return check_given(o) ? GKA_EXIT_USAGE : -1;
}

static int needs_of(const gka_opt_decl_t *d, gka_cmd_id_t cmd) {
    return !d->needs_cmds || (d->needs_cmds & GKA_IN(cmd)) ? (int)d->needs : 0;
}

int gka_opts_check_context(const gka_opts_t *o, const gka_opt_context_t *ctx) {
    const gka_cli_command_t *c = gka_cli_command(o->cmd);
    for (int id = 0; id < GKA_OPT_COUNT; id++) {
        if (!o->given[id]) continue;
        const gka_opt_decl_t *d = gka_opt_decl(id);
        const unsigned missing = (unsigned)needs_of(d, o->cmd) & ~(ctx->holds | c->holds_always);
        for (int b = 0; b < GKA_CTX_COUNT; b++)
            if (missing & GKA_NEEDS(b))
                return gka_cli_fail(GKA_EXIT_USAGE, "%s: --%s does not apply %s: it needs %s",
                                    c->name, d->name, ctx->absent[b] ? ctx->absent[b] : "here",
                                    needs_phrase[b]);
    }
    return -1;
}

size_t gka_opt_count(const gka_opts_t *o, gka_opt_id_t id) {
    return o->list_n[id];
}

long gka_opt_long_at(const gka_opts_t *o, gka_opt_id_t id, size_t i) {
    return i < o->list_n[id] ? o->pool_num[o->list_at[id] + i] : 0;
}

const char *gka_opt_name_at(const gka_opts_t *o, gka_opt_id_t id, size_t i) {
    return i < o->list_n[id] ? o->pool_name[o->list_at[id] + i] : NULL;
}

/* ---- help and man page -------------------------------------------------- */

/* The words after an option's help: range, default, where it applies. */
static void annotations(const gka_opt_decl_t *d, gka_cmd_id_t cmd, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...)                                                                                   \
    n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s", n ? "; " : ""),                  \
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__)
    if (is_list(d, cmd) && d->type == GKA_OT_INT) ADD("a comma list");
    if (d->type == GKA_OT_INT) ADD("%.0f..%.0f", d->lo, d->hi);
    if (d->type == GKA_OT_REAL) ADD(isinf(d->hi) ? ">= %g" : "%g..%g", d->lo, d->hi);
    if (d->required_cmds & GKA_IN(cmd)) ADD("required");
    const char *def = default_for(d, cmd);
    if (def && !(d->required_cmds & GKA_IN(cmd)))
        ADD("default %s", def);
    else if (d->def_note && !has_alt(d, cmd)) /* an alt of NULL: no default here */
        ADD("default: %s", d->def_note);
    const unsigned needs = (unsigned)needs_of(d, cmd) & ~gka_cli_command(cmd)->holds_always;
    for (int b = 0; b < GKA_CTX_COUNT; b++)
        if (needs & GKA_NEEDS(b)) ADD("%s", needs_short[b]);
    for (int other = 0; other < GKA_OPT_COUNT; other++)
        if ((d->excludes & GKA_OPT_BIT(other)) && takes(gka_opt_decl(other), cmd))
            ADD("not with --%s", gka_opt_decl(other)->name);
#undef ADD
}

/* Print `text` wrapped at `width` columns, every line indented by `indent`
 * except the first, which starts at column `col`. */
static void wrap(FILE *f, const char *text, int col, int indent, int width) {
    const char *p = text;
    while (*p) {
        const size_t len = strcspn(p, " ");
        if (col > indent && col + 1 + (int)len > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)len, p);
        col += (int)len;
        p += len;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

static const char *const sections[] = {"general",  "problem", "arithmetic", "solver",
                                       "gradient", "output",  "benchmark",  "run"};

static void usage_line(FILE *f, const gka_cli_command_t *c, int roff) {
    if (roff)
        fprintf(f, ".B gka %s\n[\\fIOPTIONS\\fR]%s%s\n", c->name, c->args ? " " : "",
                c->args ? c->args : "");
    else
        fprintf(f, "usage: gka %s [OPTIONS]%s%s\n", c->name, c->args ? " " : "",
                c->args ? c->args : "");
}

static void help_line(FILE *f, const gka_opt_decl_t *d, gka_cmd_id_t cmd) {
    char head[96], more[512], text[1024];
    snprintf(head, sizeof head, "  --%s%s%s", d->name, d->metavar ? " " : "",
             d->metavar ? d->metavar : "");
    annotations(d, cmd, more, sizeof more);
    snprintf(text, sizeof text, "%s%s%s%s", d->help, *more ? " (" : "", more, *more ? ")" : "");
    fputs(head, f);
    int col = (int)strlen(head);
    if (col > 23) fprintf(f, "\n"), col = 0;
    fprintf(f, "%*s", 24 - col, "");
    wrap(f, text, 24, 24, 79);
}

void gka_cli_print_options(FILE *f, gka_cmd_id_t cmd,
                           int (*skip)(const char *name, const void *ctx), const void *ctx) {
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        int shown = 0;
        for (int id = 0; id < GKA_OPT_COUNT; id++) {
            const gka_opt_decl_t *d = gka_opt_decl(id);
            if (!takes(d, cmd) || strcmp(d->section, sections[s])) continue;
            if (skip && skip(d->name, ctx)) continue;
            if (!shown++) fprintf(f, "\n%s:\n", sections[s]);
            help_line(f, d, cmd);
        }
    }
}

void gka_cli_print_help(FILE *f, gka_cmd_id_t cmd) {
    const gka_cli_command_t *c = gka_cli_command(cmd);
    usage_line(f, c, 0);
    fputc('\n', f);
    wrap(f, c->about, 0, 0, 79);
    gka_cli_print_options(f, cmd, NULL, NULL);
    if (c->notes) fputc('\n', f), wrap(f, c->notes, 0, 0, 79);
    fprintf(f, "\nExit status: 0 ok, 1 runtime failure, 2 bad usage or input.\n");
}

void gka_cli_print_options_needing(FILE *f, gka_cmd_id_t cmd, unsigned needs) {
    for (int id = 0; id < GKA_OPT_COUNT; id++) {
        const gka_opt_decl_t *d = gka_opt_decl(id);
        if (takes(d, cmd) && ((unsigned)needs_of(d, cmd) & needs)) help_line(f, d, cmd);
    }
}

/* roff text: backslashes and hyphens escaped; a line never starts with a
 * control character. */
static void roff(FILE *f, const char *s) {
    if (*s == '.' || *s == '\'') fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

static void man_options(FILE *f, gka_cmd_id_t cmd) {
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        int shown = 0;
        for (int id = 0; id < GKA_OPT_COUNT; id++) {
            const gka_opt_decl_t *d = gka_opt_decl(id);
            if (!takes(d, cmd) || strcmp(d->section, sections[s])) continue;
            if (!shown++) fprintf(f, ".PP\n\\fI%s:\\fR\n", sections[s]);
            fputs(".TP\n\\fB", f);
            roff(f, "--");
            roff(f, d->name);
            fputs("\\fR", f);
            if (d->metavar) fputs(" \\fI", f), roff(f, d->metavar), fputs("\\fR", f);
            fputc('\n', f);
            char more[512];
            annotations(d, cmd, more, sizeof more);
            roff(f, d->help);
            if (*more) fputs(" (", f), roff(f, more), fputc(')', f);
            fputc('\n', f);
        }
    }
}

void gka_cli_print_man(FILE *f, const char *version) {
    fprintf(f, ".\\\" Generated by `gka --man` from the option table (cli/option_table.c).\n");
    fprintf(f, ".TH GKA 1 \"\" \"gka %s\" \"User Commands\"\n", version);
    fputs(".SH NAME\ngka \\- numerics of the Gated KalmaNet ridge solve in emulated low "
          "precision\n.SH SYNOPSIS\n.B gka\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n"
          ".B gka\n\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR | \\fB\\-\\-man\\fR\n"
          ".SH DESCRIPTION\n",
          f);
    roff(f, "gka runs the online ridge regression x_t = (H_t + lambda_t I)^-1 q_t of Gated "
            "KalmaNet with the solvers and number formats under study, measures them against "
            "references, and reproduces the project's figures. Every option is written "
            "--name VALUE or --name=VALUE; an option that does not apply to the solver or the "
            "data at hand is refused with a message saying why.");
    fputs("\n.SH COMMANDS\n", f);
    for (int c = 0; c < GKA_CMD_COUNT; c++) {
        const gka_cli_command_t *cd = gka_cli_command(c);
        fprintf(f, ".TP\n\\fBgka %s\\fR\n", cd->name);
        roff(f, cd->summary);
        fputc('\n', f);
    }
    /* the GPU benchmark is built with CUDA only and parses its own options */
    fputs(".TP\n\\fBgka bench gpu\\fR\n", f);
    roff(f, "GPU kernels: check against the CPU model, time (CUDA builds; its options: "
            "gka bench gpu --help)");
    fputc('\n', f);
    for (int c = 0; c < GKA_CMD_COUNT; c++) {
        const gka_cli_command_t *cd = gka_cli_command(c);
        fprintf(f, ".SH \"GKA %s\"\n", cd->name);
        usage_line(f, cd, 1);
        fputs(".PP\n", f);
        roff(f, cd->about);
        fputc('\n', f);
        man_options(f, c);
        if (cd->notes) fputs(".PP\n", f), roff(f, cd->notes), fputc('\n', f);
    }
    if (gka_cli_print_figure_params_man) gka_cli_print_figure_params_man(f);
    fputs(".SH \"EXIT STATUS\"\n.TP\n0\nsuccess\n.TP\n1\na failure while running (out of "
          "memory, a write error, interrupted, a cell of a sweep failed)\n.TP\n2\nbad usage or "
          "bad input (an unknown or inapplicable option, a value out of range, a malformed "
          "file)\n",
          f);
    fputs(".SH ENVIRONMENT\n.TP\nSOURCE_DATE_EPOCH\nfixes the date written into CSV "
          "metadata\n.TP\nOMP_NUM_THREADS\nOpenMP threads where \\fB\\-\\-threads\\fR is not "
          "given\n",
          f);
}
