/* numpy .npy reader (format versions 1.0, 2.0, 3.0; see numpy's
 * lib/format.py and NEP 1). Strict: the header dict is parsed by a small
 * recursive-descent reader of exactly the Python literal subset numpy
 * writes, every length is checked against the buffer before it is used, and
 * the data must fill the rest of the file exactly. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "gka_data.h"
#include "gka_io.h"

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

/* The dtype a user names for a file (FILE.npy:bf16): GKA_DTYPE_OTHER if none. */
static gka_status_t named_dtype(const char *file, const char *name, gka_dtype_t *out) {
    *out = GKA_DTYPE_OTHER;
    if (!name) return GKA_OK;
    if (gka_dtype_by_name(name, out) == GKA_OK) return GKA_OK;
    return gka_error(GKA_EINVAL, "%s: unknown dtype '%s' (bf16, f16, f32 or f64)", file, name);
}

static const char *dtype_label(gka_dtype_t dt) {
    static const char *const names[] = {"f16", "bf16", "f32", "f64"};
    return dt >= GKA_DTYPE_F16 && dt <= GKA_DTYPE_F64 ? names[dt] : "?";
}

/* descr -> dtype. Floats '<f2' '<f4' '<f8' (and '>') carry their type. Two-byte
 * records without a float type carry none: '<V2' / '|V2' (numpy + ml_dtypes
 * write bfloat16 this way) and '<u2' '<i2' (bits saved as integers) are read
 * only as the 2-byte type the user names (bf16 or f16). A named type that
 * contradicts a float descr is refused rather than reinterpreted. */
static gka_status_t apply_descr(const char *file, header_t *h, const char *dtype_name,
                                size_t *itemsize) {
    if (h->structured)
        return gka_error(GKA_EINVAL, "%s: unsupported dtype: structured array", file);
    gka_dtype_t named;
    gka_status_t st = named_dtype(file, dtype_name, &named);
    if (st) return st;
    const char *d = h->descr;
    int order_ok = d[0] == '<' || d[0] == '>';
    int two_byte_raw = (d[0] == '<' || d[0] == '|') && !strcmp(d + 1, "V2");
    int two_byte_int = order_ok && (!strcmp(d + 1, "u2") || !strcmp(d + 1, "i2"));
    if (order_ok && d[1] == 'f' && (d[2] == '2' || d[2] == '4' || d[2] == '8') && d[3] == '\0') {
        h->view.big_endian = d[0] == '>';
        h->view.dtype = d[2] == '2' ? GKA_DTYPE_F16 : d[2] == '4' ? GKA_DTYPE_F32 : GKA_DTYPE_F64;
        *itemsize = (size_t)(d[2] - '0');
        if (named != GKA_DTYPE_OTHER && named != h->view.dtype)
            return gka_error(GKA_EINVAL, "%s: the file's dtype is '%s' (%s), not %s as named", file,
                             d, dtype_label(h->view.dtype), dtype_label(named));
        return GKA_OK;
    }
    if (two_byte_raw || two_byte_int) {
        if (named == GKA_DTYPE_BF16 || named == GKA_DTYPE_F16) {
            h->view.big_endian = d[0] == '>';
            h->view.dtype = named;
            *itemsize = 2;
            return GKA_OK;
        }
        if (named != GKA_DTYPE_OTHER)
            return gka_error(GKA_EINVAL, "%s: dtype '%s' has 2-byte elements; %s has %d", file, d,
                             dtype_label(named), named == GKA_DTYPE_F32 ? 4 : 8);
        return gka_error(GKA_EINVAL,
                         "%s: dtype '%s' carries no float type (numpy + ml_dtypes save bfloat16 "
                         "as '<V2'); name it: %s:bf16 (or :f16)",
                         file, d, file);
    }
    return gka_error(GKA_EINVAL,
                     "%s: unsupported dtype '%s' (need <f2, <f4, <f8, >f2, >f4, >f8, or 2-byte "
                     "records named as FILE:bf16)",
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

/* Magic, version, header length and the header dict of buf[0, len): *h, the
 * offset of the data and its byte count. Needs only the header bytes. */
static gka_status_t parse_header(const unsigned char *buf, size_t len, const char *file,
                                 const char *dtype_name, header_t *h, size_t *data_at,
                                 size_t *nbytes) {
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
    memset(h, 0, sizeof *h);
    cursor_t c = {buf + start, buf + start + hlen, file};
    gka_status_t st = read_header_dict(&c, h);
    size_t itemsize = 0;
    if (!st) st = apply_descr(file, h, dtype_name, &itemsize);
    h->view.fortran_order = h->fortran;
    if (!st) st = data_size(file, &h->view, itemsize, nbytes);
    *data_at = start + hlen;
    return st;
}

gka_status_t gka_npy_parse_as(const unsigned char *buf, size_t len, const char *name,
                              const char *dtype, gka_array_view_t *out) {
    const char *file = name ? name : "<memory>";
    if (out) memset(out, 0, sizeof *out);
    if (!out || (!buf && len)) return gka_error(GKA_EINVAL, "%s: NULL argument", file);
    header_t h;
    size_t data_at = 0, nbytes = 0;
    gka_status_t st = parse_header(buf, len, file, dtype, &h, &data_at, &nbytes);
    if (st) return st;
    size_t have = len - data_at;
    if (have < nbytes)
        return gka_error(GKA_EFORMAT,
                         "%s: truncated data: shape and dtype need %zu bytes, %zu present", file,
                         nbytes, have);
    if (have > nbytes)
        return gka_error(GKA_EFORMAT, "%s: %zu trailing bytes after the data", file, have - nbytes);
    *out = h.view;
    out->data = buf + data_at;
    out->nbytes = nbytes;
    return GKA_OK;
}

gka_status_t gka_npy_parse(const unsigned char *buf, size_t len, const char *name,
                           gka_array_view_t *out) {
    return gka_npy_parse_as(buf, len, name, NULL, out);
}

/* The bytes a .npy file must have, from its first bytes (magic, version,
 * header length, header), read from fp into *buf; ctx: the dtype override. */
static gka_status_t npy_expected_size(FILE *fp, const char *path, void *ctx, unsigned char **buf,
                                      size_t *len, size_t *total) {
    const char *dtype = ctx;
    gka_status_t st = gka_read_more(fp, path, buf, len, 12);
    if (st) return st;
    /* the header length field says how much more to read; a short or bad
     * prefix gets parse_header's own message */
    if (*len >= 10 && !memcmp(*buf, npy_magic, sizeof npy_magic) && (*buf)[6] >= 1 &&
        (*buf)[6] <= 3) {
        size_t start = (*buf)[6] == 1 ? 10 : 12;
        size_t hlen = (size_t)(*buf)[8] | (size_t)(*buf)[9] << 8;
        if (start == 12) hlen |= (size_t)(*buf)[10] << 16 | (size_t)(*buf)[11] << 24;
        if (hlen <= (size_t)GKA_DATA_HEADER_MAX && start + hlen > *len &&
            (st = gka_read_more(fp, path, buf, len, start + hlen - *len)))
            return st;
    }
    header_t h;
    size_t data_at = 0, nbytes = 0;
    st = parse_header(*buf, *len, path, dtype, &h, &data_at, &nbytes);
    if (st) return st;
    *total = data_at + nbytes;
    return GKA_OK;
}

gka_status_t gka_npy_read_file(const char *path, const char *dtype, unsigned char **data,
                               size_t *len) {
    return gka_read_bounded(path, npy_expected_size, (void *)dtype, data, len);
}

int gka_npy_spec_split(const char *spec, char *path, size_t size, const char **dtype) {
    *dtype = NULL;
    if (!spec) return 0;
    size_t n = strlen(spec);
    const char *colon = strrchr(spec, ':');
    gka_dtype_t dt;
    if (colon && gka_dtype_by_name(colon + 1, &dt) == GKA_OK) {
        n = (size_t)(colon - spec);
        *dtype = colon + 1;
    }
    if (path && size) snprintf(path, size, "%.*s", (int)(n < size ? n : size - 1), spec);
    return n >= 4 && !memcmp(spec + n - 4, ".npy", 4) && n < size;
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
        gka_status_t st =
            gka_npy_parse_as(bufs[r]->data, bufs[r]->len, files[r], bufs[r]->dtype, &views[r]);
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
    char file[GKA_ROLE_COUNT][4096];
    gka_buffer_t b[GKA_ROLE_COUNT];
    unsigned char *data[GKA_ROLE_COUNT] = {0};
    memset(b, 0, sizeof b);
    gka_status_t st = GKA_OK;
    for (int r = 0; r < GKA_ROLE_COUNT && !st; r++) {
        if (!p[r]) continue;
        /* "k.npy:bf16" names the dtype; a path without it is used as given */
        if (!gka_npy_spec_split(p[r], file[r], sizeof file[r], &b[r].dtype))
            snprintf(file[r], sizeof file[r], "%s", p[r]), b[r].dtype = NULL;
        st = gka_npy_read_file(file[r], b[r].dtype, &data[r], &b[r].len);
        b[r].data = data[r];
        b[r].name = file[r];
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

/* ------------------------------------------------------------------------ */
/* Writing [rows, cols] float64 arrays                                      */
/* ------------------------------------------------------------------------ */

struct gka_npy_writer {
    gka_outfile_t out;
    size_t rows, cols, written;
    unsigned char *buf; /* one row, little-endian */
};

/* The version 1.0 header numpy writes: the dict padded with spaces so that
 * magic + length + dict + '\n' is a multiple of 64 bytes. */
static size_t npy_header(char *h, size_t cap, int ndim, const size_t *shape) {
    char dims[160] = "";
    size_t at = 0;
    for (int i = 0; i < ndim; i++)
        at += (size_t)snprintf(dims + at, sizeof dims - at, "%zu,%s", shape[i],
                               i + 1 < ndim ? " " : "");
    if (ndim > 1) dims[at - 1] = '\0'; /* numpy writes (T, D) but (T,) */
    int n = snprintf(h + 10, cap - 10, "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }",
                     dims);
    size_t len = 10 + (size_t)n;
    while ((len + 1) % 64)
        h[len++] = ' ';
    h[len++] = '\n';
    memcpy(h, npy_magic, sizeof npy_magic);
    h[6] = 1, h[7] = 0;
    h[8] = (char)((len - 10) & 0xff), h[9] = (char)((len - 10) >> 8);
    return len;
}

gka_status_t gka_npy_writer_open(gka_npy_writer_t **out, const char *path, size_t rows,
                                 size_t cols) {
    const size_t shape[2] = {rows, cols};
    return gka_npy_writer_open_shape(out, path, 2, shape);
}

/* "[2, 3, 4]" into buf, for messages. */
static const char *shape_text(char *buf, size_t n, int ndim, const size_t *shape) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%zu%s", shape[i], i + 1 < ndim ? ", " : "]");
    return buf;
}

gka_status_t gka_npy_writer_open_shape(gka_npy_writer_t **out, const char *path, int ndim,
                                       const size_t *shape) {
    if (!out || !path || !shape) return gka_error(GKA_EINVAL, "npy writer: NULL argument");
    *out = NULL;
    if (ndim < 1 || ndim > GKA_NPY_WRITE_MAX_DIMS)
        return gka_error(GKA_EINVAL, "%s: cannot write a %d-dimensional array (1 to %d)", path,
                         ndim, GKA_NPY_WRITE_MAX_DIMS);
    /* a row is the last dimension; the rows are every index of the others */
    const size_t cols = ndim > 1 ? shape[ndim - 1] : 1;
    size_t rows = 1, limit = (size_t)GKA_DATA_FILE_MAX / 8;
    int fits = cols > 0 && cols <= limit;
    for (int i = 0; fits && i < (ndim > 1 ? ndim - 1 : 1); i++) {
        fits = shape[i] > 0 && shape[i] <= limit / cols / rows;
        rows *= fits ? shape[i] : 1;
    }
    char st_text[128];
    if (!fits)
        return gka_error(GKA_EINVAL, "%s: cannot write a %s array (empty, or over %zu bytes)", path,
                         shape_text(st_text, sizeof st_text, ndim, shape),
                         (size_t)GKA_DATA_FILE_MAX);
    gka_npy_writer_t *w = calloc(1, sizeof *w);
    if (w) w->buf = malloc(cols * 8);
    if (!w || !w->buf) {
        if (w) free(w->buf);
        free(w);
        return gka_error(GKA_ENOMEM, "%s: out of memory", path);
    }
    gka_status_t st = gka_outfile_open(&w->out, path);
    if (st) {
        free(w->buf);
        free(w);
        return st;
    }
    char h[256];
    size_t hl = npy_header(h, sizeof h, ndim, shape);
    fwrite(h, 1, hl, w->out.fp);
    w->rows = rows, w->cols = cols;
    *out = w;
    return GKA_OK;
}

gka_status_t gka_npy_writer_row(gka_npy_writer_t *w, const double *row) {
    if (!w) return gka_error(GKA_EINVAL, "npy writer: NULL writer");
    if (w->written == w->rows)
        return gka_error(GKA_EINVAL, "%s: more than the %zu rows declared", w->out.path, w->rows);
    for (size_t j = 0; j < w->cols; j++) {
        double v = row ? row[j] : (double)NAN;
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int b = 0; b < 8; b++)
            w->buf[j * 8 + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
    fwrite(w->buf, 8, w->cols, w->out.fp);
    w->written++;
    return GKA_OK;
}

gka_status_t gka_npy_writer_commit(gka_npy_writer_t *w) {
    if (!w) return gka_error(GKA_EINVAL, "npy writer: NULL writer");
    gka_status_t st;
    if (w->written != w->rows) {
        st = gka_error(GKA_EINVAL, "%s: %zu of %zu rows written; file not kept", w->out.path,
                       w->written, w->rows);
        gka_outfile_abort(&w->out);
    } else {
        st = gka_outfile_commit(&w->out);
    }
    free(w->buf);
    free(w);
    return st;
}

gka_outfile_t *gka_npy_writer_file(gka_npy_writer_t *w) {
    if (!w) return gka_error(GKA_EINVAL, "npy writer: NULL writer"), NULL;
    if (w->written != w->rows) {
        gka_error(GKA_EINVAL, "%s: %zu of %zu rows written; file not kept", w->out.path, w->written,
                  w->rows);
        return NULL;
    }
    return &w->out;
}

void gka_npy_writer_abort(gka_npy_writer_t *w) {
    if (!w) return;
    gka_outfile_abort(&w->out);
    free(w->buf);
    free(w);
}

gka_status_t gka_npy_write_f64(const char *path, const double *x, size_t rows, size_t cols) {
    gka_npy_writer_t *w;
    gka_status_t st = gka_npy_writer_open(&w, path, rows, cols);
    for (size_t t = 0; !st && t < rows; t++)
        st = gka_npy_writer_row(w, x + t * cols);
    if (st) {
        gka_npy_writer_abort(w);
        return st;
    }
    return gka_npy_writer_commit(w);
}
