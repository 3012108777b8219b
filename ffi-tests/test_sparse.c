/* Sparse labels and GlobalPointer through the C API. C99. */
#include <stdint.h>
#include <stddef.h>
#include "mlcce.h"
#include "check.h"
#include "golden.h"

static void test_cancellation(void) {
    const uint32_t pos[1] = {0};
    const size_t off[2] = {0, 1};
    float loss = -1.0f, grad[8];
    int i;
    CHECK_STATUS(mlcce_sparse_loss(CANCEL_LOGITS, 1, 8, pos, off, MLCCE_REDUCTION_SUM, &loss), MLCCE_OK);
    CHECK(loss > 0.0f);
    CHECK(close_rel(loss, CANCEL_LOSS, 1e-6));
    CHECK_STATUS(mlcce_sparse_loss_grad(CANCEL_LOGITS, 1, 8, pos, off, MLCCE_REDUCTION_SUM, &loss, grad), MLCCE_OK);
    for (i = 0; i < 8; i++) CHECK(fabs(grad[i] - CANCEL_GRAD[i]) <= 1e-6 * fabs(CANCEL_GRAD[1]) + 1e-30);
}

static void test_sparse_equals_dense(void) {
    /* The seed example in CSR form. */
    static const float x[12] = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
    static const uint8_t y[12] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
    static const uint32_t pos[5] = {0, 2, 2, 3, 0};
    static const size_t off[4] = {0, 2, 4, 5};
    float a[3], b[3], ga[12], gb[12], buf[12];
    int i;
    CHECK_STATUS(mlcce_loss(x, y, 3, 4, MLCCE_REDUCTION_NONE, a), MLCCE_OK);
    CHECK_STATUS(mlcce_sparse_loss(x, 3, 4, pos, off, MLCCE_REDUCTION_NONE, b), MLCCE_OK);
    for (i = 0; i < 3; i++) CHECK(a[i] == b[i]);
    CHECK_STATUS(mlcce_loss_grad(x, y, 3, 4, MLCCE_REDUCTION_MEAN, NULL, ga), MLCCE_OK);
    CHECK_STATUS(mlcce_sparse_loss_grad(x, 3, 4, pos, off, MLCCE_REDUCTION_MEAN, NULL, gb), MLCCE_OK);
    memcpy(buf, x, sizeof buf);
    CHECK_STATUS(mlcce_sparse_loss_grad(buf, 3, 4, pos, off, MLCCE_REDUCTION_MEAN, NULL, buf), MLCCE_OK);
    for (i = 0; i < 12; i++) CHECK(ga[i] == gb[i] && fabs(buf[i] - ga[i]) <= 1e-7);
}

static void test_sparse_bad_inputs(void) {
    static const float x[8] = {0};
    const uint32_t pos[2] = {1, 1};
    const size_t off_bad[3] = {0, 2, 1};
    const size_t off[3] = {0, 2, 2};
    const size_t off1[3] = {0, 1, 1};
    const uint32_t big[1] = {4};
    float out = -7.0f;
    CHECK_STATUS(mlcce_sparse_loss(x, 2, 4, pos, NULL, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_sparse_loss(x, 2, 4, NULL, off, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_sparse_loss(x, 2, 4, pos, off_bad, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_SHAPE);
    CHECK_STATUS(mlcce_sparse_loss(x, 2, 4, pos, off, 9, &out), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_sparse_loss(x, 2, 4, pos, off, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_INDEX);
    CHECK_STATUS(mlcce_sparse_loss(x, 2, 4, big, off1, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_INDEX);
    CHECK(out == -7.0f);
}

static void test_globalpointer(void) {
    /* batch 2, heads 1, max_len 3; lengths 3 and 2; padding is NaN. */
    float x[18];
    uint8_t y[18];
    const uint32_t lengths[2] = {3, 2};
    const uint32_t spans[3] = {1, 8, 0}; /* row 0: (0,1), (2,2); row 1: (0,0) */
    const size_t off[3] = {0, 2, 3};
    float gp[2], dense[2], g[18], gd[18];
    int r, i, j;
    for (r = 0; r < 2; r++)
        for (i = 0; i < 3; i++)
            for (j = 0; j < 3; j++) {
                int k = r * 9 + i * 3 + j, len = (int)lengths[r];
                int valid = i <= j && j < len;
                x[k] = valid ? 0.5f * (float)(k % 5) - 1.0f : NAN;
                y[k] = valid ? 0 : MLCCE_IGNORE;
            }
    y[1] = 1; y[8] = 1; y[9] = 1;
    CHECK_STATUS(mlcce_globalpointer_loss(x, 2, 1, 3, lengths, spans, off, MLCCE_REDUCTION_NONE, gp), MLCCE_OK);
    CHECK_STATUS(mlcce_loss(x, y, 2, 9, MLCCE_REDUCTION_NONE, dense), MLCCE_OK);
    for (r = 0; r < 2; r++) CHECK(close_rel(gp[r], dense[r], 1e-6));
    CHECK_STATUS(mlcce_globalpointer_loss_grad(x, 2, 1, 3, lengths, spans, off, MLCCE_REDUCTION_MEAN, NULL, g), MLCCE_OK);
    CHECK_STATUS(mlcce_loss_grad(x, y, 2, 9, MLCCE_REDUCTION_MEAN, NULL, gd), MLCCE_OK);
    for (i = 0; i < 18; i++) CHECK(fabs(g[i] - gd[i]) <= 1e-7);
    /* In place: padding becomes 0. */
    CHECK_STATUS(mlcce_globalpointer_loss_grad(x, 2, 1, 3, lengths, spans, off, MLCCE_REDUCTION_MEAN, NULL, x), MLCCE_OK);
    for (i = 0; i < 18; i++) CHECK(fabs(x[i] - gd[i]) <= 1e-7);
    /* Bad inputs. */
    {
        const uint32_t too_long[2] = {4, 2};
        const uint32_t lower[1] = {3}; /* cell (1, 0) */
        const size_t off1[3] = {0, 1, 1};
        float out = -7.0f;
        CHECK_STATUS(mlcce_globalpointer_loss(x, 2, 1, 3, too_long, spans, off, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_SHAPE);
        CHECK_STATUS(mlcce_globalpointer_loss(x, 2, 1, 3, lengths, lower, off1, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_INDEX);
        CHECK_STATUS(mlcce_globalpointer_loss(x, 2, 1, 3, NULL, spans, off, MLCCE_REDUCTION_SUM, &out), MLCCE_ERR_NULL_POINTER);
        CHECK_STATUS(mlcce_globalpointer_loss(x, 2, 1, 3, lengths, spans, off, 5, &out), MLCCE_ERR_ARGUMENT);
        CHECK(out == -7.0f);
    }
}

int main(void) {
    test_cancellation();
    test_sparse_equals_dense();
    test_sparse_bad_inputs();
    test_globalpointer();
    return check_summary("test_sparse");
}
