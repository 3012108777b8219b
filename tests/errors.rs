//! Every bad input of the Rust API, with its exact error and untouched outputs.

mod common;
use common::*;
use mlcce::{Error, Reduction, Shape};

type Call = fn(Shape, &[f32], &[u8], Reduction, &mut [f32]) -> Result<(), Error>;

/// The three entry points with one signature: loss, fused gradient (the loss
/// goes to `out`), and in place (on a copy of the logits).
fn entry_points() -> [(&'static str, Call); 3] {
    [
        ("loss", |s, x, y, r, o| mlcce::loss(s, x, y, r, o)),
        ("loss_grad", |s, x, y, r, o| {
            let mut g = vec![0.0; x.len()];
            mlcce::loss_grad(s, x, y, r, Some(o), &mut g)
        }),
        ("in_place", |s, x, y, r, o| {
            let mut b = x.to_vec();
            mlcce::loss_grad_in_place(s, &mut b, y, r, Some(o))
        }),
    ]
}

fn expect(err: Error, shape: Shape, x: &[f32], y: &[u8], r: Reduction, out_len: usize) {
    for (name, call) in entry_points() {
        let mut out = vec![-7.0f32; out_len];
        assert_eq!(call(shape, x, y, r, &mut out), Err(err), "{name}: {shape:?} {r:?}");
        if r != Reduction::None || matches!(err, Error::Shape | Error::Argument) {
            assert!(out.iter().all(|&v| v == -7.0), "{name}: output written on error");
        }
    }
}

#[test]
fn shape_errors() {
    let x = [0.0f32; 12];
    let y = [0u8; 12];
    let s = Shape::new(3, 4);
    expect(Error::Shape, s, &x[..11], &y, Reduction::Mean, 1);
    expect(Error::Shape, s, &x, &y[..11], Reduction::Mean, 1);
    expect(Error::Shape, Shape::new(usize::MAX, 2), &x, &y, Reduction::Sum, 1);
    expect(Error::Shape, Shape::new(0, 4), &[], &[], Reduction::Mean, 1);
    expect(Error::Shape, s, &x, &y, Reduction::Mean, 0);
    expect(Error::Shape, s, &x, &y, Reduction::Mean, 2);
    expect(Error::Shape, s, &x, &y, Reduction::None, 2);
    let mut g = [0.0f32; 11];
    assert_eq!(mlcce::loss_grad(s, &x, &y, Reduction::Sum, None, &mut g), Err(Error::Shape));
    assert_eq!(mlcce::row_loss(&x, &y[..3]), Err(Error::Shape));
}

#[test]
fn label_and_non_finite_errors_anywhere_in_a_row() {
    let mut rng = Rng::new(21);
    for classes in sized(vec![1usize, 5, 16, 17, 40, 1000], vec![1, 17, 40]) {
        for at in [0, classes / 2, classes - 1] {
            let x = rng.logits(2 * classes, 1.0);
            let y = rng.labels(2 * classes, 0.3, 0.1);
            let cell = classes + at; // in the second row
            for bad in [2u8, 3, 127, 128, 254] {
                let mut yb = y.clone();
                yb[cell] = bad;
                for r in [Reduction::None, Reduction::Mean, Reduction::Sum] {
                    expect(Error::Label, Shape::new(2, classes), &x, &yb, r, r.outputs(2));
                }
            }
            for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for label in [0u8, 1] {
                    let mut xb = x.clone();
                    let mut yb = y.clone();
                    xb[cell] = v;
                    yb[cell] = label;
                    for r in [Reduction::None, Reduction::Mean] {
                        expect(Error::NonFinite, Shape::new(2, classes), &xb, &yb, r, r.outputs(2));
                    }
                }
                // The same value in an ignored cell is not an error.
                let mut xb = x.clone();
                let mut yb = y.clone();
                xb[cell] = v;
                yb[cell] = IGNORE;
                let mut out = [0.0f32];
                mlcce::loss(Shape::new(2, classes), &xb, &yb, Reduction::Sum, &mut out).unwrap();
                assert!(out[0].is_finite());
            }
        }
    }
}

#[test]
fn first_error_in_a_row_is_reported() {
    // A label error before a NaN reports Label, and the reverse reports NonFinite.
    let mut out = [0.0f32];
    let s = Shape::new(1, 3);
    assert_eq!(mlcce::loss(s, &[0.0, f32::NAN, 0.0], &[9, 0, 0], Reduction::Sum, &mut out), Err(Error::Label));
    assert_eq!(mlcce::loss(s, &[f32::NAN, 0.0, 0.0], &[0, 9, 0], Reduction::Sum, &mut out), Err(Error::NonFinite));
}

#[test]
fn errors_display() {
    for e in [Error::Shape, Error::Label, Error::NonFinite, Error::Index, Error::Argument] {
        assert!(!format!("{e}").is_empty());
    }
}
