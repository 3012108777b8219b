//! Which instruction set runs the kernels.
//!
//! A build that enables AVX-512F, or AVX2 and FMA, at compile time (for
//! example `-C target-cpu=native`) runs `wide`'s lanes for it, and nothing is
//! decided at run time. A baseline x86-64 build (SSE2, what distributions and
//! plain `cargo build` produce) asks CPUID once whether the CPU has AVX2 and
//! FMA, or AVX-512 (F, DQ, BW, VL), and the OS saves their registers (XGETBV), and then runs
//! the kernels of `avx512.rs` or `avx2.rs` inside a `#[target_feature]`
//! function (AVX2 on a CPU whose 512-bit operations take two passes through
//! 256-bit units, Zen 4, where it measured faster).
//! The answer is cached in one byte (a relaxed atomic: the detection is
//! idempotent, so two threads racing to store it store the same value); it
//! is the crate's only writable data. Other targets use `wide`'s lanes.

use super::isa::{Base, Isa};

/// A computation to run with one instruction set's lanes.
pub(crate) trait Job {
    type Out;
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out;
}

/// A computation whose inputs are six machine words (a C entry's pointers,
/// lengths and codes as `usize`), for the entries' short path:
/// [`run_words`] passes them in registers, so the call of a level's
/// function, and that function's call of a fallback with six such
/// arguments, are tail calls (no frame left behind, no register saved for
/// after the call). A seventh argument would go on the stack, and LLVM
/// then made those calls nested ones.
pub(crate) trait WordJob {
    type Out;
    /// # Safety
    /// As the implementor states for its words.
    unsafe fn run<S: Isa<N>, const N: usize>(w: [usize; 6]) -> Self::Out;
}

/// The instruction sets the dispatcher can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Level {
    /// `wide`'s lanes for the instruction set the crate was compiled for.
    Base = 1,
    /// AVX2 + FMA chosen at run time (`core::arch` kernels, 8 lanes).
    Avx2 = 2,
    /// AVX-512 (F, DQ, BW, VL) chosen at run time (`core::arch` kernels, 16 lanes).
    Avx512 = 3,
}

#[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
mod runtime {
    use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

    use super::{Job, Level, WordJob};
    use crate::kernel::avx2::Avx2;
    use crate::kernel::avx512::Avx512;
    use crate::kernel::isa::Base;

    /// 0 until the first call, then the chosen [`Level`].
    static LEVEL: AtomicU8 = AtomicU8::new(0);

    /// Whether this CPU and OS can run the AVX2 + FMA kernels.
    fn has_avx2_fma() -> bool {
        use core::arch::x86_64::{__cpuid, __cpuid_count};
        let (max, l1) = (__cpuid(0).eax, __cpuid(1));
        let (fma, osxsave, avx) = (l1.ecx & (1 << 12) != 0, l1.ecx & (1 << 27) != 0, l1.ecx & (1 << 28) != 0);
        if max < 7 || !(fma && osxsave && avx) {
            return false;
        }
        let l7 = __cpuid_count(7, 0);
        // SAFETY: OSXSAVE is set: the OS enabled XSAVE, so XGETBV exists.
        let xcr0 = unsafe { xgetbv0() };
        l7.ebx & (1 << 5) != 0 && xcr0 & 0b110 == 0b110
    }

    /// Whether this CPU and OS can also run the AVX-512 kernels (the OS
    /// saves the opmask and ZMM registers: XCR0 bits 5 to 7).
    fn has_avx512() -> bool {
        use core::arch::x86_64::__cpuid_count;
        if !has_avx2_fma() {
            return false;
        }
        // SAFETY: OSXSAVE is set (checked by `has_avx2_fma`).
        let xcr0 = unsafe { xgetbv0() };
        // F (bit 16), DQ (17), BW (30) and VL (31): every AVX-512 CPU since
        // Skylake-SP and Zen 4 has all four.
        let want = (1 << 16) | (1 << 17) | (1 << 30) | (1 << 31);
        __cpuid_count(7, 0).ebx & want == want && xcr0 & 0b1110_0110 == 0b1110_0110
    }

    /// Whether the CPU runs 512-bit operations as two halves through its
    /// 256-bit units: AMD family 19h with AVX-512 (Zen 4; its Zen 3 parts
    /// have no AVX-512). Zen 5 (family 1Ah) and Intel's AVX-512 cores have
    /// 512-bit units.
    fn halves_512() -> bool {
        use core::arch::x86_64::__cpuid;
        let v = __cpuid(0);
        halves_512_of([v.ebx, v.edx, v.ecx], __cpuid(1).eax)
    }

    /// [`halves_512`] of CPUID leaf 0's vendor words (EBX, EDX, ECX) and
    /// leaf 1's EAX.
    pub(super) fn halves_512_of(vendor: [u32; 3], eax1: u32) -> bool {
        const AMD: [u32; 3] =
            [u32::from_le_bytes(*b"Auth"), u32::from_le_bytes(*b"enti"), u32::from_le_bytes(*b"cAMD")];
        let base = (eax1 >> 8) & 0xf;
        let family = if base == 0xf { base + ((eax1 >> 20) & 0xff) } else { base };
        vendor == AMD && family == 0x19
    }

    /// The fastest level this CPU runs: AVX-512 where its 512-bit
    /// operations are whole, else AVX2 + FMA (on Zen 4 the AVX2 level
    /// measured 2-4% faster than the AVX-512 one forward and 7-9% with the
    /// gradient at 256x1000, 17% at 1x32 with the gradient, about level at
    /// the longer rows). (Under Miri, which cannot run CPUID, the
    /// baseline.)
    fn detect() -> Level {
        if cfg!(miri) {
            Level::Base
        } else if has_avx512() && !halves_512() {
            Level::Avx512
        } else if has_avx2_fma() {
            Level::Avx2
        } else {
            Level::Base
        }
    }

    /// XCR0: which register states the OS saves.
    ///
    /// # Safety
    /// The CPU has XSAVE enabled by the OS (CPUID.1:ECX.OSXSAVE).
    #[target_feature(enable = "xsave")]
    unsafe fn xgetbv0() -> u64 {
        // SAFETY: per this fn's contract.
        unsafe { core::arch::x86_64::_xgetbv(0) }
    }

    /// Inlined into every entry point: one byte load and a compare; the
    /// first call's detection is out of line.
    #[inline(always)]
    pub(super) fn level() -> Level {
        match LEVEL.load(Relaxed) {
            3 => Level::Avx512,
            2 => Level::Avx2,
            1 => Level::Base,
            _ => first_level(),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_level() -> Level {
        let l = detect();
        LEVEL.store(l as u8, Relaxed);
        l
    }

    /// Test hook: run the kernels at `l` from now on, if this CPU can.
    pub(super) fn force(l: Level) -> bool {
        let ok = match l {
            Level::Base => true,
            _ if cfg!(miri) => false,
            Level::Avx2 => has_avx2_fma(),
            Level::Avx512 => has_avx512(),
        };
        if ok {
            LEVEL.store(l as u8, Relaxed);
        }
        ok
    }

    /// # Safety
    /// The CPU has AVX2 and FMA, and the OS saves the YMM registers.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn with_avx2<J: Job>(job: J) -> J::Out {
        job.run::<Avx2, 8>()
    }

    /// # Safety
    /// The CPU has AVX-512 F, DQ, BW and VL, AVX2 and FMA, and the OS saves
    /// the ZMM registers.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    unsafe fn with_avx512<J: Job>(job: J) -> J::Out {
        job.run::<Avx512, 16>()
    }

    #[inline(always)]
    pub(super) fn run<J: Job>(job: J) -> J::Out {
        match level() {
            // SAFETY: `level` chose AVX-512 only after CPUID and XGETBV showed it.
            Level::Avx512 => unsafe { with_avx512(job) },
            // SAFETY: `level` chose AVX2 only after CPUID and XGETBV showed it.
            Level::Avx2 => unsafe { with_avx2(job) },
            Level::Base => with_base(job),
        }
    }

    /// # Safety
    /// As `with_avx2`, and `J`'s for the words.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn words_avx2<J: WordJob>(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> J::Out {
        // SAFETY: per this fn's contract.
        unsafe { J::run::<Avx2, 8>([a, b, c, d, e, f]) }
    }

    /// # Safety
    /// As `with_avx512`, and `J`'s for the words.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    unsafe fn words_avx512<J: WordJob>(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> J::Out {
        // SAFETY: per this fn's contract.
        unsafe { J::run::<Avx512, 16>([a, b, c, d, e, f]) }
    }

    /// # Safety
    /// `J`'s for the words.
    #[inline(never)]
    unsafe fn words_base<J: WordJob>(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> J::Out {
        // SAFETY: per this fn's contract.
        unsafe { J::run::<Base, 8>([a, b, c, d, e, f]) }
    }

    /// # Safety
    /// `J`'s for the words.
    #[inline(always)]
    pub(super) unsafe fn run_words<J: WordJob>(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> J::Out {
        match LEVEL.load(Relaxed) {
            // SAFETY: AVX-512 stored only after CPUID and XGETBV showed it;
            // the words per this fn's contract.
            3 => unsafe { words_avx512::<J>(a, b, c, d, e, f) },
            // SAFETY: as above, for AVX2.
            2 => unsafe { words_avx2::<J>(a, b, c, d, e, f) },
            // SAFETY: the words per this fn's contract.
            1 => unsafe { words_base::<J>(a, b, c, d, e, f) },
            // SAFETY: as above.
            _ => unsafe { words_first::<J>(a, b, c, d, e, f) },
        }
    }

    /// `run_words` on the first call: the detection out of line, so that
    /// the entry keeps no word across a call.
    ///
    /// # Safety
    /// `J`'s for the words.
    #[cold]
    #[inline(never)]
    unsafe fn words_first<J: WordJob>(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> J::Out {
        first_level();
        // SAFETY: per this fn's contract.
        unsafe { run_words::<J>(a, b, c, d, e, f) }
    }

    /// The baseline, out of line like the others: inlined, its frame would
    /// add to theirs in the caller's (the stack is the deepest path's).
    #[inline(never)]
    fn with_base<J: Job>(job: J) -> J::Out {
        job.run::<Base, 8>()
    }

    #[cfg(test)]
    mod tests {
        use super::halves_512_of;

        fn vendor(s: &[u8; 12]) -> [u32; 3] {
            let w = |k: usize| u32::from_le_bytes([s[k], s[k + 1], s[k + 2], s[k + 3]]);
            [w(0), w(4), w(8)]
        }

        #[test]
        fn only_zen_4_runs_512_bit_operations_in_halves() {
            let (amd, intel) = (vendor(b"AuthenticAMD"), vendor(b"GenuineIntel"));
            // Zen 4 (EPYC 9004: family 0Fh + 0Ah, model 11h; Ryzen 7000: model 61h).
            assert!(halves_512_of(amd, 0x00a1_0f11));
            assert!(halves_512_of(amd, 0x00a6_0f12));
            // Zen 5 (family 1Ah), Zen 2 (17h), Intel (family 6, Sapphire Rapids).
            assert!(!halves_512_of(amd, 0x00b0_0f21));
            assert!(!halves_512_of(amd, 0x0083_0f10));
            assert!(!halves_512_of(intel, 0x0008_06f8));
            // Another vendor with the same signature.
            assert!(!halves_512_of(intel, 0x00a1_0f11));
        }
    }
}

/// Runs `job` with the lanes of the best instruction set available.
#[inline(always)]
pub(crate) fn run<J: Job>(job: J) -> J::Out {
    #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
    {
        runtime::run(job)
    }
    #[cfg(not(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma")))))]
    {
        run_base(job)
    }
}

/// Runs `J` on six words with the lanes of the best instruction set
/// available (see [`WordJob`]).
///
/// # Safety
/// `J`'s for the words.
#[inline(always)]
pub(crate) unsafe fn run_words<J: WordJob>(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> J::Out {
    #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
    {
        // SAFETY: per this fn's contract.
        unsafe { runtime::run_words::<J>(a, b, c, d, e, f) }
    }
    #[cfg(not(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma")))))]
    {
        // SAFETY: per this fn's contract.
        unsafe { J::run::<Base, BASE_LANES>([a, b, c, d, e, f]) }
    }
}

/// The lanes of a build without dispatch: 16 with AVX-512, 8 with SSE2,
/// AVX2 or NEON, 4 scalar lanes on MCUs (`scalar.rs`).
#[allow(dead_code)]
const BASE_LANES: usize = if cfg!(target_feature = "avx512f") {
    16
} else if cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")) {
    8
} else {
    4
};

/// [`run`] in a build without dispatch.
#[inline(always)]
#[allow(dead_code)]
fn run_base<J: Job>(job: J) -> J::Out {
    job.run::<Base, BASE_LANES>()
}

/// The level the kernels run at (choosing it on the first call).
pub fn level() -> Level {
    #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
    {
        runtime::level()
    }
    #[cfg(not(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma")))))]
    {
        Level::Base
    }
}

/// Test hook: makes the kernels run at `l` from now on (for the whole
/// process), if this build and CPU can; returns whether they can.
pub fn force_level(l: Level) -> bool {
    #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
    {
        runtime::force(l)
    }
    #[cfg(not(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma")))))]
    {
        l == Level::Base
    }
}
