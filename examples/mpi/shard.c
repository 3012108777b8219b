/* Class-sharded loss and row-split evaluation over MPI, checked against the
 * single-process calls.
 *
 * Every rank generates the same batches from a seed and keeps its share:
 *  1. a dense batch of 256 x 100003 classes (5 positives a row on average,
 *     1% IGNORE): each rank holds a contiguous block of classes, computes
 *     the partial states of its block (mlcce_shard_states), the states are
 *     merged with MPI_Allreduce and a custom MPI_Op (mlcce_shard_merge), and
 *     each rank finishes the mean loss and the gradient of its block;
 *  2. a GlobalPointer batch (4 sequences x 3 heads x 64 x 64), its cells
 *     outside each valid triangle labelled IGNORE (and NaN), sharded the same
 *     way and compared with mlcce_globalpointer_loss_grad;
 *  3. the dense batch's evaluation split by rows, the accumulators summed
 *     with MPI_SUM (counts and row totals as uint64, the loss sum as double),
 *     compared with one evaluation of every row.
 * Rank 0 prints the largest relative difference (losses; gradients relative
 * to each row's largest |g|) and the program exits non-zero if a loss is
 * off by more than 1.3e-6, a gradient by more than 2e-6 max|g|, or a count
 * differs at all. Build and run: examples/mpi/run.sh. */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mlcce.h"

#define LOSS_BOUND 1.3e-6 /* both sides within 6.5e-7 of the f64 value */
#define GRAD_BOUND 2e-6 /* both sides within 1e-6 max|g| of it */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}
static float normal3(void) { /* 3 N(0, 1) */
    double u = uniform() + 1e-300, v = uniform();
    return (float)(3.0 * sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static void merge_op(void *in, void *inout, int *n, MPI_Datatype *t) {
    (void)t;
    mlcce_shard_merge(in, inout, (size_t)*n);
}

static int rank, size, failed;
static double worst;

static void fail_if(int bad, const char *what, mlcce_status st) {
    if (bad) {
        fprintf(stderr, "rank %d: %s (%s)\n", rank, what, mlcce_status_str(st));
        failed = 1;
    }
}

/* Shards the classes of a dense batch (logits NaN where labels are IGNORE
 * is allowed) and compares with the single-process loss and gradient. */
static void sharded(const char *name, const float *x, const uint8_t *y, size_t rows, size_t classes,
                    float want_loss, const float *want_grad, MPI_Datatype state_type, MPI_Op merge) {
    size_t first = classes * (size_t)rank / (size_t)size, last = classes * (size_t)(rank + 1) / (size_t)size;
    size_t w = last - first, r, c;
    float *xs = malloc(sizeof(float) * rows * w + 4), loss = 0.0f;
    uint8_t *ys = malloc(rows * w + 1);
    mlcce_stream *states = malloc(sizeof(mlcce_stream) * rows);
    double d, local = 0.0;
    mlcce_status st;
    for (r = 0; r < rows; r++) {
        memcpy(xs + r * w, x + r * classes + first, sizeof(float) * w);
        memcpy(ys + r * w, y + r * classes + first, w);
    }
    st = mlcce_shard_states(xs, ys, rows, w, states);
    fail_if(st != MLCCE_OK, "shard_states", st);
    MPI_Allreduce(MPI_IN_PLACE, states, (int)rows, state_type, merge, MPI_COMM_WORLD);
    st = mlcce_shard_loss(states, rows, MLCCE_REDUCTION_MEAN, &loss);
    fail_if(st != MLCCE_OK, "shard_loss", st);
    d = fabs((double)loss - want_loss) / fabs((double)want_loss);
    fail_if(d > LOSS_BOUND, "loss differs", st);
    local = d;
    st = mlcce_shard_grad(xs, ys, rows, w, states, MLCCE_REDUCTION_MEAN, xs); /* in place */
    fail_if(st != MLCCE_OK, "shard_grad", st);
    for (r = 0; r < rows; r++) {
        double gmax = 0.0, e = 0.0;
        for (c = 0; c < classes; c++) gmax = fmax(gmax, fabs(want_grad[r * classes + c]));
        for (c = 0; c < w; c++) e = fmax(e, fabs((double)xs[r * w + c] - want_grad[r * classes + first + c]));
        if (gmax > 0.0) e /= gmax;
        fail_if(e > GRAD_BOUND, "gradient differs", MLCCE_OK);
        local = fmax(local, e);
    }
    MPI_Allreduce(&local, &d, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    worst = fmax(worst, d);
    if (rank == 0) printf("%-26s %d ranks: loss %.7f (single process %.7f), max rel diff %.2e\n", name, size, loss, want_loss, d);
    free(xs), free(ys), free(states);
}

int main(int argc, char **argv) {
    enum { R = 256, C = 100003, B = 4, H = 3, L = 64 };
    float *x = malloc(sizeof(float) * R * C), *g = malloc(sizeof(float) * R * C), loss;
    uint8_t *y = malloc((size_t)R * C);
    static float gx[B * H * L * L], gg[B * H * L * L];
    static uint8_t gy[B * H * L * L];
    static uint32_t lengths[B], spans[B * H * L * L];
    static size_t offsets[B * H + 1];
    MPI_Datatype state_type;
    MPI_Op merge;
    mlcce_status st;
    size_t i, k = 0;
    int b, h, a, j, all_failed;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Type_contiguous(4, MPI_FLOAT, &state_type); /* mlcce_stream: 4 floats */
    MPI_Type_commit(&state_type);
    MPI_Op_create(merge_op, 1, &merge);

    /* 1. Dense, 256 x 100003. */
    for (i = 0; i < (size_t)R * C; i++) {
        double u = uniform();
        x[i] = normal3();
        y[i] = u < 5.0 / C ? 1 : u < 0.01 ? MLCCE_IGNORE : 0;
    }
    st = mlcce_loss_grad(x, y, R, C, MLCCE_REDUCTION_MEAN, &loss, g);
    fail_if(st != MLCCE_OK, "single-process loss_grad", st);
    sharded("dense 256 x 100003", x, y, R, C, loss, g, state_type, merge);

    /* 2. GlobalPointer: cells outside each triangle are IGNORE (and NaN). */
    offsets[0] = 0;
    for (b = 0; b < B; b++) {
        lengths[b] = (uint32_t)(L / 2 + b * (L / 2) / (B - 1));
        for (h = 0; h < H; h++) {
            for (a = 0; a < L; a++)
                for (j = 0; j < L; j++) {
                    size_t cell = (size_t)((b * H + h) * L * L + a * L + j);
                    int valid = a <= j && j < (int)lengths[b];
                    int pos = valid && uniform() < 0.01;
                    gx[cell] = valid ? normal3() : NAN;
                    gy[cell] = valid ? (uint8_t)pos : MLCCE_IGNORE;
                    if (pos) spans[k++] = (uint32_t)(a * L + j);
                }
            offsets[b * H + h + 1] = k;
        }
    }
    st = mlcce_globalpointer_loss_grad(gx, B, H, L, lengths, spans, offsets, MLCCE_REDUCTION_MEAN, &loss, gg);
    fail_if(st != MLCCE_OK, "single-process globalpointer_loss_grad", st);
    sharded("GlobalPointer 4x3x64x64", gx, gy, B * H, L * L, loss, gg, state_type, merge);

    /* 3. Evaluation of the dense batch, split by rows. */
    {
        mlcce_class_counts *mine = calloc(C, sizeof *mine), *one = calloc(C, sizeof *one);
        mlcce_eval ev, whole;
        mlcce_report got, want;
        size_t first = (size_t)R * (size_t)rank / (size_t)size, last = (size_t)R * (size_t)(rank + 1) / (size_t)size;
        double d;
        st = mlcce_eval_init(&ev, mine, C, 0.0f);
        fail_if(st != MLCCE_OK, "eval_init", st);
        st = mlcce_eval_update(&ev, x + first * C, y + first * C, last - first);
        fail_if(st != MLCCE_OK, "eval_update", st);
        /* rows and exact are adjacent uint64s; the loss sum a double. */
        MPI_Allreduce(MPI_IN_PLACE, &ev.totals.rows, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &ev.totals.loss_sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, mine, 4 * C, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        st = mlcce_eval_report(&ev, &got);
        fail_if(st != MLCCE_OK, "eval_report", st);
        mlcce_eval_init(&whole, one, C, 0.0f);
        mlcce_eval_update(&whole, x, y, R);
        mlcce_eval_report(&whole, &want);
        fail_if(memcmp(mine, one, sizeof(*one) * C) != 0, "per-class counts differ", MLCCE_OK);
        fail_if(got.rows != want.rows || got.micro_f1 != want.micro_f1 || got.macro_f1 != want.macro_f1 ||
                    got.hamming_loss != want.hamming_loss || got.subset_accuracy != want.subset_accuracy,
                "report differs", MLCCE_OK);
        d = fabs((double)got.mean_loss - want.mean_loss) / want.mean_loss;
        fail_if(d > LOSS_BOUND, "mean loss differs", MLCCE_OK);
        worst = fmax(worst, d);
        if (rank == 0)
            printf("%-26s %d ranks: micro F1 %.6f, macro F1 %.6f, mean loss rel diff %.2e\n", "evaluation by rows", size,
                   got.micro_f1, got.macro_f1, d);
        free(mine), free(one);
    }

    MPI_Allreduce(&failed, &all_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) printf("max rel diff vs single process: %.3e\n", worst);
    MPI_Op_free(&merge);
    MPI_Type_free(&state_type);
    MPI_Finalize();
    free(x), free(y), free(g);
    return all_failed;
}
