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
pub fn dense(rows: usize, classes: usize, p: f64, seed: u64) -> (Aligned<f32>, Aligned<u8>) {
    let mut unit = rand_stream(seed);
    let n = rows * classes;
    let logits: Vec<f32> = (0..n).map(|_| ((unit() + unit() + unit() + unit() - 2.0) * 3.46) as f32).collect();
    let labels: Vec<u8> = (0..n).map(|_| u8::from(unit() < p)).collect();
    (Aligned::from_slice(&logits), Aligned::from_slice(&labels))
}

/// A buffer whose first element is 64-byte aligned, as the yardstick's C
/// kernels allocate theirs (`aligned_alloc(64, ..)`), so that both are
/// timed on the same terms: a large `Vec` comes from `mmap`, 16 bytes past
/// a page, and every other 32-byte access of it crosses a cache line.
pub struct Aligned<T> {
    buf: Vec<T>,
    at: usize,
    len: usize,
}

impl<T: Copy + Default> Aligned<T> {
    pub fn from_slice(v: &[T]) -> Self {
        let mut buf = vec![T::default(); v.len() + 64];
        let at = buf.as_ptr().align_offset(64);
        buf[at..at + v.len()].copy_from_slice(v);
        Aligned { buf, at, len: v.len() }
    }

    pub fn zeros(len: usize) -> Self {
        Self::from_slice(&vec![T::default(); len])
    }
}

impl<T> std::ops::Deref for Aligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[self.at..self.at + self.len]
    }
}

impl<T> std::ops::DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.at..self.at + self.len]
    }
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
