//! The bare-metal test program of `tests/mcu.rs`: runs the C API of the
//! static library on an emulated MCU (QEMU, semihosting) and prints what it
//! got, for the host to check against its f64 reference.
//!
//! Built as an object (`--crate-type lib --emit obj`: no panic handler of
//! its own, the library's is the only one) and linked with `rust-lld`
//! against `libmlcce.a`; the cases come from the host, generated into the
//! file named by `MLCCE_MCU_CASES` when this is compiled.
//!
//! Output, one line each (numbers in hex are `f32` bits):
//! `calib <ticks>` (counter ticks of a loop of 200000 instructions: the
//! host checks that QEMU counted instructions, `-icount`), then per case
//! `loss <case> <status> <bits> <ticks> <stack>`, `grad <case> <status>
//! <loss bits> <ticks> <stack>` and `g <bits> ...` (the gradient), `stream
//! <case> <status> <loss bits> <ticks> <stack>` (row 0 in chunks), `eval
//! <case> <status> <ticks> <stack> <rows> <figure bits> ...` (the report
//! after two updates with the batch), `sparse`, `soft` and `gp` lines as
//! `grad`'s with `sg`, `tg` and `pg` gradients (the case's labels as
//! sparse positives, as soft targets with 0.25 for ignored cells, and as
//! one GlobalPointer head over its first `L*L` logits, length `L - 1`),
//! `sloss`, `tloss` and `ploss` as `loss` (the same three forms, loss
//! only), `smerge` (row 0 as two streams merged), `prob` with `pb` values
//! and `pred` with `pd` (the predictions as one string of 0 and 1), the
//! class shards' `hst`, `hss`, `hmg`, `hls`, `hgr`, `hsgr` (each as
//! `loss`) with the shards' gradients `hg` and `hsg` and `hok <case>
//! <status> <sparse loss bits>`; then `strings <stack>` and `str <k>
//! <text>` (the version, then the status texts, spaces as `_`), per bad
//! input `bad <k> <status>`, a failed evaluation update's `undo` line, and
//! `done`. `<stack>`: the bytes below the stack pointer at the call that
//! the call used (see `stack_of`).
#![no_std]
#![allow(clippy::missing_safety_doc)]

include!(env!("MLCCE_MCU_CASES"));

/// One batch: `rows * classes` logits and labels.
pub struct Case {
    pub rows: usize,
    pub classes: usize,
    pub logits: &'static [f32],
    pub labels: &'static [u8],
}

unsafe extern "C" {
    fn mlcce_loss(
        logits: *const f32,
        labels: *const u8,
        rows: usize,
        classes: usize,
        reduction: u32,
        out: *mut f32,
    ) -> u32;
    fn mlcce_loss_grad(
        logits: *const f32,
        labels: *const u8,
        rows: usize,
        classes: usize,
        reduction: u32,
        loss_out: *mut f32,
        grad: *mut f32,
    ) -> u32;
}

/// `mlcce_stream`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Stream {
    pub state: [f32; 4],
}

/// `mlcce_class_counts`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ClassCounts {
    pub counts: [u64; 4],
}

/// `mlcce_eval`.
#[repr(C)]
pub struct Eval {
    pub rows: u64,
    pub exact: u64,
    pub loss_sum: f64,
    pub classes: usize,
    pub threshold: f32,
    pub per_class: *mut ClassCounts,
}

/// `mlcce_report`: rows, then mean loss, micro precision, recall and F1,
/// macro F1, Hamming loss, subset accuracy.
#[repr(C)]
pub struct Report {
    pub rows: u64,
    pub figures: [f32; 7],
}

unsafe extern "C" {
    fn mlcce_sparse_loss_grad(
        logits: *const f32,
        rows: usize,
        classes: usize,
        positives: *const u32,
        offsets: *const usize,
        reduction: u32,
        loss_out: *mut f32,
        grad: *mut f32,
    ) -> u32;
    fn mlcce_soft_loss_grad(
        logits: *const f32,
        targets: *const f32,
        rows: usize,
        classes: usize,
        reduction: u32,
        loss_out: *mut f32,
        grad: *mut f32,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn mlcce_globalpointer_loss_grad(
        logits: *const f32,
        batch: usize,
        heads: usize,
        max_len: usize,
        lengths: *const u32,
        spans: *const u32,
        offsets: *const usize,
        reduction: u32,
        loss_out: *mut f32,
        grad: *mut f32,
    ) -> u32;
}

unsafe extern "C" {
    fn mlcce_sparse_loss(
        logits: *const f32,
        rows: usize,
        classes: usize,
        positives: *const u32,
        offsets: *const usize,
        reduction: u32,
        out: *mut f32,
    ) -> u32;
    fn mlcce_soft_loss(
        logits: *const f32,
        targets: *const f32,
        rows: usize,
        classes: usize,
        reduction: u32,
        out: *mut f32,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn mlcce_globalpointer_loss(
        logits: *const f32,
        batch: usize,
        heads: usize,
        max_len: usize,
        lengths: *const u32,
        spans: *const u32,
        offsets: *const usize,
        reduction: u32,
        out: *mut f32,
    ) -> u32;
    fn mlcce_probabilities(logits: *const f32, n: usize, out: *mut f32) -> u32;
    fn mlcce_predict(logits: *const f32, rows: usize, classes: usize, threshold: f32, out: *mut u8) -> u32;
    fn mlcce_status_str(status: i32) -> *const u8;
    fn mlcce_version() -> *const u8;
}

unsafe extern "C" {
    fn mlcce_shard_states(
        logits: *const f32,
        labels: *const u8,
        rows: usize,
        shard_classes: usize,
        states: *mut Stream,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn mlcce_shard_states_sparse(
        logits: *const f32,
        rows: usize,
        shard_classes: usize,
        first_class: usize,
        classes: usize,
        positives: *const u32,
        offsets: *const usize,
        states: *mut Stream,
    ) -> u32;
    fn mlcce_shard_merge(src: *const Stream, inout: *mut Stream, n: usize) -> u32;
    fn mlcce_shard_loss(states: *const Stream, rows: usize, reduction: u32, out: *mut f32) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn mlcce_shard_grad(
        logits: *const f32,
        labels: *const u8,
        rows: usize,
        shard_classes: usize,
        states: *const Stream,
        reduction: u32,
        grad: *mut f32,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn mlcce_shard_grad_sparse(
        logits: *const f32,
        rows: usize,
        shard_classes: usize,
        first_class: usize,
        classes: usize,
        positives: *const u32,
        offsets: *const usize,
        states: *const Stream,
        reduction: u32,
        grad: *mut f32,
    ) -> u32;
}

unsafe extern "C" {
    fn mlcce_stream_init(s: *mut Stream) -> u32;
    fn mlcce_stream_update(s: *mut Stream, logits: *const f32, labels: *const u8, n: usize) -> u32;
    fn mlcce_stream_loss(s: *const Stream, loss: *mut f32) -> u32;
    fn mlcce_stream_merge(s: *mut Stream, other: *const Stream) -> u32;
    fn mlcce_eval_init(e: *mut Eval, per_class: *mut ClassCounts, classes: usize, threshold: f32) -> u32;
    fn mlcce_eval_update(e: *mut Eval, logits: *const f32, labels: *const u8, rows: usize) -> u32;
    fn mlcce_eval_report(e: *const Eval, out: *mut Report) -> u32;
}

const MEAN: u32 = 1;
/// Classes a stream update takes at a time.
const CHUNK: usize = 100;
/// The largest row of the cases (the gradient buffer lives on the stack).
const MAX_CELLS: usize = 4200;
/// The most rows of a case.
const MAX_ROWS: usize = 8;

// ---- the target: start, semihosting, instruction counter ----------------

#[cfg(target_arch = "arm")]
mod arch {
    use core::arch::asm;

    const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
    const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
    const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;

    /// The FPU on (where there is one) and SysTick free running on the
    /// processor clock. (The vector table of `mps2.ld` starts `reset`.)
    pub fn init() {
        // SAFETY: the Cortex-M system registers: CPACR (full access to CP10
        // and CP11; ignored without an FPU) and SysTick.
        unsafe {
            let cpacr = 0xE000_ED88 as *mut u32;
            cpacr.write_volatile(cpacr.read_volatile() | (0xF << 20));
            asm!("dsb", "isb");
            SYST_RVR.write_volatile(0x00FF_FFFF);
            SYST_CVR.write_volatile(0);
            SYST_CSR.write_volatile(5);
        }
    }

    /// The semihosting call (`bkpt 0xab`, operation in r0, argument in r1).
    pub fn semihost(op: usize, arg: usize) -> usize {
        let r: usize;
        // SAFETY: served by QEMU's `-semihosting`.
        unsafe { asm!("bkpt #0xab", inout("r0") op => r, in("r1") arg, options(nostack)) };
        r
    }

    /// SysTick, counting up (it counts down, 24 bits): with `-icount
    /// shift=0` on the 25 MHz mps2 boards, one tick is 40 instructions.
    pub fn count() -> u32 {
        // SAFETY: SysTick's current-value register, always mapped.
        0x00FF_FFFF - unsafe { SYST_CVR.read_volatile() }
    }

    pub fn elapsed(from: u32, to: u32) -> u32 {
        to.wrapping_sub(from) & 0x00FF_FFFF
    }

    pub fn sp() -> usize {
        let sp: usize;
        // SAFETY: reads the stack pointer.
        unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
        sp
    }

    /// 200000 instructions: 2 a turn, 100000 turns.
    pub fn calibration_loop() {
        // SAFETY: a register-only loop.
        unsafe { asm!("1:", "subs {n}, #1", "bne 1b", n = inout(reg) 100_000u32 => _, options(nomem, nostack)) };
    }
}

#[cfg(target_arch = "riscv32")]
mod arch {
    use core::arch::{asm, global_asm};

    // The entry (`virt.ld`): the stack at the top of RAM, the FPU on
    // (mstatus.FS = initial), then `reset`.
    global_asm!(
        ".section .text.start, \"ax\"",
        ".global _start",
        "_start:",
        "la sp, __stack_top",
        "li t0, 0x2000",
        "csrs mstatus, t0",
        "call reset",
        "1: j 1b",
    );

    pub fn init() {}

    /// The semihosting call of the RISC-V spec: `ebreak` between two
    /// uncompressed marker instructions, operation in a0, argument in a1.
    pub fn semihost(op: usize, arg: usize) -> usize {
        let r: usize;
        // SAFETY: served by QEMU's `-semihosting`.
        unsafe {
            asm!(
                ".option push",
                ".option norvc",
                ".balign 16",
                "slli x0, x0, 0x1f",
                "ebreak",
                "srai x0, x0, 7",
                ".option pop",
                inout("a0") op => r,
                in("a1") arg,
                options(nostack)
            )
        };
        r
    }

    /// `minstret`: instructions retired (exact under `-icount`).
    pub fn count() -> u32 {
        let c: u32;
        // SAFETY: reads a counter CSR (machine mode).
        unsafe { asm!("csrr {}, minstret", out(reg) c, options(nomem, nostack)) };
        c
    }

    pub fn elapsed(from: u32, to: u32) -> u32 {
        to.wrapping_sub(from)
    }

    pub fn sp() -> usize {
        let sp: usize;
        // SAFETY: reads the stack pointer.
        unsafe { asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
        sp
    }

    /// 200000 instructions: 2 a turn, 100000 turns.
    pub fn calibration_loop() {
        // SAFETY: a register-only loop.
        unsafe {
            asm!("1:", "addi {n}, {n}, -1", "bnez {n}, 1b", n = inout(reg) 100_000u32 => _, options(nomem, nostack))
        };
    }
}

use arch::semihost;
use core::cell::Cell;

/// A line of output, written with one SYS_WRITE0 call.
struct Line {
    buf: [u8; 160],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line { buf: [0; 160], len: 0 }
    }
    fn text(&mut self, s: &[u8]) -> &mut Line {
        for &c in s {
            if self.len + 2 >= self.buf.len() {
                self.flush();
            }
            if let Some(b) = self.buf.get_mut(self.len) {
                *b = c;
                self.len += 1;
            }
        }
        self
    }
    fn hex(&mut self, v: u32) -> &mut Line {
        let mut d = [0u8; 9];
        d[0] = b' ';
        for (i, c) in d.iter_mut().skip(1).enumerate() {
            let n = ((v >> (28 - 4 * i)) & 0xf) as u8;
            *c = if n < 10 { b'0' + n } else { b'a' + n - 10 };
        }
        self.text(&d)
    }
    fn dec(&mut self, mut v: u32) -> &mut Line {
        // Digits from the right, then a space before them.
        let mut d = [b' '; 11];
        let mut used = 1;
        for c in d.iter_mut().rev() {
            *c = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
            used += 1;
        }
        let start = d.len() - used - 1;
        self.text(d.get(start..).unwrap_or(&[]))
    }
    /// Writes what is buffered (a long line goes out in pieces).
    fn flush(&mut self) {
        if let Some(b) = self.buf.get_mut(self.len) {
            *b = 0;
            semihost(0x04, self.buf.as_ptr() as usize);
        }
        self.len = 0;
    }
    fn end(&mut self) {
        self.text(b"\n");
        self.flush();
    }
}

fn exit(ok: bool) -> ! {
    // SYS_EXIT: ADP_Stopped_ApplicationExit (0x20026) or RunTimeErrorUnknown.
    semihost(0x18, if ok { 0x20026 } else { 0x20023 });
    loop {}
}

/// The counter ticks of `f` (see `arch::count`).
fn timed(f: &mut dyn FnMut()) -> u32 {
    let t0 = arch::count();
    f();
    arch::elapsed(t0, arch::count())
}

/// Runs `f` (a call that returns a status and writes one loss into its
/// argument) counted, then again on a painted stack, and prints `<tag>
/// <case> <status> <loss bits> <ticks> <stack>`.
fn measure(line: &mut Line, tag: &[u8], k: usize, mut f: impl FnMut(&mut f32) -> u32) {
    let (mut status, mut out) = (0u32, 0.0f32);
    let mut run = |at: &Cell<usize>| {
        at.set(arch::sp());
        status = f(&mut out);
    };
    let t = timed(&mut || run(&Cell::new(0)));
    let s = stack_of(&mut run);
    line.text(tag).dec(k as u32).dec(status).hex(out.to_bits()).dec(t).dec(s).end();
}

/// A line of `n` gradient values.
fn print_grad(line: &mut Line, tag: &[u8], grad: &[f32], n: usize) {
    line.text(tag);
    for v in grad.iter().take(n) {
        line.hex(v.to_bits());
    }
    line.end();
}

/// Copies the columns `from..from + w` of `c`'s rows into `x` and `y`
/// (row-major, `w` a row).
fn columns(c: &Case, from: usize, w: usize, x: &mut [f32], y: &mut [u8]) {
    for r in 0..c.rows {
        let row = r * c.classes + from;
        for j in 0..w {
            if let (Some(d), Some(s)) = (x.get_mut(r * w + j), c.logits.get(row + j)) {
                *d = *s;
            }
            if let (Some(d), Some(s)) = (y.get_mut(r * w + j), c.labels.get(row + j)) {
                *d = *s;
            }
        }
    }
}

/// Puts a shard's gradient (`rows * w`, [`columns`]' layout) back in
/// place in `grad` (the batch's layout).
fn put_back(c: &Case, from: usize, w: usize, shard: &[f32], grad: &mut [f32]) {
    for r in 0..c.rows {
        for j in 0..w {
            if let (Some(d), Some(s)) = (grad.get_mut(r * c.classes + from + j), shard.get(r * w + j)) {
                *d = *s;
            }
        }
    }
}

/// `⌊√n⌋`.
fn isqrt(n: usize) -> usize {
    let mut r = 0;
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

// ---- stack high-water mark ----------------------------------------------

const PAINT: u32 = 0xA5C3_5A3C;
const PAINTED: usize = 16 * 1024;

/// The stack the calls of `f` used: the words below this function's frame
/// are painted, `f` runs and sets its argument to the stack pointer it
/// makes its calls with (the callee's stack starts there), and the bytes
/// from there down to the deepest word changed are the calls' stack. (The
/// callee's own frame and everything it calls; `f`'s frame, above that
/// pointer, is not counted.)
#[inline(never)]
fn stack_of(f: &mut dyn FnMut(&Cell<usize>)) -> u32 {
    let top = arch::sp();
    let bottom = top - PAINTED;
    let mut a = bottom;
    while a < top {
        // SAFETY: the free stack below this frame (RAM is 4 MiB or more).
        unsafe { (a as *mut u32).write_volatile(PAINT) };
        a += 4;
    }
    let at = Cell::new(top);
    f(&at);
    let mut a = bottom;
    // SAFETY: as above.
    while a < top && unsafe { (a as *const u32).read_volatile() } == PAINT {
        a += 4;
    }
    at.get().saturating_sub(a) as u32
}

// ---- the run --------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn reset() -> ! {
    arch::init();
    let mut line = Line::new();
    let calib = timed(&mut arch::calibration_loop);
    line.text(b"calib").dec(calib).end();

    let mut grad = [0.0f32; MAX_CELLS];
    let mut per_class = [ClassCounts { counts: [0; 4] }; MAX_CELLS];
    let mut ok = true;
    for (k, c) in CASES.iter().enumerate() {
        let n = c.rows * c.classes;
        if n > MAX_CELLS || c.rows > MAX_ROWS || c.logits.len() != n || c.labels.len() != n {
            ok = false;
            continue;
        }
        let (x, y) = (c.logits.as_ptr(), c.labels.as_ptr());
        // SAFETY: the case's buffers hold `n` cells; `out` one value.
        measure(&mut line, b"loss", k, |out| unsafe { mlcce_loss(x, y, c.rows, c.classes, MEAN, out) });

        let g = grad.as_mut_ptr();
        // SAFETY: as above, and `grad` holds MAX_CELLS >= n values.
        measure(&mut line, b"grad", k, |out| unsafe { mlcce_loss_grad(x, y, c.rows, c.classes, MEAN, out, g) });
        print_grad(&mut line, b"g", &grad, n);

        // Sparse labels: the case's positives (ignored cells count as
        // negatives here).
        let mut positives = [0u32; MAX_CELLS];
        let mut offsets = [0usize; MAX_ROWS + 1];
        let mut np = 0;
        for r in 0..c.rows.min(MAX_ROWS) {
            for (j, &l) in c.labels.iter().skip(r * c.classes).take(c.classes).enumerate() {
                if let (1, Some(p)) = (l, positives.get_mut(np)) {
                    *p = j as u32;
                    np += 1;
                }
            }
            if let Some(o) = offsets.get_mut(r + 1) {
                *o = np;
            }
        }
        let (p, o) = (positives.as_ptr(), offsets.as_ptr());
        // SAFETY: `positives` and `offsets` hold the rows' positives;
        // `grad` holds MAX_CELLS >= n values.
        measure(&mut line, b"sparse", k, |out| unsafe {
            mlcce_sparse_loss_grad(x, c.rows, c.classes, p, o, MEAN, out, g)
        });
        print_grad(&mut line, b"sg", &grad, n);
        // SAFETY: as above.
        measure(&mut line, b"sloss", k, |out| unsafe { mlcce_sparse_loss(x, c.rows, c.classes, p, o, MEAN, out) });

        // Soft targets: 0 and 1 from the labels, 0.25 for ignored cells.
        let mut targets = [0.0f32; MAX_CELLS];
        for (t, &l) in targets.iter_mut().zip(c.labels) {
            *t = match l {
                0 => 0.0,
                1 => 1.0,
                _ => 0.25,
            };
        }
        let tp = targets.as_ptr();
        // SAFETY: `targets` holds n values, `grad` MAX_CELLS >= n.
        measure(&mut line, b"soft", k, |out| unsafe { mlcce_soft_loss_grad(x, tp, c.rows, c.classes, MEAN, out, g) });
        print_grad(&mut line, b"tg", &grad, n);
        // SAFETY: as above.
        measure(&mut line, b"tloss", k, |out| unsafe { mlcce_soft_loss(x, tp, c.rows, c.classes, MEAN, out) });

        // GlobalPointer: the first L*L logits as one head of max_len L,
        // length L - 1 (a partial triangle), spans where the label is 1.
        let len_max = isqrt(n);
        let len = if len_max > 2 { len_max - 1 } else { len_max };
        let mut spans = [0u32; MAX_CELLS];
        let mut ns = 0;
        for i in 0..len {
            for j in i..len {
                let cell = i * len_max + j;
                if let (Some(1), Some(s)) = (c.labels.get(cell), spans.get_mut(ns)) {
                    *s = cell as u32;
                    ns += 1;
                }
            }
        }
        let (lengths, gp_offsets) = ([len as u32], [0usize, ns]);
        let (sp, lp, op) = (spans.as_ptr(), lengths.as_ptr(), gp_offsets.as_ptr());
        // SAFETY: one row of len_max * len_max <= n logits; its spans.
        measure(&mut line, b"gp", k, |out| unsafe {
            mlcce_globalpointer_loss_grad(x, 1, 1, len_max, lp, sp, op, MEAN, out, g)
        });
        print_grad(&mut line, b"pg", &grad, len_max * len_max);
        // SAFETY: as above.
        measure(&mut line, b"ploss", k, |out| unsafe {
            mlcce_globalpointer_loss(x, 1, 1, len_max, lp, sp, op, MEAN, out)
        });

        // The first row streamed in chunks of CHUNK classes.
        let mut stream = Stream { state: [0.0; 4] };
        measure(&mut line, b"stream", k, |out| {
            // SAFETY: `stream` is one state; each chunk lies within row 0.
            unsafe {
                let mut status = mlcce_stream_init(&mut stream);
                let mut at = 0;
                while status == 0 && at < c.classes {
                    let len = CHUNK.min(c.classes - at);
                    status = mlcce_stream_update(&mut stream, x.add(at), y.add(at), len);
                    at += len;
                }
                if status == 0 {
                    status = mlcce_stream_loss(&stream, out);
                }
                status
            }
        });

        // Row 0 as two streams, its first and second half, merged.
        let half = c.classes / 2;
        let (mut first, mut second) = (Stream { state: [0.0; 4] }, Stream { state: [0.0; 4] });
        // SAFETY: both are states; each half lies within row 0.
        let split = unsafe {
            mlcce_stream_init(&mut first)
                | mlcce_stream_update(&mut first, x, y, half)
                | mlcce_stream_init(&mut second)
                | mlcce_stream_update(&mut second, x.add(half), y.add(half), c.classes - half)
        };
        measure(&mut line, b"smerge", k, |out| {
            let mut merged = first;
            // SAFETY: `merged` and `second` are states set up above.
            split | unsafe { mlcce_stream_merge(&mut merged, &second) | mlcce_stream_loss(&merged, out) }
        });

        // The batch's probabilities and predictions (threshold 0).
        // SAFETY: the case's logits hold n values, `grad` MAX_CELLS >= n.
        measure(&mut line, b"prob", k, |_| unsafe { mlcce_probabilities(x, n, g) });
        print_grad(&mut line, b"pb", &grad, n);
        let mut predicted = [0u8; MAX_CELLS];
        let pp = predicted.as_mut_ptr();
        // SAFETY: as above; `predicted` holds MAX_CELLS >= n bytes.
        measure(&mut line, b"pred", k, |_| unsafe { mlcce_predict(x, c.rows, c.classes, 0.0, pp) });
        line.text(b"pd ");
        for &v in predicted.iter().take(n) {
            line.text(&[b'0' + v]);
        }
        line.end();

        // Class sharding: the columns 0..h and h..classes as two shards,
        // dense and sparse labels; the first shard's calls measured. The
        // shards' gradients are put back in place in `grad`; `hok` has
        // the other calls' statuses (OR-ed) and the sparse shards' loss.
        let h = c.classes - c.classes / 2;
        let shards = [(0, h), (h, c.classes - h)];
        let mut shard_x = [0.0f32; MAX_CELLS];
        let mut shard_y = [0u8; MAX_CELLS];
        let mut shard_g = [0.0f32; MAX_CELLS];
        let (sxp, syp, sgp) = (shard_x.as_mut_ptr(), shard_y.as_mut_ptr(), shard_g.as_mut_ptr());
        let empty = [Stream { state: [0.0; 4] }; MAX_ROWS];
        let (mut states, mut sparse_states) = ([empty; 2], [empty; 2]);
        let mut others = 0;
        for (j, &(from, w)) in shards.iter().enumerate() {
            columns(c, from, w, &mut shard_x, &mut shard_y);
            let (st, ss) = (states[j].as_mut_ptr(), sparse_states[j].as_mut_ptr());
            // SAFETY: the shard's buffers hold rows * w values, each
            // states array MAX_ROWS >= rows; the lists are the full rows'.
            let dense = |_: &mut f32| unsafe { mlcce_shard_states(sxp, syp, c.rows, w, st) };
            let sparse = |_: &mut f32| unsafe {
                mlcce_shard_states_sparse(sxp, c.rows, w, from, c.classes, p, o, ss)
            };
            if j == 0 {
                measure(&mut line, b"hst", k, dense);
                measure(&mut line, b"hss", k, sparse);
            } else {
                others |= dense(&mut 0.0) | sparse(&mut 0.0);
            }
        }
        let (mut merged, mut sparse_merged) = (states[0], sparse_states[0]);
        measure(&mut line, b"hmg", k, |_| {
            merged = states[0];
            // SAFETY: both arrays hold MAX_ROWS >= rows states.
            unsafe { mlcce_shard_merge(states[1].as_ptr(), merged.as_mut_ptr(), c.rows) }
        });
        // SAFETY: as above.
        others |= unsafe { mlcce_shard_merge(sparse_states[1].as_ptr(), sparse_merged.as_mut_ptr(), c.rows) };
        let (mp, smp) = (merged.as_ptr(), sparse_merged.as_ptr());
        // SAFETY: `merged` holds the rows' states; `out` one value.
        measure(&mut line, b"hls", k, |out| unsafe { mlcce_shard_loss(mp, c.rows, MEAN, out) });
        let mut sparse_loss = 0.0f32;
        // SAFETY: as above.
        others |= unsafe { mlcce_shard_loss(smp, c.rows, MEAN, &mut sparse_loss) };
        for (sparse, tag, gtag) in [(false, &b"hgr"[..], &b"hg"[..]), (true, &b"hsgr"[..], &b"hsg"[..])] {
            for (j, &(from, w)) in shards.iter().enumerate() {
                columns(c, from, w, &mut shard_x, &mut shard_y);
                // SAFETY: as above; `shard_g` holds MAX_CELLS >= rows * w.
                let call = |_: &mut f32| unsafe {
                    if sparse {
                        mlcce_shard_grad_sparse(sxp, c.rows, w, from, c.classes, p, o, smp, MEAN, sgp)
                    } else {
                        mlcce_shard_grad(sxp, syp, c.rows, w, mp, MEAN, sgp)
                    }
                };
                if j == 0 {
                    measure(&mut line, tag, k, call);
                } else {
                    others |= call(&mut 0.0);
                }
                put_back(c, from, w, &shard_g, &mut grad);
            }
            print_grad(&mut line, gtag, &grad, n);
        }
        line.text(b"hok").dec(k as u32).dec(others).hex(sparse_loss.to_bits()).end();

        // An evaluation of the batch (threshold 0): its report.
        let mut eval =
            Eval { rows: 0, exact: 0, loss_sum: 0.0, classes: 0, threshold: 0.0, per_class: core::ptr::null_mut() };
        let mut report = Report { rows: 0, figures: [0.0; 7] };
        let counts = per_class.as_mut_ptr();
        // SAFETY: `per_class` holds MAX_CELLS >= classes counts.
        let mut status = unsafe { mlcce_eval_init(&mut eval, counts, c.classes, 0.0) };
        // SAFETY: `eval` was set up above; the case's buffers hold its rows.
        let mut run = |at: &Cell<usize>| {
            at.set(arch::sp());
            status = unsafe { mlcce_eval_update(&mut eval, x, y, c.rows) };
        };
        let t = timed(&mut || run(&Cell::new(0)));
        // SAFETY: as above (a second update: the report counts the rows twice).
        let s = stack_of(&mut run);
        // SAFETY: `eval` was set up above; `report` is one report.
        let st = unsafe { mlcce_eval_report(&eval, &mut report) };
        line.text(b"eval").dec(k as u32).dec(status | st).dec(t).dec(s);
        line.dec(report.rows as u32);
        for f in report.figures {
            line.hex(f.to_bits());
        }
        line.end();
    }

    // The version and every status's text (and an unknown code's).
    let mut strings = [core::ptr::null(); 9];
    let s = stack_of(&mut |at| {
        at.set(arch::sp());
        // SAFETY: both take no pointer.
        strings[0] = unsafe { mlcce_version() };
        for (code, text) in (0..7).chain([99]).zip(strings.iter_mut().skip(1)) {
            // SAFETY: as above.
            *text = unsafe { mlcce_status_str(code) };
        }
    });
    line.text(b"strings").dec(s).end();
    for (k, &text) in strings.iter().enumerate() {
        line.text(b"str").dec(k as u32).text(b" ");
        // SAFETY: each is a static NUL-terminated string (the contract).
        let mut at = text;
        while !at.is_null() && unsafe { *at } != 0 {
            line.text(&[if unsafe { *at } == b' ' { b'_' } else { unsafe { *at } }]);
            at = unsafe { at.add(1) };
        }
        line.end();
    }

    // Bad input: the statuses (the host expects what its own build says).
    let Some(seed) = CASES.first() else { exit(false) };
    let (x, y) = (seed.logits.as_ptr(), seed.labels.as_ptr());
    let mut bad_labels = [0u8; 12];
    let mut nan_logits = [0.0f32; 12];
    for (k, ((b, l), (v, s))) in
        bad_labels.iter_mut().zip(seed.labels).zip(nan_logits.iter_mut().zip(seed.logits)).enumerate()
    {
        *b = if k == 5 { 2 } else { *l };
        *v = if k == 7 { f32::NAN } else { *s };
    }
    let mut out = 0.0f32;
    // SAFETY: every pointer is NULL or addresses what its length says.
    let statuses = unsafe {
        [
            mlcce_loss(core::ptr::null(), y, 3, 4, MEAN, &mut out),
            mlcce_loss(x, bad_labels.as_ptr(), 3, 4, MEAN, &mut out),
            mlcce_loss(nan_logits.as_ptr(), y, 3, 4, MEAN, &mut out),
            mlcce_loss(x, y, 3, 4, 9, &mut out),
            mlcce_loss(x, y, usize::MAX, 2, MEAN, &mut out),
            mlcce_loss_grad(x, y, 3, 4, MEAN, &mut out, core::ptr::null_mut()),
        ]
    };
    for (k, s) in statuses.iter().enumerate() {
        line.text(b"bad").dec(k as u32).dec(*s).end();
    }

    // A failed evaluation update leaves everything as it was: the seed
    // counted once (threshold 0.5), then the batch with a bad label, and
    // with a NaN logit, in its second row (the first row counted, then
    // taken back). `undo <status> <status> <status> <1 if unchanged>
    // <counts>` (each class's four counts, for the host to check).
    let mut counts = [ClassCounts { counts: [0; 4] }; 4];
    let mut eval =
        Eval { rows: 0, exact: 0, loss_sum: 0.0, classes: 0, threshold: 0.0, per_class: core::ptr::null_mut() };
    // SAFETY: `counts` holds the 4 classes' counts; the seed holds 3 rows of 4.
    let first = unsafe {
        mlcce_eval_init(&mut eval, counts.as_mut_ptr(), 4, 0.5) | mlcce_eval_update(&mut eval, x, y, 3)
    };
    let before = (counts, eval.rows, eval.exact, eval.loss_sum.to_bits());
    // SAFETY: as above; the bad buffers hold 3 rows of 4 too.
    let failed = unsafe {
        [mlcce_eval_update(&mut eval, x, bad_labels.as_ptr(), 3), mlcce_eval_update(&mut eval, nan_logits.as_ptr(), y, 3)]
    };
    let after = (counts, eval.rows, eval.exact, eval.loss_sum.to_bits());
    let same = before.0.iter().zip(&after.0).all(|(a, b)| a.counts == b.counts)
        && (before.1, before.2, before.3) == (after.1, after.2, after.3)
        && before.0.iter().any(|c| c.counts != [0; 4]);
    line.text(b"undo").dec(first).dec(failed[0]).dec(failed[1]).dec(u32::from(same));
    for c in after.0 {
        for n in c.counts {
            line.dec(n as u32);
        }
    }
    line.end();
    line.text(b"done").end();
    exit(ok)
}
