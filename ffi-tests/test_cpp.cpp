// The header from C++11: the same contract, used the way C++ callers do.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mlcce.h"
#include "golden.h"

static int failures = 0;
static int passes = 0;
#define CHECK(c) ((c) ? (void)++passes : (void)(++failures, std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c)))

int main() {
    const std::vector<float> logits = {0.9f, 0.1f, 0.8f, 0.3f, 0.3f, 0.2f, 0.5f, 0.7f, 0.7f, 0.6f, 0.1f, 0.3f};
    const std::vector<std::uint8_t> labels = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0};
    float mean = 0.0f;
    CHECK(mlcce_loss(logits.data(), labels.data(), 3, 4, MLCCE_REDUCTION_MEAN, &mean) == MLCCE_OK);
    CHECK(std::fabs(mean - SEED_MEAN) <= 1e-6 * SEED_MEAN);

    std::vector<float> buf(logits);
    float loss = 0.0f;
    CHECK(mlcce_loss_grad(buf.data(), labels.data(), 3, 4, MLCCE_REDUCTION_MEAN, &loss, buf.data()) == MLCCE_OK);
    for (std::size_t i = 0; i < buf.size(); ++i) CHECK(std::fabs(buf[i] - SEED_GRAD[i]) <= 1.4e-7);

    mlcce_stream s;
    CHECK(mlcce_stream_init(&s) == MLCCE_OK);
    for (std::size_t i = 0; i < 4; ++i) CHECK(mlcce_stream_update(&s, &logits[i], &labels[i], 1) == MLCCE_OK);
    CHECK(mlcce_stream_loss(&s, &loss) == MLCCE_OK);
    CHECK(std::fabs(loss - SEED_ROWS[0]) <= 1e-6 * SEED_ROWS[0]);

    mlcce_status st = mlcce_loss(nullptr, labels.data(), 3, 4, MLCCE_REDUCTION_MEAN, &mean);
    CHECK(st == MLCCE_ERR_NULL_POINTER);
    CHECK(sizeof(mlcce_status) == 4);
#ifndef MLCCE_STATIC_ASSERT
#error "C++11: the header's layout assertions must be active"
#endif
    CHECK(std::string(mlcce_version()) == MLCCE_VERSION);
    CHECK(mlcce_stream_init(nullptr) == MLCCE_ERR_NULL_POINTER);
    std::printf("test_cpp: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
