/* libFuzzer target: .safetensors loader (header parser and trace builder). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gka_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gka_st_file_t f;
    memset(&f, 0, sizeof f);
    (void)gka_safetensors_parse(data, size, "fuzz.safetensors", &f);
    gka_st_file_free(&f);
    gka_buffer_t in = {data, size, "fuzz.safetensors", NULL};
    gka_load_options_t opt = gka_load_options_default();
    gka_trace_t tr;
    memset(&tr, 0, sizeof tr);
    if (gka_trace_from_safetensors_buffer(&in, &opt, &tr) == GKA_OK) gka_trace_free(&tr);
    return 0;
}
