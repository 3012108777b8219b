//! The kernels' lanes with AVX2 + FMA, written with `core::arch`
//! intrinsics so that a baseline build can run them (`wide` picks its
//! instructions when the crate is compiled). Used only inside the
//! dispatcher's `#[target_feature(enable = "avx2,fma")]` functions, after
//! CPUID has shown both: every method is `#[inline(always)]`, so each
//! intrinsic is compiled into a function that has the features.

use core::arch::x86_64::*;
use core::ops::{Add, AddAssign, BitAnd, BitOr, BitXor, Div, Mul, Neg, Sub};

use wide::u8x16;

use super::exp::{Consts, HI, LO};
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
    fn and_not(self, m: Y) -> Y {
        // SAFETY: see the top of this file.
        Y(unsafe { _mm256_andnot_ps(m.0, self.0) })
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

/// The constants of [`exp_by_table`], each as a whole vector, in the
/// order of [`Consts`]'s fields (which it reads as its own: the table and
/// the coefficients in `c`).
#[repr(C, align(32))]
struct Table([[f32; 8]; 12]);

/// `8 / ln 2`.
const LOG2E_8: f32 = f32::from_bits(0x4138aa3b);
/// `1.5·2^23 + 8·127`: adding it rounds `8x / ln 2` to an integer `m` and
/// leaves `m + 1016` in the low mantissa bits: `m mod 8` in the low three
/// (the table's index), `⌊m / 8⌋ + 127` above them (the exponent).
const MAGIC_8: f32 = 12_583_928.0;
/// `ln 2 / 8` split in two (FMA reduction: each step rounds once).
const LN2_8_HI: f32 = f32::from_bits(0x3db17218);
const LN2_8_LO: f32 = f32::from_bits(0xaf82e308);
/// `2^(j/8)` rounded to `f32`, as bits, less `127 << 23` and `j << 20`:
/// added to `(m + 1016) << 20` it makes `2^⌊m/8⌋ · 2^(j/8)`.
const STEPS: [u32; 8] = [0x0, 0xfffb95c2, 0xfff837f0, 0xfff5fed7, 0xfff504f3, 0xfff5672a, 0xfff744fd, 0xfffac0c7];
/// `e^r ≈ 1 + r + r²(C2 + C3·r)` on `|r| <= ln2/16`: minimax relative
/// error 2.6e-8 (IRLS fit, the coefficients rounded to `f32`; degree 4's
/// 1.9e-10 made the exp 0.89 ulp instead of 1.14, for one multiply-add
/// more a lane).
const C2: f32 = f32::from_bits(0x3f00043a);
const C3: f32 = f32::from_bits(0x3e2aab2b);

static EXP_TABLE: Table = {
    // The slots after the table's are the table-free exp's coefficients
    // (`Consts::c`); this exp leaves two unused (never loaded).
    let splats = [HI, LO, LOG2E_8, MAGIC_8, LN2_8_HI, LN2_8_LO, 0.0, 0.0, 0.0, C3, C2, f32::from_bits(1)];
    let mut t = [[0.0f32; 8]; 12];
    let mut i = 0;
    while i < 12 {
        t[i] = [splats[i]; 8];
        i += 1;
    }
    let mut j = 0;
    while j < 8 {
        t[6][j] = f32::from_bits(STEPS[j]);
        j += 1;
    }
    Table(t)
};

/// `e^x` at this level: [`exp_with`](super::exp::exp_with)'s clamp, poison
/// and range, with `x = (8k + j)·ln2/8 + r`, `|r| <= ln2/16`: `2^(j/8)`
/// from an eight-entry table (one `vpermps`, indexed by the low bits of the
/// magic-constant round) and `e^r - 1` of degree 3. Four multiplies and
/// multiply-adds after the reduction where the table-free exp takes seven:
/// the loop waits on the vector pipes, FMA pipes first. 1.14 ulp, within
/// the table-free 1.16 (`accuracy_tests`; the table entries' own rounding,
/// up to 0.54 ulp, is much of it). Degree 4 was 0.89 ulp and 7% slower
/// forward, 9% with the gradient, at 256x1000 on Zen 4; adding the
/// entries' rounding back through a second table took an add and a
/// permutation per lane, 0.58 ulp but 9% slower forward than degree 4 at
/// 256x1000 (Zen 5). 0 at and
/// below `LO`, under `2^-126` (the table's step put in the subnormal range)
/// for inputs between `LO` and -87.33.
#[inline(always)]
fn exp_by_table<const POISON: bool>(x: Y, k: &Consts<Y>) -> Y {
    let (t, r) = super::exp::reduce::<Y, 8, POISON>(x, k);
    let [steps, _, _, c3, c2] = k.c;
    // SAFETY: see the top of this file.
    let scale = Y(unsafe {
        let bits = _mm256_castps_si256(t.0);
        let step = _mm256_castps_si256(_mm256_permutevar8x32_ps(steps.0, bits));
        _mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32::<20>(bits), step))
    });
    let w = c3.mul_add(r, c2);
    let u = (r * r).mul_add(w, r);
    u.mul_add(scale, scale)
}

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
    const LABEL_SCALE: bool = true;

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
    /// Both vectors widened, then reduced side by side: the lanes of
    /// [`Isa::total_value`] in its order (`(t0 + t2) + (t1 + t3)`), no add of
    /// the zero total.
    #[inline(always)]
    fn lane_values(neg: Y, pos: Y) -> (f64, f64) {
        // SAFETY: see the top of this file.
        unsafe {
            let wide = |v: __m256| {
                let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
                _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)))
            };
            let (n, p) = (wide(neg.0), wide(pos.0));
            // [n0 + n2, n1 + n3, p0 + p2, p1 + p3], then each pair's sum.
            let z = _mm256_add_pd(_mm256_permute2f128_pd::<0x20>(n, p), _mm256_permute2f128_pd::<0x31>(n, p));
            let h = _mm256_hadd_pd(z, z);
            (_mm256_cvtsd_f64(h), _mm_cvtsd_f64(_mm256_extractf128_pd::<1>(h)))
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
    fn signed(x: &[f32; 8], labels: &[u8; 8], k: &Consts<Y>) -> (Masks<Y>, Y, Y) {
        // SAFETY: `labels` is 8 readable bytes (`_mm_loadl_epi64` reads 8).
        unsafe {
            let l = _mm256_cvtepu8_epi32(_mm_loadl_epi64(labels.as_ptr().cast::<__m128i>()));
            let one = _mm256_castps_si256(k.label_one.0);
            let m = Masks {
                // `1 > l`: 0 (the labels are bytes, never negative).
                neg: Y(_mm256_castsi256_ps(_mm256_cmpgt_epi32(one, l))),
                pos: Y(_mm256_castsi256_ps(_mm256_cmpeq_epi32(l, one))),
            };
            let signs = Y(_mm256_castsi256_ps(_mm256_slli_epi32::<31>(l)));
            (m, Y::load(x) ^ signs, signs)
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
    /// The same table, visible to the compiler.
    #[inline(always)]
    fn step_consts() -> Consts<Y> {
        Consts::from_fn(|i| Y::load(&EXP_TABLE.0[i]))
    }
    #[inline(always)]
    fn exp_by<const POISON: bool>(x: Y, k: &Consts<Y>) -> Y {
        exp_by_table::<POISON>(x, k)
    }
    #[inline(always)]
    fn mul_add_f64(a: f64, b: f64, c: f64) -> f64 {
        // SAFETY: see the top of this file.
        unsafe { _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c))) }
    }
    /// The factors by the labels' values as a permutation's indices (0
    /// picks `neg`, 1 `pos`, an ignored 255 lane 7: `neg`, times its 0).
    #[inline(always)]
    fn label_factors(labels: &[u8; 8], neg: Y, pos: Y) -> Y {
        // SAFETY: `labels` is 8 readable bytes (`_mm_loadl_epi64` reads 8).
        unsafe {
            let l = _mm256_cvtepu8_epi32(_mm_loadl_epi64(labels.as_ptr().cast::<__m128i>()));
            Y(_mm256_permutevar8x32_ps(_mm256_blend_ps::<0b10>(neg.0, pos.0), l))
        }
    }
    #[inline(always)]
    fn label_bytes(labels: &[u8; 8]) -> u8x16 {
        let mut b = [crate::IGNORE; 16];
        b.iter_mut().zip(labels).for_each(|(to, from)| *to = *from);
        u8x16::new(b)
    }
}
