//! The kernels' lanes on targets without SIMD (Cortex-M, RISC-V MCUs): four
//! `f32` values, each operation written out per lane and
//! `#[inline(always)]`, so that at every opt-level they stay in FPU
//! registers. They are the kernels' four independent accumulators: the same
//! blocks and flushes as the SIMD lanes, with no 8-lane arrays (`wide`'s
//! scalar `f32x8`, whose operations opt-level "z" no longer inlines: 6x the
//! instructions, 7x the stack, measured on QEMU), and with what a scalar FPU
//! does cheaply where the SIMD lanes use masks: per-lane compares on the
//! label, label facts in one 32-bit word, the block total as an `f32` pair
//! (no soft-float `f64` in the loop), and on Arm an integer-saturated exp.

use core::ops::{Add, AddAssign, BitAnd, BitOr, BitXor, Div, Mul, Neg, Sub};

use wide::u8x16;

use super::exp::{Consts, exp_one, exp_one_neg, exp_saturated};
use super::isa::{Base, F32s, Isa, Masks};
use super::sums::Shifts;
use super::tally::{NoTally, Tally};

/// Four `f32` lanes.
#[derive(Clone, Copy)]
pub(crate) struct L4([f32; 4]);

/// `L4([f(0), f(1), f(2), f(3)])` written out (loops and
/// `array::from_fn` are not unrolled at opt-levels s and z).
macro_rules! per_lane {
    (|$i:ident| $e:expr) => {
        L4([
            {
                let $i = 0;
                $e
            },
            {
                let $i = 1;
                $e
            },
            {
                let $i = 2;
                $e
            },
            {
                let $i = 3;
                $e
            },
        ])
    };
}

/// `f(a[i], b[i])` for each lane, written out (no closure: opt-level z
/// calls a closure used four times rather than inline it).
macro_rules! lanes2 {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
        let (a, b) = ($a.0, $b.0);
        per_lane!(|i| {
            let ($x, $y): (f32, f32) = (a[i], b[i]);
            $e
        })
    }};
}

/// `f(a[i])` for each lane, written out.
macro_rules! lanes1 {
    ($a:expr, |$x:ident| $e:expr) => {{
        let a = $a.0;
        per_lane!(|i| {
            let $x: f32 = a[i];
            $e
        })
    }};
}

macro_rules! op {
    ($Trait:ident, $f:ident, |$x:ident, $y:ident| $e:expr) => {
        impl $Trait for L4 {
            type Output = L4;
            #[inline(always)]
            fn $f(self, o: L4) -> L4 {
                lanes2!(self, o, |$x, $y| $e)
            }
        }
    };
}

op!(Add, add, |x, y| x + y);
op!(Sub, sub, |x, y| x - y);
op!(Mul, mul, |x, y| x * y);
op!(Div, div, |x, y| x / y);
op!(BitAnd, bitand, |x, y| f32::from_bits(x.to_bits() & y.to_bits()));
op!(BitOr, bitor, |x, y| f32::from_bits(x.to_bits() | y.to_bits()));
op!(BitXor, bitxor, |x, y| f32::from_bits(x.to_bits() ^ y.to_bits()));

impl AddAssign for L4 {
    #[inline(always)]
    fn add_assign(&mut self, o: L4) {
        *self = *self + o;
    }
}

impl Neg for L4 {
    type Output = L4;
    #[inline(always)]
    fn neg(self) -> L4 {
        lanes1!(self, |x| -x)
    }
}

/// A sum as the unevaluated `hi + lo` of two `f32` (`|lo| <= ulp(hi)/2`):
/// about 48 bits, for the block sums' total. Each block adds at most
/// `2^-48` of the total in error (the rounding of `lo`), so even a
/// 131072-class row's total is within `2^-35` of the blocks' exact sum.
#[derive(Clone, Copy)]
pub(crate) struct Pair {
    hi: f32,
    lo: f32,
}

/// All ones where `c` holds, else 0.
#[inline(always)]
fn mask(c: bool) -> f32 {
    f32::from_bits(if c { u32::MAX } else { 0 })
}

impl F32s<4> for L4 {
    /// Written out: `[x; 4]` is a store loop and a reload at opt-level
    /// "z" (the soft-target kernel 196 instead of 116 instructions per
    /// logit on Cortex-M4F).
    #[inline(always)]
    fn splat(x: f32) -> L4 {
        L4([x, x, x, x])
    }
    #[inline(always)]
    fn load(x: &[f32; 4]) -> L4 {
        L4(*x)
    }
    #[inline(always)]
    fn to_array(self) -> [f32; 4] {
        self.0
    }
    /// `self * m + a` in two roundings (no fused multiply-add in `core`),
    /// as on the SSE2 lanes, whose `exp` the accuracy test measures (1.13
    /// ulp); here the results are checked on the emulated boards.
    #[inline(always)]
    fn mul_add(self, m: L4, a: L4) -> L4 {
        self * m + a
    }
    #[inline(always)]
    fn mul_neg_add(self, m: L4, a: L4) -> L4 {
        a - self * m
    }
    #[inline(always)]
    fn select(self, t: L4, f: L4) -> L4 {
        let (m, t, f) = (self.0, t.0, f.0);
        let pick = |i: usize| if m[i].to_bits() != 0 { t[i] } else { f[i] };
        L4([pick(0), pick(1), pick(2), pick(3)])
    }
    /// By the sign bit in an integer register (no float compare and
    /// status move per lane).
    #[inline(always)]
    fn sign_select(self, t: L4, f: L4) -> L4 {
        per_lane!(|i| if (self.0[i].to_bits() as i32) < 0 { t.0[i] } else { f.0[i] })
    }
    #[inline(always)]
    fn simd_lt(self, o: L4) -> L4 {
        lanes2!(self, o, |x, y| mask(x < y))
    }
    #[inline(always)]
    fn simd_gt(self, o: L4) -> L4 {
        lanes2!(self, o, |x, y| mask(x > y))
    }
    #[inline(always)]
    fn simd_ge(self, o: L4) -> L4 {
        lanes2!(self, o, |x, y| mask(x >= y))
    }
    #[inline(always)]
    fn simd_le(self, o: L4) -> L4 {
        lanes2!(self, o, |x, y| mask(x <= y))
    }
    /// As x86's `max`: the second operand unless the first is larger (a
    /// NaN second operand stays).
    #[inline(always)]
    fn fast_max(self, o: L4) -> L4 {
        lanes2!(self, o, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    fn fast_min(self, o: L4) -> L4 {
        lanes2!(self, o, |x, y| if x < y { x } else { y })
    }
    #[inline(always)]
    fn abs(self) -> L4 {
        lanes1!(self, |x| f32::from_bits(x.to_bits() & 0x7FFF_FFFF))
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        let a = self.0;
        (a[0] + a[2]) + (a[1] + a[3])
    }
    #[inline(always)]
    fn all(self) -> bool {
        let a = self.0.map(f32::to_bits);
        (a[0] & a[1] & a[2] & a[3]) >> 31 != 0
    }
    #[inline(always)]
    fn any(self) -> bool {
        let a = self.0.map(f32::to_bits);
        (a[0] | a[1] | a[2] | a[3]) >> 31 != 0
    }
    #[inline(always)]
    fn shl23(self) -> L4 {
        lanes1!(self, |x| f32::from_bits(x.to_bits() << 23))
    }
    #[inline(always)]
    fn exponent(self) -> L4 {
        lanes1!(self, |x| (((x.to_bits() as i32) >> 23) - 127) as f32)
    }
}

/// The lanes of MCUs: four values a step.
impl Isa<4> for Base {
    type V = L4;
    type Bytes = crate::confusion::BaseBytes;
    /// In the loop, in scalar code (`see`).
    const FACTS_IN_LOOP: bool = true;
    type Total = Pair;

    #[inline(always)]
    fn total_zero() -> Pair {
        Pair { hi: 0.0, lo: 0.0 }
    }
    /// The four lanes added pairwise in `f32` (two more roundings per
    /// term, where the SIMD lanes widen each lane to `f64` exactly), then
    /// into the pair exactly (TwoSum) and renormalised (Fast2Sum): ten FPU
    /// operations a block where an `f64` addition is a soft-float call on
    /// these targets.
    #[inline(always)]
    fn total_add(total: &mut Pair, v: L4) {
        let x = v.reduce_add();
        let Pair { hi, lo } = *total;
        let s = hi + x;
        let b = s - hi;
        let lo = lo + ((hi - (s - b)) + (x - b));
        let hi = s + lo;
        *total = Pair { hi, lo: lo - (hi - s) };
    }
    #[inline(always)]
    fn total_value(total: Pair) -> f64 {
        f64::from(total.hi) + f64::from(total.lo)
    }
    /// `hi + lo` in `f32`, no soft-float `f64`: the same value, since the
    /// pair is normalised (`|lo| <= ulp(hi) / 2`), so that its `f64` sum
    /// can land on a halfway point between two `f32`s only when the exact
    /// sum is one (`lo`'s own ulp is above `f64`'s at `hi`).
    #[inline(always)]
    fn total_value_f32(total: Pair) -> f32 {
        total.hi + total.lo
    }
    /// The scalar exp per lane (soft targets).
    #[inline(always)]
    fn exp_clamped(v: L4) -> L4 {
        lanes1!(v, |x| exp_one::<true, false>(x))
    }
    /// The fast path's cells one by one, into the first lane (a step's
    /// eight exps cost 1.6 KB of Cortex-M4F flash in the dense loss and
    /// gradient at opt-level 3 as a tail step in each pass; the first lane
    /// still takes at most 8 terms between flushes).
    #[inline(always)]
    fn tail_terms<const SHIFTED: bool>(
        neg: &mut L4,
        pos: &mut L4,
        seen: &mut u8x16,
        x: &[f32],
        labels: &[u8; 4],
        shifts: Shifts,
    ) -> [f32; 4] {
        if SHIFTED {
            return Self::terms::<SHIFTED>(neg, pos, seen, &super::pad::<4>(x), labels, shifts, &Consts::new());
        }
        let mut out = [0.0; 4];
        Self::tail_terms_into::<false>(neg, pos, seen, x, labels, shifts, &mut out);
        out
    }
    /// The fast path's cells as [`Isa::tail_terms`], each term written to
    /// its cell as it comes (through the array, the gradient's fast pass
    /// took 56 B more stack on Cortex-M4F at opt-level s, 48 B at z).
    #[inline(always)]
    fn tail_terms_into<const SHIFTED: bool>(
        neg: &mut L4,
        pos: &mut L4,
        seen: &mut u8x16,
        x: &[f32],
        labels: &[u8; 4],
        shifts: Shifts,
        dst: &mut [f32],
    ) {
        if SHIFTED {
            super::store_tail(dst, Self::tail_terms::<SHIFTED>(neg, pos, seen, x, labels, shifts));
            return;
        }
        let mut class = 0u8;
        for ((d, &x), &y) in dst.iter_mut().zip(x).zip(labels) {
            *d = fast_term(&mut neg.0[0], &mut pos.0[0], &mut class, x, y, 0, &mut NoTally);
        }
        seen.as_mut_array()[0] |= class;
    }
    /// Per lane, by the label in scalar code: the group's sum (and on the
    /// fast path the exp of `x` or of `-x`) picked by a branch on the
    /// label instead of lane masks, which these FPUs would build and apply
    /// in integer registers. The fast path's `exp` on Arm saturates the
    /// exponent in integer arithmetic instead of clamping the input in
    /// float compares ([`exp_saturated`](super::exp::exp_saturated); FPv4
    /// has no float min/max).
    #[inline(always)]
    fn terms<const SHIFTED: bool>(
        neg: &mut L4,
        pos: &mut L4,
        seen: &mut u8x16,
        x: &[f32; 4],
        labels: &[u8; 4],
        shifts: Shifts,
        _: &Consts<L4>,
    ) -> [f32; 4] {
        if !SHIFTED {
            return Base::terms_tallied(neg, pos, seen, x, labels, &mut NoTally);
        }
        let mut class = 0u8;
        // The sign from the label, on Arm from its low bit in an integer
        // register (an ignored lane's value is never added); RISC-V negates
        // in its FPU.
        let v = if cfg!(target_arch = "arm") {
            per_lane!(|i| f32::from_bits(x[i].to_bits() ^ (u32::from(labels[i] & 1) << 31)))
        } else {
            per_lane!(|i| if labels[i] == 1 { -x[i] } else { x[i] })
        };
        // The scalar exp, not the lanes' (whose constants, a struct of
        // lanes, opt-levels s and z keep on the stack: 352 B).
        let shifted = v - per_lane!(|i| if labels[i] == 1 { shifts.pos } else { shifts.neg });
        let e = if cfg!(target_arch = "arm") {
            // Inputs `<= 0` (and finite: the maxima pass checked): clamped
            // below only, by a compare (`f32::max` is a call to `fmaxf` on
            // FPv4), the exponent saturated.
            lanes1!(shifted, |x| exp_saturated(if x < super::exp::LO { super::exp::LO } else { x }))
        } else {
            lanes1!(shifted, |x| exp_one::<true, false>(x))
        };
        let e = per_lane!(|i| match labels[i] {
            0 => {
                neg.0[i] += e.0[i];
                class |= 1;
                e.0[i]
            }
            1 => {
                pos.0[i] += e.0[i];
                class |= 2;
                -e.0[i]
            }
            crate::IGNORE => 0.0,
            _ => {
                class |= 4;
                0.0
            }
        });
        seen.as_mut_array()[0] |= class;
        e.0
    }
    #[inline(always)]
    fn masks(labels: &[u8; 4]) -> Masks<L4> {
        let lanes =
            |k: u8| L4([mask(labels[0] == k), mask(labels[1] == k), mask(labels[2] == k), mask(labels[3] == k)]);
        Masks { neg: lanes(0), pos: lanes(1) }
    }
    /// The four labels' classes (as `classify!`: 1 negative, 2 positive, 0
    /// ignored, 4 or more invalid) OR-ed into the first four bytes, in one
    /// 32-bit word: each byte plus one (0 -> 1, 1 -> 2, 255 -> 0, without
    /// carries between bytes), and bit 2 added where that gave 3 (label 2).
    /// Eight integer operations per four labels, no compares.
    #[inline(always)]
    fn see(seen: &mut u8x16, labels: &[u8; 4]) {
        let w = u32::from_le_bytes(*labels);
        let a = ((w & 0x7F7F_7F7F) + 0x0101_0101) ^ (w & 0x8080_8080);
        let class = a | ((a & (a >> 1) & 0x0101_0101) << 2);
        if let Some(b) = seen.as_mut_array().first_chunk_mut::<4>() {
            *b = (u32::from_le_bytes(*b) | class).to_le_bytes();
        }
    }
    #[inline(always)]
    fn label_bytes(labels: &[u8; 4]) -> u8x16 {
        let mut b = [crate::IGNORE; 16];
        b[..4].copy_from_slice(labels);
        u8x16::new(b)
    }
}

/// One cell of the fast path: its exp (of `x` or of `-x`, in its label's
/// branch) added to its group's sum and its class OR-ed into `class`
/// (`classify!`: 1 negative, 2 positive, 4 invalid) and told to `tally`
/// as lane `lane`. Returns the signed term. (No closure: opt-level z
/// calls a closure rather than inline it.)
#[inline(always)]
fn fast_term(
    neg: &mut f32,
    pos: &mut f32,
    class: &mut u8,
    x: f32,
    label: u8,
    lane: usize,
    tally: &mut impl Tally,
) -> f32 {
    match label {
        0 => {
            let e = fast_exp::<false>(x);
            *neg += e;
            *class |= 1;
            tally.negative(lane, x);
            e
        }
        1 => {
            let e = fast_exp::<true>(x);
            *pos += e;
            *class |= 2;
            tally.positive(lane, x);
            -e
        }
        crate::IGNORE => 0.0,
        _ => {
            *class |= 4;
            0.0
        }
    }
}

/// The fast path's exp of `x`, or of `-x` if `NEG`: on Arm with the
/// exponent saturated ([`exp_saturated`]), on RISC-V clamped by its float
/// min and max (two instructions; its integer clamp measured slower at
/// opt-level z).
#[inline(always)]
fn fast_exp<const NEG: bool>(x: f32) -> f32 {
    match (NEG, cfg!(target_arch = "arm")) {
        (false, true) => exp_saturated(x),
        (true, true) => exp_one_neg::<false, true>(x),
        (false, false) => exp_one::<true, true>(x),
        (true, false) => exp_one_neg::<true, true>(x),
    }
}

impl Base {
    /// [`Isa::terms`] of the fast path, telling `tally` each negative and
    /// positive cell from the same label test (the evaluation's counts,
    /// taken in the loss pass: `kernel::tally`).
    #[inline(always)]
    pub(crate) fn terms_tallied(
        neg: &mut L4,
        pos: &mut L4,
        seen: &mut u8x16,
        x: &[f32; 4],
        labels: &[u8; 4],
        tally: &mut impl Tally,
    ) -> [f32; 4] {
        let mut class = 0u8;
        // Each lane's exp in its label's branch, of `x` or of `-x` (the
        // sign folded into the exp's constants), and none for an
        // ignored or invalid lane. The label facts too, from the same
        // compares (the classes of `classify!`: 1 negative, 2 positive,
        // 4 invalid), instead of the four labels classified in an
        // integer word (`see`, which the maxima pass keeps).
        let e = per_lane!(|i| fast_term(&mut neg.0[i], &mut pos.0[i], &mut class, x[i], labels[i], i, tally));
        seen.as_mut_array()[0] |= class;
        e.0
    }
}
