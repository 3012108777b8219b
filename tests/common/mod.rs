//! Shared by the integration tests: the f64 reference, a seeded generator,
//! and the tolerances (stated and justified once, here).
#![allow(dead_code)]

pub const IGNORE: u8 = 255;

/// Loss tolerance: `|got - want| <= LOSS_BOUND * |want| + LOSS_ABS`.
///
/// * `LOSS_REL = 1e-7` is the accuracy goal, and what rows like the
///   benchmark shapes reach: `tests/accuracy.rs` holds the median, p99 and
///   max of such rows to it at every dispatch level (measured: max 5.7e-8).
///   It holds because the kernels sum at most 8 terms per `f32` lane before
///   adding the lanes in `f64` (no error growth with the row length), and
///   the final `log1p` never forms `1 + tiny`.
/// * `LOSS_BOUND = 6.5e-7` is what every input is held to, derived: each
///   term's `exp` is within 1.16 ulp (FMA; 1.13 on SSE2), i.e. 1.4e-7
///   relative at worst, and the sum of same-signed terms keeps that relative
///   error; an `f32` lane takes at most 8 terms before it is added into
///   `f64` (7 roundings, 4.2e-7 of the lane at worst, however the terms'
///   sizes mix; 4 terms and 1.8e-7 on MCUs); the `f64` finish (`log1p`, the
///   frame change) is exact to 1e-9; then the result's rounding (6e-8).
///   The fuzzer, hunting for the worst case, found up to 2.3e-7 (a sparse
///   row whose loss is 0.459), and, before lanes were flushed every 4 or 8
///   steps, 4.4e-7 and 1e-6 on rows of one large term and many small ones
///   (`tests/dense.rs`, tiny losses).
/// * `LOSS_ABS = f32::MIN_POSITIVE` (`1.2e-38`): a loss below the `f32` normal
///   range has no relative precision to speak of.
pub const LOSS_REL: f64 = 1e-7;
pub const LOSS_BOUND: f64 = 6.5e-7;
pub const LOSS_ABS: f64 = f32::MIN_POSITIVE as f64;

/// Gradient tolerance, per element: `|got - want| <= GRAD_REL * max|want|`
/// over the row, plus `f32::MIN_POSITIVE` for the same reason as above.
/// Each element is `e^{s - A}` with `|s - A|` computed exactly and one
/// multiply by `1 / (1 + Σ)`, so it is within a few ulp of itself; `1e-6`
/// of the row's largest gradient is the stated goal.
pub const GRAD_REL: f64 = 1e-6;

/// The scalar oracle's own tolerance (relative, loss and gradient): it sums
/// in `f32` one term at a time, so its error grows like `sqrt(n)·eps` and
/// reaches a few 1e-6 on 16k-class rows. 1e-5 covers the rows it is run on
/// (at most 16385 classes).
pub const SCALAR_REL: f64 = 1e-5;

pub fn close_loss(got: f32, want: f64) -> bool {
    (f64::from(got) - want).abs() <= LOSS_BOUND * want.abs() + LOSS_ABS
}

pub fn assert_loss(got: f32, want: f64, what: &str) {
    assert!(
        close_loss(got, want),
        "{what}: loss {got:e} vs f64 {want:e} (rel err {:e})",
        (f64::from(got) - want).abs() / want.abs().max(1e-300)
    );
}

pub fn assert_grad(got: &[f32], want: &[f64], what: &str) {
    assert_grad_within(got, want, GRAD_REL, what)
}

pub fn assert_grad_within(got: &[f32], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let gmax = want.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= rel * gmax + f64::from(f32::MIN_POSITIVE),
            "{what}: grad[{i}] {g:e} vs f64 {w:e} (err {err:e}, max|g| {gmax:e})"
        );
    }
}

// ---- f64 reference (a port of ../shared/reference/mlcce_ref.py) ----

/// `log(1 + Σ e^v)`, stably, in f64 with a compensated sum.
pub fn log1p_sum_exp(values: &[f64]) -> f64 {
    let w = vec![1.0; values.len()];
    log1p_sum_wexp(&w, values)
}

/// The shifted parts of `1 + Σ w e^v`: `(m, rest)` with `m = max(0, max v)`
/// and `1 + Σ w e^v = e^m (e^{-m} + rest)`.
fn wparts(w: &[f64], v: &[f64]) -> (f64, f64) {
    let pairs: Vec<(f64, f64)> = w.iter().copied().zip(v.iter().copied()).filter(|(w, _)| *w != 0.0).collect();
    let m = pairs.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let mut sum = Kahan::default();
    for (w, v) in &pairs {
        sum.add(w * (v - m).exp());
    }
    (m, sum.value())
}

/// `w e^v / (1 + Σ w e^v)` for one term, in the shifted frame (forming
/// `v - log(1 + Σ)` instead would lose `log 2` next to `v = 3.4e38`, as the
/// fuzzer showed).
fn wshare(w: f64, v: f64, parts: (f64, f64)) -> f64 {
    let (m, rest) = parts;
    w * (v - m).exp() / ((-m).exp() + rest)
}

#[derive(Default)]
pub struct Kahan {
    sum: f64,
    c: f64,
}

impl Kahan {
    pub fn add(&mut self, x: f64) {
        let y = x - self.c;
        let t = self.sum + y;
        self.c = (t - self.sum) - y;
        self.sum = t;
    }
    pub fn value(&self) -> f64 {
        self.sum
    }
}

fn split(s: &[f32], y: &[u8]) -> (Vec<f64>, Vec<f64>) {
    let mut neg = Vec::new();
    let mut pos = Vec::new();
    for (&x, &l) in s.iter().zip(y) {
        match l {
            0 => neg.push(f64::from(x)),
            1 => pos.push(-f64::from(x)),
            IGNORE => {}
            _ => panic!("reference: bad label {l}"),
        }
    }
    (neg, pos)
}

pub fn ref_row_loss(s: &[f32], y: &[u8]) -> f64 {
    let (neg, pos) = split(s, y);
    log1p_sum_exp(&neg) + log1p_sum_exp(&pos)
}

pub fn ref_row_grad(s: &[f32], y: &[u8]) -> Vec<f64> {
    let (neg, pos) = split(s, y);
    let (a, b) = (wparts(&vec![1.0; neg.len()], &neg), wparts(&vec![1.0; pos.len()], &pos));
    s.iter()
        .zip(y)
        .map(|(&x, &l)| match l {
            0 => wshare(1.0, f64::from(x), a),
            1 => -wshare(1.0, -f64::from(x), b),
            _ => 0.0,
        })
        .collect()
}

pub fn ref_batch_loss(s: &[f32], y: &[u8], classes: usize) -> Vec<f64> {
    if classes == 0 {
        return Vec::new();
    }
    s.chunks(classes).zip(y.chunks(classes)).map(|(a, b)| ref_row_loss(a, b)).collect()
}

// ---- deterministic random inputs ----

/// SplitMix64: small, seeded, good enough for test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit() as f32
    }
    /// Roughly normal (sum of uniforms), scaled.
    pub fn normal(&mut self, sd: f32) -> f32 {
        let s: f64 = (0..4).map(|_| self.unit()).sum::<f64>() - 2.0;
        (s * 1.732_050_8) as f32 * sd
    }
    /// Labels with the given probability of a positive and of an ignore.
    pub fn labels(&mut self, n: usize, p_pos: f64, p_ignore: f64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                let u = self.unit();
                if u < p_pos {
                    1
                } else if u < p_pos + p_ignore {
                    IGNORE
                } else {
                    0
                }
            })
            .collect()
    }
    pub fn logits(&mut self, n: usize, sd: f32) -> Vec<f32> {
        (0..n).map(|_| self.normal(sd)).collect()
    }
}

/// `full`, or `small` under Miri (which interprets every instruction: the
/// tests keep their cases there, on shorter rows and fewer rounds).
pub fn sized<T>(full: T, small: T) -> T {
    if cfg!(miri) { small } else { full }
}

/// Row lengths that exercise every tail and block boundary of the kernels:
/// 0..=64, and 16·k ± 1 and 512·k ± 1 for several k (under Miri: the tails
/// and blocks of short rows only).
pub fn boundary_lengths() -> Vec<usize> {
    if cfg!(miri) {
        return vec![0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];
    }
    let mut v: Vec<usize> = (0..=64).collect();
    for k in [8usize * 1024, 2 * 8192, 512, 1024, 4096] {
        v.extend([k - 1, k, k + 1]);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// `log(1 + Σ w e^v)` over the terms with `w != 0`, in f64: `log1p` of the
/// sum itself wherever it is finite (`m + log(e^{-m} + rest)` cancels when
/// `m > 0` but the sum is tiny, as with a tiny weight at the largest `v`:
/// `50 - 50 + 3e-15` in f64 kept no digit of `3e-15`).
pub fn log1p_sum_wexp(w: &[f64], v: &[f64]) -> f64 {
    let (m, rest) = wparts(w, v);
    let sum = rest * m.exp();
    if sum.is_finite() { sum.ln_1p() } else { m + ((-m).exp() + rest).ln() }
}

pub fn ref_soft_row_loss(s: &[f32], t: &[f32]) -> f64 {
    let tp: Vec<f64> = t.iter().map(|&x| f64::from(x)).collect();
    let tn: Vec<f64> = tp.iter().map(|x| 1.0 - x).collect();
    let sp: Vec<f64> = s.iter().map(|&x| f64::from(x)).collect();
    let sn: Vec<f64> = sp.iter().map(|x| -x).collect();
    log1p_sum_wexp(&tp, &sn) + log1p_sum_wexp(&tn, &sp)
}

pub fn ref_soft_row_grad(s: &[f32], t: &[f32]) -> Vec<f64> {
    let tp: Vec<f64> = t.iter().map(|&x| f64::from(x)).collect();
    let tn: Vec<f64> = tp.iter().map(|x| 1.0 - x).collect();
    let sp: Vec<f64> = s.iter().map(|&x| f64::from(x)).collect();
    let sn: Vec<f64> = sp.iter().map(|x| -x).collect();
    let (a, b) = (wparts(&tn, &sp), wparts(&tp, &sn));
    sp.iter()
        .zip(&tp)
        .map(|(&x, &t)| {
            let mut g = 0.0;
            if t != 1.0 {
                g += wshare(1.0 - t, x, a);
            }
            if t != 0.0 {
                g -= wshare(t, -x, b);
            }
            g
        })
        .collect()
}

/// Runs `f` at every dispatch level this CPU and build can run (forced in
/// turn with the test hook `mlcce::force_level`; the level is process-wide,
/// so a test binary calls this from one test), says on the terminal which
/// it could not run, and returns the levels it ran (the baseline always).
pub fn each_level(mut f: impl FnMut(mlcce::Level)) -> Vec<mlcce::Level> {
    use mlcce::Level;
    let mut ran = Vec::new();
    for level in [Level::Base, Level::Avx2, Level::Avx512] {
        if !mlcce::force_level(level) {
            // Straight to the terminal (not captured by the test harness).
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED: this CPU or build cannot run the {level:?} kernels");
            continue;
        }
        assert_eq!(mlcce::level(), level);
        f(level);
        ran.push(level);
    }
    assert!(ran.contains(&Level::Base), "the baseline always runs");
    ran
}
