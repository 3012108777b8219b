//! Firmware fitness: stack use of every C function against a published
//! budget, code size per group of functions in the release and size-optimised
//! builds (each also a no-panic, no-libc link proof), and the pkg-config,
//! CMake and Makefile integrations built and run against the real library.
//!
//! `cargo test --release --test firmware -- --nocapture` prints the tables.

use std::process::Command;

#[path = "support/clib.rs"]
mod clib;
use clib::{Lib, out_dir, probe, root, run, staticlib, staticlib_size};

/// The stack budget per call published in README (x86-64 release build, the
/// deepest path of each function measured on a painted stack).
const STACK_BUDGET: usize = 2048;

fn stack_table(lib: &Lib, name: &str, budget: usize) -> String {
    let exe = out_dir().join(name);
    run(Command::new("cc")
        .args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-DSTACK_BUDGET={budget}"))
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("ffi-tests/stack_usage.c"))
        .arg(&lib.archive)
        .arg("-Wl,--gc-sections")
        .arg("-o")
        .arg(&exe));
    // Fails (non-zero exit) if any function is over the budget.
    run(&mut Command::new(&exe))
}

#[test]
fn stack_use_of_every_function_is_within_the_budget() {
    let table = stack_table(staticlib(), "stack-release", STACK_BUDGET);
    eprintln!("{table}");
    assert!(table.contains(" 0 failed"));
    assert!(table.lines().filter(|l| l.starts_with("stack mlcce_")).count() >= 18);
}

#[test]
fn code_size_per_group_release_and_size_optimised() {
    let groups: [(&str, Option<&[&str]>); 3] = [
        ("dense loss", Some(&["mlcce_loss"])),
        ("dense loss + gradient", Some(&["mlcce_loss", "mlcce_loss_grad"])),
        ("all functions", None),
    ];
    let mut table = String::from("| group | release (opt-level 3) | opt-level \"s\" |\n|---|---|---|\n");
    let mut totals = Vec::new();
    for (name, fns) in groups {
        let mut row = Vec::new();
        for (tag, lib) in [("o3", staticlib()), ("s", staticlib_size())] {
            let base = probe(lib, &format!("size-{tag}-base"), Some(&[]));
            let text = probe(lib, &format!("size-{tag}-{}", name.replace([' ', '+'], "")), fns);
            row.push(text - base);
        }
        table += &format!("| {name} | {} B | {} B |\n", row[0], row[1]);
        totals.push(row);
    }
    eprintln!("{table}");
    for pair in totals.windows(2) {
        assert!(pair[0][0] <= pair[1][0] && pair[0][1] <= pair[1][1], "groups grow");
    }
    assert!(totals[2][1] < totals[2][0], "the size-optimised build is smaller");
}

#[test]
fn pkg_config_cmake_and_make_integrations_build_and_run() {
    let prefix = out_dir().join("prefix");
    let script = root().join("ffi-tests/integration/build-c-lib.sh");
    run(Command::new("sh")
        .arg(&script)
        .arg(&prefix)
        .env("MLCCE_TARGET_DIR", root().join("target/ffi-staticlib"))
        .env_remove("RUSTFLAGS"));
    let pc_dir = prefix.join("lib/pkgconfig");
    let flags = run(Command::new("pkg-config").args(["--cflags", "--libs", "mlcce"]).env("PKG_CONFIG_PATH", &pc_dir));
    assert!(flags.contains("-lmlcce") && flags.contains("/include"), "{flags}");

    // Makefile + pkg-config.
    let app_make = out_dir().join("app-make");
    run(Command::new("make")
        .arg("-C")
        .arg(root().join("ffi-tests/integration/make"))
        .arg(format!("OUT={}", app_make.display()))
        .arg("-B")
        .env("PKG_CONFIG_PATH", &pc_dir));
    let out = run(&mut Command::new(&app_make));
    assert!(out.contains("loss 1.9803703"), "{out}");

    // CMake, IMPORTED static library.
    let build = out_dir().join("cmake-build");
    let _ = std::fs::remove_dir_all(&build);
    run(Command::new("cmake")
        .arg("-S")
        .arg(root().join("ffi-tests/integration/cmake"))
        .arg("-B")
        .arg(&build)
        .arg(format!("-DMLCCE_ROOT={}", prefix.display())));
    run(Command::new("cmake").arg("--build").arg(&build));
    let out = run(&mut Command::new(build.join("app")));
    assert!(out.contains("loss 1.9803703") && out.contains("row 0 1.8582001"), "{out}");
}
