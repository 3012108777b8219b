//! Decodes fuzzer bytes into shapes, logits, labels and indices, biased
//! towards the values that break losses: NaN, ±inf, subnormals, ±1e30,
//! fp16-scale values, invalid labels.
#![allow(dead_code)]

pub struct Bytes<'a>(pub &'a [u8]);

/// Runs the kernels at the level the first byte picks (base, AVX2 or
/// AVX-512 where this CPU runs them), so every dispatch level is fuzzed.
pub fn pick_level(b: &mut Bytes<'_>) {
    let level = [mlcce::Level::Base, mlcce::Level::Avx2, mlcce::Level::Avx512][usize::from(b.byte() % 3)];
    if !mlcce::force_level(level) {
        mlcce::force_level(mlcce::Level::Base);
    }
}

impl Bytes<'_> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (usize::from(self.byte()) | usize::from(self.byte()) << 8) % n }
    }
    pub fn logit(&mut self) -> f32 {
        match self.byte() {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => f32::from_bits(u32::from(self.byte()) + 1), // subnormal
            4 => 1e30,
            5 => -1e30,
            6 => 65504.0,
            7 => -65504.0,
            8 => f32::MAX,
            9 => -1e4,
            b => (f32::from(b) - 132.0) / 8.0 * f32::from(1 + self.byte() % 4),
        }
    }
    pub fn finite_logit(&mut self) -> f32 {
        let x = self.logit();
        if x.is_finite() { x } else { 0.5 }
    }
    pub fn label(&mut self) -> u8 {
        match self.byte() {
            0..=150 => 0,
            151..=220 => 1,
            221..=250 => 255,
            b => b.wrapping_mul(7), // mostly invalid
        }
    }
    pub fn target(&mut self) -> f32 {
        match self.byte() {
            0 => f32::NAN,
            1 => -0.25,
            2 => 1.5,
            3..=80 => 0.0,
            81..=150 => 1.0,
            b => f32::from(b - 151) / 104.0,
        }
    }
}

/// The error a dense row must produce, if any (any of several is allowed).
pub fn dense_errors(x: &[f32], y: &[u8]) -> (bool, bool) {
    let label = y.iter().any(|&l| !matches!(l, 0 | 1 | 255));
    let non_finite = x.iter().zip(y).any(|(s, &l)| matches!(l, 0 | 1) && !s.is_finite());
    (label, non_finite)
}
