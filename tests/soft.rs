//! Soft targets against the f64 reference and the hard loss.

mod common;
use common::*;
use mlcce::{Error, Reduction, Shape};

fn soft_rows(shape: Shape, x: &[f32], t: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; shape.rows];
    mlcce::soft_loss(shape, x, t, Reduction::None, &mut out).unwrap();
    out
}

#[test]
fn matches_f64_reference_for_random_targets() {
    let mut rng = Rng::new(41);
    for classes in boundary_lengths().into_iter().filter(|&c| c > 0 && c < 5000) {
        for sd in [1.0f32, 10.0, 100.0] {
            let x = rng.logits(classes, sd);
            let t: Vec<f32> = (0..classes)
                .map(|_| match rng.below(4) {
                    0 => 0.0,
                    1 => 1.0,
                    _ => rng.unit() as f32,
                })
                .collect();
            let got = soft_rows(Shape::new(1, classes), &x, &t)[0];
            assert_loss(got, ref_soft_row_loss(&x, &t), &format!("soft x{classes} sd {sd}"));
            let mut g = vec![0.0; classes];
            mlcce::soft_loss_grad(Shape::new(1, classes), &x, &t, Reduction::Sum, None, &mut g).unwrap();
            assert_grad(&g, &ref_soft_row_grad(&x, &t), "soft grad");
            let mut b = x.clone();
            mlcce::soft_loss_grad_in_place(Shape::new(1, classes), &mut b, &t, Reduction::Sum, None).unwrap();
            assert_grad(&b, &ref_soft_row_grad(&x, &t), "soft grad in place");
        }
    }
}

#[test]
fn zero_one_targets_equal_the_hard_loss_even_for_huge_logits() {
    let mut rng = Rng::new(42);
    for scale in [1.0f32, 30.0, 1e4] {
        for classes in sized(vec![1usize, 9, 33, 1000], vec![1, 9, 33]) {
            let x: Vec<f32> = (0..classes).map(|_| rng.uniform(-1.0, 1.0) * scale).collect();
            let y = rng.labels(classes, 0.3, 0.0);
            let t: Vec<f32> = y.iter().map(|&v| f32::from(v)).collect();
            let s = Shape::new(1, classes);
            let soft = soft_rows(s, &x, &t)[0];
            let hard = mlcce::row_loss(&x, &y).unwrap();
            let want = ref_row_loss(&x, &y);
            assert_loss(soft, want, "soft 0/1");
            assert!((soft - hard).abs() <= 2e-7 * hard.abs() + f32::MIN_POSITIVE, "{soft} vs {hard}");
            let (mut gs, mut gh) = (vec![0.0; classes], vec![0.0; classes]);
            mlcce::soft_loss_grad(s, &x, &t, Reduction::Sum, None, &mut gs).unwrap();
            mlcce::loss_grad(s, &x, &y, Reduction::Sum, None, &mut gh).unwrap();
            let want: Vec<f64> = gh.iter().map(|&g| f64::from(g)).collect();
            assert_grad_within(&gs, &want, 2.0 * GRAD_REL, "soft 0/1 grad vs hard grad");
        }
    }
}

#[test]
fn gradient_vanishes_at_half_logit_of_the_target() {
    // One class: L = log(1 + t e^{-s}) + log(1 + (1-t) e^{s}); zero gradient
    // at s = ½·logit(t).
    for &t in &[0.05f32, 0.3, 0.5, 0.8, 0.95] {
        let s = 0.5 * (f64::from(t) / (1.0 - f64::from(t))).ln();
        let mut g = [1.0f32];
        mlcce::soft_loss_grad(Shape::new(1, 1), &[s as f32], &[t], Reduction::Sum, None, &mut g).unwrap();
        assert!(g[0].abs() < 1e-6, "t {t}: grad {}", g[0]);
        let mut p = [0.0f32];
        mlcce::probabilities(&[s as f32], &mut p).unwrap();
        assert!((p[0] - t).abs() < 1e-6, "σ(2s) = t: {} vs {t}", p[0]);
    }
}

#[test]
fn label_smoothing_on_the_seed_example() {
    let x = [0.9f32, 0.1, 0.8, 0.3, 0.3, 0.2, 0.5, 0.7, 0.7, 0.6, 0.1, 0.3];
    let y = [1u8, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0];
    let t: Vec<f32> = y.iter().map(|&v| if v == 1 { 0.95 } else { 0.05 }).collect();
    let mut m = [0.0f32];
    mlcce::soft_loss(Shape::new(3, 4), &x, &t, Reduction::Mean, &mut m).unwrap();
    let want: f64 = (0..3).map(|r| ref_soft_row_loss(&x[r * 4..][..4], &t[r * 4..][..4])).sum::<f64>() / 3.0;
    assert_loss(m[0], want, "smoothed seed");
}

#[test]
fn soft_bad_inputs() {
    let s = Shape::new(1, 3);
    let x = [0.1f32, 0.2, 0.3];
    let mut out = [-7.0f32];
    for bad in [f32::NAN, -0.01, 1.01, f32::INFINITY] {
        let t = [0.5, bad, 0.5];
        assert_eq!(mlcce::soft_loss(s, &x, &t, Reduction::Sum, &mut out), Err(Error::Label), "{bad}");
    }
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let xb = [0.1, 0.2, bad];
        assert_eq!(mlcce::soft_loss(s, &xb, &[0.0, 1.0, 0.0], Reduction::Sum, &mut out), Err(Error::NonFinite));
    }
    assert_eq!(mlcce::soft_loss(s, &x, &[0.5; 2], Reduction::Sum, &mut out), Err(Error::Shape));
    assert_eq!(out[0], -7.0);
    assert_eq!(mlcce::probabilities(&[f32::NAN], &mut [0.0]), Err(Error::NonFinite));
    assert_eq!(mlcce::probabilities(&[1.0], &mut []), Err(Error::Shape));
}

/// Targets 0 and 1 on the rows the dense tests use are held to the dense
/// bound (`LOSS_BOUND`, `GRAD_REL`) against the f64 reference: every
/// boundary length, extreme logits (fp16 and `f32` scale, each sign alone),
/// and the tiny-loss rows of the shifted path, among them the fuzzer's row
/// (-47, many far below it, two at -65504) on which a soft kernel with
/// 64-step `f32` blocks was 3.6e-6 off.
#[test]
fn zero_one_targets_meet_the_dense_bound_on_the_dense_inputs() {
    let mut rng = Rng::new(43);
    let mut rows: Vec<(Vec<f32>, Vec<u8>)> = Vec::new();
    for classes in boundary_lengths().into_iter().filter(|&c| c < 20_000) {
        for sd in [1.0f32, 3.0, 10.0] {
            rows.push((rng.logits(classes, sd), rng.labels(classes, 0.1, 0.0)));
        }
    }
    for &scale in &[1e4f32, 1e30, 65504.0, 88.0, 100.0, 1e-30] {
        for classes in [1usize, 7, 16, 33, 1000] {
            let x = (0..classes).map(|_| rng.uniform(-1.0, 1.0) * scale).collect();
            rows.push((x, rng.labels(classes, 0.3, 0.0)));
        }
    }
    for &v in &[1e4f32, -1e4, 1e30, -1e30, 65504.0, -65504.0, f32::MAX, -f32::MAX, 87.0, -87.0, 89.0, -104.0] {
        for y in [0u8, 1] {
            let mut x = vec![0.25f32; 21];
            let mut l = vec![0u8; 21];
            l[0] = 1;
            (x[20], l[20]) = (v, y);
            rows.push((x, l));
        }
    }
    for top in [-47.0f32, -60.0, -80.0, -86.0] {
        for n in [1usize, 46, 1000] {
            for gap in [0.0f32, 7.5, 12.0, 30.0] {
                let mut x = vec![top];
                x.extend(std::iter::repeat_n(top - gap, n));
                x.extend([-65504.0, -65504.0]);
                let negatives = vec![0u8; x.len()];
                let positives = vec![1u8; x.len()];
                rows.push((x.iter().map(|v| -v).collect(), positives));
                rows.push((x, negatives));
            }
        }
    }
    rows.retain(|(x, _)| x.len() <= sized(usize::MAX, 70));
    let mut worst = 0.0f64;
    for (x, y) in &rows {
        let t: Vec<f32> = y.iter().map(|&v| f32::from(v)).collect();
        let s = Shape::new(1, x.len());
        let want = ref_row_loss(x, y);
        let mut g = vec![0.0; x.len()];
        let mut l = [0.0f32];
        mlcce::soft_loss_grad(s, x, &t, Reduction::Sum, Some(&mut l), &mut g).unwrap();
        assert_loss(l[0], want, &format!("soft 0/1, {} classes", x.len()));
        assert_grad(&g, &ref_row_grad(x, y), &format!("soft 0/1 grad, {} classes", x.len()));
        worst = worst.max((f64::from(l[0]) - want).abs() / want.abs().max(f64::MIN_POSITIVE));
    }
    eprintln!("soft 0/1 on {} dense rows: worst relative loss error {worst:.2e}", rows.len());
}

/// Weighted rows whose largest `±s` has a tiny weight: the shift must come
/// from `±s + log w`, or the heavy terms below it underflow. One class at
/// `s = -50` with target `w` (positive weight `w`, at `-s = 50`) and 100
/// classes at `s = gap - 50` with target 1: the heavy terms are `e^{-gap}`
/// below the top one, past `f32`'s underflow, yet outweigh it.
#[test]
fn tiny_weights_at_the_largest_logit_do_not_set_the_shift() {
    for (w, gap) in [(2e-38f32, 88.0f32), (1e-37, 87.0), (1e-37, 89.0), (1e-36, 87.5)] {
        let mut x = vec![-50.0f32];
        x.extend(std::iter::repeat_n(gap - 50.0, 100));
        let mut t = vec![w];
        t.extend(std::iter::repeat_n(1.0f32, 100));
        let s = Shape::new(1, x.len());
        let got = soft_rows(s, &x, &t)[0];
        assert_loss(got, ref_soft_row_loss(&x, &t), &format!("weight {w} gap {gap}"));
        let mut g = vec![0.0; x.len()];
        mlcce::soft_loss_grad(s, &x, &t, Reduction::Sum, None, &mut g).unwrap();
        assert_grad(&g, &ref_soft_row_grad(&x, &t), &format!("grad, weight {w} gap {gap}"));
    }
}
