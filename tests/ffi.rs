//! Builds the static library, compiles the C and C++ programs of `ffi-tests/`
//! against `include/mlcce.h` with `-Wall -Wextra -Werror -pedantic`, links
//! them with `--gc-sections`, runs them (plain and under ASan/UBSan), and
//! proves that the C API reaches no panic, no allocator and no libc.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let d = root().join("target/ffi-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

struct Lib {
    archive: PathBuf,
    native_static_libs: String,
}

/// `cargo rustc --release --lib --crate-type staticlib --features c-panic-handler`,
/// in its own target directory, once per test process.
fn staticlib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let target = root().join("target/ffi-staticlib");
        let text = run(Command::new(env!("CARGO"))
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
    })
}

const CFLAGS: &[&str] = &["-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-ffunction-sections", "-fdata-sections"];

/// Compiles one test program and links it to the static library.
fn build(source: &str, extra: &[&str], suffix: &str) -> PathBuf {
    let src = root().join("ffi-tests").join(source);
    let cpp = source.ends_with(".cpp");
    let exe = out_dir().join(format!("{}{suffix}", source.split('.').next().unwrap()));
    let mut cmd = Command::new(if cpp { "c++" } else { "cc" });
    cmd.arg(if cpp { "-std=c++11" } else { "-std=c99" })
        .args(CFLAGS)
        .args(extra)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("ffi-tests"))
        .arg(&src)
        .arg(&staticlib().archive)
        .arg("-Wl,--gc-sections")
        .arg("-lm")
        .arg("-o")
        .arg(&exe);
    run(&mut cmd);
    exe
}

fn programs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("ffi-tests"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("test_") && (n.ends_with(".c") || n.ends_with(".cpp")))
        .collect();
    v.sort();
    assert!(v.len() >= 2, "expected C and C++ test programs in ffi-tests/");
    v
}

#[test]
fn c_and_cpp_programs_pass() {
    for p in programs() {
        let exe = build(&p, &[], "");
        let out = run(&mut Command::new(&exe));
        assert!(out.contains(" 0 failed"), "{p}: {out}");
        eprint!("{out}");
    }
}

#[test]
fn c_and_cpp_programs_pass_under_asan_and_ubsan() {
    let san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"];
    for p in programs() {
        let exe = build(&p, &san, "-asan");
        let out = run(Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"));
        assert!(out.contains(" 0 failed"), "{p}: {out}");
    }
}

#[test]
fn c_and_cpp_programs_pass_under_valgrind() {
    for p in programs() {
        let exe = build(&p, &["-g"], "-vg");
        let out = run(Command::new("valgrind")
            .args(["--tool=memcheck", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=all", "-q"])
            .arg(&exe));
        assert!(out.contains(" 0 failed"), "{p}: {out}");
    }
}

/// A program of nothing but references to every `mlcce_*` function, linked
/// with no C library, no start files, and `--gc-sections`: it links only if
/// the C API reaches no panic (the `c-panic-handler` build's handler calls an
/// undefined symbol) and needs nothing from libc but the four functions that
/// GCC and Clang require of every freestanding environment (`memcpy`,
/// `memmove`, `memset`, `memcmp`), which the probe defines itself.
#[test]
fn c_api_reaches_no_panic_no_allocator_and_no_libc() {
    let header = std::fs::read_to_string(root().join("include/mlcce.h")).unwrap();
    let mut names: Vec<&str> = header
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("mlcce_") && header.contains(&format!("{w}(")))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 6, "functions found in the header: {names:?}");
    let mut src = String::from("#include \"mlcce.h\"\nvoid probe_entry(void);\nvoid probe_entry(void) {\n");
    for n in &names {
        src += &format!("    {{ void (*volatile p)(void) = (void (*)(void))(void *){n}; (void)p; }}\n");
    }
    src += "}\n";
    src += FREESTANDING_MEM;
    let dir = out_dir();
    let c = dir.join("probe.c");
    std::fs::write(&c, src).unwrap();
    let exe = dir.join("probe");
    run(Command::new("cc")
        .args(["-std=c99", "-O2", "-ffreestanding", "-nostdlib", "-nostartfiles", "-static", "-Wl,--gc-sections"])
        .args(["-Wl,-e,probe_entry", "-Wl,--no-undefined"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(&c)
        .arg(&staticlib().archive)
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

#[test]
fn static_library_needs_no_native_library() {
    let lib = staticlib();
    assert!(lib.native_static_libs.is_empty(), "native-static-libs: {}", lib.native_static_libs);
}

/// mlcce's own object file in the archive exports only `mlcce_*` functions
/// and holds no writable data (no global mutable state).
#[test]
fn own_object_exports_only_mlcce_symbols_and_no_writable_data() {
    let lib = staticlib();
    let listing = run(Command::new("nm").arg("-A").arg(&lib.archive));
    let own: Vec<&str> = listing.lines().filter(|l| l.contains(":mlcce-")).collect();
    assert!(!own.is_empty(), "no mlcce object in the archive:\n{listing}");
    for line in &own {
        let mut parts = line.rsplitn(3, ' ');
        let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if kind.chars().all(|c| c.is_ascii_uppercase()) && kind != "U" && kind != "W" && kind != "V" {
            assert!(name.starts_with("mlcce_") || name == "rust_begin_unwind", "exported: {line}");
        }
        assert!(!matches!(kind, "D" | "d" | "B" | "b"), "writable data: {line}");
        if kind == "U" {
            assert!(
                name.starts_with("mlcce_panic_is_reachable")
                    || ["memcpy", "memmove", "memset", "memcmp"].contains(&name)
                    || name.starts_with("_ZN") // core / compiler_builtins, in the same archive
                    || name.starts_with("__"),
                "mlcce needs an outside symbol: {line}"
            );
        }
    }
}
