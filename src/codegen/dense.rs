//! Dense layers: `y = activation(x · W + b) [+ skip]` for the rows of a call, as one kernel
//! function per layer shape, `void kernel(ptr y, ptr x, ptr W, ptr b, ptr skip)`, emitted once
//! per library and called by every layer of that shape (the tracking networks' eight residual
//! blocks share one); small layers are emitted inline (see [`KERNEL_MIN_WEIGHTS`]). Inlined per
//! layer, the same loops were most of the library's code, which left no room for a second CPU
//! variant within the size budget; a call per layer costs nanoseconds against the microsecond
//! the layer takes.
//!
//! The outputs are split into blocks; for each block, a loop over the inputs loads the block's
//! run of weights `W[k, block]` once (Keras' row-major `inputs × units` layout makes it
//! contiguous) and, for each row `r`, broadcasts `x[r, k]` and accumulates into that row's
//! accumulators. One row streams the weights exactly once with 8 independent accumulators; a
//! tile of R rows reuses each weight load R times, with the block narrowed so that all R × block
//! accumulators stay in registers. Every output is summed over `k` in order, whatever the
//! block, so rows and tiles of any CPU variant agree bit for bit.

use super::cg::{llvm, Cg, Res};
use super::lower::TargetShape;
use super::math;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use lamarrc_ir::{DType, UnaryOp};

/// The shape of a Dense layer as its kernel sees it.
pub struct Layer<'a> {
    pub n_in: usize,
    pub units: usize,
    /// Rows per call (1, or a tile's).
    pub rows: u32,
    /// Precision of the input (a float64 scikit-learn value may feed a float32 layer).
    pub x_dt: DType,
    /// Precision of the weights, the sums and the output.
    pub dt: DType,
    pub act: &'a UnaryOp,
    pub bias: bool,
    pub skip: bool,
}

impl Layer<'_> {
    /// The kernel's symbol: every property the code depends on. Activations with parameters
    /// (a ReLU's threshold, …) enter by a hash of their description.
    fn symbol(&self, variant: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        format!("{:?}", self.act).hash(&mut h);
        let dt = |d: DType| match d {
            DType::F32 => "f32",
            DType::F64 => "f64",
        };
        format!(
            "lamarrc.dense.{}.{}x{}{}.r{}.a{:016x}{}{}{variant}",
            dt(self.dt),
            self.n_in,
            self.units,
            if self.x_dt == self.dt {
                String::new()
            } else {
                format!(".x{}", dt(self.x_dt))
            },
            self.rows,
            h.finish(),
            if self.bias { ".b" } else { "" },
            if self.skip { ".skip" } else { "" },
        )
    }
}

/// `layer` at the builder's position: a call to its kernel, or its code inline when it has fewer
/// than [`KERNEL_MIN_WEIGHTS`] weights. `w`, `b`: the weight and bias tables; `skip`: the value
/// a fused skip connection adds.
#[allow(clippy::too_many_arguments)]
pub fn lower<'ctx>(
    cg: &Cg<'ctx>,
    target: TargetShape,
    layer: &Layer,
    variant: &str,
    y: PointerValue<'ctx>,
    x: PointerValue<'ctx>,
    w: PointerValue<'ctx>,
    b: Option<PointerValue<'ctx>>,
    skip: Option<PointerValue<'ctx>>,
) -> Res<()> {
    if layer.n_in * layer.units < KERNEL_MIN_WEIGHTS {
        return emit(cg, target, layer, y, x, w, b, skip);
    }
    let f = kernel(cg, target, layer, variant)?;
    let null = cg.ptr().const_null();
    llvm(cg.b.build_call(
        f,
        &[
            y.into(),
            x.into(),
            w.into(),
            b.unwrap_or(null).into(),
            skip.unwrap_or(null).into(),
        ],
        "",
    ))?;
    Ok(())
}

/// The kernel for `layer` on `target` (emitted on first use; one copy per library).
fn kernel<'ctx>(
    cg: &Cg<'ctx>,
    target: TargetShape,
    layer: &Layer,
    variant: &str,
) -> Res<FunctionValue<'ctx>> {
    let name = layer.symbol(variant);
    if let Some(f) = cg.module.get_function(&name) {
        return Ok(f);
    }
    let ptr = cg.ptr();
    let fn_ty = cg.ctx.void_type().fn_type(&[ptr.into(); 5], false);
    let func = cg.shared_function(&name, fn_ty);
    let saved = cg.b.get_insert_block();
    cg.b.position_at_end(cg.ctx.append_basic_block(func, "entry"));
    let param = |k: u32| -> Res<PointerValue<'ctx>> {
        Ok(func
            .get_nth_param(k)
            .ok_or("kernel parameter")?
            .into_pointer_value())
    };
    let (y, x, w, b, skip) = (param(0)?, param(1)?, param(2)?, param(3)?, param(4)?);
    emit(
        cg,
        target,
        layer,
        y,
        x,
        w,
        layer.bias.then_some(b),
        layer.skip.then_some(skip),
    )?;
    llvm(cg.b.build_return(None))?;
    if let Some(bb) = saved {
        cg.b.position_at_end(bb);
    }
    Ok(func)
}

/// Layers with fewer weights are emitted inline: their code is short, and LLVM then folds the
/// constant weights into it and keeps the values in registers (scikit-learn-sized layers, a
/// network's narrow output layer).
const KERNEL_MIN_WEIGHTS: usize = 2048;

/// The layer's code at the builder's position (a kernel's body, or inline).
#[allow(clippy::too_many_arguments)]
fn emit<'ctx>(
    cg: &Cg<'ctx>,
    target: TargetShape,
    layer: &Layer,
    y: PointerValue<'ctx>,
    x: PointerValue<'ctx>,
    w_tab: PointerValue<'ctx>,
    b_tab: Option<PointerValue<'ctx>>,
    skip: Option<PointerValue<'ctx>>,
) -> Res<()> {
    let (dt, n_in, units) = (layer.dt, layer.n_in, layer.units);
    let rows = layer.rows as usize;
    let func =
        cg.b.get_insert_block()
            .and_then(|b| b.get_parent())
            .ok_or("no function")?;
    let lanes = target.lanes(dt) as usize;
    let vectors = if rows == 1 {
        8
    } else {
        ((target.vector_registers() as usize - 4) / rows).max(1)
    };
    let block = vectors * lanes;
    // Blocks of equal width run as a loop over `j0`, never unrolled (one copy of the block's
    // code); a narrower last block follows.
    cg.chunks(units, block as u32, 1, |j0, bw| {
        let bw = bw as usize;
        let at = |c: usize| -> Res<IntValue<'ctx>> {
            llvm(cg.b.build_int_add(j0, cg.i64(c as u64), "j"))
        };
        // One accumulator per row and native vector (the last one possibly narrower): LLVM
        // keeps each in a register, whatever the block width.
        let widths: Vec<(usize, u32)> = (0..bw)
            .step_by(lanes)
            .map(|c| (c, lanes.min(bw - c) as u32))
            .collect();
        let inits: Vec<VectorValue> = widths
            .iter()
            .map(|&(c, w)| match b_tab {
                Some(b) => cg.load_vec(dt, w, b, at(c)?),
                None => Ok(cg.vty(dt, w).const_zero()),
            })
            .collect::<Res<_>>()?;
        let accs: Vec<Vec<VectorValue>> = if n_in == 0 {
            vec![inits.clone(); rows]
        } else {
            let pre = cg.b.get_insert_block().ok_or("no block")?;
            let head = cg.ctx.append_basic_block(func, "dense");
            let done = cg.ctx.append_basic_block(func, "dense.done");
            llvm(cg.b.build_unconditional_branch(head))?;
            cg.b.position_at_end(head);
            let k = llvm(cg.b.build_phi(cg.ctx.i64_type(), "k"))?;
            let phis: Vec<Vec<_>> = (0..rows)
                .map(|_| {
                    widths
                        .iter()
                        .map(|&(_, w)| llvm(cg.b.build_phi(cg.vty(dt, w), "acc")))
                        .collect::<Res<Vec<_>>>()
                })
                .collect::<Res<_>>()?;
            let kv = k.as_basic_value().into_int_value();
            let row = llvm(cg.b.build_int_mul(kv, cg.i64(units as u64), "wrow"))?;
            let wvs: Vec<VectorValue> = widths
                .iter()
                .map(|&(c, w)| {
                    let wi = llvm(cg.b.build_int_add(row, at(c)?, "at"))?;
                    cg.load_vec(dt, w, w_tab, wi)
                })
                .collect::<Res<_>>()?;
            let mut next_accs = Vec::with_capacity(rows);
            for (r, row_phis) in phis.iter().enumerate() {
                let xi = llvm(cg.b.build_int_add(kv, cg.i64((r * n_in) as u64), "xi"))?;
                let xs = cg.load_scalar(layer.x_dt, x, xi)?;
                let xs = if layer.x_dt == dt {
                    xs
                } else {
                    llvm(cg.b.build_float_cast(xs, cg.fty(dt), "xc"))?
                };
                let mut row_next = Vec::with_capacity(widths.len());
                for ((phi, wv), &(_, w)) in row_phis.iter().zip(&wvs).zip(&widths) {
                    let xb = cg.splat_val(xs, w)?;
                    row_next.push(cg.fma(xb, *wv, phi.as_basic_value().into_vector_value())?);
                }
                next_accs.push(row_next);
            }
            let next = llvm(cg.b.build_int_add(kv, cg.i64(1), "k1"))?;
            let more = llvm(cg.b.build_int_compare(
                inkwell::IntPredicate::ULT,
                next,
                cg.i64(n_in as u64),
                "more",
            ))?;
            let latch = cg.b.get_insert_block().ok_or("no block")?;
            llvm(cg.b.build_conditional_branch(more, head, done))?;
            k.add_incoming(&[(&cg.i64(0), pre), (&next, latch)]);
            for (row_phis, row_next) in phis.iter().zip(&next_accs) {
                for ((phi, nxt), init) in row_phis.iter().zip(row_next).zip(&inits) {
                    phi.add_incoming(&[(init, pre), (nxt, latch)]);
                }
            }
            cg.b.position_at_end(done);
            next_accs
        };
        for (r, row_accs) in accs.into_iter().enumerate() {
            for (acc, &(c, _)) in row_accs.into_iter().zip(&widths) {
                let yi = llvm(cg.b.build_int_add(at(c)?, cg.i64((r * units) as u64), "yi"))?;
                cg.store_vec(acc, dt, y, yi)?;
            }
        }
        Ok(())
    })?;
    // The activation (and a fused skip connection) runs as a vector loop over the stored sums:
    // applied to every accumulator in place it would make one huge basic block, and LLVM's
    // register allocator is superlinear in block size (compile time went from 0.4 s to 3 s).
    if !layer.act.is_identity() || skip.is_some() {
        cg.chunks(rows * units, lanes as u32, 4, |off, w| {
            let v = cg.load_vec(dt, w, y, off)?;
            let mut v = math::unary(cg, layer.act, dt, v)?;
            if let Some(r) = skip {
                v = cg.fadd(v, cg.load_vec(dt, w, r, off)?)?;
            }
            cg.store_vec(v, dt, y, off)
        })?;
    }
    Ok(())
}
