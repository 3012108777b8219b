//! The C entry points called as C would, with raw pointers (NULL included),
//! arbitrary sizes and codes: every status must be the one the contract
//! names, and results must match the safe API.
#![no_main]
use core::ptr::{null, null_mut};
use libfuzzer_sys::fuzz_target;
use mlcce::ffi::*;
use mlcce::{Reduction, Shape};

#[path = "input.rs"]
mod input;

fuzz_target!(|data: &[u8]| {
    let mut b = input::Bytes(data);
    input::pick_level(&mut b);
    let rows = b.below(4);
    let classes = b.below(40);
    let n = rows * classes;
    let x: Vec<f32> = (0..n).map(|_| b.logit()).collect();
    let y: Vec<u8> = (0..n).map(|_| b.label()).collect();
    let code = match b.byte() {
        0..=200 => u32::from(b.byte() % 3),
        v => u32::from(v),
    };
    let flags = b.byte();
    let null_x = flags & 1 != 0;
    let null_y = flags & 2 != 0;
    let null_out = flags & 4 != 0;
    let mut out = vec![-7.0f32; rows.max(1)];
    let mut grad = vec![0.0f32; n];
    // SAFETY: every non-NULL pointer addresses the sizes passed.
    let (s1, s2) = unsafe {
        let xp = if null_x { null() } else { x.as_ptr() };
        let yp = if null_y { null() } else { y.as_ptr() };
        let op = if null_out { null_mut() } else { out.as_mut_ptr() };
        (
            mlcce_loss(xp, yp, rows, classes, code, op),
            mlcce_loss_grad(xp, yp, rows, classes, code, op, grad.as_mut_ptr()),
        )
    };
    let reduction = match code {
        0 => Some(Reduction::None),
        1 => Some(Reduction::Mean),
        2 => Some(Reduction::Sum),
        _ => None,
    };
    let Some(red) = reduction else {
        assert_eq!((s1, s2), (Status::MLCCE_ERR_ARGUMENT, Status::MLCCE_ERR_ARGUMENT));
        return;
    };
    let outs = red.outputs(rows);
    if (null_x && n > 0) || (null_y && n > 0) {
        assert_eq!(s1, Status::MLCCE_ERR_NULL_POINTER);
        assert_eq!(s2, Status::MLCCE_ERR_NULL_POINTER);
        return;
    }
    if null_out && outs > 0 {
        assert_eq!(s1, Status::MLCCE_ERR_NULL_POINTER);
        return;
    }
    let mut want = vec![0.0f32; outs];
    let safe = mlcce::loss(Shape::new(rows, classes), &x, &y, red, &mut want);
    let expected = match safe {
        Ok(()) => Status::MLCCE_OK,
        Err(e) => e.into(),
    };
    assert_eq!(s1, expected);
    if s1 == Status::MLCCE_OK && !null_out {
        assert_eq!(&out[..outs], &want[..], "C and Rust results differ");
    }
});
