//! Shared by the tests that drive the C toolchain: building the static
//! library, running commands, and the freestanding link probe.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn out_dir() -> PathBuf {
    let d = root().join("target/ffi-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether the external `tool` runs here (`tool --version`). When it does
/// not, the test that needs it cannot run: under the README's test command
/// (`MLCCE_REQUIRE_TOOLS=1`, after it installed everything) that fails the
/// test; under a plain `cargo test` the test says SKIPPED on the terminal
/// (past the test harness's capture) with the command that installs it, and
/// returns early.
pub fn have(tool: &str, test: &str) -> bool {
    let runs = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    runs || missing(tool, test)
}

/// Whether the standard library for `target` is installed (`rustup target add`).
pub fn have_target(target: &str, test: &str) -> bool {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().expect("rustc runs");
    let dir = Path::new(String::from_utf8_lossy(&sysroot.stdout).trim()).join("lib/rustlib").join(target);
    dir.is_dir() || missing(&format!("the Rust target {target}"), test)
}

fn missing(what: &str, test: &str) -> bool {
    let text = format!("{what} is not installed, so {test} cannot run (`bash .ci/test` installs it)");
    if std::env::var_os("MLCCE_REQUIRE_TOOLS").is_some() {
        panic!("{text}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {text}");
    false
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

pub struct Lib {
    pub archive: PathBuf,
    pub native_static_libs: String,
}

/// `cargo rustc --release --lib --crate-type staticlib --features c-panic-handler`,
/// in its own target directory, once per test process.
pub fn staticlib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| build_staticlib("ffi-staticlib", None))
}

/// The same at `opt-level = "s"` (the firmware recipe).
pub fn staticlib_size() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| build_staticlib("ffi-staticlib-s", Some("s")))
}

/// The same at `opt-level = "z"` (the smallest).
pub fn staticlib_z() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| build_staticlib("ffi-staticlib-z", Some("z")))
}

/// The static library for a bare-metal `target` at `opt_level` (the
/// firmware recipe), built in `target/cross-<opt_level>` (shared by the
/// firmware size tables and the emulated-MCU runs).
pub fn cross_staticlib(target: &str, opt_level: &str) -> PathBuf {
    let dir = root().join("target").join(format!("cross-{opt_level}"));
    run(Command::new(env!("CARGO"))
        .current_dir(root())
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt_level)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["rustc", "--release", "--lib", "--crate-type", "staticlib", "--features", "c-panic-handler"])
        .args(["--target", target, "--target-dir"])
        .arg(&dir));
    dir.join(target).join("release/libmlcce.a")
}

fn build_staticlib(dir: &str, opt_level: Option<&str>) -> Lib {
    {
        let target = root().join("target").join(dir);
        let mut cmd = Command::new(env!("CARGO"));
        if let Some(o) = opt_level {
            cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", o);
        }
        let text = run(cmd
            .current_dir(root())
            .args(["rustc", "--release", "--lib", "--crate-type", "staticlib", "--features", "c-panic-handler"])
            .arg("--target-dir")
            .arg(&target)
            .args(["--", "--print", "native-static-libs"])
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"));
        let native_static_libs = text
            .lines()
            .find_map(|l| l.split("native-static-libs:").nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Lib { archive: target.join("release/libmlcce.a"), native_static_libs }
    }
}

/// A program of nothing but references to every `mlcce_*` function, linked
/// with no C library, no start files, and `--gc-sections`: it links only if
/// the C API reaches no panic (the `c-panic-handler` build's handler calls an
/// undefined symbol) and needs nothing from libc but the four functions that
/// GCC and Clang require of every freestanding environment (`memcpy`,
/// `memmove`, `memset`, `memcmp`), which the probe defines itself.
///
/// `functions`: the ones to reference (`None`: every function of the
/// header). Returns the probe's `.text` size in bytes.
pub fn probe(lib: &Lib, name: &str, functions: Option<&[&str]>) -> usize {
    let all = header_functions();
    let names: Vec<&str> = match functions {
        Some(f) => f.to_vec(),
        None => all.iter().map(String::as_str).collect(),
    };
    let mut src = String::from("#include \"mlcce.h\"\nvoid probe_entry(void);\nvoid probe_entry(void) {\n");
    for n in &names {
        src += &format!("    {{ void (*volatile p)(void) = (void (*)(void))(void *){n}; (void)p; }}\n");
    }
    src += "}\n";
    src += FREESTANDING_MEM;
    let dir = out_dir();
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let exe = dir.join(name);
    run(Command::new("cc")
        .args(["-std=c99", "-O2", "-ffreestanding", "-nostdlib", "-nostartfiles", "-static", "-Wl,--gc-sections"])
        .args(["-Wl,-e,probe_entry", "-Wl,--no-undefined"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(&c)
        .arg(&lib.archive)
        .arg("-o")
        .arg(&exe));
    let syms = run(Command::new("nm").arg("-C").arg(&exe));
    for bad in ["core::panicking", "rust_begin_unwind", "__rust_alloc", "__rust_dealloc", " malloc", " free", " calloc"]
    {
        assert!(!syms.contains(bad), "probe links `{bad}`:\n{syms}");
    }
    for n in &names {
        assert!(syms.contains(n), "{n} missing from the probe");
    }
    let sizes = run(Command::new("size").arg("-A").arg(&exe));
    sizes
        .lines()
        .find_map(|l| l.strip_prefix(".text").and_then(|r| r.split_whitespace().next()?.parse().ok()))
        .expect(".text size")
}

/// Every function the header declares.
pub fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(root().join("include/mlcce.h")).unwrap();
    let mut names: Vec<String> = header
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("mlcce_") && header.contains(&format!("{w}(")))
        .map(String::from)
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 18, "functions found in the header: {names:?}");
    names
}

/// What a freestanding C environment provides (C11 7.24 / GCC's requirement).
const FREESTANDING_MEM: &str = r#"
void *memcpy(void *d, const void *s, __SIZE_TYPE__ n);
void *memmove(void *d, const void *s, __SIZE_TYPE__ n);
void *memset(void *d, int c, __SIZE_TYPE__ n);
int memcmp(const void *a, const void *b, __SIZE_TYPE__ n);
void *memcpy(void *d, const void *s, __SIZE_TYPE__ n) { return memmove(d, s, n); }
void *memmove(void *d, const void *s, __SIZE_TYPE__ n) {
    unsigned char *dp = (unsigned char *)d; const unsigned char *sp = (const unsigned char *)s;
    if (dp < sp) { while (n--) *dp++ = *sp++; } else { while (n--) dp[n] = sp[n]; }
    return d;
}
void *memset(void *d, int c, __SIZE_TYPE__ n) { unsigned char *p = (unsigned char *)d; while (n--) *p++ = (unsigned char)c; return d; }
int memcmp(const void *a, const void *b, __SIZE_TYPE__ n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}
"#;
