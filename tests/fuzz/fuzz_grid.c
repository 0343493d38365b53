/* libFuzzer target: grid files of gka sweep. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gka_sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static gka_sweep_grid_t grid; /* large: not on the stack */
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
