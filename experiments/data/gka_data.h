/* Input data of the ridge stream (issue 3, "The ridge stream"): a whole
 * sequence of queries q_t, keys k_t, optional values v_t, log decay gates g_t
 * and write gates beta_t, held in double, produced either by seeded synthetic
 * generators or by loading real activation dumps (.npy, .safetensors).
 *
 * Everything downstream (the stream state H_t, the solvers, the references)
 * reads a gka_trace_t, so every solver sees the same inputs. The usual order:
 *
 *     gka_trace_t tr = {0};
 *     gka_synth_generate(&cfg, &tr)        or  gka_trace_load_*(..., &tr)
 *     gka_trace_validate(&tr)              (loaders and generators already do)
 *     gka_trace_normalize(&tr)             (loaders only: generators normalise by default)
 *     gka_trace_round(&tr, &rounding)      (inputs in the storage format, e.g. bf16)
 *     ... use tr ...
 *     gka_trace_free(&tr)
 *
 * Status codes used by this module (messages always name the file or the
 * field, the index and the value or problem):
 *   GKA_EINVAL   bad argument or spec string; a well-formed file whose content
 *                cannot be used: unsupported dtype, fortran order, wrong rank
 *                or shape, shapes that disagree between arrays, b or h out of
 *                range, a missing required tensor, g > 0, beta outside (0, 1]
 *   GKA_EFORMAT  not a valid file of its format: bad magic or version,
 *                malformed header (npy dict / safetensors JSON), duplicate
 *                keys, unknown keys, truncated data, trailing bytes, data
 *                offsets out of bounds, overlapping, out of order or leaving
 *                holes, byte length not matching dtype x shape
 *   GKA_ERANGE   a size beyond the limits below (header, D, T, elements) or
 *                an integer in a header that overflows
 *   GKA_ENODATA  NaN or Inf in the data
 *   GKA_EIO      a file that cannot be opened or read
 *   GKA_ENOMEM   allocation failure
 */
#ifndef GKA_DATA_H
#define GKA_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "gka_error.h"
#include "gka_precision.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */
/* ------------------------------------------------------------------------ */

#define GKA_TRACE_D_MAX 4096L               /* head dimension */
#define GKA_TRACE_T_MAX (1L << 28)          /* tokens */
#define GKA_TRACE_ELEMS_MAX (1L << 30)      /* T * D per array (8 GiB of double) */
#define GKA_DATA_HEADER_MAX (1L << 20)      /* npy / safetensors header bytes */
#define GKA_DATA_NDIM_MAX 8                 /* rank of any array in a file */
#define GKA_DATA_TENSORS_MAX 4096           /* tensors in one safetensors file */
#define GKA_DATA_FILE_MAX ((size_t)1 << 36) /* bytes of one input file (64 GiB) */
#define GKA_TRACE_ORIGIN_MAX 256

/* ------------------------------------------------------------------------ */
/* The trace container (experiments/data/trace.c)                                    */
/* ------------------------------------------------------------------------ */

/* A whole sequence in double. Row t of q, k, v is element [t * D .. t * D + D).
 * g[t] = log gamma_t <= 0 (gamma_t = exp(g[t]) in (0, 1]); g == NULL means no
 * gating (gamma_t = 1). beta[t] in (0, 1]; beta == NULL means beta_t = 1.
 * v == NULL means no values (U_t is not needed). A zero-initialised struct is
 * an empty trace that gka_trace_free accepts. */
typedef struct gka_trace {
    int D;
    long T;
    double *q;                         /* T x D, always present */
    double *k;                         /* T x D, always present */
    double *v;                         /* T x D or NULL */
    double *g;                         /* T or NULL */
    double *beta;                      /* T or NULL */
    char origin[GKA_TRACE_ORIGIN_MAX]; /* e.g. "synth:keys=powerlaw:1,gate=gka,seed=1"
                                          or "npy:keys.npy[b=0,h=2]" (truncated if long) */
    int batched;                       /* 1: loaded from [B,T,H,D] keys (batch and head selected) */
    int queries_fallback;              /* 1: a loader found no queries and filled q as
                                          gka_load_options_t.missing_queries says (a program
                                          should say so: the queries are not the file's) */
} gka_trace_t;

/* Optional arrays for gka_trace_alloc. */
enum { GKA_TRACE_WITH_V = 1u << 0, GKA_TRACE_WITH_G = 1u << 1, GKA_TRACE_WITH_BETA = 1u << 2 };

/* Allocate q and k (and v, g, beta as `with` asks), all zero (g = 0 means
 * gamma = 1; beta = 0 is invalid until filled). 1 <= D <= GKA_TRACE_D_MAX,
 * 1 <= T <= GKA_TRACE_T_MAX, T * D <= GKA_TRACE_ELEMS_MAX, else GKA_ERANGE
 * (GKA_EINVAL for D or T < 1). *tr must be empty (zeroed or freed); on
 * failure it is left empty. origin is set to "". */
gka_status_t gka_trace_alloc(gka_trace_t *tr, int D, long T, unsigned with);

/* Release the arrays and zero the struct. Safe on a zeroed struct and twice. */
void gka_trace_free(gka_trace_t *tr);

/* Deep copy of src into the empty *dst. */
gka_status_t gka_trace_copy(gka_trace_t *dst, const gka_trace_t *src);

/* Check limits of D and T (GKA_ERANGE), q and k present (GKA_EINVAL), every
 * value finite (GKA_ENODATA, "q[t=5,i=17] = nan"), g[t] <= 0 and beta[t] in
 * (0, 1] (GKA_EINVAL). The first problem found is reported: non-finite
 * values in the order q, k, v, g, beta (each by t, then i), then the g range,
 * then the beta range. */
gka_status_t gka_trace_validate(const gka_trace_t *tr);

/* L2-normalise every row of q and k as the layer does:
 * x <- x / (||x||_2 + 1e-6), the norm computed in double without overflow or
 * underflow (scaled sum of squares). v, g, beta are untouched. */
void gka_trace_normalize(gka_trace_t *tr);

/* Round q, k and v (if present) element-wise to r's format with
 * gka_round_array (row-major order, so a stochastic rounding context consumes
 * counters r->counter .. r->counter + 2 T D (+ T D) - 1, q first, then k,
 * then v). g and beta stay in double: they enter the recurrence as scalars
 * whose rounding is the stream's business. Overflow / underflow show up in
 * r->flags; non-finite results are not an error here (numerical events are
 * reported by the caller). Returns GKA_EINVAL if tr or r is NULL. */
gka_status_t gka_trace_round(gka_trace_t *tr, gka_rounding_t *r);

/* gamma_t and beta_t with the NULL conventions applied. 0 <= t < T. */
static inline double gka_trace_gamma_log(const gka_trace_t *tr, long t) {
    return tr->g ? tr->g[t] : 0.0;
}
static inline double gka_trace_beta_at(const gka_trace_t *tr, long t) {
    return tr->beta ? tr->beta[t] : 1.0;
}

/* ------------------------------------------------------------------------ */
/* Synthetic generators (experiments/data/synth.c)                                   */
/* ------------------------------------------------------------------------ */

/* Every random number comes from the counter-based gka_philox_normal /
 * gka_philox_uniform(seed, stream, counter), so the data depend only on the
 * seed and on (t, i), never on threads or call order. Element (t, i) of a
 * T x D array uses counter (t * D + i) * 2 (normals take two counter
 * positions); a per-token scalar uses counter 2 t. The streams: */
enum {
    GKA_SYNTH_STREAM_KEYS = 1,        /* z of keys: k_t = Q diag(sqrt(lambda)) z_t */
    GKA_SYNTH_STREAM_QUERIES = 2,     /* q_t (and the loaders' fallback queries) */
    GKA_SYNTH_STREAM_VALUES = 3,      /* v_t ~ N(0, I) */
    GKA_SYNTH_STREAM_BASIS = 4,       /* D x D Gaussian matrix G (counter (i*D+j)*2) -> Q */
    GKA_SYNTH_STREAM_POOL = 5,        /* repeated keys: pool key j, element i */
    GKA_SYNTH_STREAM_POOL_INDEX = 6,  /* repeated keys drawn at random: index at 2 t */
    GKA_SYNTH_STREAM_QUERY_INDEX = 7, /* queries like repeated keys: pool index at 2 t */
    GKA_SYNTH_STREAM_GATES = 8,       /* z_t (gka) or u_t (uniform) at 2 t */
    GKA_SYNTH_STREAM_GATE_A = 9,      /* gka gate: A = 16^u, u at counter 0 */
    GKA_SYNTH_STREAM_BETA = 10        /* beta projection w_i at 2 i */
};

/* Keys. The correlated kinds draw k_t = Q diag(sqrt(lambda)) z_t, z_t ~ N(0, I),
 * with Q a Haar-random orthogonal D x D matrix (Householder QR of a seeded
 * Gaussian matrix, columns sign-fixed by sign(R_ii)) and lambda the prescribed
 * eigenvalues of the key covariance E[k k^T] (before normalisation; this is
 * the spectrum that H_t = sum_t k_t k_t^T approaches, up to the factor t):
 *   IID       lambda_i = 1 (Q is skipped: k_t = z_t)
 *   POWERLAW  lambda_i = i^-power,               i = 1..D, power >= 0
 *   EXPDECAY  lambda_i = exp(-(i - 1) / scale),  scale > 0
 *   LOWRANK   lambda_i = 1 + noise^2 (i <= rank), noise^2 (i > rank):
 *             a rank-`rank` signal plus isotropic noise of standard deviation
 *             `noise` per coordinate; 1 <= rank <= D, noise >= 0
 *   REPEATED  a pool of `pool` keys p_j ~ N(0, I) (stream POOL); k_t = p_{t mod m}
 *             (cyclic) or p_{j_t}, j_t = floor(m u_t) (pool_random)
 * With normalisation on (the default), each key is then L2-normalised, which
 * changes the covariance (not its eigenvectors for IID; for the others the
 * spectrum is the prescription up to the per-sample norm). */
typedef enum {
    GKA_KEYS_IID = 0,
    GKA_KEYS_POWERLAW,
    GKA_KEYS_EXPDECAY,
    GKA_KEYS_LOWRANK,
    GKA_KEYS_REPEATED
} gka_keys_kind_t;

typedef struct gka_keys_spec {
    gka_keys_kind_t kind;
    double power;    /* POWERLAW */
    double scale;    /* EXPDECAY */
    int rank;        /* LOWRANK */
    double noise;    /* LOWRANK */
    long pool;       /* REPEATED: m >= 1 */
    int pool_random; /* REPEATED: 0 cyclic, 1 uniformly at random */
} gka_keys_spec_t;

/* "iid" | "powerlaw:P" | "expdecay:S" | "lowrank:R,NOISE" | "repeated:M"
 * | "repeated:M,random" (| "repeated:M,cyclic"). Numbers must be complete,
 * finite and in range (rank and pool >= 1; D is checked at generation).
 * Unknown or malformed -> GKA_EINVAL naming the string. */
gka_status_t gka_keys_spec_parse(const char *s, gka_keys_spec_t *out);

/* Write the spec back as a string that parses to the same spec. */
void gka_keys_spec_format(const gka_keys_spec_t *spec, char *buf, size_t size);

/* The prescribed covariance eigenvalues lambda_1 >= ... >= lambda_D for D
 * (for REPEATED: all 1, the pool's covariance). GKA_EINVAL if the spec does
 * not fit D (e.g. rank > D). */
gka_status_t gka_keys_spectrum(const gka_keys_spec_t *spec, int D, double *lambda);

/* The Haar orthogonal basis Q (D x D, row-major, columns are the eigenvectors)
 * that the correlated generators use for this seed. Q must hold D * D. */
gka_status_t gka_synth_basis(int D, uint64_t seed, double *Q);

/* Queries. IID: q_t ~ N(0, I) (stream QUERIES). LIKE_KEYS: from the key
 * distribution with independent draws (correlated kinds: Q diag(sqrt(lambda))
 * z'_t with z'_t from stream QUERIES; REPEATED: a pool key chosen uniformly at
 * random, stream QUERY_INDEX). NEXT_KEY: q_t = k_{t+1}, q_{T-1} = k_{T-1}
 * (queries lie in the key distribution and are correlated with the next write). */
typedef enum {
    GKA_QUERIES_IID = 0,
    GKA_QUERIES_LIKE_KEYS,
    GKA_QUERIES_NEXT_KEY
} gka_queries_kind_t;

/* "iid" | "keys" | "next". */
gka_status_t gka_queries_spec_parse(const char *s, gka_queries_kind_t *out);

/* Decay gates, stored as g_t = log gamma_t <= 0.
 *   NONE     no gating: trace.g = NULL
 *   CONST    gamma_t = gamma, 0 < gamma <= 1
 *   UNIFORM  gamma_t = lo + (hi - lo) u_t, u_t uniform in [0, 1), 0 < lo <= hi <= 1
 *   GKA      g_t = -A softplus(z_t + dt_bias), z_t ~ N(0, 1), as in Mamba-2 /
 *            Gated DeltaNet layers (A = exp(A_log) per head, dt_bias learned).
 *            Defaults: A drawn once per seed log-uniform in [1, 16]
 *            (A = 16^u, the usual A_log initialisation range), dt_bias = -6
 *            (softplus(-6) = 2.5e-3). The median gamma is then
 *            exp(-A * 2.5e-3) in [0.961, 0.9975] over the A range; at
 *            z = +-2 it spans about [0.75, 0.9997]. A > 0 given explicitly is
 *            used as is (A = 0 means draw). softplus(x) = log1p(exp(x))
 *            computed without overflow. */
typedef enum { GKA_GATE_NONE = 0, GKA_GATE_CONST, GKA_GATE_UNIFORM, GKA_GATE_GKA } gka_gate_kind_t;

#define GKA_GATE_DEFAULT_DT_BIAS (-6.0)
#define GKA_GATE_A_MIN 1.0
#define GKA_GATE_A_MAX 16.0

typedef struct gka_gate_spec {
    gka_gate_kind_t kind;
    double gamma;   /* CONST */
    double lo, hi;  /* UNIFORM */
    double A;       /* GKA: > 0, or 0 to draw log-uniform in [1, 16] */
    double dt_bias; /* GKA */
} gka_gate_spec_t;

/* "none" | "const:GAMMA" | "uniform:LO,HI" | "gka" | "gka:A" | "gka:A,DT_BIAS"
 * (A = 0 in "gka:0,-4" means draw). Unknown or malformed -> GKA_EINVAL. */
gka_status_t gka_gate_spec_parse(const char *s, gka_gate_spec_t *out);
void gka_gate_spec_format(const gka_gate_spec_t *spec, char *buf, size_t size);

/* The A a GKA gate uses for this seed (spec->A if > 0, else 16^u with
 * u = gka_philox_uniform(seed, GKA_SYNTH_STREAM_GATE_A, 0)). */
double gka_gate_A(const gka_gate_spec_t *spec, uint64_t seed);

/* Write gates.
 *   NONE     trace.beta = NULL (beta_t = 1)
 *   SIGMOID  beta_t = sigmoid(scale * w . k_t), w_i ~ N(0, 1) (stream BETA),
 *            k_t the key as stored (normalised if normalisation is on, so that
 *            w . k_t ~ N(0, 1) and beta_t spreads over about (0.12, 0.88)).
 *            The argument is clamped to [-30, 30] so beta_t stays in (0, 1). */
typedef enum { GKA_BETA_NONE = 0, GKA_BETA_SIGMOID } gka_beta_kind_t;

typedef struct gka_beta_spec {
    gka_beta_kind_t kind;
    double scale; /* SIGMOID: default 1 */
} gka_beta_spec_t;

/* "none" | "sigmoid" | "sigmoid:SCALE". */
gka_status_t gka_beta_spec_parse(const char *s, gka_beta_spec_t *out);
void gka_beta_spec_format(const gka_beta_spec_t *spec, char *buf, size_t size);

typedef struct gka_synth_config {
    int D;
    long T;
    uint64_t seed;
    gka_keys_spec_t keys;       /* default iid */
    gka_queries_kind_t queries; /* default IID */
    gka_gate_spec_t gate;       /* default none */
    gka_beta_spec_t beta;       /* default none */
    int normalize;              /* 1 (default): L2-normalise q and k rows as the layer */
    int with_values;            /* 1: v_t ~ N(0, I) (never normalised); default 0 */
} gka_synth_config_t;

/* iid keys and queries, no gates, no beta, normalised, no values. */
gka_synth_config_t gka_synth_config_default(int D, long T, uint64_t seed);

/* Fill the empty *out from cfg (it is validated before returning). The
 * origin string records the spec. Cost: O(T D) plus O(D^3) for the basis of
 * the correlated kinds and O(T D^2) to apply it. */
gka_status_t gka_synth_generate(const gka_synth_config_t *cfg, gka_trace_t *out);

/* ------------------------------------------------------------------------ */
/* Arrays in files: shared by the loaders                                   */
/* ------------------------------------------------------------------------ */

typedef enum {
    GKA_DTYPE_F16 = 0, /* IEEE binary16 */
    GKA_DTYPE_BF16,
    GKA_DTYPE_F32,
    GKA_DTYPE_F64,
    GKA_DTYPE_OTHER /* a dtype valid in the file format but not loadable as data */
} gka_dtype_t;

/* A view into a file buffer: no copy. data points at nbytes bytes inside the
 * buffer that was parsed, nbytes == product(shape) * element size (checked).
 * Elements are in C order (last index fastest) or, with fortran_order, in
 * Fortran order (first index fastest). */
typedef struct gka_array_view {
    gka_dtype_t dtype;
    int big_endian; /* npy '>' descriptors */
    int ndim;       /* 0 .. GKA_DATA_NDIM_MAX */
    uint64_t shape[GKA_DATA_NDIM_MAX];
    const unsigned char *data;
    size_t nbytes;
    int fortran_order; /* npy fortran_order True */
} gka_array_view_t;

/* "bf16" (also "bfloat16"), "f16" ("fp16", "float16"), "f32" ("fp32",
 * "float32"), "f64" ("fp64", "float64"). GKA_EINVAL for other names. */
gka_status_t gka_dtype_by_name(const char *name, gka_dtype_t *out);

/* Convert one array to a T x D block (rows; want_rows = 1: shape [T, D] or
 * [B, T, H, D]) or to a T-vector (want_rows = 0: shape [T] or [B, T, H]),
 * selecting batch b and head h of the rank-4 / rank-3 forms (b, h ignored for
 * the unbatched forms, which then serve every (b, h)). *out is malloc-ed
 * (caller frees); *T and *D receive the sizes (D = 1 for vectors). Every
 * value is checked finite (GKA_ENODATA naming file, field, t and i).
 * file and field name the array in messages. */
gka_status_t gka_array_to_double(const gka_array_view_t *a, const char *file, const char *field,
                                 int want_rows, long b, long h, double **out, long *T, int *D);

/* Half-precision conversions used by the loaders (exact, subnormals, Inf and
 * NaN included). */
double gka_f16_bits_to_double(uint16_t bits);
double gka_bf16_bits_to_double(uint16_t bits);

/* Options shared by the loaders. */
typedef struct gka_load_options {
    long batch, head;                   /* b and h for batched arrays (default 0, 0) */
    gka_queries_kind_t missing_queries; /* when no queries are given: IID (default):
                                        q_t ~ N(0, I) from gka_philox_normal(seed,
                                        GKA_SYNTH_STREAM_QUERIES, (t*D+i)*2), not
                                        normalised (normalise the trace as a whole);
                                        or NEXT_KEY: q_t = k_{t+1}, q_{T-1} = k_{T-1}.
                                        LIKE_KEYS is rejected (GKA_EINVAL). */
    uint64_t seed;                      /* for IID fallback queries (default 1) */
    int expect_D;                       /* > 0: the keys must have this D, else GKA_EINVAL
                                           naming the file and both values (a program's
                                           --D that contradicts the file); 0: any */
    /* safetensors tensor names (NULL: "q", "k", "v", "g", "beta"). k is
       required; q falls back as above; v, g, beta are optional. */
    const char *name_q, *name_k, *name_v, *name_g, *name_beta;
} gka_load_options_t;

gka_load_options_t gka_load_options_default(void);

/* Arrays of a trace, in this order wherever arrays are indexed by role. */
typedef enum {
    GKA_ROLE_Q = 0,
    GKA_ROLE_K,
    GKA_ROLE_V,
    GKA_ROLE_G,
    GKA_ROLE_BETA,
    GKA_ROLE_COUNT
} gka_role_t;

/* "q", "k", "v", "g", "beta". */
const char *gka_role_name(gka_role_t role);

/* Build a trace from parsed views (both loaders end here): views[role] NULL
 * means absent; k is required; q falls back per opt->missing_queries; rows
 * (q, k, v) and vectors (g, beta) are converted with gka_array_to_double for
 * opt's b and h; T and D must agree (GKA_EINVAL naming both files); g <= 0
 * and beta in (0, 1] are checked naming the file, field and t. files[role]
 * names the array's file in messages. origin becomes out->origin. */
gka_status_t gka_trace_from_views(const gka_array_view_t *const views[GKA_ROLE_COUNT],
                                  const char *const files[GKA_ROLE_COUNT],
                                  const gka_load_options_t *opt, const char *origin,
                                  gka_trace_t *out);

/* A file already in memory (for fuzzing and tests). data == NULL: absent.
 * name is used in messages (NULL: "<memory>"). */
typedef struct gka_buffer {
    const unsigned char *data;
    size_t len;
    const char *name;
    const char *dtype; /* .npy: the element type when the header carries none ("bf16" for
                          numpy + ml_dtypes' '<V2'; see gka_npy_parse_as); NULL: the header's */
} gka_buffer_t;

/* Read a whole file into memory (size <= GKA_DATA_FILE_MAX). *data is
 * malloc-ed (freed by the caller). GKA_EIO names the path and errno text.
 * The loaders do not use it: they read only what their file's header
 * describes (gka_npy_read_file, gka_safetensors_read_file). */
gka_status_t gka_read_file(const char *path, unsigned char **data, size_t *len);

/* ------------------------------------------------------------------------ */
/* numpy .npy (experiments/data/npy.c)                                               */
/* ------------------------------------------------------------------------ */

/* Parse one .npy file in memory: magic "\x93NUMPY", versions 1.0 (u16 header
 * length), 2.0 and 3.0 (u32), a Python dict literal with exactly the keys
 * 'descr', 'fortran_order', 'shape' (each once), terminated by '\n' and
 * padded with spaces, then exactly product(shape) * itemsize data bytes (no
 * trailing bytes). descr: '<f2' '<f4' '<f8' and the '>' (big-endian) forms
 * ('=' and '|' are not written by numpy for floats and are rejected); other
 * valid numpy dtypes give GKA_EINVAL "unsupported dtype". fortran_order True
 * is read in Fortran order (view.fortran_order). Tokens may be separated by
 * spaces or tabs; shape entries are plain decimals (a Python 2 'L' suffix is
 * accepted, leading zeros are not) and a one-element shape needs its comma,
 * "(5,)". Never reads outside [buf, buf + len). */
gka_status_t gka_npy_parse(const unsigned char *buf, size_t len, const char *name,
                           gka_array_view_t *out);

/* The same with an element type named by the caller (dtype as for
 * gka_dtype_by_name; NULL: gka_npy_parse). Two-byte records whose descr
 * carries no float type, '<V2' and '|V2' (numpy + ml_dtypes save bfloat16
 * this way) and '<u2' '>u2' '<i2' '>i2' (bits saved as integers), are read
 * as the named "bf16" or "f16"; without a name they are refused with a
 * message saying how to name one. A name that contradicts a float descr
 * ('<f4' named bf16) is GKA_EINVAL, never a reinterpretation. */
gka_status_t gka_npy_parse_as(const unsigned char *buf, size_t len, const char *name,
                              const char *dtype, gka_array_view_t *out);

/* Read a .npy file, bounded by its own header: the header first (at most
 * GKA_DATA_HEADER_MAX bytes), then exactly the data bytes its shape and
 * dtype describe (dtype as for gka_npy_parse_as), then one byte more to
 * detect trailing data. A file that is not .npy, or an endless stream (a
 * symlink to /dev/zero, a FIFO), fails after at most that many bytes, with an
 * error naming the path. *data is malloc-ed; parse it with gka_npy_parse_as. */
gka_status_t gka_npy_read_file(const char *path, const char *dtype, unsigned char **data,
                               size_t *len);

/* A .npy argument "PATH[:DTYPE]" as programs take it (`--keys k.npy:bf16`):
 * a final ":DTYPE" that gka_dtype_by_name knows is split off (*dtype points
 * into spec, else NULL); PATH is copied into path (size bytes). Returns 1 if
 * PATH ends in ".npy" (and fits), else 0. */
int gka_npy_spec_split(const char *spec, char *path, size_t size, const char **dtype);

/* One buffer per array; keys required, the others may have data == NULL.
 * Keys, queries, values: [T, D] or [B, T, H, D]; gates (log gates g <= 0) and
 * beta: [T] or [B, T, H]. T (and D) must agree. The trace is validated; it is
 * not normalised. */
typedef struct gka_npy_buffers {
    gka_buffer_t keys, queries, values, gates, beta;
} gka_npy_buffers_t;

gka_status_t gka_trace_from_npy_buffers(const gka_npy_buffers_t *in, const gka_load_options_t *opt,
                                        gka_trace_t *out);

/* The same from paths (NULL: absent), each "PATH[:DTYPE]" as for
 * gka_npy_spec_split, read with gka_npy_read_file. */
typedef struct gka_npy_paths {
    const char *keys, *queries, *values, *gates, *beta;
} gka_npy_paths_t;

gka_status_t gka_trace_load_npy_paths(const gka_npy_paths_t *paths, const gka_load_options_t *opt,
                                      gka_trace_t *out);

/* Writing arrays for other tools (numpy.load, PyTorch): [rows, cols] float64,
 * little-endian, C order, format 1.0 with the header numpy itself writes
 * (descr '<f8', padded to 64 bytes). The file is written whole or not at
 * all: rows go to a temporary file beside `path` (gka_io.h) that replaces it
 * only on commit, and only if exactly `rows` rows were written.
 *
 *     gka_npy_writer_t *w;
 *     gka_npy_writer_open(&w, "x.npy", T, D);
 *     for each t: gka_npy_writer_row(w, x_t);   (NULL writes a row of NaN)
 *     gka_npy_writer_commit(w);                 (or gka_npy_writer_abort(w))
 *
 * Both commit and abort free the writer. */
typedef struct gka_npy_writer gka_npy_writer_t;
gka_status_t gka_npy_writer_open(gka_npy_writer_t **out, const char *path, size_t rows,
                                 size_t cols);
/* The same for an array of ndim (1 to GKA_NPY_WRITE_MAX_DIMS) dimensions,
 * shape[0] .. shape[ndim-1], C order: a row is the last dimension (one value
 * for ndim = 1), so a [T, R, D] array takes T * R rows of D values. */
enum { GKA_NPY_WRITE_MAX_DIMS = 4 };
gka_status_t gka_npy_writer_open_shape(gka_npy_writer_t **out, const char *path, int ndim,
                                       const size_t *shape);
gka_status_t gka_npy_writer_row(gka_npy_writer_t *w, const double *row);
gka_status_t gka_npy_writer_commit(gka_npy_writer_t *w);
void gka_npy_writer_abort(gka_npy_writer_t *w);
/* The output file of a writer whose rows are all written, to commit it
 * together with other outputs (gka_outfile_commit_all, experiments/gka_io.h);
 * NULL with an error naming the file otherwise. Release the writer with
 * gka_npy_writer_abort afterwards (after a commit it only frees memory). */
struct gka_outfile *gka_npy_writer_file(gka_npy_writer_t *w);
/* A whole array at once: x is rows x cols doubles, row-major. */
gka_status_t gka_npy_write_f64(const char *path, const double *x, size_t rows, size_t cols);

/* Short form: default options with batch b and head h, no values. */
gka_status_t gka_trace_load_npy(const char *keys_path, const char *queries_path,
                                const char *gates_path, const char *beta_path, long b, long h,
                                gka_trace_t *out);

/* ------------------------------------------------------------------------ */
/* .safetensors (experiments/data/safetensors.c)                                     */
/* ------------------------------------------------------------------------ */

/* One tensor entry of a parsed file. */
typedef struct gka_st_tensor {
    char *name;            /* decoded UTF-8, NUL-terminated (names with NUL rejected) */
    char dtype_name[8];    /* "F32", "BF16", "I64", ... */
    gka_array_view_t view; /* dtype GKA_DTYPE_OTHER for non-float dtypes */
    uint64_t begin, end;   /* data_offsets, relative to the byte buffer */
} gka_st_tensor_t;

typedef struct gka_st_file {
    size_t count;
    gka_st_tensor_t *tensors; /* in header order */
} gka_st_file_t;

/* Parse a .safetensors file in memory: u64 little-endian header length N
 * (8 <= 8 + N <= len, N <= GKA_DATA_HEADER_MAX), a strict JSON object (UTF-8,
 * may be padded with trailing spaces) mapping tensor names to
 * {"dtype": S, "shape": [..], "data_offsets": [begin, end]} (exactly these
 * keys) and an optional "__metadata__" object of string values; then the byte
 * buffer, which the tensors (sorted by offset) must cover exactly, without holes or
 * overlaps (as the reference implementation requires). Known dtypes: BOOL,
 * U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32, U32, F32,
 * I64, U64, F64, C64 (sub-byte F4 / F6 types are rejected as unknown).
 * The parser knows this fixed structure and never recurses: any other value
 * where one of these is expected (nested objects in metadata, numbers
 * as names), duplicate tensor names or fields, unknown dtypes or fields,
 * invalid UTF-8 or escapes (lone surrogates, an escaped NUL) are GKA_EFORMAT;
 * integers must be plain non-negative decimals (no sign, fraction, exponent,
 * leading zero) and overflowing ones are GKA_ERANGE. The tensors' order in
 * the header is free (offsets are checked after sorting, as the reference
 * implementation does). On failure *out is left empty; gka_st_file_free is
 * safe on it either way. */
gka_status_t gka_safetensors_parse(const unsigned char *buf, size_t len, const char *name,
                                   gka_st_file_t *out);
void gka_st_file_free(gka_st_file_t *f);

/* Tensors named by opt (default q, k, v, g, beta): q, k, v [T, D] or
 * [B, T, H, D]; g (log gates) and beta [T] or [B, T, H]; F16, BF16, F32, F64.
 * The trace is validated; it is not normalised. */
gka_status_t gka_trace_from_safetensors_buffer(const gka_buffer_t *in,
                                               const gka_load_options_t *opt, gka_trace_t *out);
gka_status_t gka_trace_load_safetensors(const char *path, const gka_load_options_t *opt,
                                        gka_trace_t *out);

/* Read a .safetensors file, bounded by its own header: the 8-byte length,
 * the header (at most GKA_DATA_HEADER_MAX bytes), then exactly the bytes up
 * to the largest data_offsets end, then one byte more to detect trailing
 * data (an endless stream fails at once, naming the path). *data is
 * malloc-ed; parse it with gka_safetensors_parse. */
gka_status_t gka_safetensors_read_file(const char *path, unsigned char **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
