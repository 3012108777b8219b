//! Evaluation metrics against an f64 port of `metrics()` of mlcce_ref.py.

mod common;
use common::*;
use mlcce::{ClassCounts, Error, Evaluator, Report};

struct Want {
    counts: Vec<ClassCounts>,
    exact: u64,
    p: f64,
    r: f64,
    f1: f64,
    macro_f1: f64,
    hamming: f64,
    subset: f64,
}

fn ref_metrics(x: &[f32], y: &[u8], classes: usize, thr: f32) -> Want {
    let rows = x.len() / classes;
    let (mut tp, mut fp, mut fnn, mut tn) =
        (vec![0u64; classes], vec![0u64; classes], vec![0u64; classes], vec![0u64; classes]);
    let mut exact = 0;
    for r in 0..rows {
        let mut ok = true;
        for c in 0..classes {
            let (s, l) = (x[r * classes + c], y[r * classes + c]);
            if l == IGNORE {
                continue;
            }
            match (s > thr, l == 1) {
                (true, true) => tp[c] += 1,
                (true, false) => {
                    fp[c] += 1;
                    ok = false
                }
                (false, true) => {
                    fnn[c] += 1;
                    ok = false
                }
                _ => tn[c] += 1,
            }
        }
        exact += ok as u64;
    }
    let f1 = |t: u64, a: u64, b: u64| if 2 * t + a + b == 0 { 0.0 } else { 2.0 * t as f64 / (2 * t + a + b) as f64 };
    let (t, a, b, n): (u64, u64, u64, u64) = (tp.iter().sum(), fp.iter().sum(), fnn.iter().sum(), tn.iter().sum());
    let counts = (0..classes)
        .map(|c| ClassCounts { true_pos: tp[c], false_pos: fp[c], false_neg: fnn[c], true_neg: tn[c] })
        .collect();
    Want {
        counts,
        exact,
        p: if t + a == 0 { 0.0 } else { t as f64 / (t + a) as f64 },
        r: if t + b == 0 { 0.0 } else { t as f64 / (t + b) as f64 },
        f1: f1(t, a, b),
        macro_f1: (0..classes).map(|c| f1(tp[c], fp[c], fnn[c])).sum::<f64>() / classes as f64,
        hamming: if t + a + b + n == 0 { 0.0 } else { (a + b) as f64 / (t + a + b + n) as f64 },
        subset: exact as f64 / rows as f64,
    }
}

fn check(r: &Report, w: &Want, mean_loss: f64) {
    let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 1e-6 * b.abs().max(1e-30);
    assert!(close(r.micro_precision, w.p), "precision {} vs {}", r.micro_precision, w.p);
    assert!(close(r.micro_recall, w.r), "recall");
    assert!(close(r.micro_f1, w.f1), "micro f1");
    assert!(close(r.macro_f1, w.macro_f1), "macro f1");
    assert!(close(r.hamming_loss, w.hamming), "hamming");
    assert!(close(r.subset_accuracy, w.subset), "subset");
    assert_loss(r.mean_loss, mean_loss, "mean loss");
}

#[test]
fn metrics_match_the_reference_and_any_batch_split() {
    let mut rng = Rng::new(51);
    for (rows, classes) in [(1usize, 1usize), (7, 5), (20, 33), (13, 100), (40, 16), (37, 47)] {
        let x = rng.logits(rows * classes, 2.0);
        let y = rng.labels(rows * classes, 0.3, 0.1);
        for thr in [0.0f32, 0.5, -1.0] {
            let want = ref_metrics(&x, &y, classes, thr);
            let mean: f64 = ref_batch_loss(&x, &y, classes).iter().sum::<f64>() / rows as f64;
            // Every split of the batch at a row boundary gives the same report.
            for cut in 0..=rows {
                let mut counts = vec![ClassCounts::default(); classes];
                let mut ev = Evaluator::new(&mut counts, thr).unwrap();
                ev.update(cut, &x[..cut * classes], &y[..cut * classes]).unwrap();
                ev.update(rows - cut, &x[cut * classes..], &y[cut * classes..]).unwrap();
                let r = ev.report();
                assert_eq!(r.rows, rows as u64);
                assert_eq!(ev.totals().exact, want.exact, "{rows}x{classes} cut {cut}");
                check(&r, &want, mean);
                let _ = ev;
                assert_eq!(counts, want.counts, "{rows}x{classes} cut {cut}");
            }
        }
    }
}

#[test]
fn hand_computed_case_and_threshold_boundary() {
    // 2 rows x 3 classes; logits exactly at the threshold predict negative.
    let x = [1.0f32, 0.0, -1.0, 0.5, 2.0, 0.0];
    let y = [1u8, 1, 0, 0, 1, IGNORE];
    let mut counts = [ClassCounts::default(); 3];
    let mut ev = Evaluator::new(&mut counts, 0.0).unwrap();
    ev.update(2, &x, &y).unwrap();
    let r = ev.report();
    // TP: (0,0), (1,1); FN: (0,1) (logit 0 is not > 0); FP: (1,0); TN: (0,2).
    assert_eq!(r.micro_precision, 2.0 / 3.0);
    assert_eq!(r.micro_recall, 2.0 / 3.0);
    assert_eq!(r.hamming_loss, 2.0 / 5.0);
    assert_eq!(r.subset_accuracy, 0.0);
    // Class 0: tp 1, fp 1 -> F1 2/3; class 1: tp 1, fn 1 -> 2/3; class 2: nothing -> 0.
    assert!((r.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs() < 1e-7);
    assert_eq!(counts[1], ClassCounts { true_pos: 1, false_pos: 0, false_neg: 1, true_neg: 0 });
    let mut p = [9u8; 6];
    mlcce::predict(&x, 0.0, &mut p).unwrap();
    assert_eq!(p, [1, 0, 0, 1, 1, 0]);
}

#[test]
fn zero_rows_report_zero_and_bad_inputs_change_nothing() {
    let mut counts = [ClassCounts::default(); 2];
    assert_eq!(Evaluator::new(&mut counts, f32::NAN).err(), Some(Error::Argument));
    let mut ev = Evaluator::new(&mut counts, 0.0).unwrap();
    assert_eq!(ev.report(), Report::default());
    ev.update(2, &[1.0, -1.0, 0.5, 0.5], &[1, 0, 0, 1]).unwrap();
    let before = (ev.totals(), ev.report());
    assert_eq!(ev.update(2, &[1.0, -1.0, 0.5, 0.5], &[1, 0, 0, 7]), Err(Error::Label));
    assert_eq!(ev.update(2, &[1.0, -1.0, 0.5, f32::NAN], &[1, 0, 0, 1]), Err(Error::NonFinite));
    assert_eq!(ev.update(2, &[1.0, -1.0, 0.5], &[1, 0, 0]), Err(Error::Shape));
    assert_eq!((ev.totals(), ev.report()), before);
    let _ = ev;
    assert_eq!(counts[0].true_pos + counts[0].true_neg + counts[0].false_pos + counts[0].false_neg, 2);
    assert_eq!(mlcce::predict(&[1.0], f32::NAN, &mut [0]), Err(Error::Argument));
    assert_eq!(mlcce::predict(&[f32::INFINITY], 0.0, &mut [0]), Err(Error::NonFinite));
}

/// A bad cell in a late row of a batch that spans several chunks
/// of rows (at least 16 rows each): every count and total is exactly
/// as before, and the next good batch counts as if the bad one never came.
#[test]
fn failed_update_after_many_counted_rows_changes_nothing() {
    let mut rng = Rng::new(41);
    let (rows, classes) = (70usize, 37usize);
    let x = rng.logits(rows * classes, 2.0);
    let y = rng.labels(rows * classes, 0.3, 0.1);
    let mut counts = vec![ClassCounts::default(); classes];
    let mut ev = Evaluator::new(&mut counts, 0.25).unwrap();
    ev.update(rows, &x, &y).unwrap();
    let before = ev.totals();
    for (bad_row, what) in [(69usize, "label"), (33, "label"), (17, "logit"), (0, "logit")] {
        let (mut bx, mut by) = (x.clone(), y.clone());
        let at = bad_row * classes + 5;
        by[at] = if what == "label" { 3 } else { 1 };
        if what == "logit" {
            bx[at] = f32::INFINITY;
        }
        let want = if what == "label" { Error::Label } else { Error::NonFinite };
        assert_eq!(ev.update(rows, &bx, &by), Err(want), "bad {what} in row {bad_row}");
        assert_eq!(ev.totals(), before, "bad {what} in row {bad_row}");
    }
    ev.update(rows, &x, &y).unwrap();
    let _ = ev;
    let mut twice = x.clone();
    twice.extend_from_slice(&x);
    let mut twice_y = y.clone();
    twice_y.extend_from_slice(&y);
    assert_eq!(counts, ref_metrics(&twice, &twice_y, classes, 0.25).counts);
}

/// Logits that sit on the edges of `logit > threshold`: the threshold itself
/// and its neighbours, both zeros, subnormals, the extremes.
fn edge_logits(thr: f32) -> [f32; 12] {
    let tiny = f32::from_bits(1);
    [
        thr,
        thr.next_up(),
        thr.next_down(),
        0.0,
        -0.0,
        tiny,
        -tiny,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        1.0,
    ]
}

/// The counting reads rows in chunks and classes in blocks (64, or 32 a
/// register), takes a shortcut for chunks without IGNORE labels and another
/// for the threshold 0. Every count and the exact-match count are checked
/// exactly on shapes around those boundaries, with and without IGNORE, for
/// several thresholds, with logits on the decision edge mixed in.
#[test]
fn counts_are_exact_on_every_counting_path() {
    let mut rng = Rng::new(77);
    let shapes = [
        (1usize, 1usize),
        (3, 31),
        (4, 32),
        (5, 33),
        (6, 63),
        (7, 64),
        (9, 65),
        (2, 127),
        (3, 129),
        (130, 40),
        (300, 7),
        (17, 1000),
        (2, 4099),
    ];
    let thresholds = [0.0f32, -0.0, 0.5, -1.0, f32::from_bits(1), -f32::MIN_POSITIVE, f32::INFINITY, f32::NEG_INFINITY];
    for (rows, classes) in shapes {
        for ignore in [0.0, 0.1] {
            let y = rng.labels(rows * classes, 0.3, ignore);
            for thr in thresholds {
                let edges = edge_logits(thr);
                let x: Vec<f32> = (0..rows * classes)
                    .map(|_| {
                        if rng.unit() < 0.3 {
                            let e = edges[rng.below(edges.len())];
                            if e.is_finite() { e } else { 0.0 }
                        } else {
                            rng.normal(2.0)
                        }
                    })
                    .collect();
                let want = ref_metrics(&x, &y, classes, thr);
                let mut counts = vec![ClassCounts::default(); classes];
                let mut ev = Evaluator::new(&mut counts, thr).unwrap();
                ev.update(rows, &x, &y).unwrap();
                let exact = ev.totals().exact;
                let _ = ev;
                let what = format!("{rows}x{classes}, ignored {ignore}, threshold {thr:e}");
                assert_eq!(exact, want.exact, "{what}");
                assert_eq!(counts, want.counts, "{what}");
            }
        }
    }
}

/// 300 rows (more than a byte counts) where one class is always a true
/// positive, one always a false positive, one always a false negative and one
/// always a true negative: the per-chunk byte counts never wrap.
#[test]
fn counts_past_255_rows_do_not_wrap() {
    let rows = 300;
    let x: Vec<f32> = (0..rows).flat_map(|_| [1.0f32, 1.0, -1.0, -1.0]).collect();
    let y: Vec<u8> = (0..rows).flat_map(|_| [1u8, 0, 1, 0]).collect();
    for split in [rows, 1, 255, 256] {
        let mut counts = [ClassCounts::default(); 4];
        let mut ev = Evaluator::new(&mut counts, 0.0).unwrap();
        let mut done = 0;
        while done < rows {
            let n = split.min(rows - done);
            ev.update(n, &x[done * 4..(done + n) * 4], &y[done * 4..(done + n) * 4]).unwrap();
            done += n;
        }
        assert_eq!(ev.totals().exact, 0);
        let _ = ev;
        let n = rows as u64;
        assert_eq!(
            counts,
            [
                ClassCounts { true_pos: n, false_pos: 0, false_neg: 0, true_neg: 0 },
                ClassCounts { true_pos: 0, false_pos: n, false_neg: 0, true_neg: 0 },
                ClassCounts { true_pos: 0, false_pos: 0, false_neg: n, true_neg: 0 },
                ClassCounts { true_pos: 0, false_pos: 0, false_neg: 0, true_neg: n },
            ],
            "batches of {split}"
        );
    }
}
