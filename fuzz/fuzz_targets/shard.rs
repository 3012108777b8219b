//! Class shards: a random batch split into random shards (empty ones
//! included), the states merged in a random order, against the one-shot
//! call (loss within 8e-7 relative, gradient within 2e-6 of max|g|), and a
//! bad row on any shard failing the merged batch with that shard's error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlcce::{Reduction, Shape, Stream};

#[path = "input.rs"]
mod input;

fuzz_target!(|data: &[u8]| {
    let mut b = input::Bytes(data);
    input::pick_level(&mut b);
    let rows = 1 + b.below(3);
    let classes = b.below(90);
    let n = rows * classes;
    let x: Vec<f32> = (0..n).map(|_| b.logit()).collect();
    let y: Vec<u8> = (0..n).map(|_| b.label()).collect();
    let shards = 1 + b.below(5);
    let mut cuts: Vec<usize> = (1..shards).map(|_| b.below(classes + 1)).collect();
    cuts.extend([0, classes]);
    cuts.sort_unstable();
    let cols = |v: &[f32], a: usize, z: usize| -> Vec<f32> {
        (0..rows).flat_map(|r| v[r * classes + a..r * classes + z].to_vec()).collect()
    };
    let lab = |a: usize, z: usize| -> Vec<u8> { (0..rows).flat_map(|r| y[r * classes + a..r * classes + z].to_vec()).collect() };
    let mut parts = Vec::new();
    let mut first_error = None;
    for w in cuts.windows(2) {
        let mut st = vec![Stream::new(); rows];
        let got = mlcce::shard_states(Shape::new(rows, w[1] - w[0]), &cols(&x, w[0], w[1]), &lab(w[0], w[1]), &mut st);
        if let Err(e) = got {
            first_error.get_or_insert(e);
        }
        parts.push(st);
    }
    let mut merged = parts.pop().unwrap();
    while let Some(p) = parts.pop() {
        if b.byte() % 2 == 0 {
            mlcce::merge_states(&mut merged, &p).unwrap();
        } else {
            let mut q = p;
            mlcce::merge_states(&mut q, &merged).unwrap();
            merged = q;
        }
    }
    let mut loss = [-7.0f32; 1];
    let got = mlcce::shard_loss(&merged, Reduction::Mean, &mut loss);
    let mut want = [0.0f32];
    let mut g1 = vec![0.0f32; n];
    let single = mlcce::loss_grad(Shape::new(rows, classes), &x, &y, Reduction::Mean, Some(&mut want), &mut g1);
    match (got, single) {
        (Ok(()), Ok(())) => {
            assert!(first_error.is_none());
            assert!((loss[0] - want[0]).abs() <= 8e-7 * want[0].abs() + f32::MIN_POSITIVE, "{} vs {}", loss[0], want[0]);
            for w in cuts.windows(2) {
                let s = Shape::new(rows, w[1] - w[0]);
                let mut g = vec![0.0f32; s.rows * s.classes];
                mlcce::shard_grad(s, &cols(&x, w[0], w[1]), &lab(w[0], w[1]), &merged, Reduction::Mean, &mut g).unwrap();
                let want_g = cols(&g1, w[0], w[1]);
                for r in 0..rows {
                    let gmax = g1[r * classes..(r + 1) * classes].iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    for c in 0..s.classes {
                        let (a, z) = (g[r * s.classes + c], want_g[r * s.classes + c]);
                        assert!((a - z).abs() <= 2e-6 * gmax + f32::MIN_POSITIVE, "grad {a} vs {z}");
                    }
                }
            }
        }
        (Err(e), Err(_)) => {
            // The merged batch reports a shard's error (the largest code wins).
            assert!(first_error.is_some(), "merged failure {e:?} without a failed shard");
            assert_eq!(loss[0], -7.0, "loss written on error");
        }
        (a, s) => panic!("sharded {a:?} but single-process {s:?}"),
    }
});
