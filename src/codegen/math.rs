//! Elementwise functions emitted as LLVM IR on vectors.
//!
//! f32 (the network): `exp` is a Cephes-style range reduction plus a degree-6 polynomial, so
//! it vectorises; `tanh`, `sigmoid`, `elu`, `selu`, `silu`, `mish` and the tanh-GELU are built
//! on it. Maximum error against the f64 reference rounded to f32, measured over dense grids
//! by `tests/math_accuracy.rs`, relative to max(1, |y|): exp ≤ 2 ulp; tanh, sigmoid, elu ≤ 6e-8;
//! silu, selu, softplus, mish, gelu ≤ 1.9e-7 (one float32 ulp of 1 is 1.2e-7). Large inputs
//! never produce NaN. `log`, the normal CDF and the exact (erf) GELU are computed in float64 by
//! [`super::math64`] (log ≤ 1 ulp, erfc ≤ 8 ulp of float64, so their float32 results are
//! correctly rounded but for rare ties); rarely used functions (trig, cbrt, …) call libm lane by
//! lane. f64 (scikit-learn steps): `exp`, `log` and `erfc` from [`super::math64`]; the normal
//! quantile is Wichura's AS241, branch-free, as in `lamarrc_ir::special`; `log1p`/`expm1`
//! (Yeo-Johnson, Box-Cox) and the rest call libm, the functions numpy calls.

use super::cg::{Cg, Res};
use super::math64;
use inkwell::values::VectorValue;
use inkwell::FloatPredicate as P;
use lamarrc_ir::special::{PPF_A, PPF_B, PPF_C, PPF_D, PPF_E, PPF_F};
use lamarrc_ir::{DType, UnaryOp};

type V<'ctx> = VectorValue<'ctx>;

pub(super) fn width(v: V) -> u32 {
    v.get_type().get_size()
}

/// Horner evaluation of `c[0] + c[1] x + …` (coefficients in increasing order).
pub(super) fn poly<'ctx>(cg: &Cg<'ctx>, dt: DType, c: &[f64], x: V<'ctx>) -> Res<V<'ctx>> {
    let w = width(x);
    let mut acc = cg.splat(dt, w, c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        acc = cg.fma(acc, x, cg.splat(dt, w, k))?;
    }
    Ok(acc)
}

/// `exp(x)` for f32 lanes: ≤ 2 ulp on [-87, 88.7], +inf above, 0 far below, NaN kept.
pub fn exp_f32<'ctx>(cg: &Cg<'ctx>, x: V<'ctx>) -> Res<V<'ctx>> {
    let dt = DType::F32;
    let w = width(x);
    let k = |c: f64| cg.splat(dt, w, c);
    const HI: f64 = 88.722_839_052_068_35; // ln(FLT_MAX)
    const LO: f64 = -103.972_084; // exp(LO) rounds to 0 in f32
    let over = cg.cmp(P::OGT, x, k(HI))?;
    let under = cg.cmp(P::OLT, x, k(LO))?;
    let xc = cg.min_nan(cg.max_nan(x, k(LO))?, k(HI))?;
    // n = round(x / ln 2); r = x - n ln 2 in two parts (Cody–Waite).
    let fx = cg.intrinsic(
        "llvm.floor",
        &[cg.fma(xc, k(std::f64::consts::LOG2_E), k(0.5))?],
    )?;
    let r = cg.fma(fx, k(-0.693_359_375), xc)?;
    let r = cg.fma(fx, k(2.121_944_4e-4), r)?;
    let p = poly(
        cg,
        dt,
        &[
            5.000_000_120_1e-1,
            1.666_666_545_9e-1,
            4.166_579_589_4e-2,
            8.333_451_907_3e-3,
            1.398_199_950_7e-3,
            1.987_569_150_0e-4,
        ],
        r,
    )?;
    let z = cg.fmul(r, r)?;
    let y = cg.fadd(cg.fma(p, z, r)?, k(1.0))?;
    // 2^n as two factors so that n in [-150, 128] never overflows the exponent field.
    let ord = cg.cmp(P::ORD, fx, fx)?;
    let fx = cg.select(ord, fx, k(0.0))?;
    let i32v = cg.ctx.i32_type().vec_type(w);
    let n = super::cg::llvm(cg.b.build_float_to_signed_int(fx, i32v, "n"))?;
    let one = |c: u64| {
        inkwell::types::VectorType::const_vector(&vec![
            cg.ctx.i32_type().const_int(c, false);
            w as usize
        ])
    };
    let n1 = super::cg::llvm(cg.b.build_right_shift(n, one(1), true, "n1"))?;
    let n2 = super::cg::llvm(cg.b.build_int_sub(n, n1, "n2"))?;
    let pow2 = |m| -> Res<V<'ctx>> {
        let e = super::cg::llvm(cg.b.build_int_add(m, one(127), "e"))?;
        let e = super::cg::llvm(cg.b.build_left_shift(e, one(23), "e"))?;
        Ok(super::cg::llvm(cg.b.build_bit_cast(e, cg.vty(dt, w), "s"))?.into_vector_value())
    };
    let y = cg.fmul(cg.fmul(y, pow2(n1)?)?, pow2(n2)?)?;
    let y = cg.select(over, k(f64::INFINITY), y)?;
    cg.select(under, k(0.0), y)
}

fn exp<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    match dt {
        DType::F32 => exp_f32(cg, x),
        DType::F64 => math64::exp(cg, x),
    }
}

/// Applies a float64 function to lanes of either precision (float32 widened exactly, the
/// result rounded once).
fn via_f64<'ctx>(
    cg: &Cg<'ctx>,
    dt: DType,
    x: V<'ctx>,
    f: impl FnOnce(V<'ctx>) -> Res<V<'ctx>>,
) -> Res<V<'ctx>> {
    match dt {
        DType::F64 => f(x),
        DType::F32 => {
            let w = width(x);
            let xd = super::cg::llvm(cg.b.build_float_ext(x, cg.vty(DType::F64, w), "ext"))?;
            let y = f(xd)?;
            super::cg::llvm(cg.b.build_float_trunc(y, cg.vty(DType::F32, w), "tr"))
        }
    }
}

fn sigmoid<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    let one = cg.splat(dt, width(x), 1.0);
    let e = exp(cg, dt, cg.fneg(x)?)?;
    cg.fdiv(one, cg.fadd(one, e)?)
}

fn tanh<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    if dt == DType::F64 {
        return cg.map_libm("tanhf", "tanh", dt, &[x]);
    }
    let w = width(x);
    let k = |c: f64| cg.splat(dt, w, c);
    // x P(x²) / Q(x²) on [-9, 9] (beyond, tanh rounds to ±1 within 6e-8): a rational minimax fit
    // made by scripts/fit_tanh.py (relative error 7e-9 in exact arithmetic; as emitted, with
    // float32 FMAs, ≤ 2.4e-7 = 4 ulp, tests/math_accuracy.rs). A dozen FMAs and one division where
    // the exp-based form (`tanh_exp`, ≤ 1 ulp) took ~40 operations: the activation no longer
    // costs as much as the 128-wide layer it follows. Ordered compares keep NaN.
    const C: f64 = 9.0;
    let xc = cg.select(cg.cmp(P::OGT, x, k(C))?, k(C), x)?;
    let xc = cg.select(cg.cmp(P::OLT, xc, k(-C))?, k(-C), xc)?;
    let z = cg.fmul(xc, xc)?;
    let p = poly(cg, dt, &TANH_P, z)?;
    let q = poly(cg, dt, &TANH_Q, z)?;
    let y = cg.fdiv(cg.fmul(xc, p)?, q)?;
    let y = cg.select(cg.cmp(P::OGT, y, k(1.0))?, k(1.0), y)?;
    cg.select(cg.cmp(P::OLT, y, k(-1.0))?, k(-1.0), y)
}

/// Coefficients of z⁰… of P and Q in `tanh(x) ≈ x P(x²) / Q(x²)` (scripts/fit_tanh.py).
const TANH_P: [f64; 7] = [
    0.999_999_993_361_549_7,
    0.130_839_971_190_791_66,
    0.003_103_942_235_241_551_7,
    1.115_417_843_611_012_3e-5,
    -2.022_480_827_689_049_7e-8,
    5.277_810_824_761_367e-11,
    -8.488_523_089_794_669e-14,
];
const TANH_Q: [f64; 4] = [
    1.0,
    0.464_173_242_064_362_8,
    0.024_495_121_260_992_42,
    0.000_254_612_579_502_976_2,
];

/// tanh through `1 - 2 / (exp(2|x|) + 1)` (and an odd polynomial near 0): ≤ 1 ulp, and accurate
/// in absolute terms next to ±1, where gelu's `1 + tanh` and mish cancel.
fn tanh_exp<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    if dt == DType::F64 {
        return cg.map_libm("tanhf", "tanh", dt, &[x]);
    }
    let w = width(x);
    let k = |c: f64| cg.splat(dt, w, c);
    let ax = cg.intrinsic("llvm.fabs", &[x])?;
    // |x| < 0.625: odd polynomial (Cephes tanhf), accurate where 1 - 2/(e+1) cancels.
    let z = cg.fmul(x, x)?;
    let p = poly(
        cg,
        dt,
        &[
            -3.333_328_194_22e-1,
            1.333_144_220_36e-1,
            -5.373_971_555_31e-2,
            2.063_908_879_54e-2,
            -5.704_988_727_45e-3,
        ],
        z,
    )?;
    let small = cg.fma(cg.fmul(p, z)?, x, x)?;
    // Otherwise 1 - 2 / (exp(2|x|) + 1), with the sign of x.
    let e = exp_f32(cg, cg.fadd(ax, ax)?)?;
    let big = cg.fsub(k(1.0), cg.fdiv(k(2.0), cg.fadd(e, k(1.0))?)?)?;
    let big = cg.intrinsic("llvm.copysign", &[big, x])?;
    let is_small = cg.cmp(P::OLT, ax, k(0.625))?;
    cg.select(is_small, small, big)
}

fn softplus<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    // max(x, 0) + log1p(exp(-|x|)): no overflow for large x.
    let w = width(x);
    let ax = cg.intrinsic("llvm.fabs", &[x])?;
    let e = exp(cg, dt, cg.fneg(ax)?)?;
    let l = cg.map_libm("log1pf", "log1p", dt, &[e])?;
    cg.fadd(cg.max_nan(x, cg.splat(dt, w, 0.0))?, l)
}

fn elu<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>, alpha: f64) -> Res<V<'ctx>> {
    let w = width(x);
    let em1 = match dt {
        DType::F32 => cg.fsub(exp_f32(cg, x)?, cg.splat(dt, w, 1.0))?,
        DType::F64 => cg.map_libm("expm1f", "expm1", dt, &[x])?,
    };
    let neg = cg.fmul(em1, cg.splat(dt, w, alpha))?;
    let pos = cg.cmp(P::OGT, x, cg.splat(dt, w, 0.0))?;
    // NaN: `x > 0` is false, and the negative branch keeps NaN.
    cg.select(pos, x, neg)
}

fn hard_sigmoid<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    let w = width(x);
    let k = |c: f64| cg.splat(dt, w, c);
    let t = cg.min_nan(cg.max_nan(cg.fadd(x, k(3.0))?, k(0.0))?, k(6.0))?;
    cg.fdiv(t, k(6.0))
}

/// The standard normal quantile (AS241), branch-free over lanes: `-inf` at 0, `+inf` at 1,
/// NaN outside [0, 1].
pub fn ndtri<'ctx>(cg: &Cg<'ctx>, p: V<'ctx>) -> Res<V<'ctx>> {
    let dt = DType::F64;
    let w = width(p);
    let k = |c: f64| cg.splat(dt, w, c);
    let q = cg.fsub(p, k(0.5))?;
    let rc = cg.fsub(k(0.180625), cg.fmul(q, q)?)?;
    let central = cg.fdiv(
        cg.fmul(q, poly(cg, dt, &PPF_A, rc)?)?,
        poly(cg, dt, &PPF_B, rc)?,
    )?;
    let qneg = cg.cmp(P::OLT, q, k(0.0))?;
    let rr = cg.select(qneg, p, cg.fsub(k(1.0), p)?)?;
    let s = cg.intrinsic("llvm.sqrt", &[cg.fneg(math64::log(cg, rr)?)?])?;
    let sm = cg.fsub(s, k(1.6))?;
    let mid = cg.fdiv(poly(cg, dt, &PPF_C, sm)?, poly(cg, dt, &PPF_D, sm)?)?;
    let st = cg.fsub(s, k(5.0))?;
    let tail = cg.fdiv(poly(cg, dt, &PPF_E, st)?, poly(cg, dt, &PPF_F, st)?)?;
    let t = cg.select(cg.cmp(P::OLE, s, k(5.0))?, mid, tail)?;
    let t = cg.select(qneg, cg.fneg(t)?, t)?;
    let aq = cg.intrinsic("llvm.fabs", &[q])?;
    let y = cg.select(cg.cmp(P::OLE, aq, k(0.425))?, central, t)?;
    let y = cg.select(cg.cmp(P::OEQ, p, k(0.0))?, k(f64::NEG_INFINITY), y)?;
    let y = cg.select(cg.cmp(P::OEQ, p, k(1.0))?, k(f64::INFINITY), y)?;
    // Outside [0, 1] (or NaN): NaN. `p >= 0 && p <= 1` is false for NaN too.
    let inside = super::cg::llvm(cg.b.build_and(
        cg.cmp(P::OGE, p, k(0.0))?,
        cg.cmp(P::OLE, p, k(1.0))?,
        "in",
    ))?;
    cg.select(inside, y, k(f64::NAN))
}

/// The standard normal CDF, `0.5 erfc(-x / sqrt 2)`, as scipy's `ndtr`, in float64.
pub fn ndtr<'ctx>(cg: &Cg<'ctx>, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    via_f64(cg, dt, x, |x| ndtr_f64(cg, x))
}

fn ndtr_f64<'ctx>(cg: &Cg<'ctx>, x: V<'ctx>) -> Res<V<'ctx>> {
    let w = width(x);
    let t = cg.fmul(x, cg.splat(DType::F64, w, -std::f64::consts::FRAC_1_SQRT_2))?;
    cg.fmul(math64::erfc(cg, t)?, cg.splat(DType::F64, w, 0.5))
}

/// Emits `op(x)` lane-wise.
pub fn unary<'ctx>(cg: &Cg<'ctx>, op: &UnaryOp, dt: DType, x: V<'ctx>) -> Res<V<'ctx>> {
    use UnaryOp as U;
    let w = width(x);
    let k = |c: f64| cg.splat(dt, w, c);
    let m = |n32: &str, n64: &str| cg.map_libm(n32, n64, dt, &[x]);
    match op {
        U::Identity => Ok(x),
        U::Relu {
            max_value,
            negative_slope,
            threshold,
        } => {
            let mut pos = if *threshold != 0.0 {
                cg.select(cg.cmp(P::OGT, x, k(*threshold))?, x, k(0.0))?
            } else {
                cg.max_nan(x, k(0.0))?
            };
            if let Some(mx) = max_value {
                pos = cg.min_nan(cg.max_nan(pos, k(0.0))?, k(*mx))?;
            }
            if *negative_slope != 0.0 {
                let neg = cg.max_nan(cg.fsub(k(*threshold), x)?, k(0.0))?;
                pos = cg.fsub(pos, cg.fmul(neg, k(*negative_slope))?)?;
            }
            Ok(pos)
        }
        U::Elu { alpha } => elu(cg, dt, x, *alpha),
        U::Selu => {
            let e = elu(cg, dt, x, 1.673_263_242_354_377_3)?;
            cg.fmul(e, k(1.050_700_987_355_480_5))
        }
        U::Sigmoid => sigmoid(cg, dt, x),
        U::HardSigmoid => hard_sigmoid(cg, dt, x),
        U::HardSilu => cg.fmul(x, hard_sigmoid(cg, dt, x)?),
        U::Tanh => tanh(cg, dt, x),
        U::Softplus => softplus(cg, dt, x),
        U::Softsign => {
            let ax = cg.intrinsic("llvm.fabs", &[x])?;
            cg.fdiv(x, cg.fadd(ax, k(1.0))?)
        }
        U::Silu => cg.fmul(x, sigmoid(cg, dt, x)?),
        // x (1 + erf(x/√2)) / 2 = x ndtr(x): erfc keeps the left tail accurate where 1 + erf cancels.
        U::Gelu => via_f64(cg, dt, x, |x| cg.fmul(x, ndtr_f64(cg, x)?)),
        U::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let x3 = cg.fmul(cg.fmul(x, x)?, x)?;
            let inner = cg.fmul(cg.fma(x3, k(0.044715), x)?, k(c))?;
            let t = tanh_exp(cg, dt, inner)?;
            cg.fmul(cg.fmul(x, k(0.5))?, cg.fadd(t, k(1.0))?)
        }
        U::Exp => exp(cg, dt, x),
        U::Mish => {
            let sp = softplus(cg, dt, x)?;
            cg.fmul(x, tanh_exp(cg, dt, sp)?)
        }
        U::HardTanh => cg.min_nan(cg.max_nan(x, k(-1.0))?, k(1.0)),
        U::LogSigmoid => cg.fneg(softplus(cg, dt, cg.fneg(x)?)?),
        U::SoftShrink => {
            let above = cg.cmp(P::OGT, x, k(0.5))?;
            let below = cg.cmp(P::OLT, x, k(-0.5))?;
            let nan = cg.cmp(P::UNO, x, x)?;
            let mid = cg.select(nan, x, k(0.0))?;
            let y = cg.select(below, cg.fadd(x, k(0.5))?, mid)?;
            cg.select(above, cg.fsub(x, k(0.5))?, y)
        }
        U::HardShrink => {
            let ax = cg.intrinsic("llvm.fabs", &[x])?;
            // `|x| > 0.5` unordered-or: NaN stays NaN.
            let keep = cg.cmp(P::UGT, ax, k(0.5))?;
            cg.select(keep, x, k(0.0))
        }
        U::TanhShrink => cg.fsub(x, tanh_exp(cg, dt, x)?),
        U::Squareplus => {
            let r = cg.intrinsic("llvm.sqrt", &[cg.fma(x, x, k(4.0))?])?;
            cg.fdiv(cg.fadd(x, r)?, k(2.0))
        }
        U::SparsePlus => {
            let t = cg.fadd(x, k(1.0))?;
            let mid = cg.fmul(cg.fmul(t, t)?, k(0.25))?;
            let y = cg.select(cg.cmp(P::OLT, x, k(1.0))?, mid, x)?;
            cg.select(cg.cmp(P::OLE, x, k(-1.0))?, k(0.0), y)
        }
        U::SparseSigmoid => {
            let mid = cg.fmul(cg.fadd(x, k(1.0))?, k(0.5))?;
            let y = cg.select(cg.cmp(P::OGE, x, k(1.0))?, k(1.0), mid)?;
            cg.select(cg.cmp(P::OLE, x, k(-1.0))?, k(0.0), y)
        }
        U::Log => via_f64(cg, dt, x, |x| math64::log(cg, x)),
        U::Log1p => m("log1pf", "log1p"),
        U::Expm1 => m("expm1f", "expm1"),
        U::Log2 => m("log2f", "log2"),
        U::Log10 => m("log10f", "log10"),
        U::Exp2 => m("exp2f", "exp2"),
        U::Sqrt => cg.intrinsic("llvm.sqrt", &[x]),
        U::Cbrt => m("cbrtf", "cbrt"),
        U::Square => cg.fmul(x, x),
        U::Abs => cg.intrinsic("llvm.fabs", &[x]),
        U::Neg => cg.fneg(x),
        U::Reciprocal => cg.fdiv(k(1.0), x),
        U::Sin => m("sinf", "sin"),
        U::Cos => m("cosf", "cos"),
        U::Tan => m("tanf", "tan"),
        U::Arcsin => m("asinf", "asin"),
        U::Arccos => m("acosf", "acos"),
        U::Arctan => m("atanf", "atan"),
        U::Sinh => m("sinhf", "sinh"),
        U::Cosh => m("coshf", "cosh"),
        U::Arcsinh => m("asinhf", "asinh"),
        U::Arccosh => m("acoshf", "acosh"),
        U::Arctanh => m("atanhf", "atanh"),
        U::NormalCdf => ndtr(cg, dt, x),
        U::NormalPpf => via_f64(cg, dt, x, |x| ndtri(cg, x)),
    }
}
