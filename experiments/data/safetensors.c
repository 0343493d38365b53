/* .safetensors reader (format of huggingface/safetensors): 8-byte
 * little-endian header size N, N bytes of JSON, then the byte buffer. The
 * JSON is read by a small strict parser that knows the fixed shape of the
 * header (object of tensor-info objects plus "__metadata__"), so it never
 * recurses; every string is checked as UTF-8, every integer for overflow,
 * every offset against the buffer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "gka_data.h"

typedef struct json {
    const unsigned char *p, *end;
    const unsigned char *base; /* start of the file, for byte positions */
    const char *file;
} json_t;

static gka_status_t bad(const json_t *j, const char *what) {
    return gka_error(GKA_EFORMAT, "%s: malformed safetensors header at byte %ld: %s", j->file,
                     (long)(j->p - j->base), what);
}

static void ws(json_t *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int accept(json_t *j, char ch) {
    ws(j);
    if (j->p < j->end && *j->p == (unsigned char)ch) {
        j->p++;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Strings: UTF-8 validated, escapes decoded, into a growable buffer        */
/* ------------------------------------------------------------------------ */

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf_t;

static int sb_put(strbuf_t *b, const char *src, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) return -1;
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, src, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

static size_t utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF rejected). */
static size_t utf8_valid(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out) {
    if (end - p < 4) return -1;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = p[k];
        unsigned d = c >= '0' && c <= '9'   ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : 16u;
        if (d == 16) return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* \uXXXX (and its low surrogate when XXXX is a high one); j->p is after 'u'. */
static gka_status_t read_unicode_escape(json_t *j, uint32_t *cp) {
    if (hex4(j->p, j->end, cp)) return bad(j, "bad \\u escape");
    j->p += 4;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return bad(j, "lone low surrogate in \\u escape");
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        uint32_t lo;
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, j->end, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return bad(j, "unpaired high surrogate in \\u escape");
        j->p += 6;
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return GKA_OK;
}

static gka_status_t read_escape(json_t *j, strbuf_t *b) {
    if (j->p >= j->end) return bad(j, "unterminated string");
    unsigned char c = *j->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    char out[4];
    size_t n = 1;
    if (hit) {
        out[0] = to[hit - from];
    } else if (c == 'u') {
        uint32_t cp = 0; /* set by read_unicode_escape; 0 quiets -Wmaybe-uninitialized at -O3 */
        gka_status_t st = read_unicode_escape(j, &cp);
        if (st) return st;
        if (cp == 0) return bad(j, "NUL character in a string");
        n = utf8_encode(cp, out);
    } else {
        return bad(j, "invalid escape in a string");
    }
    if (sb_put(b, out, n))
        return gka_error(GKA_ENOMEM, "%s: out of memory reading the header", j->file);
    return GKA_OK;
}

/* A JSON string into b (reset first). */
static gka_status_t read_string(json_t *j, strbuf_t *b) {
    b->n = 0;
    if (sb_put(b, "", 0))
        return gka_error(GKA_ENOMEM, "%s: out of memory reading the header", j->file);
    if (!accept(j, '"')) return bad(j, "expected a string");
    for (;;) {
        if (j->p >= j->end) return bad(j, "unterminated string");
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return GKA_OK;
        }
        if (c < 0x20) return bad(j, "control character in a string");
        if (c == '\\') {
            j->p++;
            gka_status_t st = read_escape(j, b);
            if (st) return st;
            continue;
        }
        size_t n = utf8_valid(j->p, j->end);
        if (!n) return bad(j, "invalid UTF-8 in a string");
        if (sb_put(b, (const char *)j->p, n))
            return gka_error(GKA_ENOMEM, "%s: out of memory reading the header", j->file);
        j->p += n;
    }
}

/* A non-negative JSON integer (no sign, fraction or exponent). */
static gka_status_t read_uint(json_t *j, uint64_t *out) {
    ws(j);
    const unsigned char *start = j->p;
    uint64_t v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return gka_error(GKA_ERANGE, "%s: integer in the safetensors header overflows",
                             j->file);
        v = v * 10 + d;
        j->p++;
    }
    if (j->p == start) return bad(j, "expected a non-negative integer");
    if (j->p - start > 1 && *start == '0') return bad(j, "leading zero in an integer");
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return bad(j, "expected an integer, found a fraction or exponent");
    *out = v;
    return GKA_OK;
}

/* [u64, ...] with at most `cap` entries. */
static gka_status_t read_uint_array(json_t *j, uint64_t *v, int cap, int *n, const char *what) {
    if (!accept(j, '[')) return bad(j, what);
    *n = 0;
    if (accept(j, ']')) return GKA_OK;
    do {
        if (*n >= cap)
            return gka_error(GKA_ERANGE, "%s: safetensors %s has more than %d entries", j->file,
                             what, cap);
        gka_status_t st = read_uint(j, &v[*n]);
        if (st) return st;
        (*n)++;
    } while (accept(j, ','));
    if (!accept(j, ']')) return bad(j, "expected ',' or ']' in an array");
    return GKA_OK;
}

/* ------------------------------------------------------------------------ */
/* dtypes                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct dtype_info {
    const char *name;
    gka_dtype_t dtype;
    size_t size;
} dtype_info_t;

static const dtype_info_t dtypes[] = {
    {"BOOL", GKA_DTYPE_OTHER, 1},    {"U8", GKA_DTYPE_OTHER, 1},
    {"I8", GKA_DTYPE_OTHER, 1},      {"F8_E5M2", GKA_DTYPE_OTHER, 1},
    {"F8_E4M3", GKA_DTYPE_OTHER, 1}, {"F8_E8M0", GKA_DTYPE_OTHER, 1},
    {"C64", GKA_DTYPE_OTHER, 8},     {"I16", GKA_DTYPE_OTHER, 2},
    {"U16", GKA_DTYPE_OTHER, 2},     {"F16", GKA_DTYPE_F16, 2},
    {"BF16", GKA_DTYPE_BF16, 2},     {"I32", GKA_DTYPE_OTHER, 4},
    {"U32", GKA_DTYPE_OTHER, 4},     {"F32", GKA_DTYPE_F32, 4},
    {"I64", GKA_DTYPE_OTHER, 8},     {"U64", GKA_DTYPE_OTHER, 8},
    {"F64", GKA_DTYPE_F64, 8},
};

static const dtype_info_t *find_dtype(const char *name) {
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
        if (strcmp(dtypes[k].name, name) == 0) return &dtypes[k];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Header                                                                   */
/* ------------------------------------------------------------------------ */

enum { F_DTYPE = 1, F_SHAPE = 2, F_OFFSETS = 4 };

/* One tensor-info object {"dtype":..,"shape":..,"data_offsets":..}. */
static gka_status_t read_tensor_info(json_t *j, strbuf_t *key, gka_st_tensor_t *t) {
    if (!accept(j, '{')) return bad(j, "tensor info is not an object");
    unsigned seen = 0;
    if (!accept(j, '}')) {
        do {
            gka_status_t st = read_string(j, key);
            if (st) return st;
            if (!accept(j, ':')) return bad(j, "expected ':'");
            unsigned bit = strcmp(key->s, "dtype") == 0          ? F_DTYPE
                           : strcmp(key->s, "shape") == 0        ? F_SHAPE
                           : strcmp(key->s, "data_offsets") == 0 ? F_OFFSETS
                                                                 : 0u;
            if (!bit)
                return gka_error(GKA_EFORMAT, "%s: safetensors tensor '%s': unknown key '%.64s'",
                                 j->file, t->name, key->s);
            if (seen & bit)
                return gka_error(GKA_EFORMAT, "%s: safetensors tensor '%s': duplicate key '%s'",
                                 j->file, t->name, key->s);
            seen |= bit;
            if (bit == F_DTYPE) {
                if ((st = read_string(j, key))) return st;
                const dtype_info_t *d = find_dtype(key->s);
                if (!d)
                    return gka_error(GKA_EFORMAT,
                                     "%s: safetensors tensor '%s': unknown dtype '%.32s'", j->file,
                                     t->name, key->s);
                snprintf(t->dtype_name, sizeof t->dtype_name, "%s", d->name);
                t->view.dtype = d->dtype;
            } else if (bit == F_SHAPE) {
                st = read_uint_array(j, t->view.shape, GKA_DATA_NDIM_MAX, &t->view.ndim, "shape");
            } else {
                uint64_t off[3];
                int n;
                st = read_uint_array(j, off, 3, &n, "data_offsets");
                if (!st && n != 2)
                    st = gka_error(GKA_EFORMAT,
                                   "%s: safetensors tensor '%s': data_offsets needs 2 entries",
                                   j->file, t->name);
                t->begin = off[0];
                t->end = off[1];
            }
            if (st) return st;
        } while (accept(j, ','));
        if (!accept(j, '}')) return bad(j, "expected ',' or '}' in tensor info");
    }
    if (seen != (F_DTYPE | F_SHAPE | F_OFFSETS))
        return gka_error(GKA_EFORMAT,
                         "%s: safetensors tensor '%s' needs dtype, shape and data_offsets", j->file,
                         t->name);
    return GKA_OK;
}

/* "__metadata__": {"k": "v", ...} or null. */
static gka_status_t read_metadata(json_t *j, strbuf_t *tmp) {
    ws(j);
    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return GKA_OK;
    }
    if (!accept(j, '{')) return bad(j, "__metadata__ is not an object");
    if (accept(j, '}')) return GKA_OK;
    do {
        gka_status_t st = read_string(j, tmp);
        if (st) return st;
        if (!accept(j, ':')) return bad(j, "expected ':' in __metadata__");
        if ((st = read_string(j, tmp))) return st;
    } while (accept(j, ','));
    if (!accept(j, '}')) return bad(j, "expected ',' or '}' in __metadata__");
    return GKA_OK;
}

static gka_status_t push_tensor(gka_st_file_t *f, size_t *cap, const char *name, const char *file) {
    if (f->count >= GKA_DATA_TENSORS_MAX)
        return gka_error(GKA_ERANGE, "%s: more than %d tensors in the safetensors header", file,
                         GKA_DATA_TENSORS_MAX);
    if (f->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        gka_st_tensor_t *nt = realloc(f->tensors, ncap * sizeof *nt);
        if (!nt) return gka_error(GKA_ENOMEM, "%s: out of memory reading the header", file);
        f->tensors = nt;
        *cap = ncap;
    }
    gka_st_tensor_t *t = &f->tensors[f->count];
    memset(t, 0, sizeof *t);
    size_t n = strlen(name);
    t->name = malloc(n + 1);
    if (!t->name) return gka_error(GKA_ENOMEM, "%s: out of memory reading the header", file);
    memcpy(t->name, name, n + 1);
    f->count++;
    return GKA_OK;
}

static gka_status_t read_top(json_t *j, gka_st_file_t *f, strbuf_t *key, strbuf_t *tmp) {
    if (j->p >= j->end || *j->p != '{') return bad(j, "header must begin with '{'");
    j->p++;
    size_t cap = 0;
    int metadata_seen = 0;
    if (!accept(j, '}')) {
        do {
            gka_status_t st = read_string(j, key);
            if (st) return st;
            if (!accept(j, ':')) return bad(j, "expected ':'");
            if (strcmp(key->s, "__metadata__") == 0) {
                if (metadata_seen++)
                    return gka_error(GKA_EFORMAT, "%s: duplicate key '__metadata__'", j->file);
                st = read_metadata(j, tmp);
            } else {
                st = push_tensor(f, &cap, key->s, j->file);
                if (!st) st = read_tensor_info(j, tmp, &f->tensors[f->count - 1]);
            }
            if (st) return st;
        } while (accept(j, ','));
        if (!accept(j, '}')) return bad(j, "expected ',' or '}' in the header object");
    }
    ws(j);
    if (j->p != j->end)
        return bad(j, "bytes after the header object other than whitespace padding");
    return GKA_OK;
}

static int cmp_name(const void *a, const void *b) {
    const gka_st_tensor_t *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int cmp_offsets(const void *a, const void *b) {
    const gka_st_tensor_t *const *x = a, *const *y = b;
    if ((*x)->begin != (*y)->begin) return (*x)->begin < (*y)->begin ? -1 : 1;
    if ((*x)->end != (*y)->end) return (*x)->end < (*y)->end ? -1 : 1;
    return 0;
}

/* Per-tensor sizes against dtype x shape and the buffer. */
static gka_status_t check_tensor(const char *file, gka_st_tensor_t *t, uint64_t buffer_len) {
    const dtype_info_t *d = find_dtype(t->dtype_name);
    if (t->begin > t->end)
        return gka_error(GKA_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] out of order",
                         file, t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > buffer_len)
        return gka_error(GKA_EFORMAT,
                         "%s: tensor '%s': data_offsets end %llu beyond the %llu-byte buffer "
                         "(truncated data)",
                         file, t->name, (unsigned long long)t->end, (unsigned long long)buffer_len);
    uint64_t bytes = d->size;
    for (int k = 0; k < t->view.ndim; k++) {
        if (t->view.shape[k] != 0 && bytes > UINT64_MAX / t->view.shape[k])
            return gka_error(GKA_ERANGE, "%s: tensor '%s': shape overflows", file, t->name);
        bytes *= t->view.shape[k];
    }
    if (bytes != t->end - t->begin)
        return gka_error(GKA_EFORMAT,
                         "%s: tensor '%s': %s x shape needs %llu bytes but data_offsets span %llu",
                         file, t->name, t->dtype_name, (unsigned long long)bytes,
                         (unsigned long long)(t->end - t->begin));
    return GKA_OK;
}

/* Names unique; offsets tile [0, buffer_len) exactly. */
static gka_status_t check_layout(const char *file, gka_st_file_t *f, uint64_t buffer_len) {
    gka_status_t st = GKA_OK;
    gka_st_tensor_t **idx = malloc((f->count ? f->count : 1) * sizeof *idx);
    if (!idx) return gka_error(GKA_ENOMEM, "%s: out of memory", file);
    for (size_t k = 0; k < f->count; k++)
        idx[k] = &f->tensors[k];
    qsort(idx, f->count, sizeof *idx, cmp_name);
    for (size_t k = 1; k < f->count && !st; k++)
        if (strcmp(idx[k - 1]->name, idx[k]->name) == 0)
            st = gka_error(GKA_EFORMAT, "%s: duplicate tensor name '%s'", file, idx[k]->name);
    if (!st) {
        qsort(idx, f->count, sizeof *idx, cmp_offsets);
        uint64_t at = 0;
        for (size_t k = 0; k < f->count && !st; k++) {
            if (idx[k]->begin != at)
                st = gka_error(GKA_EFORMAT,
                               "%s: tensor '%s': data_offsets begin at %llu, expected %llu "
                               "(%s)",
                               file, idx[k]->name, (unsigned long long)idx[k]->begin,
                               (unsigned long long)at,
                               idx[k]->begin < at ? "overlapping tensors" : "hole in the buffer");
            at = idx[k]->end;
        }
        if (!st && at != buffer_len)
            st = gka_error(GKA_EFORMAT, "%s: %llu trailing bytes after the last tensor", file,
                           (unsigned long long)(buffer_len - at));
    }
    free(idx);
    return st;
}

void gka_st_file_free(gka_st_file_t *f) {
    if (!f) return;
    for (size_t k = 0; k < f->count; k++)
        free(f->tensors[k].name);
    free(f->tensors);
    f->tensors = NULL;
    f->count = 0;
}

gka_status_t gka_safetensors_parse(const unsigned char *buf, size_t len, const char *name,
                                   gka_st_file_t *out) {
    const char *file = name ? name : "<memory>";
    if (out) memset(out, 0, sizeof *out);
    if (!out || (!buf && len)) return gka_error(GKA_EINVAL, "%s: NULL argument", file);
    if (len < 8)
        return gka_error(GKA_EFORMAT, "%s: truncated: %zu bytes, no safetensors header length",
                         file, len);
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = (n << 8) | buf[k];
    if (n > (uint64_t)GKA_DATA_HEADER_MAX)
        return gka_error(GKA_ERANGE, "%s: safetensors header length %llu exceeds the limit %ld",
                         file, (unsigned long long)n, GKA_DATA_HEADER_MAX);
    if (n > len - 8)
        return gka_error(GKA_EFORMAT, "%s: truncated header: it declares %llu bytes, %zu remain",
                         file, (unsigned long long)n, len - 8);
    json_t j = {buf + 8, buf + 8 + n, buf, file};
    strbuf_t key = {0}, tmp = {0};
    gka_status_t st = read_top(&j, out, &key, &tmp);
    free(key.s);
    free(tmp.s);
    const unsigned char *data = buf + 8 + n;
    uint64_t buffer_len = len - 8 - n;
    for (size_t k = 0; k < out->count && !st; k++) {
        gka_st_tensor_t *t = &out->tensors[k];
        st = check_tensor(file, t, buffer_len);
        t->view.data = data + t->begin;
        t->view.nbytes = (size_t)(t->end - t->begin);
    }
    if (!st) st = check_layout(file, out, buffer_len);
    if (st) gka_st_file_free(out);
    return st;
}

static const gka_st_tensor_t *find_tensor(const gka_st_file_t *f, const char *name) {
    for (size_t k = 0; k < f->count; k++)
        if (strcmp(f->tensors[k].name, name) == 0) return &f->tensors[k];
    return NULL;
}

gka_status_t gka_trace_from_safetensors_buffer(const gka_buffer_t *in,
                                               const gka_load_options_t *opt, gka_trace_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!in || !out) return gka_error(GKA_EINVAL, "safetensors: NULL argument");
    const char *file = in->name ? in->name : "<memory>";
    gka_load_options_t o = opt ? *opt : gka_load_options_default();
    const char *names[GKA_ROLE_COUNT] = {o.name_q ? o.name_q : "q", o.name_k ? o.name_k : "k",
                                         o.name_v ? o.name_v : "v", o.name_g ? o.name_g : "g",
                                         o.name_beta ? o.name_beta : "beta"};
    gka_st_file_t f;
    gka_status_t st = gka_safetensors_parse(in->data, in->len, file, &f);
    if (st) return st;
    const gka_array_view_t *vp[GKA_ROLE_COUNT] = {0};
    const char *files[GKA_ROLE_COUNT];
    for (int r = 0; r < GKA_ROLE_COUNT && !st; r++) {
        files[r] = file;
        const gka_st_tensor_t *t = find_tensor(&f, names[r]);
        if (!t) continue;
        if (t->view.dtype == GKA_DTYPE_OTHER)
            st = gka_error(GKA_EINVAL, "%s: tensor '%s' has dtype %s; need F16, BF16, F32 or F64",
                           file, names[r], t->dtype_name);
        vp[r] = &t->view;
    }
    if (!st && !vp[GKA_ROLE_K])
        st = gka_error(GKA_EINVAL, "%s: no tensor named '%s' (the keys)", file, names[GKA_ROLE_K]);
    if (!st) {
        char origin[GKA_TRACE_ORIGIN_MAX];
        snprintf(origin, sizeof origin, "safetensors:%s[b=%ld,h=%ld]", file, o.batch, o.head);
        st = gka_trace_from_views(vp, files, &o, origin, out);
    }
    gka_st_file_free(&f);
    return st;
}

/* The file size the header of buf[0, len) describes: 8 + N + the largest
 * data_offsets end. buf holds at least the header (or the parse fails with
 * the message gka_safetensors_parse would give). */
static gka_status_t expected_size(const unsigned char *buf, size_t len, const char *file,
                                  size_t *total) {
    gka_st_file_t f = {0};
    if (len < 8) return gka_safetensors_parse(buf, len, file, &f); /* its message */
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = (n << 8) | buf[k];
    if (n > (uint64_t)GKA_DATA_HEADER_MAX || n > len - 8)
        return gka_safetensors_parse(buf, len, file, &f); /* its size message */
    json_t j = {buf + 8, buf + 8 + n, buf, file};
    strbuf_t key = {0}, tmp = {0};
    gka_status_t st = read_top(&j, &f, &key, &tmp);
    free(key.s);
    free(tmp.s);
    uint64_t end = 0;
    for (size_t k = 0; k < f.count; k++)
        if (f.tensors[k].end > end) end = f.tensors[k].end;
    gka_st_file_free(&f);
    if (st) return st;
    if (end > (uint64_t)GKA_DATA_FILE_MAX)
        return gka_error(GKA_ERANGE, "%s: data_offsets describe more than %zu bytes", file,
                         (size_t)GKA_DATA_FILE_MAX);
    *total = (size_t)(8 + n + end);
    return GKA_OK;
}

/* The 8-byte header length, the header it gives (when not over the limit),
 * and from them the file size. */
static gka_status_t st_expected_size(FILE *fp, const char *path, void *ctx, unsigned char **buf,
                                     size_t *len, size_t *total) {
    (void)ctx;
    gka_status_t st = gka_read_more(fp, path, buf, len, 8);
    if (!st && *len == 8) {
        uint64_t n = 0;
        for (int k = 7; k >= 0; k--)
            n = (n << 8) | (*buf)[k];
        if (n <= (uint64_t)GKA_DATA_HEADER_MAX) st = gka_read_more(fp, path, buf, len, (size_t)n);
    }
    if (!st) st = expected_size(*buf, *len, path, total);
    return st;
}

gka_status_t gka_safetensors_read_file(const char *path, unsigned char **data, size_t *len) {
    return gka_read_bounded(path, st_expected_size, NULL, data, len);
}

gka_status_t gka_trace_load_safetensors(const char *path, const gka_load_options_t *opt,
                                        gka_trace_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) return gka_error(GKA_EINVAL, "safetensors: NULL argument");
    unsigned char *data = NULL;
    size_t len = 0;
    gka_status_t st = gka_safetensors_read_file(path, &data, &len);
    if (!st) {
        gka_buffer_t b = {data, len, path, NULL};
        st = gka_trace_from_safetensors_buffer(&b, opt, out);
    }
    free(data);
    return st;
}
