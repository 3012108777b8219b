//! Streaming: a row fed chunk by chunk, and parts merged in any order.

mod common;
use common::*;
use mlcce::{Error, Stream};

fn chunk_states(logits: &[f32], labels: &[u8], size: usize) -> Vec<Stream> {
    logits
        .chunks(size)
        .zip(labels.chunks(size))
        .map(|(l, y)| {
            let mut s = Stream::new();
            s.update(l, y).unwrap();
            s
        })
        .collect()
}

fn fold(states: impl Iterator<Item = Stream>) -> Stream {
    let mut acc = Stream::new();
    for s in states {
        acc.merge(&s).unwrap();
    }
    acc
}

/// Merges pairwise, as a tree.
fn tree(states: &[Stream]) -> Stream {
    match states.len() {
        0 => Stream::new(),
        1 => states[0],
        n => {
            let mut a = tree(&states[..n / 2]);
            a.merge(&tree(&states[n / 2..])).unwrap();
            a
        }
    }
}

#[test]
fn every_chunk_size_and_merge_order_gives_the_one_shot_loss() {
    let mut rng = Rng::new(11);
    let shapes = [(37usize, 3.0f32), (100, 20.0), (515, 1.0), (64, 200.0)];
    for &(classes, sd) in &shapes[..sized(4, 1)] {
        let logits = rng.logits(classes, sd);
        let labels = rng.labels(classes, 0.2, 0.1);
        let want = ref_row_loss(&logits, &labels);
        let one_shot = mlcce::row_loss(&logits, &labels).unwrap();
        assert_loss(one_shot, want, "one shot");
        for size in 1..=classes {
            let states = chunk_states(&logits, &labels, size);
            // Sequential updates of one stream.
            let mut seq = Stream::new();
            for (l, y) in logits.chunks(size).zip(labels.chunks(size)) {
                seq.update(l, y).unwrap();
            }
            let forward = fold(states.iter().copied());
            let backward = fold(states.iter().rev().copied());
            // A fixed pseudo-random permutation.
            let mut idx: Vec<usize> = (0..states.len()).collect();
            for i in (1..idx.len()).rev() {
                idx.swap(i, rng.below(i + 1));
            }
            let shuffled = fold(idx.iter().map(|&i| states[i]));
            let treed = tree(&states);
            for (name, s) in
                [("seq", seq), ("fwd", forward), ("bwd", backward), ("shuffled", shuffled), ("tree", treed)]
            {
                assert_loss(s.loss(), want, &format!("{classes} classes, chunks of {size}, {name}"));
            }
        }
    }
}

#[test]
fn merge_is_commutative_and_has_an_identity() {
    let mut rng = Rng::new(12);
    for _ in 0..sized(200, 10) {
        let n = 1 + rng.below(40);
        let logits = rng.logits(n, 30.0);
        let labels = rng.labels(n, 0.3, 0.1);
        let cut = rng.below(n + 1);
        let mut a = Stream::new();
        a.update(&logits[..cut], &labels[..cut]).unwrap();
        let mut b = Stream::new();
        b.update(&logits[cut..], &labels[cut..]).unwrap();
        let mut ab = a;
        ab.merge(&b).unwrap();
        let mut ba = b;
        ba.merge(&a).unwrap();
        assert_eq!(ab.loss(), ba.loss(), "commutative");
        let mut e = a;
        e.merge(&Stream::new()).unwrap();
        assert_eq!(e, a, "empty is the identity");
    }
}

#[test]
fn failed_updates_and_merges_leave_the_state_unchanged() {
    let mut s = Stream::new();
    s.update(&[0.5, -1.0, 2.0], &[0, 1, 0]).unwrap();
    let before = s;
    assert_eq!(s.update(&[0.5, 1.0], &[0]), Err(Error::Shape));
    assert_eq!(s.update(&[0.5, 1.0], &[0, 2]), Err(Error::Label));
    assert_eq!(s.update(&[f32::NAN, 1.0], &[1, 0]), Err(Error::NonFinite));
    assert_eq!(s.update(&[0.0; 40], &[7; 40]), Err(Error::Label));
    let mut bad = Stream::new();
    bad.neg.sum = f32::NAN;
    assert_eq!(s.merge(&bad), Err(Error::Argument));
    bad = Stream::new();
    bad.pos.sum = -1.0;
    assert_eq!(s.merge(&bad), Err(Error::Argument));
    assert_eq!(s, before);
    assert_eq!(bad.update(&[1.0], &[0]), Err(Error::Argument));
}

#[test]
fn empty_stream_has_zero_loss() {
    let mut s = Stream::new();
    assert_eq!(s.loss(), 0.0);
    s.update(&[], &[]).unwrap();
    s.update(&[3.0], &[IGNORE]).unwrap();
    assert_eq!(s.loss(), 0.0);
}
