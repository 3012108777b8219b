//! Class shards against the single-process call and the f64 reference: any
//! number of shards, any split (empty shards included), any merge order,
//! dense labels with IGNORE, sparse labels, and a bad label on one shard.

mod common;
use common::*;
use mlcce::{Csr, Error, Reduction, Shape, Shard, Stream};

/// Column cut points `0 = c0 <= c1 <= ... <= ck = classes` (repeats: empty shards).
fn split(rng: &mut Rng, classes: usize, shards: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (1..shards).map(|_| rng.below(classes + 1)).collect();
    cuts.extend([0, classes]);
    cuts.sort_unstable();
    cuts
}

/// The columns `a..b` of every row.
fn columns<T: Copy>(x: &[T], classes: usize, a: usize, b: usize) -> Vec<T> {
    x.chunks(classes.max(1)).take(x.len() / classes.max(1)).flat_map(|r| r[a..b].to_vec()).collect()
}

/// Merges per-shard states in a random order, as a random reduction tree would.
fn merge_all(rng: &mut Rng, mut parts: Vec<Vec<Stream>>) -> Vec<Stream> {
    while parts.len() > 1 {
        let i = rng.below(parts.len());
        let from = parts.swap_remove(i);
        let j = rng.below(parts.len());
        mlcce::merge_states(&mut parts[j], &from).unwrap();
    }
    parts.pop().unwrap()
}

#[test]
fn any_split_equals_the_single_process_call() {
    let mut rng = Rng::new(71);
    let mut worst = 0.0f64;
    for round in 0..sized(60, 6) {
        let rows = 1 + rng.below(5);
        let classes = [1usize, 7, 33, 100, 1000, 4099][rng.below(sized(6, 4))];
        let shards = 1 + rng.below(6);
        let sd = [1.0f32, 3.0, 30.0, 1e4][rng.below(4)];
        let x = rng.logits(rows * classes, sd);
        let y = rng.labels(rows * classes, 0.1, 0.1);
        let shape = Shape::new(rows, classes);
        let cuts = split(&mut rng, classes, shards);
        let mut parts = Vec::new();
        for w in cuts.windows(2) {
            let s = Shape::new(rows, w[1] - w[0]);
            let mut st = vec![Stream::new(); rows];
            mlcce::shard_states(s, &columns(&x, classes, w[0], w[1]), &columns(&y, classes, w[0], w[1]), &mut st)
                .unwrap();
            parts.push(st);
        }
        let merged = merge_all(&mut rng, parts);
        for red in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            let n = red.outputs(rows);
            let (mut got, mut want) = (vec![0.0f32; n], vec![0.0f32; n]);
            mlcce::shard_loss(&merged, red, &mut got).unwrap();
            let mut g1 = vec![0.0f32; rows * classes];
            mlcce::loss_grad(shape, &x, &y, red, Some(&mut want), &mut g1).unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 8e-7 * b.abs() + f32::MIN_POSITIVE, "round {round}: {a} vs {b} ({red:?})");
                worst = worst.max(f64::from((a - b).abs() / b.abs().max(f32::MIN_POSITIVE)));
            }
            // Each shard's gradient, put side by side, is the whole gradient.
            let mut g = vec![0.0f32; rows * classes];
            for w in cuts.windows(2) {
                let s = Shape::new(rows, w[1] - w[0]);
                let (xs, ys) = (columns(&x, classes, w[0], w[1]), columns(&y, classes, w[0], w[1]));
                let mut gs = vec![0.0f32; xs.len()];
                mlcce::shard_grad(s, &xs, &ys, &merged, red, &mut gs).unwrap();
                let mut inplace = xs.clone();
                mlcce::shard_grad_in_place(s, &mut inplace, &ys, &merged, red).unwrap();
                assert_eq!(gs, inplace, "in place");
                for r in 0..rows {
                    g[r * classes + w[0]..r * classes + w[1]].copy_from_slice(&gs[r * s.classes..(r + 1) * s.classes]);
                }
            }
            for r in 0..rows {
                let row = r * classes..(r + 1) * classes;
                let want: Vec<f64> = g1[row.clone()].iter().map(|&v| f64::from(v)).collect();
                assert_grad_within(&g[row], &want, 2.0 * GRAD_REL, &format!("round {round} row {r} grad"));
            }
        }
        // And against the f64 reference, row by row.
        let mut rows_out = vec![0.0f32; rows];
        mlcce::shard_loss(&merged, Reduction::None, &mut rows_out).unwrap();
        for (r, &got) in rows_out.iter().enumerate() {
            let row = r * classes..(r + 1) * classes;
            assert_loss(got, ref_row_loss(&x[row.clone()], &y[row]), &format!("round {round} row {r}"));
        }
    }
    eprintln!("sharded vs single-process loss: max relative difference {worst:.2e}");
}

#[test]
fn sparse_shards_with_global_indices() {
    let mut rng = Rng::new(72);
    for _ in 0..sized(40, 4) {
        let rows = 1 + rng.below(4);
        let classes = [5usize, 64, 1000, 3001][rng.below(sized(4, 2))];
        let x = rng.logits(rows * classes, 4.0);
        let y = rng.labels(rows * classes, 0.05, 0.0);
        let mut items = Vec::new();
        let mut offsets = vec![0usize];
        for r in 0..rows {
            items.extend((0..classes).filter(|&c| y[r * classes + c] == 1).map(|c| c as u32));
            offsets.push(items.len());
        }
        let positives = Csr::new(&items, &offsets);
        let shards = 1 + rng.below(5);
        let cuts = split(&mut rng, classes, shards);
        let mut parts = Vec::new();
        for w in cuts.windows(2) {
            let s = Shape::new(rows, w[1] - w[0]);
            let mut st = vec![Stream::new(); rows];
            let xs = columns(&x, classes, w[0], w[1]);
            mlcce::shard_states_sparse(s, Shard::new(w[0], classes), &xs, positives, &mut st).unwrap();
            parts.push(st);
        }
        let merged = merge_all(&mut rng, parts);
        let mut got = vec![0.0f32; rows];
        mlcce::shard_loss(&merged, Reduction::None, &mut got).unwrap();
        for r in 0..rows {
            let row = r * classes..(r + 1) * classes;
            assert_loss(got[r], ref_row_loss(&x[row.clone()], &y[row.clone()]), "sparse shards");
            let want = ref_row_grad(&x[row.clone()], &y[row]);
            let mut g = vec![0.0f32; classes];
            for w in cuts.windows(2) {
                let s = Shape::new(1, w[1] - w[0]);
                let one_offsets = [0, offsets[r + 1] - offsets[r]];
                let one = Csr::new(&items[offsets[r]..offsets[r + 1]], &one_offsets);
                let xs = x[r * classes + w[0]..r * classes + w[1]].to_vec();
                let st = [merged[r]];
                let gs = &mut g[w[0]..w[1]];
                mlcce::shard_grad_sparse(s, Shard::new(w[0], classes), &xs, one, &st, Reduction::Sum, gs).unwrap();
                let mut inplace = xs.clone();
                mlcce::shard_grad_sparse_in_place(s, Shard::new(w[0], classes), &mut inplace, one, &st, Reduction::Sum)
                    .unwrap();
                assert_eq!(gs, &inplace[..]);
            }
            assert_grad(&g, &want, "sparse shard grad");
        }
    }
}

#[test]
fn a_bad_label_on_one_shard_fails_the_merged_batch_in_any_order() {
    let x = [0.5f32, -1.0, 2.0, 0.25, 1.5, -0.5];
    let (good, bad) = ([0u8, 1, 0], [1u8, 7, 0]);
    let s = Shape::new(1, 3);
    let mut a = vec![Stream::new()];
    let mut b = vec![Stream::new()];
    mlcce::shard_states(s, &x[..3], &good, &mut a).unwrap();
    assert_eq!(mlcce::shard_states(s, &x[3..], &bad, &mut b), Err(Error::Label));
    let mut nan = vec![Stream::new()];
    assert_eq!(mlcce::shard_states(s, &[f32::NAN, 0.0, 0.0], &good, &mut nan), Err(Error::NonFinite));
    // good + Label and NonFinite + Label, each in both orders.
    for (x1, x2, want) in
        [(&a, &b, Error::Label), (&b, &a, Error::Label), (&nan, &b, Error::NonFinite), (&b, &nan, Error::NonFinite)]
    {
        let mut into = x1.clone();
        mlcce::merge_states(&mut into, x2).unwrap();
        let mut out = [-7.0f32];
        assert_eq!(mlcce::shard_loss(&into, Reduction::Mean, &mut out), Err(want));
        assert_eq!(out[0], -7.0, "no loss written");
        let mut g = [0.0f32; 3];
        assert_eq!(mlcce::shard_grad(s, &x[..3], &good, &into, Reduction::Mean, &mut g), Err(want));
    }
    // Shape errors write nothing.
    assert_eq!(mlcce::merge_states(&mut a, &[]), Err(Error::Shape));
    assert_eq!(mlcce::shard_states(s, &x[..2], &good, &mut a), Err(Error::Shape));
    let bad_shard = Shard::new(2, 4);
    let mut st = vec![Stream::new()];
    assert_eq!(mlcce::shard_states_sparse(s, bad_shard, &x[..3], Csr::new(&[], &[0, 0]), &mut st), Err(Error::Shape));
    assert_eq!(
        mlcce::shard_states_sparse(s, Shard::new(0, 3), &x[..3], Csr::new(&[3], &[0, 1]), &mut st),
        Err(Error::Index)
    );
}
