//! Soft targets against the f64 reference, and evaluation (all-or-nothing
//! updates) against a direct count.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlcce::{ClassCounts, Error, Evaluator, Reduction, Shape};

#[path = "input.rs"]
mod input;
#[path = "../../tests/common/mod.rs"]
mod reference;

fuzz_target!(|data: &[u8]| {
    let mut b = input::Bytes(data);
    input::pick_level(&mut b);
    let rows = b.below(4);
    let classes = b.below(60);
    let n = rows * classes;
    let x: Vec<f32> = (0..n).map(|_| b.logit()).collect();
    let t: Vec<f32> = (0..n).map(|_| b.target()).collect();
    let mut out = vec![0.0f32; rows];
    let got = mlcce::soft_loss(Shape::new(rows, classes), &x, &t, Reduction::None, &mut out);
    let bad_t = t.iter().any(|v| !(0.0..=1.0).contains(v));
    let bad_x = x.iter().any(|v| !v.is_finite());
    match got {
        Err(Error::Label) => assert!(bad_t),
        Err(Error::NonFinite) => assert!(bad_x),
        Err(e) => panic!("unexpected {e:?}"),
        Ok(()) => {
            assert!(!bad_t && !bad_x);
            for r in 0..rows {
                let want = reference::ref_soft_row_loss(&x[r * classes..][..classes], &t[r * classes..][..classes]);
                reference::assert_loss(out[r], want, "fuzz soft");
            }
        }
    }
    // Evaluation: a good batch then a possibly bad one.
    let y: Vec<u8> = (0..n).map(|_| b.label()).collect();
    let thr = f32::from(b.byte()) / 64.0 - 2.0;
    let mut counts = vec![ClassCounts::default(); classes];
    let mut ev = Evaluator::new(&mut counts, thr).unwrap();
    let xs: Vec<f32> = x.iter().map(|v| if v.is_finite() { *v } else { 0.0 }).collect();
    let ys: Vec<u8> = y.iter().map(|&l| if matches!(l, 0 | 1 | 255) { l } else { 0 }).collect();
    ev.update(rows, &xs, &ys).unwrap();
    // Every count and the exact-match count against a plain loop.
    let mut want = vec![ClassCounts::default(); classes];
    let mut exact = 0;
    for r in 0..rows {
        let mut ok = true;
        for (c, w) in want.iter_mut().enumerate() {
            let (s, l) = (xs[r * classes + c], ys[r * classes + c]);
            match (l, s > thr) {
                (255, _) => {}
                (1, true) => w.true_pos += 1,
                (0, true) => (w.false_pos += 1, ok = false).0,
                (1, false) => (w.false_neg += 1, ok = false).0,
                _ => w.true_neg += 1,
            }
        }
        exact += u64::from(ok);
    }
    assert_eq!(ev.totals().exact, exact, "exact matches");
    let before = (ev.totals(), ev.report());
    let (bad_label, bad_value) = input::dense_errors(&x, &y);
    // A good second batch counts as the first (they differ in no counted
    // cell: the logits of ignored cells may be anything).
    let times = match ev.update(rows, &x, &y) {
        Ok(()) => {
            assert!(!bad_label && !bad_value);
            2
        }
        Err(_) => {
            assert_eq!((ev.totals(), ev.report()), before, "failed update changed the state");
            1
        }
    };
    let r = ev.report();
    for v in [r.micro_precision, r.micro_recall, r.micro_f1, r.macro_f1, r.hamming_loss, r.subset_accuracy] {
        assert!((0.0..=1.0).contains(&v), "metric out of range: {r:?}");
    }
    let _ = ev;
    let want: Vec<ClassCounts> = want
        .iter()
        .map(|w| ClassCounts {
            true_pos: w.true_pos * times,
            false_pos: w.false_pos * times,
            false_neg: w.false_neg * times,
            true_neg: w.true_neg * times,
        })
        .collect();
    assert_eq!(counts, want, "per-class counts");
});
