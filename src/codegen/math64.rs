//! Float64 `exp`, `log` and `erfc` emitted as LLVM IR on vectors, so that the normal quantile
//! (`log`), the normal CDF (`erfc`) and Keras' exact GELU run on all lanes at once instead of
//! calling libm lane by lane (a call spills every vector register and serialises the lanes).
//! Written here because no crate emits LLVM IR for them; the algorithms are the textbook ones:
//!
//! - `exp`: Cody–Waite reduction by ln 2 (the high part of ln 2 has 21 trailing zero bits, so
//!   `n ln2_hi` is exact), Taylor series to degree 13 on |r| ≤ ln 2 / 2 (truncation < 1e-17),
//!   2^n applied as two factors so that subnormal results round once. An optional low part of the
//!   argument joins after the reduction, which `erfc` needs for `exp(-z²)` with `z²` split exactly.
//! - `log`: x = 2^k m with m in [√2/2, √2), log m = 2 atanh(f / (2 + f)) with f = m - 1 exact,
//!   the atanh series to degree 21 (truncation < 1e-18), arranged as f - (f²/2 - s (f²/2 + R)).
//! - `erfc`: below 0.5, 1 - erf(z) with erf's Taylor series; from 0.5 to 27.3, t G(u) exp(-z²) with
//!   t = 4 / (4 + z), v affine in t and G a polynomial fitted to erfcx(z) / t by
//!   scripts/fit_erfc.py (2e-16 in exact arithmetic); above 27.3 the result underflows to 0.
//!
//! Errors against the C library (glibc), measured by the tests below on dense grids and random
//! bit patterns: exp ≤ 1 ulp, log ≤ 1 ulp, erfc ≤ 8 ulp (7 measured: 1e-15
//! relative; the fit, Horner's rule, the reduction of exp and three products each add about one). NaN stays NaN; ±inf and 0 map as in C.

use super::cg::{llvm, Cg, Res};
use super::math::{poly, width};
use inkwell::types::VectorType;
use inkwell::values::VectorValue;
use inkwell::FloatPredicate as P;
use lamarrc_ir::DType;

type V<'ctx> = VectorValue<'ctx>;

const F64: DType = DType::F64;

/// ln 2 split for Cody–Waite: the high part has 32 significant bits, so `n * LN2_HI` is exact
/// for |n| < 2^21.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

fn k<'ctx>(cg: &Cg<'ctx>, w: u32, c: f64) -> V<'ctx> {
    cg.splat(F64, w, c)
}

/// An int64 vector with every lane `c`.
fn ki<'ctx>(cg: &Cg<'ctx>, w: u32, c: u64) -> V<'ctx> {
    VectorType::const_vector(&vec![cg.ctx.i64_type().const_int(c, false); w as usize])
}

fn to_bits<'ctx>(cg: &Cg<'ctx>, x: V<'ctx>) -> Res<V<'ctx>> {
    let t = cg.ctx.i64_type().vec_type(width(x));
    Ok(llvm(cg.b.build_bit_cast(x, t, "bits"))?.into_vector_value())
}

fn from_bits<'ctx>(cg: &Cg<'ctx>, i: V<'ctx>) -> Res<V<'ctx>> {
    Ok(llvm(cg.b.build_bit_cast(i, cg.vty(F64, width(i)), "f"))?.into_vector_value())
}

/// `exp(x)`.
pub fn exp<'ctx>(cg: &Cg<'ctx>, x: V<'ctx>) -> Res<V<'ctx>> {
    exp_split(cg, x, None)
}

/// `exp(hi + lo)` for a small `lo` (a rounding error of `hi`), or `exp(hi)`.
fn exp_split<'ctx>(cg: &Cg<'ctx>, hi: V<'ctx>, lo: Option<V<'ctx>>) -> Res<V<'ctx>> {
    let w = width(hi);
    let c = |v: f64| k(cg, w, v);
    // Beyond these, the result is inf or rounds to 0.
    const OVER: f64 = 709.782_712_893_384;
    const UNDER: f64 = -745.133_219_101_941_2;
    let x = match lo {
        Some(lo) => cg.fadd(hi, lo)?,
        None => hi,
    };
    let over = cg.cmp(P::OGT, x, c(OVER))?;
    let under = cg.cmp(P::OLT, x, c(UNDER))?;
    let xc = cg.min_nan(cg.max_nan(x, c(UNDER - 1.0))?, c(OVER + 1.0))?;
    let n = cg.intrinsic(
        "llvm.floor",
        &[cg.fma(xc, c(std::f64::consts::LOG2_E), c(0.5))?],
    )?;
    let mut r = cg.intrinsic("llvm.fma", &[cg.fneg(n)?, c(LN2_HI), hi])?;
    if let Some(lo) = lo {
        r = cg.fadd(r, lo)?;
    }
    let r = cg.fma(cg.fneg(n)?, c(LN2_LO), r)?;
    // Taylor coefficients 1/j!, j = 0..=13.
    let mut taylor = [1.0f64; 14];
    for j in 1..14 {
        taylor[j] = taylor[j - 1] / j as f64;
    }
    let p = poly(cg, F64, &taylor, r)?;
    // 2^n as two factors 2^n1 2^n2 (n in [-1076, 1025]: each factor's exponent stays normal).
    let ord = cg.cmp(P::ORD, n, n)?;
    let n = cg.select(ord, n, c(0.0))?;
    let i64v = cg.ctx.i64_type().vec_type(w);
    let n = llvm(cg.b.build_float_to_signed_int(n, i64v, "n"))?;
    let n1 = llvm(cg.b.build_right_shift(n, ki(cg, w, 1), true, "n1"))?;
    let n2 = llvm(cg.b.build_int_sub(n, n1, "n2"))?;
    let pow2 = |m| -> Res<V<'ctx>> {
        let e = llvm(cg.b.build_int_add(m, ki(cg, w, 1023), "e"))?;
        from_bits(cg, llvm(cg.b.build_left_shift(e, ki(cg, w, 52), "e"))?)
    };
    let y = cg.fmul(cg.fmul(p, pow2(n1)?)?, pow2(n2)?)?;
    let y = cg.select(over, c(f64::INFINITY), y)?;
    cg.select(under, c(0.0), y)
}

/// `log(x)`: -inf at 0, NaN below 0, +inf at +inf.
pub fn log<'ctx>(cg: &Cg<'ctx>, x: V<'ctx>) -> Res<V<'ctx>> {
    let w = width(x);
    let c = |v: f64| k(cg, w, v);
    let b = &cg.b;
    // Subnormals: scale by 2^54 first.
    let tiny = cg.cmp(P::OLT, x, c(f64::MIN_POSITIVE))?;
    let xs = cg.select(tiny, cg.fmul(x, c(2f64.powi(54)))?, x)?;
    let bits = to_bits(cg, xs)?;
    let e = llvm(b.build_right_shift(bits, ki(cg, w, 52), false, "e"))?;
    let mant = llvm(b.build_and(bits, ki(cg, w, (1 << 52) - 1), "m"))?;
    // Mantissas from √2 up carry into bit 52: those are halved (exponent 2^-1) and k goes up
    // by one, so m lies in [√2/2, √2).
    let carry = llvm(b.build_and(
        llvm(b.build_int_add(mant, ki(cg, w, 0x0009_5f64 << 32), "c"))?,
        ki(cg, w, 1 << 52),
        "c",
    ))?;
    let m = llvm(b.build_or(
        mant,
        llvm(b.build_xor(carry, ki(cg, w, 0x3ff0_0000_0000_0000), "x"))?,
        "m",
    ))?;
    let m = from_bits(cg, m)?;
    let kint = llvm(b.build_int_add(
        e,
        llvm(b.build_right_shift(carry, ki(cg, w, 52), false, "c"))?,
        "k",
    ))?;
    let kf = llvm(b.build_signed_int_to_float(kint, cg.vty(F64, w), "kf"))?;
    let kf = cg.fsub(kf, c(1023.0))?;
    let kf = cg.select(tiny, cg.fsub(kf, c(54.0))?, kf)?;
    let f = cg.fsub(m, c(1.0))?;
    let s = cg.fdiv(f, cg.fadd(f, c(2.0))?)?;
    let z = cg.fmul(s, s)?;
    // R = Σ 2 z^j / (2j + 1), j = 1..=10.
    let coeffs: Vec<f64> = (1..=10).map(|j| 2.0 / (2 * j + 1) as f64).collect();
    let r = cg.fmul(z, poly(cg, F64, &coeffs, z)?)?;
    let hfsq = cg.fmul(cg.fmul(f, f)?, c(0.5))?;
    let inner = cg.fma(s, cg.fadd(hfsq, r)?, cg.fmul(kf, c(LN2_LO))?)?;
    let y = cg.fma(kf, c(LN2_HI), cg.fsub(f, cg.fsub(hfsq, inner)?)?)?;
    let y = cg.select(cg.cmp(P::OEQ, x, c(f64::INFINITY))?, x, y)?;
    let y = cg.select(cg.cmp(P::OEQ, x, c(0.0))?, c(f64::NEG_INFINITY), y)?;
    let y = cg.select(cg.cmp(P::OLT, x, c(0.0))?, c(f64::NAN), y)?;
    cg.select(cg.cmp(P::UNO, x, x)?, x, y)
}

// From scripts/fit_erfc.py (degree 19 for G, 13 Taylor terms for erf).
const ERFC_K: f64 = 4.0;
const ERFC_A: f64 = 2.6277985074626864;
const ERFC_B: f64 = -0.3358208955223881;
const ERFC_G: [f64; 20] = [
    0.16160540818105715,
    0.06977133293075738,
    0.028870210100777623,
    0.011399677138914538,
    0.004271872635238406,
    0.0015083275273832816,
    0.0004968675199106168,
    0.00015046480896016806,
    4.109648649792959e-05,
    9.347432651093089e-06,
    2.1945707721851953e-06,
    -3.7137946562474127e-07,
    4.819621605484201e-07,
    -4.034399905908855e-07,
    2.0360344510185836e-07,
    -8.47040652845821e-08,
    2.3603125816731793e-08,
    -3.762082500466846e-09,
    2.952281073427843e-10,
    -7.4983218194626e-12,
];
const ERF_TAYLOR: [f64; 13] = [
    std::f64::consts::FRAC_2_SQRT_PI,
    -0.37612638903183754,
    0.11283791670955126,
    -0.026866170645131252,
    0.005223977625442188,
    -0.0008548327023450853,
    0.00012055332981789664,
    -1.492565035840625e-05,
    1.6462114365889248e-06,
    -1.6365844691234924e-07,
    1.4807192815879218e-08,
    -1.2290555301717928e-09,
    9.422759064650411e-11,
];

/// The complementary error function.
pub fn erfc<'ctx>(cg: &Cg<'ctx>, x: V<'ctx>) -> Res<V<'ctx>> {
    let w = width(x);
    let c = |v: f64| k(cg, w, v);
    let z = cg.intrinsic("llvm.fabs", &[x])?;
    let zz = cg.fmul(z, z)?;
    let near = cg.fsub(c(1.0), cg.fmul(z, poly(cg, F64, &ERF_TAYLOR, zz)?)?)?;
    // t = K / (K + z) rounds, which moves the point where erfcx is evaluated to z' = K/t - K;
    // z - z' = s_e - ρ/t from the exact errors of the sum (TwoSum) and of the division (FMA
    // residual ρ), and a first-order step erfcx(z) ≈ erfcx(z') (1 + L (z - z')), with
    // L = erfcx'/erfcx = 2z - 2/(√π erfcx), removes the ~4 ulp that rounding cost.
    let s = cg.fadd(z, c(ERFC_K))?;
    let bb = cg.fsub(s, c(ERFC_K))?;
    let s_e = cg.fadd(cg.fsub(c(ERFC_K), cg.fsub(s, bb)?)?, cg.fsub(z, bb)?)?;
    let t = cg.fdiv(c(ERFC_K), s)?;
    let rho = cg.intrinsic("llvm.fma", &[cg.fneg(t)?, s, c(ERFC_K)])?;
    let dz = cg.fsub(s_e, cg.fdiv(rho, t)?)?;
    let g = poly(cg, F64, &ERFC_G, cg.fma(t, c(ERFC_A), c(ERFC_B))?)?;
    let tg = cg.fmul(t, g)?;
    let l = cg.fsub(
        cg.fadd(z, z)?,
        cg.fdiv(c(std::f64::consts::FRAC_2_SQRT_PI), tg)?,
    )?;
    // exp(-z²) with z² = zz + e exactly.
    let e = cg.intrinsic("llvm.fma", &[z, z, cg.fneg(zz)?])?;
    let far = cg.fmul(tg, exp_split(cg, cg.fneg(zz)?, Some(cg.fneg(e)?))?)?;
    let far = cg.fma(far, cg.fmul(l, dz)?, far)?;
    let y = cg.select(cg.cmp(P::OLT, z, c(0.5))?, near, far)?;
    let y = cg.select(cg.cmp(P::OGT, z, c(27.3))?, c(0.0), y)?;
    let neg = cg.cmp(P::OLT, x, c(0.0))?;
    cg.select(neg, cg.fsub(c(2.0), y)?, y)
}

#[cfg(test)]
mod tests {
    //! Each function JIT-compiled on 4-lane vectors and compared with glibc on grids across its
    //! range and on random bit patterns.
    use super::*;
    use inkwell::context::Context;
    use inkwell::targets::{InitializationConfig, Target};
    use inkwell::OptimizationLevel;

    extern "C" {
        #[link_name = "erfc"]
        fn c_erfc(x: f64) -> f64;
    }

    type Emit = for<'c> fn(&Cg<'c>, V<'c>) -> Res<V<'c>>;

    /// Runs `emit` over `xs` (4 lanes per call).
    fn run(emit: Emit, xs: &[f64]) -> Vec<f64> {
        Target::initialize_native(&InitializationConfig::default()).unwrap();
        let ctx = Context::create();
        let cg = Cg::new(&ctx, "t");
        let ptr = cg.ptr();
        let f = cg.module.add_function(
            "f",
            ctx.void_type().fn_type(&[ptr.into(), ptr.into()], false),
            None,
        );
        cg.b.position_at_end(ctx.append_basic_block(f, "entry"));
        let (src, dst) = (
            f.get_nth_param(0).unwrap().into_pointer_value(),
            f.get_nth_param(1).unwrap().into_pointer_value(),
        );
        let x = cg.load_vec(F64, 4, src, cg.i64(0)).unwrap();
        let y = emit(&cg, x).unwrap();
        cg.store_vec(y, F64, dst, cg.i64(0)).unwrap();
        cg.b.build_return(None).unwrap();
        let engine = cg
            .module
            .create_jit_execution_engine(OptimizationLevel::Default)
            .unwrap();
        type F = unsafe extern "C" fn(*const f64, *mut f64);
        // SAFETY: `f` has exactly this signature and reads/writes 4 doubles.
        let func = unsafe { engine.get_function::<F>("f").unwrap() };
        let mut out = vec![0.0; xs.len()];
        for (i, o) in xs.chunks(4).zip(out.chunks_mut(4)) {
            let mut a = [0.0; 4];
            a[..i.len()].copy_from_slice(i);
            let mut b = [0.0; 4];
            // SAFETY: both arrays hold 4 doubles.
            unsafe { func.call(a.as_ptr(), b.as_mut_ptr()) };
            o.copy_from_slice(&b[..o.len()]);
        }
        out
    }

    /// Distance in units in the last place (0 for equal values or two NaNs).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        if a.is_nan() != b.is_nan() {
            return u64::MAX;
        }
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 {
                i64::MIN - i
            } else {
                i
            }
        };
        (key(a) as i128 - key(b) as i128)
            .unsigned_abs()
            .min(u64::MAX as u128) as u64
    }

    fn max_ulps(emit: Emit, reference: fn(f64) -> f64, xs: &[f64]) -> (u64, f64) {
        let got = run(emit, xs);
        xs.iter()
            .zip(&got)
            .map(|(&x, &g)| (ulps(g, reference(x)), x))
            .max_by_key(|p| p.0)
            .unwrap()
    }

    fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect()
    }

    /// Deterministic pseudo-random doubles from their bit patterns (xorshift).
    fn random_bits(n: usize, keep: impl Fn(f64) -> bool) -> Vec<f64> {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if keep(x) {
                v.push(x);
            }
        }
        v
    }

    #[test]
    fn exp_is_within_one_ulp_of_libm() {
        let mut xs = grid(-745.5, 710.0, 400_001);
        xs.extend(grid(-1.0, 1.0, 100_001));
        xs.extend(random_bits(100_000, |x| x.abs() < 800.0));
        let (u, at) = max_ulps(exp, f64::exp, &xs);
        assert!(u <= 1, "exp: {u} ulp at {at:e}");
        let special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300];
        let got = run(exp, &special);
        assert!(got[0].is_nan());
        assert_eq!(&got[1..], &[f64::INFINITY, 0.0, f64::INFINITY, 0.0]);
    }

    #[test]
    fn log_is_within_one_ulp_of_libm() {
        let mut xs = random_bits(300_000, |x| x > 0.0 && x.is_finite());
        xs.extend(grid(0.5, 2.0, 200_001));
        xs.extend((1..1000).map(|i| 1.0 + i as f64 * f64::EPSILON));
        xs.extend((1..1000).map(|i| 1.0 - i as f64 * f64::EPSILON / 2.0));
        xs.extend([f64::MIN_POSITIVE, 5e-324, f64::MAX, 1e-7, 1.0 - 1e-7]);
        let (u, at) = max_ulps(log, f64::ln, &xs);
        assert!(u <= 1, "log: {u} ulp at {at:e}");
        let got = run(log, &[0.0, -1.0, f64::INFINITY, f64::NAN, -0.0, 1.0]);
        assert_eq!(got[0], f64::NEG_INFINITY);
        assert!(got[1].is_nan() && got[3].is_nan());
        assert_eq!(got[2], f64::INFINITY);
        assert_eq!(got[4], f64::NEG_INFINITY);
        assert_eq!(got[5], 0.0);
    }

    #[test]
    fn erfc_is_within_eight_ulp_of_libm() {
        // SAFETY: glibc's erfc is a pure function.
        let reference: fn(f64) -> f64 = |x| unsafe { c_erfc(x) };
        let mut xs = grid(-6.0, 27.5, 600_001);
        xs.extend(grid(0.45, 0.55, 20_001));
        xs.extend(grid(-0.55, -0.45, 20_001));
        xs.extend(random_bits(100_000, |x| x.abs() < 30.0));
        let (u, at) = max_ulps(erfc, reference, &xs);
        eprintln!("erfc: max {u} ulp at {at:e}");
        assert!(u <= 8, "erfc: {u} ulp at {at:e}");
        let got = run(
            erfc,
            &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, 1e300],
        );
        assert!(got[0].is_nan());
        assert_eq!(&got[1..], &[0.0, 2.0, 1.0, 0.0]);
    }
}
