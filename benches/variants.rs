//! Sparse vs dense, GlobalPointer vs dense-with-IGNORE, soft vs hard, and
//! evaluation vs loss alone. `cargo bench --bench variants`.
#![allow(clippy::needless_range_loop)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlcce::{ClassCounts, Csr, Evaluator, GpShape, Reduction, Shape};
use std::hint::black_box;
use std::time::Duration;

#[path = "support/inputs.rs"]
mod support;
use support::rand_stream;

fn config<'a>(
    c: &'a mut Criterion,
    name: &str,
    elems: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(elems as u64));
    g.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(20);
    g
}

fn sparse_vs_dense(c: &mut Criterion) {
    let (rows, classes) = (32usize, 131_072usize);
    let mut u = rand_stream(1);
    let x: Vec<f32> = (0..rows * classes).map(|_| ((u() - 0.5) * 8.0) as f32).collect();
    let y: Vec<u8> = (0..rows * classes).map(|_| u8::from(u() < 0.0001)).collect();
    let mut pos = Vec::new();
    let mut off = vec![0usize];
    for row in y.chunks(classes) {
        pos.extend(row.iter().enumerate().filter(|(_, v)| **v == 1).map(|(i, _)| i as u32));
        off.push(pos.len());
    }
    let s = Shape::new(rows, classes);
    let mut g = config(c, "sparse-vs-dense/32x131072", rows * classes);
    let mut out = [0.0f32];
    g.bench_function("dense", |b| b.iter(|| mlcce::loss(s, black_box(&x), &y, Reduction::Mean, &mut out)));
    g.bench_function("sparse", |b| {
        b.iter(|| mlcce::sparse_loss(s, black_box(&x), Csr::new(&pos, &off), Reduction::Mean, &mut out))
    });
    g.finish();
}

fn globalpointer_vs_dense(c: &mut Criterion) {
    let shape = GpShape::new(8, 9, 128);
    let l = shape.max_len;
    let lengths: Vec<u32> = vec![128, 100, 64, 128, 17, 90, 128, 50];
    let mut u = rand_stream(2);
    let n = 8 * 9 * l * l;
    let x: Vec<f32> = (0..n).map(|_| ((u() - 0.5) * 8.0) as f32).collect();
    let mut y = vec![mlcce::IGNORE; n];
    let (mut spans, mut offsets) = (Vec::new(), vec![0usize]);
    for b in 0..8 {
        for h in 0..9 {
            let base = (b * 9 + h) * l * l;
            let len = lengths[b] as usize;
            for i in 0..len {
                for j in i..len {
                    let pos = u() < 0.001;
                    y[base + i * l + j] = u8::from(pos);
                    if pos {
                        spans.push((i * l + j) as u32);
                    }
                }
            }
            offsets.push(spans.len());
        }
    }
    let mut g = config(c, "globalpointer/8x9x128x128", n);
    let mut out = [0.0f32];
    let mut grad = vec![0.0f32; n];
    g.bench_function("dense-with-ignore", |b| {
        b.iter(|| mlcce::loss(Shape::new(72, l * l), black_box(&x), &y, Reduction::Mean, &mut out))
    });
    g.bench_function("globalpointer", |b| {
        b.iter(|| {
            mlcce::globalpointer_loss(
                shape,
                black_box(&x),
                &lengths,
                Csr::new(&spans, &offsets),
                Reduction::Mean,
                &mut out,
            )
        })
    });
    g.bench_function("dense-with-ignore+grad", |b| {
        b.iter(|| mlcce::loss_grad(Shape::new(72, l * l), black_box(&x), &y, Reduction::Mean, None, &mut grad))
    });
    g.bench_function("globalpointer+grad", |b| {
        b.iter(|| {
            mlcce::globalpointer_loss_grad(
                shape,
                black_box(&x),
                &lengths,
                Csr::new(&spans, &offsets),
                Reduction::Mean,
                None,
                &mut grad,
            )
        })
    });
    g.finish();
}

fn soft_and_eval(c: &mut Criterion) {
    let (rows, classes) = (256usize, 1000usize);
    let mut u = rand_stream(3);
    let x: Vec<f32> = (0..rows * classes).map(|_| ((u() - 0.5) * 8.0) as f32).collect();
    let y: Vec<u8> = (0..rows * classes).map(|_| u8::from(u() < 0.05)).collect();
    let t: Vec<f32> = y.iter().map(|&v| if v == 1 { 0.95 } else { 0.05 }).collect();
    let s = Shape::new(rows, classes);
    let mut out = [0.0f32];
    let mut grad = vec![0.0f32; rows * classes];
    let mut g = config(c, "soft-vs-hard/256x1000", rows * classes);
    g.bench_function("hard", |b| b.iter(|| mlcce::loss(s, black_box(&x), &y, Reduction::Mean, &mut out)));
    g.bench_function("soft", |b| b.iter(|| mlcce::soft_loss(s, black_box(&x), &t, Reduction::Mean, &mut out)));
    g.bench_function("hard+grad", |b| {
        b.iter(|| mlcce::loss_grad(s, black_box(&x), &y, Reduction::Mean, None, &mut grad))
    });
    g.bench_function("soft+grad", |b| {
        b.iter(|| mlcce::soft_loss_grad(s, black_box(&x), &t, Reduction::Mean, None, &mut grad))
    });
    g.finish();
    // Evaluation on random logits (half the cells predicted positive) and on
    // a trained model's (negatives around -4, positives around +3: mostly
    // true negatives). The counting does the same work for both.
    let trained: Vec<f32> = y
        .iter()
        .map(|&v| if v == 1 { 3.0 + ((u() - 0.5) * 4.0) as f32 } else { -4.0 + ((u() - 0.5) * 4.0) as f32 })
        .collect();
    for (name, logits) in [("random", &x), ("trained", &trained)] {
        let mut g = config(c, &format!("eval-vs-loss/256x1000-{name}"), rows * classes);
        g.bench_function("loss", |b| b.iter(|| mlcce::loss(s, black_box(logits), &y, Reduction::Mean, &mut out)));
        let mut counts = vec![ClassCounts::default(); classes];
        g.bench_function("eval_update", |b| {
            b.iter(|| {
                let mut ev = Evaluator::new(&mut counts, 0.0).unwrap();
                ev.update(rows, black_box(logits), &y).unwrap();
                ev.report()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, sparse_vs_dense, globalpointer_vs_dense, soft_and_eval);
criterion_main!(benches);
