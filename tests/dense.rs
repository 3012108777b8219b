//! The dense loss and its gradient against the f64 reference.

mod common;
use common::*;
use mlcce::{Error, Reduction, Shape};

const SEED_LOGITS: [f32; 12] = [0.9, 0.1, 0.8, 0.3, 0.3, 0.2, 0.5, 0.7, 0.7, 0.6, 0.1, 0.3];
const SEED_LABELS: [u8; 12] = [1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0];
/// The value the widely copied PyTorch code prints for the seed example.
const SEED_PYTORCH: f64 = 1.980_370_402_336_120_6;

fn mean(shape: Shape, logits: &[f32], labels: &[u8]) -> Result<f32, Error> {
    let mut out = [f32::NAN];
    mlcce::loss(shape, logits, labels, Reduction::Mean, &mut out)?;
    Ok(out[0])
}

#[test]
fn seed_example_loss_and_gradient() {
    let shape = Shape::new(3, 4);
    let got = mean(shape, &SEED_LOGITS, &SEED_LABELS).unwrap();
    assert!((f64::from(got) - SEED_PYTORCH).abs() <= 1e-6 * SEED_PYTORCH, "{got}");
    let want: f64 = ref_batch_loss(&SEED_LOGITS, &SEED_LABELS, 4).iter().sum::<f64>() / 3.0;
    assert_loss(got, want, "seed");

    let mut grad = [0.0f32; 12];
    let mut l = [0.0f32];
    mlcce::loss_grad(shape, &SEED_LOGITS, &SEED_LABELS, Reduction::Mean, Some(&mut l), &mut grad).unwrap();
    assert_eq!(l[0], got, "fused loss equals the forward loss");
    for r in 0..3 {
        let want: Vec<f64> =
            ref_row_grad(&SEED_LOGITS[r * 4..][..4], &SEED_LABELS[r * 4..][..4]).iter().map(|g| g / 3.0).collect();
        assert_grad(&grad[r * 4..][..4], &want, "seed grad");
    }
}

/// Every reduction, every row count of interest, every boundary length.
#[test]
fn matches_f64_reference_on_every_boundary_length() {
    let mut rng = Rng::new(1);
    for classes in boundary_lengths() {
        for rows in [0usize, 1, 3] {
            let n = rows * classes;
            let logits = rng.logits(n, 4.0);
            let labels = rng.labels(n, 0.1, 0.05);
            check_batch(Shape::new(rows, classes), &logits, &labels, &format!("{rows}x{classes}"));
        }
    }
}

fn check_batch(shape: Shape, logits: &[f32], labels: &[u8], what: &str) {
    let rows = shape.rows;
    let classes = shape.classes;
    let want_rows = if classes == 0 { vec![0.0; rows] } else { ref_batch_loss(logits, labels, classes) };
    // NONE
    let mut out = vec![f32::NAN; rows];
    mlcce::loss(shape, logits, labels, Reduction::None, &mut out).unwrap();
    for (r, (&g, &w)) in out.iter().zip(&want_rows).enumerate() {
        assert_loss(g, w, &format!("{what} row {r}"));
    }
    // SUM and MEAN
    let sum: f64 = want_rows.iter().sum();
    let mut s = [f32::NAN];
    mlcce::loss(shape, logits, labels, Reduction::Sum, &mut s).unwrap();
    assert_loss(s[0], sum, &format!("{what} sum"));
    if rows > 0 {
        let m = mean(shape, logits, labels).unwrap();
        assert_loss(m, sum / rows as f64, &format!("{what} mean"));
    }
    // Gradients of each reduction, separate buffer and in place.
    for reduction in [Reduction::None, Reduction::Sum, Reduction::Mean] {
        if rows == 0 && reduction == Reduction::Mean {
            continue;
        }
        let scale = if reduction == Reduction::Mean { 1.0 / rows as f64 } else { 1.0 };
        let mut grad = vec![f32::NAN; logits.len()];
        let mut lo = vec![f32::NAN; reduction.outputs(rows)];
        mlcce::loss_grad(shape, logits, labels, reduction, Some(&mut lo), &mut grad).unwrap();
        let mut inplace = logits.to_vec();
        let mut lo2 = vec![f32::NAN; reduction.outputs(rows)];
        mlcce::loss_grad_in_place(shape, &mut inplace, labels, reduction, Some(&mut lo2)).unwrap();
        for (a, b) in lo.iter().zip(&lo2) {
            assert!((a - b).abs() <= 2e-7 * a.abs().max(f32::MIN_POSITIVE), "{what}: in-place loss {a} vs {b}");
        }
        if classes == 0 {
            continue;
        }
        for r in 0..rows {
            let row = r * classes..(r + 1) * classes;
            let want: Vec<f64> =
                ref_row_grad(&logits[row.clone()], &labels[row.clone()]).iter().map(|g| g * scale).collect();
            assert_grad(&grad[row.clone()], &want, &format!("{what} {reduction:?} grad row {r}"));
            assert_grad(&inplace[row.clone()], &want, &format!("{what} {reduction:?} in-place grad row {r}"));
        }
    }
}

#[test]
fn large_rows_and_unaligned_starts() {
    let mut rng = Rng::new(2);
    for classes in [100_003usize, 131_072] {
        let logits = rng.logits(classes + 3, 3.0);
        let labels = rng.labels(classes + 3, 0.001, 0.01);
        for start in 0..3 {
            let (l, y) = (&logits[start..start + classes], &labels[start..start + classes]);
            check_batch(Shape::new(1, classes), l, y, &format!("1x{classes} from {start}"));
        }
    }
    // Many rows, each starting at an odd offset of the batch.
    let logits = rng.logits(7 * 1001, 2.0);
    let labels = rng.labels(7 * 1001, 0.05, 0.0);
    check_batch(Shape::new(7, 1001), &logits, &labels, "7x1001");
}

/// Values where `y_pred - (1 - 2y) * 1e12`-style masking, or a plain f32
/// log-sum-exp without a shift, breaks.
#[test]
fn extreme_logits() {
    let mut rng = Rng::new(3);
    for &scale in &[1e4f32, 1e30, 65504.0, 88.0, 100.0, 1e-30] {
        for classes in [1usize, 7, 16, 33, 1000] {
            let logits: Vec<f32> = (0..classes).map(|_| rng.uniform(-1.0, 1.0) * scale).collect();
            let labels = rng.labels(classes, 0.3, 0.1);
            check_batch(Shape::new(1, classes), &logits, &labels, &format!("scale {scale} x{classes}"));
        }
    }
    // Each sign of huge logit alone, with each label.
    for &v in &[1e4f32, -1e4, 1e30, -1e30, 65504.0, -65504.0, f32::MAX, -f32::MAX, 87.0, -87.0, 89.0, -104.0] {
        for &y in &[0u8, 1] {
            for pad in [0usize, 5, 20] {
                let mut logits = vec![0.25f32; pad + 1];
                let mut labels = vec![0u8; pad + 1];
                labels[0] = 1;
                logits[pad] = v;
                labels[pad] = y;
                check_batch(Shape::new(1, pad + 1), &logits, &labels, &format!("{v} label {y} pad {pad}"));
            }
        }
    }
    // The loss of a confident, correct row is tiny and must stay exact.
    let logits = [30.0f32, -25.0, -27.0, 41.0];
    let labels = [1u8, 0, 0, 1];
    check_batch(Shape::new(1, 4), &logits, &labels, "tiny loss");
}

/// Fuzzer finding (a reference bug, mlcce was right): two negatives at
/// `f32::MAX` each get gradient exactly 1/2; `e^{s - A}` formed as
/// `s - (s + log 2)` in f64 loses the `log 2` and gives 1.
#[test]
fn gradient_at_f32_max_is_shared_exactly() {
    let x = [f32::MAX, f32::MAX, -15.125, f32::INFINITY];
    let y = [0u8, 0, 1, IGNORE];
    let mut g = [0.0f32; 4];
    mlcce::loss_grad(Shape::new(2, 2), &x, &y, Reduction::Sum, None, &mut g).unwrap();
    assert_eq!(&g[..2], &[0.5, 0.5]);
    assert_grad(&g[..2], &ref_row_grad(&x[..2], &y[..2]), "reference agrees");
    assert_eq!(g[3], 0.0);
}

#[test]
fn all_ignored_all_positive_all_negative_rows() {
    let mut rng = Rng::new(4);
    for classes in [1usize, 8, 17, 600] {
        let logits = rng.logits(classes, 5.0);
        for fill in [0u8, 1, IGNORE] {
            let labels = vec![fill; classes];
            check_batch(Shape::new(1, classes), &logits, &labels, &format!("all {fill} x{classes}"));
        }
        // Ignored cells never have their logits read for their value.
        let mut nan_logits = logits.clone();
        let labels = rng.labels(classes, 0.2, 0.3);
        for (x, &y) in nan_logits.iter_mut().zip(&labels) {
            if y == IGNORE {
                *x = f32::NAN;
            }
        }
        check_batch(Shape::new(1, classes), &nan_logits, &labels, &format!("NaN in ignored x{classes}"));
    }
    let mut out = [f32::NAN];
    mlcce::loss(Shape::new(1, 3), &[1.0, 2.0, 3.0], &[IGNORE; 3], Reduction::Sum, &mut out).unwrap();
    assert_eq!(out[0], 0.0);
}

#[test]
fn scalar_path_agrees_with_the_simd_path() {
    let mut rng = Rng::new(5);
    for classes in boundary_lengths() {
        let logits = rng.logits(classes, 6.0);
        let labels = rng.labels(classes, 0.2, 0.1);
        let simd = mlcce::row_loss(&logits, &labels).unwrap();
        let scalar = mlcce::scalar::row_loss(&logits, &labels).unwrap();
        let want = ref_row_loss(&logits, &labels);
        // The scalar oracle adds one term at a time to an f32 sum (error
        // growing with the row length): it is held to SCALAR_REL, and the SIMD
        // path (held to LOSS_REL and GRAD_REL against f64) to it.
        assert!((f64::from(scalar) - want).abs() <= SCALAR_REL * want + LOSS_ABS, "scalar {scalar} vs {want}");
        assert!(
            (simd - scalar).abs() <= SCALAR_REL as f32 * scalar.abs() + f32::MIN_POSITIVE,
            "simd {simd} vs scalar {scalar}"
        );
        let mut g1 = vec![0.0; classes];
        let mut g2 = vec![0.0; classes];
        mlcce::scalar::row_grad(&logits, &labels, 1.0, &mut g2).unwrap();
        mlcce::loss_grad(Shape::new(1, classes), &logits, &labels, Reduction::Sum, None, &mut g1).unwrap();
        let want: Vec<f64> = g2.iter().map(|&g| f64::from(g)).collect();
        assert_grad_within(&g1, &want, SCALAR_REL, "simd vs scalar grad");
    }
}

/// Rows whose loss is tiny (every logit far below 0): their sums are below
/// the fast path's range, so they go through the max-shifted path and
/// `log(1 + sum·e^max)`. Found by fuzzing (sparse_gp, a 49-class row of
/// -47, 46 × -54.5 and 2 × -65504, loss 3.97e-21): that finish in three `f32`
/// roundings was 4.4e-7 off; it is taken in `f64` now.
#[test]
fn tiny_losses_through_the_shifted_path_stay_within_the_bound() {
    for top in [-47.0f32, -60.0, -80.0, -86.0] {
        for n in [1usize, 7, 46, 200, 1000] {
            for gap in [0.0f32, 0.5, 7.5, 30.0] {
                let mut x = vec![top];
                x.extend(std::iter::repeat_n(top - gap, n));
                x.extend([-65504.0, -65504.0]);
                let y = vec![0u8; x.len()];
                let want = ref_row_loss(&x, &y);
                assert_loss(mlcce::row_loss(&x, &y).unwrap(), want, &format!("top {top} n {n} gap {gap}"));
                // The same magnitudes on the positive side.
                let xp: Vec<f32> = x.iter().map(|v| -v).collect();
                let yp = vec![1u8; x.len()];
                assert_loss(mlcce::row_loss(&xp, &yp).unwrap(), want, &format!("positives top {top} n {n} gap {gap}"));
            }
        }
    }
}
