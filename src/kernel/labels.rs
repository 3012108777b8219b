//! Where a row's labels come from, a step at a time, and what they hold.

use wide::u8x16;

use crate::confusion::Lanes;

const IGNORE: u8 = crate::IGNORE;

/// Where a row's labels come from, a step at a time: a dense label slice,
/// or the sorted positive indices of a sparse row (every other cell is a
/// negative). Cloned to walk a row a second time.
pub(crate) trait Labels: Clone {
    /// The labels of the next `N` cells.
    fn step<const N: usize>(&mut self) -> [u8; N];
    /// The labels of the last `n < N` cells, padded with ignored lanes.
    fn tail<const N: usize>(&mut self, n: usize) -> [u8; N];
    /// What the `n` cells not yet walked hold (used where the exp loop does
    /// not gather it, see `FACTS_IN_LOOP`).
    fn facts<B: Lanes>(&self, n: usize) -> Facts;
    /// Whether [`Labels::dense`] is `Some`.
    const DENSE: bool = false;
    /// All the labels when they are a slice (dense rows, on a fresh walk):
    /// the kernels then read them beside the logits, by index.
    #[inline(always)]
    fn dense(&self) -> Option<&[u8]> {
        None
    }
    /// The labels of the first `n` cells and those of the rest, where the
    /// labels are a slice longer than `n` (dense rows, on a fresh walk).
    #[inline(always)]
    fn split_at(&self, _n: usize) -> Option<(Self, Self)> {
        None
    }
}

/// Label bytes to OR-able class bits: `t = label + 1` (wrapping) is 0
/// ignored, 1 negative, 2 positive, 3 or more invalid; `min(t, 3) + sat(t -
/// 2)` (saturating) keeps 0, 1 and 2 and sends every invalid label to 4 or
/// more.
macro_rules! classify {
    ($T:ident, $lab:expr) => {{
        let t = $lab + $T::splat(1);
        t.min($T::splat(3)).saturating_add(t.saturating_sub($T::splat(2)))
    }};
}

/// Whether some byte of the OR of `classify!`ed labels has one of `bits`.
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), allow(unused_macros))]
macro_rules! any_bits {
    ($T:ident, $seen:expr, $bits:expr) => {
        !($seen & $T::splat($bits)).simd_eq($T::ZERO).all()
    };
}

/// What a row's (or segment's) labels hold.
#[derive(Clone, Copy)]
pub(crate) struct Facts {
    pub(crate) has_neg: bool,
    pub(crate) has_pos: bool,
    /// Every label is 0, 1 or [`IGNORE`].
    pub(crate) valid: bool,
    /// Every label is 0 or 1, as far as known (false where the facts were
    /// gathered in the exp loop): the exp loop may then take a lane's
    /// group from one mask ([`Isa::terms_by`](super::Isa::terms_by)'s `BINARY`).
    pub(crate) binary: bool,
}

impl Facts {
    pub(crate) const NONE: Facts = Facts { has_neg: false, has_pos: false, valid: true, binary: true };

    pub(crate) fn and(self, other: Facts) -> Facts {
        Facts {
            has_neg: self.has_neg || other.has_neg,
            has_pos: self.has_pos || other.has_pos,
            valid: self.valid && other.valid,
            binary: self.binary && other.binary,
        }
    }

    /// The facts of a label slice, 32 bytes per vector step of `B` (the
    /// instruction set's byte lanes): with `t = label + 1` (wrapping: 0
    /// ignored, 1 negative, 2 positive, 3 or more invalid) the lane-wise
    /// largest `t`, smallest `t` and smallest label, four byte operations
    /// per 32 labels. A partial last chunk is covered by the slice's last 32
    /// bytes (seen twice: harmless for a min or max); only a slice shorter
    /// than 32 is padded, with its first label.
    #[inline(always)]
    pub(crate) fn of<B: Lanes>(labels: &[u8]) -> Facts {
        let Some(&first) = labels.first() else {
            return Facts::NONE;
        };
        let one = B::splat(1);
        let (mut least, mut t_least, mut t_most) = (B::splat(u8::MAX), B::splat(u8::MAX), B::splat(0));
        let mut add = |c: &[u8; 32]| {
            let b = B::load(c);
            let t = b.add(one);
            least = least.min(b);
            t_least = t_least.min(t);
            t_most = t_most.max(t);
        };
        let (chunks, rest) = labels.as_chunks::<32>();
        chunks.iter().for_each(&mut add);
        if !rest.is_empty() {
            match labels.last_chunk::<32>() {
                Some(last) => add(last),
                None => {
                    let mut pad = [first; 32];
                    pad.iter_mut().zip(rest).for_each(|(to, from)| *to = *from);
                    add(&pad);
                }
            }
        }
        let any = |v: B, b: u8| v.eq(B::splat(b)).bitmask() != 0;
        // Every `t <= 2`: `max(t, 2)` is 2 in every lane.
        let valid = t_most.max(B::splat(2)).eq(B::splat(2)).bitmask() == u32::MAX;
        Facts { has_neg: any(least, 0), has_pos: any(t_most, 2), valid, binary: valid && !any(t_least, 0) }
    }

    /// [`Facts::of`] of a short slice (at most 32 labels, a short row's;
    /// of a longer one only the first and last 16 are seen): its first and
    /// last 16 labels (overlapping) or, shorter than 16, padded with its
    /// first label, in one vector; three compares, no loop. (In
    /// [`Facts::of`], its branch made other passes' frames larger.)
    #[inline(always)]
    pub(crate) fn of_short<B: Lanes>(labels: &[u8]) -> Facts {
        let Some(&first) = labels.first() else {
            return Facts::NONE;
        };
        let b = match (labels.first_chunk::<16>(), labels.last_chunk::<16>()) {
            (Some(lo), Some(hi)) => B::load_halves(lo, hi),
            _ => {
                let c = cover_16(labels, first);
                B::load_halves(&c, &c)
            }
        };
        Facts::of_32::<B>(b)
    }

    /// The facts of 32 label bytes (those of a short slice, some repeated).
    #[inline(always)]
    fn of_32<B: Lanes>(b: B) -> Facts {
        let (neg, pos, ign) =
            (b.eq(B::splat(0)).bitmask(), b.eq(B::splat(1)).bitmask(), b.eq(B::splat(IGNORE)).bitmask());
        Facts {
            has_neg: neg != 0,
            has_pos: pos != 0,
            valid: neg | pos | ign == u32::MAX,
            binary: neg | pos == u32::MAX,
        }
    }

    /// The facts of the OR of classified label bytes (`classify!`).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    pub(crate) fn of_seen(seen: u8x16) -> Facts {
        Facts {
            has_neg: any_bits!(u8x16, seen, 1),
            has_pos: any_bits!(u8x16, seen, 2),
            valid: !any_bits!(u8x16, seen, !3),
            binary: false,
        }
    }

    /// The facts of the OR of classified label bytes (`classify!`), the
    /// bytes OR-ed together in one integer (on MCUs `u8x16` is an array,
    /// whose byte operations took 96 B of stack at opt-level "z").
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    pub(crate) fn of_seen(seen: u8x16) -> Facts {
        let mut w = u128::from_le_bytes(seen.to_array());
        w |= w >> 64;
        w |= w >> 32;
        w |= w >> 16;
        w |= w >> 8;
        let b = w as u8;
        Facts { has_neg: b & 1 != 0, has_pos: b & 2 != 0, valid: b & !3 == 0, binary: false }
    }
}

/// 16 bytes that hold every byte of `y` (1 to 15 bytes, `first` its
/// first) and no other: two overlapping words, as a short `memcpy` reads
/// them (a copy into a padded array was a call to `memcpy`, which made the
/// short path save its vector registers and realign its stack).
#[inline(always)]
fn cover_16(y: &[u8], first: u8) -> [u8; 16] {
    let [a, b] = if let (Some(a), Some(b)) = (y.first_chunk::<8>(), y.last_chunk::<8>()) {
        [u64::from_le_bytes(*a), u64::from_le_bytes(*b)]
    } else if let (Some(a), Some(b)) = (y.first_chunk::<4>(), y.last_chunk::<4>()) {
        let (a, b) = (u64::from(u32::from_le_bytes(*a)), u64::from(u32::from_le_bytes(*b)));
        [a | a << 32, b | b << 32]
    } else {
        // 1 to 3 bytes: the first, the middle and the last cover them.
        let (m, l) = (y.get(y.len() / 2).copied().unwrap_or(first), y.last().copied().unwrap_or(first));
        let v = u64::from_le_bytes([first, m, l, first, first, first, first, first]);
        [v, v]
    };
    (u128::from(a) | u128::from(b) << 64).to_le_bytes()
}

/// Dense labels: a slice as long as the row.
#[derive(Clone)]
pub(crate) struct Dense<'a> {
    all: &'a [u8],
    at: usize,
}

impl<'a> Dense<'a> {
    pub(crate) fn new(labels: &'a [u8]) -> Self {
        Dense { all: labels, at: 0 }
    }
}

impl Labels for Dense<'_> {
    const DENSE: bool = true;

    #[inline(always)]
    fn step<const N: usize>(&mut self) -> [u8; N] {
        let l = self.all.get(self.at..).and_then(|r| r.first_chunk::<N>()).copied().unwrap_or([IGNORE; N]);
        self.at += N;
        l
    }

    #[inline(always)]
    fn tail<const N: usize>(&mut self, n: usize) -> [u8; N] {
        let mut ls = [IGNORE; N];
        for (d, s) in ls.iter_mut().zip(self.all.get(self.at..).unwrap_or(&[])) {
            *d = *s;
        }
        self.at += n;
        ls
    }

    /// Always `Some` (the kernels' other loop is then never built for
    /// dense rows).
    #[inline(always)]
    fn dense(&self) -> Option<&[u8]> {
        Some(self.all.get(self.at..).unwrap_or(&[]))
    }

    /// (Called on a fresh walk: the whole slice.)
    #[inline(always)]
    fn facts<B: Lanes>(&self, _n: usize) -> Facts {
        Facts::of::<B>(self.all)
    }

    #[inline(always)]
    fn split_at(&self, n: usize) -> Option<(Self, Self)> {
        let (a, b) = self.all.get(self.at..)?.split_at_checked(n)?;
        (!b.is_empty()).then_some((Dense::new(a), Dense::new(b)))
    }
}

/// Sparse labels: strictly increasing positive indices (validated by the
/// caller); cell `k` of the row has index `origin + k`.
#[derive(Clone)]
pub(crate) struct Sparse<'a> {
    positives: &'a [u32],
    origin: usize,
    next: usize,
}

impl<'a> Sparse<'a> {
    pub(crate) fn new(positives: &'a [u32], origin: usize) -> Self {
        Sparse { positives, origin, next: 0 }
    }

    #[inline(always)]
    fn fill<const N: usize>(&mut self, n: usize) -> [u8; N] {
        let mut ls = [IGNORE; N];
        for l in ls.iter_mut().take(n) {
            *l = 0;
        }
        let end = self.next + n;
        while let [p, rest @ ..] = self.positives {
            let k = (*p as usize).wrapping_sub(self.origin);
            if k >= end {
                break;
            }
            if let Some(l) = ls.get_mut(k.wrapping_sub(self.next)) {
                *l = 1;
            }
            self.positives = rest;
        }
        self.next = end;
        ls
    }
}

impl Labels for Sparse<'_> {
    #[inline(always)]
    fn step<const N: usize>(&mut self) -> [u8; N] {
        self.fill::<N>(N)
    }

    #[inline(always)]
    fn tail<const N: usize>(&mut self, n: usize) -> [u8; N] {
        self.fill::<N>(n)
    }

    /// Validated indices: a positive for each index in the `n` cells, a
    /// negative for every other cell.
    fn facts<B: Lanes>(&self, n: usize) -> Facts {
        let end = self.origin + self.next + n;
        let pos = self.positives.iter().take_while(|&&p| (p as usize) < end).count();
        Facts { has_neg: n > pos, has_pos: pos > 0, valid: true, binary: true }
    }
}

#[cfg(test)]
mod tests {
    use super::{Facts, IGNORE, cover_16};

    /// Every byte of a 1- to 15-byte slice is in its cover, and the cover
    /// holds no other byte.
    #[test]
    fn cover_16_holds_the_bytes_of_the_slice_and_no_other() {
        for n in 1..16u8 {
            let y: Vec<u8> = (1..=n).collect();
            let c = cover_16(&y, y[0]);
            for b in &y {
                assert!(c.contains(b), "{n} bytes: {b} missing from {c:?}");
            }
            for b in c {
                assert!(y.contains(&b), "{n} bytes: {b} not in the slice");
            }
        }
    }

    /// [`Facts::of`] (`.0` false) or [`Facts::of_short`] (true, slices of
    /// up to 32 labels) through each level's byte lanes, on given label
    /// slices (`None`: not taken).
    struct Of<'a>(bool, &'a [&'a [u8]]);

    impl crate::kernel::Job for Of<'_> {
        type Out = [Option<[bool; 4]>; 64];
        #[inline(always)]
        fn run<S: crate::kernel::Isa<N>, const N: usize>(self) -> Self::Out {
            let mut out = [None; 64];
            for (o, l) in out.iter_mut().zip(self.1) {
                let f = match self.0 {
                    false => Facts::of::<S::Bytes>(l),
                    true if l.len() <= 32 => Facts::of_short::<S::Bytes>(l),
                    true => continue,
                };
                *o = Some([f.has_neg, f.has_pos, f.valid, f.binary]);
            }
            out
        }
    }

    /// The facts of random label slices (0 to 99 labels of 0, 1, `IGNORE`
    /// and now and then another byte; half of them 32 or fewer) at every
    /// dispatch level against their definition, label by label, by
    /// [`Facts::of`] and, up to 32 labels, by [`Facts::of_short`].
    #[test]
    fn facts_of_label_slices_match_their_definition_at_every_level() {
        use crate::kernel::{Level, force_level, run};
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut rows = [[0u8; 99]; 64];
        let mut lens = [0usize; 64];
        for (i, (row, len)) in rows.iter_mut().zip(&mut lens).enumerate() {
            *len = (next() % if i % 2 == 0 { 100 } else { 33 }) as usize;
            // Some rows without ignored labels, some with a bad one.
            let (ignored, bad) = (i % 3 != 0, i % 5 == 0);
            for l in row.iter_mut() {
                *l = match next() % 50 {
                    0 if bad => 2 + (next() % 253) as u8,
                    1..=9 if ignored => IGNORE,
                    10..=19 => 1,
                    _ => 0,
                };
            }
        }
        let slices: [&[u8]; 64] = core::array::from_fn(|i| &rows[i][..lens[i]]);
        let want: [[bool; 4]; 64] = core::array::from_fn(|i| {
            let l = slices[i];
            let valid = l.iter().all(|&b| b <= 1 || b == IGNORE);
            [l.contains(&0), l.contains(&1), valid, valid && !l.contains(&IGNORE)]
        });
        assert!(want.iter().any(|w| w[3]) && want.iter().any(|w| w[2] && !w[3]) && want.iter().any(|w| !w[2]));
        for level in [Level::Base, Level::Avx2, Level::Avx512] {
            if !force_level(level) {
                eprintln!("facts: {level:?} not run (this CPU or build cannot)");
                continue;
            }
            for short in [false, true] {
                let got = run(Of(short, &slices));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let Some(g) = *g else {
                        assert!(short && slices[i].len() > 32, "{level:?}: labels {:?} not taken", slices[i]);
                        continue;
                    };
                    // The group facts matter only for valid labels.
                    let g = if w[2] { g } else { [w[0], w[1], g[2], g[3]] };
                    assert_eq!(g, *w, "{level:?}, short {short}: labels {:?}", slices[i]);
                }
            }
        }
    }
}
