/* TOML 1.0 documents for grid files: strings (basic, literal, multi-line,
 * every escape), integers (decimal, hex, octal, binary, underscores), floats
 * (inf, nan, underscores), booleans, arrays (multi-line, comments, trailing
 * comma), tables, inline tables, arrays of tables, dotted and quoted keys.
 * Dates and times are the one TOML type a grid never uses: they are refused
 * with a message. The rules on redefining tables follow TOML 1.0 as Python's
 * tomllib applies them (tests/unit/test_sweep_toml.c compares the two). */
#include "gka_sweep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_EXPLICIT = 1, F_FROZEN = 2, F_AOT = 4 }; /* node flags */

typedef struct {
    const char *s; /* text, CRLF already turned into LF */
    size_t n, pos;
    const char *file;
    gka_toml_t *root;
    gka_toml_t **pending; /* tables made by dotted keys in this section */
    size_t npending, cappending;
} parser_t;

/* ---- nodes ----------------------------------------------------------------- */

static gka_toml_t *node_new(gka_toml_kind_t kind, int line, int col) {
    gka_toml_t *v = calloc(1, sizeof *v);
    if (v) v->kind = kind, v->line = line, v->col = col;
    return v;
}

void gka_toml_free(gka_toml_t *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        gka_toml_free(v->item[i]);
        if (v->key) free(v->key[i]);
    }
    free(v->item);
    free(v->key);
    free(v->keylen);
    free(v->str);
    free(v);
}

static int node_push(gka_toml_t *t, char *key, size_t keylen, gka_toml_t *item) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        gka_toml_t **it = realloc(t->item, cap * sizeof *it);
        if (!it) return 0;
        t->item = it;
        if (t->kind == GKA_TOML_TABLE) {
            char **k = realloc(t->key, cap * sizeof *k);
            if (!k) return 0;
            t->key = k;
            size_t *kl = realloc(t->keylen, cap * sizeof *kl);
            if (!kl) return 0;
            t->keylen = kl;
        }
        t->cap = cap;
    }
    if (t->kind == GKA_TOML_TABLE) t->key[t->n] = key, t->keylen[t->n] = keylen;
    t->item[t->n++] = item;
    return 1;
}

static gka_toml_t *table_find(const gka_toml_t *t, const char *key, size_t len) {
    for (size_t i = 0; i < t->n; i++)
        if (t->keylen[i] == len && !memcmp(t->key[i], key, len)) return t->item[i];
    return NULL;
}

const gka_toml_t *gka_toml_get(const gka_toml_t *table, const char *key) {
    return table && table->kind == GKA_TOML_TABLE ? table_find(table, key, strlen(key)) : NULL;
}

/* ---- positions and errors -------------------------------------------------- */

static void where(const parser_t *p, size_t pos, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < pos && i < p->n; i++) {
        if (p->s[i] == '\n')
            l++, c = 1;
        else if (((unsigned char)p->s[i] & 0xC0) != 0x80) /* count characters, not bytes */
            c++;
    }
    *line = l, *col = c;
}

static gka_status_t fail_at(const parser_t *p, size_t pos, const char *msg) {
    int line, col;
    where(p, pos, &line, &col);
    return gka_error(GKA_EINVAL, "%s:%d:%d: %s", p->file, line, col, msg);
}

static int at(const parser_t *p, size_t i) {
    return i < p->n ? (unsigned char)p->s[i] : -1;
}

static int starts(const parser_t *p, const char *w) {
    size_t k = strlen(w);
    return p->n - p->pos >= k && !memcmp(p->s + p->pos, w, k);
}

static int is_ctrl(int c) {
    return (c >= 0 && c < 0x20) || c == 0x7f;
}

static void skip_ws(parser_t *p) {
    while (at(p, p->pos) == ' ' || at(p, p->pos) == '\t')
        p->pos++;
}

static gka_status_t skip_comment(parser_t *p) {
    if (at(p, p->pos) != '#') return GKA_OK;
    for (p->pos++; p->pos < p->n && p->s[p->pos] != '\n'; p->pos++)
        if (is_ctrl(at(p, p->pos)) && p->s[p->pos] != '\t')
            return fail_at(p, p->pos, "control character in a comment");
    return GKA_OK;
}

/* whitespace, newlines and comments between array elements */
static gka_status_t skip_array_space(parser_t *p) {
    for (;;) {
        int c = at(p, p->pos);
        if (c == ' ' || c == '\t' || c == '\n') {
            p->pos++;
        } else if (c == '#') {
            gka_status_t st = skip_comment(p);
            if (st) return st;
        } else {
            return GKA_OK;
        }
    }
}

/* ---- strings --------------------------------------------------------------- */

typedef struct {
    char *d;
    size_t n, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->d = d, b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = '\0';
}

static void put_utf8(buf_t *b, unsigned long cp) {
    char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    put(b, u, n);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* After a backslash at p->pos. */
static gka_status_t escape(parser_t *p, buf_t *b, int multiline) {
    const size_t start = p->pos;
    int c = at(p, p->pos + 1);
    if (multiline && (c == ' ' || c == '\t' || c == '\n')) {
        /* line-ending backslash: drop the newline and the whitespace after */
        p->pos++;
        skip_ws(p);
        if (at(p, p->pos) != '\n') return fail_at(p, start, "unescaped '\\' in a string");
        while (at(p, p->pos) == ' ' || at(p, p->pos) == '\t' || at(p, p->pos) == '\n')
            p->pos++;
        return GKA_OK;
    }
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *e = c > 0 ? strchr(from, c) : NULL;
    if (e) {
        put(b, &to[e - from], 1);
        p->pos += 2;
        return GKA_OK;
    }
    if (c != 'u' && c != 'U') return fail_at(p, start, "unescaped '\\' in a string");
    const int len = c == 'u' ? 4 : 8;
    unsigned long cp = 0;
    for (int i = 0; i < len; i++) {
        int h = hexval(at(p, p->pos + 2 + (size_t)i));
        if (h < 0) return fail_at(p, start, "invalid \\u or \\U escape (expected hex digits)");
        cp = cp * 16 + (unsigned long)h;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail_at(p, start, "escaped character is not a Unicode scalar value");
    put_utf8(b, cp);
    p->pos += 2 + (size_t)len;
    return GKA_OK;
}

/* Basic string from after its opening quote(s); multi-line ends at """. */
static gka_status_t basic_string(parser_t *p, buf_t *b, int multiline) {
    for (;;) {
        int c = at(p, p->pos);
        if (c < 0) return fail_at(p, p->pos, "unterminated string");
        if (c == '"') {
            if (!multiline) {
                p->pos++;
                return GKA_OK;
            }
            if (starts(p, "\"\"\"")) {
                p->pos += 3;
                return GKA_OK;
            }
            put(b, "\"", 1);
            p->pos++;
            continue;
        }
        if (c == '\\') {
            gka_status_t st = escape(p, b, multiline);
            if (st) return st;
            continue;
        }
        if (c == '\n' && !multiline) return fail_at(p, p->pos, "unterminated string");
        if (is_ctrl(c) && c != '\t' && !(multiline && c == '\n'))
            return fail_at(p, p->pos, "control character in a string (escape it)");
        put(b, p->s + p->pos, 1);
        p->pos++;
    }
}

static gka_status_t literal_string(parser_t *p, buf_t *b, int multiline) {
    const char *close = multiline ? "'''" : "'";
    for (;;) {
        int c = at(p, p->pos);
        if (c < 0) return fail_at(p, p->pos, "unterminated string");
        if (starts(p, close)) {
            p->pos += strlen(close);
            return GKA_OK;
        }
        if (c == '\n' && !multiline) return fail_at(p, p->pos, "unterminated string");
        if (is_ctrl(c) && c != '\t' && !(multiline && c == '\n'))
            return fail_at(p, p->pos, "control character in a literal string");
        put(b, p->s + p->pos, 1);
        p->pos++;
    }
}

/* A string at p->pos (any of the four forms); keys allow one-line forms only. */
static gka_status_t string(parser_t *p, buf_t *b, int allow_multiline) {
    const int q = at(p, p->pos);
    const char tri[4] = {(char)q, (char)q, (char)q, '\0'};
    gka_status_t st;
    if (allow_multiline && starts(p, tri)) {
        p->pos += 3;
        if (at(p, p->pos) == '\n') p->pos++; /* a newline right after the opening is dropped */
        st = q == '"' ? basic_string(p, b, 1) : literal_string(p, b, 1);
        /* one or two quotes right before the closing three belong to the string */
        for (int extra = 0; st == GKA_OK && extra < 2 && at(p, p->pos) == q; extra++, p->pos++)
            put(b, tri, 1);
    } else {
        p->pos++;
        st = q == '"' ? basic_string(p, b, 0) : literal_string(p, b, 0);
    }
    if (st == GKA_OK && b->oom) return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
    if (st == GKA_OK && !b->d) put(b, "", 0);
    return b->oom ? gka_error(GKA_ENOMEM, "%s: out of memory", p->file) : st;
}

/* ---- keys ------------------------------------------------------------------ */

typedef struct {
    char *part[64];
    size_t len[64];
    size_t pos[64];
    int n;
} dotted_key_t;

static void key_free(dotted_key_t *k) {
    for (int i = 0; i < k->n; i++)
        free(k->part[i]);
    k->n = 0;
}

static int bare_char(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static gka_status_t key_part(parser_t *p, dotted_key_t *k) {
    if (k->n == 64) return fail_at(p, p->pos, "key with more than 64 dotted parts");
    buf_t b = {0};
    const size_t start = p->pos;
    int c = at(p, p->pos);
    if (bare_char(c)) {
        while (bare_char(at(p, p->pos)))
            p->pos++;
        put(&b, p->s + start, p->pos - start);
    } else if (c == '"' || c == '\'') {
        gka_status_t st = string(p, &b, 0);
        if (st) {
            free(b.d);
            return st;
        }
    } else {
        return fail_at(p, p->pos, "invalid character at the start of a key");
    }
    if (b.oom) return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
    k->part[k->n] = b.d, k->len[k->n] = b.n, k->pos[k->n] = start;
    k->n++;
    return GKA_OK;
}

static gka_status_t key(parser_t *p, dotted_key_t *k) {
    k->n = 0;
    gka_status_t st = key_part(p, k);
    for (skip_ws(p); st == GKA_OK && at(p, p->pos) == '.'; skip_ws(p)) {
        p->pos++;
        skip_ws(p);
        st = key_part(p, k);
    }
    return st;
}

/* ---- tables: the TOML 1.0 rules on defining them once ---------------------- */

/* The table a path of parts leads to inside `t` (an array of tables: its last
 * element), or NULL where a part is missing or not a table. */
static gka_toml_t *descend(gka_toml_t *v) {
    return v && v->kind == GKA_TOML_ARRAY && v->n ? v->item[v->n - 1] : v;
}

/* Whether the node at key[0..n) (from `t`) has `flag`; F_FROZEN also counts
 * when set on any table above (it is recursive). */
static int has_flag(gka_toml_t *t, const dotted_key_t *k, int n, int flag) {
    for (int i = 0; i < n; i++) {
        gka_toml_t *v =
            t && t->kind == GKA_TOML_TABLE ? table_find(t, k->part[i], k->len[i]) : NULL;
        if (!v) return 0;
        if (i == n - 1) return (v->flags & flag) != 0;
        if (v->flags & F_FROZEN) return flag == F_FROZEN;
        t = descend(v);
    }
    return 0;
}

static gka_toml_t *add_table(parser_t *p, gka_toml_t *t, const dotted_key_t *k, int i) {
    int line, col;
    where(p, k->pos[i], &line, &col);
    gka_toml_t *v = node_new(GKA_TOML_TABLE, line, col);
    char *name = malloc(k->len[i] + 1);
    if (!v || !name || !node_push(t, name, k->len[i], v)) {
        free(v), free(name);
        return NULL;
    }
    memcpy(name, k->part[i], k->len[i] + 1);
    return v;
}

/* Walk (creating tables) key[0..n) from t; NULL with an error where a part is
 * a value other than a table (or, without lists, an array). */
static gka_status_t nest(parser_t *p, gka_toml_t *t, const dotted_key_t *k, int n, int lists,
                         gka_toml_t **out) {
    for (int i = 0; i < n; i++) {
        gka_toml_t *v = table_find(t, k->part[i], k->len[i]);
        if (!v && !(v = add_table(p, t, k, i)))
            return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
        if (lists) v = descend(v);
        if (!v || v->kind != GKA_TOML_TABLE)
            return fail_at(p, k->pos[i], "cannot overwrite a value with a table");
        t = v;
    }
    *out = t;
    return GKA_OK;
}

static gka_status_t add_pending(parser_t *p, gka_toml_t *t) {
    if (p->npending == p->cappending) {
        size_t cap = p->cappending ? 2 * p->cappending : 16;
        gka_toml_t **q = realloc(p->pending, cap * sizeof *q);
        if (!q) return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
        p->pending = q, p->cappending = cap;
    }
    p->pending[p->npending++] = t;
    return GKA_OK;
}

/* Tables made by dotted keys cannot be reopened by a later [header]. */
static void finalize_pending(parser_t *p) {
    for (size_t i = 0; i < p->npending; i++)
        p->pending[i]->flags |= F_EXPLICIT;
    p->npending = 0;
}

/* ---- values ---------------------------------------------------------------- */

static gka_status_t value(parser_t *p, gka_toml_t **out, int depth);

static int digit_in(int c, int base) {
    if (base == 16) return hexval(c) >= 0;
    return c >= '0' && c < '0' + base;
}

/* digits (base) with single underscores between them; 0 if none at pos */
static size_t digits(const parser_t *p, size_t pos, int base) {
    size_t i = pos;
    if (!digit_in(at(p, i), base)) return 0;
    for (i++;; i++) {
        if (digit_in(at(p, i), base)) continue;
        if (at(p, i) == '_' && digit_in(at(p, i + 1), base)) continue;
        break;
    }
    return i - pos;
}

static int looks_like_date(const parser_t *p) {
    size_t i = p->pos, d = 0;
    while (at(p, i + d) >= '0' && at(p, i + d) <= '9')
        d++;
    return (d == 4 && at(p, i + 4) == '-') || (d == 2 && at(p, i + 2) == ':');
}

static gka_status_t number(parser_t *p, gka_toml_t *v) {
    const size_t start = p->pos;
    size_t i = start;
    int base = 10;
    if (at(p, i) == '0' && (at(p, i + 1) == 'x' || at(p, i + 1) == 'o' || at(p, i + 1) == 'b')) {
        base = at(p, i + 1) == 'x' ? 16 : at(p, i + 1) == 'o' ? 8 : 2;
        size_t n = digits(p, i + 2, base);
        if (!n) return fail_at(p, start, "invalid number");
        i += 2 + n;
    } else {
        if (at(p, i) == '+' || at(p, i) == '-') i++;
        if (at(p, i) == '0')
            i++;
        else if (at(p, i) >= '1' && at(p, i) <= '9')
            i += digits(p, i, 10);
        else
            return fail_at(p, start, "invalid value");
        size_t n;
        if (at(p, i) == '.' && (n = digits(p, i + 1, 10))) i += 1 + n, v->kind = GKA_TOML_FLOAT;
        if (at(p, i) == 'e' || at(p, i) == 'E') {
            size_t j = i + 1;
            if (at(p, j) == '+' || at(p, j) == '-') j++;
            if ((n = digits(p, j, 10))) i = j + n, v->kind = GKA_TOML_FLOAT;
        }
    }
    char text[128];
    size_t k = 0;
    for (size_t j = start + (base != 10 ? 2 : 0); j < i; j++)
        if (p->s[j] != '_') {
            if (k + 1 >= sizeof text) return fail_at(p, start, "number longer than 126 digits");
            text[k++] = p->s[j];
        }
    text[k] = '\0';
    p->pos = i;
    errno = 0;
    char *end = NULL;
    if (v->kind == GKA_TOML_FLOAT) {
        v->f = strtod(text, &end); /* overflow gives +-inf, as in Python's float() */
        return GKA_OK;
    }
    v->kind = GKA_TOML_INTEGER;
    if (base == 10)
        v->i = strtoll(text, &end, 10);
    else {
        unsigned long long u = strtoull(text, &end, base);
        if (u > (unsigned long long)INT64_MAX) errno = ERANGE;
        v->i = (long long)u;
    }
    if (errno == ERANGE) return fail_at(p, start, "integer outside the 64-bit range");
    return GKA_OK;
}

static gka_status_t array(parser_t *p, gka_toml_t *v, int depth) {
    p->pos++;
    gka_status_t st = skip_array_space(p);
    if (st) return st;
    if (at(p, p->pos) == ']') {
        p->pos++;
        return GKA_OK;
    }
    for (;;) {
        gka_toml_t *item = NULL;
        if ((st = value(p, &item, depth + 1))) return st;
        if (!node_push(v, NULL, 0, item)) {
            gka_toml_free(item);
            return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
        }
        if ((st = skip_array_space(p))) return st;
        int c = at(p, p->pos);
        if (c == ']') break;
        if (c != ',') return fail_at(p, p->pos, "expected ',' or ']' in an array");
        p->pos++;
        if ((st = skip_array_space(p))) return st;
        if (at(p, p->pos) == ']') break;
    }
    p->pos++;
    return GKA_OK;
}

/* `key = value`: the key (in k) and the value (in *out). */
static gka_status_t key_value(parser_t *p, dotted_key_t *k, gka_toml_t **out, int depth) {
    gka_status_t st = key(p, k);
    if (st) return st;
    if (at(p, p->pos) != '=') return fail_at(p, p->pos, "expected '=' after a key");
    p->pos++;
    skip_ws(p);
    return value(p, out, depth);
}

static gka_status_t put_value(parser_t *p, gka_toml_t *t, const dotted_key_t *k, gka_toml_t *v) {
    const int last = k->n - 1;
    if (table_find(t, k->part[last], k->len[last])) {
        char msg[160];
        snprintf(msg, sizeof msg, "key '%.100s' defined twice", k->part[last]);
        return fail_at(p, k->pos[last], msg);
    }
    char *name = malloc(k->len[last] + 1);
    if (!name || !node_push(t, name, k->len[last], v)) {
        free(name);
        return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
    }
    memcpy(name, k->part[last], k->len[last] + 1);
    if (v->kind == GKA_TOML_TABLE || v->kind == GKA_TOML_ARRAY) v->flags |= F_FROZEN;
    return GKA_OK;
}

static gka_status_t inline_table(parser_t *p, gka_toml_t *v, int depth) {
    p->pos++;
    skip_ws(p);
    if (at(p, p->pos) == '}') {
        p->pos++;
        return GKA_OK;
    }
    for (;;) {
        dotted_key_t k = {0};
        gka_toml_t *item = NULL, *t = NULL;
        gka_status_t st = key_value(p, &k, &item, depth + 1);
        if (!st && has_flag(v, &k, k.n, F_FROZEN))
            st = fail_at(p, k.pos[0], "cannot add to an inline table defined before");
        if (!st) st = nest(p, v, &k, k.n - 1, 0, &t);
        if (!st) st = put_value(p, t, &k, item);
        if (st) gka_toml_free(item);
        key_free(&k);
        if (st) return st;
        skip_ws(p);
        int c = at(p, p->pos);
        if (c == '}') break;
        if (c != ',') return fail_at(p, p->pos, "expected ',' or '}' in an inline table");
        p->pos++;
        skip_ws(p);
    }
    p->pos++;
    return GKA_OK;
}

static gka_status_t value(parser_t *p, gka_toml_t **out, int depth) {
    int line, col;
    where(p, p->pos, &line, &col);
    if (depth > 100) return fail_at(p, p->pos, "values nested more than 100 deep");
    gka_toml_t *v = node_new(GKA_TOML_STRING, line, col);
    if (!v) return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
    gka_status_t st = GKA_OK;
    int c = at(p, p->pos);
    if (c == '"' || c == '\'') {
        buf_t b = {0};
        st = string(p, &b, 1);
        v->str = b.d, v->len = b.n;
    } else if (starts(p, "true") || starts(p, "false")) {
        v->kind = GKA_TOML_BOOL;
        v->b = c == 't';
        p->pos += v->b ? 4 : 5;
    } else if (c == '[') {
        v->kind = GKA_TOML_ARRAY;
        st = array(p, v, depth);
    } else if (c == '{') {
        v->kind = GKA_TOML_TABLE;
        st = inline_table(p, v, depth);
    } else if (looks_like_date(p)) {
        st = fail_at(p, p->pos, "dates and times are not grid values");
    } else if (starts(p, "inf") || starts(p, "nan") || starts(p, "+inf") || starts(p, "-inf") ||
               starts(p, "+nan") || starts(p, "-nan")) {
        v->kind = GKA_TOML_FLOAT;
        const int sign = c == '-' ? -1 : 1;
        if (c == '+' || c == '-') p->pos++;
        v->f = starts(p, "inf") ? sign * (double)INFINITY : (sign < 0 ? -(double)NAN : (double)NAN);
        p->pos += 3;
    } else if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        st = number(p, v);
    } else if (c < 0 || c == '\n') {
        st = fail_at(p, p->pos, "missing value");
    } else if (bare_char(c)) {
        size_t e = p->pos;
        while (bare_char(at(p, e)))
            e++;
        char msg[160];
        snprintf(msg, sizeof msg, "'%.*s' is not a TOML value (a string needs quotes: \"%.*s\")",
                 (int)(e - p->pos > 40 ? 40 : e - p->pos), p->s + p->pos,
                 (int)(e - p->pos > 40 ? 40 : e - p->pos), p->s + p->pos);
        st = fail_at(p, p->pos, msg);
    } else {
        st = fail_at(p, p->pos, "invalid value");
    }
    if (st) {
        gka_toml_free(v);
        return st;
    }
    *out = v;
    return GKA_OK;
}

/* ---- statements ------------------------------------------------------------ */

static gka_status_t key_value_statement(parser_t *p, gka_toml_t *section) {
    dotted_key_t k = {0};
    gka_toml_t *v = NULL, *t = NULL;
    gka_status_t st = key_value(p, &k, &v, 0);
    /* the tables a dotted key passes through: not tables defined by a
     * header, and closed to headers once this section ends */
    for (int i = 0; !st && i + 1 < k.n; i++)
        if (has_flag(section, &k, i + 1, F_EXPLICIT))
            st = fail_at(p, k.pos[i], "dotted key redefines a table defined before");
    if (!st && k.n > 1 && has_flag(section, &k, k.n - 1, F_FROZEN))
        st = fail_at(p, k.pos[0], "cannot add to an inline table or array defined before");
    if (!st) st = nest(p, section, &k, k.n - 1, 1, &t);
    for (int i = 0; !st && i + 1 < k.n; i++) {
        gka_toml_t *c;
        if (nest(p, section, &k, i + 1, 1, &c) == GKA_OK) st = add_pending(p, c);
    }
    if (!st) st = put_value(p, t, &k, v);
    if (st) gka_toml_free(v);
    key_free(&k);
    return st;
}

/* [a.b]: the table, created or (if only implied so far by a longer header)
 * marked defined; a table defined before, by a header or dotted keys, or an
 * inline table is refused. */
static gka_status_t table_header(parser_t *p, const dotted_key_t *k, size_t start,
                                 gka_toml_t **out) {
    if (has_flag(p->root, k, k->n, F_EXPLICIT) || has_flag(p->root, k, k->n, F_FROZEN))
        return fail_at(p, start, "table defined twice");
    gka_toml_t *t;
    gka_status_t st = nest(p, p->root, k, k->n, 1, &t);
    if (st) return st;
    t->flags |= F_EXPLICIT;
    *out = t;
    return GKA_OK;
}

/* [[a.b]]: a new table appended to the array of tables a.b (created on
 * first use); a static array or any other value under that key is refused. */
static gka_status_t array_header(parser_t *p, const dotted_key_t *k, size_t start,
                                 gka_toml_t **out) {
    if (has_flag(p->root, k, k->n, F_FROZEN))
        return fail_at(p, start, "cannot append to an array defined as a value");
    gka_toml_t *parent;
    gka_status_t st = nest(p, p->root, k, k->n - 1, 1, &parent);
    if (st) return st;
    const int last = k->n - 1;
    gka_toml_t *arr = table_find(parent, k->part[last], k->len[last]);
    if (arr && !(arr->kind == GKA_TOML_ARRAY && (arr->flags & F_AOT)))
        return fail_at(p, start, "cannot overwrite a value with an array of tables");
    int line, col;
    where(p, start, &line, &col);
    if (!arr) {
        char *name = malloc(k->len[last] + 1);
        arr = node_new(GKA_TOML_ARRAY, line, col);
        if (!name || !arr || !node_push(parent, name, k->len[last], arr)) {
            free(name), free(arr);
            return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
        }
        memcpy(name, k->part[last], k->len[last] + 1);
        arr->flags = F_AOT;
    }
    arr->flags |= F_EXPLICIT; /* [arr] after [[arr]] is a second definition */
    gka_toml_t *t = node_new(GKA_TOML_TABLE, line, col);
    if (!t || !node_push(arr, NULL, 0, t)) {
        free(t);
        return gka_error(GKA_ENOMEM, "%s: out of memory", p->file);
    }
    *out = t;
    return GKA_OK;
}

/* [a.b] or [[a.b]] at p->pos; *section becomes the table it opens. */
static gka_status_t header_statement(parser_t *p, gka_toml_t **section) {
    const size_t start = p->pos;
    const int list = at(p, p->pos + 1) == '[';
    p->pos += list ? 2 : 1;
    skip_ws(p);
    dotted_key_t k = {0};
    gka_toml_t *t = NULL;
    gka_status_t st = key(p, &k);
    if (!st) st = list ? array_header(p, &k, start, &t) : table_header(p, &k, start, &t);
    key_free(&k);
    if (st) return st;
    if (!starts(p, list ? "]]" : "]"))
        return fail_at(p, p->pos,
                       list ? "expected ']]' to close the header"
                            : "expected ']' to close the header");
    p->pos += list ? 2 : 1;
    *section = t;
    return GKA_OK;
}

/* Valid UTF-8 (no overlong forms or surrogates), as a TOML document must be. */
static size_t bad_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xE0) == 0xC0 ? 2
                     : (c & 0xF0) == 0xE0 ? 3
                     : (c & 0xF8) == 0xF0 ? 4
                                          : 0;
        if (!len || i + len > n) return i + 1;
        unsigned long cp = len == 1   ? c
                           : len == 2 ? (c & 0x1F)
                           : len == 3 ? (c & 0x0F)
                                      : (c & 0x07);
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return i + 1;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        static const unsigned long min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i + 1;
        i += len;
    }
    return 0;
}

static gka_status_t document(parser_t *p) {
    gka_toml_t *section = p->root;
    for (;;) {
        skip_ws(p);
        int c = at(p, p->pos);
        gka_status_t st = GKA_OK;
        if (c == '\n') {
            p->pos++;
            continue;
        }
        if (bare_char(c) || c == '"' || c == '\'') {
            st = key_value_statement(p, section);
            skip_ws(p);
        } else if (c == '[') {
            finalize_pending(p);
            st = header_statement(p, &section);
            skip_ws(p);
        } else if (c != '#' && c >= 0) {
            st = fail_at(p, p->pos, "expected a key, a [table] header or a comment");
        }
        if (!st) st = skip_comment(p);
        if (st) return st;
        c = at(p, p->pos);
        if (c < 0) return GKA_OK;
        if (c != '\n') return fail_at(p, p->pos, "expected the end of the line");
        p->pos++;
    }
}

gka_status_t gka_toml_parse(const char *text, size_t len, const char *file, gka_toml_t **root) {
    *root = NULL;
    /* CRLF is a newline: work on a copy with LF only (a lone CR is an error) */
    char *s = malloc(len + 1);
    if (!s) return gka_error(GKA_ENOMEM, "%s: out of memory", file);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')) s[n++] = text[i];
    s[n] = '\0';
    parser_t p = {s, n, 0, file, node_new(GKA_TOML_TABLE, 1, 1), NULL, 0, 0};
    gka_status_t st = GKA_OK;
    size_t bad = bad_utf8((const unsigned char *)s, n);
    if (!p.root)
        st = gka_error(GKA_ENOMEM, "%s: out of memory", file);
    else if (bad)
        st = fail_at(&p, bad - 1, "not valid UTF-8");
    else
        st = document(&p);
    free(p.pending);
    free(s);
    if (st) {
        gka_toml_free(p.root);
        return st;
    }
    *root = p.root;
    return GKA_OK;
}
