//! Sets `mlcce_fma` when the target's FPU has a fused multiply-add: `"arm"`
//! (`vfma.f32`: the FPv4-SP and FPv5 FPUs of Cortex-M4F, M7, M33 and M55)
//! or `"riscv"` (`fmadd.s`: the F extension). Stable Rust cannot test
//! those FPU features with `cfg(target_feature)`, so they are read off the
//! target triple. The MCU exp issues `fmadd.s` on RISC-V (on Arm, inline
//! assembly on FPU registers needs unstable target features, so it does
//! not use `vfma.f32` yet). Other targets do not use it. At every
//! opt-level: at "z" the fused exp ran the RV32 loss in 38 instructions per
//! logit instead of 43 (QEMU runs).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mlcce_fma, values(none(), \"arm\", \"riscv\"))");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let fma = if matches!(target.as_str(), "thumbv7em-none-eabihf" | "thumbv8m.main-none-eabihf") {
        Some("arm")
    } else if let Some(isa) = target.strip_prefix("riscv32").or_else(|| target.strip_prefix("riscv64")) {
        // The base ISA and its extensions, e.g. `imafc` or `gc` (G has F).
        let ext = isa.split('-').next().unwrap_or("");
        (ext.contains('f') || ext.contains('g')).then_some("riscv")
    } else {
        None
    };
    if let Some(fma) = fma {
        println!("cargo::rustc-cfg=mlcce_fma=\"{fma}\"");
    }
}
