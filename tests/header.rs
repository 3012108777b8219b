//! `include/mlcce.h` must be what cbindgen generates from the sources now.
//! Regenerate with `MLCCE_REGENERATE_HEADER=1 cargo test --test header`.

use std::path::Path;

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let version = env!("CARGO_PKG_VERSION");
    let [major, minor, patch] =
        [env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH")];
    config.after_includes = Some(format!(
        "\n#define MLCCE_VERSION \"{version}\"\n#define MLCCE_VERSION_MAJOR {major}\n#define MLCCE_VERSION_MINOR {minor}\n#define MLCCE_VERSION_PATCH {patch}"
    ));
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed")
        .write(&mut out);
    String::from_utf8(out).expect("utf-8 header")
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/mlcce.h");
    let fresh = generate();
    if std::env::var_os("MLCCE_REGENERATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write include/mlcce.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "include/mlcce.h is stale: regenerate it with\n    MLCCE_REGENERATE_HEADER=1 cargo test --test header\nand commit it"
    );
}
