/* The dense C API: seed value, reductions, gradients (in place too), streams,
 * and every bad input with its exact status and untouched outputs. C99. */
#include <stdint.h>
#include <stddef.h>
#include "mlcce.h"
#include "check.h"
#include "golden.h"

static const float SEED_LOGITS[12] = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
static const uint8_t SEED_LABELS[12] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
static void test_seed(void) {
    float mean = 0.0f, sum = 0.0f, rows[3] = {0};
    float grad[12];
    float loss = -1.0f;
    int i;
    CHECK_STATUS(mlcce_loss(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_MEAN, &mean), MLCCE_OK);
    CHECK(close_rel(mean, SEED_MEAN, 1e-6));
    CHECK(close_rel(mean, 1.9803704023361206, 1e-6)); /* the PyTorch value */
    CHECK_STATUS(mlcce_loss(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_SUM, &sum), MLCCE_OK);
    CHECK(close_rel(sum, 3 * SEED_MEAN, 1e-6));
    CHECK_STATUS(mlcce_loss(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_NONE, rows), MLCCE_OK);
    for (i = 0; i < 3; i++) CHECK(close_rel(rows[i], SEED_ROWS[i], 1e-6));

    CHECK_STATUS(mlcce_loss_grad(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_MEAN, &loss, grad), MLCCE_OK);
    CHECK(loss == mean);
    for (i = 0; i < 12; i++) CHECK(fabs(grad[i] - SEED_GRAD[i]) <= 1e-6 * 0.14);
    /* loss_out may be NULL. */
    CHECK_STATUS(mlcce_loss_grad(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_MEAN, NULL, grad), MLCCE_OK);
    for (i = 0; i < 12; i++) CHECK(fabs(grad[i] - SEED_GRAD[i]) <= 1e-6 * 0.14);
    /* SUM gradient is 3x the MEAN one; NONE gives each row's own (same here). */
    CHECK_STATUS(mlcce_loss_grad(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_SUM, &sum, grad), MLCCE_OK);
    for (i = 0; i < 12; i++) CHECK(fabs(grad[i] - 3 * SEED_GRAD[i]) <= 3e-6 * 0.14);
    CHECK_STATUS(mlcce_loss_grad(SEED_LOGITS, SEED_LABELS, 3, 4, MLCCE_REDUCTION_NONE, rows, grad), MLCCE_OK);
    for (i = 0; i < 12; i++) CHECK(fabs(grad[i] - 3 * SEED_GRAD[i]) <= 3e-6 * 0.14);
    for (i = 0; i < 3; i++) CHECK(close_rel(rows[i], SEED_ROWS[i], 1e-6));
}

static void test_in_place(void) {
    float buf[12];
    float loss = 0.0f;
    int i;
    memcpy(buf, SEED_LOGITS, sizeof buf);
    CHECK_STATUS(mlcce_loss_grad(buf, SEED_LABELS, 3, 4, MLCCE_REDUCTION_MEAN, &loss, buf), MLCCE_OK);
    CHECK(close_rel(loss, SEED_MEAN, 1e-6));
    for (i = 0; i < 12; i++) CHECK(fabs(buf[i] - SEED_GRAD[i]) <= 1e-6 * 0.14);
}

static void test_stream(void) {
    mlcce_stream whole, a, b;
    float loss = -1.0f, parts = -1.0f;
    size_t cut;
    mlcce_stream_init(&whole);
    CHECK_STATUS(mlcce_stream_loss(&whole, &loss), MLCCE_OK);
    CHECK(loss == 0.0f);
    CHECK_STATUS(mlcce_stream_update(&whole, SEED_LOGITS, SEED_LABELS, 4), MLCCE_OK);
    CHECK_STATUS(mlcce_stream_loss(&whole, &loss), MLCCE_OK);
    CHECK(close_rel(loss, SEED_ROWS[0], 1e-6));
    for (cut = 0; cut <= 4; cut++) {
        mlcce_stream_init(&a);
        mlcce_stream_init(&b);
        CHECK_STATUS(mlcce_stream_update(&b, SEED_LOGITS + cut, SEED_LABELS + cut, 4 - cut), MLCCE_OK);
        CHECK_STATUS(mlcce_stream_update(&a, SEED_LOGITS, SEED_LABELS, cut), MLCCE_OK);
        CHECK_STATUS(mlcce_stream_merge(&b, &a), MLCCE_OK); /* any order */
        CHECK_STATUS(mlcce_stream_loss(&b, &parts), MLCCE_OK);
        CHECK(close_rel(parts, SEED_ROWS[0], 1e-6));
    }
    /* Chunks of one class each. */
    mlcce_stream_init(&a);
    for (cut = 0; cut < 4; cut++) CHECK_STATUS(mlcce_stream_update(&a, SEED_LOGITS + cut, SEED_LABELS + cut, 1), MLCCE_OK);
    CHECK_STATUS(mlcce_stream_loss(&a, &parts), MLCCE_OK);
    CHECK(close_rel(parts, SEED_ROWS[0], 1e-6));
}

static void test_bad_inputs(void) {
    float out[3] = {-7.0f, -7.0f, -7.0f};
    float grad[12];
    float logits[12];
    uint8_t labels[12];
    mlcce_stream s, before;
    float loss = -7.0f;
    memcpy(logits, SEED_LOGITS, sizeof logits);
    memcpy(labels, SEED_LABELS, sizeof labels);

    /* NULL pointers with nonzero sizes. */
    CHECK_STATUS(mlcce_loss(NULL, labels, 3, 4, MLCCE_REDUCTION_MEAN, out), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_loss(logits, NULL, 3, 4, MLCCE_REDUCTION_MEAN, out), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, MLCCE_REDUCTION_MEAN, NULL), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_loss_grad(logits, labels, 3, 4, MLCCE_REDUCTION_MEAN, out, NULL), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_loss_grad(NULL, labels, 3, 4, MLCCE_REDUCTION_MEAN, out, grad), MLCCE_ERR_NULL_POINTER);
    /* NULL is fine where nothing is addressed. */
    CHECK_STATUS(mlcce_loss(NULL, NULL, 0, 4, MLCCE_REDUCTION_SUM, out), MLCCE_OK);
    CHECK(out[0] == 0.0f);
    out[0] = -7.0f;
    CHECK_STATUS(mlcce_loss(NULL, NULL, 0, 4, MLCCE_REDUCTION_NONE, NULL), MLCCE_OK);
    CHECK_STATUS(mlcce_loss(NULL, NULL, 3, 0, MLCCE_REDUCTION_NONE, out), MLCCE_OK);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f);
    out[0] = out[1] = out[2] = -7.0f;
    /* Shapes. */
    CHECK_STATUS(mlcce_loss(logits, labels, SIZE_MAX, 2, MLCCE_REDUCTION_SUM, out), MLCCE_ERR_SHAPE);
    CHECK_STATUS(mlcce_loss(NULL, NULL, 0, 4, MLCCE_REDUCTION_MEAN, out), MLCCE_ERR_SHAPE);
    CHECK_STATUS(mlcce_loss_grad(NULL, NULL, 0, 4, MLCCE_REDUCTION_MEAN, out, NULL), MLCCE_ERR_SHAPE);
    /* Unknown reductions. */
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, 3, out), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, 0xFFFFFFFFu, out), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_loss_grad(logits, labels, 3, 4, 7, out, grad), MLCCE_ERR_ARGUMENT);
    /* Partial overlaps are argument errors; exact in-place is allowed. */
    CHECK_STATUS(mlcce_loss_grad(logits, labels, 2, 4, MLCCE_REDUCTION_SUM, out, logits + 1), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_loss_grad(logits, labels, 3, 4, MLCCE_REDUCTION_SUM, logits + 2, grad), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, MLCCE_REDUCTION_NONE, logits + 5), MLCCE_ERR_ARGUMENT);
    CHECK(memcmp(logits, SEED_LOGITS, sizeof logits) == 0);
    CHECK(out[0] == -7.0f && out[1] == -7.0f && out[2] == -7.0f);

    /* Data errors: bad label, non-finite logit; scalar outputs untouched. */
    labels[6] = 2;
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, MLCCE_REDUCTION_MEAN, out), MLCCE_ERR_LABEL);
    CHECK_STATUS(mlcce_loss_grad(logits, labels, 3, 4, MLCCE_REDUCTION_SUM, out, grad), MLCCE_ERR_LABEL);
    CHECK(out[0] == -7.0f);
    labels[6] = 1;
    logits[9] = NAN;
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, MLCCE_REDUCTION_MEAN, out), MLCCE_ERR_NON_FINITE);
    logits[9] = INFINITY;
    CHECK_STATUS(mlcce_loss_grad(logits, labels, 3, 4, MLCCE_REDUCTION_MEAN, &loss, grad), MLCCE_ERR_NON_FINITE);
    logits[9] = -INFINITY;
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, MLCCE_REDUCTION_SUM, out), MLCCE_ERR_NON_FINITE);
    CHECK(out[0] == -7.0f && loss == -7.0f);
    /* ... but not in an ignored cell. */
    labels[9] = MLCCE_IGNORE;
    CHECK_STATUS(mlcce_loss(logits, labels, 3, 4, MLCCE_REDUCTION_SUM, out), MLCCE_OK);
    CHECK(isfinite(out[0]));

    /* Streams: NULLs, bad data, all-or-nothing. */
    mlcce_stream_init(NULL);
    mlcce_stream_init(&s);
    CHECK_STATUS(mlcce_stream_update(&s, SEED_LOGITS, SEED_LABELS, 4), MLCCE_OK);
    before = s;
    CHECK_STATUS(mlcce_stream_update(NULL, SEED_LOGITS, SEED_LABELS, 4), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_update(&s, NULL, SEED_LABELS, 4), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_update(&s, SEED_LOGITS, NULL, 4), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_update(&s, NULL, NULL, 0), MLCCE_OK);
    labels[1] = 200;
    CHECK_STATUS(mlcce_stream_update(&s, SEED_LOGITS, labels, 4), MLCCE_ERR_LABEL);
    labels[1] = 0;
    logits[0] = NAN;
    CHECK_STATUS(mlcce_stream_update(&s, logits, labels, 4), MLCCE_ERR_NON_FINITE);
    CHECK(memcmp(&s, &before, sizeof s) == 0);
    CHECK_STATUS(mlcce_stream_merge(NULL, &s), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_merge(&s, NULL), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_loss(NULL, &loss), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_loss(&s, NULL), MLCCE_ERR_NULL_POINTER);
    CHECK(loss == -7.0f);
    /* A corrupted state is refused. */
    before.neg.sum = -1.0f;
    CHECK_STATUS(mlcce_stream_merge(&s, &before), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_stream_loss(&before, &loss), MLCCE_ERR_ARGUMENT);
    CHECK(loss == -7.0f);

    /* Status strings, unknown codes included. */
    CHECK(mlcce_status_str(MLCCE_OK) != NULL && strstr(mlcce_status_str(MLCCE_OK), "MLCCE_OK") != NULL);
    CHECK(strstr(mlcce_status_str(MLCCE_ERR_INDEX), "INDEX") != NULL);
    CHECK(mlcce_status_str(-1) != NULL && mlcce_status_str(1000) != NULL);
    CHECK(sizeof(mlcce_status) == 4);
}

int main(void) {
    test_seed();
    test_in_place();
    test_stream();
    test_bad_inputs();
    return check_summary("test_dense");
}
