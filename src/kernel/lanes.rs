//! The lane types of the kernels, chosen when the crate is compiled: one
//! 16-lane register per step where AVX-512 has them, one 8-lane vector
//! elsewhere (AVX2: one register; SSE2 and targets without SIMD: `wide`'s
//! 4-lane or scalar fallbacks). Everything ISA-specific of the kernels lives
//! in this file.

use wide::u8x16;

/// Lane masks of one vector (all-ones lanes where the label matches).
#[derive(Clone, Copy)]
pub(crate) struct Masks {
    pub(crate) neg: V,
    pub(crate) pos: V,
}

#[cfg(target_feature = "avx512f")]
mod imp {
    use wide::{f32x16, i8x16, i16x16, i32x16, u8x16};
    pub(crate) type V = f32x16;
    /// `i32` lanes of the width of [`V`].
    pub(crate) type I = i32x16;
    /// Logits per step: one 16-lane register.
    pub(crate) const STEP: usize = 16;
    /// The label facts are gathered inside the exp loop (its byte
    /// operations are free next to the 512-bit work; a separate pass over
    /// the labels measured 7% slower here).
    pub(crate) const FACTS_IN_LOOP: bool = true;
    pub(crate) use super::super::exp::exp16 as exp;

    /// A step's labels as bytes.
    #[inline(always)]
    pub(crate) fn bytes(l: &[u8; STEP]) -> u8x16 {
        u8x16::new(*l)
    }

    /// `acc += e` where `mask` is set: one masked add.
    #[inline(always)]
    pub(crate) fn add_masked(acc: &mut V, e: V, mask: V) {
        *acc = mask.select(*acc + e, *acc);
    }

    /// The bytes of [`bytes`] that hold labels: all.
    pub(crate) const USED: u8x16 = u8x16::new([0xff; 16]);

    #[inline(always)]
    fn eq(l: i32x16, k: i32) -> V {
        wide::bytemuck::cast(l.simd_eq(i32x16::splat(k)))
    }

    /// The masks of 16 labels (widened to `i32` lanes: 255 sign-extends to
    /// -1, neither 0 nor 1).
    #[inline(always)]
    pub(crate) fn masks(lab: u8x16) -> super::Masks {
        let signed: i8x16 = wide::bytemuck::cast(lab);
        let l = i32x16::from_i16x16(i16x16::from_i8x16(signed));
        super::Masks { neg: eq(l, 0), pos: eq(l, 1) }
    }

    #[inline(always)]
    pub(crate) fn load(x: &[f32; STEP]) -> V {
        f32x16::new(*x)
    }
}

#[cfg(not(target_feature = "avx512f"))]
mod imp {
    use wide::{f32x8, i8x16, i16x8, i16x16, i32x8, u8x16};
    pub(crate) type V = f32x8;
    /// `i32` lanes of the width of [`V`].
    pub(crate) type I = i32x8;
    /// Logits per step: one vector. (Two per step, as on AVX-512, left too
    /// few of AVX2's sixteen registers for the exp's constants: the loop
    /// reloaded them and spilled its sums, 115 instructions per 16 logits.)
    pub(crate) const STEP: usize = 8;
    /// With AVX2 the label facts come from a separate pass over the label
    /// bytes, 32 at a time (the loop's register and its byte operations cost
    /// 8% more instructions, callgrind). On SSE2 the separate pass made the
    /// compiler serialise the exp's two 4-lane halves (2x slower, measured),
    /// so there, and without SIMD, they stay in the loop.
    pub(crate) const FACTS_IN_LOOP: bool = !cfg!(target_feature = "avx2");
    pub(crate) use super::super::exp::exp;

    /// A step's labels as bytes, in the low half (one 8-byte load; the high
    /// half is 0 and left out of the statistics by [`USED`]).
    #[inline(always)]
    pub(crate) fn bytes(l: &[u8; STEP]) -> u8x16 {
        let mut b = [0u8; 16];
        b.iter_mut().zip(l).for_each(|(to, from)| *to = *from);
        u8x16::new(b)
    }

    /// The bytes of [`bytes`] that hold labels.
    pub(crate) const USED: u8x16 = u8x16::new([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);

    /// `acc += e` where `mask` is set: an AND and an add (a blend costs two
    /// micro-ops on Intel's AVX2 cores, and sits on the sum's chain).
    #[inline(always)]
    pub(crate) fn add_masked(acc: &mut V, e: V, mask: V) {
        *acc += e & mask;
    }

    /// The masks of 8 labels: compared as bytes, the byte masks
    /// sign-extended to lanes (fewer instructions than widening the labels
    /// first and comparing lanes).
    #[inline(always)]
    pub(crate) fn masks(lab: u8x16) -> super::Masks {
        let lanes = |k: u8| -> V {
            let m: i8x16 = wide::bytemuck::cast(lab.simd_eq(u8x16::splat(k)));
            let [low, _]: [i16x8; 2] = wide::bytemuck::cast(i16x16::from_i8x16(m));
            wide::bytemuck::cast(i32x8::from_i16x8(low))
        };
        super::Masks { neg: lanes(0), pos: lanes(1) }
    }

    #[inline(always)]
    pub(crate) fn load(x: &[f32; STEP]) -> V {
        f32x8::new(*x)
    }
}

pub(crate) use imp::{FACTS_IN_LOOP, I, STEP, USED, V, add_masked, bytes, exp, load, masks};

/// Where a block's `f32` lane sums go. With SIMD (x86, AArch64): added lane
/// by lane into `f64` lanes (no `f32` rounding beyond a lane's own three),
/// reduced across lanes once per row. Elsewhere (Cortex-M, RISC-V: no `f64`
/// hardware, `wide` is scalar code) that would be eight soft-float additions
/// per block, so the lanes are summed in `f32` (three more roundings) and
/// added into one `f64`.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) mod total {
    use super::{STEP, V};
    /// Half a step's lanes in `f64`.
    #[cfg(target_feature = "avx512f")]
    pub(crate) type Total = wide::f64x8;
    #[cfg(not(target_feature = "avx512f"))]
    pub(crate) type Total = wide::f64x4;
    /// `-0.0`: the first `total + x` is `x` exactly (folds away).
    pub(crate) const ZERO: Total = Total::splat(-0.0);

    /// Adds a vector's low and high halves, widened to `f64`.
    #[inline(always)]
    pub(crate) fn add(total: &mut Total, v: V) {
        let [lo, hi]: [[f32; STEP / 2]; 2] = wide::bytemuck::cast(v.to_array());
        *total += Total::new(lo.map(f64::from)) + Total::new(hi.map(f64::from));
    }

    pub(crate) fn value(total: Total) -> f64 {
        total.reduce_add()
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) mod total {
    use super::V;
    pub(crate) type Total = f64;
    pub(crate) const ZERO: Total = -0.0;

    #[inline(always)]
    pub(crate) fn add(total: &mut Total, v: V) {
        *total += f64::from(v.reduce_add());
    }

    pub(crate) fn value(total: Total) -> f64 {
        total
    }
}

/// `+s` for negatives, `-s` for positives (other lanes: anything).
#[inline(always)]
pub(crate) fn flip(s: V, m: Masks) -> V {
    s ^ (m.pos & V::splat(-0.0))
}

/// The largest lane.
pub(crate) fn lane_max(v: V) -> f32 {
    v.to_array().into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// Pads a tail of fewer than `STEP` logits with zeros.
#[inline(always)]
pub(crate) fn pad(x: &[f32]) -> [f32; STEP] {
    let mut xs = [0.0f32; STEP];
    for (d, s) in xs.iter_mut().zip(x) {
        *d = *s;
    }
    xs
}

/// Every lane of `label + 1` (wrapping) is at most 2: labels 0, 1 or 255.
/// (Vector ops only: `wide`'s byte reductions unwrap an `Option` on targets
/// without SIMD, a panic path at low optimisation levels.)
pub(crate) fn labels_valid(plus_one_max: u8x16) -> bool {
    plus_one_max.max(u8x16::splat(2)).simd_eq(u8x16::splat(2)).all()
}
