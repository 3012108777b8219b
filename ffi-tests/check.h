/* Tiny test helpers shared by the C and C++ test programs. */
#ifndef MLCCE_FFI_CHECK_H
#define MLCCE_FFI_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures = 0;
static int check_passes = 0;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (cond) {                                                             \
            check_passes++;                                                     \
        } else {                                                                \
            check_failures++;                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

#define CHECK_STATUS(call, want)                                                \
    do {                                                                        \
        int got_ = (int)(call);                                                 \
        if (got_ == (int)(want)) {                                              \
            check_passes++;                                                     \
        } else {                                                                \
            check_failures++;                                                   \
            fprintf(stderr, "%s:%d: %s returned %d (%s), want %d\n", __FILE__,  \
                    __LINE__, #call, got_, mlcce_status_str(got_), (int)(want)); \
        }                                                                       \
    } while (0)

/* |a - b| <= rel * |b| + 1e-30 */
static int close_rel(double a, double b, double rel) {
    return fabs(a - b) <= rel * fabs(b) + 1e-30;
}

static int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passes, check_failures);
    return check_failures == 0 ? 0 : 1;
}

#endif
