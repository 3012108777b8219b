//! `ffi-tests/golden.h` (the C tests' expected values) must be what
//! `ffi-tests/gen_golden.py` prints from the f64 reference kept beside it.
//! Regenerate with `python3 ffi-tests/gen_golden.py > ffi-tests/golden.h`.

use std::process::Command;

#[path = "support/clib.rs"]
mod clib;
use clib::{have, root, run};

#[test]
fn golden_header_is_what_the_generator_prints() {
    if !have("python3", "the golden.h staleness test") {
        return;
    }
    let fresh = run(Command::new("python3").arg(root().join("ffi-tests/gen_golden.py")));
    let checked_in = std::fs::read_to_string(root().join("ffi-tests/golden.h")).unwrap();
    assert!(
        checked_in == fresh,
        "ffi-tests/golden.h is stale: regenerate it with\n    python3 ffi-tests/gen_golden.py > ffi-tests/golden.h"
    );
}
