//! Builds the static library, compiles the C and C++ programs of `ffi-tests/`
//! against `include/mlcce.h` with `-Wall -Wextra -Werror -pedantic`, links
//! them with `--gc-sections`, runs them (plain and under ASan/UBSan), and
//! proves that the C API reaches no panic, no allocator and no libc.

use std::path::PathBuf;
use std::process::Command;

#[path = "support/clib.rs"]
mod clib;
use clib::{out_dir, root, run, staticlib};

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

/// The test programs of `ffi-tests/` (the C++ ones only where a C++
/// compiler is installed).
fn programs() -> Vec<String> {
    let cpp = clib::have("c++", "the C++ test programs");
    let mut v: Vec<String> = std::fs::read_dir(root().join("ffi-tests"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("test_") && (n.ends_with(".c") || (cpp && n.ends_with(".cpp"))))
        .collect();
    v.sort();
    assert!(v.len() >= 2, "expected test programs in ffi-tests/");
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
    // The header test again as C11, where its layout assertions are active.
    let exe = build("test_header.c", &["-std=c11"], "-c11");
    let out = run(&mut Command::new(&exe));
    assert!(out.contains("test_header (C11)") && out.contains(" 0 failed"), "{out}");
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
    if !clib::have("valgrind", "the valgrind run of the C programs") {
        return;
    }
    for p in programs() {
        let exe = build(&p, &["-g"], "-vg");
        let out = run(Command::new("valgrind")
            .args(["--tool=memcheck", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=all", "-q"])
            .arg(&exe));
        assert!(out.contains(" 0 failed"), "{p}: {out}");
    }
}

/// See [`clib::probe`]: every function of the header, release build.
#[test]
fn c_api_reaches_no_panic_no_allocator_and_no_libc() {
    let text = clib::probe(staticlib(), "probe-all", None);
    assert!(text > 0);
}

#[test]
fn static_library_needs_no_native_library() {
    let lib = staticlib();
    assert!(lib.native_static_libs.is_empty(), "native-static-libs: {}", lib.native_static_libs);
}

/// mlcce's own object file in the archive exports only `mlcce_*` functions
/// and holds no writable data (no global mutable state) but, on x86-64, the
/// one byte that caches the dispatcher's CPU detection.
#[test]
fn own_object_exports_only_mlcce_symbols_and_no_writable_data() {
    let lib = staticlib();
    let sized = run(Command::new("nm").args(["-A", "-S"]).arg(&lib.archive));
    let writable: Vec<&str> = sized
        .lines()
        .filter(|l| l.contains(":mlcce-") && matches!(l.rsplit(' ').nth(1), Some("D" | "d" | "B" | "b")))
        .collect();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(writable.len(), 1, "writable data: {writable:?}");
        let fields: Vec<&str> = writable[0].split_whitespace().collect();
        assert!(writable[0].contains("dispatch7runtime5LEVEL"), "writable data: {writable:?}");
        assert_eq!(fields.get(1).and_then(|s| u64::from_str_radix(s, 16).ok()), Some(1), "one byte: {writable:?}");
    } else {
        assert!(writable.is_empty(), "writable data: {writable:?}");
    }
    let listing = run(Command::new("nm").arg("-A").arg(&lib.archive));
    let own: Vec<&str> = listing.lines().filter(|l| l.contains(":mlcce-")).collect();
    assert!(!own.is_empty(), "no mlcce object in the archive:\n{listing}");
    for line in &own {
        let mut parts = line.rsplitn(3, ' ');
        let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if kind.chars().all(|c| c.is_ascii_uppercase()) && kind != "U" && kind != "W" && kind != "V" {
            assert!(name.starts_with("mlcce_") || name == "rust_begin_unwind", "exported: {line}");
        }
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

/// The shared library as `ffi-tests/integration/build-c-lib.sh` installs it:
/// a SONAME (`libmlcce.so.0.MINOR` before 1.0), no needed library (no libc),
/// exactly the header's functions exported (`nm -D`), and a C program linked
/// against it passes.
#[test]
fn shared_library_has_a_soname_needs_nothing_and_exports_only_the_c_api() {
    let prefix = out_dir().join("prefix-shared");
    run(Command::new("sh").arg(root().join("ffi-tests/integration/build-c-lib.sh")).arg(&prefix));
    let so = prefix.join("lib/libmlcce.so");
    let dynamic = run(Command::new("readelf").arg("-d").arg(&so));
    let (major, minor) = (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"));
    let soname = if major == "0" { format!("libmlcce.so.0.{minor}") } else { format!("libmlcce.so.{major}") };
    assert!(dynamic.contains(&format!("Library soname: [{soname}]")), "{dynamic}");
    assert!(!dynamic.contains("(NEEDED)"), "the shared library needs another library:\n{dynamic}");
    let exported = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    let mut names: Vec<String> =
        exported.lines().filter_map(|l| l.split_whitespace().nth(2)).map(String::from).collect();
    names.sort();
    assert_eq!(names, clib::header_functions(), "exported symbols differ from the header's functions");
    let exe = out_dir().join("test_dense-shared");
    run(Command::new("cc")
        .args(["-std=c99"])
        .args(CFLAGS)
        .arg("-I")
        .arg(prefix.join("include"))
        .arg("-I")
        .arg(root().join("ffi-tests"))
        .arg(root().join("ffi-tests/test_dense.c"))
        .arg("-L")
        .arg(prefix.join("lib"))
        .args(["-lmlcce", "-lm", "-o"])
        .arg(&exe));
    let out = run(Command::new(&exe).env("LD_LIBRARY_PATH", prefix.join("lib")));
    assert!(out.contains(" 0 failed"), "{out}");
}
