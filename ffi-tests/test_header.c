/* The header itself. Built as C99 (no static assertions there: the header
 * must not use them) and as C11 (its layout assertions are active); at run
 * time, mlcce_version() is the version the header was generated with, and
 * mlcce_stream_init reports bad pointers. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "mlcce.h"
#include "check.h"

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#ifndef MLCCE_STATIC_ASSERT
#error "C11: the header's layout assertions must be active"
#endif
#define LAYOUT_ASSERTED 1
#else
#ifdef MLCCE_STATIC_ASSERT
#error "before C11 there is no _Static_assert: the header must not use one"
#endif
#define LAYOUT_ASSERTED 0
#endif

int main(void) {
    char version[32];
    mlcce_stream s;
    unsigned char raw[sizeof(mlcce_stream) + 1];
    CHECK(strcmp(mlcce_version(), MLCCE_VERSION) == 0);
    sprintf(version, "%d.%d.%d", MLCCE_VERSION_MAJOR, MLCCE_VERSION_MINOR, MLCCE_VERSION_PATCH);
    CHECK(strcmp(version, MLCCE_VERSION) == 0);
    CHECK(sizeof(mlcce_stream) == 16 && offsetof(mlcce_report, subset_accuracy) == 32);
    CHECK(close_rel(1.0, 1.0, 0.0));
    CHECK_STATUS(mlcce_stream_init(&s), MLCCE_OK);
    CHECK(s.neg.sum == 0.0f && s.pos.sum == 0.0f);
    CHECK_STATUS(mlcce_stream_init(NULL), MLCCE_ERR_NULL_POINTER);
    CHECK_STATUS(mlcce_stream_init((mlcce_stream *)(void *)(raw + 1)), MLCCE_ERR_ARGUMENT);
    printf("layout asserted at compile time: %s\n", LAYOUT_ASSERTED ? "yes" : "no");
    return check_summary(LAYOUT_ASSERTED ? "test_header (C11)" : "test_header (C99)");
}
