//! Sparse labels and GlobalPointer against the dense loss built from the same
//! labels, with arbitrary (often invalid) indices, offsets and lengths.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlcce::{Csr, Error, GpShape, Reduction, Shape};

#[path = "input.rs"]
mod input;
#[path = "../../tests/common/mod.rs"]
mod reference;

fuzz_target!(|data: &[u8]| {
    let mut b = input::Bytes(data);
    input::pick_level(&mut b);
    // Sparse.
    let rows = b.below(4);
    let classes = b.below(70);
    let x: Vec<f32> = (0..rows * classes).map(|_| b.logit()).collect();
    let k = b.below(12);
    let positives: Vec<u32> = (0..k).map(|_| b.below(classes + 2) as u32).collect();
    let mut offsets: Vec<usize> = (0..=rows).map(|_| b.below(k + 2)).collect();
    if b.byte() % 4 != 0 {
        offsets.sort_unstable();
    }
    let mut out = vec![0.0f32; rows];
    let got = mlcce::sparse_loss(Shape::new(rows, classes), &x, Csr::new(&positives, &offsets), Reduction::None, &mut out);
    let offsets_ok = offsets.windows(2).all(|w| w[0] <= w[1]) && offsets.last().is_some_and(|&l| l <= k);
    match got {
        Err(Error::Shape) => assert!(!offsets_ok, "Shape on good offsets"),
        Err(Error::Index) => {
            assert!(offsets_ok);
            let bad = (0..rows).any(|r| {
                let p = &positives[offsets[r]..offsets[r + 1]];
                p.iter().any(|&i| i as usize >= classes) || p.windows(2).any(|w| w[0] >= w[1])
            });
            assert!(bad, "Index on good indices");
        }
        Err(Error::NonFinite) => assert!(x.iter().any(|v| !v.is_finite())),
        Err(e) => panic!("unexpected {e:?}"),
        Ok(()) => {
            for r in 0..rows {
                let mut y = vec![0u8; classes];
                for &i in &positives[offsets[r]..offsets[r + 1]] {
                    y[i as usize] = 1;
                }
                let xs = &x[r * classes..][..classes];
                reference::assert_loss(out[r], reference::ref_row_loss(xs, &y), "fuzz sparse");
            }
        }
    }
    // GlobalPointer.
    let (batch, heads, max_len) = (b.below(3), 1 + b.below(2), b.below(9));
    let shape = GpShape::new(batch, heads, max_len);
    let cells = batch * heads * max_len * max_len;
    let x: Vec<f32> = (0..cells).map(|_| b.logit()).collect();
    let lengths: Vec<u32> = (0..batch).map(|_| b.below(max_len + 2) as u32).collect();
    let nspans = b.below(8);
    let mut spans: Vec<u32> = (0..nspans).map(|_| b.below(max_len * max_len + 1) as u32).collect();
    spans.sort_unstable();
    let mut offsets = vec![0usize];
    for _ in 0..batch * heads {
        let last = *offsets.last().unwrap();
        offsets.push((last + b.below(3)).min(nspans));
    }
    let mut out = vec![0.0f32; batch * heads];
    let got = mlcce::globalpointer_loss(shape, &x, &lengths, Csr::new(&spans, &offsets), Reduction::None, &mut out);
    if lengths.iter().any(|&l| l as usize > max_len) {
        assert_eq!(got, Err(Error::Shape));
        return;
    }
    let mut y = vec![255u8; cells];
    let mut spans_ok = true;
    for r in 0..batch * heads {
        let len = lengths[r / heads] as usize;
        let m = &mut y[r * max_len * max_len..][..max_len * max_len];
        for i in 0..len {
            for j in i..len {
                m[i * max_len + j] = 0;
            }
        }
        let s = &spans[offsets[r]..offsets[r + 1]];
        spans_ok &= s.windows(2).all(|w| w[0] < w[1]);
        for &c in s {
            let (i, j) = ((c as usize) / max_len.max(1), (c as usize) % max_len.max(1));
            if max_len == 0 || i > j || j >= len {
                spans_ok = false;
            } else {
                m[c as usize] = 1;
            }
        }
    }
    let non_finite = x.iter().zip(&y).any(|(v, &l)| l != 255 && !v.is_finite());
    match got {
        Err(Error::Index) => assert!(!spans_ok),
        Err(Error::NonFinite) => assert!(non_finite),
        Err(e) => panic!("unexpected {e:?}"),
        Ok(()) => {
            assert!(spans_ok && !non_finite);
            let c = max_len * max_len;
            for r in 0..batch * heads {
                let want = reference::ref_row_loss(&x[r * c..][..c], &y[r * c..][..c]);
                reference::assert_loss(out[r], want, "fuzz globalpointer");
            }
        }
    }
});
