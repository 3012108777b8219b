/* Worst-case stack use of every mlcce_* function: each call runs on its own
 * painted stack (ucontext), and the high-water mark is read back. Prints a
 * table and fails if any function exceeds STACK_BUDGET bytes. Each function
 * is driven through its fast path, its shifted (huge-logit) path, in place
 * and through an error, so the deepest path is what is measured. */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include "mlcce.h"

#ifndef STACK_BUDGET
#define STACK_BUDGET 2048
#endif
#define STACK_SIZE (64 * 1024)
#define PAINT 0xCD

static unsigned char stack_mem[STACK_SIZE] __attribute__((aligned(64)));
static ucontext_t main_ctx, fn_ctx;
static void (*current)(void);

static void trampoline(void) { current(); }

/* Bytes of the painted stack that `f` (and the trampoline) touched. */
static size_t measure(void (*f)(void)) {
    size_t used = 0, i;
    memset(stack_mem, PAINT, sizeof stack_mem);
    getcontext(&fn_ctx);
    fn_ctx.uc_stack.ss_sp = stack_mem;
    fn_ctx.uc_stack.ss_size = sizeof stack_mem;
    fn_ctx.uc_link = &main_ctx;
    current = f;
    makecontext(&fn_ctx, trampoline, 0);
    swapcontext(&main_ctx, &fn_ctx);
    for (i = 0; i < sizeof stack_mem; i++) {
        if (stack_mem[i] != PAINT) { used = sizeof stack_mem - i; break; }
    }
    return used;
}

static void nothing(void) {}

/* Inputs shared by the drivers. */
#define R 3
#define C 40
static float X[R * C], BIG[R * C], G[R * C], OUT[R], T[R * C];
static uint8_t Y[R * C], P[R * C];
static uint32_t POS[8] = {1, 5, 7, 3, 39, 0, 2, 9};
static size_t OFF[R + 1] = {0, 3, 5, 8};
static uint32_t LENS[2] = {6, 3};
static uint32_t SPANS[4] = {1, 14, 0, 4};
static size_t GOFF[5] = {0, 1, 2, 3, 4};
static float GP[2 * 2 * 6 * 6];

static void setup(void) {
    int i;
    for (i = 0; i < R * C; i++) {
        X[i] = (float)((i * 37) % 17) / 4.0f - 2.0f;
        BIG[i] = (i % 3 == 0) ? 1e30f : -1e4f;
        Y[i] = (uint8_t)(i % 7 == 0 ? 1 : (i % 11 == 0 ? 255 : 0));
        T[i] = (float)(i % 5) / 4.0f;
    }
    for (i = 0; i < 2 * 2 * 6 * 6; i++) GP[i] = (float)(i % 9) - 4.0f;
}

static float L;
static mlcce_stream S1, S2;
static mlcce_class_counts COUNTS[C];
static mlcce_eval E;
static mlcce_report REP;
static float GG[2 * 2 * 6 * 6];

static void run_loss(void) {
    mlcce_loss(X, Y, R, C, MLCCE_REDUCTION_NONE, OUT);
    mlcce_loss(BIG, Y, R, C, MLCCE_REDUCTION_MEAN, OUT);
    mlcce_loss(X, P, R, C, 7, OUT);
    /* One short row (the entry's short path), fast and shifted. */
    mlcce_loss(X, Y, 1, 31, MLCCE_REDUCTION_MEAN, OUT);
    mlcce_loss(BIG, Y, 1, 31, MLCCE_REDUCTION_MEAN, OUT);
}
static void run_loss_grad(void) {
    mlcce_loss_grad(X, Y, R, C, MLCCE_REDUCTION_MEAN, &L, G);
    mlcce_loss_grad(BIG, Y, R, C, MLCCE_REDUCTION_SUM, &L, G);
    memcpy(G, X, sizeof G);
    mlcce_loss_grad(G, Y, R, C, MLCCE_REDUCTION_MEAN, &L, G);
    mlcce_loss_grad(X, Y, 1, 31, MLCCE_REDUCTION_MEAN, &L, G);
    mlcce_loss_grad(BIG, Y, 1, 31, MLCCE_REDUCTION_SUM, &L, G);
}
static void run_stream_init(void) { mlcce_stream_init(&S1); mlcce_stream_init(&S2); }
static void run_stream_update(void) { mlcce_stream_update(&S1, X, Y, C); mlcce_stream_update(&S2, BIG, Y, C); }
static void run_stream_merge(void) { mlcce_stream_merge(&S1, &S2); }
static void run_stream_loss(void) { mlcce_stream_loss(&S1, &L); }
static void run_sparse_loss(void) {
    mlcce_sparse_loss(X, R, C, POS, OFF, MLCCE_REDUCTION_NONE, OUT);
    mlcce_sparse_loss(BIG, R, C, POS, OFF, MLCCE_REDUCTION_NONE, OUT);
}
static void run_sparse_loss_grad(void) {
    mlcce_sparse_loss_grad(X, R, C, POS, OFF, MLCCE_REDUCTION_MEAN, &L, G);
    mlcce_sparse_loss_grad(BIG, R, C, POS, OFF, MLCCE_REDUCTION_MEAN, &L, G);
}
static void run_soft_loss(void) {
    mlcce_soft_loss(X, T, R, C, MLCCE_REDUCTION_NONE, OUT);
    mlcce_soft_loss(BIG, T, R, C, MLCCE_REDUCTION_NONE, OUT);
}
static void run_soft_loss_grad(void) {
    mlcce_soft_loss_grad(X, T, R, C, MLCCE_REDUCTION_MEAN, &L, G);
    memcpy(G, BIG, sizeof G);
    mlcce_soft_loss_grad(G, T, R, C, MLCCE_REDUCTION_MEAN, &L, G);
}
static void run_probabilities(void) { mlcce_probabilities(X, R * C, G); }
static void run_gp_loss(void) { mlcce_globalpointer_loss(GP, 2, 2, 6, LENS, SPANS, GOFF, MLCCE_REDUCTION_NONE, OUT); }
static void run_gp_loss_grad(void) {
    mlcce_globalpointer_loss_grad(GP, 2, 2, 6, LENS, SPANS, GOFF, MLCCE_REDUCTION_MEAN, &L, GG);
    mlcce_globalpointer_loss_grad(GG, 2, 2, 6, LENS, SPANS, GOFF, MLCCE_REDUCTION_MEAN, &L, GG);
}
static void run_predict(void) { mlcce_predict(X, R, C, 0.0f, P); }
static void run_eval_init(void) { mlcce_eval_init(&E, COUNTS, C, 0.0f); }
static void run_eval_update(void) { mlcce_eval_update(&E, X, Y, R); mlcce_eval_update(&E, BIG, Y, R); }
static void run_eval_report(void) { mlcce_eval_report(&E, &REP); }
static void run_status_str(void) { (void)mlcce_status_str(3); }
static void run_version(void) { (void)mlcce_version(); }
static mlcce_stream ST[R], ST2[R];
static void run_shard_states(void) {
    mlcce_shard_states(X, Y, R, C, ST);
    mlcce_shard_states(BIG, Y, R, C, ST2);
}
static void run_shard_states_sparse(void) { mlcce_shard_states_sparse(BIG, R, C, 0, C, POS, OFF, ST2); }
static void run_shard_merge(void) { mlcce_shard_merge(ST2, ST, R); }
static void run_shard_loss(void) { mlcce_shard_loss(ST, R, MLCCE_REDUCTION_MEAN, &L); }
static void run_shard_grad(void) {
    mlcce_shard_grad(X, Y, R, C, ST, MLCCE_REDUCTION_MEAN, G);
    memcpy(G, BIG, sizeof G);
    mlcce_shard_grad(G, Y, R, C, ST, MLCCE_REDUCTION_MEAN, G);
}
static void run_shard_grad_sparse(void) { mlcce_shard_grad_sparse(BIG, R, C, 0, C, POS, OFF, ST, MLCCE_REDUCTION_SUM, G); }

int main(void) {
    static const struct { const char *name; void (*f)(void); } cases[] = {
        {"mlcce_loss", run_loss},
        {"mlcce_loss_grad", run_loss_grad},
        {"mlcce_stream_init", run_stream_init},
        {"mlcce_stream_update", run_stream_update},
        {"mlcce_stream_merge", run_stream_merge},
        {"mlcce_stream_loss", run_stream_loss},
        {"mlcce_sparse_loss", run_sparse_loss},
        {"mlcce_sparse_loss_grad", run_sparse_loss_grad},
        {"mlcce_soft_loss", run_soft_loss},
        {"mlcce_soft_loss_grad", run_soft_loss_grad},
        {"mlcce_probabilities", run_probabilities},
        {"mlcce_globalpointer_loss", run_gp_loss},
        {"mlcce_globalpointer_loss_grad", run_gp_loss_grad},
        {"mlcce_predict", run_predict},
        {"mlcce_eval_init", run_eval_init},
        {"mlcce_eval_update", run_eval_update},
        {"mlcce_eval_report", run_eval_report},
        {"mlcce_status_str", run_status_str},
        {"mlcce_version", run_version},
        {"mlcce_shard_states", run_shard_states},
        {"mlcce_shard_states_sparse", run_shard_states_sparse},
        {"mlcce_shard_merge", run_shard_merge},
        {"mlcce_shard_loss", run_shard_loss},
        {"mlcce_shard_grad", run_shard_grad},
        {"mlcce_shard_grad_sparse", run_shard_grad_sparse},
    };
    size_t base = measure(nothing), i, worst = 0;
    int failed = 0;
    setup();
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t used = measure(cases[i].f) - base;
        /* The drivers' own frames are part of `used`: an upper bound. */
        printf("stack %-32s %5zu bytes\n", cases[i].name, used);
        if (used > worst) worst = used;
        if (used > STACK_BUDGET) failed++;
    }
    printf("stack budget %d bytes: %d passed, %d failed\n", STACK_BUDGET, (int)(sizeof cases / sizeof cases[0]) - failed, failed);
    return failed ? 1 : 0;
}
