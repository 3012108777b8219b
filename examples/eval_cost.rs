//! Per-call cost of `Evaluator::update` against the loss alone on the same
//! batch (best of N runs, interleaved; the minimum filters out a noisy
//! machine's slow spells):
//! `cargo run --release --example eval_cost -- [classes] [rows] [runs] [logits per run]`.
use mlcce::{ClassCounts, Evaluator, Reduction, Shape};
use std::hint::black_box;
use std::time::Instant;

#[path = "../benches/support/inputs.rs"]
mod inputs;

fn main() {
    let arg = |k: usize, default: usize| std::env::args().nth(k).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (classes, rows, runs, per_run) = (arg(1, 1000), arg(2, 256), arg(3, 15), arg(4, 64_000_000));
    // MLCCE_LEVEL=base|avx2|avx512 forces that dispatch level.
    inputs::force_level_from_env();
    // The inputs of `benches/variants.rs`: 5% positives, random logits in
    // [-4, 4] and a trained model's (negatives near -4, positives near +3).
    let mut unit = inputs::rand_stream(3);
    let random: Vec<f32> = (0..rows * classes).map(|_| ((unit() - 0.5) * 8.0) as f32).collect();
    let labels: Vec<u8> = (0..rows * classes).map(|_| u8::from(unit() < 0.05)).collect();
    let trained: Vec<f32> = labels
        .iter()
        .map(|&v| if v == 1 { 3.0 + ((unit() - 0.5) * 4.0) as f32 } else { -4.0 + ((unit() - 0.5) * 4.0) as f32 })
        .collect();
    let shape = Shape::new(rows, classes);
    let mut counts = vec![ClassCounts::default(); classes];
    let n = (per_run / (rows * classes)).max(4);
    for (name, logits) in [("random", &random), ("trained", &trained)] {
        let mut best = [f64::MAX; 2];
        for _ in 0..runs {
            for (k, b) in best.iter_mut().enumerate() {
                let t = Instant::now();
                for _ in 0..n {
                    if k == 0 {
                        let mut out = [0.0f32];
                        mlcce::loss(shape, black_box(logits), &labels, Reduction::Mean, &mut out).unwrap();
                        black_box(out[0]);
                    } else {
                        let mut ev = Evaluator::new(&mut counts, 0.0).unwrap();
                        ev.update(rows, black_box(logits), &labels).unwrap();
                        black_box(ev.report());
                    }
                }
                *b = b.min(t.elapsed().as_secs_f64() * 1e9 / n as f64);
            }
        }
        println!(
            "{rows}x{classes} {name} ({:?} level): loss {:.1} us, eval_update {:.1} us ({:.2}x)",
            mlcce::level(),
            best[0] / 1e3,
            best[1] / 1e3,
            best[1] / best[0]
        );
    }
}
