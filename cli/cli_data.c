/* The file inputs of gka solve and gka grad (gka_cli.h): one loader path. */
#include <stdio.h>
#include <string.h>

#include "gka_cli.h"
#include "gka_data.h"

int gka_cli_is_npy(const char *s) {
    char path[4096];
    const char *dtype;
    return s && gka_npy_spec_split(s, path, sizeof path, &dtype);
}

int gka_cli_files_given(const gka_cli_files_t *f) {
    return f->trace || gka_cli_is_npy(f->keys);
}

int gka_cli_load_files(const gka_cli_files_t *f, gka_trace_t *tr) {
    gka_status_t st;
    gka_load_options_t lo = gka_load_options_default();
    lo.batch = f->batch, lo.head = f->head, lo.seed = f->seed;
    lo.expect_D = f->have_D ? (int)f->D : 0;
    if (f->trace) {
        st = gka_trace_load_safetensors(f->trace, &lo, tr);
    } else {
        gka_npy_paths_t p = {f->keys, gka_cli_is_npy(f->queries) ? f->queries : NULL, NULL,
                             f->gates, f->betas};
        if (!p.queries && (st = gka_queries_spec_parse(f->queries, &lo.missing_queries)))
            return gka_cli_fail(GKA_EXIT_USAGE, "%s", gka_error_message());
        st = gka_trace_load_npy_paths(&p, &lo, tr);
    }
    if (st)
        return gka_cli_fail(st == GKA_ENOMEM ? GKA_EXIT_FAIL : GKA_EXIT_USAGE, "%s",
                            gka_error_message());
    if (f->normalize) gka_trace_normalize(tr);
    if (tr->D > 1024)
        return gka_cli_fail(GKA_EXIT_USAGE, "trace D = %d out of range [1, 1024]", tr->D);
    if (f->have_T && f->T < tr->T) tr->T = f->T;
    if (tr->T > 10000000L)
        return gka_cli_fail(GKA_EXIT_USAGE, "trace T = %ld out of range [1, 10000000]", tr->T);
    if (tr->queries_fallback)
        fprintf(stderr,
                "gka: notice: no queries in the input; using synthetic %s queries "
                "(--queries F.npy to give them)\n",
                f->trace || !strcmp(f->queries, "iid") ? "iid N(0, I)" : f->queries);
    return -1;
}
