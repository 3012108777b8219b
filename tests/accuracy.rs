//! Measures the accuracy distribution against f64 on random rows of the
//! benchmark shapes at every dispatch level this CPU runs (`cargo test
//! --release --test accuracy -- --nocapture` prints it) and holds the worst
//! case to the stated tolerances. One test: the level is process-wide.

mod common;
use common::*;
use mlcce::{Level, Reduction, Shape};

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p) as usize]
}

#[test]
fn loss_and_gradient_error_distribution_at_every_level() {
    each_level(distribution);
}

fn distribution(level: Level) {
    let mut rng = Rng::new(81);
    let (mut loss_err, mut grad_err) = (Vec::new(), Vec::new());
    for &(classes, p, count) in
        &[(32usize, 0.1, 400usize), (1000, 0.05, 200), (16384, 0.0005, 20), (131_072, 0.0001, 6)]
    {
        for _ in 0..count {
            let sd = [1.0f32, 3.0, 10.0][rng.below(3)];
            let x = rng.logits(classes, sd);
            let y = rng.labels(classes, p, 0.0);
            let mut g = vec![0.0f32; classes];
            let mut l = [0.0f32];
            mlcce::loss_grad(Shape::new(1, classes), &x, &y, Reduction::Sum, Some(&mut l), &mut g).unwrap();
            let want = ref_row_loss(&x, &y);
            assert_loss(l[0], want, "distribution");
            loss_err.push((f64::from(l[0]) - want).abs() / want);
            let wg = ref_row_grad(&x, &y);
            assert_grad(&g, &wg, "distribution");
            let gmax = wg.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            grad_err.push(g.iter().zip(&wg).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max) / gmax);
        }
    }
    eprintln!(
        "{level:?}: loss rel. error: median {:.2e}, p99 {:.2e}, max {:.2e}; gradient error / max|g|: median {:.2e}, max {:.2e}",
        percentile(&mut loss_err, 0.5),
        percentile(&mut loss_err, 0.99),
        percentile(&mut loss_err, 1.0),
        percentile(&mut grad_err, 0.5),
        percentile(&mut grad_err, 1.0)
    );
    assert!(
        percentile(&mut loss_err, 1.0) <= LOSS_REL,
        "{level:?}: rows like the benchmark shapes reach the 1e-7 goal"
    );
}
