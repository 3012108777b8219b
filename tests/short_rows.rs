//! One row of 1 to 33 classes (the entries' short path takes up to 32,
//! the general one the rest and whatever the short one declines), at every
//! dispatch level this CPU runs, through the C entries and the Rust
//! functions, against the f64 reference: ordinary rows, rows the fast path
//! must hand back (huge logits, all ignored, a bad label, NaN, infinity),
//! and pointers the short path must not accept (overlapping, in place,
//! misaligned, NULL), each with its exact status. One test: the level is
//! process-wide.

mod common;
use common::*;
use core::ptr::{null, null_mut};
use mlcce::ffi::{Status, mlcce_loss, mlcce_loss_grad};
use mlcce::{Error, Level, Reduction, Shape};

/// The rows of one length: random ones, and ones whose sums leave the
/// fast path's range (or whose data are bad).
fn rows(rng: &mut Rng, c: usize) -> Vec<(Vec<f32>, Vec<u8>)> {
    let mut v = vec![
        (rng.logits(c, 1.0), rng.labels(c, 0.2, 0.1)),
        (rng.logits(c, 8.0), rng.labels(c, 0.5, 0.0)),
        (rng.logits(c, 3.0), vec![0; c]),
        (rng.logits(c, 3.0), vec![1; c]),
        (rng.logits(c, 3.0), vec![255; c]),
    ];
    for x in [100.0f32, -100.0, 1e30, -1e30, 65504.0] {
        let mut r = (rng.logits(c, 1.0), rng.labels(c, 0.3, 0.0));
        r.0[c - 1] = x;
        v.push(r);
    }
    v
}

/// A row whose data are bad, with the error every entry must report.
fn bad_rows(c: usize) -> Vec<(Vec<f32>, Vec<u8>, Error)> {
    let (x, y) = (vec![0.5f32; c], vec![0u8; c]);
    let mut v = Vec::new();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut xb = x.clone();
        xb[c / 2] = bad;
        v.push((xb, y.clone(), Error::NonFinite));
    }
    let mut yb = y.clone();
    yb[c - 1] = 2;
    v.push((x, yb, Error::Label));
    v
}

fn check_row(level: Level, x: &[f32], y: &[u8]) {
    let c = x.len();
    let what = format!("{level:?}, 1x{c}, labels {y:?}");
    let (want, want_g) = (ref_row_loss(x, y), ref_row_grad(x, y));
    assert_loss(mlcce::row_loss(x, y).unwrap(), want, &format!("{what}, Rust row_loss"));
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let mut l = [f32::NAN];
        mlcce::loss(Shape::new(1, c), x, y, reduction, &mut l).unwrap();
        assert_loss(l[0], want, &format!("{what}, Rust loss {reduction:?}"));
        let (mut l, mut g) = ([f32::NAN], vec![f32::NAN; c]);
        mlcce::loss_grad(Shape::new(1, c), x, y, reduction, Some(&mut l), &mut g).unwrap();
        assert_loss(l[0], want, &format!("{what}, Rust loss_grad {reduction:?}"));
        assert_grad(&g, &want_g, &format!("{what}, Rust gradient {reduction:?}"));
        let code = reduction as u32;
        let mut l = [f32::NAN];
        // SAFETY: the buffers address one row of `c` cells and one output.
        let s = unsafe { mlcce_loss(x.as_ptr(), y.as_ptr(), 1, c, code, l.as_mut_ptr()) };
        assert_eq!(s, Status::MLCCE_OK, "{what}");
        assert_loss(l[0], want, &format!("{what}, C loss {reduction:?}"));
        let (mut l, mut g) = ([f32::NAN], vec![f32::NAN; c]);
        // SAFETY: as above; the gradient is apart from the inputs.
        let s = unsafe { mlcce_loss_grad(x.as_ptr(), y.as_ptr(), 1, c, code, l.as_mut_ptr(), g.as_mut_ptr()) };
        assert_eq!(s, Status::MLCCE_OK, "{what}");
        assert_loss(l[0], want, &format!("{what}, C loss_grad {reduction:?}"));
        assert_grad(&g, &want_g, &format!("{what}, C gradient {reduction:?}"));
        // No loss wanted.
        let mut g = vec![f32::NAN; c];
        // SAFETY: as above.
        let s = unsafe { mlcce_loss_grad(x.as_ptr(), y.as_ptr(), 1, c, code, null_mut(), g.as_mut_ptr()) };
        assert_eq!(s, Status::MLCCE_OK, "{what}");
        assert_grad(&g, &want_g, &format!("{what}, C gradient without loss {reduction:?}"));
    }
    // In place: the general path, the same results.
    let (mut b, mut l) = (x.to_vec(), [f32::NAN]);
    // SAFETY: `b` is the logits and the gradient (in place, allowed).
    let s = unsafe { mlcce_loss_grad(b.as_ptr(), y.as_ptr(), 1, c, 1, l.as_mut_ptr(), b.as_mut_ptr()) };
    assert_eq!(s, Status::MLCCE_OK, "{what}");
    assert_loss(l[0], want, &format!("{what}, C in place"));
    assert_grad(&b, &want_g, &format!("{what}, C in place"));
}

fn check_bad(level: Level, x: &[f32], y: &[u8], err: Error) {
    let c = x.len();
    let what = format!("{level:?}, 1x{c}, bad row");
    let status = Status::from(err);
    let mut l = [-7.0f32];
    assert_eq!(mlcce::row_loss(x, y), Err(err), "{what}");
    assert_eq!(mlcce::loss(Shape::new(1, c), x, y, Reduction::Mean, &mut l), Err(err), "{what}");
    let mut g = vec![0.0f32; c];
    assert_eq!(mlcce::loss_grad(Shape::new(1, c), x, y, Reduction::Mean, Some(&mut l), &mut g), Err(err), "{what}");
    // SAFETY: the buffers address one row of `c` cells and one output.
    unsafe {
        assert_eq!(mlcce_loss(x.as_ptr(), y.as_ptr(), 1, c, 1, l.as_mut_ptr()), status, "{what}");
        assert_eq!(mlcce_loss_grad(x.as_ptr(), y.as_ptr(), 1, c, 1, l.as_mut_ptr(), g.as_mut_ptr()), status, "{what}");
    }
    assert_eq!(l[0], -7.0, "{what}: the loss was written on error");
}

/// Pointers the short path declines reach the general entry's checks.
fn check_pointers(c: usize) {
    let what = format!("1x{c}");
    // One buffer holds logits, labels (as bytes after them) and spare room.
    let mut buf = vec![0.25f32; 3 * c + 8];
    let (x, rest) = buf.split_at_mut(c);
    let x = x.as_mut_ptr();
    let y = rest.as_mut_ptr().cast::<u8>();
    // SAFETY: `y` addresses `4 * (2c + 8)` bytes, all written below.
    unsafe { y.write_bytes(0, c) };
    let spare = rest[c..].as_mut_ptr();
    use Status::*;
    // SAFETY (every call): each pointer addresses the elements its
    // argument says, or is NULL.
    unsafe {
        assert_eq!(mlcce_loss(x, y, 1, c, 1, spare), MLCCE_OK, "{what}");
        assert_eq!(mlcce_loss(x, y, 1, c, 1, x.add(c - 1)), MLCCE_ERR_ARGUMENT, "{what}: out in the logits");
        assert_eq!(mlcce_loss(x, y, 1, c, 1, y.add(c - 1).cast()), MLCCE_ERR_ARGUMENT, "{what}: out on the labels");
        assert_eq!(mlcce_loss(null(), y, 1, c, 1, spare), MLCCE_ERR_NULL_POINTER, "{what}");
        assert_eq!(mlcce_loss(x, null(), 1, c, 1, spare), MLCCE_ERR_NULL_POINTER, "{what}");
        assert_eq!(mlcce_loss(x, y, 1, c, 1, null_mut()), MLCCE_ERR_NULL_POINTER, "{what}");
        assert_eq!(mlcce_loss(x, y, 1, c, 1, spare.cast::<u8>().add(1).cast()), MLCCE_ERR_ARGUMENT, "{what}");
        assert_eq!(mlcce_loss(x, y, 1, c, 3, spare), MLCCE_ERR_ARGUMENT, "{what}: reduction 3");
        let g = spare.add(1);
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 1, spare, g), MLCCE_OK, "{what}");
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 1, spare, x.add(1)), MLCCE_ERR_ARGUMENT, "{what}: grad over logits");
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 1, spare, y.cast()), MLCCE_ERR_ARGUMENT, "{what}: grad over labels");
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 1, g.add(c - 1), g), MLCCE_ERR_ARGUMENT, "{what}: loss in grad");
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 1, x, g), MLCCE_ERR_ARGUMENT, "{what}: loss on logits");
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 1, spare, null_mut()), MLCCE_ERR_NULL_POINTER, "{what}");
        assert_eq!(mlcce_loss_grad(x, y, 1, c, 5, spare, g), MLCCE_ERR_ARGUMENT, "{what}: reduction 5");
    }
}

#[test]
fn short_rows_match_the_reference_at_every_level() {
    let ran = each_level(|level| {
        let mut rng = Rng::new(17);
        for c in 1..=33 {
            for (x, y) in rows(&mut rng, c) {
                check_row(level, &x, &y);
            }
            for (x, y, err) in bad_rows(c) {
                check_bad(level, &x, &y, err);
            }
            check_pointers(c);
        }
    });
    eprintln!("levels tested: {ran:?}");
}
