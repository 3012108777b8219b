//! `cargo run --release --example demo`: the seed example, its gradient, and
//! a rough throughput figure (the benchmarks are the real measurement).

use mlcce::{Reduction, Shape};
use std::time::Instant;

fn main() -> Result<(), mlcce::Error> {
    let logits = [0.9, 0.1, 0.8, 0.3, 0.3, 0.2, 0.5, 0.7, 0.7, 0.6, 0.1, 0.3];
    let labels = [1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0];
    let shape = Shape::new(3, 4);
    let mut loss = [0.0f32];
    let mut grad = [0.0f32; 12];
    mlcce::loss_grad(shape, &logits, &labels, Reduction::Mean, Some(&mut loss), &mut grad)?;
    println!("seed example, mean loss: {:.7} (PyTorch 1e12-mask version: 1.9803704)", loss[0]);
    for row in grad.chunks(4) {
        println!("gradient: {row:+.6?}");
    }

    // Throughput on 256 x 1000 logits, 5% positive.
    let (rows, classes) = (256usize, 1000usize);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let logits: Vec<f32> = (0..rows * classes).map(|_| (next() % 2000) as f32 / 250.0 - 4.0).collect();
    let labels: Vec<u8> = (0..rows * classes).map(|_| u8::from(next() % 20 == 0)).collect();
    let mut grad = vec![0.0f32; rows * classes];
    let shape = Shape::new(rows, classes);
    let iters = 400;
    let t = Instant::now();
    for _ in 0..iters {
        mlcce::loss(shape, &logits, &labels, Reduction::Mean, &mut loss)?;
    }
    let fwd = (rows * classes * iters) as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..iters {
        mlcce::loss_grad(shape, &logits, &labels, Reduction::Mean, Some(&mut loss), &mut grad)?;
    }
    let both = (rows * classes * iters) as f64 / t.elapsed().as_secs_f64();
    println!(
        "throughput {rows}x{classes}: forward {:.2} G logits/s, forward+backward {:.2} G logits/s (one thread)",
        fwd / 1e9,
        both / 1e9
    );
    Ok(())
}
