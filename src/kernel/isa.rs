//! What the kernels need of an instruction set, as two traits: [`F32s`], a
//! vector of `N` `f32` lanes (arithmetic, compares as all-ones lane masks,
//! the bit tricks of `exp`), and [`Isa`], the vector with the per-ISA pieces
//! around it (label bytes to lane masks, the `f64` lane totals, the label
//! facts gathered in the loop). The kernels are written once, generic over
//! an `Isa`; [`Base`] is `wide`'s (SSE2, NEON, and with AVX-512 enabled at
//! compile time its 16-lane types) or, on targets without SIMD, four scalar
//! lanes (`scalar.rs`); the AVX2 + FMA and AVX-512 ones are in `avx2.rs` and
//! `avx512.rs`, run through the dispatcher (`dispatch.rs`).

use core::ops::{Add, AddAssign, BitAnd, BitOr, BitXor, Div, Mul, Neg, Sub};

use wide::u8x16;

/// `N` `f32` lanes. Compares return lane masks (all ones or all zeros) of
/// the same type; `select`, `all` and `any` take such masks.
pub(crate) trait F32s<const N: usize>:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + BitXor<Output = Self>
    + AddAssign
{
    fn splat(x: f32) -> Self;
    fn load(x: &[f32; N]) -> Self;
    fn to_array(self) -> [f32; N];
    /// `self * m + a`, fused where the ISA has FMA.
    fn mul_add(self, m: Self, a: Self) -> Self;
    /// `a - self * m`, fused where the ISA has FMA.
    fn mul_neg_add(self, m: Self, a: Self) -> Self;
    /// Lanes of `t` where `self` (a mask) is set, of `f` elsewhere.
    fn select(self, t: Self, f: Self) -> Self;
    fn simd_lt(self, o: Self) -> Self;
    fn simd_gt(self, o: Self) -> Self;
    fn simd_ge(self, o: Self) -> Self;
    fn simd_le(self, o: Self) -> Self;
    /// The larger lane (either one if one is NaN).
    fn fast_max(self, o: Self) -> Self;
    /// The smaller lane (either one if one is NaN).
    fn fast_min(self, o: Self) -> Self;
    fn abs(self) -> Self;
    fn reduce_add(self) -> f32;
    /// Every lane of a mask is set.
    fn all(self) -> bool;
    /// Some lane of a mask is set.
    fn any(self) -> bool;
    /// The bits of each lane shifted left by 23, as a float (`exp`'s
    /// `2^n` from the magic-constant round).
    fn shl23(self) -> Self;
    /// `⌊log2 x⌋` of each lane from its exponent bits (`-127` for zero and
    /// subnormals), as a float.
    fn exponent(self) -> Self;

    /// Lanes of `t` where `self`'s sign bit is set (a negative value, or
    /// `-0.0` where the ISA tests the bit itself), of `f` elsewhere.
    #[inline(always)]
    fn sign_select(self, t: Self, f: Self) -> Self {
        self.simd_lt(Self::zero()).select(t, f)
    }

    /// `self` where the mask `m` is clear, 0 where it is set.
    #[inline(always)]
    fn and_not(self, m: Self) -> Self {
        self & (m ^ Self::splat(f32::from_bits(u32::MAX)))
    }

    #[inline(always)]
    fn zero() -> Self {
        Self::splat(0.0)
    }
    #[inline(always)]
    fn one() -> Self {
        Self::splat(1.0)
    }
}

/// Lane masks of one vector (all-ones lanes where the label matches).
#[derive(Clone, Copy)]
pub(crate) struct Masks<V> {
    pub(crate) neg: V,
    pub(crate) pos: V,
}

/// An instruction set's lanes and the per-ISA pieces of the kernels.
pub(crate) trait Isa<const N: usize>: Copy {
    type V: F32s<N>;
    /// A vector's lanes in `f64`, summed lane by lane.
    type Total: Copy;
    /// Label facts are gathered inside the exp loop (else by a separate pass
    /// over the label bytes, `Facts::of`).
    const FACTS_IN_LOOP: bool;
    /// The gradient passes of dense labels store their terms unsigned, and
    /// the scale pass takes each lane's factor by its label
    /// ([`Isa::label_factors`]): one operation less a step in the exp pass
    /// (its sign), one more in the cheaper scale pass. Otherwise (sparse
    /// labels, and the instruction sets that keep the default) terms are
    /// stored signed and scaled by their sign. Set at the AVX2 level only:
    /// with AVX-512 forward and backward measured 1.7% slower at 256x1000,
    /// and MCUs keep their code.
    const LABEL_SCALE: bool = false;
    /// The byte lanes of the evaluation's counting.
    type Bytes: crate::confusion::Lanes;
    fn total_zero() -> Self::Total;
    fn total_add(total: &mut Self::Total, v: Self::V);
    fn total_value(total: Self::Total) -> f64;
    /// [`Isa::total_value`] rounded to `f32`.
    #[inline(always)]
    fn total_value_f32(total: Self::Total) -> f32 {
        Self::total_value(total) as f32
    }
    /// The [`Isa::total_value`]s of two vectors' lanes each added once to
    /// [`Isa::total_zero`] (the same bits), both at once where the
    /// instruction set can (a short row's finish).
    #[inline(always)]
    fn lane_values(neg: Self::V, pos: Self::V) -> (f64, f64) {
        let (mut a, mut b) = (Self::total_zero(), Self::total_zero());
        Self::total_add(&mut a, neg);
        Self::total_add(&mut b, pos);
        (Self::total_value(a), Self::total_value(b))
    }
    /// The lane masks of `N` labels (0: negative, 1: positive).
    fn masks(labels: &[u8; N]) -> Masks<Self::V>;
    /// A step's lane masks and its values signed (`+x` for a negative,
    /// `-x` for a positive, anything for an ignored lane), inside an exp
    /// pass (its constants at hand).
    #[inline(always)]
    /// Also returns the sign bits XOR-ed in (set for a positive).
    fn signed(x: &[f32; N], labels: &[u8; N], _k: &super::exp::Consts<Self::V>) -> (Masks<Self::V>, Self::V, Self::V) {
        let m = Self::masks(labels);
        (m, super::sums::flip(Self::V::load(x), m), m.pos & Self::V::splat(-0.0))
    }
    /// `N` labels as bytes for the facts (`classify!`), the bytes past `N`
    /// ignored (255).
    fn label_bytes(labels: &[u8; N]) -> u8x16;
    /// Per lane, `pos` for a positive label and `neg` for any other (the
    /// factors of [`Isa::LABEL_SCALE`]'s scale pass).
    #[inline(always)]
    fn label_factors(labels: &[u8; N], neg: Self::V, pos: Self::V) -> Self::V {
        Self::masks(labels).pos.select(pos, neg)
    }
    /// The label facts of a step's labels OR-ed into `seen` (the classes of
    /// `classify!`).
    #[inline(always)]
    fn see(seen: &mut u8x16, labels: &[u8; N]) {
        *seen |= classify!(u8x16, Self::label_bytes(labels));
    }
    /// A row's last, partial step: [`Isa::terms`] of `x` (fewer than `N`
    /// logits) padded with zeros, `labels` past them ignored (MCUs).
    #[cfg_attr(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    #[inline(always)]
    fn tail_terms<const SHIFTED: bool>(
        neg: &mut Self::V,
        pos: &mut Self::V,
        seen: &mut u8x16,
        x: &[f32],
        labels: &[u8; N],
        shifts: super::sums::Shifts,
    ) -> [f32; N] {
        let k = &Self::step_consts();
        Self::terms::<SHIFTED>(neg, pos, seen, &super::pad::<N>(x), labels, shifts, k)
    }
    /// [`Isa::tail_terms`] with the terms written to `dst` (as long as `x`).
    #[cfg_attr(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    #[inline(always)]
    fn tail_terms_into<const SHIFTED: bool>(
        neg: &mut Self::V,
        pos: &mut Self::V,
        seen: &mut u8x16,
        x: &[f32],
        labels: &[u8; N],
        shifts: super::sums::Shifts,
        dst: &mut [f32],
    ) {
        super::store_tail(dst, Self::tail_terms::<SHIFTED>(neg, pos, seen, x, labels, shifts));
    }
    /// One step's terms: for each lane `v = ±x` (`+` negative, `-`
    /// positive; minus its group's shift when `SHIFTED`) and `e = exp(v)`,
    /// added into its group's sum; returns the terms signed (`+e`
    /// negative, `-e` positive, `0` ignored). Where `FACTS_IN_LOOP`, the
    /// labels' facts are OR-ed into `seen` too (as [`Isa::see`]).
    #[inline(always)]
    fn terms<const SHIFTED: bool>(
        neg: &mut Self::V,
        pos: &mut Self::V,
        seen: &mut u8x16,
        x: &[f32; N],
        labels: &[u8; N],
        shifts: super::sums::Shifts,
        k: &super::exp::Consts<Self::V>,
    ) -> [f32; N] {
        Self::terms_by::<SHIFTED, false, true>(neg, pos, seen, x, labels, shifts, k)
    }
    /// [`Isa::terms`]; `BINARY` when every label is 0 or 1 (the facts
    /// pass has seen no ignored or invalid label, see [`Facts::binary`](super::labels::Facts::binary)): a lane not
    /// positive is then negative, and the negative mask is not made (one
    /// compare less a step).
    #[inline(always)]
    /// The terms come back signed if `SIGNED`, else unsigned (`e` for a
    /// lane that takes part, `0` ignored: [`Isa::LABEL_SCALE`]).
    fn terms_by<const SHIFTED: bool, const BINARY: bool, const SIGNED: bool>(
        neg: &mut Self::V,
        pos: &mut Self::V,
        seen: &mut u8x16,
        x: &[f32; N],
        labels: &[u8; N],
        shifts: super::sums::Shifts,
        k: &super::exp::Consts<Self::V>,
    ) -> [f32; N] {
        if Self::FACTS_IN_LOOP {
            Self::see(seen, labels);
        }
        let (m, v, signs) = Self::signed(x, labels, k);
        let e = if SHIFTED {
            Self::exp_by::<false>(v - m.pos.select(Self::V::splat(shifts.pos), Self::V::splat(shifts.neg)), k)
        } else {
            // NaN for a NaN or infinite `v` (and for a huge negative one):
            // a non-finite logit that takes part poisons its sum.
            Self::exp_by::<true>(v, k)
        };
        // An AND and an add (a blend costs two micro-ops on Intel's AVX2
        // cores, and sits on the sum's chain).
        let (en, ep) = (if BINARY { e.and_not(m.pos) } else { e & m.neg }, e & m.pos);
        *neg += en;
        *pos += ep;
        // With labels 0 and 1 only, `±e` by the sign bits (an XOR, off the
        // adders, which the exp and the sums keep busy).
        match (SIGNED, BINARY) {
            (true, true) => (e ^ signs).to_array(),
            (true, false) => (en - ep).to_array(),
            (false, true) => e.to_array(),
            (false, false) => (en | ep).to_array(),
        }
    }
    /// [`Isa::exp_by`] clamped (not `POISON`), with the step constants.
    #[inline(always)]
    fn exp_clamped(v: Self::V) -> Self::V {
        Self::exp_by::<false>(v, &Self::step_consts())
    }
    /// `a·b + c` in `f64`, fused where the instruction set has FMA.
    #[inline(always)]
    fn mul_add_f64(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
    /// The exp constants of a pass's blocks.
    #[inline(always)]
    fn consts() -> super::exp::Consts<Self::V> {
        super::exp::Consts::new()
    }
    /// The exp constants of steps outside blocks (short rows, tails).
    #[inline(always)]
    fn step_consts() -> super::exp::Consts<Self::V> {
        super::exp::Consts::new()
    }
    /// `e^x` with these constants ([`exp_with`](super::exp::exp_with), or
    /// the instruction set's own).
    #[inline(always)]
    fn exp_by<const POISON: bool>(x: Self::V, k: &super::exp::Consts<Self::V>) -> Self::V {
        super::exp::exp_with::<_, N, POISON>(x, k)
    }
}

/// `wide`'s lanes: the instruction set the crate was compiled for.
#[derive(Clone, Copy)]
pub(crate) struct Base;

macro_rules! wide_f32s {
    ($F:ident, $I:ident, $N:literal) => {
        impl F32s<$N> for wide::$F {
            #[inline(always)]
            fn splat(x: f32) -> Self {
                wide::$F::splat(x)
            }
            #[inline(always)]
            fn load(x: &[f32; $N]) -> Self {
                wide::$F::new(*x)
            }
            #[inline(always)]
            fn to_array(self) -> [f32; $N] {
                wide::$F::to_array(self)
            }
            #[inline(always)]
            fn mul_add(self, m: Self, a: Self) -> Self {
                wide::$F::mul_add(self, m, a)
            }
            #[inline(always)]
            fn mul_neg_add(self, m: Self, a: Self) -> Self {
                wide::$F::mul_neg_add(self, m, a)
            }
            #[inline(always)]
            fn select(self, t: Self, f: Self) -> Self {
                wide::$F::select(self, t, f)
            }
            #[inline(always)]
            fn simd_lt(self, o: Self) -> Self {
                wide::$F::simd_lt(self, o)
            }
            #[inline(always)]
            fn simd_gt(self, o: Self) -> Self {
                wide::$F::simd_gt(self, o)
            }
            #[inline(always)]
            fn simd_ge(self, o: Self) -> Self {
                wide::$F::simd_ge(self, o)
            }
            #[inline(always)]
            fn simd_le(self, o: Self) -> Self {
                wide::$F::simd_le(self, o)
            }
            #[inline(always)]
            fn fast_max(self, o: Self) -> Self {
                wide::$F::fast_max(self, o)
            }
            #[inline(always)]
            fn fast_min(self, o: Self) -> Self {
                wide::$F::fast_min(self, o)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                wide::$F::abs(self)
            }
            #[inline(always)]
            fn reduce_add(self) -> f32 {
                wide::$F::reduce_add(self)
            }
            #[inline(always)]
            fn all(self) -> bool {
                wide::$F::all(self)
            }
            #[inline(always)]
            fn any(self) -> bool {
                wide::$F::any(self)
            }
            #[inline(always)]
            fn shl23(self) -> Self {
                let bits: wide::$I = wide::bytemuck::cast(self);
                wide::bytemuck::cast(bits << 23u32)
            }
            #[inline(always)]
            fn exponent(self) -> Self {
                let bits: wide::$I = wide::bytemuck::cast(self);
                let e: wide::$I = (bits >> 23) - wide::$I::splat(127);
                e.round_float()
            }
        }
    };
}

wide_f32s!(f32x8, i32x8, 8);
#[cfg(target_feature = "avx512f")]
wide_f32s!(f32x16, i32x16, 16);

/// `wide`'s `f64` lane totals: half a step's lanes in `f64` (x86,
/// AArch64; MCUs have their own lanes, `scalar.rs`).
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
macro_rules! wide_total {
    ($N:literal, $T:ident) => {
        type Total = wide::$T;
        #[inline(always)]
        fn total_zero() -> Self::Total {
            // -0.0: the first `total + x` is `x` exactly (folds away).
            wide::$T::splat(-0.0)
        }
        #[inline(always)]
        fn total_add(total: &mut Self::Total, v: Self::V) {
            let [lo, hi]: [[f32; $N / 2]; 2] = wide::bytemuck::cast(v.to_array());
            *total += wide::$T::new(lo.map(f64::from)) + wide::$T::new(hi.map(f64::from));
        }
        #[inline(always)]
        fn total_value(total: Self::Total) -> f64 {
            total.reduce_add()
        }
    };
}

#[cfg(all(not(target_feature = "avx512f"), any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
impl Isa<8> for Base {
    type V = wide::f32x8;
    type Bytes = crate::confusion::BaseBytes;
    /// With AVX2 the label facts come from a separate pass over the label
    /// bytes, 32 at a time (the loop's register and its byte operations cost
    /// 8% more instructions, callgrind). On SSE2 the separate pass made the
    /// compiler serialise the exp's two 4-lane halves (2x slower, measured),
    /// so there they stay in the loop.
    const FACTS_IN_LOOP: bool = !cfg!(target_feature = "avx2");
    wide_total!(8, f64x4);

    /// Compared as bytes, the byte masks sign-extended to lanes (fewer
    /// instructions than widening the labels first and comparing lanes).
    #[inline(always)]
    fn masks(labels: &[u8; 8]) -> Masks<wide::f32x8> {
        use wide::{i8x16, i16x8, i16x16, i32x8};
        let lab = Self::label_bytes(labels);
        let lanes = |k: u8| -> wide::f32x8 {
            let m: i8x16 = wide::bytemuck::cast(lab.simd_eq(u8x16::splat(k)));
            let [low, _]: [i16x8; 2] = wide::bytemuck::cast(i16x16::from_i8x16(m));
            wide::bytemuck::cast(i32x8::from_i16x8(low))
        };
        Masks { neg: lanes(0), pos: lanes(1) }
    }

    /// The step's labels in the low half (one 8-byte load).
    #[inline(always)]
    fn label_bytes(labels: &[u8; 8]) -> u8x16 {
        let mut b = [crate::IGNORE; 16];
        b.iter_mut().zip(labels).for_each(|(to, from)| *to = *from);
        u8x16::new(b)
    }
}

#[cfg(target_feature = "avx512f")]
impl Isa<16> for Base {
    type V = wide::f32x16;
    type Bytes = crate::confusion::BaseBytes;
    /// In the loop: its byte operations are free next to the 512-bit work (a
    /// separate pass over the labels measured 7% slower here).
    const FACTS_IN_LOOP: bool = true;
    wide_total!(16, f64x8);

    /// Widened to `i32` lanes (255 sign-extends to -1: neither 0 nor 1).
    #[inline(always)]
    fn masks(labels: &[u8; 16]) -> Masks<wide::f32x16> {
        use wide::{i8x16, i16x16, i32x16};
        let signed: i8x16 = wide::bytemuck::cast(u8x16::new(*labels));
        let l = i32x16::from_i16x16(i16x16::from_i8x16(signed));
        let eq = |k: i32| -> wide::f32x16 { wide::bytemuck::cast(l.simd_eq(i32x16::splat(k))) };
        Masks { neg: eq(0), pos: eq(1) }
    }

    #[inline(always)]
    fn label_bytes(labels: &[u8; 16]) -> u8x16 {
        u8x16::new(*labels)
    }
}
