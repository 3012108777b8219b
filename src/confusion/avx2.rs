//! AVX2: four compares (or none, for threshold 0), two 256-bit packs and one
//! lane permutation narrow 32 predictions to bytes. Written with
//! `core::arch`, so that a baseline build can run it from the dispatcher's
//! AVX2 and AVX-512 levels.

use core::arch::x86_64::*;

use super::pairs::Predict;
use super::{HALF, Lanes};

// SAFETY (every `unsafe` block of this file): the intrinsics need AVX or
// AVX2, and this code runs only inlined into the dispatcher's
// `#[target_feature]` functions of the AVX2 and AVX-512 levels (entered
// only after CPUID showed AVX2), or in a build that enables AVX2. Loads
// go through references to arrays of the right size.

/// 32 bytes.
#[derive(Clone, Copy)]
pub(crate) struct Bytes(__m256i);

/// The decision threshold, splatted.
#[derive(Clone, Copy)]
pub(crate) struct Threshold(__m256);

impl Predict<Bytes> for Threshold {
    /// `logit > threshold` as bytes of all ones, else 0.
    #[inline(always)]
    fn predict(self, x: &[f32; HALF]) -> Bytes {
        let (x, _) = x.as_chunks::<8>();
        // SAFETY: see the top of this file.
        let mut v = [unsafe { _mm256_setzero_si256() }; 4];
        for (v, x) in v.iter_mut().zip(x) {
            // SAFETY: see the top of this file; `x` is 8 readable floats.
            *v = unsafe { _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_loadu_ps(x.as_ptr()), self.0)) };
        }
        Bytes(narrow(v))
    }
}

/// 32 `i32` lanes narrowed to bytes with signed saturation (the sign
/// and zeroness of each lane survive), in order.
#[inline(always)]
fn narrow([a, b, c, d]: [__m256i; 4]) -> __m256i {
    // SAFETY: see the top of this file.
    unsafe {
        let packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
        // The packs work within 128-bit halves: their output holds the
        // 4-byte groups in the order 0 2 4 6 1 3 5 7.
        _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
    }
}

macro_rules! binary {
    ($f:ident, $intr:ident) => {
        #[inline(always)]
        fn $f(self, o: Self) -> Self {
            // SAFETY: see the top of this file.
            Bytes(unsafe { $intr(self.0, o.0) })
        }
    };
}

impl Lanes for Bytes {
    type Threshold = Threshold;
    #[inline(always)]
    fn threshold(t: f32) -> Threshold {
        // SAFETY: see the top of this file.
        Threshold(unsafe { _mm256_set1_ps(t) })
    }
    /// As an `i32`, a positive `f32` is positive, +0 is 0 and the rest
    /// negative, and the saturating narrowing keeps that.
    #[inline(always)]
    fn positive(x: &[f32; HALF]) -> Bytes {
        let (x, _) = x.as_chunks::<8>();
        // SAFETY: see the top of this file.
        let mut v = [unsafe { _mm256_setzero_si256() }; 4];
        for (v, x) in v.iter_mut().zip(x) {
            // SAFETY: see the top of this file; `x` is 8 readable floats.
            *v = unsafe { _mm256_loadu_si256(x.as_ptr().cast()) };
        }
        // SAFETY: see the top of this file.
        Bytes(unsafe { _mm256_cmpgt_epi8(narrow(v), _mm256_setzero_si256()) })
    }
    #[inline(always)]
    fn splat(b: u8) -> Bytes {
        // SAFETY: see the top of this file.
        Bytes(unsafe { _mm256_set1_epi8(b as i8) })
    }
    #[inline(always)]
    fn load(y: &[u8; HALF]) -> Bytes {
        // SAFETY: see the top of this file; `y` is 32 readable bytes.
        Bytes(unsafe { _mm256_loadu_si256(y.as_ptr().cast()) })
    }
    #[inline(always)]
    fn load_halves(lo: &[u8; HALF / 2], hi: &[u8; HALF / 2]) -> Bytes {
        // SAFETY: see the top of this file; `lo` and `hi` are 16 readable bytes each.
        Bytes(unsafe { _mm256_loadu2_m128i(hi.as_ptr().cast(), lo.as_ptr().cast()) })
    }
    binary!(add, _mm256_add_epi8);
    binary!(sub, _mm256_sub_epi8);
    binary!(and, _mm256_and_si256);
    binary!(or, _mm256_or_si256);
    binary!(xor, _mm256_xor_si256);
    binary!(eq, _mm256_cmpeq_epi8);
    binary!(min, _mm256_min_epu8);
    binary!(max, _mm256_max_epu8);
    /// `!self & o`.
    #[inline(always)]
    fn and_not(self, o: Bytes) -> Bytes {
        // SAFETY: see the top of this file.
        Bytes(unsafe { _mm256_andnot_si256(self.0, o.0) })
    }
    #[inline(always)]
    fn bitmask(self) -> u32 {
        // SAFETY: see the top of this file.
        unsafe { _mm256_movemask_epi8(self.0) as u32 }
    }
    /// Interleaved as bytes, then as pairs (within 128-bit halves), then
    /// the halves put in order.
    #[inline(always)]
    fn per_class(counts: [Bytes; 4]) -> [[u8; 4]; HALF] {
        let [a, b, c, d] = [counts[0].0, counts[1].0, counts[2].0, counts[3].0];
        let mut out = [[0u8; 4]; HALF];
        // SAFETY: see the top of this file; `out` is 128 writable bytes.
        unsafe {
            let (ab_lo, ab_hi) = (_mm256_unpacklo_epi8(a, b), _mm256_unpackhi_epi8(a, b));
            let (cd_lo, cd_hi) = (_mm256_unpacklo_epi8(c, d), _mm256_unpackhi_epi8(c, d));
            // Classes 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31.
            let q0 = _mm256_unpacklo_epi16(ab_lo, cd_lo);
            let q1 = _mm256_unpackhi_epi16(ab_lo, cd_lo);
            let q2 = _mm256_unpacklo_epi16(ab_hi, cd_hi);
            let q3 = _mm256_unpackhi_epi16(ab_hi, cd_hi);
            // 0x20: the low halves of both, 0x31: the high halves.
            let to = out.as_mut_ptr().cast::<__m256i>();
            _mm256_storeu_si256(to, _mm256_permute2x128_si256::<0x20>(q0, q1));
            _mm256_storeu_si256(to.add(1), _mm256_permute2x128_si256::<0x20>(q2, q3));
            _mm256_storeu_si256(to.add(2), _mm256_permute2x128_si256::<0x31>(q0, q1));
            _mm256_storeu_si256(to.add(3), _mm256_permute2x128_si256::<0x31>(q2, q3));
        }
        out
    }
}
