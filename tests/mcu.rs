//! The C API run on emulated MCUs: `ffi-tests/mcu/main.rs`, linked with
//! `rust-lld` against the static library at opt-levels 3, s and z, runs on
//! QEMU (Cortex-M4F on `mps2-an386`, Cortex-M3 with soft float on
//! `mps2-an385`, RV32IMAFC on `virt`) with semihosting and `-icount`. It
//! calls every function of the C API; its results are checked here against
//! the f64 reference with the host tolerances (probabilities, predictions,
//! evaluation figures, strings and bad-input statuses: against the host
//! build's), and the
//! instructions per logit and stack per call it measured are printed
//! (`cargo test --release --test mcu -- --nocapture`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/clib.rs"]
mod clib;
mod common;

use clib::{out_dir, root, run};
use common::{IGNORE, assert_grad, assert_loss, ref_row_grad, ref_row_loss, ref_soft_row_grad, ref_soft_row_loss};

/// Instructions in the program's calibration loop.
const CALIB_INSTRUCTIONS: f64 = 200_000.0;

/// An emulated board and the Rust target built for it.
struct Board {
    name: &'static str,
    target: &'static str,
    qemu: &'static str,
    machine: &'static [&'static str],
    linker_script: &'static str,
    /// The counter ticks of the calibration loop under `-icount shift=0`
    /// (one instruction per ns): SysTick at 25 MHz ticks every 40
    /// instructions; `minstret` counts them (plus the 6 of its reads).
    calib_ticks: std::ops::RangeInclusive<u32>,
    /// The stack every function may use per call, at every opt-level
    /// (measured on any case: the deepest are the soft-target and
    /// GlobalPointer two-pass paths on a batch with huge logits).
    stack_budget: u32,
    /// The stack `mlcce_loss` and `mlcce_loss_grad` may use per call at
    /// every opt-level, on any case (rows of huge logits included).
    dense_budget: u32,
}

const CORTEX_M4F: Board = Board {
    name: "Cortex-M4F (thumbv7em-none-eabihf, mps2-an386)",
    target: "thumbv7em-none-eabihf",
    qemu: "qemu-system-arm",
    machine: &["-M", "mps2-an386", "-cpu", "cortex-m4"],
    linker_script: "mps2.ld",
    calib_ticks: 4_998..=5_002,
    // Measured at most 756 / 836 / 752 B at opt-levels 3 / s / z.
    stack_budget: 1024,
    // Measured at most 368 / 440, 384 / 456 and 464 / 504 B (loss / with
    // the gradient) at opt-levels 3, s and z.
    dense_budget: 512,
};

const CORTEX_M3: Board = Board {
    name: "Cortex-M3, soft float (thumbv7m-none-eabi, mps2-an385)",
    target: "thumbv7m-none-eabi",
    qemu: "qemu-system-arm",
    machine: &["-M", "mps2-an385", "-cpu", "cortex-m3"],
    linker_script: "mps2.ld",
    calib_ticks: 4_998..=5_002,
    // Soft-float `f64` and `f32` in integer registers: measured at most
    // 728 / 744 / 768 B.
    stack_budget: 1280,
    // Measured at most 376 / 440, 384 / 456 and 472 / 488 B.
    dense_budget: 640,
};

const RV32IMAFC: Board = Board {
    name: "RV32IMAFC (riscv32imafc-unknown-none-elf, virt)",
    target: "riscv32imafc-unknown-none-elf",
    qemu: "qemu-system-riscv32",
    machine: &["-M", "virt", "-cpu", "rv32,d=false", "-bios", "none"],
    linker_script: "virt.ld",
    calib_ticks: 200_000..=200_016,
    // Measured at most 796 / 828 / 796 B.
    stack_budget: 1024,
    // Measured at most 300 / 356, 316 / 376 and 396 / 444 B.
    dense_budget: 512,
};

struct Case {
    rows: usize,
    classes: usize,
    logits: Vec<f32>,
    labels: Vec<u8>,
}

/// A row of `n` logits (about 3·N(0,1)) with 5% positives and 3% ignored.
fn row(n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let logits = (0..n).map(|_| (((0..4).map(|_| next()).sum::<f64>() - 2.0) * 3.0 * 1.7) as f32).collect();
    let labels = (0..n)
        .map(|_| match next() {
            u if u < 0.05 => 1,
            u if u < 0.08 => IGNORE,
            _ => 0,
        })
        .collect();
    (logits, labels)
}

fn cases() -> Vec<Case> {
    let mut cases = vec![Case {
        rows: 3,
        classes: 4,
        logits: vec![0.9, 0.1, 0.8, 0.3, 0.3, 0.2, 0.5, 0.7, 0.7, 0.6, 0.1, 0.3],
        labels: vec![1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0],
    }];
    for (k, n) in [1usize, 31, 1000, 4099].into_iter().enumerate() {
        let (logits, labels) = row(n, k as u64 + 1);
        cases.push(Case { rows: 1, classes: n, logits, labels });
    }
    // Extreme logits: beyond the fast path's range, and f32's largest.
    let extreme = [1e4, -1e4, 88.5, -88.5, 200.0, -200.0, 3e38, -3e38, 1e-30, 0.0, 60.0, -60.0];
    let (mut logits, mut labels) = row(128, 9);
    for (k, x) in extreme.iter().enumerate() {
        logits[k * 10] = *x;
        labels[k * 10] = (k % 2) as u8;
    }
    cases.push(Case { rows: 2, classes: 64, logits, labels });
    cases
}

/// The cases as Rust source for the program (`include!`d).
fn cases_source(cases: &[Case]) -> String {
    let mut src = String::from("pub static CASES: &[Case] = &[\n");
    for c in cases {
        let logits: Vec<String> = c.logits.iter().map(|x| format!("f32::from_bits({:#x})", x.to_bits())).collect();
        let labels: Vec<String> = c.labels.iter().map(u8::to_string).collect();
        writeln!(
            src,
            "Case {{ rows: {}, classes: {}, logits: &[{}], labels: &[{}] }},",
            c.rows,
            c.classes,
            logits.join(","),
            labels.join(",")
        )
        .unwrap();
    }
    src + "];\n"
}

fn rust_lld() -> PathBuf {
    let text = |args: &[&str]| run(Command::new("rustc").args(args));
    let sysroot = text(&["--print", "sysroot"]);
    let host = text(&["-vV"]).lines().find_map(|l| l.strip_prefix("host: ").map(str::to_string)).expect("host");
    Path::new(sysroot.trim()).join("lib/rustlib").join(host).join("bin/rust-lld")
}

/// Builds the program against `lib` and runs it; returns its output.
fn run_on_qemu(board: &Board, lib: &Path, opt: &str, cases: &Path) -> String {
    let dir = out_dir();
    let obj = dir.join(format!("mcu-{}-{opt}.o", board.target));
    let elf = obj.with_extension("elf");
    run(Command::new("rustc")
        .args(["--edition", "2024", "--crate-type", "lib", "--crate-name", "mcu_test", "--target", board.target])
        .args(["-C", "opt-level=2", "-C", "panic=abort", "--emit", "obj", "-o"])
        .arg(&obj)
        .arg(root().join("ffi-tests/mcu/main.rs"))
        .env("MLCCE_MCU_CASES", cases)
        .env_remove("RUSTFLAGS"));
    run(Command::new(rust_lld())
        .args(["-flavor", "gnu", "--gc-sections", "-T"])
        .arg(root().join("ffi-tests/mcu").join(board.linker_script))
        .arg(&obj)
        .arg(lib)
        .arg("-o")
        .arg(&elf));
    run(Command::new("timeout")
        .args(["300", board.qemu])
        .args(board.machine)
        .args(["-nographic", "-monitor", "none", "-semihosting-config", "enable=on,target=native"])
        .args(["-icount", "shift=0", "-kernel"])
        .arg(&elf))
}

/// The fields after a line's tag.
fn fields<'a>(out: &'a str, tag: &str) -> impl Iterator<Item = Vec<&'a str>> {
    let tag = format!("{tag} ");
    out.lines().filter_map(move |l| l.strip_prefix(tag.as_str()).map(|r| r.split_whitespace().collect()))
}

fn bits(hex: &str) -> f32 {
    f32::from_bits(u32::from_str_radix(hex, 16).expect("hex bits"))
}

/// What the host build returns for the program's bad inputs, in its order.
fn host_bad_statuses(seed: &Case) -> Vec<u32> {
    use mlcce::ffi::{mlcce_loss, mlcce_loss_grad};
    let (x, y) = (seed.logits.as_ptr(), seed.labels.as_ptr());
    let mut bad_labels = seed.labels.clone();
    bad_labels[5] = 2;
    let mut nan_logits = seed.logits.clone();
    nan_logits[7] = f32::NAN;
    let mut out = 0.0f32;
    // SAFETY: every pointer is NULL or addresses what its length says.
    let statuses = unsafe {
        [
            mlcce_loss(std::ptr::null(), y, 3, 4, 1, &mut out),
            mlcce_loss(x, bad_labels.as_ptr(), 3, 4, 1, &mut out),
            mlcce_loss(nan_logits.as_ptr(), y, 3, 4, 1, &mut out),
            mlcce_loss(x, y, 3, 4, 9, &mut out),
            mlcce_loss(x, y, usize::MAX, 2, 1, &mut out),
            mlcce_loss_grad(x, y, 3, 4, 1, &mut out, std::ptr::null_mut()),
        ]
    };
    statuses.iter().map(|s| *s as u32).collect()
}

/// Runs the program on `board` at every opt-level and checks it.
fn check_board(board: &Board) {
    let test = format!("the {} run on QEMU", board.name);
    if !(clib::have_target(board.target, &test) && clib::have(board.qemu, &test)) {
        return;
    }
    let cases = cases();
    let cases_rs = out_dir().join(format!("mcu-cases-{}.rs", board.target));
    std::fs::write(&cases_rs, cases_source(&cases)).unwrap();
    let want_bad = host_bad_statuses(&cases[0]);
    let mut table = format!(
        "{} on QEMU -icount: instructions per logit and stack per call\n\
         | opt-level | case | mlcce_loss | mlcce_loss_grad | stream (chunks of 100, row 0) | mlcce_eval_update |\n\
         |---|---|---|---|---|---|\n",
        board.name
    );
    let mut table2 = String::from(
        "| opt-level | case | mlcce_sparse_loss_grad | mlcce_soft_loss_grad | mlcce_globalpointer_loss_grad (L*L logits) |\n\
         |---|---|---|---|---|\n",
    );
    let mut table3 = format!("| opt-level | case | {} |\n|---|---|{}\n", REST.join(" | "), "---|".repeat(REST.len()));
    // Instructions per logit on the 1000-class row, per function, at each
    // opt-level (in the order below).
    let mut costs: Vec<(&str, [f64; 3])> = vec![];
    for (o, opt) in ["3", "s", "z"].into_iter().enumerate() {
        let lib = clib::cross_staticlib(board.target, opt);
        let out = run_on_qemu(board, &lib, opt, &cases_rs);
        let what = |k: usize| format!("opt-level {opt}, case {k} ({}x{})", cases[k].rows, cases[k].classes);
        assert!(out.lines().any(|l| l == "done"), "opt-level {opt}: the program did not finish:\n{out}");

        // QEMU counted instructions (-icount), or the counts mean nothing.
        let calib: u32 = fields(&out, "calib").next().expect("calib line")[0].parse().unwrap();
        assert!(
            board.calib_ticks.contains(&calib),
            "opt-level {opt}: calibration {calib} ticks: not run with -icount?"
        );
        let per_tick = CALIB_INSTRUCTIONS / f64::from(calib);

        let losses: Vec<_> = fields(&out, "loss").collect();
        let grads: Vec<_> = fields(&out, "grad").collect();
        let gvals: Vec<_> = fields(&out, "g").collect();
        let streams: Vec<_> = fields(&out, "stream").collect();
        let evals: Vec<_> = fields(&out, "eval").collect();
        let others: Vec<[Vec<Vec<&str>>; 2]> = [("sparse", "sg"), ("soft", "tg"), ("gp", "pg")]
            .map(|(a, b)| [fields(&out, a).collect(), fields(&out, b).collect()])
            .into();
        // The rest of the API: a line per case and function (`REST_TAGS`).
        let rest: Vec<Vec<Vec<&str>>> = REST_TAGS.iter().map(|t| fields(&out, t).collect()).collect();
        let values: Vec<Vec<Vec<&str>>> = VALUE_TAGS.iter().map(|t| fields(&out, t).collect()).collect();
        for (tag, lines) in REST_TAGS.iter().chain(&VALUE_TAGS).zip(rest.iter().chain(&values)) {
            assert_eq!(lines.len(), cases.len(), "opt-level {opt}: {tag} lines:\n{out}");
        }
        check_strings(&out, board.stack_budget, opt);
        for (name, [l, g]) in ["sparse", "soft", "gp"].iter().zip(&others) {
            assert_eq!((l.len(), g.len()), (cases.len(), cases.len()), "opt-level {opt}: {name} lines:\n{out}");
        }
        for (what, n) in [("loss", losses.len()), ("grad", grads.len()), ("g", gvals.len())] {
            assert_eq!(n, cases.len(), "opt-level {opt}: {what} lines:\n{out}");
        }
        assert_eq!((streams.len(), evals.len()), (cases.len(), cases.len()), "opt-level {opt}:\n{out}");
        for (k, c) in cases.iter().enumerate() {
            let (l, g) = (&losses[k], &grads[k]);
            assert_eq!(
                (l[0], l[1], g[0], g[1]),
                (k.to_string().as_str(), "0", k.to_string().as_str(), "0"),
                "{}",
                what(k)
            );
            let rows: Vec<(&[f32], &[u8])> = c.logits.chunks(c.classes).zip(c.labels.chunks(c.classes)).collect();
            let want = rows.iter().map(|(s, y)| ref_row_loss(s, y)).sum::<f64>() / c.rows as f64;
            assert_loss(bits(l[2]), want, &format!("{}: mlcce_loss", what(k)));
            assert_loss(bits(g[2]), want, &format!("{}: mlcce_loss_grad's loss", what(k)));
            let want_g: Vec<f64> =
                rows.iter().flat_map(|(s, y)| ref_row_grad(s, y)).map(|g| g / c.rows as f64).collect();
            let got_g: Vec<f32> = gvals[k].iter().map(|h| bits(h)).collect();
            assert_grad(&got_g, &want_g, &format!("{}: mlcce_loss_grad", what(k)));
            if k == 0 {
                assert_eq!(bits(l[2]), 1.980_370_3, "opt-level {opt}: the seed loss");
            }
            // The stream of row 0, and the evaluation (figures as the host's).
            let (st, ev) = (&streams[k], &evals[k]);
            assert_eq!(st[1], "0", "{}: stream status", what(k));
            assert_loss(bits(st[2]), ref_row_loss(rows[0].0, rows[0].1), &format!("{}: stream of row 0", what(k)));
            assert_eq!(ev[1], "0", "{}: evaluation status", what(k));
            let (host_rows, host_figures) = host_eval(c);
            assert_eq!(ev[4].parse::<u64>().unwrap(), host_rows, "{}: evaluation rows", what(k));
            let figures: Vec<f32> = ev[5..].iter().map(|h| bits(h)).collect();
            assert_loss(figures[0], want, &format!("{}: evaluation mean loss", what(k)));
            assert_eq!(figures[1..], host_figures[1..], "{}: evaluation figures (MCU vs host)", what(k));

            // Sparse, soft and GlobalPointer forms of the case (see main.rs).
            let (mut extra_stacks, mut extra_costs) = (vec![], vec![]);
            for ((name, [l, g]), (want, want_g)) in
                ["mlcce_sparse_loss_grad", "mlcce_soft_loss_grad", "mlcce_globalpointer_loss_grad"]
                    .iter()
                    .zip(&others)
                    .zip(other_forms(c))
            {
                let (l, g) = (&l[k], &g[k]);
                assert_eq!((l[0], l[1]), (k.to_string().as_str(), "0"), "{}: {name} status", what(k));
                assert_loss(bits(l[2]), want, &format!("{}: {name}'s loss", what(k)));
                let got_g: Vec<f32> = g.iter().map(|h| bits(h)).collect();
                assert_grad(&got_g, &want_g, &format!("{}: {name}", what(k)));
                extra_stacks.push((*name, l[4]));
                let cost = l[3].parse::<f64>().unwrap() * per_tick / g.len().max(1) as f64;
                if (c.rows, c.classes) == (1, 1000) {
                    note_cost(&mut costs, name, o, cost);
                }
                extra_costs.push(format!("{cost:.0} instr/logit, {} B", l[4]));
            }
            writeln!(table2, "| {opt} | {}x{} | {} |", c.rows, c.classes, extra_costs.join(" | ")).unwrap();

            // The rest of the API (see main.rs): every call's status, its
            // results against the f64 reference (probabilities and
            // predictions: the host build's), its stack.
            let [sparse, soft, gp] = other_forms(c);
            let row0 = ref_row_loss(rows[0].0, rows[0].1);
            // The losses the calls write (NaN: none).
            let nan = f64::NAN;
            let want_losses = [sparse.0, soft.0, gp.0, row0, nan, nan, nan, nan, nan, want, nan, nan];
            for ((name, lines), want) in REST.iter().zip(&rest).zip(want_losses) {
                let l = &lines[k];
                assert_eq!((l[0], l[1]), (k.to_string().as_str(), "0"), "{}: {name} status", what(k));
                if !want.is_nan() {
                    assert_loss(bits(l[2]), want, &format!("{}: {name}'s loss", what(k)));
                }
                extra_stacks.push((*name, l[4]));
            }
            let stacks: Vec<String> = rest.iter().map(|lines| format!("{} B", lines[k][4])).collect();
            writeln!(table3, "| {opt} | {}x{} | {} |", c.rows, c.classes, stacks.join(" | ")).unwrap();
            let got = |v: &Vec<Vec<&str>>| -> Vec<f32> { v[k].iter().map(|h| bits(h)).collect() };
            let mut want_p = vec![0.0f32; c.logits.len()];
            mlcce::probabilities(&c.logits, &mut want_p).unwrap();
            assert_eq!(got(&values[0]), want_p, "{}: mlcce_probabilities (MCU vs host)", what(k));
            // Within 4 `f32` ulps of σ(2s) (an `expf` and three roundings).
            for (p, s) in want_p.iter().zip(&c.logits) {
                let exact = 1.0 / (1.0 + (-2.0 * f64::from(*s)).exp());
                let err = (f64::from(*p) - exact).abs();
                assert!(err <= 4.8e-7 * exact + 1e-45, "{}: σ(2·{s}) = {p}, f64 {exact}", what(k));
            }
            let want_pd: String = c.logits.iter().map(|s| if *s > 0.0 { '1' } else { '0' }).collect();
            assert_eq!(values[1][k], [want_pd.as_str()], "{}: mlcce_predict", what(k));
            assert_grad(&got(&values[2]), &want_g, &format!("{}: mlcce_shard_grad (two shards)", what(k)));
            assert_grad(&got(&values[3]), &sparse.1, &format!("{}: mlcce_shard_grad_sparse (two shards)", what(k)));
            let ok = &values[4][k];
            assert_eq!((ok[0], ok[1]), (k.to_string().as_str(), "0"), "{}: the other shard calls", what(k));
            assert_loss(bits(ok[2]), sparse.0, &format!("{}: mlcce_shard_loss of sparse shards", what(k)));

            let budget = board.stack_budget;
            for (name, bytes) in [("mlcce_loss", l[4]), ("mlcce_loss_grad", g[4]), ("the stream", st[4])]
                .into_iter()
                .chain(extra_stacks.iter().copied())
                .chain([("mlcce_eval_update", ev[3])])
            {
                let bytes: u32 = bytes.parse().unwrap();
                assert!(bytes <= budget, "{}: {name} used {bytes} B of stack (budget {budget} B)", what(k));
            }
            let budget = board.dense_budget;
            for (name, bytes) in [("mlcce_loss", l[4]), ("mlcce_loss_grad", g[4])] {
                let bytes: u32 = bytes.parse().unwrap();
                assert!(bytes <= budget, "{}: {name} used {bytes} B of stack (budget {budget} B)", what(k));
            }

            let cells = (c.rows * c.classes) as f64;
            let per_logit = |ticks: &str, n: f64| ticks.parse::<f64>().unwrap() * per_tick / n;
            if (c.rows, c.classes) == (1, 1000) {
                for (name, cost) in [
                    ("mlcce_loss", per_logit(l[3], cells)),
                    ("mlcce_loss_grad", per_logit(g[3], cells)),
                    ("the stream", per_logit(st[3], c.classes as f64)),
                    ("mlcce_eval_update", per_logit(ev[2], cells)),
                ] {
                    note_cost(&mut costs, name, o, cost);
                }
            }
            writeln!(
                table,
                "| {opt} | {}x{} | {:.0} instr/logit, {} B | {:.0} instr/logit, {} B | {:.0} instr/logit, {} B | {:.0} instr/logit, {} B |",
                c.rows,
                c.classes,
                per_logit(l[3], cells),
                l[4],
                per_logit(g[3], cells),
                g[4],
                per_logit(st[3], c.classes as f64),
                st[4],
                per_logit(ev[2], cells),
                ev[3]
            )
            .unwrap();
        }
        let got_bad: Vec<u32> = fields(&out, "bad").map(|f| f[1].parse().unwrap()).collect();
        assert_eq!(got_bad, want_bad, "opt-level {opt}: bad-input statuses (MCU vs host)");
        // A failed evaluation update (bad label, NaN logit) changes nothing,
        // and the counts (threshold 0.5) are the host's.
        let undo: Vec<Vec<&str>> = fields(&out, "undo").collect();
        let mut want = vec!["0".to_string(), "3".into(), "4".into(), "1".into()];
        want.extend(host_counts(&cases[0], 0.5).iter().map(u64::to_string));
        assert_eq!(undo, [want], "opt-level {opt}: failed evaluation updates (statuses, unchanged, counts)");
    }
    eprintln!("{table}\n{table2}\nStack per call of the rest of the API:\n{table3}");
    // Opt-levels s and z, for size, run at most 1.5x the instructions of
    // opt-level 3.
    assert!(costs.len() >= 7, "costs of the 1000-class row: {costs:?}");
    for (name, [o3, s, z]) in &costs {
        for (opt, cost) in [("s", s), ("z", z)] {
            assert!(
                *cost <= 1.5 * o3,
                "{}: {name} at opt-level {opt}: {cost:.1} instr/logit, over 1.5x opt-level 3's {o3:.1}",
                board.name
            );
        }
    }
    // The evaluation counts within 1.3x the loss alone at opt-level 3.
    let cost = |name: &str| costs.iter().find(|(n, _)| *n == name).map_or(f64::NAN, |(_, c)| c[0]);
    let (eval, loss) = (cost("mlcce_eval_update"), cost("mlcce_loss"));
    assert!(
        eval <= 1.3 * loss,
        "{}: mlcce_eval_update {eval:.1} instr/logit at opt-level 3, over 1.3x mlcce_loss's {loss:.1}",
        board.name
    );
}

#[test]
fn the_mcu_program_calls_every_function_of_the_header() {
    let program = std::fs::read_to_string(root().join("ffi-tests/mcu/main.rs")).unwrap();
    let calls = |f: &str| program.matches(&format!("{f}(")).count();
    // Declared once, called at least once.
    let missing: Vec<String> = clib::header_functions().into_iter().filter(|f| calls(f) < 2).collect();
    assert!(missing.is_empty(), "not run on the emulated MCUs: {missing:?}");
}

/// The rest of the C API as the program runs it (`main.rs`), its line tags
/// in the same order (the shard calls: the first shard's).
const REST: [&str; 12] = [
    "mlcce_sparse_loss",
    "mlcce_soft_loss",
    "mlcce_globalpointer_loss",
    "mlcce_stream_merge",
    "mlcce_probabilities",
    "mlcce_predict",
    "mlcce_shard_states",
    "mlcce_shard_states_sparse",
    "mlcce_shard_merge",
    "mlcce_shard_loss",
    "mlcce_shard_grad",
    "mlcce_shard_grad_sparse",
];
const REST_TAGS: [&str; 12] =
    ["sloss", "tloss", "ploss", "smerge", "prob", "pred", "hst", "hss", "hmg", "hls", "hgr", "hsgr"];
/// The program's value lines of the rest of the API: probabilities,
/// predictions, the two shards' gradients (dense, sparse), the other shard
/// calls' statuses and the sparse shards' loss.
const VALUE_TAGS: [&str; 5] = ["pb", "pd", "hg", "hsg", "hok"];

/// The program's `strings` and `str` lines: the version and the status
/// texts as the host build's (spaces written as `_`), within `budget` B
/// of stack.
fn check_strings(out: &str, budget: u32, opt: &str) {
    let stack: u32 = fields(out, "strings").next().expect("strings line")[0].parse().unwrap();
    assert!(stack <= budget, "opt-level {opt}: mlcce_version and mlcce_status_str used {stack} B of stack");
    let text = |p: *const std::ffi::c_char| {
        // SAFETY: the library returns static NUL-terminated strings.
        unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap().replace(' ', "_")
    };
    let mut want = vec![text(mlcce::ffi::mlcce_version())];
    want.extend((0..7).chain([99]).map(|code| text(mlcce::ffi::mlcce_status_str(code))));
    let got: Vec<String> = fields(out, "str").map(|f| f[1..].join(" ")).collect();
    assert_eq!(got, want, "opt-level {opt}: version and status texts (MCU vs host)");
    assert_eq!(want[0], env!("CARGO_PKG_VERSION"));
}

/// Records `cost` as `name`'s at the `o`-th opt-level.
fn note_cost<'a>(costs: &mut Vec<(&'a str, [f64; 3])>, name: &'a str, o: usize, cost: f64) {
    match costs.iter_mut().find(|(n, _)| *n == name) {
        Some((_, c)) => c[o] = cost,
        None => {
            let mut c = [f64::NAN; 3];
            c[o] = cost;
            costs.push((name, c));
        }
    }
}

/// The f64 reference losses and gradients of the program's sparse, soft
/// and GlobalPointer forms of `c` (see `main.rs`).
fn other_forms(c: &Case) -> [(f64, Vec<f64>); 3] {
    let rows: Vec<(&[f32], &[u8])> = c.logits.chunks(c.classes).zip(c.labels.chunks(c.classes)).collect();
    let n = c.rows as f64;
    type Reference<'a> = &'a dyn Fn(&[f32], &[u8]) -> (f64, Vec<f64>);
    let mean = |f: Reference| {
        let (mut loss, mut grad) = (0.0, vec![]);
        for (s, y) in &rows {
            let (l, g) = f(s, y);
            loss += l / n;
            grad.extend(g.iter().map(|g| g / n));
        }
        (loss, grad)
    };
    let sparse = mean(&|s, y| {
        let y: Vec<u8> = y.iter().map(|&l| u8::from(l == 1)).collect();
        (ref_row_loss(s, &y), ref_row_grad(s, &y))
    });
    let soft = mean(&|s, y| {
        let t: Vec<f32> = y.iter().map(|&l| [0.0, 1.0].get(usize::from(l)).copied().unwrap_or(0.25)).collect();
        (ref_soft_row_loss(s, &t), ref_soft_row_grad(s, &t))
    });
    // One head: the valid triangle's cells as one row.
    let cells = c.rows * c.classes;
    let l = (0..=cells).take_while(|r| r * r <= cells).last().unwrap_or(0);
    let len = if l > 2 { l - 1 } else { l };
    let tri: Vec<usize> = (0..len).flat_map(|i| (i..len).map(move |j| i * l + j)).collect();
    let s: Vec<f32> = tri.iter().map(|&k| c.logits[k]).collect();
    let y: Vec<u8> = tri.iter().map(|&k| u8::from(c.labels[k] == 1)).collect();
    let mut grad = vec![0.0; l * l];
    for (&k, g) in tri.iter().zip(ref_row_grad(&s, &y)) {
        grad[k] = g;
    }
    [sparse, soft, (ref_row_loss(&s, &y), grad)]
}

/// The host build's evaluation report of `c` after two updates with it (as
/// the program does), as the program prints it: rows, then the figures.
fn host_eval(c: &Case) -> (u64, [f32; 7]) {
    let mut counts = vec![mlcce::ClassCounts::default(); c.classes];
    let mut e = mlcce::Evaluator::new(&mut counts, 0.0).unwrap();
    for _ in 0..2 {
        e.update(c.rows, &c.logits, &c.labels).unwrap();
    }
    let r = e.report();
    let f = [r.mean_loss, r.micro_precision, r.micro_recall, r.micro_f1, r.macro_f1, r.hamming_loss, r.subset_accuracy];
    (r.rows, f)
}

/// The host build's per-class counts (true and false positives, false and
/// true negatives) of one update with `c` at `threshold`.
fn host_counts(c: &Case, threshold: f32) -> Vec<u64> {
    let mut counts = vec![mlcce::ClassCounts::default(); c.classes];
    mlcce::Evaluator::new(&mut counts, threshold).unwrap().update(c.rows, &c.logits, &c.labels).unwrap();
    counts.iter().flat_map(|k| [k.true_pos, k.false_pos, k.false_neg, k.true_neg]).collect()
}

#[test]
#[cfg_attr(miri, ignore)]
fn c_api_runs_on_an_emulated_cortex_m4f_at_every_opt_level() {
    check_board(&CORTEX_M4F);
}

#[test]
#[cfg_attr(miri, ignore)]
fn c_api_runs_on_an_emulated_cortex_m3_with_soft_float_at_every_opt_level() {
    check_board(&CORTEX_M3);
}

#[test]
#[cfg_attr(miri, ignore)]
fn c_api_runs_on_an_emulated_rv32imafc_at_every_opt_level() {
    check_board(&RV32IMAFC);
}
