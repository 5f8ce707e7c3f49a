//! Target selection: which CPU the code is tuned and legal for. The default is the portable
//! x86-64-v3 baseline (AVX2 + FMA, every x86 server of the last decade); `native` means the
//! machine running the compiler.

use super::lower::TargetShape;
use super::CodegenError;
use inkwell::attributes::AttributeLoc;
use inkwell::context::Context;
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::values::FunctionValue;
use inkwell::OptimizationLevel;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    /// LLVM CPU name (`x86-64-v3`, `znver4`, …) or `native`.
    pub cpu: String,
}

impl Default for TargetSpec {
    fn default() -> Self {
        TargetSpec {
            cpu: default_cpu().into(),
        }
    }
}

fn default_cpu() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86-64-v3"
    } else {
        "generic"
    }
}

impl TargetSpec {
    pub fn new(cpu: &str) -> Self {
        TargetSpec { cpu: cpu.into() }
    }

    /// The host CPU (for the JIT and `--target-cpu=native`).
    pub fn native() -> Self {
        TargetSpec::new("native")
    }

    /// Concrete CPU name and feature string.
    pub fn resolved(&self) -> (String, String) {
        if self.cpu == "native" {
            (
                TargetMachine::get_host_cpu_name().to_string(),
                TargetMachine::get_host_cpu_features().to_string(),
            )
        } else {
            (self.cpu.clone(), String::new())
        }
    }

    pub fn machine(&self, opt_level: u8) -> Result<TargetMachine, CodegenError> {
        Target::initialize_native(&InitializationConfig::default())
            .map_err(CodegenError::Target)?;
        let triple = TargetMachine::get_default_triple();
        let target =
            Target::from_triple(&triple).map_err(|e| CodegenError::Target(e.to_string()))?;
        let (cpu, features) = self.resolved();
        let opt = match opt_level {
            0 => OptimizationLevel::None,
            1 => OptimizationLevel::Less,
            2 => OptimizationLevel::Default,
            _ => OptimizationLevel::Aggressive,
        };
        let machine = target
            .create_target_machine(
                &triple,
                &cpu,
                &features,
                opt,
                RelocMode::PIC,
                CodeModel::Default,
            )
            .ok_or_else(|| {
                CodegenError::Target(format!(
                    "LLVM cannot generate code for CPU `{cpu}` on {}",
                    triple_text(&triple)
                ))
            })?;
        if !self.valid_cpu(&target, &triple) {
            return Err(CodegenError::Target(format!(
                "unknown target CPU `{}`; try x86-64, x86-64-v2, x86-64-v3, x86-64-v4, native, or an LLVM CPU name such as znver4",
                self.cpu
            )));
        }
        Ok(machine)
    }

    /// LLVM silently accepts unknown CPU names; check against the target's list ourselves.
    fn valid_cpu(&self, _target: &Target, _triple: &TargetTriple) -> bool {
        let (cpu, _) = self.resolved();
        KNOWN_X86.contains(&cpu.as_str())
            || !cfg!(target_arch = "x86_64")
            || cpu.starts_with("znver")
            || cpu.ends_with("lake")
            || cpu.contains("well")
            || cpu.contains("bridge")
            || cpu.contains("rapids")
            || cpu.contains("mont")
            || cpu == TargetMachine::get_host_cpu_name().to_string()
    }

    /// Vector width the lowering should plan for.
    pub fn shape(&self) -> TargetShape {
        let (cpu, features) = self.resolved();
        let bits = if features.contains("+avx512f")
            || cpu == "x86-64-v4"
            || cpu.starts_with("znver4")
            || cpu.starts_with("znver5")
        {
            512
        } else if features.contains("+avx2")
            || cpu == "x86-64-v3"
            || cpu.starts_with("znver")
            || cpu == "haswell"
            || cpu == "skylake"
        {
            256
        } else {
            128
        };
        TargetShape { vector_bits: bits }
    }

    /// Function attributes that make LLVM use the chosen CPU's instructions in `f`.
    pub fn annotate(&self, ctx: &Context, f: FunctionValue) {
        let (cpu, features) = self.resolved();
        f.add_attribute(
            AttributeLoc::Function,
            ctx.create_string_attribute("target-cpu", &cpu),
        );
        if !features.is_empty() {
            f.add_attribute(
                AttributeLoc::Function,
                ctx.create_string_attribute("target-features", &features),
            );
        }
        // Our code never unwinds.
        let nounwind = inkwell::attributes::Attribute::get_named_enum_kind_id("nounwind");
        f.add_attribute(
            AttributeLoc::Function,
            ctx.create_enum_attribute(nounwind, 0),
        );
    }
}

const KNOWN_X86: &[&str] = &[
    "x86-64",
    "x86-64-v2",
    "x86-64-v3",
    "x86-64-v4",
    "generic",
    "core2",
    "nehalem",
    "westmere",
    "haswell",
    "broadwell",
    "skylake",
    "skylake-avx512",
    "cascadelake",
    "cooperlake",
    "icelake-client",
    "icelake-server",
    "sapphirerapids",
    "znver1",
    "znver2",
    "znver3",
    "znver4",
    "znver5",
    "btver2",
];

fn triple_text(t: &TargetTriple) -> String {
    t.as_str().to_string_lossy().into_owned()
}
