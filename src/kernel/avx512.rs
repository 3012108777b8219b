//! The kernels' lanes with AVX-512 (16 `f32` lanes), written with
//! `core::arch` intrinsics for the dispatcher (see `avx2.rs`). The level
//! needs AVX-512 F, DQ, BW and VL (every AVX-512 CPU since Skylake-SP and
//! Zen 4): label bytes are compared straight into mask registers (BW + VL;
//! with F alone, widening the bytes first cost 8% at 256x1000 and 15%
//! with the gradient), and masks and lanes convert in one instruction (DQ).
//! Float logic goes through the integer forms; compares become all-ones
//! lanes.

use core::arch::x86_64::*;
use core::ops::{Add, AddAssign, BitAnd, BitOr, BitXor, Div, Mul, Neg, Sub};

use wide::u8x16;

use super::isa::{F32s, Isa, Masks};

/// Sixteen `f32` lanes in one ZMM register.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct Z(__m512);

/// The AVX-512 instruction set (a token: only the dispatcher names it,
/// once CPUID has shown AVX-512 F, DQ, BW and VL, AVX2 and FMA and the OS
/// saves the ZMM state).
#[derive(Clone, Copy)]
pub(crate) struct Avx512;

// SAFETY (every `unsafe` block of this file): the intrinsics need AVX-512
// F, DQ, BW or VL (or AVX/SSE for the 128- and 256-bit ones), and this code
// runs only inlined into the dispatcher's `#[target_feature(enable =
// "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]` function, which it calls only after CPUID and XGETBV showed those
// features. Loads and stores go through references to arrays of the right
// size.

macro_rules! float_op {
    ($Trait:ident, $f:ident, $intr:ident) => {
        impl $Trait for Z {
            type Output = Z;
            #[inline(always)]
            fn $f(self, o: Z) -> Z {
                // SAFETY: see the top of this file.
                Z(unsafe { $intr(self.0, o.0) })
            }
        }
    };
}

macro_rules! bit_op {
    ($Trait:ident, $f:ident, $intr:ident) => {
        impl $Trait for Z {
            type Output = Z;
            #[inline(always)]
            fn $f(self, o: Z) -> Z {
                // SAFETY: see the top of this file.
                Z(unsafe { _mm512_castsi512_ps($intr(_mm512_castps_si512(self.0), _mm512_castps_si512(o.0))) })
            }
        }
    };
}

float_op!(Add, add, _mm512_add_ps);
float_op!(Sub, sub, _mm512_sub_ps);
float_op!(Mul, mul, _mm512_mul_ps);
float_op!(Div, div, _mm512_div_ps);
bit_op!(BitAnd, bitand, _mm512_and_si512);
bit_op!(BitOr, bitor, _mm512_or_si512);
bit_op!(BitXor, bitxor, _mm512_xor_si512);

impl AddAssign for Z {
    #[inline(always)]
    fn add_assign(&mut self, o: Z) {
        *self = *self + o;
    }
}

impl Neg for Z {
    type Output = Z;
    #[inline(always)]
    fn neg(self) -> Z {
        self ^ Z::splat(-0.0)
    }
}

/// All-ones lanes where `k` is set.
#[inline(always)]
fn lanes_of(k: __mmask16) -> Z {
    // SAFETY: see the top of this file.
    Z(unsafe { _mm512_castsi512_ps(_mm512_movm_epi32(k)) })
}

/// The mask of the lanes whose sign bit is set (lane masks are all ones).
#[inline(always)]
fn mask_of(v: Z) -> __mmask16 {
    // SAFETY: see the top of this file.
    unsafe { _mm512_movepi32_mask(_mm512_castps_si512(v.0)) }
}

#[inline(always)]
fn cmp<const P: i32>(a: Z, b: Z) -> Z {
    // SAFETY: see the top of this file.
    lanes_of(unsafe { _mm512_cmp_ps_mask::<P>(a.0, b.0) })
}

impl F32s<16> for Z {
    #[inline(always)]
    fn splat(x: f32) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    fn load(x: &[f32; 16]) -> Z {
        // SAFETY: `x` is 16 readable floats (unaligned load).
        Z(unsafe { _mm512_loadu_ps(x.as_ptr()) })
    }
    #[inline(always)]
    fn to_array(self) -> [f32; 16] {
        let mut out = [0.0f32; 16];
        // SAFETY: `out` is 16 writable floats (unaligned store).
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), self.0) };
        out
    }
    #[inline(always)]
    fn mul_add(self, m: Z, a: Z) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_fmadd_ps(self.0, m.0, a.0) })
    }
    #[inline(always)]
    fn mul_neg_add(self, m: Z, a: Z) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_fnmadd_ps(self.0, m.0, a.0) })
    }
    #[inline(always)]
    fn select(self, t: Z, f: Z) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_mask_blend_ps(mask_of(self), f.0, t.0) })
    }
    /// The sign bits as a mask register, straight into the blend.
    #[inline(always)]
    fn sign_select(self, t: Z, f: Z) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_mask_blend_ps(mask_of(self), f.0, t.0) })
    }
    #[inline(always)]
    fn simd_lt(self, o: Z) -> Z {
        cmp::<_CMP_LT_OQ>(self, o)
    }
    #[inline(always)]
    fn simd_gt(self, o: Z) -> Z {
        cmp::<_CMP_GT_OQ>(self, o)
    }
    #[inline(always)]
    fn simd_ge(self, o: Z) -> Z {
        cmp::<_CMP_GE_OQ>(self, o)
    }
    #[inline(always)]
    fn simd_le(self, o: Z) -> Z {
        cmp::<_CMP_LE_OQ>(self, o)
    }
    #[inline(always)]
    fn fast_max(self, o: Z) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_max_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn fast_min(self, o: Z) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_min_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn abs(self) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_abs_ps(self.0) })
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        // SAFETY: see the top of this file.
        unsafe { _mm512_reduce_add_ps(self.0) }
    }
    #[inline(always)]
    fn all(self) -> bool {
        mask_of(self) == 0xffff
    }
    #[inline(always)]
    fn any(self) -> bool {
        mask_of(self) != 0
    }
    #[inline(always)]
    fn shl23(self) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe { _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_castps_si512(self.0))) })
    }
    #[inline(always)]
    fn exponent(self) -> Z {
        // SAFETY: see the top of this file.
        Z(unsafe {
            let e = _mm512_sub_epi32(_mm512_srli_epi32::<23>(_mm512_castps_si512(self.0)), _mm512_set1_epi32(127));
            _mm512_cvtepi32_ps(e)
        })
    }
}

/// Eight `f64` lanes.
#[derive(Clone, Copy)]
pub(crate) struct D8(__m512d);

impl Isa<16> for Avx512 {
    type V = Z;
    type Bytes = crate::confusion::Avx2Bytes;
    type Total = D8;
    /// In the loop: its byte operations are free next to the 512-bit work (a
    /// separate pass over the labels measured 7% slower here).
    const FACTS_IN_LOOP: bool = true;

    #[inline(always)]
    fn total_zero() -> D8 {
        // SAFETY: see the top of this file.
        D8(unsafe { _mm512_set1_pd(-0.0) })
    }
    /// Adds the vector's low and high halves, widened to `f64`.
    #[inline(always)]
    fn total_add(total: &mut D8, v: Z) {
        // SAFETY: see the top of this file.
        total.0 = unsafe {
            let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v.0));
            let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v.0))));
            _mm512_add_pd(total.0, _mm512_add_pd(lo, hi))
        };
    }
    #[inline(always)]
    fn total_value(total: D8) -> f64 {
        // SAFETY: see the top of this file.
        unsafe { _mm512_reduce_add_pd(total.0) }
    }
    /// Sixteen label bytes compared with 0 and 1 into mask registers.
    #[inline(always)]
    fn masks(labels: &[u8; 16]) -> Masks<Z> {
        // SAFETY: `labels` is 16 readable bytes (an unaligned 16-byte load).
        unsafe {
            let l = _mm_loadu_si128(labels.as_ptr().cast::<__m128i>());
            Masks {
                neg: lanes_of(_mm_cmpeq_epi8_mask(l, _mm_setzero_si128())),
                pos: lanes_of(_mm_cmpeq_epi8_mask(l, _mm_set1_epi8(1))),
            }
        }
    }
    #[inline(always)]
    fn mul_add_f64(a: f64, b: f64, c: f64) -> f64 {
        // SAFETY: see the top of this file.
        unsafe { _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c))) }
    }
    #[inline(always)]
    fn label_bytes(labels: &[u8; 16]) -> u8x16 {
        u8x16::new(*labels)
    }
}
