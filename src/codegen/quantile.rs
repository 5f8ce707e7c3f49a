//! QuantileTransformer's `_transform_col`, emitted once per module as two internal functions
//! `double f(double x, const double* quantiles, const double* references, i64 n)` per output
//! distribution: forward and inverse. They reproduce scikit-learn bit for bit where it matters:
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
use inkwell::module::Linkage;
use inkwell::values::{FloatValue, FunctionValue, IntValue, PointerValue};
use inkwell::{FloatPredicate as P, IntPredicate};
use lamarrc_ir::interp::{quantile_normal_clip, BOUNDS_THRESHOLD};
use lamarrc_ir::{DType, Distribution};

/// Returns (emitting on first use) the helper for one distribution and direction.
/// With `linspace = Some(n)`, the references are `numpy.linspace(0, 1, n)`, computed rather than
/// loaded, and `n` is a constant, so the searches unroll; the helper then ignores its last two
/// arguments. `quantiles` is the precision the quantile table is stored in: float32 where every
/// fitted value is a float32 (then widening it back is exact), halving the largest tables.
pub fn helper<'ctx>(
    cg: &Cg<'ctx>,
    dist: Distribution,
    inverse: bool,
    linspace: Option<usize>,
    quantiles: DType,
    variant: &str,
) -> Res<FunctionValue<'ctx>> {
    let name = format!(
        "lamarrc.quantile.{}.{}{}{}{variant}",
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
        }
    );
    if let Some(f) = cg.module.get_function(&name) {
        return Ok(f);
    }
    let f64t = cg.ctx.f64_type();
    let ptr = cg.ptr();
    let i64t = cg.ctx.i64_type();
    let fn_ty = f64t.fn_type(&[f64t.into(), ptr.into(), ptr.into(), i64t.into()], false);
    let func = cg.module.add_function(&name, fn_ty, Some(Linkage::Private));
    let saved = cg.b.get_insert_block();
    let entry = cg.ctx.append_basic_block(func, "entry");
    cg.b.position_at_end(entry);
    let x = func.get_nth_param(0).ok_or("param")?.into_float_value();
    let q = Table::Loaded(
        func.get_nth_param(1).ok_or("param")?.into_pointer_value(),
        quantiles,
    );
    let (r, n) = match linspace {
        Some(n) => (Table::Linspace(n as u64), cg.i64(n as u64)),
        None => (
            Table::Loaded(
                func.get_nth_param(2).ok_or("param")?.into_pointer_value(),
                DType::F64,
            ),
            func.get_nth_param(3).ok_or("param")?.into_int_value(),
        ),
    };
    let h = H { cg, func };
    let y = if inverse {
        h.inverse(dist, x, q, r, n)?
    } else {
        h.forward(dist, x, q, r, n)?
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
    Loaded(PointerValue<'ctx>, DType),
    Linspace(u64),
}

struct H<'a, 'ctx> {
    cg: &'a Cg<'ctx>,
    func: FunctionValue<'ctx>,
}

impl<'ctx> H<'_, 'ctx> {
    fn c(&self, v: f64) -> FloatValue<'ctx> {
        self.cg.ctx.f64_type().const_float(v)
    }
    fn at(&self, t: Table<'ctx>, i: IntValue<'ctx>) -> Res<FloatValue<'ctx>> {
        match t {
            Table::Loaded(p, DType::F64) => self.cg.load_scalar(DType::F64, p, i),
            Table::Loaded(p, DType::F32) => {
                let v = self.cg.load_scalar(DType::F32, p, i)?;
                llvm(self.cg.b.build_float_ext(v, self.cg.ctx.f64_type(), "q64"))
            }
            Table::Linspace(n) => {
                // numpy: i * (1 / (n - 1)), the last entry exactly 1.
                let cg = self.cg;
                let fi = llvm(cg.b.build_signed_int_to_float(i, cg.ctx.f64_type(), "fi"))?;
                let v = self.mul(fi, self.c(1.0 / (n.saturating_sub(1)).max(1) as f64))?;
                let last = self.eq_i(i, cg.i64(n.saturating_sub(1)))?;
                self.sel(last, self.c(1.0), v)
            }
        }
    }
    fn add(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> Res<FloatValue<'ctx>> {
        llvm(self.cg.b.build_float_add(a, b, "a"))
    }
    fn sub(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> Res<FloatValue<'ctx>> {
        llvm(self.cg.b.build_float_sub(a, b, "s"))
    }
    fn mul(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> Res<FloatValue<'ctx>> {
        llvm(self.cg.b.build_float_mul(a, b, "m"))
    }
    fn div(&self, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> Res<FloatValue<'ctx>> {
        llvm(self.cg.b.build_float_div(a, b, "d"))
    }
    fn cmp(&self, p: P, a: FloatValue<'ctx>, b: FloatValue<'ctx>) -> Res<IntValue<'ctx>> {
        llvm(self.cg.b.build_float_compare(p, a, b, "c"))
    }
    fn sel(
        &self,
        c: IntValue<'ctx>,
        a: FloatValue<'ctx>,
        b: FloatValue<'ctx>,
    ) -> Res<FloatValue<'ctx>> {
        Ok(llvm(self.cg.b.build_select(c, a, b, "sel"))?.into_float_value())
    }
    fn iadd(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        llvm(self.cg.b.build_int_add(a, b, "i"))
    }
    fn isub(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        llvm(self.cg.b.build_int_sub(a, b, "i"))
    }

    /// Number of leading table entries `t[k]` with `t[k] <= x` (`strict`: `t[k] < x`), i.e.
    /// numpy's upper (lower) bound. Branch-free halving; the loop runs ⌈log2 n⌉ times.
    fn bound(
        &self,
        t: Table<'ctx>,
        n: IntValue<'ctx>,
        x: FloatValue<'ctx>,
        strict: bool,
    ) -> Res<IntValue<'ctx>> {
        let cg = self.cg;
        let i64t = cg.ctx.i64_type();
        if let Some(mut len) = n.get_zero_extended_constant() {
            // A table of known size: the ~log2(n) steps straight, no loop for LLVM to unroll.
            let mut base = cg.i64(0);
            while len > 1 {
                let half = len / 2;
                let mid = self.iadd(base, cg.i64(half))?;
                let go = self.cmp(if strict { P::OLT } else { P::OLE }, self.at(t, mid)?, x)?;
                base = llvm(cg.b.build_select(go, mid, base, "nb"))?.into_int_value();
                len -= half;
            }
            let go = self.cmp(if strict { P::OLT } else { P::OLE }, self.at(t, base)?, x)?;
            let step = llvm(cg.b.build_int_z_extend(go, i64t, "step"))?;
            return self.iadd(base, step);
        }
        let pre = cg.b.get_insert_block().ok_or("no block")?;
        let head = cg.ctx.append_basic_block(self.func, "bs");
        let body = cg.ctx.append_basic_block(self.func, "bs.body");
        let done = cg.ctx.append_basic_block(self.func, "bs.done");
        llvm(cg.b.build_unconditional_branch(head))?;
        cg.b.position_at_end(head);
        let base = llvm(cg.b.build_phi(i64t, "base"))?;
        let len = llvm(cg.b.build_phi(i64t, "len"))?;
        let (bv, lv) = (
            base.as_basic_value().into_int_value(),
            len.as_basic_value().into_int_value(),
        );
        let more = llvm(cg.b.build_int_compare(IntPredicate::UGT, lv, cg.i64(1), "more"))?;
        llvm(cg.b.build_conditional_branch(more, body, done))?;
        cg.b.position_at_end(body);
        let half = llvm(cg.b.build_right_shift(lv, cg.i64(1), false, "half"))?;
        let mid = self.iadd(bv, half)?;
        let v = self.at(t, mid)?;
        let go = self.cmp(if strict { P::OLT } else { P::OLE }, v, x)?;
        let nb = llvm(cg.b.build_select(go, mid, bv, "nb"))?.into_int_value();
        let nl = self.isub(lv, half)?;
        llvm(cg.b.build_unconditional_branch(head))?;
        base.add_incoming(&[(&cg.i64(0), pre), (&nb, body)]);
        len.add_incoming(&[(&n, pre), (&nl, body)]);
        cg.b.position_at_end(done);
        let v = self.at(t, bv)?;
        let go = self.cmp(if strict { P::OLT } else { P::OLE }, v, x)?;
        let step = llvm(cg.b.build_int_z_extend(go, i64t, "step"))?;
        self.iadd(bv, step)
    }

    /// `(fp[j+1] - fp[j]) / (xp[j+1] - xp[j]) * (x - xp[j]) + fp[j]`, numpy's rounding order.
    fn segment(
        &self,
        xp: Table<'ctx>,
        fp: Table<'ctx>,
        j: IntValue<'ctx>,
        x: FloatValue<'ctx>,
        at: IntValue<'ctx>,
    ) -> Res<FloatValue<'ctx>> {
        let j1 = self.iadd(j, self.cg.i64(1))?;
        let slope = self.div(
            self.sub(self.at(fp, j1)?, self.at(fp, j)?)?,
            self.sub(self.at(xp, j1)?, self.at(xp, j)?)?,
        )?;
        self.add(
            self.mul(slope, self.sub(x, self.at(xp, at)?)?)?,
            self.at(fp, at)?,
        )
    }

    /// Clamps an index into `[0, n-1]` so that speculative loads stay inside the table.
    fn clamp_index(&self, i: IntValue<'ctx>, n: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        let cg = self.cg;
        let last = self.isub(n, cg.i64(1))?;
        let neg = llvm(cg.b.build_int_compare(IntPredicate::SLT, i, cg.i64(0), "neg"))?;
        let i = llvm(cg.b.build_select(neg, cg.i64(0), i, "lo"))?.into_int_value();
        let big = llvm(cg.b.build_int_compare(IntPredicate::SGT, i, last, "big"))?;
        Ok(llvm(cg.b.build_select(big, last, i, "hi"))?.into_int_value())
    }

    fn eq_i(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        llvm(self.cg.b.build_int_compare(IntPredicate::EQ, a, b, "eq"))
    }

    fn or(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        llvm(self.cg.b.build_or(a, b, "or"))
    }

    /// numpy.interp(x, xp, fp) for increasing xp (ties allowed), `x` finite or NaN.
    fn interp_up(
        &self,
        x: FloatValue<'ctx>,
        xp: Table<'ctx>,
        fp: Table<'ctx>,
        n: IntValue<'ctx>,
    ) -> Res<FloatValue<'ctx>> {
        let cg = self.cg;
        let last = self.isub(n, cg.i64(1))?;
        let (x0, xl) = (self.at(xp, cg.i64(0))?, self.at(xp, last)?);
        let (f0, fl) = (self.at(fp, cg.i64(0))?, self.at(fp, last)?);
        let hi = self.bound(xp, n, x, false)?;
        // j = hi - 1 (the last xp[j] <= x); clamped for lanes outside the table.
        let j = self.clamp_index(self.isub(hi, cg.i64(1))?, n)?;
        let jseg = self.clamp_index(j, self.isub(n, cg.i64(1))?)?;
        let inner = self.segment(xp, fp, jseg, x, j)?;
        let hit = self.or(self.eq_i(j, last)?, self.cmp(P::OEQ, self.at(xp, j)?, x)?)?;
        let y = self.sel(hit, self.at(fp, j)?, inner)?;
        let y = self.sel(self.cmp(P::OGT, x, xl)?, fl, y)?;
        let y = self.sel(self.cmp(P::OLT, x, x0)?, f0, y)?;
        // NaN in, NaN out (every comparison above is false for NaN).
        self.sel(self.cmp(P::UNO, x, x)?, x, y)
    }

    fn forward(
        &self,
        dist: Distribution,
        x: FloatValue<'ctx>,
        q: Table<'ctx>,
        r: Table<'ctx>,
        n: IntValue<'ctx>,
    ) -> Res<FloatValue<'ctx>> {
        let cg = self.cg;
        let last = self.isub(n, cg.i64(1))?;
        let (q0, ql) = (self.at(q, cg.i64(0))?, self.at(q, last)?);
        let (below, above) = match dist {
            Distribution::Normal => (
                self.cmp(P::OLT, self.sub(x, self.c(BOUNDS_THRESHOLD))?, q0)?,
                self.cmp(P::OGT, self.add(x, self.c(BOUNDS_THRESHOLD))?, ql)?,
            ),
            Distribution::Uniform => (self.cmp(P::OEQ, x, q0)?, self.cmp(P::OEQ, x, ql)?),
        };
        let up = self.interp_up(x, q, r, n)?;
        // Descending interpolation on the ascending table: m = first index with q[m] >= x.
        let m = self.clamp_index(self.bound(q, n, x, true)?, n)?;
        let m1 = self.clamp_index(self.isub(m, cg.i64(1))?, self.isub(n, cg.i64(1))?)?;
        let inner = self.segment(q, r, m1, x, m)?;
        let hit = self.cmp(P::OEQ, self.at(q, m)?, x)?;
        let down = self.sel(hit, self.at(r, m)?, inner)?;
        let down = self.sel(self.cmp(P::OGT, x, ql)?, self.at(r, last)?, down)?;
        let down = self.sel(self.cmp(P::OLT, x, q0)?, self.at(r, cg.i64(0))?, down)?;
        let y = self.mul(self.c(0.5), self.add(up, down)?)?;
        let y = self.sel(self.cmp(P::UNO, x, x)?, x, y)?;
        let y = self.sel(above, self.c(1.0), y)?;
        let y = self.sel(below, self.c(0.0), y)?;
        match dist {
            Distribution::Uniform => Ok(y),
            Distribution::Normal => {
                let v = cg.splat_val(y, 1)?;
                let z = math::ndtri(cg, v)?;
                let (lo, hi) = quantile_normal_clip();
                let z = cg.min_nan(
                    cg.max_nan(z, cg.splat(DType::F64, 1, lo))?,
                    cg.splat(DType::F64, 1, hi),
                )?;
                Ok(
                    llvm(cg.b.build_extract_element(z, cg.ctx.i32_type().const_zero(), "z"))?
                        .into_float_value(),
                )
            }
        }
    }

    fn inverse(
        &self,
        dist: Distribution,
        x: FloatValue<'ctx>,
        q: Table<'ctx>,
        r: Table<'ctx>,
        n: IntValue<'ctx>,
    ) -> Res<FloatValue<'ctx>> {
        let cg = self.cg;
        let u = match dist {
            Distribution::Normal => {
                let v = cg.splat_val(x, 1)?;
                let u = math::ndtr(cg, DType::F64, v)?;
                llvm(cg.b.build_extract_element(u, cg.ctx.i32_type().const_zero(), "u"))?
                    .into_float_value()
            }
            Distribution::Uniform => x,
        };
        let (below, above) = match dist {
            Distribution::Normal => (
                self.cmp(P::OLT, self.sub(u, self.c(BOUNDS_THRESHOLD))?, self.c(0.0))?,
                self.cmp(P::OGT, self.add(u, self.c(BOUNDS_THRESHOLD))?, self.c(1.0))?,
            ),
            Distribution::Uniform => (
                self.cmp(P::OEQ, u, self.c(0.0))?,
                self.cmp(P::OEQ, u, self.c(1.0))?,
            ),
        };
        let y = self.interp_up(u, r, q, n)?;
        let last = self.isub(n, cg.i64(1))?;
        let y = self.sel(above, self.at(q, last)?, y)?;
        self.sel(below, self.at(q, cg.i64(0))?, y)
    }
}
