/* Class shards through the C API, in one process: the seed batch's classes
 * split into shards (an empty one included), their states merged in two
 * orders, losses and gradients against the single-process call; a bad label
 * on one shard fails the merged batch. C99. */
#include <stdint.h>
#include <stddef.h>
#include "mlcce.h"
#include "check.h"
#include "golden.h"

#define ROWS 3
#define CLASSES 4

static const float X[ROWS * CLASSES] = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
static const uint8_t Y[ROWS * CLASSES] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};

/* Columns a..b of every row. */
static void columns(int a, int b, float *x, uint8_t *y) {
    int r, c, k = 0;
    for (r = 0; r < ROWS; r++)
        for (c = a; c < b; c++, k++) {
            x[k] = X[r * CLASSES + c];
            y[k] = Y[r * CLASSES + c];
        }
}

int main(void) {
    static const int cuts[4] = {0, 1, 1, 4}; /* shards 0..1, 1..1 (empty), 1..4 */
    mlcce_stream part[3][ROWS], merged[ROWS], other[ROWS];
    float x[ROWS * CLASSES], g[ROWS * CLASSES], grad[ROWS * CLASSES], mean = 0.0f, rows[ROWS];
    uint8_t y[ROWS * CLASSES];
    size_t positives_off[ROWS + 1] = {0, 2, 4, 5};
    const uint32_t positives[5] = {0, 2, 2, 3, 0};
    int s, r, c;

    for (s = 0; s < 3; s++) {
        columns(cuts[s], cuts[s + 1], x, y);
        CHECK_STATUS(mlcce_shard_states(x, y, ROWS, (size_t)(cuts[s + 1] - cuts[s]), part[s]), MLCCE_OK);
    }
    /* (0 + 1) + 2 and 2 + (1 + 0). */
    memcpy(merged, part[0], sizeof merged);
    CHECK_STATUS(mlcce_shard_merge(part[1], merged, ROWS), MLCCE_OK);
    CHECK_STATUS(mlcce_shard_merge(part[2], merged, ROWS), MLCCE_OK);
    memcpy(other, part[1], sizeof other);
    CHECK_STATUS(mlcce_shard_merge(part[0], other, ROWS), MLCCE_OK);
    CHECK_STATUS(mlcce_shard_merge(other, part[2], ROWS), MLCCE_OK);
    CHECK_STATUS(mlcce_shard_loss(merged, ROWS, MLCCE_REDUCTION_MEAN, &mean), MLCCE_OK);
    CHECK(close_rel(mean, SEED_MEAN, 4e-7));
    CHECK_STATUS(mlcce_shard_loss(part[2], ROWS, MLCCE_REDUCTION_NONE, rows), MLCCE_OK);
    for (r = 0; r < ROWS; r++) CHECK(close_rel(rows[r], SEED_ROWS[r], 4e-7));

    /* Each shard's gradient (one of them in place) is its columns of the whole one. */
    for (s = 0; s < 3; s++) {
        int w = cuts[s + 1] - cuts[s];
        columns(cuts[s], cuts[s + 1], x, y);
        if (s == 2) {
            CHECK_STATUS(mlcce_shard_grad(x, y, ROWS, (size_t)w, merged, MLCCE_REDUCTION_MEAN, x), MLCCE_OK);
            memcpy(g, x, sizeof(float) * ROWS * (size_t)w);
        } else {
            CHECK_STATUS(mlcce_shard_grad(x, y, ROWS, (size_t)w, merged, MLCCE_REDUCTION_MEAN, g), MLCCE_OK);
        }
        for (r = 0; r < ROWS; r++)
            for (c = 0; c < w; c++) grad[r * CLASSES + cuts[s] + c] = g[r * w + c];
    }
    for (c = 0; c < ROWS * CLASSES; c++) CHECK(fabs(grad[c] - SEED_GRAD[c]) <= 1.4e-7);

    /* Sparse: global indices, the same lists on every shard (shard 1..4). */
    columns(1, 4, x, y);
    CHECK_STATUS(mlcce_shard_states_sparse(x, ROWS, 3, 1, CLASSES, positives, positives_off, other), MLCCE_OK);
    columns(0, 1, x, y);
    CHECK_STATUS(mlcce_shard_states_sparse(x, ROWS, 1, 0, CLASSES, positives, positives_off, part[0]), MLCCE_OK);
    CHECK_STATUS(mlcce_shard_merge(part[0], other, ROWS), MLCCE_OK);
    CHECK_STATUS(mlcce_shard_loss(other, ROWS, MLCCE_REDUCTION_MEAN, &mean), MLCCE_OK);
    CHECK(close_rel(mean, SEED_MEAN, 4e-7));
    CHECK_STATUS(mlcce_shard_grad_sparse(x, ROWS, 1, 0, CLASSES, positives, positives_off, other, MLCCE_REDUCTION_MEAN, g),
                 MLCCE_OK);
    for (r = 0; r < ROWS; r++) CHECK(fabs(g[r] - SEED_GRAD[r * CLASSES]) <= 1.4e-7);

    /* A bad label on one shard: reported there, and by the merged states. */
    columns(1, 4, x, y);
    y[4] = 9;
    CHECK_STATUS(mlcce_shard_states(x, y, ROWS, 3, part[2]), MLCCE_ERR_LABEL);
    memcpy(merged, part[0], sizeof merged);
    CHECK_STATUS(mlcce_shard_merge(part[2], merged, ROWS), MLCCE_OK);
    mean = -7.0f;
    CHECK_STATUS(mlcce_shard_loss(merged, ROWS, MLCCE_REDUCTION_MEAN, &mean), MLCCE_ERR_LABEL);
    CHECK(mean == -7.0f);
    columns(0, 1, x, y);
    CHECK_STATUS(mlcce_shard_grad(x, y, ROWS, 1, merged, MLCCE_REDUCTION_MEAN, g), MLCCE_ERR_LABEL);

    /* Bad arguments. */
    CHECK_STATUS(mlcce_shard_states(NULL, y, ROWS, 1, merged), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_shard_merge(merged, merged, ROWS), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_shard_loss(merged, ROWS, 9, &mean), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_shard_loss(merged, 0, MLCCE_REDUCTION_MEAN, &mean), MLCCE_ERR_SHAPE);
    CHECK_STATUS(mlcce_shard_states_sparse(x, ROWS, 3, 2, CLASSES, positives, positives_off, other), MLCCE_ERR_SHAPE);
    return check_summary("test_shard");
}
