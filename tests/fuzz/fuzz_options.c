/* libFuzzer target: the option and name parsers behind the command line.
 * The input is split at NUL bytes into argv words; the first byte chooses
 * which parser gets them: the name parsers of the library, or the option
 * table's parser (cli/options.c) for one of the commands. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_arith.h"
#include "gka_data.h"
#include "gka_figure.h"
#include "gka_precision.h"
#include "gka_stream.h"
#include "options.h"

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
        static gka_opts_t o; /* large: not on the stack */
        char *args[MAX_ARGS + 2] = {"cmd"};
        for (int i = 0; i <= argc; i++)
            args[i + 1] = argv[i];
        (void)gka_opts_parse((gka_cmd_id_t)((data[0] >> 1) % GKA_CMD_COUNT), argc + 1, args, &o);
    } else {
        for (int i = 0; i < argc; i++)
            parse_names(argv[i]);
    }
    free(buf);
    return 0;
}
