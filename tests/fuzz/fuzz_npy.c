/* libFuzzer target: .npy loader. The input is split at its first 0xFF 0xFE
 * pair into a keys file and a queries file, so the fuzzer reaches the code
 * that checks that two arrays agree as well as the header parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gka_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t cut = size;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == 0xFF && data[i + 1] == 0xFE) {
            cut = i;
            break;
        }
    gka_array_view_t view;
    (void)gka_npy_parse(data, size, "fuzz.npy", &view);
    /* the named-dtype path (bf16 for '<V2' records, contradictions refused) */
    (void)gka_npy_parse_as(data, size, "fuzz.npy", (size & 1) ? "bf16" : "f32", &view);
    gka_npy_buffers_t in;
    memset(&in, 0, sizeof in);
    in.keys = (gka_buffer_t){data, cut, "keys.npy", (size & 2) ? "bf16" : NULL};
    if (cut + 2 <= size) in.queries = (gka_buffer_t){data + cut + 2, size - cut - 2, "q.npy", NULL};
    gka_load_options_t opt = gka_load_options_default();
    opt.expect_D = (size & 4) ? 3 : 0;
    gka_trace_t tr;
    memset(&tr, 0, sizeof tr);
    if (gka_trace_from_npy_buffers(&in, &opt, &tr) == GKA_OK) gka_trace_free(&tr);
    return 0;
}
