/* libFuzzer target: the option and name parsers behind the command line.
 * The input is split at NUL bytes into argv words; the first byte chooses
 * which parser gets them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_precision.h"
#include "gka_stream.h"

enum { MAX_ARGS = 32 };

static void parse_names(const char *s) {
    gka_format_t f;
    gka_round_mode_t m;
    gka_accum_t a;
    gka_ridge_t r;
    gka_keys_spec_t k;
    gka_gate_spec_t g;
    gka_beta_spec_t b;
    gka_tier_t t;
    unsigned fm;
    (void)gka_format_by_name(s, &f);
    (void)gka_round_mode_by_name(s, &m);
    (void)gka_accum_by_name(s, &a, &f);
    (void)gka_ridge_parse(s, &r);
    (void)gka_keys_spec_parse(s, &k);
    (void)gka_gate_spec_parse(s, &g);
    (void)gka_beta_spec_parse(s, &b);
    (void)gka_tier_by_name(s, &t);
    (void)gka_formats_parse(s, &fm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (char *p = buf; p < buf + size - 1 && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    if (data[0] & 1) {
        gka_figure_opts_t o = gka_figure_opts_default();
        (void)gka_figure_parse_options(argc, argv, &o);
    } else {
        for (int i = 0; i < argc; i++)
            parse_names(argv[i]);
    }
    free(buf);
    return 0;
}
