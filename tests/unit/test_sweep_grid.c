/* Grid files of gka sweep: parsing, validation messages, expansion order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gka_sweep.h"

static gka_sweep_grid_t *grid(void) {
    gka_sweep_grid_t *g = calloc(1, sizeof *g);
    cr_assert_not_null(g);
    return g;
}

Test(sweep_grid, defaults_give_one_cell) {
    gka_sweep_grid_t *g = grid();
    cr_assert_eq(gka_sweep_grid_parse("# nothing\n\n", "g.toml", g), GKA_OK, "%s",
                 gka_error_message());
    cr_assert_eq(g->ncells, 1);
    cr_assert_str_eq(gka_sweep_cell_value(g, 0, GKA_SWEEP_AXIS_SOLVER), "chebyshev");
    cr_assert_str_eq(gka_sweep_cell_value(g, 0, GKA_SWEEP_AXIS_RIDGE), "adaptive:0.02");
    cr_assert_eq(g->every, 32);
    free(g);
}

Test(sweep_grid, product_with_last_axis_fastest) {
    gka_sweep_grid_t *g = grid();
    const char *text = "solver = [\"cg\", \"chebyshev\"]\n"
                       "keys = [\"lowrank:4,0.01\", \"iid\"]  # a comment\n"
                       "seed = [1, 2, 3]\nT = 32\nD = 8\nevery = 4\n";
    cr_assert_eq(gka_sweep_grid_parse(text, "g.toml", g), GKA_OK, "%s", gka_error_message());
    cr_assert_eq(g->ncells, 12);
    /* cell = ((solver * 2 + keys) * 3 + seed) */
    cr_assert_str_eq(gka_sweep_cell_value(g, 0, GKA_SWEEP_AXIS_SEED), "1");
    cr_assert_str_eq(gka_sweep_cell_value(g, 1, GKA_SWEEP_AXIS_SEED), "2");
    cr_assert_str_eq(gka_sweep_cell_value(g, 3, GKA_SWEEP_AXIS_KEYS), "iid");
    cr_assert_str_eq(gka_sweep_cell_value(g, 2, GKA_SWEEP_AXIS_KEYS), "lowrank:4,0.01");
    cr_assert_str_eq(gka_sweep_cell_value(g, 6, GKA_SWEEP_AXIS_SOLVER), "chebyshev");
    cr_assert_str_eq(gka_sweep_cell_value(g, 5, GKA_SWEEP_AXIS_SOLVER), "cg");
    cr_assert_eq(g->every, 4);
    free(g);
}

Test(sweep_grid, hash_depends_on_every_value) {
    gka_sweep_grid_t *a = grid(), *b = grid(), *c = grid();
    cr_assert_eq(gka_sweep_grid_parse("D = [8, 16]\n", "a", a), GKA_OK);
    cr_assert_eq(gka_sweep_grid_parse("D = [8, 16]  # same\n", "b", b), GKA_OK);
    cr_assert_eq(gka_sweep_grid_parse("D = [8, 32]\n", "c", c), GKA_OK);
    cr_assert_eq(a->hash, b->hash);
    cr_assert_neq(a->hash, c->hash);
    free(a);
    free(b);
    free(c);
}

/* Each bad grid is rejected with a message naming the file, line and value. */
static void expect_error(const char *text, const char *needle) {
    gka_sweep_grid_t *g = grid();
    gka_status_t st = gka_sweep_grid_parse(text, "bad.toml", g);
    cr_assert_neq(st, GKA_OK, "accepted: %s", text);
    cr_assert(strstr(gka_error_message(), needle) != NULL, "message '%s' lacks '%s'",
              gka_error_message(), needle);
    cr_assert(strstr(gka_error_message(), "bad.toml") != NULL, "message lacks the file: %s",
              gka_error_message());
    free(g);
}

Test(sweep_grid, bad_input_is_named) {
    expect_error("solver = [\"nosuch\"]\n", "nosuch");
    expect_error("format = \"bf17\"\n", "bf17");
    expect_error("ridge = \"fixed:abc\"\n", "fixed:abc");
    expect_error("D = [8, 0]\n", "D");
    expect_error("T = -5\n", "T");
    expect_error("seed = -1\n", "seed");
    expect_error("colour = \"red\"\n", "colour");
    expect_error("[colour]\nx = 1\n", "unknown key 'colour' (tables: [axes] and [settings])");
    expect_error("[axes]\nevery = 4\n", "unknown key 'axes.every'");
    expect_error("D = 1.5\n", "expected a string or an integer");
    expect_error("D = []\n", "empty list");
    expect_error("every = [1, 2]\n", "every takes one value");
    expect_error("D = [8, 16\n", "bad.toml:2:1");
    expect_error("keys = \"iid\n", "unterminated");
    expect_error("D = 8\nD = 16\n", "twice");
    expect_error("D = 8\naxes.D = 16\n", "set twice");
    expect_error("every = 0\n", "every");
    expect_error("just words\n", "expected '='");
}

Test(sweep_grid, cell_limit) {
    gka_sweep_grid_t *g = grid();
    /* 100^3 * 2 = 2e6 cells > limit */
    char text[8192] = "seed = [";
    for (int i = 0; i < 100; i++)
        sprintf(text + strlen(text), "%s%d", i ? "," : "", i);
    strcat(text, "]\nD = [");
    for (int i = 1; i <= 100; i++)
        sprintf(text + strlen(text), "%s%d", i > 1 ? "," : "", i);
    strcat(text, "]\nT = [");
    for (int i = 1; i <= 100; i++)
        sprintf(text + strlen(text), "%s%d", i > 1 ? "," : "", i);
    strcat(text, "]\nsolver = [\"cg\", \"chebyshev\"]\n");
    cr_assert_eq(gka_sweep_grid_parse(text, "big.toml", g), GKA_ERANGE, "%s", gka_error_message());
    free(g);
}
