//! Table-driven bad inputs for every C entry point, called with raw pointers
//! as C would: every pointer through NULL (with nonzero sizes), sizes through
//! 0, 1 and overflow, codes through out-of-range values. Each call checks the
//! exact status, that scalar outputs and states are untouched on error, and
//! that no byte outside the given buffers is written (guards around every
//! buffer, checked after every call, successful ones included).

use core::ptr::{null, null_mut};
use mlcce::ffi::*;
use mlcce::{ClassCounts, Report, Stream};

const GUARD: usize = 16;
const BYTE: u8 = 0xA5;

/// A buffer with `GUARD` elements' worth of `0xA5` bytes on each side.
/// The store is raw words, so the guards are plain bytes and are only ever
/// read as bytes: the padding inside a struct element (`Eval`, `Report`) is
/// never read.
struct Guarded<T: Copy> {
    store: Vec<u64>,
    len: usize,
    _t: core::marker::PhantomData<T>,
}

impl<T: Copy> Guarded<T> {
    fn new(data: &[T]) -> Self {
        assert!(core::mem::align_of::<T>() <= 8);
        let bytes = (data.len() + 2 * GUARD) * core::mem::size_of::<T>();
        let mut store = vec![u64::from_ne_bytes([BYTE; 8]); bytes.div_ceil(8)];
        // SAFETY: the store holds `data.len() + 2 * GUARD` elements of `T`,
        // aligned (8-byte words); `data` is a different allocation.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), store.as_mut_ptr().cast::<T>().add(GUARD), data.len()) };
        Guarded { store, len: data.len(), _t: core::marker::PhantomData }
    }
    fn p(&self) -> *const T {
        self.store.as_ptr().cast::<T>().wrapping_add(GUARD)
    }
    fn m(&mut self) -> *mut T {
        self.store.as_mut_ptr().cast::<T>().wrapping_add(GUARD)
    }
    fn inner(&self) -> &[T] {
        // SAFETY: `len` elements written by `new` (and only ever overwritten
        // with `T`s by the functions under test).
        unsafe { core::slice::from_raw_parts(self.p(), self.len) }
    }
    fn guards_intact(&self) -> bool {
        let size = core::mem::size_of::<T>();
        let base = self.store.as_ptr().cast::<u8>();
        let tail = (GUARD + self.len) * size;
        // SAFETY: both ranges lie in the store and hold the bytes `new`
        // wrote (initialised), unless a function under test wrote past its
        // buffer, which is what this checks.
        let (head, tail) = unsafe {
            (core::slice::from_raw_parts(base, GUARD * size), core::slice::from_raw_parts(base.add(tail), GUARD * size))
        };
        head.iter().chain(tail).all(|&b| b == BYTE)
    }
}

/// The bytes of plain values without padding (floats, `Stream`).
fn bytes_of<T>(v: &[T]) -> &[u8] {
    // SAFETY: used only on types without padding: every byte is initialised.
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<u8>(), core::mem::size_of_val(v)) }
}

const X: [f32; 12] = [0.9, 0.1, 0.8, 0.3, 0.3, 0.2, 0.5, 0.7, 0.7, 0.6, 0.1, 0.3];
const Y: [u8; 12] = [1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0];
const SENTINEL: f32 = -7.0;

/// All the buffers any entry point takes, guarded.
struct Bufs {
    x: Guarded<f32>,
    y: Guarded<u8>,
    t: Guarded<f32>,
    out: Guarded<f32>,
    grad: Guarded<f32>,
    pos: Guarded<u32>,
    off: Guarded<usize>,
    gp_off: Guarded<usize>,
    lens: Guarded<u32>,
    spans: Guarded<u32>,
    pred: Guarded<u8>,
    counts: Guarded<ClassCounts>,
    stream: Guarded<Stream>,
    eval: Guarded<Eval>,
    report: Guarded<Report>,
}

impl Bufs {
    fn new() -> Self {
        let mut s = Stream::new();
        s.update(&X[..4], &Y[..4]).unwrap();
        Bufs {
            x: Guarded::new(&X),
            y: Guarded::new(&Y),
            t: Guarded::new(&Y.map(f32::from)),
            out: Guarded::new(&[SENTINEL; 3]),
            grad: Guarded::new(&[SENTINEL; 12]),
            pos: Guarded::new(&[0, 2, 2, 3, 0]),
            off: Guarded::new(&[0, 2, 4, 5]),
            gp_off: Guarded::new(&[0, 1, 2, 3]),
            lens: Guarded::new(&[2, 1, 2]),
            spans: Guarded::new(&[1, 0, 3]),
            pred: Guarded::new(&[9; 12]),
            counts: Guarded::new(&[ClassCounts::default(); 4]),
            stream: Guarded::new(&[s]),
            eval: Guarded::new(&[Eval {
                totals: mlcce::EvalTotals { classes: 4, ..Default::default() },
                per_class: null_mut(),
            }]),
            report: Guarded::new(&[Report { rows: 77, ..Default::default() }]),
        }
    }

    fn all_guards_intact(&self) -> bool {
        self.x.guards_intact()
            && self.y.guards_intact()
            && self.t.guards_intact()
            && self.out.guards_intact()
            && self.grad.guards_intact()
            && self.pos.guards_intact()
            && self.off.guards_intact()
            && self.gp_off.guards_intact()
            && self.lens.guards_intact()
            && self.spans.guards_intact()
            && self.pred.guards_intact()
            && self.counts.guards_intact()
            && self.stream.guards_intact()
            && self.eval.guards_intact()
            && self.report.guards_intact()
    }

    /// Inputs unchanged and the scalar outputs and states untouched.
    fn untouched(&self) -> bool {
        self.x.inner() == X
            && self.y.inner() == Y
            && self.out.inner()[0] == SENTINEL
            && bytes_of(self.stream.inner()) == bytes_of(Bufs::new().stream.inner())
            && self.report.inner()[0].rows == 77
    }
}

type Case = (&'static str, Status, fn(&mut Bufs) -> Status);

fn run(table: &[Case]) {
    for (name, want, call) in table {
        let mut b = Bufs::new();
        let got = call(&mut b);
        assert_eq!(got, *want, "{name}");
        assert!(b.all_guards_intact(), "{name}: a guard byte was written");
        if *want != Status::MLCCE_OK {
            assert!(b.untouched(), "{name}: an output or state was written on error");
        }
    }
}

use Status::*;

#[test]
fn mlcce_loss_table() {
    // SAFETY (all cases): pointers are NULL or address the sizes passed.
    run(&[
        ("ok mean", MLCCE_OK, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 3, 4, 1, b.out.m()) }),
        ("ok none", MLCCE_OK, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 3, 4, 0, b.out.m()) }),
        ("ok 1x1", MLCCE_OK, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 1, 1, 2, b.out.m()) }),
        ("ok 0 rows sum, NULL inputs", MLCCE_OK, |b| unsafe { mlcce_loss(null(), null(), 0, 4, 2, b.out.m()) }),
        ("ok 0 classes none", MLCCE_OK, |b| unsafe { mlcce_loss(null(), null(), 3, 0, 0, b.out.m()) }),
        ("NULL logits", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_loss(null(), b.y.p(), 3, 4, 1, b.out.m()) }),
        ("NULL labels", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_loss(b.x.p(), null(), 3, 4, 1, b.out.m()) }),
        ("NULL out", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 3, 4, 1, null_mut()) }),
        ("overflow", MLCCE_ERR_SHAPE, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), usize::MAX, 2, 1, b.out.m()) }),
        ("overflow 2", MLCCE_ERR_SHAPE, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 1 << 33, 1 << 33, 2, b.out.m()) }),
        ("mean of 0 rows", MLCCE_ERR_SHAPE, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 0, 4, 1, b.out.m()) }),
        ("reduction 3", MLCCE_ERR_ARGUMENT, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 3, 4, 3, b.out.m()) }),
        ("reduction max", MLCCE_ERR_ARGUMENT, |b| unsafe { mlcce_loss(b.x.p(), b.y.p(), 3, 4, u32::MAX, b.out.m()) }),
        ("out overlaps logits", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_loss(b.x.p(), b.y.p(), 3, 4, 0, b.x.p().add(1).cast_mut())
        }),
        ("misaligned logits", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_loss(b.x.p().cast::<u8>().add(1).cast(), b.y.p(), 1, 2, 1, b.out.m())
        }),
    ]);
}

#[test]
fn mlcce_loss_grad_table() {
    run(&[
        ("ok", MLCCE_OK, |b| unsafe { mlcce_loss_grad(b.x.p(), b.y.p(), 3, 4, 1, b.out.m(), b.grad.m()) }),
        ("ok NULL loss_out", MLCCE_OK, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), 3, 4, 1, null_mut(), b.grad.m())
        }),
        ("ok 1x1", MLCCE_OK, |b| unsafe { mlcce_loss_grad(b.x.p(), b.y.p(), 1, 1, 0, b.out.m(), b.grad.m()) }),
        ("NULL grad", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), 3, 4, 1, b.out.m(), null_mut())
        }),
        ("NULL logits", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_loss_grad(null(), b.y.p(), 3, 4, 1, b.out.m(), b.grad.m())
        }),
        ("NULL labels", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_loss_grad(b.x.p(), null(), 3, 4, 1, b.out.m(), b.grad.m())
        }),
        ("overflow", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), usize::MAX, 3, 1, b.out.m(), b.grad.m())
        }),
        ("mean of 0 rows", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), 0, 4, 1, b.out.m(), b.grad.m())
        }),
        ("reduction 4", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), 3, 4, 4, b.out.m(), b.grad.m())
        }),
        ("grad overlaps logits partly", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), 2, 4, 1, b.out.m(), b.x.p().add(2).cast_mut())
        }),
        ("loss_out inside grad", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_loss_grad(b.x.p(), b.y.p(), 3, 4, 1, b.grad.m().add(3), b.grad.m())
        }),
    ]);
}

#[test]
fn stream_tables() {
    run(&[
        ("update ok", MLCCE_OK, |b| unsafe { mlcce_stream_update(b.stream.m(), b.x.p(), b.y.p(), 4) }),
        ("update n=1", MLCCE_OK, |b| unsafe { mlcce_stream_update(b.stream.m(), b.x.p(), b.y.p(), 1) }),
        ("update n=0 NULL", MLCCE_OK, |b| unsafe { mlcce_stream_update(b.stream.m(), null(), null(), 0) }),
        ("update NULL state", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_stream_update(null_mut(), b.x.p(), b.y.p(), 4)
        }),
        ("update NULL logits", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_stream_update(b.stream.m(), null(), b.y.p(), 4)
        }),
        ("update NULL labels", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_stream_update(b.stream.m(), b.x.p(), null(), 4)
        }),
        ("update overflow", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_stream_update(b.stream.m(), b.x.p(), b.y.p(), usize::MAX)
        }),
        ("update bad label", MLCCE_ERR_LABEL, |b| unsafe {
            b.y.m().add(2).write(5);
            let s = mlcce_stream_update(b.stream.m(), b.x.p(), b.y.p(), 4);
            b.y.m().add(2).write(1);
            s
        }),
        ("merge ok", MLCCE_OK, |b| unsafe { mlcce_stream_merge(b.stream.m(), b.stream.p()) }),
        ("merge NULL s", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_stream_merge(null_mut(), b.stream.p()) }),
        ("merge NULL other", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_stream_merge(b.stream.m(), null()) }),
        ("loss ok", MLCCE_OK, |b| unsafe { mlcce_stream_loss(b.stream.p(), b.grad.m()) }),
        ("loss NULL s", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_stream_loss(null(), b.out.m()) }),
        ("loss NULL out", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_stream_loss(b.stream.p(), null_mut()) }),
        ("init ok", MLCCE_OK, |b| unsafe {
            let s = mlcce_stream_init(b.stream.m());
            let fresh = b.stream.inner()[0] == Stream::new();
            b.stream.m().write(Bufs::new().stream.inner()[0]);
            if fresh { s } else { MLCCE_ERR_SHAPE }
        }),
        ("init NULL", MLCCE_ERR_NULL_POINTER, |_| unsafe { mlcce_stream_init(null_mut()) }),
        ("init misaligned", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_stream_init(b.stream.m().cast::<u8>().wrapping_add(1).cast::<Stream>())
        }),
    ]);
}

/// An index list of length 0 addresses no memory: wherever its pointer
/// lies (inside the output here), it overlaps nothing.
#[test]
fn empty_inputs_overlap_nothing() {
    let x = [0.5f32, -1.0, 2.0, 0.25];
    let offsets = [0usize, 0];
    let mut out = [SENTINEL];
    // One raw pointer for the output and the index list inside it, as C has.
    let out_p = out.as_mut_ptr();
    let inside_out = out_p.cast::<u32>().cast_const();
    // SAFETY: every pointer addresses what it is said to (0 positives).
    let s = unsafe { mlcce_sparse_loss(x.as_ptr(), 1, 4, inside_out, offsets.as_ptr(), MLCCE_REDUCTION_SUM, out_p) };
    assert_eq!(s, MLCCE_OK);
    assert_eq!(out[0], mlcce::row_loss(&x, &[0, 0, 0, 0]).unwrap());
    let mut grad = [0.0f32; 4];
    let grad_p = grad.as_mut_ptr();
    // SAFETY: as above.
    let s = unsafe {
        mlcce_sparse_loss_grad(
            x.as_ptr(),
            1,
            4,
            grad_p.cast::<u32>().cast_const(),
            offsets.as_ptr(),
            MLCCE_REDUCTION_SUM,
            null_mut(),
            grad_p,
        )
    };
    assert_eq!(s, MLCCE_OK);
    // A non-empty overlap is still refused.
    let one = [0usize, 1];
    let out_p = out.as_mut_ptr();
    // SAFETY: as above (1 positive, read from `out`).
    let s = unsafe {
        mlcce_sparse_loss(x.as_ptr(), 1, 4, out_p.cast::<u32>().cast_const(), one.as_ptr(), MLCCE_REDUCTION_SUM, out_p)
    };
    assert_eq!(s, MLCCE_ERR_ARGUMENT);
}

#[test]
fn sparse_tables() {
    run(&[
        ("ok", MLCCE_OK, |b| unsafe { mlcce_sparse_loss(b.x.p(), 3, 4, b.pos.p(), b.off.p(), 1, b.out.m()) }),
        ("ok grad", MLCCE_OK, |b| unsafe {
            mlcce_sparse_loss_grad(b.x.p(), 3, 4, b.pos.p(), b.off.p(), 0, b.out.m(), b.grad.m())
        }),
        ("ok 0 rows, offsets only", MLCCE_OK, |b| unsafe {
            mlcce_sparse_loss(null(), 0, 4, null(), b.off.p(), 2, b.out.m())
        }),
        ("NULL offsets", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_sparse_loss(b.x.p(), 3, 4, b.pos.p(), null(), 1, b.out.m())
        }),
        ("NULL positives", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_sparse_loss(b.x.p(), 3, 4, null(), b.off.p(), 1, b.out.m())
        }),
        ("NULL logits", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_sparse_loss(null(), 3, 4, b.pos.p(), b.off.p(), 1, b.out.m())
        }),
        ("NULL grad", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_sparse_loss_grad(b.x.p(), 3, 4, b.pos.p(), b.off.p(), 1, b.out.m(), null_mut())
        }),
        ("offsets decrease", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_sparse_loss(b.x.p(), 3, 4, b.pos.p(), b.off.p().add(1), 1, b.out.m())
        }),
        ("rows overflow", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_sparse_loss(b.x.p(), usize::MAX, 4, b.pos.p(), b.off.p(), 1, b.out.m())
        }),
        ("reduction 3", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_sparse_loss(b.x.p(), 3, 4, b.pos.p(), b.off.p(), 3, b.out.m())
        }),
        ("index >= classes", MLCCE_ERR_INDEX, |b| unsafe {
            mlcce_sparse_loss(b.x.p(), 3, 3, b.pos.p(), b.off.p(), 1, b.out.m())
        }),
    ]);
}

#[test]
fn soft_tables() {
    run(&[
        ("ok", MLCCE_OK, |b| unsafe { mlcce_soft_loss(b.x.p(), b.t.p(), 3, 4, 1, b.out.m()) }),
        ("ok grad in place", MLCCE_OK, |b| unsafe {
            let g = b.grad.m();
            core::ptr::copy_nonoverlapping(b.x.p(), g, 12);
            mlcce_soft_loss_grad(g, b.t.p(), 3, 4, 1, null_mut(), g)
        }),
        ("NULL targets", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_soft_loss(b.x.p(), null(), 3, 4, 1, b.out.m()) }),
        ("NULL grad", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_soft_loss_grad(b.x.p(), b.t.p(), 3, 4, 1, b.out.m(), null_mut())
        }),
        ("overflow", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_soft_loss(b.x.p(), b.t.p(), usize::MAX, usize::MAX, 1, b.out.m())
        }),
        ("reduction 9", MLCCE_ERR_ARGUMENT, |b| unsafe { mlcce_soft_loss(b.x.p(), b.t.p(), 3, 4, 9, b.out.m()) }),
        ("target 2", MLCCE_ERR_LABEL, |b| unsafe {
            b.t.m().write(2.0);
            mlcce_soft_loss(b.x.p(), b.t.p(), 3, 4, 1, b.out.m())
        }),
        ("probabilities NULL", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_probabilities(null(), 3, b.grad.m()) }),
        ("probabilities ok", MLCCE_OK, |b| unsafe { mlcce_probabilities(b.x.p(), 12, b.grad.m()) }),
    ]);
}

#[test]
fn globalpointer_tables() {
    // batch 3, heads 1, max_len 2: 12 cells; lengths 2, 1, 2; spans (0,1) | (0,0) | (1,1).
    run(&[
        ("ok", MLCCE_OK, |b| unsafe {
            mlcce_globalpointer_loss(b.x.p(), 3, 1, 2, b.lens.p(), b.spans.p(), b.gp_off.p(), 0, b.out.m())
        }),
        ("NULL lengths", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_globalpointer_loss(b.x.p(), 3, 1, 2, null(), b.spans.p(), b.gp_off.p(), 1, b.out.m())
        }),
        ("NULL spans", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_globalpointer_loss(b.x.p(), 3, 1, 2, b.lens.p(), null(), b.gp_off.p(), 1, b.out.m())
        }),
        ("NULL grad", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_globalpointer_loss_grad(
                b.x.p(),
                3,
                1,
                2,
                b.lens.p(),
                b.spans.p(),
                b.gp_off.p(),
                1,
                b.out.m(),
                null_mut(),
            )
        }),
        ("length > max_len", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_globalpointer_loss(b.x.p(), 3, 1, 1, b.lens.p(), b.spans.p(), b.gp_off.p(), 1, b.out.m())
        }),
        ("overflow", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_globalpointer_loss(b.x.p(), usize::MAX, 2, 2, b.lens.p(), b.spans.p(), b.gp_off.p(), 1, b.out.m())
        }),
        ("reduction 5", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_globalpointer_loss(b.x.p(), 3, 1, 2, b.lens.p(), b.spans.p(), b.gp_off.p(), 5, b.out.m())
        }),
    ]);
}

#[test]
fn eval_tables() {
    run(&[
        ("predict ok", MLCCE_OK, |b| unsafe { mlcce_predict(b.x.p(), 3, 4, 0.5, b.pred.m()) }),
        ("predict NULL out", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_predict(b.x.p(), 3, 4, 0.5, null_mut()) }),
        ("predict NaN threshold", MLCCE_ERR_ARGUMENT, |b| unsafe {
            mlcce_predict(b.x.p(), 3, 4, f32::NAN, b.pred.m())
        }),
        ("predict overflow", MLCCE_ERR_SHAPE, |b| unsafe { mlcce_predict(b.x.p(), usize::MAX, 4, 0.0, b.pred.m()) }),
        ("init ok", MLCCE_OK, |b| unsafe { mlcce_eval_init(b.eval.m(), b.counts.m(), 4, 0.0) }),
        ("init NULL eval", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_eval_init(null_mut(), b.counts.m(), 4, 0.0) }),
        ("init NULL counts", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_eval_init(b.eval.m(), null_mut(), 4, 0.0) }),
        ("init NaN", MLCCE_ERR_ARGUMENT, |b| unsafe { mlcce_eval_init(b.eval.m(), b.counts.m(), 4, f32::NAN) }),
        ("update ok", MLCCE_OK, |b| unsafe {
            mlcce_eval_init(b.eval.m(), b.counts.m(), 4, 0.0);
            mlcce_eval_update(b.eval.m(), b.x.p(), b.y.p(), 3)
        }),
        ("update NULL logits", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_eval_init(b.eval.m(), b.counts.m(), 4, 0.0);
            mlcce_eval_update(b.eval.m(), null(), b.y.p(), 3)
        }),
        ("update NULL eval", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_eval_update(null_mut(), b.x.p(), b.y.p(), 3) }),
        ("update overflow", MLCCE_ERR_SHAPE, |b| unsafe {
            mlcce_eval_init(b.eval.m(), b.counts.m(), 4, 0.0);
            mlcce_eval_update(b.eval.m(), b.x.p(), b.y.p(), usize::MAX)
        }),
        ("report NULL out", MLCCE_ERR_NULL_POINTER, |b| unsafe {
            mlcce_eval_init(b.eval.m(), b.counts.m(), 4, 0.0);
            mlcce_eval_report(b.eval.p(), null_mut())
        }),
        ("report NULL eval", MLCCE_ERR_NULL_POINTER, |b| unsafe { mlcce_eval_report(null(), b.report.m()) }),
    ]);
}

#[test]
fn status_strings_for_every_code() {
    for code in [-1, 0, 1, 2, 3, 4, 5, 6, 7, i32::MIN, i32::MAX] {
        let p = mlcce_status_str(code);
        assert!(!p.is_null());
        // SAFETY: a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert!(!s.is_empty());
        if (0..=6).contains(&code) {
            assert!(s.starts_with("MLCCE_"), "{s}");
        }
    }
}
