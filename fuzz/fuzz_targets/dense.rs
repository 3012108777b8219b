//! Dense loss, gradient (separate and in place) and streaming, against the
//! f64 reference; every error must be one the input actually holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlcce::{Error, Reduction, Shape, Stream};

#[path = "input.rs"]
mod input;
#[path = "../../tests/common/mod.rs"]
mod reference;

fuzz_target!(|data: &[u8]| {
    let mut b = input::Bytes(data);
    input::pick_level(&mut b);
    let rows = b.below(4);
    let classes = b.below(80);
    let n = rows * classes;
    let x: Vec<f32> = (0..n).map(|_| b.logit()).collect();
    let y: Vec<u8> = (0..n).map(|_| b.label()).collect();
    let shape = Shape::new(rows, classes);
    let (bad_label, bad_value) = input::dense_errors(&x, &y);
    let mut out = vec![-7.0f32; rows];
    let got = mlcce::loss(shape, &x, &y, Reduction::None, &mut out);
    let mut grad = vec![0.0f32; n];
    let got_grad = mlcce::loss_grad(shape, &x, &y, Reduction::Sum, None, &mut grad);
    let mut inplace = x.clone();
    let got_in_place = mlcce::loss_grad_in_place(shape, &mut inplace, &y, Reduction::Sum, None);
    for r in [got, got_grad, got_in_place] {
        match r {
            Ok(()) => assert!(!bad_label && !bad_value, "accepted a bad input"),
            Err(Error::Label) => assert!(bad_label, "Label without a bad label"),
            Err(Error::NonFinite) => assert!(bad_value, "NonFinite without a bad logit"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    if bad_label || bad_value {
        return;
    }
    for r in 0..rows {
        let (xs, ys) = (&x[r * classes..][..classes], &y[r * classes..][..classes]);
        reference::assert_loss(out[r], reference::ref_row_loss(xs, ys), "fuzz dense row");
        let want = reference::ref_row_grad(xs, ys);
        reference::assert_grad(&grad[r * classes..][..classes], &want, "fuzz grad");
        reference::assert_grad(&inplace[r * classes..][..classes], &want, "fuzz in-place grad");
    }
    // Streaming the first row in two parts, merged in reverse order.
    if rows > 0 {
        let cut = b.below(classes + 1);
        let (mut s, mut t) = (Stream::new(), Stream::new());
        s.update(&x[..cut], &y[..cut]).unwrap();
        t.update(&x[cut..classes], &y[cut..classes]).unwrap();
        t.merge(&s).unwrap();
        reference::assert_loss(t.loss(), reference::ref_row_loss(&x[..classes], &y[..classes]), "fuzz stream");
    }
});
