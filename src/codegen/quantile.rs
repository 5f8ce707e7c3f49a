//! QuantileTransformer's `_transform_col`, emitted once per module as internal functions
//! `<W x double> f(<W x double> x, const T* quantiles, const double* references, i64 n,
//! <W x i64> start, const T* pivots, <W x i64> pivot_start)` per output distribution and
//! direction, W the target's float64 width: lane ℓ transforms a column whose table starts at
//! `quantiles + start[ℓ]` (and whose block pivots, see [`block_size`], at
//! `pivots + pivot_start[ℓ]`). Several columns in one vector interleave their table searches
//! (each a chain of dependent loads), which a column at a time left to wait on memory latency.
//! They reproduce scikit-learn bit for bit where it matters:
//!
//! - forward: the average of numpy's ascending interpolation and the descending one
//!   (`-interp(-x, -q[::-1], -r[::-1])`), so an input equal to a repeated quantile lands in the
//!   middle of its plateau. The descending interpolation is rewritten on the ascending table
//!   with the same roundings (negation is exact), so no reversed copy is stored;
//! - the `BOUNDS_THRESHOLD = 1e-7` masks (normal: `x ∓ 1e-7` against the bounds; uniform:
//!   equality), applied after the interpolation, lower bound last;
//! - normal output: the exact quantile function, clipped to `ppf(1e-7 - eps)`, `ppf(1 - (1e-7 - eps))`;
//! - inverse: `ndtr` first (normal), masks against 0 and 1, one ascending interpolation;
//! - NaN stays NaN.
//!
//! The table searches are branch-free with a trip count fixed by `n`.

use super::cg::{llvm, Cg, Res};
use super::math;
use inkwell::types::VectorType;
use inkwell::values::{FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::{FloatPredicate as P, IntPredicate};
use lamarrc_ir::interp::{quantile_normal_clip, BOUNDS_THRESHOLD};
use lamarrc_ir::{DType, Distribution};

/// Returns (emitting on first use) the helper for one distribution and direction.
/// With `linspace = Some(n)`, the references are `numpy.linspace(0, 1, n)`, computed rather than
/// loaded, and `n` is a constant, so the searches unroll; the helper then ignores its last two
/// arguments. `quantiles` is the precision the quantile table is stored in: float32 where every
/// fitted value is a float32 (then widening it back is exact), halving the largest tables.
/// Forward only: `distinct`, every quantile table the helper will see is strictly increasing, so
/// the two bounds differ only where `x` equals a quantile and one search finds both; `blocks`,
/// from [`block_search`]: the quantile tables are searched in two levels of `b`-wide vector
/// comparisons, with the pivot table and each lane's pivot start as the last two arguments
/// (ignored otherwise).
#[allow(clippy::too_many_arguments)]
pub fn helper<'ctx>(
    cg: &Cg<'ctx>,
    dist: Distribution,
    inverse: bool,
    linspace: Option<usize>,
    quantiles: DType,
    distinct: bool,
    blocks: Option<u64>,
    width: u32,
    variant: &str,
) -> Res<FunctionValue<'ctx>> {
    debug_assert!(
        !inverse || !distinct && blocks.is_none(),
        "forward-only options"
    );
    let name = format!(
        "lamarrc.quantile.{}.{}{}{}{}{}.w{width}{variant}",
        match dist {
            Distribution::Normal => "normal",
            Distribution::Uniform => "uniform",
        },
        if inverse { "inverse" } else { "forward" },
        linspace
            .map(|n| format!(".linspace{n}"))
            .unwrap_or_default(),
        match quantiles {
            DType::F32 => ".q32",
            DType::F64 => "",
        },
        if distinct { ".distinct" } else { "" },
        blocks.map(|b| format!(".b{b}")).unwrap_or_default()
    );
    if let Some(f) = cg.module.get_function(&name) {
        return Ok(f);
    }
    let vt = cg.vty(DType::F64, width);
    let ptr = cg.ptr();
    let i64t = cg.ctx.i64_type();
    let starts = i64t.vec_type(width);
    let fn_ty = vt.fn_type(
        &[
            vt.into(),
            ptr.into(),
            ptr.into(),
            i64t.into(),
            starts.into(),
            ptr.into(),
            starts.into(),
        ],
        false,
    );
    let func = cg.shared_function(&name, fn_ty);
    let saved = cg.b.get_insert_block();
    let entry = cg.ctx.append_basic_block(func, "entry");
    cg.b.position_at_end(entry);
    let x = func.get_nth_param(0).ok_or("param")?.into_vector_value();
    let (r, n) = match linspace {
        Some(n) => (Table::Linspace(n as u64), cg.i64(n as u64)),
        None => (
            Table::Loaded {
                p: func.get_nth_param(2).ok_or("param")?.into_pointer_value(),
                dt: DType::F64,
                start: None,
            },
            func.get_nth_param(3).ok_or("param")?.into_int_value(),
        ),
    };
    let q = Table::Loaded {
        p: func.get_nth_param(1).ok_or("param")?.into_pointer_value(),
        dt: quantiles,
        start: Some(func.get_nth_param(4).ok_or("param")?.into_vector_value()),
    };
    let blocks = match blocks {
        Some(b) => Some(Blocks {
            b,
            pivots: func.get_nth_param(5).ok_or("param")?.into_pointer_value(),
            start: func.get_nth_param(6).ok_or("param")?.into_vector_value(),
        }),
        None => None,
    };
    let h = H {
        cg,
        func,
        w: width,
        blocks,
    };
    let y = if inverse {
        h.inverse(dist, x, q, r, n)?
    } else {
        h.forward(dist, x, q, r, n, distinct)?
    };
    llvm(cg.b.build_return(Some(&y)))?;
    if let Some(b) = saved {
        cg.b.position_at_end(b);
    }
    Ok(func)
}

/// A sorted table: loaded from memory (in the given precision, widened to float64), or
/// `numpy.linspace(0, 1, n)` computed on the fly.
#[derive(Clone, Copy)]
enum Table<'ctx> {
    /// With `start`, lane ℓ reads its own table at `p + start[ℓ]`; without, all lanes share one.
    Loaded {
        p: PointerValue<'ctx>,
        dt: DType,
        start: Option<V<'ctx>>,
    },
    Linspace(u64),
}

type V<'ctx> = VectorValue<'ctx>;

/// The block size of the two-level search of an `n`-entry quantile table, if it has one: the
/// smallest b in {16, 32, 64} with b² ≥ n. Level one compares `x` with the last entry of each
/// block of b (the pivots, stored apart), level two with the b entries of the block found: two
/// dependent loads per search instead of ⌈log2 n⌉ / 2 rounds of the halving search. Short tables
/// keep the halving search.
pub fn block_size(n: usize) -> Option<u64> {
    [16u64, 32, 64]
        .into_iter()
        .find(|&b| n >= 64 && (n as u64) <= b * b)
}

/// The block size when a transform searches its quantile tables by blocks: forward (the inverse
/// searches the references) with computed references (the search needs `n` as a constant), on
/// float32 tables. A float64 block is twice the vectors to load and compare per level, and its
/// code was a third of the library's; float64 tables are tY's (fitted after a float64 step such
/// as a decorrelation), whose forward transform is off the chain's path, so they keep the
/// halving search.
pub fn block_search(n: usize, inverse: bool, linspace: bool, table: DType) -> Option<u64> {
    block_size(n).filter(|_| !inverse && linspace && table == DType::F32)
}

/// The pivots of [`block_size`] for one column: entry `b k + b - 1` for every block k that is
/// whole, NaN (never counted) for a partial or absent block.
pub fn block_pivots(quantiles: &[f64], b: u64) -> Vec<f64> {
    let b = b as usize;
    (0..b)
        .map(|k| quantiles.get(b * k + b - 1).copied().unwrap_or(f64::NAN))
        .collect()
}

/// The pivot table of a blocked quantile table and each lane's start in it.
#[derive(Clone, Copy)]
struct Blocks<'ctx> {
    b: u64,
    pivots: PointerValue<'ctx>,
    start: V<'ctx>,
}

/// The segment an ascending interpolation used, for the descending one of the same table.
struct Segment<'ctx> {
    /// `xp[j] == x` for the last `j` with `xp[j] <= x`.
    equal: V<'ctx>,
    /// `fp[j]`.
    fj: V<'ctx>,
    slope: V<'ctx>,
    /// The segment's upper end, `xp[s + 1]` and `fp[s + 1]`.
    xs1: V<'ctx>,
    fs1: V<'ctx>,
}

/// Emits the helper's body on vectors of `w` lanes: float64 values and int64 indices.
struct H<'a, 'ctx> {
    cg: &'a Cg<'ctx>,
    func: FunctionValue<'ctx>,
    w: u32,
    blocks: Option<Blocks<'ctx>>,
}

impl<'ctx> H<'_, 'ctx> {
    fn c(&self, v: f64) -> V<'ctx> {
        self.cg.splat(DType::F64, self.w, v)
    }
    /// An int64 vector with every lane `v`.
    fn ci(&self, v: u64) -> V<'ctx> {
        VectorType::const_vector(&vec![self.cg.i64(v); self.w as usize])
    }
    /// Broadcasts a scalar int64.
    fn splat_i(&self, v: IntValue<'ctx>) -> Res<V<'ctx>> {
        if let Some(c) = v.get_zero_extended_constant() {
            return Ok(self.ci(c));
        }
        let cg = self.cg;
        let vt = cg.ctx.i64_type().vec_type(self.w);
        let zero = cg.ctx.i32_type().const_zero();
        let one = llvm(cg.b.build_insert_element(vt.get_poison(), v, zero, "bi"))?;
        let mask = VectorType::const_vector(&vec![zero; self.w as usize]);
        llvm(cg.b.build_shuffle_vector(one, vt.get_poison(), mask, "si"))
    }
    /// `t[i]` lane by lane.
    fn at(&self, t: Table<'ctx>, i: V<'ctx>) -> Res<V<'ctx>> {
        let cg = self.cg;
        match t {
            Table::Loaded { p, dt, start } => {
                let i = match start {
                    Some(s) => self.iadd(i, s)?,
                    None => i,
                };
                // Scalar loads: the lanes' addresses are independent, so their latencies overlap.
                // A float32 table is widened once per vector.
                let mut v = cg.vty(dt, self.w).get_poison();
                for lane in 0..self.w {
                    let li = cg.ctx.i32_type().const_int(lane as u64, false);
                    let k = llvm(cg.b.build_extract_element(i, li, "li"))?.into_int_value();
                    let e = cg.load_scalar(dt, p, k)?;
                    v = llvm(cg.b.build_insert_element(v, e, li, "lv"))?;
                }
                match dt {
                    DType::F64 => Ok(v),
                    DType::F32 => llvm(cg.b.build_float_ext(v, cg.vty(DType::F64, self.w), "q64")),
                }
            }
            Table::Linspace(n) => {
                // numpy: i * (1 / (n - 1)), the last entry exactly 1.
                let fi = llvm(cg.b.build_signed_int_to_float(i, cg.vty(DType::F64, self.w), "fi"))?;
                let v = self
                    .cg
                    .fmul(fi, self.c(1.0 / (n.saturating_sub(1)).max(1) as f64))?;
                let last = self.eq_i(i, self.ci(n.saturating_sub(1)))?;
                cg.select(last, self.c(1.0), v)
            }
        }
    }
    fn iadd(&self, a: V<'ctx>, b: V<'ctx>) -> Res<V<'ctx>> {
        llvm(self.cg.b.build_int_add(a, b, "i"))
    }
    fn isub(&self, a: V<'ctx>, b: V<'ctx>) -> Res<V<'ctx>> {
        llvm(self.cg.b.build_int_sub(a, b, "i"))
    }
    fn icmp(&self, p: IntPredicate, a: V<'ctx>, b: V<'ctx>) -> Res<V<'ctx>> {
        llvm(self.cg.b.build_int_compare(p, a, b, "ic"))
    }
    fn eq_i(&self, a: V<'ctx>, b: V<'ctx>) -> Res<V<'ctx>> {
        self.icmp(IntPredicate::EQ, a, b)
    }
    fn or(&self, a: V<'ctx>, b: V<'ctx>) -> Res<V<'ctx>> {
        llvm(self.cg.b.build_or(a, b, "or"))
    }
    /// 0/1 as int64 lanes.
    fn zext(&self, c: V<'ctx>) -> Res<V<'ctx>> {
        llvm(
            self.cg
                .b
                .build_int_z_extend(c, self.cg.ctx.i64_type().vec_type(self.w), "step"),
        )
    }

    /// Number of leading table entries `t[k]` with `t[k] <= x` (`strict`: `t[k] < x`), i.e.
    /// numpy's upper (lower) bound, per lane. Branch-free halving, ⌈log2 n⌉ steps: straight
    /// code for a table of known size, otherwise a loop (the same count for every lane).
    fn bound(&self, t: Table<'ctx>, n: IntValue<'ctx>, x: V<'ctx>, strict: bool) -> Res<V<'ctx>> {
        let cg = self.cg;
        let pred = if strict { P::OLT } else { P::OLE };
        if let Table::Linspace(nn) = t {
            return self.linspace_bound(nn, x, pred);
        }
        if let (
            Some(blocks),
            Table::Loaded {
                p,
                dt,
                start: Some(start),
            },
            Some(nn),
        ) = (self.blocks, t, n.get_zero_extended_constant())
        {
            return self.block_bound(blocks, p, dt, start, nn, x, strict);
        }
        if let Some(mut len) = n.get_zero_extended_constant() {
            // The same halving steps, LOOKAHEAD at a time: a step's halves do not depend on the
            // comparisons, so every pivot the next steps may visit is loaded at once (loads in
            // parallel rather than a chain of one per step) and the comparisons then pick among
            // them. The result is the plain binary search's, bit for bit.
            const LOOKAHEAD: usize = 2;
            let mut base = self.ci(0);
            while len > 1 {
                let mut halves = Vec::with_capacity(LOOKAHEAD);
                while len > 1 && halves.len() < LOOKAHEAD {
                    let h = len / 2;
                    halves.push(h);
                    len -= h;
                }
                // loaded[j][p]: the pivot of step j on path p (bit i of p: step i went right).
                let mut loaded = Vec::with_capacity(halves.len());
                for (j, &h) in halves.iter().enumerate() {
                    let mut row = Vec::with_capacity(1 << j);
                    for path in 0..1usize << j {
                        let off: u64 = (0..j)
                            .filter(|i| path >> i & 1 == 1)
                            .map(|i| halves[i])
                            .sum::<u64>()
                            + h;
                        row.push(self.at(t, self.iadd(base, self.ci(off))?)?);
                    }
                    loaded.push(row);
                }
                let mut gos: Vec<V<'ctx>> = Vec::with_capacity(halves.len());
                for (j, row) in loaded.into_iter().enumerate() {
                    // Narrow the candidates by the earlier steps' outcomes, lowest bit first.
                    let mut cand = row;
                    for go in &gos {
                        cand = cand
                            .chunks(2)
                            .map(|pair| cg.select(*go, pair[1], pair[0]))
                            .collect::<Res<_>>()?;
                    }
                    debug_assert_eq!(cand.len(), 1);
                    let go = cg.cmp(pred, cand[0], x)?;
                    let moved = self.iadd(base, self.ci(halves[j]))?;
                    base = cg.select(go, moved, base)?;
                    gos.push(go);
                }
            }
            let go = cg.cmp(pred, self.at(t, base)?, x)?;
            return self.iadd(base, self.zext(go)?);
        }
        let i64t = cg.ctx.i64_type();
        let pre = cg.b.get_insert_block().ok_or("no block")?;
        let head = cg.ctx.append_basic_block(self.func, "bs");
        let body = cg.ctx.append_basic_block(self.func, "bs.body");
        let done = cg.ctx.append_basic_block(self.func, "bs.done");
        llvm(cg.b.build_unconditional_branch(head))?;
        cg.b.position_at_end(head);
        let base = llvm(cg.b.build_phi(i64t.vec_type(self.w), "base"))?;
        let len = llvm(cg.b.build_phi(i64t, "len"))?;
        let (bv, lv) = (
            base.as_basic_value().into_vector_value(),
            len.as_basic_value().into_int_value(),
        );
        let more = llvm(cg.b.build_int_compare(IntPredicate::UGT, lv, cg.i64(1), "more"))?;
        llvm(cg.b.build_conditional_branch(more, body, done))?;
        cg.b.position_at_end(body);
        let half = llvm(cg.b.build_right_shift(lv, cg.i64(1), false, "half"))?;
        let mid = self.iadd(bv, self.splat_i(half)?)?;
        let go = cg.cmp(pred, self.at(t, mid)?, x)?;
        let nb = cg.select(go, mid, bv)?;
        let nl = llvm(cg.b.build_int_sub(lv, half, "nl"))?;
        llvm(cg.b.build_unconditional_branch(head))?;
        base.add_incoming(&[(&self.ci(0), pre), (&nb, body)]);
        len.add_incoming(&[(&n, pre), (&nl, body)]);
        cg.b.position_at_end(done);
        let go = cg.cmp(pred, self.at(t, bv)?, x)?;
        self.iadd(bv, self.zext(go)?)
    }

    /// [`Self::bound`] by the two-level block search of [`block_size`], lane by lane: each lane
    /// counts the pivots of its column that satisfy `pred` (a prefix: the table is sorted and
    /// NaN pivots never count), then the entries of the block found, masked to the table's `n`
    /// (the block may run into the next column or the table's padding). A float32 table is
    /// compared with `x` rounded to float32 in the direction that keeps each comparison exact:
    /// `q <= x` iff `q <= RD(x)`, `q < x` iff `q < RU(x)`.
    #[allow(clippy::too_many_arguments)]
    fn block_bound(
        &self,
        blocks: Blocks<'ctx>,
        p: PointerValue<'ctx>,
        dt: DType,
        start: V<'ctx>,
        n: u64,
        x: V<'ctx>,
        strict: bool,
    ) -> Res<V<'ctx>> {
        let cg = self.cg;
        let b = blocks.b;
        let pred = if strict { P::OLT } else { P::OLE };
        let key = match dt {
            DType::F64 => x,
            DType::F32 => self.round_f32(x, !strict)?,
        };
        let i32t = cg.ctx.i32_type();
        let i64t = cg.ctx.i64_type();
        let ib = cg
            .ctx
            .custom_width_int_type(std::num::NonZeroU32::new(b as u32).ok_or("block size 0")?)?;
        let ctpop = inkwell::intrinsics::Intrinsic::find("llvm.ctpop")
            .and_then(|f| f.get_declaration(&cg.module, &[ib.into()]))
            .ok_or("llvm.ctpop not found")?;
        // Entries of `table` from `at` that satisfy `pred` against `kv`, as a mask of b bits.
        let count = |table: PointerValue<'ctx>, at: IntValue<'ctx>, kv: V<'ctx>| {
            let v = cg.load_vec(dt, b as u32, table, at)?;
            let m = cg.cmp(pred, v, kv)?;
            Ok::<_, String>(llvm(cg.b.build_bit_cast(m, ib, "mask"))?.into_int_value())
        };
        let popcount = |m: IntValue<'ctx>| -> Res<IntValue<'ctx>> {
            let c = llvm(cg.b.build_call(ctpop, &[m.into()], "pop"))?
                .try_as_basic_value()
                .basic()
                .ok_or("ctpop returned void")?
                .into_int_value();
            llvm(cg.b.build_int_z_extend_or_bit_cast(c, i64t, "c"))
        };
        let mut out = i64t.vec_type(self.w).get_poison();
        for lane in 0..self.w {
            let li = i32t.const_int(lane as u64, false);
            let ext = |v: V<'ctx>| llvm(cg.b.build_extract_element(v, li, "l"));
            let kv = cg.splat_val(ext(key)?.into_float_value(), b as u32)?;
            let pstart = ext(blocks.start)?.into_int_value();
            let qstart = ext(start)?.into_int_value();
            // c1 ≤ n / b whole blocks, so the block loaded below starts at most at entry n: it
            // then lies wholly past this column (in the next one or the padding) and the mask
            // counts none of it.
            let c1 = popcount(count(blocks.pivots, pstart, kv)?)?;
            let first = llvm(cg.b.build_int_mul(c1, cg.i64(b), "first"))?;
            let at = llvm(cg.b.build_int_add(qstart, first, "at"))?;
            let m = count(p, at, kv)?;
            // Entries first.. of this column: n - first of them, all b if that many.
            let valid = llvm(cg.b.build_int_sub(cg.i64(n), first, "valid"))?;
            let shift = llvm(cg.b.build_int_truncate(valid, ib, "sh"))?;
            let one = ib.const_int(1, false);
            let low = llvm(cg.b.build_int_sub(
                llvm(cg.b.build_left_shift(one, shift, "bit"))?,
                one,
                "low",
            ))?;
            let whole = llvm(cg.b.build_int_compare(IntPredicate::UGE, valid, cg.i64(b), "whole"))?;
            let keep =
                llvm(cg.b.build_select(whole, ib.const_all_ones(), low, "keep"))?.into_int_value();
            let c2 = popcount(llvm(cg.b.build_and(m, keep, "m"))?)?;
            let total = llvm(cg.b.build_int_add(first, c2, "count"))?;
            out = llvm(cg.b.build_insert_element(out, total, li, "cnt"))?;
        }
        Ok(out)
    }

    /// `x` rounded to float32 downwards (`down`) or upwards, per lane (±inf and NaN kept; finite
    /// values beyond the float32 range become ±FLT_MAX on the side towards `x`).
    fn round_f32(&self, x: V<'ctx>, down: bool) -> Res<V<'ctx>> {
        let cg = self.cg;
        let w = self.w;
        let f32v = cg.vty(DType::F32, w);
        let i32v = cg.ctx.i32_type().vec_type(w);
        let t = llvm(cg.b.build_float_trunc(x, f32v, "t"))?;
        let back = llvm(cg.b.build_float_ext(t, cg.vty(DType::F64, w), "tb"))?;
        // Rounded past x: step one float32 towards x (bits - 1 moves towards zero for either
        // sign, bits + 1 away from it; -0.0 stepping down becomes the smallest negative).
        let past = cg.cmp(if down { P::OGT } else { P::OLT }, back, x)?;
        let bits = llvm(cg.b.build_bit_cast(t, i32v, "tbits"))?.into_vector_value();
        let nonneg =
            llvm(cg.b.build_int_compare(IntPredicate::SGE, bits, i32v.const_zero(), "nonneg"))?;
        let ones =
            VectorType::const_vector(&vec![cg.ctx.i32_type().const_int(1, false); w as usize]);
        let inc = llvm(cg.b.build_int_add(bits, ones, "inc"))?;
        let dec = llvm(cg.b.build_int_sub(bits, ones, "dec"))?;
        // Down: positive → dec, negative → inc. Up: positive → inc, negative → dec.
        let stepped = if down {
            cg.select(nonneg, dec, inc)?
        } else {
            cg.select(nonneg, inc, dec)?
        };
        let stepped = llvm(cg.b.build_bit_cast(stepped, f32v, "st"))?.into_vector_value();
        cg.select(past, stepped, t)
    }

    /// [`Self::bound`] on `numpy.linspace(0, 1, n)` without a search: `floor(x (n - 1))` is
    /// within one of the answer (relative roundings of a few ulp, n far below 2^50), so every
    /// entry below `c0 = floor(x (n - 1)) - 1` satisfies `pred` and none above `c0 + 2` does; the
    /// three entries between are compared exactly as the search compares them.
    fn linspace_bound(&self, n: u64, x: V<'ctx>, pred: P) -> Res<V<'ctx>> {
        let cg = self.cg;
        let t = cg.fmul(x, self.c(n.saturating_sub(1) as f64))?;
        // NaN and far-out values become finite in range (NaN's result is replaced later).
        let t = cg.select(cg.cmp(P::OGE, t, self.c(-2.0))?, t, self.c(-2.0))?;
        let t = cg.select(
            cg.cmp(P::OLE, t, self.c(n as f64 + 1.0))?,
            t,
            self.c(n as f64 + 1.0),
        )?;
        let f = cg.intrinsic("llvm.floor", &[t])?;
        let f = llvm(cg.b.build_float_to_signed_int(f, cg.ctx.i64_type().vec_type(self.w), "fl"))?;
        let c0 = self.clamp_index(self.isub(f, self.ci(1))?, self.ci(n))?;
        let mut count = c0;
        for d in 0..3 {
            let k = self.iadd(c0, self.ci(d))?;
            let inside = self.icmp(IntPredicate::ULT, k, self.ci(n))?;
            let hit = cg.cmp(pred, self.at(Table::Linspace(n), k)?, x)?;
            let both = llvm(cg.b.build_and(inside, hit, "in"))?;
            count = self.iadd(count, self.zext(both)?)?;
        }
        Ok(count)
    }

    /// `(fp[j+1] - fp[j]) / (xp[j+1] - xp[j]) * (x - xp[j]) + fp[j]`, numpy's rounding order.
    fn segment(
        &self,
        xp: Table<'ctx>,
        fp: Table<'ctx>,
        j: V<'ctx>,
        x: V<'ctx>,
        at: V<'ctx>,
    ) -> Res<V<'ctx>> {
        let j1 = self.iadd(j, self.ci(1))?;
        let slope = self.slope(
            (self.at(xp, j)?, self.at(xp, j1)?),
            (self.at(fp, j)?, self.at(fp, j1)?),
        )?;
        self.on_segment(slope, x, self.at(xp, at)?, self.at(fp, at)?)
    }

    /// numpy's slope of a segment, `(f1 - f0) / (x1 - x0)`, in its rounding order.
    fn slope(&self, (x0, x1): (V<'ctx>, V<'ctx>), (f0, f1): (V<'ctx>, V<'ctx>)) -> Res<V<'ctx>> {
        let cg = self.cg;
        cg.fdiv(cg.fsub(f1, f0)?, cg.fsub(x1, x0)?)
    }

    /// numpy's value on a segment of `slope` through `(xa, fa)`, `slope * (x - xa) + fa`,
    /// unfused as numpy computes it.
    fn on_segment(&self, slope: V<'ctx>, x: V<'ctx>, xa: V<'ctx>, fa: V<'ctx>) -> Res<V<'ctx>> {
        let cg = self.cg;
        cg.fadd(cg.fmul(slope, cg.fsub(x, xa)?)?, fa)
    }

    /// Clamps indices into `[0, n-1]` so that speculative loads stay inside the table.
    fn clamp_index(&self, i: V<'ctx>, n: V<'ctx>) -> Res<V<'ctx>> {
        let cg = self.cg;
        let last = self.isub(n, self.ci(1))?;
        let neg = self.icmp(IntPredicate::SLT, i, self.ci(0))?;
        let i = cg.select(neg, self.ci(0), i)?;
        let big = self.icmp(IntPredicate::SGT, i, last)?;
        cg.select(big, last, i)
    }

    /// numpy.interp(x, xp, fp) for increasing xp (ties allowed), `x` finite or NaN.
    fn interp_up(
        &self,
        x: V<'ctx>,
        xp: Table<'ctx>,
        fp: Table<'ctx>,
        n: IntValue<'ctx>,
    ) -> Res<V<'ctx>> {
        let hi = self.bound(xp, n, x, false)?;
        Ok(self.interp_up_from(x, xp, fp, n, hi)?.0)
    }

    /// [`Self::interp_up`] given `hi`, the upper bound of `x` in `xp`; also returns the
    /// segment it interpolated on (see [`Segment`]).
    fn interp_up_from(
        &self,
        x: V<'ctx>,
        xp: Table<'ctx>,
        fp: Table<'ctx>,
        n: IntValue<'ctx>,
        hi: V<'ctx>,
    ) -> Res<(V<'ctx>, Segment<'ctx>)> {
        let cg = self.cg;
        let nv = self.splat_i(n)?;
        let last = self.isub(nv, self.ci(1))?;
        let (x0, xl) = (self.at(xp, self.ci(0))?, self.at(xp, last)?);
        let (f0, fl) = (self.at(fp, self.ci(0))?, self.at(fp, last)?);
        // j = hi - 1 (the last xp[j] <= x), clamped for lanes outside the table; the segment
        // [s, s + 1] is j's but for j = last, whose value is fp[last] whatever the segment. Four
        // table loads: xp[j] and fp[j] are the segment's first entries or the last ones.
        let j = self.clamp_index(self.isub(hi, self.ci(1))?, nv)?;
        let s = self.clamp_index(j, last)?;
        let s1 = self.iadd(s, self.ci(1))?;
        let (xs, xs1, fs, fs1) = (
            self.at(xp, s)?,
            self.at(xp, s1)?,
            self.at(fp, s)?,
            self.at(fp, s1)?,
        );
        let slope = self.slope((xs, xs1), (fs, fs1))?;
        let inner = self.on_segment(slope, x, xs, fs)?;
        let is_last = self.eq_i(j, last)?;
        let equal = cg.cmp(P::OEQ, cg.select(is_last, xl, xs)?, x)?;
        let fj = cg.select(is_last, fl, fs)?;
        let hit = self.or(is_last, equal)?;
        let y = cg.select(hit, fj, inner)?;
        let y = cg.select(cg.cmp(P::OGT, x, xl)?, fl, y)?;
        let y = cg.select(cg.cmp(P::OLT, x, x0)?, f0, y)?;
        // NaN in, NaN out (every comparison above is false for NaN).
        let y = cg.select(cg.cmp(P::UNO, x, x)?, x, y)?;
        Ok((
            y,
            Segment {
                equal,
                fj,
                slope,
                xs1,
                fs1,
            },
        ))
    }

    /// scikit-learn's `BOUNDS_THRESHOLD` masks of `_transform_col`: lanes at or beyond the lower
    /// and upper bound (normal: within 1e-7 of them; uniform: equal to them).
    fn bounds_masks(
        &self,
        dist: Distribution,
        x: V<'ctx>,
        lo: V<'ctx>,
        hi: V<'ctx>,
    ) -> Res<(V<'ctx>, V<'ctx>)> {
        let cg = self.cg;
        Ok(match dist {
            Distribution::Normal => (
                cg.cmp(P::OLT, cg.fsub(x, self.c(BOUNDS_THRESHOLD))?, lo)?,
                cg.cmp(P::OGT, cg.fadd(x, self.c(BOUNDS_THRESHOLD))?, hi)?,
            ),
            Distribution::Uniform => (cg.cmp(P::OEQ, x, lo)?, cg.cmp(P::OEQ, x, hi)?),
        })
    }

    fn forward(
        &self,
        dist: Distribution,
        x: V<'ctx>,
        q: Table<'ctx>,
        r: Table<'ctx>,
        n: IntValue<'ctx>,
        distinct: bool,
    ) -> Res<V<'ctx>> {
        let cg = self.cg;
        let nv = self.splat_i(n)?;
        let last = self.isub(nv, self.ci(1))?;
        let (q0, ql) = (self.at(q, self.ci(0))?, self.at(q, last)?);
        let (below, above) = self.bounds_masks(dist, x, q0, ql)?;
        let hi = self.bound(q, n, x, false)?;
        let (up, seg) = self.interp_up_from(x, q, r, n, hi)?;
        // Descending interpolation on the ascending table: m = first index with q[m] >= x, the
        // strict lower bound. Without repeated values it is `hi`, less one where q[hi - 1] == x:
        // the same segment as the ascending one, interpolated from its other end (the same
        // slope, bit for bit), or that entry's reference on a hit.
        let down = if distinct {
            let inner = self.on_segment(seg.slope, x, seg.xs1, seg.fs1)?;
            cg.select(seg.equal, seg.fj, inner)?
        } else {
            let lower = self.bound(q, n, x, true)?;
            let m = self.clamp_index(lower, nv)?;
            let m1 = self.clamp_index(self.isub(m, self.ci(1))?, last)?;
            let inner = self.segment(q, r, m1, x, m)?;
            let hit = cg.cmp(P::OEQ, self.at(q, m)?, x)?;
            cg.select(hit, self.at(r, m)?, inner)?
        };
        let down = cg.select(cg.cmp(P::OGT, x, ql)?, self.at(r, last)?, down)?;
        let down = cg.select(cg.cmp(P::OLT, x, q0)?, self.at(r, self.ci(0))?, down)?;
        let y = cg.fmul(self.c(0.5), cg.fadd(up, down)?)?;
        let y = cg.select(cg.cmp(P::UNO, x, x)?, x, y)?;
        let y = cg.select(above, self.c(1.0), y)?;
        let y = cg.select(below, self.c(0.0), y)?;
        match dist {
            Distribution::Uniform => Ok(y),
            Distribution::Normal => {
                let z = math::ndtri(cg, y)?;
                let (lo, hi) = quantile_normal_clip();
                cg.min_nan(cg.max_nan(z, self.c(lo))?, self.c(hi))
            }
        }
    }

    fn inverse(
        &self,
        dist: Distribution,
        x: V<'ctx>,
        q: Table<'ctx>,
        r: Table<'ctx>,
        n: IntValue<'ctx>,
    ) -> Res<V<'ctx>> {
        let cg = self.cg;
        let u = match dist {
            Distribution::Normal => math::ndtr(self.cg, DType::F64, x)?,
            Distribution::Uniform => x,
        };
        let (below, above) = self.bounds_masks(dist, u, self.c(0.0), self.c(1.0))?;
        let y = self.interp_up(u, r, q, n)?;
        let last = self.isub(self.splat_i(n)?, self.ci(1))?;
        let y = cg.select(above, self.at(q, last)?, y)?;
        cg.select(below, self.at(q, self.ci(0))?, y)
    }
}
