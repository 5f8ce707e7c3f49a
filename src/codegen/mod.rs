//! LLVM code generation (inkwell, LLVM 19): IR module → LLVM module → object code, a shared
//! library, text IR/assembly/bitcode, or JIT-compiled functions.
//!
//! Every exported function follows the scikinC convention `float* NAME(float* out, const float*
//! in[, const float* noise])`, plus `NAME_batch(out, in, [noise,] size_t n_rows)` over row-major
//! arrays. A NUL-terminated text symbol `lamarrc_metadata` describes the library (see
//! `lamarrc_runtime::Metadata`).

mod cg;
mod dense;
pub mod header;
pub mod jit;
mod lower;
pub mod math;
mod math64;
mod quantile;
pub mod target;

use cg::{llvm, Cg};
use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::values::FunctionValue;
use lamarrc_ir::Module;
use std::path::Path;
pub use target::TargetSpec;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CodegenError {
    #[error("code generation for `{function}`: {message}")]
    Function { function: String, message: String },
    #[error("LLVM: {0}")]
    Llvm(String),
    #[error("{0}")]
    Target(String),
    #[error("linking {path}: {message}")]
    Link { path: String, message: String },
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Options that shape the generated code.
#[derive(Clone, Debug)]
pub struct Options {
    pub target: TargetSpec,
    /// Function multiversioning: one variant per CPU level (x86-64-v2/v3/v4), the best one
    /// picked when the library is loaded. Empty: a single version for `target`.
    pub variants: Vec<TargetSpec>,
    /// Optimisation level 0–3: 0 runs no IR passes, 1–3 run [`PIPELINE`]; the level also sets
    /// LLVM's code generator.
    pub opt_level: u8,
    /// An LLVM pass pipeline to run instead of [`PIPELINE`] (e.g. `default<O3>`).
    pub llvm_passes: Option<String>,
}

/// The IR passes run on lamarrc's code. It is emitted as explicit vector loops already shaped
/// for the target, so LLVM's vectorisers, unrollers, inliner and interprocedural passes, ~75 % of
/// `default<O3>` on the tracking models, have nothing to add; these passes clean up the emitted
/// IR, unroll loops of a few iterations (small layers then live in registers, not the frame),
/// hoist loop-invariant addresses and drop dead stores; `constmerge` stores identical tables
/// once (a tY and its inverse share the quantiles). Measured with `opt`/`llc` on the four
/// tracking models: IR passes 1.6 s → 0.4 s, machine code 1.4 s → 0.8 s, run time the same
/// within the noise (BENCHMARKS.md).
pub const PIPELINE: &str = "function(sroa,early-cse<memssa>,instcombine<no-verify-fixpoint>,simplifycfg,\
loop(loop-rotate,loop-unroll-full),sroa,early-cse<memssa>,instcombine<no-verify-fixpoint>,simplifycfg,\
loop-mssa(licm),dse,instcombine<no-verify-fixpoint>),globaldce,constmerge";

impl Default for Options {
    fn default() -> Self {
        Options {
            target: TargetSpec::default(),
            variants: Vec::new(),
            opt_level: 3,
            llvm_passes: None,
        }
    }
}

/// An LLVM module built from an IR module, ready to be emitted or JIT-compiled.
pub struct Built<'ctx> {
    pub cg: Cg<'ctx>,
    pub machine: inkwell::targets::TargetMachine,
}

/// The symbol of the batched variant of `name`.
pub fn batch_symbol(name: &str) -> String {
    format!("{name}_batch")
}

/// Builds and optimises the LLVM module for `m`.
pub fn build<'ctx>(
    ctx: &'ctx Context,
    m: &Module,
    opts: &Options,
) -> Result<Built<'ctx>, CodegenError> {
    build_part(ctx, m, &m.functions.iter().collect::<Vec<_>>(), true, opts)
}

/// Groups of functions that call one another (a model's sub-steps and its chain) or share a
/// quantile table (a tY and its inverse): each group can be compiled in its own LLVM module,
/// since calls stay inside groups, and a shared table is stored once.
fn call_groups(m: &Module) -> Vec<Vec<usize>> {
    let n = m.functions.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for (i, f) in m.functions.iter().enumerate() {
        for node in &f.nodes {
            if let lamarrc_ir::Op::Call { callee, .. } = &node.op {
                if let Some(j) = m.functions.iter().position(|g| &g.name == callee) {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
            }
        }
    }
    let mut table_owner: std::collections::HashMap<u64, usize> = Default::default();
    for (i, f) in m.functions.iter().enumerate() {
        for node in &f.nodes {
            if let lamarrc_ir::Op::Quantile { columns, .. } = &node.op {
                use std::hash::{Hash, Hasher};
                let mut h = std::hash::DefaultHasher::new();
                for c in columns {
                    c.quantiles.iter().for_each(|q| q.to_bits().hash(&mut h));
                }
                let j = *table_owner.entry(h.finish()).or_insert(i);
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut root_of: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let r = find(&mut parent, i);
        match root_of[r] {
            Some(g) => groups[g].push(i),
            None => {
                root_of[r] = Some(groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// Shards of a parallel build.
const SHARDS: usize = 4;

/// Object code for `m` as several objects compiled in parallel (one LLVM context per thread),
/// to be linked together. The partition and the object order depend only on `m`, so the
/// result is reproducible.
pub fn objects_parallel(m: &Module, opts: &Options) -> Result<Vec<Vec<u8>>, CodegenError> {
    let groups = call_groups(m);
    // The partition depends on the module only (never on the machine's CPU count), so the
    // library is byte-identical wherever it is built; the OS runs the shards on the cores it has.
    let threads = groups.len().clamp(1, SHARDS);
    // Balance by constant data (weights dominate compile time), largest first.
    let weight = |g: &Vec<usize>| {
        g.iter()
            .map(|&i| m.functions[i].constant_count() + 1000)
            .sum::<usize>()
    };
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| (std::cmp::Reverse(weight(&groups[g])), g));
    let mut shards: Vec<Vec<usize>> = vec![Vec::new(); threads];
    let mut load = vec![0usize; threads];
    for g in order {
        let k = (0..threads).min_by_key(|&k| (load[k], k)).unwrap_or(0);
        load[k] += weight(&groups[g]);
        shards[k].push(g);
    }
    for s in &mut shards {
        s.sort();
    }
    // Initialise LLVM's targets once, before the threads.
    opts.target.machine(opts.opt_level)?;
    let results: Vec<Result<Vec<u8>, CodegenError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .iter()
            .enumerate()
            .map(|(k, shard)| {
                let fs: Vec<&lamarrc_ir::Function> = shard
                    .iter()
                    .flat_map(|&g| groups[g].iter().map(|&i| &m.functions[i]))
                    .collect();
                scope.spawn(move || {
                    let ctx = Context::create();
                    // The library's description goes with the first shard only.
                    let built = build_part(&ctx, m, &fs, k == 0, opts)?;
                    built.object()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CodegenError::Llvm(
                        "a code generation thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Builds and optimises an LLVM module holding `functions` of `m` (and, if `with_metadata`,
/// the description of all of `m`).
fn build_part<'ctx>(
    ctx: &'ctx Context,
    m: &Module,
    functions: &[&lamarrc_ir::Function],
    with_metadata: bool,
    opts: &Options,
) -> Result<Built<'ctx>, CodegenError> {
    let machine = opts.target.machine(opts.opt_level)?;
    let cg = Cg::new(ctx, "lamarrc");
    cg.module.set_triple(&machine.get_triple());
    cg.module
        .set_data_layout(&machine.get_target_data().get_data_layout());
    let variants: Vec<(TargetSpec, String)> = if opts.variants.is_empty() {
        vec![(opts.target.clone(), String::new())]
    } else {
        opts.variants
            .iter()
            .map(|t| (t.clone(), target::variant_suffix(&t.cpu)))
            .collect()
    };
    // With several variants the per-CPU functions are private and the exported names are
    // IFUNCs resolved when the library is loaded.
    let linkage = if opts.variants.is_empty() {
        Linkage::External
    } else {
        Linkage::Private
    };
    for (spec, suffix) in &variants {
        let shape = spec.shape();
        for f in functions.iter().copied() {
            let fail = |message: String| CodegenError::Function {
                function: f.name.clone(),
                message,
            };
            let name = format!("{}{suffix}", f.name);
            let (row, parts) =
                lower::lower_function(&cg, f, &name, linkage, shape, 1, suffix).map_err(fail)?;
            spec.annotate(ctx, row);
            parts.into_iter().for_each(|p| spec.annotate(ctx, p));
            // Tiles pay off where weights are reused across rows (Dense layers, or calls into
            // functions that have tiles); other functions batch row by row.
            let tile_rows = shape.tile_rows();
            let tile = if needs_tile(f, &cg, suffix, tile_rows) {
                let (t, parts) = lower::lower_function(
                    &cg,
                    f,
                    &lower::tile_symbol(&name, tile_rows),
                    Linkage::Private,
                    shape,
                    tile_rows,
                    suffix,
                )
                .map_err(fail)?;
                spec.annotate(ctx, t);
                parts.into_iter().for_each(|p| spec.annotate(ctx, p));
                Some(t)
            } else {
                None
            };
            let batch = batch_wrapper(
                &cg,
                f,
                &format!("{}{suffix}", batch_symbol(&f.name)),
                linkage,
                row,
                tile,
                tile_rows as u64,
            )
            .map_err(fail)?;
            spec.annotate(ctx, batch);
        }
        annotate_helpers(ctx, &cg, spec, suffix);
    }
    if !opts.variants.is_empty() {
        for f in functions.iter().copied() {
            for symbol in [f.name.clone(), batch_symbol(&f.name)] {
                target::ifunc(&cg, &symbol, &variants).map_err(|message| {
                    CodegenError::Function {
                        function: f.name.clone(),
                        message,
                    }
                })?;
            }
        }
    }
    if with_metadata {
        metadata(&cg, m).map_err(CodegenError::Llvm)?;
    }
    cg.module
        .verify()
        .map_err(|e| CodegenError::Llvm(format!("invalid module: {}", e.to_string())))?;
    let passes = match (&opts.llvm_passes, opts.opt_level) {
        (Some(p), _) => p.clone(),
        (None, 0) => "default<O0>".to_string(),
        (None, _) => PIPELINE.to_string(),
    };
    cg.module
        .run_passes(
            &passes,
            &machine,
            inkwell::passes::PassBuilderOptions::create(),
        )
        .map_err(|e| match &opts.llvm_passes {
            Some(p) => CodegenError::Llvm(format!("--llvm-passes `{p}`: {}", e.to_string())),
            None => CodegenError::Llvm(e.to_string()),
        })?;
    Ok(Built { cg, machine })
}

/// Helpers (Dense kernels, QuantileTransformer) of the variant with `suffix` carry its target
/// attributes.
fn annotate_helpers(ctx: &Context, cg: &Cg, spec: &TargetSpec, suffix: &str) {
    for func in cg.module.get_functions() {
        let name = func.get_name().to_string_lossy().into_owned();
        let helper = func.count_basic_blocks() > 0
            && matches!(func.get_linkage(), Linkage::Private | Linkage::LinkOnceODR)
            && name.starts_with("lamarrc.")
            && name.ends_with(suffix);
        if helper {
            spec.annotate(ctx, func);
        }
    }
}

/// Whether `f` gets a tile function: it has network (float32) Dense layers, whose weights are
/// worth reusing across rows, or calls a function that has a tile. A scikit-learn step's float64
/// matrix (a decorrelation) is small and batches row by row.
fn needs_tile(f: &lamarrc_ir::Function, cg: &Cg, suffix: &str, rows: u32) -> bool {
    f.nodes.iter().any(|n| match &n.op {
        lamarrc_ir::Op::Dense { .. } | lamarrc_ir::Op::Residual { .. } => {
            n.ty.dtype == lamarrc_ir::DType::F32
        }
        lamarrc_ir::Op::Call { callee, .. } => cg
            .module
            .get_function(&lower::tile_symbol(&format!("{callee}{suffix}"), rows))
            .is_some(),
        _ => false,
    })
}

/// `NAME_batch(out, in0, …, n_rows)` over row-major arrays: whole tiles of `tile_rows` rows
/// through the tile function (which reuses weights across rows), the rest row by row.
fn batch_wrapper<'ctx>(
    cg: &Cg<'ctx>,
    f: &lamarrc_ir::Function,
    symbol: &str,
    linkage: Linkage,
    row: FunctionValue<'ctx>,
    tile: Option<FunctionValue<'ctx>>,
    tile_rows: u64,
) -> Result<FunctionValue<'ctx>, String> {
    let ptr = cg.ptr();
    let i64t = cg.ctx.i64_type();
    let mut params: Vec<_> = std::iter::repeat_n(ptr.into(), f.params.len() + 1).collect();
    params.push(i64t.into());
    let func = cg
        .module
        .add_function(symbol, ptr.fn_type(&params, false), Some(linkage));
    let entry = cg.ctx.append_basic_block(func, "entry");
    cg.b.position_at_end(entry);
    let n_rows = func
        .get_nth_param(f.params.len() as u32 + 1)
        .ok_or("n_rows")?
        .into_int_value();
    let out = func.get_nth_param(0).ok_or("out")?.into_pointer_value();
    let n_tiles = llvm(cg.b.build_int_unsigned_div(n_rows, cg.i64(tile_rows), "tiles"))?;
    let tiled = llvm(cg.b.build_int_mul(n_tiles, cg.i64(tile_rows), "tiled"))?;
    let f32t = cg.ctx.f32_type();
    let out_len = f.result_type().map_or(0, |t| t.len) as u64;
    // Calls `callee` on the row at index `iv`.
    let call_at =
        |callee: FunctionValue<'ctx>, iv: inkwell::values::IntValue<'ctx>| -> Result<(), String> {
            let mut args = Vec::with_capacity(f.params.len() + 1);
            let at = llvm(cg.b.build_int_mul(iv, cg.i64(out_len), "o"))?;
            args.push(cg.gep(f32t.into(), out, at)?.into());
            for (k, p) in f.params.iter().enumerate() {
                let base = func
                    .get_nth_param(k as u32 + 1)
                    .ok_or("param")?
                    .into_pointer_value();
                let at = llvm(cg.b.build_int_mul(iv, cg.i64(p.len as u64), "a"))?;
                args.push(cg.gep(f32t.into(), base, at)?.into());
            }
            llvm(cg.b.build_call(callee, &args, ""))?;
            Ok(())
        };
    // A counted loop from `start` (exclusive end `end`) stepping by `step`.
    let counted = |name: &str,
                   start: inkwell::values::IntValue<'ctx>,
                   end: inkwell::values::IntValue<'ctx>,
                   step: u64,
                   callee: FunctionValue<'ctx>|
     -> Result<(), String> {
        let pre = cg.b.get_insert_block().ok_or("no block")?;
        let body = cg.ctx.append_basic_block(func, name);
        let done = cg.ctx.append_basic_block(func, &format!("{name}.done"));
        let any = llvm(cg.b.build_int_compare(inkwell::IntPredicate::ULT, start, end, "any"))?;
        llvm(cg.b.build_conditional_branch(any, body, done))?;
        cg.b.position_at_end(body);
        let i = llvm(cg.b.build_phi(i64t, "i"))?;
        let iv = i.as_basic_value().into_int_value();
        call_at(callee, iv)?;
        let next = llvm(cg.b.build_int_add(iv, cg.i64(step), "next"))?;
        let more = llvm(cg.b.build_int_compare(inkwell::IntPredicate::ULT, next, end, "more"))?;
        llvm(cg.b.build_conditional_branch(more, body, done))?;
        i.add_incoming(&[(&start, pre), (&next, body)]);
        cg.b.position_at_end(done);
        Ok(())
    };
    match tile {
        Some(tile) => {
            counted("tiles", cg.i64(0), tiled, tile_rows, tile)?;
            counted("rest", tiled, n_rows, 1, row)?;
        }
        None => counted("rows", cg.i64(0), n_rows, 1, row)?,
    }
    llvm(cg.b.build_return(Some(&out)))?;
    Ok(func)
}

/// Exports `lamarrc_metadata`, the library's description in the runtime's text format.
fn metadata(cg: &Cg, m: &Module) -> Result<(), String> {
    let text = lamarrc_runtime::Metadata::from_functions(
        m.functions
            .iter()
            .map(|f| lamarrc_runtime::FunctionInfo {
                name: f.name.clone(),
                inputs: f.params.iter().map(|p| p.len).collect(),
                outputs: f.result_type().map_or(0, |t| t.len),
            })
            .collect(),
    )
    .to_text();
    let arr = cg.ctx.const_string(text.as_bytes(), true);
    let g = cg
        .module
        .add_global(arr.get_type(), None, lamarrc_runtime::METADATA_SYMBOL);
    g.set_initializer(&arr);
    g.set_constant(true);
    g.set_linkage(Linkage::External);
    Ok(())
}

/// What `--emit` can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    So,
    Obj,
    Ll,
    Asm,
    Bc,
    H,
}

impl Built<'_> {
    pub fn llvm_ir(&self) -> String {
        self.cg.module.print_to_string().to_string()
    }

    fn bytes(&self, ft: inkwell::targets::FileType) -> Result<Vec<u8>, CodegenError> {
        self.machine
            .write_to_memory_buffer(&self.cg.module, ft)
            .map(|b| b.as_slice().to_vec())
            .map_err(|e| CodegenError::Llvm(e.to_string()))
    }

    pub fn object(&self) -> Result<Vec<u8>, CodegenError> {
        self.bytes(inkwell::targets::FileType::Object)
    }

    pub fn assembly(&self) -> Result<String, CodegenError> {
        Ok(
            String::from_utf8_lossy(&self.bytes(inkwell::targets::FileType::Assembly)?)
                .into_owned(),
        )
    }

    pub fn bitcode(&self) -> Vec<u8> {
        self.cg.module.write_bitcode_to_memory().as_slice().to_vec()
    }
}

/// Links an object file into a shared library with the system C compiler driver (`cc`, or
/// `$LAMARRC_CC`), adding libm for the few functions we do not emit ourselves.
pub fn link_shared(object: &[u8], out: &Path) -> Result<(), CodegenError> {
    link_shared_objects(&[object.to_vec()], out)
}

/// As [`link_shared`], for several objects (from [`objects_parallel`]).
pub fn link_shared_objects(objects: &[Vec<u8>], out: &Path) -> Result<(), CodegenError> {
    let dir = tempfile::tempdir().map_err(|source| CodegenError::Io {
        path: "temporary directory".into(),
        source,
    })?;
    let mut objs = Vec::with_capacity(objects.len());
    for (k, object) in objects.iter().enumerate() {
        let obj = dir.path().join(format!("lamarrc{k}.o"));
        std::fs::write(&obj, object).map_err(|source| CodegenError::Io {
            path: obj.display().to_string(),
            source,
        })?;
        objs.push(obj);
    }
    let cc = std::env::var("LAMARRC_CC").unwrap_or_else(|_| "cc".into());
    let output = std::process::Command::new(&cc)
        .arg("-shared")
        .arg("-o")
        .arg(out)
        .args(&objs)
        .arg("-lm")
        // No lazy binding and a read-only GOT: the library is loaded once and called millions of times.
        .arg("-Wl,-z,now,-z,relro")
        .output()
        .map_err(|e| CodegenError::Link {
            path: out.display().to_string(),
            message: format!(
                "cannot run `{cc}` (a C compiler driver is needed to link shared libraries): {e}"
            ),
        })?;
    if !output.status.success() {
        return Err(CodegenError::Link {
            path: out.display().to_string(),
            message: format!("`{cc}` failed: {}", String::from_utf8_lossy(&output.stderr)),
        });
    }
    Ok(())
}
