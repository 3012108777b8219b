//! Sparse (CSR) labels and GlobalPointer against the dense loss and the f64
//! reference.
#![allow(clippy::needless_range_loop)]

mod common;
use common::*;
use mlcce::{Csr, Error, GpShape, Reduction, Shape};

/// Dense labels -> (positives, offsets).
fn to_csr(labels: &[u8], classes: usize) -> (Vec<u32>, Vec<usize>) {
    let mut pos = Vec::new();
    let mut off = vec![0];
    for row in labels.chunks(classes.max(1)) {
        pos.extend(row.iter().enumerate().filter(|(_, y)| **y == 1).map(|(i, _)| i as u32));
        off.push(pos.len());
    }
    if classes == 0 {
        off.truncate(1);
    }
    (pos, off)
}

#[test]
fn sparse_equals_dense_on_random_shapes() {
    let mut rng = Rng::new(31);
    for _ in 0..150 {
        let rows = rng.below(5);
        let classes = 1 + rng.below(300);
        let n = rows * classes;
        let logits = rng.logits(n, 5.0);
        let labels = rng.labels(n, 0.1, 0.0);
        let (pos, off) = to_csr(&labels, classes);
        let shape = Shape::new(rows, classes);
        for red in [Reduction::None, Reduction::Sum] {
            let k = red.outputs(rows);
            let (mut a, mut b) = (vec![0.0; k], vec![0.0; k]);
            mlcce::loss(shape, &logits, &labels, red, &mut a).unwrap();
            mlcce::sparse_loss(shape, &logits, Csr::new(&pos, &off), red, &mut b).unwrap();
            assert_eq!(a, b, "sparse == dense, {rows}x{classes}");
            let (mut ga, mut gb) = (vec![0.0; n], vec![0.0; n]);
            mlcce::loss_grad(shape, &logits, &labels, red, None, &mut ga).unwrap();
            mlcce::sparse_loss_grad(shape, &logits, Csr::new(&pos, &off), red, Some(&mut b), &mut gb).unwrap();
            assert_eq!(ga, gb, "sparse grad == dense grad");
            let mut inplace = logits.clone();
            mlcce::sparse_loss_grad_in_place(shape, &mut inplace, Csr::new(&pos, &off), red, None).unwrap();
            for r in 0..rows {
                let row = r * classes..(r + 1) * classes;
                let want = ref_row_grad(&logits[row.clone()], &labels[row.clone()]);
                assert_grad(&inplace[row], &want, "sparse in place");
            }
        }
    }
}

/// One positive at +16..+100 with negatives near -5: the formula
/// `a + log(1 - e^{b-a})` returns ~0 or negative values here.
#[test]
fn cancellation_cases_are_exact_and_never_negative() {
    let mut rng = Rng::new(32);
    for &p in &[16.0f32, 17.0, 20.0, 30.0, 100.0] {
        for classes in [10usize, 1000, 131_072] {
            let mut logits: Vec<f32> = (0..classes).map(|_| -5.0 + rng.uniform(-0.5, 0.5)).collect();
            let at = rng.below(classes);
            logits[at] = p;
            let mut labels = vec![0u8; classes];
            labels[at] = 1;
            let want = ref_row_loss(&logits, &labels);
            let mut out = [0.0f32];
            mlcce::sparse_loss(
                Shape::new(1, classes),
                &logits,
                Csr::new(&[at as u32], &[0, 1]),
                Reduction::Sum,
                &mut out,
            )
            .unwrap();
            assert!(out[0] > 0.0, "never negative");
            assert!((f64::from(out[0]) - want).abs() <= 1e-6 * want, "p={p} C={classes}: {} vs {want:e}", out[0]);
            let mut g = vec![0.0; classes];
            mlcce::sparse_loss_grad(
                Shape::new(1, classes),
                &logits,
                Csr::new(&[at as u32], &[0, 1]),
                Reduction::Sum,
                None,
                &mut g,
            )
            .unwrap();
            assert_grad(&g, &ref_row_grad(&logits, &labels), "cancellation grad");
        }
    }
}

#[test]
fn sparse_bad_inputs() {
    let x = [0.0f32; 8];
    let s = Shape::new(2, 4);
    let mut out = [-7.0f32];
    let call = |p: &[u32], o: &[usize], out: &mut [f32]| mlcce::sparse_loss(s, &x, Csr::new(p, o), Reduction::Sum, out);
    assert_eq!(call(&[0, 1], &[0, 1], &mut out), Err(Error::Shape), "offsets too short");
    assert_eq!(call(&[0, 1], &[0, 2, 1], &mut out), Err(Error::Shape), "offsets decrease");
    assert_eq!(call(&[0, 1], &[0, 1, 3], &mut out), Err(Error::Shape), "offsets past the end");
    assert_eq!(call(&[4], &[0, 1, 1], &mut out), Err(Error::Index), "index >= classes");
    assert_eq!(call(&[1, 1], &[0, 2, 2], &mut out), Err(Error::Index), "repeated");
    assert_eq!(call(&[2, 1], &[0, 2, 2], &mut out), Err(Error::Index), "out of order");
    assert_eq!(out[0], -7.0);
    let mut xn = x;
    xn[5] = f32::NAN;
    assert_eq!(mlcce::sparse_loss(s, &xn, Csr::new(&[], &[0, 0, 0]), Reduction::Sum, &mut out), Err(Error::NonFinite));
    assert_eq!(
        mlcce::sparse_loss(Shape::new(0, 4), &[], Csr::new(&[], &[0]), Reduction::Mean, &mut out),
        Err(Error::Shape)
    );
    assert_eq!(out[0], -7.0);
}

/// Dense labels of a GlobalPointer batch: IGNORE outside each valid triangle.
fn gp_dense(shape: GpShape, lengths: &[u32], spans: &[u32], offsets: &[usize]) -> Vec<u8> {
    let l = shape.max_len;
    let mut y = vec![IGNORE; shape.batch * shape.heads * l * l];
    for b in 0..shape.batch {
        for h in 0..shape.heads {
            let r = b * shape.heads + h;
            let m = &mut y[r * l * l..(r + 1) * l * l];
            let len = lengths[b] as usize;
            for i in 0..len {
                for j in i..len {
                    m[i * l + j] = 0;
                }
            }
            for &c in &spans[offsets[r]..offsets[r + 1]] {
                m[c as usize] = 1;
            }
        }
    }
    y
}

fn gp_random(rng: &mut Rng, shape: GpShape, lengths: &[u32]) -> (Vec<u32>, Vec<usize>) {
    let l = shape.max_len;
    let (mut spans, mut offsets) = (Vec::new(), vec![0]);
    for b in 0..shape.batch {
        for _ in 0..shape.heads {
            let len = lengths[b] as usize;
            for i in 0..len {
                for j in i..len {
                    if rng.unit() < 0.03 {
                        spans.push((i * l + j) as u32);
                    }
                }
            }
            offsets.push(spans.len());
        }
    }
    (spans, offsets)
}

#[test]
fn globalpointer_equals_dense_with_ignore_and_never_reads_padding() {
    let mut rng = Rng::new(33);
    for (batch, heads, max_len) in [(1usize, 1usize, 1usize), (2, 3, 5), (3, 2, 17), (2, 2, 40), (1, 1, 0)] {
        let shape = GpShape::new(batch, heads, max_len);
        let lengths: Vec<u32> = (0..batch)
            .map(|b| match b % 3 {
                0 => max_len as u32,
                1 => 0,
                _ => rng.below(max_len + 1) as u32,
            })
            .collect();
        let (spans, offsets) = gp_random(&mut rng, shape, &lengths);
        let labels = gp_dense(shape, &lengths, &spans, &offsets);
        let mut logits = rng.logits(labels.len(), 4.0);
        // Padding holds NaN: it must never be read for its value.
        for (x, &y) in logits.iter_mut().zip(&labels) {
            if y == IGNORE {
                *x = f32::NAN;
            }
        }
        let rows = batch * heads;
        let cells = max_len * max_len;
        for red in [Reduction::None, Reduction::Sum] {
            let k = red.outputs(rows);
            let mut gp = vec![0.0; k];
            mlcce::globalpointer_loss(shape, &logits, &lengths, Csr::new(&spans, &offsets), red, &mut gp).unwrap();
            let mut g = vec![f32::NAN; logits.len()];
            let mut lo = vec![0.0; k];
            mlcce::globalpointer_loss_grad(
                shape,
                &logits,
                &lengths,
                Csr::new(&spans, &offsets),
                red,
                Some(&mut lo),
                &mut g,
            )
            .unwrap();
            let mut inplace = logits.clone();
            mlcce::globalpointer_loss_grad_in_place(
                shape,
                &mut inplace,
                &lengths,
                Csr::new(&spans, &offsets),
                red,
                None,
            )
            .unwrap();
            let want: Vec<f64> =
                (0..rows).map(|r| ref_row_loss(&logits[r * cells..][..cells], &labels[r * cells..][..cells])).collect();
            match red {
                Reduction::None => (0..rows).for_each(|r| assert_loss(gp[r], want[r], "gp row")),
                _ => assert_loss(gp[0], want.iter().sum(), "gp sum"),
            }
            assert_eq!(gp, lo, "fused loss == forward loss");
            for r in 0..rows {
                let rg = ref_row_grad(&logits[r * cells..][..cells], &labels[r * cells..][..cells]);
                assert_grad(&g[r * cells..][..cells], &rg, "gp grad");
                assert_grad(&inplace[r * cells..][..cells], &rg, "gp in-place grad");
            }
        }
    }
}

#[test]
fn globalpointer_bad_inputs() {
    let shape = GpShape::new(1, 1, 4);
    let x = [0.0f32; 16];
    let mut out = [-7.0f32];
    let call = |len: u32, spans: &[u32], off: &[usize], out: &mut [f32]| {
        mlcce::globalpointer_loss(shape, &x, &[len], Csr::new(spans, off), Reduction::Sum, out)
    };
    assert_eq!(call(5, &[], &[0, 0], &mut out), Err(Error::Shape), "length > max_len");
    assert_eq!(call(4, &[], &[0], &mut out), Err(Error::Shape), "offsets too short");
    assert_eq!(call(4, &[4], &[0, 1], &mut out), Err(Error::Index), "i > j (cell (1, 0))");
    assert_eq!(call(3, &[3], &[0, 1], &mut out), Err(Error::Index), "j >= length");
    assert_eq!(call(4, &[16], &[0, 1], &mut out), Err(Error::Index), "outside the matrix");
    assert_eq!(call(4, &[5, 5], &[0, 2], &mut out), Err(Error::Index), "repeated");
    assert_eq!(call(4, &[6, 5], &[0, 2], &mut out), Err(Error::Index), "out of order");
    assert_eq!(out[0], -7.0);
    assert_eq!(call(4, &[5, 6], &[0, 2], &mut out), Ok(()));
}
