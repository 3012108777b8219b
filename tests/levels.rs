//! Every dispatch level this CPU can run, forced in turn (the test hook
//! `mlcce::force_level`), against the f64 reference: dense, sparse, soft,
//! GlobalPointer, streaming and sharded rows on every boundary length and
//! on extreme logits, and the evaluation's counts (exact). A level the CPU cannot run is reported on the
//! terminal. One test: the level is process-wide.

mod common;
use common::*;
use mlcce::{ClassCounts, Csr, Evaluator, GpShape, Level, Reduction, Shape, Stream};

fn rows(rng: &mut Rng) -> Vec<(Vec<f32>, Vec<u8>)> {
    let mut v = Vec::new();
    for classes in boundary_lengths().into_iter().filter(|&c| c <= sized(20_000, 70)) {
        // With ignored labels, and with labels 0 and 1 only (the binary
        // loops).
        for (sd, ignored) in [(1.0f32, 0.1), (10.0, 0.1), (1.0, 0.0)] {
            v.push((rng.logits(classes, sd), rng.labels(classes, 0.1, ignored)));
        }
    }
    // Long rows whose ignored cells (or logits of the shifted path) lie in
    // one stretch of 8192 cells only: label facts gathered piece by piece
    // at the AVX2 level, some pieces then labels 0 and 1 only.
    for at in [100usize, 8191, 8192, 12_000, 19_999] {
        let c = 20_000;
        let mut y = rng.labels(c, 0.1, 0.0);
        y[at] = 255;
        v.push((rng.logits(c, 1.0), y.clone()));
        let mut x = rng.logits(c, 1.0);
        x[at] = 200.0;
        y[at] = 0;
        v.push((x, y));
    }
    // Extreme logits (the shifted path) in short rows and in rows of
    // whole blocks, a remainder and a tail.
    for c in [21, 1000] {
        for &x in &[1e4f32, -1e4, 65504.0, -65504.0, f32::MAX, -f32::MAX, 87.0, -104.0] {
            for y in [0u8, 1] {
                let mut xs = vec![0.25f32; c];
                let mut ys = vec![0u8; c];
                ys[0] = 1;
                (xs[c - 1], ys[c - 1]) = (x, y);
                v.push((xs, ys));
            }
        }
    }
    v
}

fn battery(level: Level) {
    let mut rng = Rng::new(91);
    for (x, y) in rows(&mut rng) {
        let c = x.len();
        let what = format!("{level:?}, {c} classes");
        let want = ref_row_loss(&x, &y);
        let want_g = ref_row_grad(&x, &y);
        let s = Shape::new(1, c);
        let mut f = [0.0f32];
        mlcce::loss(s, &x, &y, Reduction::Sum, &mut f).unwrap();
        assert_loss(f[0], want, &format!("{what} forward"));
        // The gradients' buffers run on past the row: the partial step's
        // stores (masked at the AVX levels) must leave those cells alone.
        const GUARD: f32 = -7.25;
        let (mut l, mut g) = ([0.0f32], vec![GUARD; c + 16]);
        mlcce::loss_grad(s, &x, &y, Reduction::Sum, Some(&mut l), &mut g[..c]).unwrap();
        assert_loss(l[0], want, &what);
        assert_grad(&g[..c], &want_g, &what);
        assert!(g[c..].iter().all(|&v| v == GUARD), "{what}: a cell past the gradient was written");
        let mut b = x.clone();
        b.extend([GUARD; 16]);
        mlcce::loss_grad_in_place(s, &mut b[..c], &y, Reduction::Sum, Some(&mut l)).unwrap();
        assert_loss(l[0], want, &format!("{what} in place"));
        assert_grad(&b[..c], &want_g, &format!("{what} in place"));
        assert!(b[c..].iter().all(|&v| v == GUARD), "{what} in place: a cell past the row was written");
        // Streamed in two parts.
        let (mut a, mut z) = (Stream::new(), Stream::new());
        a.update(&x[..c / 2], &y[..c / 2]).unwrap();
        z.update(&x[c / 2..], &y[c / 2..]).unwrap();
        a.merge(&z).unwrap();
        assert_loss(a.loss(), want, &format!("{what} streamed"));
        // Sparse (IGNORE becomes negative there) and soft 0/1 targets.
        let yd: Vec<u8> = y.iter().map(|&v| u8::from(v == 1)).collect();
        let pos: Vec<u32> = (0..c as u32).filter(|&i| yd[i as usize] == 1).collect();
        let mut out = [0.0f32];
        mlcce::sparse_loss(s, &x, Csr::new(&pos, &[0, pos.len()]), Reduction::Sum, &mut out).unwrap();
        assert_loss(out[0], ref_row_loss(&x, &yd), &format!("{what} sparse"));
        let t: Vec<f32> = yd.iter().map(|&v| f32::from(v)).collect();
        mlcce::soft_loss_grad(s, &x, &t, Reduction::Sum, Some(&mut out), &mut g[..c]).unwrap();
        assert_loss(out[0], ref_row_loss(&x, &yd), &format!("{what} soft"));
        assert_grad(&g[..c], &ref_row_grad(&x, &yd), &format!("{what} soft grad"));
        // Two shards.
        let h = c / 3;
        let (mut s1, mut s2) = (vec![Stream::new()], vec![Stream::new()]);
        mlcce::shard_states(Shape::new(1, h), &x[..h], &y[..h], &mut s1).unwrap();
        mlcce::shard_states(Shape::new(1, c - h), &x[h..], &y[h..], &mut s2).unwrap();
        mlcce::merge_states(&mut s1, &s2).unwrap();
        mlcce::shard_loss(&s1, Reduction::Sum, &mut out).unwrap();
        assert_loss(out[0], want, &format!("{what} sharded"));
    }
    // GlobalPointer against the same rows as dense with IGNORE.
    let shape = GpShape::new(2, 2, 9);
    let x = rng.logits(4 * 81, 3.0);
    let lengths = [9u32, 5];
    let spans = [2u32, 10, 40, 0, 12];
    let offsets = [0usize, 2, 3, 4, 5];
    let mut got = [0.0f32; 4];
    mlcce::globalpointer_loss(shape, &x, &lengths, Csr::new(&spans, &offsets), Reduction::None, &mut got).unwrap();
    for r in 0..4 {
        let len = lengths[r / 2] as usize;
        let y: Vec<u8> = (0..81)
            .map(|cell| {
                let (i, j) = (cell / 9, cell % 9);
                if i > j || j >= len {
                    255
                } else {
                    u8::from(spans[offsets[r]..offsets[r + 1]].contains(&(cell as u32)))
                }
            })
            .collect();
        assert_loss(got[r], ref_row_loss(&x[r * 81..(r + 1) * 81], &y), &format!("{level:?} GlobalPointer row {r}"));
    }
}

/// The evaluation's counts against a plain count, on shapes around its
/// blocks (32 and 64 classes) with and without IGNORE, threshold 0 (its
/// shortcut) and another, logits on the decision edge mixed in.
fn counts(level: Level) {
    let mut rng = Rng::new(5);
    for (rows, classes) in [(3usize, 31usize), (5, 64), (9, 65), (4, 130), (70, 40), (3, 1000)] {
        for ignore in [0.0, 0.2] {
            let y = rng.labels(rows * classes, 0.3, ignore);
            for thr in [0.0f32, 0.5] {
                let x: Vec<f32> = (0..rows * classes)
                    .map(|i| match i % 7 {
                        0 => thr,
                        1 => -0.0,
                        _ => rng.normal(2.0),
                    })
                    .collect();
                let mut want = vec![ClassCounts::default(); classes];
                let mut exact = 0;
                for r in 0..rows {
                    let mut ok = true;
                    for (c, w) in want.iter_mut().enumerate() {
                        let (p, l) = (x[r * classes + c] > thr, y[r * classes + c]);
                        match (l, p) {
                            (1, true) => w.true_pos += 1,
                            (1, false) => w.false_neg += 1,
                            (0, true) => w.false_pos += 1,
                            (0, false) => w.true_neg += 1,
                            _ => continue,
                        }
                        ok &= (l == 1) == p;
                    }
                    exact += u64::from(ok);
                }
                let mut got = vec![ClassCounts::default(); classes];
                let mut ev = Evaluator::new(&mut got, thr).unwrap();
                ev.update(rows, &x, &y).unwrap();
                let what = format!("{level:?}, {rows}x{classes}, ignored {ignore}, threshold {thr}");
                assert_eq!(ev.totals().exact, exact, "{what}");
                let _ = ev;
                assert_eq!(got, want, "{what}");
            }
        }
    }
}

/// An invalid label or a non-finite logit in any stretch of a long row is
/// its status (the label facts are gathered piece by piece at the AVX2
/// level).
fn bad_cells_in_any_piece(level: Level) {
    let mut rng = Rng::new(17);
    let c = 20_000;
    for at in [0usize, 8191, 8192, 16_384, 19_999] {
        let (x, mut y) = (rng.logits(c, 1.0), rng.labels(c, 0.1, 0.0));
        y[at] = 7;
        let mut out = [0.0f32];
        let got = mlcce::loss(Shape::new(1, c), &x, &y, Reduction::Sum, &mut out);
        assert_eq!(got, Err(mlcce::Error::Label), "{level:?}: label 7 at {at}");
        y[at] = 1;
        let mut x = x;
        x[at] = f32::NEG_INFINITY;
        let got = mlcce::loss(Shape::new(1, c), &x, &y, Reduction::Sum, &mut out);
        assert_eq!(got, Err(mlcce::Error::NonFinite), "{level:?}: -inf at {at}");
    }
}

#[test]
fn every_level_this_cpu_runs_matches_the_reference() {
    let ran = each_level(|level| {
        battery(level);
        bad_cells_in_any_piece(level);
        counts(level);
    });
    eprintln!("levels tested: {ran:?}");
}
