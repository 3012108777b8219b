//! The kernels' lanes with AVX2 + FMA, written with `core::arch`
//! intrinsics so that a baseline build can run them (`wide` picks its
//! instructions when the crate is compiled). Used only inside the
//! dispatcher's `#[target_feature(enable = "avx2,fma")]` functions, after
//! CPUID has shown both: every method is `#[inline(always)]`, so each
//! intrinsic is compiled into a function that has the features.

use core::arch::x86_64::*;
use core::ops::{Add, AddAssign, BitAnd, BitOr, BitXor, Div, Mul, Neg, Sub};

use wide::u8x16;

use super::exp::{Consts, VALUES};
use super::isa::{F32s, Isa, Masks};

/// Eight `f32` lanes in one AVX register.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct Y(__m256);

/// The AVX2 + FMA instruction set (a token: only the dispatcher names it,
/// once CPUID has shown AVX2 and FMA and the OS saves the YMM state).
#[derive(Clone, Copy)]
pub(crate) struct Avx2;

// SAFETY (every `unsafe` block of this file): the intrinsics need AVX, AVX2
// or FMA, and this code runs only inlined into the dispatcher's
// `#[target_feature(enable = "avx2,fma")]` functions, which it calls only
// after CPUID (and XGETBV for the OS's YMM state) showed those features.
// Loads and stores go through references to arrays of the right size.

macro_rules! binary {
    ($Trait:ident, $f:ident, $intr:ident) => {
        impl $Trait for Y {
            type Output = Y;
            #[inline(always)]
            fn $f(self, o: Y) -> Y {
                // SAFETY: see the top of this file.
                Y(unsafe { $intr(self.0, o.0) })
            }
        }
    };
}

binary!(Add, add, _mm256_add_ps);
binary!(Sub, sub, _mm256_sub_ps);
binary!(Mul, mul, _mm256_mul_ps);
binary!(Div, div, _mm256_div_ps);
binary!(BitAnd, bitand, _mm256_and_ps);
binary!(BitOr, bitor, _mm256_or_ps);
binary!(BitXor, bitxor, _mm256_xor_ps);

impl AddAssign for Y {
    #[inline(always)]
    fn add_assign(&mut self, o: Y) {
        *self = *self + o;
    }
}

impl Neg for Y {
    type Output = Y;
    #[inline(always)]
    fn neg(self) -> Y {
        self ^ Y::splat(-0.0)
    }
}

#[inline(always)]
fn cmp<const P: i32>(a: Y, b: Y) -> Y {
    // SAFETY: see the top of this file.
    Y(unsafe { _mm256_cmp_ps::<P>(a.0, b.0) })
}

impl F32s<8> for Y {
    #[inline(always)]
    fn splat(x: f32) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    fn load(x: &[f32; 8]) -> Y {
        // SAFETY: `x` is 8 readable floats (unaligned load).
        Y(unsafe { _mm256_loadu_ps(x.as_ptr()) })
    }
    #[inline(always)]
    fn to_array(self) -> [f32; 8] {
        let mut out = [0.0f32; 8];
        // SAFETY: `out` is 8 writable floats (unaligned store).
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), self.0) };
        out
    }
    #[inline(always)]
    fn mul_add(self, m: Y, a: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_fmadd_ps(self.0, m.0, a.0) })
    }
    #[inline(always)]
    fn mul_neg_add(self, m: Y, a: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_fnmadd_ps(self.0, m.0, a.0) })
    }
    #[inline(always)]
    fn select(self, t: Y, f: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_blendv_ps(f.0, t.0, self.0) })
    }
    /// `blendv` reads the sign bit alone: no compare.
    #[inline(always)]
    fn sign_select(self, t: Y, f: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_blendv_ps(f.0, t.0, self.0) })
    }
    #[inline(always)]
    fn simd_lt(self, o: Y) -> Y {
        cmp::<_CMP_LT_OQ>(self, o)
    }
    #[inline(always)]
    fn simd_gt(self, o: Y) -> Y {
        cmp::<_CMP_GT_OQ>(self, o)
    }
    #[inline(always)]
    fn simd_ge(self, o: Y) -> Y {
        cmp::<_CMP_GE_OQ>(self, o)
    }
    #[inline(always)]
    fn simd_le(self, o: Y) -> Y {
        cmp::<_CMP_LE_OQ>(self, o)
    }
    #[inline(always)]
    fn fast_max(self, o: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_max_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn fast_min(self, o: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_min_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn abs(self) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0) })
    }
    #[inline(always)]
    fn reduce_add(self) -> f32 {
        // SAFETY: see the top of this file.
        unsafe {
            let a = _mm_add_ps(_mm256_castps256_ps128(self.0), _mm256_extractf128_ps::<1>(self.0));
            let a = _mm_add_ps(a, _mm_movehl_ps(a, a));
            _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)))
        }
    }
    #[inline(always)]
    fn all(self) -> bool {
        // SAFETY: see the top of this file.
        unsafe { _mm256_movemask_ps(self.0) == 0xff }
    }
    #[inline(always)]
    fn any(self) -> bool {
        // SAFETY: see the top of this file.
        unsafe { _mm256_movemask_ps(self.0) != 0 }
    }
    #[inline(always)]
    fn shl23(self) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_castps_si256(self.0))) })
    }
    #[inline(always)]
    fn exponent(self) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe {
            let e = _mm256_sub_epi32(_mm256_srli_epi32::<23>(_mm256_castps_si256(self.0)), _mm256_set1_epi32(127));
            _mm256_cvtepi32_ps(e)
        })
    }
}

/// The exp constants, each as a whole vector.
#[repr(C, align(32))]
struct Table([[f32; 8]; 12]);

static EXP_TABLE: Table = {
    let mut t = [[0.0f32; 8]; 12];
    let mut i = 0;
    while i < 12 {
        t[i] = [VALUES[i]; 8];
        i += 1;
    }
    Table(t)
};

/// Four `f64` lanes.
#[derive(Clone, Copy)]
pub(crate) struct D(__m256d);

impl Isa<8> for Avx2 {
    type V = Y;
    type Bytes = crate::confusion::Avx2Bytes;
    type Total = D;
    /// A separate pass over the label bytes (the loop's byte work cost 8%
    /// more instructions here, callgrind).
    const FACTS_IN_LOOP: bool = false;

    #[inline(always)]
    fn total_zero() -> D {
        // SAFETY: see the top of this file.
        D(unsafe { _mm256_set1_pd(-0.0) })
    }
    /// Adds the vector's low and high halves, widened to `f64`.
    #[inline(always)]
    fn total_add(total: &mut D, v: Y) {
        // SAFETY: see the top of this file.
        total.0 = unsafe {
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v.0));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v.0));
            _mm256_add_pd(total.0, _mm256_add_pd(lo, hi))
        };
    }
    #[inline(always)]
    fn total_value(total: D) -> f64 {
        // SAFETY: see the top of this file.
        unsafe {
            let a = _mm_add_pd(_mm256_castpd256_pd128(total.0), _mm256_extractf128_pd::<1>(total.0));
            _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)))
        }
    }
    /// Eight label bytes zero-extended to `i32` lanes, compared with 0 and 1.
    #[inline(always)]
    fn masks(labels: &[u8; 8]) -> Masks<Y> {
        // SAFETY: `labels` is 8 readable bytes (`_mm_loadl_epi64` reads 8).
        unsafe {
            let l = _mm256_cvtepu8_epi32(_mm_loadl_epi64(labels.as_ptr().cast::<__m128i>()));
            Masks {
                neg: Y(_mm256_castsi256_ps(_mm256_cmpeq_epi32(l, _mm256_setzero_si256()))),
                pos: Y(_mm256_castsi256_ps(_mm256_cmpeq_epi32(l, _mm256_set1_epi32(1)))),
            }
        }
    }
    /// The label bytes widened to `i32` lanes once: the masks compare them
    /// with 1 taken from the pass's table (opaque to the compiler, so each
    /// stays one dword compare instead of becoming a byte compare and a
    /// sign extension), and the sign flip is bit 0 of the label shifted
    /// into the sign (`-s` for a positive, and for an ignored lane, whose
    /// term is masked out): no `-0.0` to hold in a register. 5% faster
    /// forward at 256x1000 and 72x16384 than the default's masks and flip.
    #[inline(always)]
    fn signed(x: &[f32; 8], labels: &[u8; 8], k: &Consts<Y>) -> (Masks<Y>, Y) {
        // SAFETY: `labels` is 8 readable bytes (`_mm_loadl_epi64` reads 8).
        unsafe {
            let l = _mm256_cvtepu8_epi32(_mm_loadl_epi64(labels.as_ptr().cast::<__m128i>()));
            let one = _mm256_castps_si256(k.label_one.0);
            let m = Masks {
                // `1 > l`: 0 (the labels are bytes, never negative).
                neg: Y(_mm256_castsi256_ps(_mm256_cmpgt_epi32(one, l))),
                pos: Y(_mm256_castsi256_ps(_mm256_cmpeq_epi32(l, one))),
            };
            (m, Y::load(x) ^ Y(_mm256_castsi256_ps(_mm256_slli_epi32::<31>(l))))
        }
    }
    /// Loaded through an opaque pointer from a table of whole vectors: the
    /// eleven constants do not fit the sixteen registers beside the loop's
    /// values, and as splats the compiler re-broadcast them at every use
    /// (10 `vbroadcastss` a step); as plain loads it keeps, spills or folds
    /// them (10% faster at 256x1000, `examples/call_cost`).
    #[inline(always)]
    fn consts() -> Consts<Y> {
        let t = core::hint::black_box(&EXP_TABLE);
        Consts::from_fn(|i| Y::load(&t.0[i]))
    }
    #[inline(always)]
    fn mul_add_f64(a: f64, b: f64, c: f64) -> f64 {
        // SAFETY: see the top of this file.
        unsafe { _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c))) }
    }
    #[inline(always)]
    fn label_bytes(labels: &[u8; 8]) -> u8x16 {
        let mut b = [crate::IGNORE; 16];
        b.iter_mut().zip(labels).for_each(|(to, from)| *to = *from);
        u8x16::new(b)
    }
}
