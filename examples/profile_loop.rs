//! Runs one kernel in a loop for profiling (`perf record`):
//! `cargo run --release --example profile_loop -- [fwd|grad|inplace] [rows] [classes] [seconds]`.
use mlcce::{Csr, Reduction, Shape};
use std::time::Instant;

#[path = "../benches/support/inputs.rs"]
mod inputs;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("fwd", |s| s.as_str());
    let rows: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(256);
    let classes: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let secs: f64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    // MLCCE_LEVEL=base|avx2|avx512 forces that dispatch level.
    inputs::force_level_from_env();
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let n = rows * classes;
    let logits: Vec<f32> = (0..n).map(|_| (next() % 2000) as f32 / 250.0 - 4.0).collect();
    let labels: Vec<u8> = (0..n).map(|_| u8::from(next() % 20 == 0)).collect();
    let mut grad = vec![0.0f32; n];
    let shape = Shape::new(rows, classes);
    let mut out = [0.0f32];
    let t = Instant::now();
    let mut iters = 0u64;
    // The clock is read once per 256 calls, so tiny shapes measure the call.
    while t.elapsed().as_secs_f64() < secs {
        for _ in 0..256 {
            match mode {
                "grad" => mlcce::loss_grad(shape, &logits, &labels, Reduction::Mean, Some(&mut out), &mut grad),
                "gp" | "gpgrad" => {
                    let l = 128usize;
                    let shape = mlcce::GpShape::new(rows / 9, 9, l);
                    let lengths: Vec<u32> =
                        (0..rows / 9).map(|b| [128u32, 100, 64, 128, 17, 90, 128, 50][b % 8]).collect();
                    let offsets = vec![0usize; rows + 1];
                    let x = &logits[..rows * l * l];
                    if mode == "gp" {
                        mlcce::globalpointer_loss(
                            shape,
                            x,
                            &lengths,
                            Csr::new(&[], &offsets),
                            Reduction::Mean,
                            &mut out,
                        )
                    } else {
                        mlcce::globalpointer_loss_grad(
                            shape,
                            x,
                            &lengths,
                            Csr::new(&[], &offsets),
                            Reduction::Mean,
                            None,
                            &mut grad[..rows * l * l],
                        )
                    }
                }
                "eval" => {
                    let mut counts = vec![mlcce::ClassCounts::default(); classes];
                    let mut ev = mlcce::Evaluator::new(&mut counts, 0.0).unwrap();
                    let r = ev.update(rows, &logits, &labels);
                    out[0] = ev.report().micro_f1;
                    r
                }
                "inplace" => {
                    grad.copy_from_slice(&logits);
                    mlcce::loss_grad_in_place(shape, &mut grad, &labels, Reduction::Mean, Some(&mut out))
                }
                _ => mlcce::loss(shape, &logits, &labels, Reduction::Mean, &mut out),
            }
            .unwrap();
            iters += 1;
        }
    }
    let rate = (n as u64 * iters) as f64 / t.elapsed().as_secs_f64();
    println!("{mode} {rows}x{classes}: {:.3} G logits/s ({iters} calls), loss {}", rate / 1e9, out[0]);
}
