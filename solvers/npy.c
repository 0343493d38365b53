/* numpy .npy reader (format versions 1.0, 2.0, 3.0; see numpy's
 * lib/format.py and NEP 1). Strict: the header dict is parsed by a small
 * recursive-descent reader of exactly the Python literal subset numpy
 * writes, every length is checked against the buffer before it is used, and
 * the data must fill the rest of the file exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_data.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Cursor over the header bytes [p, end). */
typedef struct cursor {
    const unsigned char *p, *end;
    const char *file;
} cursor_t;

static gka_status_t bad(const cursor_t *c, const char *what) {
    return gka_error(GKA_EFORMAT, "%s: malformed .npy header: %s", c->file, what);
}

static void skip_spaces(cursor_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int accept(cursor_t *c, char ch) {
    skip_spaces(c);
    if (c->p < c->end && *c->p == (unsigned char)ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, copied into out (size cap). */
static gka_status_t read_string(cursor_t *c, char *out, size_t cap) {
    skip_spaces(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return bad(c, "expected a quoted string");
    unsigned char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p < 0x20) return bad(c, "escape or control character in a string");
        if (n + 1 >= cap) return bad(c, "string too long");
        out[n++] = (char)*c->p++;
    }
    if (c->p >= c->end) return bad(c, "unterminated string");
    c->p++;
    out[n] = '\0';
    return GKA_OK;
}

static gka_status_t read_bool(cursor_t *c, int *out) {
    skip_spaces(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *out = 1;
    } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *out = 0;
    } else {
        return bad(c, "fortran_order is not True or False");
    }
    return GKA_OK;
}

/* Non-negative decimal integer, no leading zeros, optional Python 2 'L'. */
static gka_status_t read_dim(cursor_t *c, uint64_t *out) {
    skip_spaces(c);
    const unsigned char *start = c->p;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return gka_error(GKA_ERANGE, "%s: .npy shape dimension overflows", c->file);
        v = v * 10 + d;
        c->p++;
    }
    if (c->p == start) return bad(c, "expected a non-negative integer in shape");
    if (c->p - start > 1 && *start == '0') return bad(c, "leading zero in a shape dimension");
    if (c->p < c->end && *c->p == 'L') c->p++;
    *out = v;
    return GKA_OK;
}

/* "(" [dim ("," dim)* [","]] ")"; a one-element tuple needs its comma. */
static gka_status_t read_shape(cursor_t *c, gka_array_view_t *a) {
    if (!accept(c, '(')) return bad(c, "shape is not a tuple");
    a->ndim = 0;
    if (accept(c, ')')) return GKA_OK;
    int trailing_comma = 0;
    for (;;) {
        if (a->ndim >= GKA_DATA_NDIM_MAX)
            return gka_error(GKA_ERANGE, "%s: .npy shape has more than %d dimensions", c->file,
                             GKA_DATA_NDIM_MAX);
        gka_status_t st = read_dim(c, &a->shape[a->ndim]);
        if (st) return st;
        a->ndim++;
        trailing_comma = accept(c, ',');
        if (accept(c, ')')) break;
        if (!trailing_comma) return bad(c, "expected ',' or ')' in shape");
    }
    if (a->ndim == 1 && !trailing_comma)
        return bad(c, "shape (n) is not a tuple; numpy writes (n,)");
    return GKA_OK;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

typedef struct header {
    char descr[32];
    int fortran;
    int structured; /* descr was a list (structured dtype) */
    gka_array_view_t view;
} header_t;

static gka_status_t read_entry(cursor_t *c, header_t *h, unsigned *seen) {
    char key[32];
    gka_status_t st = read_string(c, key, sizeof key);
    if (st) return st;
    if (!accept(c, ':')) return bad(c, "expected ':' after a key");
    unsigned bit = strcmp(key, "descr") == 0           ? KEY_DESCR
                   : strcmp(key, "fortran_order") == 0 ? KEY_FORTRAN
                   : strcmp(key, "shape") == 0         ? KEY_SHAPE
                                                       : 0u;
    if (!bit)
        return gka_error(GKA_EFORMAT, "%s: malformed .npy header: unknown key '%s'", c->file, key);
    if (*seen & bit)
        return gka_error(GKA_EFORMAT, "%s: malformed .npy header: duplicate key '%s'", c->file,
                         key);
    *seen |= bit;
    if (bit == KEY_DESCR) {
        skip_spaces(c);
        if (c->p < c->end && *c->p == '[') {
            h->structured = 1; /* rejected by the caller; no need to parse it */
            return GKA_OK;
        }
        return read_string(c, h->descr, sizeof h->descr);
    }
    if (bit == KEY_FORTRAN) return read_bool(c, &h->fortran);
    return read_shape(c, &h->view);
}

/* The dict, then spaces, then the final '\n'. */
static gka_status_t read_header_dict(cursor_t *c, header_t *h) {
    if (c->end == c->p || c->end[-1] != '\n') return bad(c, "header does not end with a newline");
    c->end--;
    if (!accept(c, '{')) return bad(c, "header is not a dict");
    unsigned seen = 0;
    while (!accept(c, '}')) {
        gka_status_t st = read_entry(c, h, &seen);
        if (st || h->structured) return st;
        if (!accept(c, ',')) {
            if (!accept(c, '}')) return bad(c, "expected ',' or '}' in the dict");
            break;
        }
    }
    if (seen != (KEY_DESCR | KEY_FORTRAN | KEY_SHAPE))
        return bad(c, "dict needs exactly the keys 'descr', 'fortran_order', 'shape'");
    while (c->p < c->end && *c->p == ' ')
        c->p++;
    if (c->p != c->end) return bad(c, "bytes after the dict other than space padding");
    return GKA_OK;
}

static gka_status_t apply_descr(const char *file, header_t *h, size_t *itemsize) {
    if (h->structured)
        return gka_error(GKA_EINVAL, "%s: unsupported dtype: structured array", file);
    const char *d = h->descr;
    if ((d[0] == '<' || d[0] == '>') && d[1] == 'f' && d[3] == '\0') {
        h->view.big_endian = d[0] == '>';
        if (d[2] == '2') {
            h->view.dtype = GKA_DTYPE_F16;
            *itemsize = 2;
            return GKA_OK;
        }
        if (d[2] == '4') {
            h->view.dtype = GKA_DTYPE_F32;
            *itemsize = 4;
            return GKA_OK;
        }
        if (d[2] == '8') {
            h->view.dtype = GKA_DTYPE_F64;
            *itemsize = 8;
            return GKA_OK;
        }
    }
    return gka_error(GKA_EINVAL, "%s: unsupported dtype '%s' (need <f2, <f4, <f8 or >f2, >f4, >f8)",
                     file, d);
}

/* Data byte count = product(shape) * itemsize, or GKA_ERANGE. */
static gka_status_t data_size(const char *file, const gka_array_view_t *a, size_t itemsize,
                              size_t *out) {
    uint64_t n = itemsize;
    for (int j = 0; j < a->ndim; j++) {
        if (a->shape[j] != 0 && n > (uint64_t)GKA_DATA_FILE_MAX / a->shape[j])
            return gka_error(GKA_ERANGE, "%s: .npy shape describes more than %zu bytes", file,
                             (size_t)GKA_DATA_FILE_MAX);
        n *= a->shape[j];
    }
    *out = (size_t)n;
    return GKA_OK;
}

gka_status_t gka_npy_parse(const unsigned char *buf, size_t len, const char *name,
                           gka_array_view_t *out) {
    const char *file = name ? name : "<memory>";
    if (out) memset(out, 0, sizeof *out);
    if (!out || (!buf && len)) return gka_error(GKA_EINVAL, "%s: NULL argument", file);
    if (len < 10 || memcmp(buf, npy_magic, sizeof npy_magic) != 0)
        return gka_error(GKA_EFORMAT, "%s: not a .npy file (%s)", file,
                         len < 10 && (len < 6 || memcmp(buf, npy_magic, 6) == 0)
                             ? "truncated before the header length"
                             : "bad magic");
    unsigned major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return gka_error(GKA_EFORMAT, "%s: unsupported .npy format version %u.%u", file, major,
                         minor);
    size_t start = major == 1 ? 10 : 12;
    if (len < start) return gka_error(GKA_EFORMAT, "%s: truncated before the header length", file);
    size_t hlen = major == 1 ? (size_t)buf[8] | (size_t)buf[9] << 8
                             : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                                   (size_t)buf[11] << 24;
    if (hlen > (size_t)GKA_DATA_HEADER_MAX)
        return gka_error(GKA_ERANGE, "%s: .npy header length %zu exceeds the limit %ld", file, hlen,
                         GKA_DATA_HEADER_MAX);
    if (hlen > len - start)
        return gka_error(GKA_EFORMAT, "%s: truncated header: it declares %zu bytes, %zu remain",
                         file, hlen, len - start);
    header_t h;
    memset(&h, 0, sizeof h);
    cursor_t c = {buf + start, buf + start + hlen, file};
    gka_status_t st = read_header_dict(&c, &h);
    size_t itemsize = 0, nbytes = 0;
    if (!st) st = apply_descr(file, &h, &itemsize);
    if (!st && h.fortran)
        st = gka_error(GKA_EINVAL, "%s: fortran_order True is not supported (save C order)", file);
    if (!st) st = data_size(file, &h.view, itemsize, &nbytes);
    if (st) return st;
    size_t have = len - start - hlen;
    if (have < nbytes)
        return gka_error(GKA_EFORMAT,
                         "%s: truncated data: shape and dtype need %zu bytes, %zu present", file,
                         nbytes, have);
    if (have > nbytes)
        return gka_error(GKA_EFORMAT, "%s: %zu trailing bytes after the data", file, have - nbytes);
    *out = h.view;
    out->data = buf + start + hlen;
    out->nbytes = nbytes;
    return GKA_OK;
}

gka_status_t gka_trace_from_npy_buffers(const gka_npy_buffers_t *in, const gka_load_options_t *opt,
                                        gka_trace_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!in || !out) return gka_error(GKA_EINVAL, "npy: NULL argument");
    gka_load_options_t o = opt ? *opt : gka_load_options_default();
    const gka_buffer_t *bufs[GKA_ROLE_COUNT] = {&in->queries, &in->keys, &in->values, &in->gates,
                                                &in->beta};
    gka_array_view_t views[GKA_ROLE_COUNT];
    const gka_array_view_t *vp[GKA_ROLE_COUNT] = {0};
    const char *files[GKA_ROLE_COUNT];
    for (int r = 0; r < GKA_ROLE_COUNT; r++) {
        files[r] = bufs[r]->name ? bufs[r]->name : "<memory>";
        if (!bufs[r]->data) continue;
        gka_status_t st = gka_npy_parse(bufs[r]->data, bufs[r]->len, files[r], &views[r]);
        if (st) return st;
        vp[r] = &views[r];
    }
    char origin[GKA_TRACE_ORIGIN_MAX];
    snprintf(origin, sizeof origin, "npy:%s[b=%ld,h=%ld]", files[GKA_ROLE_K], o.batch, o.head);
    return gka_trace_from_views(vp, files, &o, origin, out);
}

gka_status_t gka_trace_load_npy_paths(const gka_npy_paths_t *paths, const gka_load_options_t *opt,
                                      gka_trace_t *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!paths || !out) return gka_error(GKA_EINVAL, "npy: NULL argument");
    if (!paths->keys) return gka_error(GKA_EINVAL, "npy: a keys file is required");
    const char *p[GKA_ROLE_COUNT] = {paths->queries, paths->keys, paths->values, paths->gates,
                                     paths->beta};
    gka_buffer_t b[GKA_ROLE_COUNT];
    unsigned char *data[GKA_ROLE_COUNT] = {0};
    memset(b, 0, sizeof b);
    gka_status_t st = GKA_OK;
    for (int r = 0; r < GKA_ROLE_COUNT && !st; r++) {
        if (!p[r]) continue;
        st = gka_read_file(p[r], &data[r], &b[r].len);
        b[r].data = data[r];
        b[r].name = p[r];
    }
    if (!st) {
        gka_npy_buffers_t in = {.queries = b[GKA_ROLE_Q],
                                .keys = b[GKA_ROLE_K],
                                .values = b[GKA_ROLE_V],
                                .gates = b[GKA_ROLE_G],
                                .beta = b[GKA_ROLE_BETA]};
        st = gka_trace_from_npy_buffers(&in, opt, out);
    }
    for (int r = 0; r < GKA_ROLE_COUNT; r++)
        free(data[r]);
    return st;
}

gka_status_t gka_trace_load_npy(const char *keys_path, const char *queries_path,
                                const char *gates_path, const char *beta_path, long b, long h,
                                gka_trace_t *out) {
    gka_npy_paths_t paths = {
        .keys = keys_path, .queries = queries_path, .gates = gates_path, .beta = beta_path};
    gka_load_options_t o = gka_load_options_default();
    o.batch = b;
    o.head = h;
    return gka_trace_load_npy_paths(&paths, &o, out);
}
