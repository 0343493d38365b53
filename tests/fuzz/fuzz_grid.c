/* libFuzzer target: grid files of gka sweep, and the TOML parser under them
 * on the raw bytes (NUL bytes included, which the grid loader refuses). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static gka_sweep_grid_t grid; /* large: not on the stack */
    gka_toml_t *doc = NULL;
    if (gka_toml_parse((const char *)data, size, "fuzz.toml", &doc) == GKA_OK) gka_toml_free(doc);
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (gka_sweep_grid_parse(text, "fuzz.toml", &grid) == GKA_OK && grid.ncells > 0) {
        (void)gka_sweep_cell_value(&grid, grid.ncells - 1, GKA_SWEEP_AXIS_SEED);
        (void)gka_sweep_cell_cost(&grid, 0);
    }
    free(text);
    return 0;
}
