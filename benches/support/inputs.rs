//! The benchmark inputs, shared by `benches/` and the timing examples
//! (included with `#[path]`).
#![allow(dead_code)]

/// A xorshift stream of uniforms in `[0, 1)`.
pub fn rand_stream(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Logits ~ N(0, 2) (clipped sum of uniforms) and labels with `p` positives.
pub fn dense(rows: usize, classes: usize, p: f64, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut unit = rand_stream(seed);
    let n = rows * classes;
    let logits = (0..n).map(|_| ((unit() + unit() + unit() + unit() - 2.0) * 3.46) as f32).collect();
    let labels = (0..n).map(|_| u8::from(unit() < p)).collect();
    (logits, labels)
}

/// `MLCCE_LEVEL=base|avx2|avx512` runs the kernels at that dispatch level
/// (fails where this CPU or build cannot); unset, the dispatcher chooses.
pub fn force_level_from_env() {
    if let Ok(l) = std::env::var("MLCCE_LEVEL") {
        let level = match l.as_str() {
            "avx512" => mlcce::Level::Avx512,
            "avx2" => mlcce::Level::Avx2,
            _ => mlcce::Level::Base,
        };
        assert!(mlcce::force_level(level), "this CPU or build cannot run {level:?}");
    }
}
