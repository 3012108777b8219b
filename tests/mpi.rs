//! `examples/mpi/run.sh`: the class-sharded loss and the row-split
//! evaluation over real MPI ranks (1, 2 and 4), against the single-process
//! calls. Needs Open MPI (`mpicc`, `mpirun`; `bash .ci/test` installs it).

use std::process::Command;

#[path = "support/clib.rs"]
mod clib;
use clib::{have, root};

#[test]
fn sharded_mpi_runs_match_the_single_process_calls() {
    let test = "the MPI example (examples/mpi/run.sh)";
    if !(have("mpicc", test) && have("mpirun", test)) {
        return;
    }
    let out = Command::new("bash").arg(root().join("examples/mpi/run.sh")).output().expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "examples/mpi/run.sh failed:\n{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let worst: f64 = last
        .strip_prefix("max rel diff vs single process: ")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no closing line:\n{text}"));
    assert!(worst <= 2e-6, "{last}");
    for n in [1, 2, 4] {
        assert!(stdout.contains(&format!("dense 256 x 100003         {n} ranks")), "no {n}-rank run:\n{text}");
    }
    eprintln!("{stdout}");
}
