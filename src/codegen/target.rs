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
        if !self.valid_cpu(&target, &triple) {
            return Err(CodegenError::Target(format!(
                "unknown target CPU `{}`; try x86-64, x86-64-v2, x86-64-v3, x86-64-v4, native, or an LLVM CPU name such as znver4",
                self.cpu
            )));
        }
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
        Ok(machine)
    }

    /// LLVM accepts unknown CPU names with only a warning (and generic code); check ourselves.
    fn valid_cpu(&self, _target: &Target, _triple: &TargetTriple) -> bool {
        let (cpu, _) = self.resolved();
        !cfg!(target_arch = "x86_64")
            || self.cpu == "native"
            || KNOWN_X86.contains(&cpu.as_str())
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

/// x86-64 CPU names of LLVM 19 (`llc -mtriple=x86_64 -mcpu=help`), 64-bit ones.
const KNOWN_X86: &[&str] = &[
    "x86-64",
    "x86-64-v2",
    "x86-64-v3",
    "x86-64-v4",
    "generic",
    "alderlake",
    "amdfam10",
    "arrowlake",
    "arrowlake-s",
    "athlon64",
    "athlon64-sse3",
    "atom",
    "barcelona",
    "bdver1",
    "bdver2",
    "bdver3",
    "bdver4",
    "bonnell",
    "broadwell",
    "btver1",
    "btver2",
    "cannonlake",
    "cascadelake",
    "clearwaterforest",
    "cooperlake",
    "core-avx-i",
    "core-avx2",
    "core2",
    "corei7",
    "corei7-avx",
    "emeraldrapids",
    "goldmont",
    "goldmont-plus",
    "gracemont",
    "grandridge",
    "graniterapids",
    "graniterapids-d",
    "haswell",
    "icelake-client",
    "icelake-server",
    "ivybridge",
    "k8",
    "k8-sse3",
    "knl",
    "knm",
    "lunarlake",
    "meteorlake",
    "nehalem",
    "nocona",
    "opteron",
    "opteron-sse3",
    "pantherlake",
    "penryn",
    "raptorlake",
    "rocketlake",
    "sandybridge",
    "sapphirerapids",
    "sierraforest",
    "silvermont",
    "skx",
    "skylake",
    "skylake-avx512",
    "slm",
    "tigerlake",
    "tremont",
    "westmere",
    "znver1",
    "znver2",
    "znver3",
    "znver4",
    "znver5",
];

fn triple_text(t: &TargetTriple) -> String {
    t.as_str().to_string_lossy().into_owned()
}

/// The x86-64 micro-architecture levels multiversioning can select between at load time.
pub const LEVELS: &[(&str, u32)] = &[("x86-64-v2", 2), ("x86-64-v3", 3), ("x86-64-v4", 4)];

/// Symbol suffix of a CPU variant: `x86-64-v3` → `.x86_64_v3`.
pub fn variant_suffix(cpu: &str) -> String {
    format!(".{}", cpu.replace(['-', '.'], "_"))
}

/// The level of a variant's CPU, for multiversioning.
pub fn level(cpu: &str) -> Option<u32> {
    LEVELS.iter().find(|(n, _)| *n == cpu).map(|(_, l)| *l)
}

/// `i32 lamarrc.cpu_level()`: 4, 3, 2 or 1, the highest x86-64 level whose instructions the
/// CPU has and the OS enables (XSAVE state for YMM/ZMM registers), from `cpuid` and `xgetbv`.
/// It runs inside IFUNC resolvers, before relocation: straight-line code, no calls.
fn cpu_level<'ctx>(cg: &super::cg::Cg<'ctx>) -> Result<FunctionValue<'ctx>, String> {
    use super::cg::llvm;
    use inkwell::values::IntValue;
    const NAME: &str = "lamarrc.cpu_level";
    if let Some(f) = cg.module.get_function(NAME) {
        return Ok(f);
    }
    let i32t = cg.ctx.i32_type();
    let func = cg.module.add_function(
        NAME,
        i32t.fn_type(&[], false),
        Some(inkwell::module::Linkage::Private),
    );
    let saved = cg.b.get_insert_block();
    cg.b.position_at_end(cg.ctx.append_basic_block(func, "entry"));
    let b = &cg.b;
    let quad = cg.ctx.struct_type(&[i32t.into(); 4], false);
    let cpuid_ty = quad.fn_type(&[i32t.into(), i32t.into()], false);
    let cpuid_asm = cg.ctx.create_inline_asm(
        cpuid_ty,
        "cpuid".into(),
        "={ax},={bx},={cx},={dx},{ax},{cx}".into(),
        false,
        false,
        None,
        false,
    );
    let cpuid = |leaf: u64| -> Result<[IntValue<'ctx>; 4], String> {
        let r = llvm(b.build_indirect_call(
            cpuid_ty,
            cpuid_asm,
            &[i32t.const_int(leaf, false).into(), i32t.const_zero().into()],
            "cpuid",
        ))?
        .try_as_basic_value()
        .basic()
        .ok_or("cpuid")?
        .into_struct_value();
        let mut regs = [i32t.const_zero(); 4];
        for (k, reg) in regs.iter_mut().enumerate() {
            *reg = llvm(b.build_extract_value(r, k as u32, "reg"))?.into_int_value();
        }
        Ok(regs)
    };
    let bit = |v: IntValue<'ctx>, n: u32| -> Result<IntValue<'ctx>, String> {
        let m = i32t.const_int(1 << n, false);
        let a = llvm(b.build_and(v, m, "m"))?;
        llvm(b.build_int_compare(inkwell::IntPredicate::NE, a, i32t.const_zero(), "bit"))
    };
    let all = |bits: &[IntValue<'ctx>]| -> Result<IntValue<'ctx>, String> {
        let mut acc = bits[0];
        for v in &bits[1..] {
            acc = llvm(b.build_and(acc, *v, "and"))?;
        }
        Ok(acc)
    };
    let max_leaf = cpuid(0)?[0];
    let [_, _, c1, _] = cpuid(1)?;
    let [_, b7, _, _] = cpuid(7)?;
    let has7 = llvm(b.build_int_compare(
        inkwell::IntPredicate::UGE,
        max_leaf,
        i32t.const_int(7, false),
        "has7",
    ))?;
    let b7 = llvm(b.build_select(has7, b7, i32t.const_zero(), "b7"))?.into_int_value();
    let [_, _, c81, _] = cpuid(0x8000_0001)?;
    // XCR0 through xgetbv, only when the OS enabled XSAVE (else the instruction faults).
    let osxsave = bit(c1, 27)?;
    let xgetbv_ty = i32t.fn_type(&[i32t.into()], false);
    let xgetbv = cg.ctx.create_inline_asm(
        xgetbv_ty,
        "xgetbv".into(),
        "={ax},{cx},~{dx}".into(),
        false,
        false,
        None,
        false,
    );
    let pre = b.get_insert_block().ok_or("no block")?;
    let read = cg.ctx.append_basic_block(func, "xgetbv");
    let join = cg.ctx.append_basic_block(func, "levels");
    llvm(b.build_conditional_branch(osxsave, read, join))?;
    b.position_at_end(read);
    let x = llvm(b.build_indirect_call(xgetbv_ty, xgetbv, &[i32t.const_zero().into()], "xcr0"))?
        .try_as_basic_value()
        .basic()
        .ok_or("xgetbv")?
        .into_int_value();
    llvm(b.build_unconditional_branch(join))?;
    b.position_at_end(join);
    let xcr0 = llvm(b.build_phi(i32t, "xcr0"))?;
    xcr0.add_incoming(&[(&i32t.const_zero(), pre), (&x, read)]);
    let xcr0 = xcr0.as_basic_value().into_int_value();
    let mask = |m: u64| -> Result<IntValue<'ctx>, String> {
        let k = i32t.const_int(m, false);
        let a = llvm(b.build_and(xcr0, k, "x"))?;
        llvm(b.build_int_compare(inkwell::IntPredicate::EQ, a, k, "os"))
    };
    // x86-64-v2: SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CMPXCHG16B.
    let v2 = all(&[
        bit(c1, 0)?,
        bit(c1, 9)?,
        bit(c1, 19)?,
        bit(c1, 20)?,
        bit(c1, 23)?,
        bit(c1, 13)?,
    ])?;
    // x86-64-v3: + AVX, AVX2, FMA, F16C, MOVBE, BMI1, BMI2, LZCNT, with YMM state enabled.
    let v3 = all(&[
        v2,
        bit(c1, 28)?,
        bit(b7, 5)?,
        bit(c1, 12)?,
        bit(c1, 29)?,
        bit(c1, 22)?,
        bit(b7, 3)?,
        bit(b7, 8)?,
        bit(c81, 5)?,
        mask(0x6)?,
    ])?;
    // x86-64-v4: + AVX-512 F, DQ, CD, BW, VL, with opmask/ZMM state enabled.
    let v4 = all(&[
        v3,
        bit(b7, 16)?,
        bit(b7, 17)?,
        bit(b7, 28)?,
        bit(b7, 30)?,
        bit(b7, 31)?,
        mask(0xE6)?,
    ])?;
    let mut level: inkwell::values::IntValue = i32t.const_int(1, false);
    for (cond, l) in [(v2, 2u64), (v3, 3), (v4, 4)] {
        level =
            llvm(b.build_select(cond, i32t.const_int(l, false), level, "level"))?.into_int_value();
    }
    llvm(b.build_return(Some(&level)))?;
    if let Some(bb) = saved {
        cg.b.position_at_end(bb);
    }
    Ok(func)
}

/// Exports `symbol` as an IFUNC whose resolver returns the best variant for this CPU (the
/// highest level it supports, else the lowest variant given).
pub fn ifunc(
    cg: &super::cg::Cg,
    symbol: &str,
    variants: &[(TargetSpec, String)],
) -> Result<(), String> {
    use super::cg::llvm;
    use inkwell::values::AsValueRef;
    let level_fn = cpu_level(cg)?;
    let ptr = cg.ptr();
    let resolver = cg.module.add_function(
        &format!("{symbol}.resolver"),
        ptr.fn_type(&[], false),
        Some(inkwell::module::Linkage::Private),
    );
    let saved = cg.b.get_insert_block();
    cg.b.position_at_end(cg.ctx.append_basic_block(resolver, "entry"));
    let cpu = llvm(cg.b.build_call(level_fn, &[], "level"))?
        .try_as_basic_value()
        .basic()
        .ok_or("cpu level")?
        .into_int_value();
    let mut sorted: Vec<(u32, String)> = variants
        .iter()
        .map(|(t, suffix)| (level(&t.cpu).unwrap_or(1), format!("{symbol}{suffix}")))
        .collect();
    sorted.sort();
    let fallback = cg
        .module
        .get_function(&sorted[0].1)
        .ok_or_else(|| format!("variant `{}` missing", sorted[0].1))?;
    let mut chosen = fallback.as_global_value().as_pointer_value();
    for (l, name) in &sorted {
        let f = cg
            .module
            .get_function(name)
            .ok_or_else(|| format!("variant `{name}` missing"))?;
        let ok = llvm(cg.b.build_int_compare(
            inkwell::IntPredicate::UGE,
            cpu,
            cg.ctx.i32_type().const_int(*l as u64, false),
            "ok",
        ))?;
        chosen =
            llvm(cg.b.build_select(ok, f.as_global_value().as_pointer_value(), chosen, "pick"))?
                .into_pointer_value();
    }
    llvm(cg.b.build_return(Some(&chosen)))?;
    if let Some(bb) = saved {
        cg.b.position_at_end(bb);
    }
    // inkwell has no IFUNC wrapper; the LLVM C API does.
    let fn_ty = fallback.get_type();
    let name = std::ffi::CString::new(symbol).map_err(|e| e.to_string())?;
    // SAFETY: module, type and resolver are live values of this context; LLVM copies the name.
    unsafe {
        inkwell::llvm_sys::core::LLVMAddGlobalIFunc(
            cg.module.as_mut_ptr(),
            name.as_ptr(),
            symbol.len(),
            inkwell::types::AsTypeRef::as_type_ref(&fn_ty),
            0,
            resolver.as_value_ref(),
        );
    }
    Ok(())
}
