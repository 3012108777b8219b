//! The accuracy of the kernels' `exp` (on every `f32` of its range), of
//! the fast path's `log1p` and of the state finish's `f64` `exp` and `log`,
//! against `std`'s `f64` functions. Unit tests: all are private to the
//! crate.

use crate::kernel::exp::{HI, LO, MAX_ULP, exp_scalar};
use crate::lse::{exp_neg_wide, log_wide, log_wide_in, log1p_f64, log1p_wide};
use std::eprintln;

/// One ulp of the f32 nearest to `x` (x > 0, normal).
fn ulp(x: f64) -> f64 {
    let f = x as f32;
    let next = f32::from_bits(f.to_bits() + 1);
    f64::from(next) - f64::from(f)
}

fn ulp_error(x: f32) -> f64 {
    let want = f64::from(x).exp();
    let got = f64::from(exp_scalar(x));
    (got - want).abs() / ulp(want)
}

/// The worst ulp error of the exp of one instruction set's lanes
/// ([`Isa::exp_by`](crate::kernel::Isa::exp_by)) on every `f32` of `[-87.33, 88]` (about 2.1e9
/// values, `N` at a time), run through the dispatcher.
/// With `saturated`, also the worst errors of the scalar MCU exp
/// ([`exp_one_by`](crate::kernel::exp::exp_one_by) with the exponent
/// saturated, as the MCU fast path's), unfused and with fused multiply-adds
/// (emulated exactly), on the same values.
struct ExpSweep {
    saturated: bool,
}

impl crate::kernel::Job for ExpSweep {
    type Out = [(f64, f32); 3];
    #[inline(always)]
    fn run<S: crate::kernel::Isa<N>, const N: usize>(self) -> [(f64, f32); 3] {
        use crate::kernel::F32s;
        let lo_normal = -87.33f32; // e^-87.33 is just above f32::MIN_POSITIVE
        let mut worst = [(0.0f64, 0.0f32); 3];
        // Negative half: bit patterns from -0.0 up to lo_normal; positive
        // half: from +0.0 up to HI.
        for (start, end) in [(0x8000_0000u32, lo_normal.to_bits()), (0u32, HI.to_bits())] {
            let mut bits = start;
            while bits <= end {
                let xs: [f32; N] = core::array::from_fn(|i| f32::from_bits((bits + i as u32).min(end)));
                let got = S::exp_by::<false>(S::V::load(&xs), &S::consts()).to_array();
                for (x, g) in xs.into_iter().zip(got) {
                    let want = f64::from(x).exp();
                    let note = |w: &mut (f64, f32), g: f32| {
                        let err = (f64::from(g) - want).abs() / ulp(want);
                        if err > w.0 {
                            *w = (err, x);
                        }
                    };
                    note(&mut worst[0], g);
                    if self.saturated {
                        use crate::kernel::exp::exp_one_by;
                        note(&mut worst[1], exp_one_by::<false, true, false>(x));
                        note(&mut worst[2], exp_one_by::<false, true, true>(x));
                    }
                }
                bits += N as u32;
            }
        }
        worst
    }
}

/// The exp on its whole normal range, at every dispatch level this CPU runs.
#[test]
#[cfg_attr(miri, ignore)]
fn exp_is_within_max_ulp_on_its_whole_normal_range_at_every_level() {
    use crate::kernel::{Level, force_level, run};
    for level in [Level::Base, Level::Avx2, Level::Avx512] {
        if !force_level(level) {
            eprintln!("exp: {level:?} not run (this CPU or build cannot)");
            continue;
        }
        let [worst, saturated, fused] = run(ExpSweep { saturated: level == Level::Base });
        eprintln!("exp, {level:?}: max error {:.3} ulp at x = {:e}", worst.0, worst.1);
        assert!(
            worst.0 <= f64::from(MAX_ULP),
            "{level:?}: exp error {} ulp at {:e} exceeds {MAX_ULP}",
            worst.0,
            worst.1
        );
        if level == Level::Base {
            for (what, w) in [("MCU exp", saturated), ("MCU exp, fused", fused)] {
                eprintln!("{what}: max error {:.3} ulp at x = {:e}", w.0, w.1);
                assert!(w.0 <= f64::from(MAX_ULP), "{what}: error {} ulp at {:e}", w.0, w.1);
            }
        }
    }
}

/// The MCU exp of `-x` taken from `x` (the sign in the constants) is the
/// exp of `-x`, bit for bit, in every form: clamped or not, poisoned or
/// not, fused or not, clamped by compares or by min and max.
#[test]
fn exp_of_negated_input_is_bit_exact() {
    use crate::kernel::exp::exp_signed;
    macro_rules! check {
        ($($c:literal, $p:literal, $f:literal, $m:literal);*) => {$(
            let mut bits = 0u32;
            loop {
                let x = f32::from_bits(bits);
                let (neg, of_neg) =
                    (exp_signed::<$c, $p, $f, true, $m>(x), exp_signed::<$c, $p, $f, false, $m>(-x));
                assert!(
                    neg.to_bits() == of_neg.to_bits() || (neg.is_nan() && of_neg.is_nan()),
                    "{x:e}: {neg:e} vs {of_neg:e} (clamp {}, poison {}, fused {}, compares {})",
                    $c, $p, $f, $m
                );
                match bits.checked_add(4099) {
                    Some(b) => bits = b,
                    None => break,
                }
            }
            for x in [0.0f32, -0.0, LO, -LO, HI, -HI, 88.5, -88.5, f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY] {
                let (neg, of_neg) =
                    (exp_signed::<$c, $p, $f, true, $m>(x), exp_signed::<$c, $p, $f, false, $m>(-x));
                assert!(neg.to_bits() == of_neg.to_bits() || (neg.is_nan() && of_neg.is_nan()), "{x:e}");
            }
        )*};
    }
    check!(false, false, false, false; false, true, false, false; true, false, false, false; true, true, false, false;
           false, false, true, false; false, true, true, false; true, false, true, false; true, true, true, false;
           true, false, false, true; true, true, false, true; true, false, true, true; true, true, true, true);
}

/// The MCU exp, fused and unfused, outside its range and in its clamped
/// forms.
#[test]
fn exp_saturated_out_of_range() {
    out_of_range::<false>();
    out_of_range::<true>();
}

fn out_of_range<const F: bool>() {
    use crate::kernel::exp::exp_one_by;
    let exp_saturated = |x: f32| exp_one_by::<false, true, F>(x);
    use crate::kernel::sums::FAST_MAX;
    // Subnormal outputs, then 0 down to where r² overflows (NaN).
    for x in [-87.5f32, -88.0, -100.0, -1e4, -1e12] {
        let e = exp_saturated(x);
        assert!((0.0..f32::MIN_POSITIVE).contains(&e), "exp_saturated({x:e}) = {e:e}");
    }
    assert!(exp_saturated(-1e30).is_nan());
    // Above HI: never a finite value the fast path would accept.
    let mut x = HI;
    while x < 1e38 {
        let e = exp_saturated(x);
        assert!(e.is_nan() || e > FAST_MAX, "exp_saturated({x:e}) = {e:e}");
        x = x * 1.001 + 1e-3;
    }
    for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN] {
        assert!(exp_saturated(x).is_nan() || exp_saturated(x) == f32::INFINITY, "exp_saturated({x:e})");
    }
    // The clamped forms: the same values in [LO, HI] (whose accuracy the
    // sweep measures), 0 below and e^88 above.
    let negative = (0x8000_0000..=LO.to_bits()).step_by(997);
    for x in negative.chain((0..=HI.to_bits()).step_by(997)).map(f32::from_bits) {
        assert_eq!(exp_one_by::<true, false, F>(x).to_bits(), exp_saturated(x).to_bits(), "{x:e}");
        assert_eq!(exp_one_by::<true, true, F>(x).to_bits(), exp_saturated(x).to_bits(), "{x:e}");
    }
    for x in [-88.5f32, -1e30, f32::MIN, f32::NEG_INFINITY] {
        assert_eq!(exp_one_by::<true, false, F>(x), 0.0);
        assert_eq!(exp_saturated(x.max(LO)), 0.0);
    }
    for x in [88.5f32, 1e30, f32::MAX, f32::INFINITY] {
        assert_eq!(exp_one_by::<true, false, F>(x), exp_one_by::<true, false, F>(HI));
        assert!(exp_one_by::<true, false, F>(HI) > 1.6e38 && exp_one_by::<true, false, F>(HI).is_finite());
    }
    for x in [f32::NAN, f32::NEG_INFINITY] {
        assert!(exp_one_by::<true, true, F>(x).is_nan(), "{x:e}");
    }
    assert_eq!(exp_one_by::<true, true, F>(f32::INFINITY), f32::INFINITY);
}

#[test]
fn exp_range_ends() {
    assert_eq!(exp_scalar(LO), 0.0);
    assert_eq!(exp_scalar(-1e30), 0.0);
    assert_eq!(exp_scalar(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_scalar(0.0), 1.0);
    assert!(exp_scalar(HI) > 1.6e38 && exp_scalar(HI).is_finite());
    assert_eq!(exp_scalar(1e30), exp_scalar(HI));
    assert!(exp_scalar(f32::NAN).is_nan());
    // Subnormal outputs stay monotone and small, then flush.
    let a = exp_scalar(-87.5);
    assert!(a > 0.0 && a < f32::MIN_POSITIVE);
    assert!(ulp_error(-1.0) <= 1.0);
}

/// The inputs of [`ExpEnds`].
const ENDS: [f32; 12] =
    [LO, -1e30, f32::NEG_INFINITY, 0.0, HI, 1e30, f32::NAN, -87.5, -87.6, -87.9, f32::INFINITY, -1e5];

/// Each level's own exp ([`Isa::exp_by`](crate::kernel::Isa::exp_by)) on
/// [`ENDS`], clamped and poisoned.
struct ExpEnds;

impl crate::kernel::Job for ExpEnds {
    type Out = [[f32; 12]; 2];
    #[inline(always)]
    fn run<S: crate::kernel::Isa<N>, const N: usize>(self) -> [[f32; 12]; 2] {
        use crate::kernel::F32s;
        let one = |x: f32, poison: bool| {
            let v = S::V::splat(x);
            let e = if poison { S::exp_by::<true>(v, &S::consts()) } else { S::exp_by::<false>(v, &S::consts()) };
            e.to_array()[0]
        };
        [ENDS.map(|x| one(x, false)), ENDS.map(|x| one(x, true))]
    }
}

/// Every level's exp at the ends of its range: 0 at and below `LO`, the
/// finite `e^88` at and above `HI`, outputs under `2^-126` between 0 and
/// `2^-126` (subnormal, or at the AVX2 level its table's step scaled there)
/// and rising; poisoned, `NaN` for `NaN` and `-inf`, not finite for `+inf`.
#[test]
fn exp_range_ends_at_every_level() {
    use crate::kernel::{Level, force_level, run};
    for level in [Level::Base, Level::Avx2, Level::Avx512] {
        if !force_level(level) {
            eprintln!("exp ends: {level:?} not run (this CPU or build cannot)");
            continue;
        }
        let [c, p] = run(ExpEnds);
        let [lo, tiny, neg_inf, zero, hi, huge, nan, a, b, d, inf, far] = c;
        assert_eq!([lo, tiny, neg_inf], [0.0; 3], "{level:?}");
        assert_eq!(zero, 1.0, "{level:?}");
        assert!(hi > 1.6e38 && hi.is_finite() && huge == hi && inf == hi, "{level:?}: {hi:e} {huge:e}");
        assert!(nan.is_nan(), "{level:?}");
        assert!(f32::MIN_POSITIVE > a && a > b && b > d && d >= 0.0, "{level:?}: {a:e} {b:e} {d:e}");
        assert_eq!(far, 0.0, "{level:?}");
        let [lo, tiny, neg_inf, zero, hi, _, nan, _, _, _, inf, far] = p;
        assert_eq!([lo, zero, hi, far], [c[0], 1.0, c[4], 0.0], "{level:?}");
        assert!(tiny.is_nan() && neg_inf.is_nan() && nan.is_nan() && !inf.is_finite(), "{level:?}: {p:?}");
    }
}

/// The fast path's `log1p` (f64 in, f32 out) against `f64::ln_1p` over a
/// log-spaced sweep of its whole input range: within 0.5 ulp + 1e-9 relative.
#[test]
fn fast_log1p_is_correctly_rounded_to_within_a_hair() {
    let mut worst = 0.0f64;
    let mut u = 1e-30f64;
    while u < 1e30 {
        for v in [u, u * 1.000_000_1, u * 0.999_999_9] {
            let want = v.ln_1p();
            let got = f64::from(log1p_f64(v));
            let ulp = f64::from(f32::from_bits((want as f32).to_bits() + 1)) - f64::from(want as f32);
            worst = worst.max((got - want).abs() / ulp);
        }
        u *= 1.0137;
    }
    eprintln!("log1p: max error {worst:.3} ulp");
    assert!(worst <= 0.51, "log1p error {worst} ulp");
}

/// The same `log1p` before its rounding to `f32`: relative error below 2e-10
/// against `f64::ln_1p`, on a log-spaced sweep and on every table cell of
/// every binade up to 2^64 (each cell's ends and 64 points inside), where the
/// reduced argument is largest.
#[test]
fn fast_log1p_in_f64_is_within_2e_10() {
    let mut worst = (0.0f64, 0.0f64);
    let mut check = |u: f64| {
        let want = u.ln_1p();
        let got = log1p_wide(u);
        let rel = (got - want).abs() / want;
        if rel > worst.0 {
            worst = (rel, u);
        }
    };
    let mut u = 1e-30f64;
    while u < 1e30 {
        check(u);
        u *= 1.0037;
    }
    for k in 0..64 {
        for cell in 0..32u64 {
            for j in 0..=64u64 {
                // y = 2^k · (1 + (cell + j/64) / 32), u = y - 1.
                let m = 1.0 + (cell as f64 + j as f64 / 64.0) / 32.0;
                let y = m * 2f64.powi(k);
                if y > 1.0 {
                    check(y - 1.0);
                    check(f64::from_bits((y - 1.0).to_bits() - 1));
                }
            }
        }
    }
    eprintln!("log1p (f64): max relative error {:.3e} at u = {:e}", worst.0, worst.1);
    assert!(worst.0 <= 2e-10, "log1p relative error {:e} at u = {:e}", worst.0, worst.1);
}

/// The host tests' emulated fused multiply-add against `std`'s (the C
/// library's `fmaf`, correctly rounded), on random operands and on ones
/// whose product and sum sit on `f32` rounding boundaries.
#[test]
fn fused_exact_matches_the_correctly_rounded_fma() {
    use crate::kernel::exp::fused_exact;
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for i in 0..2_000_000u32 {
        let r = next();
        let (a, b) = (f32::from_bits(r as u32 & 0x7fff_ffff >> (i % 3)), f32::from_bits((r >> 32) as u32));
        // Every third `c` is `-(a·b)` rounded, plus or minus an ulp's
        // fraction: the cases where the second rounding decides.
        let c = match i % 3 {
            0 => f32::from_bits(next() as u32),
            1 => -(a * b),
            _ => -(a * b) * (1.0 + f32::EPSILON * 0.5),
        };
        if !(a.is_finite() && b.is_finite() && c.is_finite() && (a * b).is_finite()) {
            continue;
        }
        let (got, want) = (fused_exact(a, b, c), a.mul_add(b, c));
        assert!(
            got.to_bits() == want.to_bits() || (got == 0.0 && want == 0.0),
            "fma({a:e}, {b:e}, {c:e}): {got:e} vs {want:e}"
        );
    }
    // The sum rounded in f64 lands exactly halfway between two f32s and
    // only its rounding error tells which way: (1 + 2^-23)(1 - 2^-23) =
    // 1 - 2^-46, plus 2^24 + 2, is just below 2^24 + 3 (f32 rounds it to
    // 2^24 + 2; a plain f64 sum rounded to f32 gives 2^24 + 4). Scaled and
    // signed.
    let (a, b) = (1.0 + f32::EPSILON, 1.0 - f32::EPSILON);
    for k in -40..40 {
        let scale = 2f32.powi(k);
        for (sa, sc) in [(1.0f32, 1.0f32), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)] {
            let (a, c) = (sa * a * scale, sc * 16_777_218.0 * scale);
            let (got, want) = (fused_exact(a, b, c), a.mul_add(b, c));
            assert_eq!(got.to_bits(), want.to_bits(), "fma({a:e}, {b:e}, {c:e}): {got:e} vs {want:e}");
        }
    }
}

/// The state finish's `exp` (`x <= 0`, `f64`) against `f64::exp`: within
/// 1e-15 relative from -708 to 0 (a log-spaced sweep of `|x|`, each point
/// and its neighbours), exactly 1 at 0, and 0 below -708.
#[test]
fn finish_exp_is_within_1e_15() {
    let mut worst = (0.0f64, 0.0f64);
    let mut t = 1e-300f64;
    while t < 708.0 {
        for x in [-t, -f64::from_bits(t.to_bits() + 1), -f64::from_bits(t.to_bits() - 1)] {
            let want = x.exp();
            let rel = (exp_neg_wide(x) - want).abs() / want;
            if rel > worst.0 {
                worst = (rel, x);
            }
        }
        t *= 1.0011;
    }
    eprintln!("exp (f64, x <= 0): max relative error {:.3e} at x = {:e}", worst.0, worst.1);
    assert!(worst.0 <= 1e-15, "exp relative error {:e} at x = {:e}", worst.0, worst.1);
    assert_eq!(exp_neg_wide(0.0), 1.0);
    assert_eq!(exp_neg_wide(-0.0), 1.0);
    assert!(exp_neg_wide(-708.0) > 0.0);
    for x in [-708.001, -745.0, -1e30, f64::NEG_INFINITY] {
        assert_eq!(exp_neg_wide(x), 0.0, "{x}");
    }
}

/// The state finish's `log` against `f64::ln` from the smallest `f32` to
/// 2^200: within 2e-10 relative where `|log y| >= 1e-3`, and within 4e-16
/// absolute nearer 1 (where the sum it is given was rounded by as much).
/// Both forms of its polynomial (the hosts' and the MCUs').
#[test]
fn finish_log_is_within_2e_10() {
    for horner in [false, true] {
        finish_log_within_2e_10(horner);
    }
    assert_eq!(log_wide(1.0), 0.0);
}

fn finish_log_within_2e_10(horner: bool) {
    let (mut rel_worst, mut abs_worst) = ((0.0f64, 0.0f64), (0.0f64, 0.0f64));
    let mut check = |y: f64| {
        let (want, got) = (y.ln(), log_wide_in(y, horner));
        let err = (got - want).abs();
        if want.abs() >= 1e-3 {
            if err / want.abs() > rel_worst.0 {
                rel_worst = (err / want.abs(), y);
            }
        } else if err > abs_worst.0 {
            abs_worst = (err, y);
        }
    };
    let mut y = f64::from(f32::from_bits(1));
    while y < 1.6e60 {
        check(y);
        check(f64::from_bits(y.to_bits() + 1));
        y *= 1.0019;
    }
    let mut d = 1e-16f64;
    while d < 0.01 {
        check(1.0 + d);
        check(1.0 - d);
        d *= 1.01;
    }
    eprintln!(
        "log (f64, Horner {horner}): max relative error {:.3e} at y = {:e}, near 1 max absolute {:.3e} at y = {:e}",
        rel_worst.0, rel_worst.1, abs_worst.0, abs_worst.1
    );
    assert!(rel_worst.0 <= 2e-10, "log relative error {:e} at y = {:e}", rel_worst.0, rel_worst.1);
    assert!(abs_worst.0 <= 4e-16, "log absolute error {:e} at y = {:e}", abs_worst.0, abs_worst.1);
    assert_eq!(log_wide_in(1.0, horner), 0.0);
}
