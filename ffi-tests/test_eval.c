/* A firmware-style evaluation loop: fixed buffers, no heap, batches arriving
 * one at a time; then the bad inputs of the evaluation functions. C99. */
#include <stdint.h>
#include <stddef.h>
#include "mlcce.h"
#include "check.h"
#include "golden.h"

#define CLASSES 4
#define BATCH 1 /* rows per batch, as a device would see them */

static const float SEED_X[12] = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
static const uint8_t SEED_Y[12] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};

/* Stands in for the model: copies the next batch into the device buffers. */
static void next_batch(int k, float *logits, uint8_t *labels) {
    memcpy(logits, SEED_X + k * CLASSES * BATCH, sizeof(float) * CLASSES * BATCH);
    memcpy(labels, SEED_Y + k * CLASSES * BATCH, CLASSES * BATCH);
}

int main(void) {
    static mlcce_class_counts counts[CLASSES]; /* caller-owned, static */
    mlcce_eval ev;
    mlcce_report rep;
    float logits[CLASSES * BATCH];
    uint8_t labels[CLASSES * BATCH];
    uint8_t pred[CLASSES * BATCH];
    int k;

    CHECK_STATUS(mlcce_eval_init(&ev, counts, CLASSES, 0.5f), MLCCE_OK);
    CHECK_STATUS(mlcce_eval_report(&ev, &rep), MLCCE_OK);
    CHECK(rep.rows == 0 && rep.mean_loss == 0.0f && rep.micro_f1 == 0.0f);
    for (k = 0; k < 3; k++) {
        next_batch(k, logits, labels);
        CHECK_STATUS(mlcce_predict(logits, BATCH, CLASSES, 0.5f, pred), MLCCE_OK);
        CHECK_STATUS(mlcce_eval_update(&ev, logits, labels, BATCH), MLCCE_OK);
    }
    CHECK_STATUS(mlcce_eval_report(&ev, &rep), MLCCE_OK);
    /* By hand, threshold 0.5: predicted positive 0.9, 0.8, 0.7 (row 1), 0.7, 0.6.
     * TP = 4 (0.9, 0.8, 0.7@(1,3), 0.7@(2,0)), FP = 1 (0.6), FN = 1 (0.5 at (1,2)). */
    CHECK(rep.rows == 3);
    CHECK(close_rel(rep.mean_loss, SEED_MEAN, 1e-6));
    CHECK(close_rel(rep.micro_precision, 4.0 / 5.0, 1e-6));
    CHECK(close_rel(rep.micro_recall, 4.0 / 5.0, 1e-6));
    CHECK(close_rel(rep.micro_f1, 8.0 / 10.0, 1e-6));
    CHECK(close_rel(rep.hamming_loss, 2.0 / 12.0, 1e-6));
    CHECK(close_rel(rep.subset_accuracy, 1.0 / 3.0, 1e-6));
    CHECK(counts[0].true_pos == 2 && counts[1].false_pos == 1 && counts[2].false_neg == 1);
    /* Predictions of all three rows, by hand (0.5 itself is not above 0.5). */
    {
        static const uint8_t want[12] = {1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0};
        uint8_t all[12];
        memset(all, 7, sizeof all);
        CHECK_STATUS(mlcce_predict(SEED_X, 3, CLASSES, 0.5f, all), MLCCE_OK);
        CHECK(memcmp(all, want, sizeof want) == 0);
        CHECK_STATUS(mlcce_predict(SEED_X, 3, CLASSES, 0.0f, all), MLCCE_OK);
        for (k = 0; k < 12; k++) CHECK(all[k] == 1);
    }

    /* Bad inputs: exact statuses, nothing changed. */
    {
        mlcce_eval before = ev;
        mlcce_class_counts saved[CLASSES];
        memcpy(saved, counts, sizeof counts);
        labels[2] = 9;
        CHECK_STATUS(mlcce_eval_update(&ev, logits, labels, BATCH), MLCCE_ERR_LABEL);
        labels[2] = 0;
        logits[1] = NAN;
        CHECK_STATUS(mlcce_eval_update(&ev, logits, labels, BATCH), MLCCE_ERR_NON_FINITE);
        CHECK_STATUS(mlcce_eval_update(&ev, NULL, labels, BATCH), MLCCE_ERR_NULL_POINTER);
        CHECK_STATUS(mlcce_eval_update(NULL, logits, labels, BATCH), MLCCE_ERR_NULL_POINTER);
        CHECK_STATUS(mlcce_eval_update(&ev, logits, labels, SIZE_MAX), MLCCE_ERR_SHAPE);
        /* Field by field: the struct has padding bytes, which are not state. */
        CHECK(before.totals.rows == ev.totals.rows && before.totals.exact == ev.totals.exact &&
              before.totals.loss_sum == ev.totals.loss_sum && before.totals.classes == ev.totals.classes &&
              before.totals.threshold == ev.totals.threshold && before.per_class == ev.per_class);
        CHECK(memcmp(saved, counts, sizeof counts) == 0);
        CHECK_STATUS(mlcce_eval_init(&ev, counts, CLASSES, NAN), MLCCE_ERR_ARGUMENT);
        CHECK_STATUS(mlcce_eval_init(&ev, NULL, CLASSES, 0.0f), MLCCE_ERR_NULL_POINTER);
        CHECK_STATUS(mlcce_eval_init(NULL, counts, CLASSES, 0.0f), MLCCE_ERR_NULL_POINTER);
        CHECK_STATUS(mlcce_predict(logits, 1, CLASSES, NAN, pred), MLCCE_ERR_ARGUMENT);
        CHECK_STATUS(mlcce_predict(logits, 1, CLASSES, 0.0f, pred), MLCCE_ERR_NON_FINITE);
        CHECK_STATUS(mlcce_eval_report(&ev, NULL), MLCCE_ERR_NULL_POINTER);
    }
    return check_summary("test_eval");
}
