//! A plain x86-64 build picks its kernels at run time (`tests/levels.rs`
//! forces each level); a build with `-C target-cpu=x86-64-v3` or `-v4` runs
//! `wide`'s lanes compiled for AVX2 or AVX-512 instead, with no dispatch.
//! This test builds and runs the kernel tests again in each of those builds
//! that the machine can run, so `cargo test` checks those paths too.

use std::process::Command;

/// The tests that exercise the kernels and the counting through the Rust API
/// (the C API calls the same code; its tests build their own library).
const TESTS: [&str; 8] = ["dense", "eval", "stream", "sparse", "soft", "properties", "errors", "shard"];

#[cfg(target_arch = "x86_64")]
fn builds() -> Vec<(&'static str, bool)> {
    use std::arch::is_x86_feature_detected as has;
    let v3 = has!("avx2") && has!("fma") && has!("bmi1") && has!("bmi2") && has!("lzcnt") && has!("movbe");
    let v4 = v3 && has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl");
    vec![("x86-64-v3", v3), ("x86-64-v4", v4)]
}

#[cfg(not(target_arch = "x86_64"))]
fn builds() -> Vec<(&'static str, bool)> {
    Vec::new()
}

#[test]
fn kernel_tests_pass_in_the_avx2_and_avx512_builds() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (cpu, runs_here) in builds() {
        if !runs_here {
            eprintln!("{cpu}: this CPU cannot run it, not tested");
            continue;
        }
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root).arg("test").arg("--quiet");
        for t in TESTS {
            cmd.args(["--test", t]);
        }
        let out = cmd
            .env("RUSTFLAGS", format!("-C target-cpu={cpu}"))
            .env("CARGO_TARGET_DIR", format!("{root}/target/simd-{cpu}"))
            .output()
            .expect("cargo runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{cpu} build: tests failed\n{text}");
        let passed = text.lines().filter(|l| l.starts_with("test result: ok")).count();
        assert_eq!(passed, TESTS.len(), "{cpu} build: {passed} test binaries passed\n{text}");
        eprintln!("{cpu}: {passed} test binaries passed");
    }
}
