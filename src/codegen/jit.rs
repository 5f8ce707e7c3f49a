//! In-process compilation through LLVM's MCJIT: the same module as the `.so`, tuned for the
//! host CPU, callable through `lamarrc_runtime::Entry`.

use super::{batch_symbol, build, CodegenError, Options, TargetSpec};
use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use lamarrc_ir::Module;
use lamarrc_runtime::{Entry, EntryFn, FunctionInfo, RuntimeError};

/// JIT-compiled functions. The engine borrows the context, so both live here; fields drop in
/// order, engine first.
pub struct Jit {
    engine: ExecutionEngine<'static>,
    _ctx: Box<Context>,
    entries: Vec<Entry>,
}

impl Jit {
    /// Compiles `m` for the host CPU (the target in `opts` is ignored: JIT code runs here).
    pub fn new(m: &Module, opts: &Options) -> Result<Jit, CodegenError> {
        let ctx = Box::new(Context::create());
        // SAFETY: the context is boxed (its address is stable) and outlives the engine, which is
        // declared first in `Jit` and therefore dropped first.
        let ctx_ref: &'static Context = unsafe { &*(ctx.as_ref() as *const Context) };
        let opts = Options {
            target: TargetSpec::native(),
            // Code for this CPU only: no load-time selection.
            variants: Vec::new(),
            ..opts.clone()
        };
        let built = build(ctx_ref, m, &opts)?;
        let engine = built
            .cg
            .module
            .create_jit_execution_engine(inkwell::OptimizationLevel::Aggressive)
            .map_err(|e| CodegenError::Llvm(e.to_string()))?;
        let mut entries = Vec::new();
        for f in &m.functions {
            let addr = |name: &str| {
                engine
                    .get_function_address(name)
                    .map_err(|e| CodegenError::Llvm(format!("JIT lookup of `{name}`: {e}")))
            };
            entries.push(Entry {
                info: FunctionInfo {
                    name: f.name.clone(),
                    inputs: f.params.iter().map(|p| p.len).collect(),
                    outputs: f.result_type().map_or(0, |t| t.len),
                },
                addr: EntryFn {
                    row: addr(&f.name)?,
                    batch: addr(&batch_symbol(&f.name))?,
                },
            });
        }
        Ok(Jit {
            engine,
            _ctx: ctx,
            entries,
        })
    }

    pub fn entry(&self, name: &str) -> Result<&Entry, RuntimeError> {
        lamarrc_runtime::find(&self.entries, name)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The execution engine (kept for symbol lookups in tests).
    pub fn engine(&self) -> &ExecutionEngine<'static> {
        &self.engine
    }
}
