//! One IR function → one LLVM function `ptr NAME(ptr out, ptr in0, ptr in1, …)`.
//!
//! Values live in stack slots chosen by [`super::plan`]; parameters are read in place; the result
//! is copied to `out` last, so `out` may alias any input. Weights and tables are private constant
//! globals. Dense layers are emitted as explicit vector code (see [`Lower::dense`]); every other
//! elementwise op runs over vector chunks of the target's width.

use super::cg::{llvm, Cg, Res};
use super::dense;
use super::math;
use super::quantile;
use inkwell::module::Linkage;
use inkwell::types::VectorType;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::FloatPredicate as P;
use lamarrc_ir::{BinaryOp, DType, Function, Op, PowerMethod};
use lamarrc_passes::buffers::plan;

/// What the lowering needs to know about the target.
#[derive(Clone, Copy, Debug)]
pub struct TargetShape {
    /// Width of the widest vector register in bits (128 SSE/NEON, 256 AVX2, 512 AVX-512).
    pub vector_bits: u32,
}

impl TargetShape {
    pub fn lanes(&self, dt: DType) -> u32 {
        self.vector_bits / (8 * dt.size_bytes() as u32)
    }

    /// Architectural vector registers (AVX-512 has 32, AVX2 and SSE 16).
    pub fn vector_registers(&self) -> u32 {
        if self.vector_bits >= 512 {
            32
        } else {
            16
        }
    }

    /// Rows per tile of the batched entry point.
    /// (AVX-512: 8 rows × 3 vectors = 24 accumulators of 32 registers; AVX2: 6 × 2 = 12 of 16.
    /// Measured on the tracking networks, wider tiles gained nothing and cost stack.)
    pub fn tile_rows(&self) -> u32 {
        if self.vector_bits >= 512 {
            8
        } else {
            6
        }
    }
}

/// The symbol of the function evaluating tiles of `rows` rows of `name`.
pub fn tile_symbol(name: &str, rows: u32) -> String {
    format!("{name}.tile{rows}")
}

/// Where a value lives.
#[derive(Clone, Copy)]
struct Loc<'ctx> {
    ptr: PointerValue<'ctx>,
    dt: DType,
    len: usize,
}

struct Lower<'a, 'ctx> {
    cg: &'a Cg<'ctx>,
    f: &'a Function,
    target: TargetShape,
    locs: Vec<Option<Loc<'ctx>>>,
    /// Rows evaluated per call: 1 for the row function, more for batched tiles.
    rows: u32,
    /// While emitting one row of a tile: that row's index (locations are offset to it).
    cur_row: std::cell::Cell<Option<IntValue<'ctx>>>,
    /// Suffix of this CPU variant's symbols (empty without multiversioning); calls go to the
    /// callee of the same variant.
    variant: String,
}

/// Native float64 vectors per QuantileTransformer helper call. A call is one long chain of
/// dependent latencies (two table loads, the interpolation, then the normal quantile's log, sqrt
/// and rational), so one vector left most of the core idle; several independent vectors in one
/// call overlap their chains (covariance's tX: 3 calls of 4 columns → 2 calls of 8).
const QUANTILE_VECTORS: u32 = 2;

/// Upper bound on the work lowered into one LLVM function (see [`parts`]).
const PART_COST: usize = 24;

/// What a node costs towards [`PART_COST`]: a Dense layer is a loop nest plus an activation
/// loop; most other ops are one short loop.
fn node_cost(op: &Op) -> usize {
    match op {
        Op::Param { .. } => 0,
        Op::Dense { .. } | Op::Residual { .. } => 3,
        _ => 1,
    }
}

/// Splits the nodes into consecutive ranges of bounded cost. A deep network lowered as one
/// function made LLVM's register allocator and scheduler superlinear in depth (1000 layers did
/// not compile in 10 minutes) and, at -O0, every layer's temporaries stayed on the stack; each
/// range becomes its own never-inlined function sharing the caller's frame, which bounds both.
/// The tracking networks take one or two parts (a call per part costs nanoseconds).
fn parts(f: &Function) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut cost) = (0, 0);
    for (i, n) in f.nodes.iter().enumerate() {
        let c = node_cost(&n.op);
        if cost + c > PART_COST && i > start {
            out.push(start..i);
            (start, cost) = (i, 0);
        }
        cost += c;
    }
    out.push(start..f.nodes.len());
    out
}

/// The symbol of part `k` of a function split by [`parts`].
pub fn part_symbol(symbol: &str, k: usize) -> String {
    format!("{symbol}.part{k}")
}

/// Emits `f` as a function with the scikinC calling convention that evaluates `rows`
/// consecutive rows of row-major inputs (`rows = 1`: the exported row function; more: a tile
/// for the batched entry point, whose Dense layers reuse every weight load across the rows).
/// Returns the function and the part functions it calls (empty when it is lowered whole).
pub fn lower_function<'ctx>(
    cg: &Cg<'ctx>,
    f: &Function,
    symbol: &str,
    linkage: Linkage,
    target: TargetShape,
    rows: u32,
    variant: &str,
) -> Result<(FunctionValue<'ctx>, Vec<FunctionValue<'ctx>>), String> {
    let ptr = cg.ptr();
    let params: Vec<_> = std::iter::repeat_n(ptr.into(), f.params.len() + 1).collect();
    let fn_ty = ptr.fn_type(&params, false);
    let func = cg.module.add_function(symbol, fn_ty, Some(linkage));
    let entry = cg.ctx.append_basic_block(func, "entry");
    cg.b.position_at_end(entry);

    // One frame, carved into slots.
    let p = plan(f);
    let frame_ty = cg
        .ctx
        .i8_type()
        .array_type((p.frame_bytes() * rows as usize).max(1) as u32);
    let frame = llvm(cg.b.build_alloca(frame_ty, "frame"))?;
    if let Some(i) = frame.as_instruction() {
        let _ = i.set_alignment(64);
    }
    // Parameters 1.. of the function and of its parts (0 is `out`, or the frame).
    let inputs = |func: FunctionValue<'ctx>| -> Res<Vec<PointerValue<'ctx>>> {
        (1..=f.params.len() as u32)
            .map(|k| {
                Ok(func
                    .get_nth_param(k)
                    .ok_or("missing parameter")?
                    .into_pointer_value())
            })
            .collect()
    };
    let ins = inputs(func)?;
    let shape = Shape {
        plan: &p,
        target,
        rows,
        variant,
    };
    let ranges = parts(f);
    let mut part_fns = Vec::new();
    if ranges.len() == 1 {
        lower_nodes(cg, f, frame, &ins, 0..f.nodes.len(), &shape)?;
    } else {
        // `void part(ptr noalias frame, ptr in0, …)`: the frame is private to this call.
        let part_ty = cg.ctx.void_type().fn_type(&params, false);
        for (k, range) in ranges.iter().enumerate() {
            let pf =
                cg.module
                    .add_function(&part_symbol(symbol, k), part_ty, Some(Linkage::Private));
            pf.add_attribute(
                inkwell::attributes::AttributeLoc::Function,
                cg.attribute("noinline"),
            );
            pf.add_attribute(
                inkwell::attributes::AttributeLoc::Param(0),
                cg.attribute("noalias"),
            );
            let body = cg.ctx.append_basic_block(pf, "entry");
            cg.b.position_at_end(body);
            let pframe = pf
                .get_nth_param(0)
                .ok_or("missing frame")?
                .into_pointer_value();
            lower_nodes(cg, f, pframe, &inputs(pf)?, range.clone(), &shape)?;
            llvm(cg.b.build_return(None))?;
            part_fns.push(pf);
        }
        cg.b.position_at_end(entry);
        for pf in &part_fns {
            let mut args: Vec<inkwell::values::BasicMetadataValueEnum> = vec![frame.into()];
            args.extend(
                ins.iter()
                    .map(|p| inkwell::values::BasicMetadataValueEnum::from(*p)),
            );
            llvm(cg.b.build_call(*pf, &args, ""))?;
        }
    }
    // The result is copied to `out` last, so `out` may alias any input.
    let mut l = Lower::new(cg, f, frame, &ins, &shape)?;
    let result = f.result.ok_or("function without result")?.index();
    let out = func
        .get_nth_param(0)
        .ok_or("missing out")?
        .into_pointer_value();
    let r0 = l.base(result);
    l.locs.push(Some(Loc { ptr: out, ..r0 }));
    let out_index = l.locs.len() - 1;
    l.per_row(|l| l.copy(l.loc(result)?, l.loc(out_index)?, 0))?;
    llvm(cg.b.build_return(Some(&out)))?;
    Ok((func, part_fns))
}

/// What every function lowered from one IR function shares: its frame's plan, the target, the
/// rows per call and the CPU variant.
struct Shape<'s> {
    plan: &'s lamarrc_passes::buffers::Plan,
    target: TargetShape,
    rows: u32,
    variant: &'s str,
}

/// Lowers the nodes in `range` of `f` at the builder's position, values in the slots of
/// `frame` and parameters read from `inputs`.
fn lower_nodes<'ctx>(
    cg: &Cg<'ctx>,
    f: &Function,
    frame: PointerValue<'ctx>,
    inputs: &[PointerValue<'ctx>],
    range: std::ops::Range<usize>,
    shape: &Shape,
) -> Res<()> {
    let mut l = Lower::new(cg, f, frame, inputs, shape)?;
    for i in range {
        l.node(i).map_err(|e| {
            let n = &f.nodes[i];
            format!("%{i} ({}) {}: {e}", n.op.mnemonic(), n.origin)
        })?;
    }
    Ok(())
}

impl<'a, 'ctx> Lower<'a, 'ctx> {
    /// Locations of every value: parameters in place, the rest in the slots of `frame`.
    fn new(
        cg: &'a Cg<'ctx>,
        f: &'a Function,
        frame: PointerValue<'ctx>,
        inputs: &[PointerValue<'ctx>],
        shape: &Shape,
    ) -> Res<Self> {
        let (p, rows) = (shape.plan, shape.rows);
        let mut slot_ptr = Vec::with_capacity(p.slot_bytes.len());
        let mut off = 0usize;
        for bytes in &p.slot_bytes {
            slot_ptr.push(cg.gep(cg.ctx.i8_type().into(), frame, cg.i64(off as u64))?);
            off += (bytes * rows as usize).div_ceil(64) * 64;
        }
        let mut locs = Vec::with_capacity(f.nodes.len());
        for (i, n) in f.nodes.iter().enumerate() {
            locs.push(Some(match n.op {
                Op::Param { index } => Loc {
                    ptr: *inputs.get(index).ok_or("missing parameter")?,
                    dt: DType::F32,
                    len: n.ty.len,
                },
                _ => Loc {
                    ptr: slot_ptr[p.slot_of[i].ok_or("unplanned value")?],
                    dt: n.ty.dtype,
                    len: n.ty.len,
                },
            }));
        }
        Ok(Lower {
            cg,
            f,
            target: shape.target,
            locs,
            rows,
            cur_row: std::cell::Cell::new(None),
            variant: shape.variant.to_string(),
        })
    }
}

impl<'ctx> Lower<'_, 'ctx> {
    /// The location of value `i` for all rows of the tile.
    fn base(&self, i: usize) -> Loc<'ctx> {
        self.locs[i].expect("every node has a location")
    }

    /// The location of value `i` in the current row (all rows outside [`Self::per_row`]).
    fn loc(&self, i: usize) -> Res<Loc<'ctx>> {
        let l = self.base(i);
        match self.cur_row.get() {
            None => Ok(l),
            Some(r) => {
                let off = llvm(self.cg.b.build_int_mul(r, self.cg.i64(l.len as u64), "row"))?;
                Ok(Loc {
                    ptr: self.cg.gep(self.cg.fty(l.dt).into(), l.ptr, off)?,
                    ..l
                })
            }
        }
    }

    fn arg(&self, node: usize, k: usize) -> Res<Loc<'ctx>> {
        self.loc(self.f.nodes[node].args[k].index())
    }

    /// Runs `body` once per row of the tile with [`Self::loc`] offset to that row.
    fn per_row(&self, mut body: impl FnMut(&Self) -> Res<()>) -> Res<()> {
        if self.rows == 1 {
            return body(self);
        }
        // One copy of the body, looped over the tile's rows.
        self.cg.chunks(self.rows as usize, 1, 0, |r, _| {
            self.cur_row.set(Some(r));
            let res = body(self);
            self.cur_row.set(None);
            res
        })
    }

    /// A private constant table of `data` in precision `dt`.
    fn table(&self, name: &str, data: &[f64], dt: DType) -> PointerValue<'ctx> {
        let mut bytes = Vec::with_capacity(data.len() * dt.size_bytes());
        for &v in data {
            match dt {
                DType::F32 => bytes.extend_from_slice(&(v as f32).to_le_bytes()),
                DType::F64 => bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
        self.bytes_table(name, &bytes)
    }

    /// Elements `cols` of `x` in the first lanes of a `w`-lane vector, the last one repeated in
    /// the spare lanes: a vector load where they are consecutive.
    fn load_lanes(&self, x: Loc<'ctx>, cols: &[usize], w: usize) -> Res<VectorValue<'ctx>> {
        let cg = self.cg;
        let i32t = cg.ctx.i32_type();
        let used = cols.len();
        let v = if cols.windows(2).all(|p| p[1] == p[0] + 1) {
            cg.load_vec(x.dt, used as u32, x.ptr, cg.i64(cols[0] as u64))?
        } else {
            let mut v = cg.vty(x.dt, used as u32).get_poison();
            for (l, &c) in cols.iter().enumerate() {
                let e = cg.load_scalar(x.dt, x.ptr, cg.i64(c as u64))?;
                v = llvm(cg.b.build_insert_element(v, e, i32t.const_int(l as u64, false), "lane"))?;
            }
            v
        };
        let widen: Vec<_> = (0..w)
            .map(|l| i32t.const_int(l.min(used - 1) as u64, false))
            .collect();
        llvm(cg.b.build_shuffle_vector(
            v,
            v.get_type().get_poison(),
            VectorType::const_vector(&widen),
            "xw",
        ))
    }

    /// Stores the first `cols.len()` lanes of `v` to elements `cols` of `y`.
    fn store_lanes(&self, v: VectorValue<'ctx>, y: Loc<'ctx>, cols: &[usize]) -> Res<()> {
        let cg = self.cg;
        let i32t = cg.ctx.i32_type();
        if cols.windows(2).all(|p| p[1] == p[0] + 1) {
            let first: Vec<_> = (0..cols.len())
                .map(|l| i32t.const_int(l as u64, false))
                .collect();
            let v = llvm(cg.b.build_shuffle_vector(
                v,
                v.get_type().get_poison(),
                VectorType::const_vector(&first),
                "yn",
            ))?;
            return cg.store_vec(v, y.dt, y.ptr, cg.i64(cols[0] as u64));
        }
        for (l, &c) in cols.iter().enumerate() {
            let li = i32t.const_int(l as u64, false);
            let e = llvm(cg.b.build_extract_element(v, li, "lane"))?.into_float_value();
            cg.store_scalar(e, y.dt, y.ptr, cg.i64(c as u64))?;
        }
        Ok(())
    }

    /// A named constant; the row and tile variants of a function share it.
    fn bytes_table(&self, name: &str, bytes: &[u8]) -> PointerValue<'ctx> {
        let full = format!("{}.{name}", self.f.name);
        if let Some(g) = self.cg.module.get_global(&full) {
            return g.as_pointer_value();
        }
        let arr = self.cg.ctx.const_string(bytes, false);
        let g = self.cg.module.add_global(arr.get_type(), None, &full);
        g.set_initializer(&arr);
        g.set_constant(true);
        g.set_linkage(Linkage::Private);
        g.set_unnamed_addr(true);
        g.set_alignment(64);
        g.as_pointer_value()
    }

    /// Emits `body(offset, width)` over `len` elements in chunks of `chunk`: a loop over the
    /// full chunks (unrolled when there are few) and one narrower tail.
    fn chunks(
        &self,
        len: usize,
        chunk: u32,
        body: impl FnMut(IntValue<'ctx>, u32) -> Res<()>,
    ) -> Res<()> {
        self.cg.chunks(len, chunk, 4, body)
    }

    /// Copies `src` into `dst` starting at element `at`, converting precision if needed.
    fn copy(&self, src: Loc<'ctx>, dst: Loc<'ctx>, at: usize) -> Res<()> {
        self.copy_run(src, 0, dst, at, src.len)
    }

    /// Copies elements `from..from + len` of `src` to `dst` from element `at`, in vectors.
    fn copy_run(
        &self,
        src: Loc<'ctx>,
        from: usize,
        dst: Loc<'ctx>,
        at: usize,
        len: usize,
    ) -> Res<()> {
        let cg = self.cg;
        self.chunks(len, self.target.lanes(src.dt), |off, w| {
            let i = llvm(cg.b.build_int_add(off, cg.i64(from as u64), "i"))?;
            let v = cg.load_vec(src.dt, w, src.ptr, i)?;
            let v = self.convert(v, src.dt, dst.dt, w)?;
            let o = llvm(cg.b.build_int_add(off, cg.i64(at as u64), "o"))?;
            cg.store_vec(v, dst.dt, dst.ptr, o)
        })
    }

    fn convert(
        &self,
        v: VectorValue<'ctx>,
        from: DType,
        to: DType,
        w: u32,
    ) -> Res<VectorValue<'ctx>> {
        let cg = self.cg;
        match (from, to) {
            (a, b) if a == b => Ok(v),
            (DType::F32, DType::F64) => llvm(cg.b.build_float_ext(v, cg.vty(to, w), "ext")),
            _ => llvm(cg.b.build_float_trunc(v, cg.vty(to, w), "trunc")),
        }
    }

    /// `y[j] = g(x[j], c0[j], c1[j], …)` over chunks, with per-column constant tables.
    fn elementwise(
        &self,
        i: usize,
        tables: &[(&str, &[f64])],
        g: impl Fn(VectorValue<'ctx>, &[VectorValue<'ctx>]) -> Res<VectorValue<'ctx>>,
    ) -> Res<()> {
        let cg = self.cg;
        let x = self.arg(i, 0)?;
        let y = self.loc(i)?;
        let ptrs: Vec<PointerValue> = tables
            .iter()
            .map(|(name, data)| self.table(&format!("n{i}.{name}"), data, y.dt))
            .collect();
        self.chunks(y.len, self.target.lanes(y.dt), |off, w| {
            let xv = cg.load_vec(x.dt, w, x.ptr, off)?;
            let cs: Vec<VectorValue> = ptrs
                .iter()
                .map(|p| cg.load_vec(y.dt, w, *p, off))
                .collect::<Res<_>>()?;
            let r = g(xv, &cs)?;
            cg.store_vec(r, y.dt, y.ptr, off)
        })
    }

    fn node(&mut self, i: usize) -> Res<()> {
        match &self.f.nodes[i].op {
            Op::Param { .. } => Ok(()),
            Op::Dense {
                units,
                kernel,
                bias,
                activation,
            } => self.dense(i, *units, kernel, bias.as_deref(), activation, None),
            Op::Residual {
                units,
                kernel,
                bias,
                activation,
            } => {
                let skip = self.f.nodes[i].args[1].index();
                self.dense(i, *units, kernel, bias.as_deref(), activation, Some(skip))
            }
            Op::Call { callee, .. } => self.call(i, callee),
            _ => self.per_row(|l| l.node_row(i)),
        }
    }

    /// A call into another exported function: its row function, or for a tile its tile
    /// function over the same rows. Never inlined, so each sub-step is compiled once.
    fn call(&self, i: usize, callee: &str) -> Res<()> {
        let cg = self.cg;
        let callee = format!("{callee}{}", self.variant);
        let tile = (self.rows > 1)
            .then(|| cg.module.get_function(&tile_symbol(&callee, self.rows)))
            .flatten();
        if self.rows > 1 && tile.is_none() {
            // The callee batches row by row: call its row function for each row of the tile.
            let target = cg
                .module
                .get_function(&callee)
                .ok_or_else(|| format!("`{callee}` is not emitted before its caller"))?;
            return self.per_row(|l| {
                let mut args: Vec<inkwell::values::BasicMetadataValueEnum> =
                    vec![l.loc(i)?.ptr.into()];
                for k in 0..l.f.nodes[i].args.len() {
                    args.push(l.arg(i, k)?.ptr.into());
                }
                let call = llvm(cg.b.build_call(target, &args, ""))?;
                call.add_attribute(
                    inkwell::attributes::AttributeLoc::Function,
                    cg.attribute("noinline"),
                );
                Ok(())
            });
        }
        let symbol = if self.rows == 1 {
            callee
        } else {
            tile_symbol(&callee, self.rows)
        };
        let target = cg
            .module
            .get_function(&symbol)
            .ok_or_else(|| format!("`{symbol}` is not emitted before its caller"))?;
        let mut args: Vec<inkwell::values::BasicMetadataValueEnum> = vec![self.base(i).ptr.into()];
        for a in &self.f.nodes[i].args {
            args.push(self.base(a.index()).ptr.into());
        }
        let call = llvm(cg.b.build_call(target, &args, ""))?;
        call.add_attribute(
            inkwell::attributes::AttributeLoc::Function,
            cg.attribute("noinline"),
        );
        Ok(())
    }

    /// Every op but Dense, for one row.
    fn node_row(&self, i: usize) -> Res<()> {
        let cg = self.cg;
        let n = &self.f.nodes[i];
        let dt = n.ty.dtype;
        match &n.op {
            Op::Param { .. } | Op::Dense { .. } | Op::Residual { .. } | Op::Call { .. } => {
                unreachable!("handled by node()")
            }
            Op::Cast { .. } => self.copy(self.arg(i, 0)?, self.loc(i)?, 0),
            Op::Unary(u) => self.elementwise(i, &[], |x, _| math::unary(cg, u, dt, x)),
            Op::Binary(b) => {
                let (a, c, y) = (self.arg(i, 0)?, self.arg(i, 1)?, self.loc(i)?);
                self.chunks(y.len, self.target.lanes(dt), |off, w| {
                    let av = cg.load_vec(dt, w, a.ptr, off)?;
                    let cv = cg.load_vec(dt, w, c.ptr, off)?;
                    let r = match b {
                        BinaryOp::Add => cg.fadd(av, cv)?,
                        BinaryOp::Sub => cg.fsub(av, cv)?,
                        BinaryOp::Mul => cg.fmul(av, cv)?,
                        // NaN-propagating, like tf.maximum and numpy.maximum.
                        BinaryOp::Max => cg.intrinsic("llvm.maximum", &[av, cv])?,
                        BinaryOp::Min => cg.intrinsic("llvm.minimum", &[av, cv])?,
                    };
                    cg.store_vec(r, dt, y.ptr, off)
                })
            }
            // Unfused multiply then add, the two roundings numpy performs.
            Op::Affine { scale, shift } => {
                self.elementwise(i, &[("scale", scale), ("shift", shift)], |x, c| {
                    cg.fadd(cg.fmul(x, c[0])?, c[1])
                })
            }
            Op::Standardize { mean, scale } => {
                self.elementwise(i, &[("mean", mean), ("scale", scale)], |x, c| {
                    cg.fdiv(cg.fsub(x, c[0])?, c[1])
                })
            }
            Op::PRelu { alpha } => self.elementwise(i, &[("alpha", alpha)], |x, c| {
                let w = x.get_type().get_size();
                let neg = cg.cmp(P::OLT, x, cg.splat(dt, w, 0.0))?;
                cg.select(neg, cg.fmul(x, c[0])?, x)
            }),
            Op::Clip { lo, hi } => self.elementwise(i, &[], |x, _| {
                let w = x.get_type().get_size();
                cg.min_nan(cg.max_nan(x, cg.splat(dt, w, *lo))?, cg.splat(dt, w, *hi))
            }),
            Op::Concat => {
                let y = self.loc(i)?;
                let mut at = 0;
                for k in 0..n.args.len() {
                    let a = self.arg(i, k)?;
                    self.copy(a, y, at)?;
                    at += a.len;
                }
                Ok(())
            }
            Op::Gather { indices } => {
                // Runs of consecutive columns (a slice of the input, the usual case) are copied
                // in vectors: element by element, a generator's 140-wide input split and
                // concatenated again was a tenth of its tile's code.
                let (x, y) = (self.arg(i, 0)?, self.loc(i)?);
                let mut j = 0;
                while j < indices.len() {
                    let run = 1 + indices[j..]
                        .windows(2)
                        .take_while(|p| p[1] == p[0] + 1)
                        .count();
                    self.copy_run(x, indices[j], y, j, run)?;
                    j += run;
                }
                Ok(())
            }
            Op::Softmax | Op::LogSoftmax => self.softmax(i, matches!(n.op, Op::LogSoftmax)),
            Op::Quantile {
                distribution,
                inverse,
                references,
                columns,
                linspace,
            } => {
                let (x, y) = (self.arg(i, 0)?, self.loc(i)?);
                let nref = references.len();
                // Computed references need no table; the helper is specialised for this size.
                let r = if *linspace {
                    cg.ptr().const_null()
                } else {
                    self.table(&format!("n{i}.references"), references, DType::F64)
                };
                let mut all: Vec<f64> = columns
                    .iter()
                    .flat_map(|c| c.quantiles.iter().copied())
                    .collect();
                // Tables long enough for the two-level block search: b entries of padding, so
                // the last column's last block can be loaded whole (they are never counted).
                // Forward and inverse pad alike, so a tY and its inverse still share the table.
                let padding = quantile::block_size(nref);
                // Quantiles fitted on float32 data are float32 values: stored as such, widened
                // back exactly when loaded.
                let qt = if all.iter().all(|&v| (v as f32) as f64 == v) {
                    DType::F32
                } else {
                    DType::F64
                };
                if let Some(b) = padding {
                    all.extend(std::iter::repeat_n(0.0, b as usize));
                }
                let q = self.table(&format!("n{i}.quantiles"), &all, qt);
                let blocks = quantile::block_search(nref, *inverse, *linspace, qt);
                let pivots = match blocks {
                    Some(b) => {
                        let p: Vec<f64> = columns
                            .iter()
                            .flat_map(|c| quantile::block_pivots(&c.quantiles, b))
                            .collect();
                        self.table(&format!("n{i}.pivots"), &p, qt)
                    }
                    None => cg.ptr().const_null(),
                };
                // Columns in calls of up to QUANTILE_VECTORS native float64 vectors, lane ℓ
                // transforming one column with that column's table. A call is bound by the
                // latency of its table searches, so the call count is what costs: columns whose
                // quantiles are strictly increasing go to the forward helper that finds both
                // interpolation segments with one search, apart from columns with repeated
                // quantiles (plateaus of a discrete feature), only where that takes no more calls;
                // each call is only as many vectors wide as its columns need (covariance's tX:
                // six columns in one call of two vectors, three in a call of one).
                // The inverse searches the references, so it keeps the columns in order.
                let native = self.target.lanes(DType::F64).max(1) as usize;
                // Float64 tables are tY's, whose forward transform is off the chain's path: one
                // vector per call, half the helper's code.
                let vectors = if !*inverse && qt == DType::F64 {
                    1
                } else {
                    QUANTILE_VECTORS as usize
                };
                let wmax = vectors * native;
                // Calls of at most `wmax` lanes, each as many native vectors wide as it needs.
                let widths = |n: usize| -> Vec<usize> {
                    (0..n)
                        .step_by(wmax)
                        .map(|c| (n - c).min(wmax).div_ceil(native) * native)
                        .collect()
                };
                let (distinct, tied): (Vec<usize>, Vec<usize>) = (0..columns.len())
                    .partition(|&c| columns[c].quantiles.windows(2).all(|p| p[0] < p[1]));
                let calls = |n: usize| widths(n).len();
                let split = calls(distinct.len()) + calls(tied.len()) <= calls(columns.len());
                let (distinct, tied) = if *inverse || !split {
                    (Vec::new(), (0..columns.len()).collect())
                } else {
                    (distinct, tied)
                };
                for (group, distinct) in [(distinct, true), (tied, false)] {
                    let mut rest = &group[..];
                    for w in widths(group.len()) {
                        let (cols, more) = rest.split_at(rest.len().min(w));
                        rest = more;
                        self.quantile_call(
                            x,
                            y,
                            cols,
                            w,
                            *distribution,
                            *inverse,
                            nref,
                            *linspace,
                            qt,
                            distinct,
                            blocks,
                            q,
                            r,
                            pivots,
                        )?;
                    }
                }
                Ok(())
            }
            Op::Power {
                method,
                inverse,
                lambdas,
            } => {
                let (x, y) = (self.arg(i, 0)?, self.loc(i)?);
                for (c, &lambda) in lambdas.iter().enumerate() {
                    let xv = cg.load_vec(x.dt, 1, x.ptr, cg.i64(c as u64))?;
                    let r = power(cg, x.dt, xv, lambda, *method, *inverse)?;
                    cg.store_vec(r, y.dt, y.ptr, cg.i64(c as u64))?;
                }
                Ok(())
            }
        }
    }

    /// One call of the QuantileTransformer helper transforming columns `cols` of `x` into `y`
    /// in `w` lanes (a partial vector repeats its last column in the spare lanes).
    #[allow(clippy::too_many_arguments)]
    fn quantile_call(
        &self,
        x: Loc<'ctx>,
        y: Loc<'ctx>,
        cols: &[usize],
        w: usize,
        dist: lamarrc_ir::Distribution,
        inverse: bool,
        nref: usize,
        linspace: bool,
        qt: DType,
        distinct: bool,
        blocks: Option<u64>,
        q: PointerValue<'ctx>,
        r: PointerValue<'ctx>,
        pivots: PointerValue<'ctx>,
    ) -> Res<()> {
        let cg = self.cg;
        let helper = quantile::helper(
            cg,
            dist,
            inverse,
            linspace.then_some(nref),
            qt,
            distinct,
            blocks,
            w as u32,
            &self.variant,
        )?;
        let lane = |l: usize| cols[l.min(cols.len() - 1)];
        let xv = self.load_lanes(x, cols, w)?;
        let starts: Vec<_> = (0..w).map(|l| cg.i64((lane(l) * nref) as u64)).collect();
        let pivot_starts: Vec<_> = (0..w)
            .map(|l| cg.i64(lane(l) as u64 * blocks.unwrap_or(0)))
            .collect();
        let call = llvm(cg.b.build_call(
            helper,
            &[
                xv.into(),
                q.into(),
                r.into(),
                cg.i64(nref as u64).into(),
                VectorType::const_vector(&starts).into(),
                pivots.into(),
                VectorType::const_vector(&pivot_starts).into(),
            ],
            "q",
        ))?;
        let v = call
            .try_as_basic_value()
            .basic()
            .ok_or("void quantile helper")?
            .into_vector_value();
        self.store_lanes(v, y, cols)
    }

    /// `activation(x · W + b)` (+ a fused skip connection) for every row of the tile, by a
    /// call to the kernel of this layer's shape, or inline for a small layer (see
    /// [`super::dense`]).
    fn dense(
        &self,
        i: usize,
        units: usize,
        kernel: &[f64],
        bias: Option<&[f64]>,
        act: &lamarrc_ir::UnaryOp,
        skip: Option<usize>,
    ) -> Res<()> {
        let cg = self.cg;
        let (x, y) = (self.arg(i, 0)?, self.loc(i)?);
        let w = self.table(&format!("n{i}.kernel"), kernel, y.dt);
        let b = bias.map(|b| self.table(&format!("n{i}.bias"), b, y.dt));
        let skip = skip.map(|k| self.base(k));
        let layer = dense::Layer {
            n_in: x.len,
            units,
            rows: self.rows,
            x_dt: x.dt,
            dt: y.dt,
            act,
            bias: b.is_some(),
            skip: skip.is_some(),
        };
        dense::lower(
            cg,
            self.target,
            &layer,
            &self.variant,
            y.ptr,
            x.ptr,
            w,
            b,
            skip.map(|r| r.ptr),
        )
    }

    /// Softmax as Keras computes it: `exp(x - max) / sum`; log-softmax `x - max - log(sum)`.
    fn softmax(&self, i: usize, log: bool) -> Res<()> {
        let cg = self.cg;
        let (x, y) = (self.arg(i, 0)?, self.loc(i)?);
        let dt = y.dt;
        let len = y.len as u32;
        // Rows are short (class counts): whole-row vectors, which LLVM splits into registers.
        let xv = cg.load_vec(dt, len, x.ptr, cg.i64(0))?;
        let m = cg.intrinsic_reduce("llvm.vector.reduce.fmax", xv)?;
        let mv = cg.splat_val(m, len)?;
        let shifted = cg.fsub(xv, mv)?;
        let e = math::unary(cg, &lamarrc_ir::UnaryOp::Exp, dt, shifted)?;
        let s = cg.reduce_fadd(e)?;
        let sv = cg.splat_val(s, len)?;
        let r = if log {
            let ls = math::unary(cg, &lamarrc_ir::UnaryOp::Log, dt, sv)?;
            cg.fsub(shifted, ls)?
        } else {
            cg.fdiv(e, sv)?
        };
        cg.store_vec(r, dt, y.ptr, cg.i64(0))
    }
}

/// PowerTransformer for one column with a known lambda (so the branches on lambda are resolved
/// here, and only the sign of x is selected at run time), as scikit-learn and scipy compute it.
fn power<'ctx>(
    cg: &Cg<'ctx>,
    dt: DType,
    x: VectorValue<'ctx>,
    lambda: f64,
    method: PowerMethod,
    inverse: bool,
) -> Res<VectorValue<'ctx>> {
    let k = |c: f64| cg.splat(dt, 1, c);
    let m = |n32: &str, n64: &str, a: &[VectorValue<'ctx>]| cg.map_libm(n32, n64, dt, a);
    let eps = f64::EPSILON;
    match (method, inverse) {
        // scipy's `_yeojohnson_transform`: expm1(λ log1p(x)) / λ, mirrored for x < 0.
        (PowerMethod::YeoJohnson, false) => {
            let pos = if lambda.abs() < eps {
                m("log1pf", "log1p", &[x])?
            } else {
                let l = m("log1pf", "log1p", &[x])?;
                cg.fdiv(m("expm1f", "expm1", &[cg.fmul(l, k(lambda))?])?, k(lambda))?
            };
            let neg = if (lambda - 2.0).abs() > eps {
                let l = m("log1pf", "log1p", &[cg.fneg(x)?])?;
                let e = m("expm1f", "expm1", &[cg.fmul(l, k(2.0 - lambda))?])?;
                cg.fneg(cg.fdiv(e, k(2.0 - lambda))?)?
            } else {
                cg.fneg(m("log1pf", "log1p", &[cg.fneg(x)?])?)?
            };
            cg.select(cg.cmp(P::OGE, x, k(0.0))?, pos, neg)
        }
        (PowerMethod::YeoJohnson, true) => {
            let pos = if lambda.abs() < eps {
                cg.fsub(m("expf", "exp", &[x])?, k(1.0))?
            } else {
                let b = cg.fadd(cg.fmul(x, k(lambda))?, k(1.0))?;
                cg.fsub(m("powf", "pow", &[b, k(1.0 / lambda)])?, k(1.0))?
            };
            let neg = if (lambda - 2.0).abs() > eps {
                let b = cg.fadd(cg.fmul(cg.fneg(x)?, k(2.0 - lambda))?, k(1.0))?;
                cg.fsub(k(1.0), m("powf", "pow", &[b, k(1.0 / (2.0 - lambda))])?)?
            } else {
                cg.fsub(k(1.0), m("expf", "exp", &[cg.fneg(x)?])?)?
            };
            cg.select(cg.cmp(P::OGE, x, k(0.0))?, pos, neg)
        }
        (PowerMethod::BoxCox, false) => {
            let l = m("logf", "log", &[x])?;
            if lambda.abs() < 1e-19 {
                Ok(l)
            } else {
                let e = m("expm1f", "expm1", &[cg.fmul(l, k(lambda))?])?;
                cg.fdiv(e, k(lambda))
            }
        }
        (PowerMethod::BoxCox, true) => {
            if lambda == 0.0 {
                m("expf", "exp", &[x])
            } else {
                let l = m("log1pf", "log1p", &[cg.fmul(x, k(lambda))?])?;
                m("expf", "exp", &[cg.fdiv(l, k(lambda))?])
            }
        }
    }
}

impl<'ctx> Cg<'ctx> {
    /// `llvm.vector.reduce.fmax`-style reductions returning a scalar.
    pub fn intrinsic_reduce(
        &self,
        name: &str,
        v: VectorValue<'ctx>,
    ) -> Res<inkwell::values::FloatValue<'ctx>> {
        let f = inkwell::intrinsics::Intrinsic::find(name)
            .and_then(|i| i.get_declaration(&self.module, &[v.get_type().into()]))
            .ok_or_else(|| format!("LLVM intrinsic {name} not found"))?;
        let call = llvm(self.b.build_call(f, &[v.into()], "red"))?;
        Ok(call
            .try_as_basic_value()
            .basic()
            .ok_or("void reduction")?
            .into_float_value())
    }

    /// Ordered sum of the lanes (`llvm.vector.reduce.fadd` with start value 0).
    pub fn reduce_fadd(&self, v: VectorValue<'ctx>) -> Res<inkwell::values::FloatValue<'ctx>> {
        let f = inkwell::intrinsics::Intrinsic::find("llvm.vector.reduce.fadd")
            .and_then(|i| i.get_declaration(&self.module, &[v.get_type().into()]))
            .ok_or("llvm.vector.reduce.fadd not found")?;
        let zero = v
            .get_type()
            .get_element_type()
            .into_float_type()
            .const_float(-0.0);
        let call = llvm(self.b.build_call(f, &[zero.into(), v.into()], "sum"))?;
        Ok(call
            .try_as_basic_value()
            .basic()
            .ok_or("void reduction")?
            .into_float_value())
    }
}
