/* Replays the fuzz targets' seed corpora and every crash the fuzzers ever
 * found (tests/fuzz/regressions/NAME/) through the same entry points, in the
 * ordinary suite (and so under ASan+UBSan in the sanitizer stage), and checks
 * that the valid seed files do load. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_safetensors_one
#include "fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_grid_one
#include "fuzz/fuzz_grid.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_options_one
#include "fuzz/fuzz_options.c"
#undef LLVMFuzzerTestOneInput

typedef int (*entry_fn)(const uint8_t *, size_t);

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)len + 1);
    cr_assert_eq(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return d;
}

/* Run every file of dir through fn; returns how many files there were. */
static int replay(const char *sub, const char *name, entry_fn fn) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", GKA_SOURCE_DIR, sub, name);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".keep") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n;
        unsigned char *data = slurp(path, &n);
        fn(data, n);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

Test(fuzz_corpus, replay_all) {
    const char *names[] = {"npy", "safetensors", "grid", "options"};
    entry_fn fns[] = {fuzz_npy_one, fuzz_safetensors_one, fuzz_grid_one, fuzz_options_one};
    for (int i = 0; i < 4; i++) {
        cr_assert_gt(replay("corpus", names[i], fns[i]), 0, "no seeds for %s", names[i]);
        replay("regressions", names[i], fns[i]);
    }
}

/* The seeds are valid files: the loaders must accept them (otherwise the
 * fuzzer starts from nothing but error paths). */
Test(fuzz_corpus, seeds_are_valid) {
    const char *npy[] = {"f4_T4_D3.npy", "f2_T2_D4.npy", "f8_B1_T2_H2_D3.npy", "be_f4_T3_D2.npy",
                         "v2_f8_T2_D2.npy"};
    for (size_t i = 0; i < sizeof npy / sizeof npy[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/npy/%s", GKA_SOURCE_DIR, npy[i]);
        size_t n;
        unsigned char *d = slurp(path, &n);
        gka_array_view_t v;
        cr_assert_eq(gka_npy_parse(d, n, npy[i], &v), GKA_OK, "%s: %s", npy[i],
                     gka_error_message());
        free(d);
    }
    const char *st[] = {"qk_f32.safetensors", "qkg_bf16.safetensors", "qk_f16_batched.safetensors",
                        "qkb_f64.safetensors"};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/safetensors/%s", GKA_SOURCE_DIR, st[i]);
        size_t n;
        unsigned char *d = slurp(path, &n);
        gka_buffer_t in = {d, n, st[i], NULL};
        gka_load_options_t opt = gka_load_options_default();
        gka_trace_t tr;
        memset(&tr, 0, sizeof tr);
        cr_assert_eq(gka_trace_from_safetensors_buffer(&in, &opt, &tr), GKA_OK, "%s: %s", st[i],
                     gka_error_message());
        cr_assert_gt(tr.T, 0);
        gka_trace_free(&tr);
        free(d);
    }
    static gka_sweep_grid_t g;
    const char *grids[] = {"demo.toml", "all_axes.toml"};
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/grid/%s", GKA_SOURCE_DIR, grids[i]);
        cr_assert_eq(gka_sweep_grid_load(path, &g), GKA_OK, "%s", gka_error_message());
    }
}
