/* The TOML parser of grid files (experiments/sweep_toml.c) against Python's
 * tomllib: the same verdict (valid or not) and the same values on the
 * shipped grids, the fuzz corpus, hand-written cases (tests/data/toml) and a
 * generated corpus of ~600 documents, half of them mutated into invalid
 * TOML. Positions in messages are checked separately. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_sweep.h"

/* ---- the canonical dump (tests/data/toml/tomllib_dump.py prints the same) -- */

typedef struct {
    char *d;
    size_t n, cap;
} out_t;

static void emit(out_t *o, const char *s, size_t n) {
    if (o->n + n + 1 > o->cap) {
        o->cap = 2 * (o->n + n + 1);
        o->d = realloc(o->d, o->cap);
        cr_assert_not_null(o->d);
    }
    memcpy(o->d + o->n, s, n);
    o->n += n;
    o->d[o->n] = '\0';
}

static void emit_hex(out_t *o, const char *s, size_t n) {
    char h[3];
    for (size_t i = 0; i < n; i++) {
        snprintf(h, sizeof h, "%02x", (unsigned char)s[i]);
        emit(o, h, 2);
    }
}

static const gka_toml_t *sort_table;
static int by_key(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t li = sort_table->keylen[i], lj = sort_table->keylen[j];
    int c = memcmp(sort_table->key[i], sort_table->key[j], li < lj ? li : lj);
    return c ? c : (li > lj) - (li < lj);
}

static void dump(out_t *o, const gka_toml_t *v) {
    char buf[64];
    switch (v->kind) {
    case GKA_TOML_BOOL:
        emit(o, v->b ? "b1" : "b0", 2);
        break;
    case GKA_TOML_INTEGER:
        snprintf(buf, sizeof buf, "i%lld", v->i);
        emit(o, buf, strlen(buf));
        break;
    case GKA_TOML_FLOAT:
        if (isnan(v->f)) {
            snprintf(buf, sizeof buf, "%s", signbit(v->f) ? "f-nan" : "fnan");
        } else {
            uint64_t bits;
            memcpy(&bits, &v->f, sizeof bits);
            snprintf(buf, sizeof buf, "f%016" PRIx64, bits);
        }
        emit(o, buf, strlen(buf));
        break;
    case GKA_TOML_STRING:
        emit(o, "s", 1);
        emit_hex(o, v->str, v->len);
        break;
    case GKA_TOML_ARRAY:
        emit(o, "[", 1);
        for (size_t i = 0; i < v->n; i++) {
            if (i) emit(o, ",", 1);
            dump(o, v->item[i]);
        }
        emit(o, "]", 1);
        break;
    case GKA_TOML_TABLE: {
        size_t *order = malloc((v->n + 1) * sizeof *order);
        for (size_t i = 0; i < v->n; i++)
            order[i] = i;
        sort_table = v;
        qsort(order, v->n, sizeof *order, by_key);
        emit(o, "{", 1);
        for (size_t i = 0; i < v->n; i++) {
            if (i) emit(o, ",", 1);
            emit_hex(o, v->key[order[i]], v->keylen[order[i]]);
            emit(o, "=", 1);
            dump(o, v->item[order[i]]);
        }
        emit(o, "}", 1);
        free(order);
        break;
    }
    }
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return s;
}

/* "OK <dump>" or "ERR" for one file, as the python side prints it. */
static char *verdict(const char *path) {
    size_t len;
    char *text = slurp(path, &len);
    gka_toml_t *doc = NULL;
    out_t o = {0};
    if (gka_toml_parse(text, len, path, &doc) == GKA_OK) {
        emit(&o, "OK ", 3);
        dump(&o, doc);
        gka_toml_free(doc);
    } else {
        emit(&o, "ERR", 3);
    }
    free(text);
    return o.d;
}

/* ---- the corpus ----------------------------------------------------------- */

enum { MAX_FILES = 2000 };
static char *files[MAX_FILES];
static int nfiles;

static void add_dir(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name), m = strlen(suffix);
        if (n < m || strcmp(e->d_name + n - m, suffix) != 0) continue;
        cr_assert_lt(nfiles, MAX_FILES);
        files[nfiles] = malloc(strlen(dir) + n + 2);
        sprintf(files[nfiles++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
}

Test(sweep_toml, agrees_with_tomllib) {
    if (system("python3 -c 'import tomllib' >/dev/null 2>&1") != 0)
        cr_skip_test("python3 with tomllib (3.11+) not found: TOML cross-check not run");
    char tmp[] = "/tmp/gka_toml_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    const char *script = GKA_SOURCE_DIR "/tests/data/toml/tomllib_dump.py";
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "python3 '%s' generate '%s' 600 14", script, tmp);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    add_dir(tmp, ".toml");
    add_dir(GKA_SOURCE_DIR "/tests/data/toml/valid", ".toml");
    add_dir(GKA_SOURCE_DIR "/tests/data/toml/invalid", ".toml");
    add_dir(GKA_SOURCE_DIR "/experiments/grids", ".toml");
    add_dir(GKA_SOURCE_DIR "/tests/fuzz/corpus/grid", ".toml");
    /* one python run over all files (argument list in a file: xargs keeps order) */
    char list[4200], ref[4200];
    snprintf(list, sizeof list, "%s/files.txt", tmp);
    snprintf(ref, sizeof ref, "%s/ref.txt", tmp);
    FILE *f = fopen(list, "w");
    for (int i = 0; i < nfiles; i++)
        fprintf(f, "%s\n", files[i]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "xargs -d '\\n' -a '%s' python3 '%s' dump > '%s'", list, script, ref);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    FILE *r = fopen(ref, "r");
    cr_assert_not_null(r);
    static char line[1 << 20];
    int ok = 0, err = 0, skip = 0;
    for (int i = 0; i < nfiles; i++) {
        cr_assert_not_null(fgets(line, sizeof line, r), "tomllib output cut short at %s", files[i]);
        line[strcspn(line, "\n")] = '\0';
        const int valid_case = strstr(files[i], "/toml/valid/") != NULL;
        const int invalid_case = strstr(files[i], "/toml/invalid/") != NULL;
        if (valid_case) cr_assert(!strncmp(line, "OK ", 3), "tomllib refuses %s", files[i]);
        if (invalid_case) cr_assert_str_eq(line, "ERR", "tomllib accepts %s", files[i]);
        if (!strcmp(line, "SKIP")) { /* dates, integers beyond 64 bits: not grid values */
            skip++;
            continue;
        }
        char *mine = verdict(files[i]);
        size_t len;
        char *text = slurp(files[i], &len);
        cr_assert_str_eq(mine, line, "%s disagrees with tomllib (%s)\n--- document ---\n%s\n---",
                         files[i], !strcmp(mine, "ERR") ? gka_error_message() : "accepted", text);
        free(text);
        free(mine);
        if (!strcmp(line, "ERR"))
            err++;
        else
            ok++;
    }
    fclose(r);
    /* a corpus that is all valid or all invalid would prove little */
    cr_assert_gt(ok, 150, "only %d valid documents", ok);
    cr_assert_gt(err, 150, "only %d invalid documents", err);
    cr_assert_lt(skip, 60, "%d documents skipped", skip);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

/* ---- positions ------------------------------------------------------------ */

static void expect_at(const char *text, const char *where) {
    gka_toml_t *doc = NULL;
    cr_assert_neq(gka_toml_parse(text, strlen(text), "p.toml", &doc), GKA_OK, "accepted: %s", text);
    cr_assert(strstr(gka_error_message(), where) != NULL, "'%s': message '%s' lacks '%s'", text,
              gka_error_message(), where);
}

Test(sweep_toml, errors_name_line_and_column) {
    expect_at("a = 1\nb = 01\n", "p.toml:2:6:");
    expect_at("a = \"x\\q\"\n", "p.toml:1:7: unescaped");
    expect_at("[t]\nx = 1\n[t]\n", "p.toml:3:1: table defined twice");
    expect_at("a = [1,\n  2\n  3]\n", "p.toml:3:3: expected ',' or ']'");
    expect_at("a = 1\na = 2\n", "p.toml:2:1: key 'a' defined twice");
    expect_at("s = \"caf\xc3\xa9\" x\n", "p.toml:1:12: expected the end of the line");
    expect_at("d = 1979-05-27\n", "p.toml:1:5: dates and times");
    expect_at("x = \"\xff\"\n", "not valid UTF-8");
    expect_at("x = 99999999999999999999\n", "64-bit");
}

Test(sweep_toml, values_of_each_type) {
    const char *text = "s = 'lit'\ni = 0x_1\n";
    gka_toml_t *doc = NULL;
    cr_assert_neq(gka_toml_parse(text, strlen(text), "v", &doc), GKA_OK, "0x_1 accepted");
    text = "[axes]\nD = 1_024\nf = 1.5e3\nb = true\nu = \"\\u00e9\"\n";
    cr_assert_eq(gka_toml_parse(text, strlen(text), "v", &doc), GKA_OK, "%s", gka_error_message());
    const gka_toml_t *axes = gka_toml_get(doc, "axes");
    cr_assert_not_null(axes);
    cr_assert_eq(gka_toml_get(axes, "D")->i, 1024);
    cr_assert_eq(gka_toml_get(axes, "f")->f, 1500.0);
    cr_assert_eq(gka_toml_get(axes, "b")->b, 1);
    cr_assert_str_eq(gka_toml_get(axes, "u")->str, "\xc3\xa9");
    cr_assert_eq(gka_toml_get(axes, "u")->line, 5);
    cr_assert_eq(gka_toml_get(axes, "u")->col, 5);
    gka_toml_free(doc);
}

Test(sweep_toml, shipped_grid_is_toml_and_loads) {
    static gka_sweep_grid_t g;
    cr_assert_eq(gka_sweep_grid_load(GKA_SOURCE_DIR "/experiments/grids/stability.toml", &g),
                 GKA_OK, "%s", gka_error_message());
    cr_assert_eq(g.ncells, 144);
    cr_assert_eq(g.every, 64);
    cr_assert_str_eq(g.name, "stability");
}
