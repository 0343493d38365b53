/* The declarations: every command and every option of gka, once. The parser,
 * --help, the man page and the applicability checks (cli/options.c) read
 * nothing else. Limits shared by several commands are one declaration, so
 * they agree. */
#include "options.h"

#include <math.h>

#define IN(c) GKA_IN(GKA_CMD_##c)
#define NEEDS(b) GKA_NEEDS(GKA_CTX_##b)
#define X(id) GKA_OPT_BIT(id)

#define S_PROBLEM "problem"
#define S_ARITH "arithmetic"
#define S_SOLVER "solver"
#define S_GRAD "gradient"
#define S_OUTPUT "output"
#define S_BENCH "benchmark"
#define S_RUN "run"
#define S_GENERAL "general"

#define DATA_CMDS (IN(SOLVE) | IN(GRAD))
#define SEEDED (IN(ROUND) | IN(SOLVE) | IN(GRAD) | IN(FIGURE) | IN(BENCH_SOLVE))

static const gka_opt_decl_t decls[GKA_OPT_COUNT] = {
    [GKA_OPT_HELP] = {.name = "help",
                      .type = GKA_OT_FLAG,
                      .help = "print this help and exit (also -h)",
                      .cmds = ~0u,
                      .section = S_GENERAL},

    /* ---- problem ---------------------------------------------------------- */
    [GKA_OPT_D] = {.name = "D",
                   .metavar = "N",
                   .type = GKA_OT_INT,
                   .lo = 1,
                   .hi = 1024,
                   .def = "64",
                   .alt = {{IN(GRAD), "32"}, {IN(BENCH_SOLVE), "64,128"}, {IN(FIGURE), NULL}},
                   .help = "head dimension of synthetic data; with a loaded file, the D the "
                           "file must have (a different D is refused)",
                   .cmds = DATA_CMDS | IN(BENCH_SOLVE) | IN(FIGURE),
                   .list_cmds = IN(BENCH_SOLVE),
                   .section = S_PROBLEM},
    [GKA_OPT_T] = {.name = "T",
                   .metavar = "N",
                   .type = GKA_OT_INT,
                   .lo = 1,
                   .hi = 10000000,
                   .def = "1024",
                   .alt = {{IN(GRAD), "256"}, {IN(BENCH_SOLVE), "64"}, {IN(FIGURE), NULL}},
                   .help = "tokens (caps the length of a loaded file)",
                   .cmds = DATA_CMDS | IN(BENCH_SOLVE) | IN(FIGURE),
                   .section = S_PROBLEM},
    [GKA_OPT_SEED] = {.name = "seed",
                      .metavar = "S",
                      .type = GKA_OT_U64,
                      .def = "1",
                      .help = "seed of the synthetic data and of stochastic rounding (the Philox "
                              "4x32-10 key); `gka grad` draws its upstream gradient from it too",
                      .cmds = SEEDED,
                      .section = S_PROBLEM},
    [GKA_OPT_DATA_SEED] = {.name = "data-seed",
                           .metavar = "S",
                           .type = GKA_OT_U64,
                           .def_note = "--seed",
                           .help = "seed of the data alone: synthetic keys, queries and gates "
                                   "(and `gka grad`'s upstream gradient); not with --seed",
                           .cmds = DATA_CMDS,
                           .excludes = X(GKA_OPT_SEED),
                           .section = S_PROBLEM},
    [GKA_OPT_ROUND_SEED] = {.name = "round-seed",
                            .metavar = "S",
                            .type = GKA_OT_U64,
                            .def_note = "--seed",
                            .help = "seed of stochastic rounding alone (the Philox key of "
                                    "--mode sp/se...), to redraw the rounding over a fixed "
                                    "problem; not with --seed",
                            .cmds = DATA_CMDS,
                            .excludes = X(GKA_OPT_SEED),
                            .section = S_ARITH},
    [GKA_OPT_KEYS] = {.name = "keys",
                      .metavar = "SPEC|F.npy",
                      .type = GKA_OT_TEXT,
                      .def = "iid",
                      .help =
                          "keys: iid | powerlaw:P | expdecay:S | lowrank:R,NOISE | "
                          "repeated:M[,random], or a .npy file [T,D] or [B,T,H,D]; "
                          "F.npy:bf16 names the type of 2-byte records (ml_dtypes' '<V2'). `gka "
                          "figure`: a list of specs (kappa, one stream each) or a file (trace)",
                      .alt = {{IN(FIGURE), NULL}},
                      .cmds = DATA_CMDS | IN(FIGURE),
                      .list_cmds = IN(FIGURE),
                      .excludes = X(GKA_OPT_TRACE),
                      .section = S_PROBLEM},
    [GKA_OPT_QUERIES] = {.name = "queries",
                         .metavar = "SPEC|F.npy",
                         .type = GKA_OT_TEXT,
                         .def = "iid",
                         .help = "iid | keys | next | a .npy file like the keys file",
                         .cmds = DATA_CMDS,
                         .excludes = X(GKA_OPT_TRACE),
                         .section = S_PROBLEM},
    [GKA_OPT_TRACE] = {.name = "trace",
                       .metavar = "F.safetensors",
                       .type = GKA_OT_PATH,
                       .help = "a recorded layer: tensors q and k, g and beta optional; it brings "
                               "its own keys, queries and gates",
                       .cmds = DATA_CMDS | IN(FIGURE),
                       .needs = NEEDS(TRACE_FIGURE),
                       .needs_cmds = IN(FIGURE),
                       .excludes = X(GKA_OPT_KEYS),
                       .section = S_PROBLEM},
    [GKA_OPT_GATES] = {.name = "gates",
                       .metavar = "F.npy",
                       .type = GKA_OT_PATH,
                       .help = "log-gates g_t <= 0 for the keys of --keys F.npy ([T] or [B,T,H])",
                       .cmds = DATA_CMDS,
                       .needs = NEEDS(KEYS_FILE),
                       .excludes = X(GKA_OPT_TRACE),
                       .section = S_PROBLEM},
    [GKA_OPT_BETAS] = {.name = "betas",
                       .metavar = "F.npy",
                       .type = GKA_OT_PATH,
                       .help = "write gates beta_t in (0, 1] for the keys of --keys F.npy",
                       .cmds = DATA_CMDS,
                       .needs = NEEDS(KEYS_FILE),
                       .excludes = X(GKA_OPT_TRACE),
                       .section = S_PROBLEM},
    [GKA_OPT_BATCH] = {.name = "batch",
                       .metavar = "B",
                       .type = GKA_OT_INT,
                       .lo = 0,
                       .hi = 1L << 30,
                       .def = "0",
                       .help = "batch index of a [B,T,H,D] file",
                       .cmds = DATA_CMDS,
                       .needs = NEEDS(BATCHED_FILE),
                       .section = S_PROBLEM},
    [GKA_OPT_HEAD] = {.name = "head",
                      .metavar = "H",
                      .type = GKA_OT_INT,
                      .lo = 0,
                      .hi = 1L << 30,
                      .def = "0",
                      .help = "head index of a [B,T,H,D] file",
                      .cmds = DATA_CMDS,
                      .needs = NEEDS(BATCHED_FILE),
                      .section = S_PROBLEM},
    [GKA_OPT_GATE] = {.name = "gate",
                      .metavar = "SPEC",
                      .type = GKA_OT_TEXT,
                      .def = "none",
                      .help = "synthetic gates: none | const:G | uniform:LO,HI | gka[:A[,DT_BIAS]]",
                      .cmds = DATA_CMDS,
                      .needs = NEEDS(SYNTHETIC),
                      .section = S_PROBLEM},
    [GKA_OPT_BETA] = {.name = "beta",
                      .metavar = "SPEC",
                      .type = GKA_OT_TEXT,
                      .def = "none",
                      .help = "synthetic write gates: none | sigmoid[:SCALE]",
                      .cmds = DATA_CMDS,
                      .needs = NEEDS(SYNTHETIC),
                      .section = S_PROBLEM},
    [GKA_OPT_BETA_MODE] = {.name = "beta-mode",
                           .metavar = "weight|fold",
                           .type = GKA_OT_CHOICE,
                           .choices = "weight|fold",
                           .def = "weight",
                           .help =
                               "how beta_t enters the state: weight, H += beta^2 k k^T; fold, "
                               "the reference layer's k' = round((beta + 1e-6) k), H += k' k'^T",
                           .cmds = IN(SOLVE),
                           .needs = NEEDS(WRITE_GATES),
                           .section = S_PROBLEM},
    [GKA_OPT_NO_NORMALIZE] = {.name = "no-normalize",
                              .type = GKA_OT_FLAG,
                              .help = "keep q and k as given (default: L2-normalise them as the "
                                      "layer does)",
                              .cmds = DATA_CMDS,
                              .section = S_PROBLEM},
    [GKA_OPT_RIDGE] = {.name = "ridge",
                       .metavar = "SPEC",
                       .type = GKA_OT_TEXT,
                       .def = "adaptive:0.02",
                       .help = "fixed:LAMBDA | adaptive:A (lambda_t = A ||H_t||_F) | "
                               "decay:LAMBDA0 (not for gradients)",
                       .cmds = DATA_CMDS,
                       .section = S_PROBLEM},

    /* ---- arithmetic ------------------------------------------------------- */
    [GKA_OPT_FORMAT] = {.name = "format",
                        .metavar = "F",
                        .type = GKA_OT_TEXT,
                        .def = "fp64",
                        .help = "number format: fp64 fp32 tf32 bf16 fp16 e4m3 e5m2 "
                                "custom:t,emin,emax (2 <= t <= 26), and for solves and gradients "
                                "mpfr:PREC",
                        .cmds = IN(ROUND) | DATA_CMDS,
                        .required_cmds = IN(ROUND),
                        .section = S_ARITH},
    [GKA_OPT_ACCUM] = {.name = "accum",
                       .metavar = "A",
                       .type = GKA_OT_TEXT,
                       .def_note = "round for fp64 and mpfr, wide (fp32) for emulated formats",
                       .help = "accumulation of dot products: round | wide | fp32 | wide:FORMAT | "
                               "exact",
                       .cmds = DATA_CMDS,
                       .section = S_ARITH},
    [GKA_OPT_MODE] = {.name = "mode",
                      .metavar = "M",
                      .type = GKA_OT_TEXT,
                      .def = "ne",
                      .help = "rounding mode: ne na nz tp (ru) tn (rd) tz (rz) sp (sr) se od, or "
                              "the chop/CPFloat codes -1..7; stochastic modes draw Philox numbers "
                              "keyed by --seed",
                      .cmds = IN(ROUND) | DATA_CMDS,
                      .section = S_ARITH},
    [GKA_OPT_SUBNORMALS] = {.name = "subnormals",
                            .metavar = "on|off",
                            .type = GKA_OT_CHOICE,
                            .choices = "on|off",
                            .def = "on",
                            .help = "keep subnormal results or flush them to zero",
                            .cmds = IN(ROUND),
                            .section = S_ARITH},
    [GKA_OPT_SATURATE] = {.name = "saturate",
                          .type = GKA_OT_FLAG,
                          .help = "overflow to the largest finite value instead of infinity",
                          .cmds = IN(ROUND),
                          .section = S_ARITH},
    [GKA_OPT_STREAM] = {.name = "stream",
                        .metavar = "S",
                        .type = GKA_OT_U64,
                        .def = "0",
                        .help = "Philox stream of stochastic rounding (value i uses counter i)",
                        .cmds = IN(ROUND),
                        .section = S_ARITH},
    [GKA_OPT_HEX] = {.name = "hex",
                     .type = GKA_OT_FLAG,
                     .help = "print the values exactly (%a)",
                     .cmds = IN(FORMATS),
                     .section = S_OUTPUT},

    /* ---- solver ----------------------------------------------------------- */
    [GKA_OPT_SOLVER] = {.name = "solver",
                        .metavar = "NAME",
                        .type = GKA_OT_TEXT,
                        .def = "chebyshev",
                        .help = "chebyshev cg gd agd cholesky kalman (`gka solvers` lists them); "
                                "gradients: all but kalman, and chebyshev or cg with --grad-mode "
                                "iterations",
                        .cmds = DATA_CMDS,
                        .section = S_SOLVER},
    [GKA_OPT_SOLVERS] = {.name = "solvers",
                         .metavar = "LIST",
                         .type = GKA_OT_NAMES,
                         .def = "chebyshev,cg,gd,agd,cholesky,kalman",
                         .alt = {{IN(FIGURE), NULL}},
                         .help = "comma list of solvers to time (`gka figure`: the solvers the "
                                 "figure runs)",
                         .cmds = IN(BENCH_SOLVE) | IN(FIGURE),
                         .section = S_SOLVER},
    [GKA_OPT_VARIANT] = {.name = "variant",
                         .metavar = "V",
                         .type = GKA_OT_TEXT,
                         .def_note = "the solver's first variant",
                         .help =
                             "solver variant (`gka solvers` lists them): chebyshev, cg, gd, agd "
                             "guarded (stop on NaN, divergence, CG's curvature <= 0) or plain "
                             "(the textbook iteration: only the tolerance test, NaN "
                             "propagates); kalman info, cov, joseph or sqrt",
                         .cmds = IN(SOLVE),
                         .section = S_SOLVER},
    [GKA_OPT_ITERS] = {.name = "iters",
                       .metavar = "R",
                       .type = GKA_OT_INT,
                       .lo = 0,
                       .hi = 1000000,
                       .def = "30",
                       .alt = {{IN(FIGURE), NULL}},
                       .help = "iterations per token",
                       .cmds = DATA_CMDS | IN(BENCH_SOLVE) | IN(FIGURE),
                       .list_cmds = IN(FIGURE),
                       .needs = NEEDS(ITERATIVE),
                       .needs_cmds = DATA_CMDS,
                       .section = S_SOLVER},
    [GKA_OPT_TOL] = {.name = "tol",
                     .metavar = "TOL",
                     .type = GKA_OT_REAL,
                     .lo = 0,
                     .hi = INFINITY,
                     .def = "0",
                     .help = "stop when the residual estimate <= TOL ||q|| (0: run all R "
                             "iterations)",
                     .cmds = IN(SOLVE),
                     .needs = NEEDS(ITERATIVE) | NEEDS(TOKEN_FORM),
                     .section = S_SOLVER},
    [GKA_OPT_WARM] = {.name = "warm",
                      .type = GKA_OT_FLAG,
                      .help = "start from the previous token's solution (default: zero)",
                      .cmds = IN(SOLVE),
                      .needs = NEEDS(ITERATIVE) | NEEDS(TOKEN_FORM),
                      .section = S_SOLVER},
    [GKA_OPT_CHUNK] = {.name = "chunk",
                       .metavar = "C",
                       .type = GKA_OT_INT,
                       .lo = 1,
                       .hi = 4096,
                       .def_note = "token form",
                       .alt = {{IN(FIGURE), NULL}},
                       .help = "chunk form with chunk size C: the tokens of a chunk share the "
                               "chunk start state and each token's operator is applied without "
                               "forming H_t (Cholesky materialises H_c); `gka figure`: the C of "
                               "the figure's chunk form",
                       .cmds = DATA_CMDS | IN(FIGURE),
                       .needs = NEEDS(CHUNKABLE) | NEEDS(CHUNKED_GRADIENT),
                       .needs_cmds = DATA_CMDS,
                       .section = S_SOLVER},
    [GKA_OPT_ITER_FORMAT] = {.name = "iter-format",
                             .metavar = "F",
                             .type = GKA_OT_TEXT,
                             .def_note = "chunk form: fp32 for emulated formats; token form: the "
                                         "format",
                             .help = "arithmetic of the iterates; in token form H_t, q_t and "
                                     "lambda_t are taken into F per token and every product of "
                                     "the iteration runs in F",
                             .cmds = IN(SOLVE),
                             .needs = NEEDS(ITERATES),
                             .section = S_SOLVER},
    [GKA_OPT_CARRY] = {.name = "carry",
                       .metavar = "fp32|FORMAT",
                       .type = GKA_OT_TEXT,
                       .def_note = "fp32 for emulated formats, as the reference kernels",
                       .help = "arithmetic of the running chunk state: fp32 keeps it in fp32 and "
                               "rounds only the stored snapshot to the format; a FORMAT rounds "
                               "the state at every chunk boundary and continues from it",
                       .cmds = IN(SOLVE),
                       .needs = NEEDS(CHUNK),
                       .section = S_SOLVER},
    [GKA_OPT_REFERENCE] = {.name = "reference",
                           .metavar = "R",
                           .type = GKA_OT_TEXT,
                           .def_note = "lapack where built, else cholesky64",
                           .help = "the reference x* of the same rounded problem, per token: "
                                   "lapack (fp64 dposv) | mpfr:P (MPFR Cholesky at P bits) | "
                                   "arb:P (certified balls: midpoint; a token whose ball is not "
                                   "tight for its error fails) | cholesky64 (gka's fp64 "
                                   "Cholesky + refinement)",
                           .cmds = IN(SOLVE),
                           .section = S_SOLVER},
    [GKA_OPT_GRAD_MODE] = {.name = "grad-mode",
                           .metavar = "implicit|iterations",
                           .type = GKA_OT_CHOICE,
                           .choices = "implicit|iterations",
                           .def = "implicit",
                           .help = "implicit: differentiate the exact solution through the "
                                   "solver; iterations: differentiate the R iterations themselves",
                           .cmds = IN(GRAD),
                           .section = S_GRAD},
    [GKA_OPT_NO_LAMBDA_PATH] = {.name = "no-lambda-path",
                                .type = GKA_OT_FLAG,
                                .help = "treat lambda_t as a constant (drop d lambda / d H)",
                                .cmds = IN(GRAD),
                                .section = S_GRAD},

    /* ---- output ----------------------------------------------------------- */
    [GKA_OPT_CSV] = {.name = "csv",
                     .metavar = "FILE",
                     .type = GKA_OT_PATH,
                     .help = "one row per token (header first)",
                     .cmds = DATA_CMDS,
                     .section = S_OUTPUT},
    [GKA_OPT_HISTORY] = {.name = "history",
                         .metavar = "FILE",
                         .type = GKA_OT_PATH,
                         .help = "per-iteration fp64 relative residuals: a CSV t,iter,res, or "
                                 "for a FILE ending in .npy a [T, R+1] float64 array (NaN after "
                                 "a token stopped early)",
                         .cmds = IN(SOLVE),
                         .needs = NEEDS(ITERATIVE) | NEEDS(TOKEN_FORM),
                         .section = S_OUTPUT},
    [GKA_OPT_EVERY] = {.name = "every",
                       .metavar = "K",
                       .type = GKA_OT_INT,
                       .lo = 0,
                       .hi = 10000000,
                       .def = "0",
                       .help = "exact kappa (and Kalman lambda_min(P)) every K tokens (0: never)",
                       .cmds = IN(SOLVE),
                       .section = S_OUTPUT},

    [GKA_OPT_SAVE_X] = {.name = "save-x",
                        .metavar = "F.npy",
                        .type = GKA_OT_PATH,
                        .help = "the solutions x_t as a [T, D] float64 array (numpy.load)",
                        .cmds = IN(SOLVE),
                        .section = S_OUTPUT},
    [GKA_OPT_SAVE_REF] = {.name = "save-ref",
                          .metavar = "F.npy",
                          .type = GKA_OT_PATH,
                          .help = "the fp64 reference solutions x*_t, [T, D] (NaN rows: no "
                                  "reference)",
                          .cmds = IN(SOLVE),
                          .section = S_OUTPUT},
    [GKA_OPT_SAVE_ITERATES] = {.name = "save-iterates",
                               .metavar = "F.npy",
                               .type = GKA_OT_PATH,
                               .help = "the iterates x_0 .. x_R of every token as a [T, R+1, D] "
                                       "float64 array (NaN rows after a token stopped early); "
                                       "with --every K only the tokens t = 0, K, 2K, ... and the "
                                       "last; at most " GKA_ITERATES_LIMIT_TEXT " (refused "
                                       "before the run)",
                               .cmds = IN(SOLVE),
                               .needs = NEEDS(ITERATIVE) | NEEDS(TOKEN_FORM),
                               .section = S_OUTPUT},

    [GKA_OPT_SAVE_GRAD] = {.name = "save-grad",
                           .metavar = "PREFIX",
                           .type = GKA_OT_PATH,
                           .help = "the gradients as float64 .npy files: PREFIX_dq.npy, "
                                   "PREFIX_dk.npy [T, D], PREFIX_dg.npy, PREFIX_dbeta.npy [T, 1]",
                           .cmds = IN(GRAD),
                           .section = S_OUTPUT},

    /* ---- benchmarks ------------------------------------------------------- */
    [GKA_OPT_SIZES] = {.name = "sizes",
                       .metavar = "LIST",
                       .type = GKA_OT_NAMES,
                       .def = "1M,64M",
                       .help = "array sizes in values, suffix K, M, G = 2^10, 2^20, 2^30 (1 to "
                               "1G)",
                       .cmds = IN(BENCH_ROUND),
                       .section = S_BENCH},
    [GKA_OPT_NUMBER_FORMATS] = {.name = "formats",
                                .metavar = "LIST",
                                .type = GKA_OT_NAMES,
                                .def = "bf16,fp16,tf32,e4m3,e5m2",
                                .alt = {{IN(FIGURE), NULL}},
                                .help = "number formats to round to (`gka figure`: the formats "
                                        "the figure studies)",
                                .cmds = IN(BENCH_ROUND) | IN(FIGURE),
                                .section = S_BENCH},
    [GKA_OPT_MODES] = {.name = "modes",
                       .metavar = "LIST",
                       .type = GKA_OT_NAMES,
                       .def = "ne,na,nz,tp,tn,tz,od,sp,se",
                       .help = "rounding modes to time",
                       .cmds = IN(BENCH_ROUND),
                       .section = S_BENCH},
    [GKA_OPT_REPS] = {.name = "reps",
                      .metavar = "R",
                      .type = GKA_OT_INT,
                      .lo = 1,
                      .hi = 1000,
                      .def = "5",
                      .help = "timed samples of about 20 ms each; the median is reported",
                      .cmds = IN(BENCH_ROUND),
                      .section = S_BENCH},
    [GKA_OPT_REPEAT] = {.name = "repeat",
                        .metavar = "N",
                        .type = GKA_OT_INT,
                        .lo = 1,
                        .hi = 100,
                        .def = "3",
                        .help = "runs per solver and arithmetic; the minimum is reported (the "
                                "machine may be shared)",
                        .cmds = IN(BENCH_SOLVE),
                        .section = S_BENCH},

    /* ---- figures and sweeps ----------------------------------------------- */
    [GKA_OPT_LIST] = {.name = "list",
                      .type = GKA_OT_FLAG,
                      .help = "list the figures and exit",
                      .cmds = IN(FIGURE),
                      .section = S_RUN},
    [GKA_OPT_QUICK] = {.name = "quick",
                       .type = GKA_OT_FLAG,
                       .help = "the quick tier (the default): minutes for all figures",
                       .cmds = IN(FIGURE),
                       .excludes = X(GKA_OPT_FULL) | X(GKA_OPT_TIER),
                       .section = S_RUN},
    [GKA_OPT_FULL] = {.name = "full",
                      .type = GKA_OT_FLAG,
                      .help = "the full tier: the sizes of the report",
                      .cmds = IN(FIGURE),
                      .excludes = X(GKA_OPT_QUICK) | X(GKA_OPT_TIER),
                      .section = S_RUN},
    [GKA_OPT_TIER] = {.name = "tier",
                      .metavar = "quick|full",
                      .type = GKA_OT_CHOICE,
                      .choices = "quick|full",
                      .def = "quick",
                      .help = "the tier by name (as --quick or --full)",
                      .cmds = IN(FIGURE),
                      .section = S_RUN},
    [GKA_OPT_IMAGE_FORMATS] = {.name = "images",
                               .metavar = "LIST",
                               .type = GKA_OT_TEXT,
                               .def = "all",
                               .help = "image files to render: a comma list of pdf, png, svg, or "
                                       "all or none",
                               .cmds = IN(FIGURE),
                               .section = S_OUTPUT},
    /* ---- parameters of a figure (gka figure NAME --help: which, defaults) -- */
    [GKA_OPT_GATE_SPECS] = {.name = "gates",
                            .metavar = "LIST",
                            .type = GKA_OT_NAMES,
                            .help = "decay gate specs (none, gka, const:G, uniform:LO,HI, ...)",
                            .cmds = IN(FIGURE),
                            .section = S_PROBLEM},
    [GKA_OPT_A] = {.name = "a",
                   .metavar = "LIST",
                   .type = GKA_OT_NAMES,
                   .help = "ridge ratios a (lambda = a ||H||_F, or the fixed ridge a of a "
                           "normalised H)",
                   .cmds = IN(FIGURE),
                   .section = S_PROBLEM},
    [GKA_OPT_RIDGE_SPECS] = {.name = "ridges",
                             .metavar = "LIST",
                             .type = GKA_OT_NAMES,
                             .help =
                                 "ridge specs, as --ridge takes them: fixed:LAMBDA, adaptive:A, "
                                 "decay:LAMBDA0 (where the figure allows it)",
                             .cmds = IN(FIGURE),
                             .section = S_PROBLEM},
    [GKA_OPT_OUT_DIR] = {.name = "out",
                         .metavar = "DIR",
                         .type = GKA_OT_PATH,
                         .def = "results",
                         .help = "output directory: DIR/NAME/NAME.csv, .gp and the images",
                         .cmds = IN(FIGURE),
                         .section = S_OUTPUT},
    [GKA_OPT_OUT_FILE] = {.name = "out",
                          .metavar = "FILE",
                          .type = GKA_OT_PATH,
                          .def = "sweep.csv",
                          .help = "rows per cell and token; FILE.summary.csv one row per cell; "
                                  "FILE.journal the finished cells (for --resume)",
                          .cmds = IN(SWEEP),
                          .section = S_OUTPUT},
    [GKA_OPT_RESUME] = {.name = "resume",
                        .type = GKA_OT_FLAG,
                        .help = "run only the cells missing from FILE.journal",
                        .cmds = IN(SWEEP),
                        .section = S_RUN},
    [GKA_OPT_DEDICATED_ROOT] = {.name = "dedicated-root",
                                .type = GKA_OT_FLAG,
                                .help = "under MPI, rank 0 only hands out cells and writes (many "
                                        "ranks, several nodes)",
                                .cmds = IN(SWEEP),
                                .section = S_RUN},
    [GKA_OPT_THREADS] = {.name = "threads",
                         .metavar = "N",
                         .type = GKA_OT_INT,
                         .lo = 1,
                         .hi = 1024,
                         .def_note = "all cores (`gka sweep`: 1)",
                         .help = "OpenMP threads; the results are the same for any N",
                         .cmds = IN(FIGURE) | IN(SWEEP) | IN(BENCH_ROUND),
                         .section = S_RUN},
    [GKA_OPT_QUIET] = {.name = "quiet",
                       .type = GKA_OT_FLAG,
                       .help = "no progress on stderr (`gka solve`, `gka grad`: a bar on a "
                               "terminal for runs longer than about a second)",
                       .cmds = IN(FIGURE) | IN(SWEEP) | DATA_CMDS,
                       .section = S_RUN},
};

static const gka_cli_command_t commands[GKA_CMD_COUNT] = {
    [GKA_CMD_FORMATS] =
        {.name = "formats",
         .summary = "table of number formats and derived quantities",
         .about = "Prints every built-in format: precision t (significant bits, implicit bit "
                  "included), emin, emax, unit roundoff u = 2^-t, machine epsilon 2^(1-t), "
                  "largest finite, smallest normal 2^emin, smallest subnormal 2^(emin-t+1), "
                  "whether it has infinities, and the bits of its encoding. Custom formats are "
                  "written custom:t,emin,emax (2 <= t <= 26)."},
    [GKA_CMD_ROUND] =
        {.name = "round",
         .summary = "round values to a format: decimal and hex bits",
         .args = "VALUE...",
         .min_args = 1,
         .max_args = GKA_OPTS_MAX_ARGS,
         .args_what = "VALUE",
         .about = "Rounds each VALUE (a decimal or hex-float number, inf or nan, read as the "
                  "nearest double) once to --format and prints the input, the result (%.17g), "
                  "the encoding in hex (for custom formats, the result as a hex float) and the "
                  "exception flags. --format is required."},
    [GKA_CMD_SOLVE] =
        {.name = "solve",
         .summary = "run a ridge solver over a key stream, per-token metrics",
         .about = "Runs a ridge solver token by token over a stream of keys and queries and "
                  "measures each solve against the fp64 LAPACK reference of the same (rounded) "
                  "problem.",
         .holds_always = NEEDS(CHUNKED_GRADIENT),
         .notes = "Kalman runs P_0 = I/lambda_init and lets the regulariser decay with the "
                  "gates: exact for --ridge decay:L0, approximate for fixed (with gates) and "
                  "adaptive ridges."},
    [GKA_CMD_SOLVERS] = {.name = "solvers",
                         .summary = "list solvers and their options",
                         .about = "Lists the solvers of `gka solve --solver NAME`, their "
                                  "variants (--variant) and options."},
    [GKA_CMD_GRAD] =
        {.name = "grad",
         .summary = "gradients of the solve and their errors",
         .about = "Gradients of x_t = (H_t + lambda_t I)^{-1} q_t with respect to q_t, k_t, "
                  "the log-gates g_t and the write gates beta_t for the loss L = sum_t <dx_t, "
                  "x_t> (dx_t ~ N(0, I), seeded), computed in the studied arithmetic, and their "
                  "errors against the exact gradient of the same rounded problem (fp64, x* and "
                  "dq* by LAPACK dposv).",
         .holds_always = NEEDS(CHUNKABLE),
         .notes = "--csv columns: t,err_dq,err_dk,err_dg,err_dbeta,dg,dg_ref,nonfinite (err_*: "
                  "per-token relative errors; err_dg and err_dbeta relative to the rms of the "
                  "reference over the sequence). --mode is the rounding mode, as in every "
                  "command; the gradient mode is --grad-mode."},
    [GKA_CMD_FIGURE] =
        {.name = "figure",
         .summary = "reproduce a figure: CSV, gnuplot script, plots",
         .args = "NAME|all",
         .min_args = 0,
         .max_args = 1,
         .args_what = "figure name",
         .about = "Writes DIR/NAME/NAME.csv (metadata lines first), DIR/NAME/NAME.gp (gnuplot "
                  "script reading the CSV) and DIR/NAME/NAME.{pdf,png,svg}. `gka figure --list` "
                  "lists the figures. The CSV is the same for any --threads. Set "
                  "SOURCE_DATE_EPOCH to fix the date line. Elapsed time per figure is printed "
                  "on stdout; a progress bar on stderr when it is a terminal.",
         .notes = "The parameters of the experiment (--D --T --formats --solvers --ridges "
                  "--gates --keys --iters --a --chunk) apply to the figures that take them, each "
                  "with a value per "
                  "tier that a given value overrides: `gka figure NAME --help` lists a "
                  "figure's parameters and values; any other is refused. `gka figure all` "
                  "takes the parameters every figure has (--D, --T). The values used are "
                  "written into the CSV metadata."},
    [GKA_CMD_SWEEP] =
        {.name = "sweep",
         .summary = "run a grid of configurations (MPI-aware)",
         .args = "GRID",
         .min_args = 1,
         .max_args = 1,
         .args_what = "grid file",
         .about = "Runs every cell of the grid file GRID (see the README) and writes FILE, "
                  "FILE.summary.csv and FILE.journal. Exit 1 if a cell failed (the outputs list "
                  "missing cells). Under `mpirun -np N gka sweep ...` every rank runs cells."},
    [GKA_CMD_BENCH_ROUND] =
        {.name = "bench round",
         .summary = "throughput of rounding float32 arrays",
         .about = "Times gka_round_array_f32 (float32 in, float32 out) to each format and mode "
                  "on arrays of the given sizes, with one thread and with N threads, next to "
                  "memcpy of the same array. Inputs are uniform in (-1, 1). GB/s counts 8 bytes "
                  "per value (read and write); ratio = rounding GB/s / memcpy GB/s."},
    [GKA_CMD_BENCH_SOLVE] =
        {.name = "bench solve",
         .summary = "per-token cost of each solver",
         .about = "Per-token cost (stream update + solve, no reference) of each solver in "
                  "native fp64 (the fp64 table), emulated fp32 (every operation rounded), "
                  "emulated bf16 with fp32 accumulation, and a hand-written native-float "
                  "Chebyshev baseline. Times are CPU time of the thread."},
};

const gka_opt_decl_t *gka_opt_decl(gka_opt_id_t id) {
    return id < GKA_OPT_COUNT ? &decls[id] : NULL;
}

const gka_cli_command_t *gka_cli_command(gka_cmd_id_t cmd) {
    return cmd < GKA_CMD_COUNT ? &commands[cmd] : NULL;
}
