/* Soft targets and probabilities through the C API. C99. */
#include <stdint.h>
#include <stddef.h>
#include "mlcce.h"
#include "check.h"
#include "golden.h"

int main(void) {
    static const float x[12] = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
    static const uint8_t y[12] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
    float t[12], hard = 0.0f, soft = 0.0f, smooth = 0.0f, g[12], gh[12], buf[12], p[3];
    const float probe[3] = {0.0f, 10.0f, -10.0f};
    int i;
    for (i = 0; i < 12; i++) t[i] = (float)y[i];
    CHECK_STATUS(mlcce_loss(x, y, 3, 4, MLCCE_REDUCTION_MEAN, &hard), MLCCE_OK);
    CHECK_STATUS(mlcce_soft_loss(x, t, 3, 4, MLCCE_REDUCTION_MEAN, &soft), MLCCE_OK);
    CHECK(close_rel(soft, SEED_MEAN, 1e-6) && close_rel(soft, hard, 1e-6));
    CHECK_STATUS(mlcce_soft_loss_grad(x, t, 3, 4, MLCCE_REDUCTION_MEAN, NULL, g), MLCCE_OK);
    CHECK_STATUS(mlcce_loss_grad(x, y, 3, 4, MLCCE_REDUCTION_MEAN, NULL, gh), MLCCE_OK);
    for (i = 0; i < 12; i++) CHECK(fabs(g[i] - SEED_GRAD[i]) <= 1.4e-7 && fabs(g[i] - gh[i]) <= 1.4e-7);
    /* Label smoothing 0.05 / 0.95: a different, larger loss. */
    for (i = 0; i < 12; i++) t[i] = y[i] ? 0.95f : 0.05f;
    CHECK_STATUS(mlcce_soft_loss(x, t, 3, 4, MLCCE_REDUCTION_MEAN, &smooth), MLCCE_OK);
    CHECK(smooth > 0.0f && isfinite(smooth) && smooth != soft);
    CHECK(close_rel(smooth, SMOOTH_MEAN, 4e-7));
    /* In place: the gradient over the logits, against the f64 reference. */
    memcpy(buf, x, sizeof buf);
    CHECK_STATUS(mlcce_soft_loss_grad(buf, t, 3, 4, MLCCE_REDUCTION_MEAN, &soft, buf), MLCCE_OK);
    CHECK(soft == smooth);
    for (i = 0; i < 12; i++) CHECK(fabs(buf[i] - SMOOTH_GRAD[i]) <= 1.4e-7);
    CHECK_STATUS(mlcce_soft_loss_grad(x, t, 3, 4, MLCCE_REDUCTION_MEAN, NULL, g), MLCCE_OK);
    for (i = 0; i < 12; i++) CHECK(g[i] == buf[i]);
    /* Probabilities: σ(2s). */
    CHECK_STATUS(mlcce_probabilities(probe, 3, p), MLCCE_OK);
    CHECK(p[0] == 0.5f && p[1] > 0.999999f && p[2] < 1e-8f);
    /* Bad inputs. */
    t[3] = 1.5f;
    CHECK_STATUS(mlcce_soft_loss(x, t, 3, 4, MLCCE_REDUCTION_MEAN, &soft), MLCCE_ERR_LABEL);
    t[3] = NAN;
    CHECK_STATUS(mlcce_soft_loss_grad(x, t, 3, 4, MLCCE_REDUCTION_MEAN, &soft, g), MLCCE_ERR_LABEL);
    CHECK(soft == smooth);
    CHECK_STATUS(mlcce_soft_loss(x, NULL, 3, 4, MLCCE_REDUCTION_MEAN, &soft), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_soft_loss(x, t, 3, 4, 4, &soft), MLCCE_ERR_ARGUMENT);
    CHECK_STATUS(mlcce_probabilities(NULL, 3, p), MLCCE_ERR_NULL_POINTER);
    return check_summary("test_soft");
}
