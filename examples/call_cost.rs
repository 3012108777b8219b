//! Per-call cost of the dense entry points (ns/call, best of 15 runs; the
//! minimum filters out a noisy machine's slow spells):
//! `cargo run --release --example call_cost -- [classes] [rows] [runs] [logits per run] [positive rate]`.
use mlcce::{Reduction, Shape};
use std::hint::black_box;
use std::time::Instant;

#[path = "../benches/support/inputs.rs"]
mod inputs;

fn main() {
    let classes: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(32);
    let rows: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let runs: usize = std::env::args().nth(3).and_then(|s| s.parse().ok()).unwrap_or(15);
    let per_run: usize = std::env::args().nth(4).and_then(|s| s.parse().ok()).unwrap_or(64_000_000);
    let positives: f64 = std::env::args().nth(5).and_then(|s| s.parse().ok()).unwrap_or(0.10);
    // MLCCE_LEVEL=base|avx2|avx512 forces that dispatch level.
    inputs::force_level_from_env();
    // MLCCE_API=c calls the C entry points (compiled in the library, as a C
    // program links them) instead of the Rust functions (compiled here).
    let c_api = std::env::var("MLCCE_API").is_ok_and(|a| a == "c");
    // The inputs of `benches/dense.rs`: logits ~ N(0, 2).
    let (logits, labels) = inputs::dense(rows, classes, positives, 7);
    let shape = Shape::new(rows, classes);
    let mut grad = inputs::Aligned::<f32>::zeros(rows * classes);
    let n = (per_run / (rows * classes)).max(4);
    let mut best = [f64::MAX; 2];
    for _ in 0..runs {
        for (k, b) in best.iter_mut().enumerate() {
            let mut out = [0.0f32];
            let t = Instant::now();
            for _ in 0..n {
                if c_api {
                    let x = black_box(&logits).as_ptr();
                    // SAFETY: the buffers are rows x classes long (1 output).
                    let status = unsafe {
                        if k == 0 {
                            mlcce::ffi::mlcce_loss(x, labels.as_ptr(), rows, classes, 1, out.as_mut_ptr())
                        } else {
                            let (o, g) = (out.as_mut_ptr(), grad.as_mut_ptr());
                            mlcce::ffi::mlcce_loss_grad(x, labels.as_ptr(), rows, classes, 1, o, g)
                        }
                    };
                    assert_eq!(status as u32, 0);
                } else if k == 0 {
                    mlcce::loss(shape, black_box(&logits), &labels, Reduction::Mean, &mut out).unwrap();
                } else {
                    mlcce::loss_grad(shape, black_box(&logits), &labels, Reduction::Mean, Some(&mut out), &mut grad)
                        .unwrap();
                }
                black_box(out[0]);
            }
            *b = b.min(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        }
    }
    let rate = |ns: f64| (rows * classes) as f64 / ns;
    println!(
        "{rows}x{classes} ({:?} level): loss {:.1} ns ({:.2} G/s), loss_grad {:.1} ns ({:.2} G/s)",
        mlcce::level(),
        best[0],
        rate(best[0]),
        best[1],
        rate(best[1])
    );
}
