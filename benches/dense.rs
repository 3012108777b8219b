//! Dense loss benchmarks: mlcce (SIMD) vs its scalar path vs a naive scalar
//! loop, on the four reference shapes, forward and forward+backward.
//!
//! `cargo bench --bench dense` (add `RUSTFLAGS="-C target-cpu=native"` for
//! the AVX2+FMA build). Throughput is in logits (elements) per second.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mlcce::{Reduction, Shape};
use std::hint::black_box;
use std::time::Duration;

#[path = "support/inputs.rs"]
mod support;

/// (rows, classes, fraction of positive labels)
pub const SHAPES: [(usize, usize, f64); 4] =
    [(256, 1000, 0.05), (1, 32, 0.10), (72, 16384, 0.0005), (32, 131_072, 0.0001)];

/// Logits ~ N(0, 2) (clipped sum of uniforms) and labels with `p` positives.
pub fn inputs(rows: usize, classes: usize, p: f64, seed: u64) -> (support::Aligned<f32>, support::Aligned<u8>) {
    support::dense(rows, classes, p, seed)
}

/// What a firmware engineer writes: per row, one pass for the two maxima,
/// one pass summing `expf`, (one pass for the gradient). Not part of mlcce.
pub mod naive {
    pub fn row_loss(s: &[f32], y: &[u8]) -> f32 {
        let (mut ma, mut mb) = (0.0f32, 0.0f32);
        for (&x, &l) in s.iter().zip(y) {
            if l == 1 { mb = mb.max(-x) } else { ma = ma.max(x) }
        }
        let (mut sa, mut sb) = (libm::expf(-ma), libm::expf(-mb));
        for (&x, &l) in s.iter().zip(y) {
            if l == 1 { sb += libm::expf(-x - mb) } else { sa += libm::expf(x - ma) }
        }
        ma + libm::logf(sa) + mb + libm::logf(sb)
    }

    pub fn row_loss_grad(s: &[f32], y: &[u8], scale: f32, g: &mut [f32]) -> f32 {
        let (mut ma, mut mb) = (0.0f32, 0.0f32);
        for (&x, &l) in s.iter().zip(y) {
            if l == 1 { mb = mb.max(-x) } else { ma = ma.max(x) }
        }
        let (mut sa, mut sb) = (libm::expf(-ma), libm::expf(-mb));
        for (&x, &l) in s.iter().zip(y) {
            if l == 1 { sb += libm::expf(-x - mb) } else { sa += libm::expf(x - ma) }
        }
        let a = ma + libm::logf(sa);
        let b = mb + libm::logf(sb);
        for ((gi, &x), &l) in g.iter_mut().zip(s).zip(y) {
            *gi = if l == 1 { -libm::expf(-x - b) * scale } else { libm::expf(x - a) * scale };
        }
        a + b
    }

    pub fn loss(s: &[f32], y: &[u8], classes: usize) -> f32 {
        let rows = s.len() / classes;
        s.chunks(classes).zip(y.chunks(classes)).map(|(a, b)| row_loss(a, b)).sum::<f32>() / rows as f32
    }

    pub fn loss_grad(s: &[f32], y: &[u8], classes: usize, g: &mut [f32]) -> f32 {
        let rows = s.len() / classes;
        let scale = 1.0 / rows as f32;
        let mut total = 0.0;
        for ((a, b), gr) in s.chunks(classes).zip(y.chunks(classes)).zip(g.chunks_mut(classes)) {
            total += row_loss_grad(a, b, scale, gr);
        }
        total / rows as f32
    }
}

fn scalar_loss(s: &[f32], y: &[u8], classes: usize) -> f32 {
    let rows = s.len() / classes;
    let sum: f32 = s.chunks(classes).zip(y.chunks(classes)).map(|(a, b)| mlcce::scalar::row_loss(a, b).unwrap()).sum();
    sum / rows as f32
}

fn scalar_loss_grad(s: &[f32], y: &[u8], classes: usize, g: &mut [f32]) -> f32 {
    let rows = s.len() / classes;
    let scale = 1.0 / rows as f32;
    let mut total = 0.0;
    for ((a, b), gr) in s.chunks(classes).zip(y.chunks(classes)).zip(g.chunks_mut(classes)) {
        total += mlcce::scalar::row_grad(a, b, scale, gr).unwrap().loss();
    }
    total / rows as f32
}

fn dense(c: &mut Criterion) {
    for (rows, classes, p) in SHAPES {
        let (logits, labels) = inputs(rows, classes, p, 7);
        let shape = Shape::new(rows, classes);
        let mut grad = support::Aligned::<f32>::zeros(rows * classes);
        let id = format!("{rows}x{classes}");
        for pass in ["forward", "forward+backward"] {
            let mut g = c.benchmark_group(format!("dense/{pass}"));
            g.throughput(Throughput::Elements((rows * classes) as u64));
            g.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
            if rows * classes > 1_000_000 {
                g.sample_size(20);
            }
            let fwd = pass == "forward";
            g.bench_function(BenchmarkId::new("mlcce", &id), |b| {
                let mut out = [0.0f32];
                b.iter(|| {
                    if fwd {
                        mlcce::loss(shape, black_box(&logits), &labels, Reduction::Mean, &mut out).unwrap();
                    } else {
                        mlcce::loss_grad(
                            shape,
                            black_box(&logits),
                            &labels,
                            Reduction::Mean,
                            Some(&mut out),
                            &mut grad,
                        )
                        .unwrap();
                    }
                    out[0]
                })
            });
            g.bench_function(BenchmarkId::new("scalar-path", &id), |b| {
                b.iter(|| {
                    if fwd {
                        scalar_loss(black_box(&logits), &labels, classes)
                    } else {
                        scalar_loss_grad(black_box(&logits), &labels, classes, &mut grad)
                    }
                })
            });
            g.bench_function(BenchmarkId::new("naive", &id), |b| {
                b.iter(|| {
                    if fwd {
                        naive::loss(black_box(&logits), &labels, classes)
                    } else {
                        naive::loss_grad(black_box(&logits), &labels, classes, &mut grad)
                    }
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, dense);
criterion_main!(benches);
