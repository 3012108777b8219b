/* The README's C example: built by the CMake and Makefile examples. */
#include <stdio.h>
#include "mlcce.h"

int main(void) {
    const float logits[12] = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
    const uint8_t labels[12] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
    float loss, grad[12];
    mlcce_stream s; /* 16 bytes, on the stack */
    mlcce_status st = mlcce_loss_grad(logits, labels, 3, 4, MLCCE_REDUCTION_MEAN, &loss, grad);
    if (st != MLCCE_OK) {
        fprintf(stderr, "%s\n", mlcce_status_str(st));
        return 1;
    }
    printf("loss %.7f\n", loss); /* 1.980370 */

    mlcce_stream_init(&s);
    mlcce_stream_update(&s, logits, labels, 2); /* first chunk of row 0 */
    mlcce_stream_update(&s, logits + 2, labels + 2, 2);
    mlcce_stream_loss(&s, &loss);
    printf("row 0 %.7f\n", loss); /* 1.858200 */
    return 0;
}
