//! Reference interpreter: evaluates a function one row at a time, in f64 arithmetic rounded to
//! each node's precision after every op. It defines what the IR means; codegen and passes are
//! tested against it and against the fixtures made by Keras and scikit-learn.

use crate::func::{Function, Module};
use crate::op::{BinaryOp, Distribution, Op, PowerMethod, UnaryOp};
use crate::special::{normal_cdf, normal_ppf};

/// scikit-learn's `BOUNDS_THRESHOLD` in QuantileTransformer.
pub const BOUNDS_THRESHOLD: f64 = 1e-7;

/// The normal output is clipped to `ppf(1e-7 - eps)` and `ppf(1 - (1e-7 - eps))`, as sklearn does,
/// so that the inverse transform stays consistent.
pub fn quantile_normal_clip() -> (f64, f64) {
    let t = BOUNDS_THRESHOLD - f64::EPSILON;
    (normal_ppf(t), normal_ppf(1.0 - t))
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl UnaryOp {
    /// The scalar meaning of the op.
    pub fn eval(&self, x: f64) -> f64 {
        use UnaryOp::*;
        match self {
            Identity => x,
            Relu {
                max_value,
                negative_slope,
                threshold,
            } => {
                if x.is_nan() {
                    // NaN propagates, as tf.nn.relu and the generated code do.
                    return x;
                }
                let mut pos = if *threshold != 0.0 {
                    if x > *threshold {
                        x
                    } else {
                        0.0
                    }
                } else {
                    x.max(0.0)
                };
                if let Some(m) = max_value {
                    pos = pos.clamp(0.0, *m);
                }
                if *negative_slope != 0.0 {
                    pos - negative_slope * (threshold - x).max(0.0)
                } else {
                    pos
                }
            }
            Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Selu => {
                const ALPHA: f64 = 1.673_263_242_354_377_3;
                const SCALE: f64 = 1.050_700_987_355_480_5;
                if x > 0.0 {
                    SCALE * x
                } else {
                    SCALE * ALPHA * x.exp_m1()
                }
            }
            Sigmoid => sigmoid(x),
            HardSigmoid => ((x + 3.0).clamp(0.0, 6.0)) / 6.0,
            HardSilu => x * ((x + 3.0).clamp(0.0, 6.0)) / 6.0,
            Tanh => x.tanh(),
            Softplus => softplus(x),
            Softsign => x / (1.0 + x.abs()),
            Silu => x * sigmoid(x),
            Gelu => 0.5 * x * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2)),
            GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Exp => x.exp(),
            Mish => x * softplus(x).tanh(),
            HardTanh => {
                if x.is_nan() {
                    x
                } else {
                    x.clamp(-1.0, 1.0)
                }
            }
            LogSigmoid => -softplus(-x),
            SoftShrink => {
                if x > 0.5 {
                    x - 0.5
                } else if x < -0.5 {
                    x + 0.5
                } else if x.is_nan() {
                    x
                } else {
                    0.0
                }
            }
            HardShrink => {
                if x.abs() > 0.5 || x.is_nan() {
                    x
                } else {
                    0.0
                }
            }
            TanhShrink => x - x.tanh(),
            Squareplus => (x + (x * x + 4.0).sqrt()) / 2.0,
            SparsePlus => {
                if x <= -1.0 {
                    0.0
                } else if x < 1.0 {
                    0.25 * (x + 1.0) * (x + 1.0)
                } else {
                    x
                }
            }
            SparseSigmoid => {
                if x <= -1.0 {
                    0.0
                } else if x >= 1.0 {
                    1.0
                } else {
                    0.5 * (x + 1.0)
                }
            }
            Log => x.ln(),
            Log1p => x.ln_1p(),
            Expm1 => x.exp_m1(),
            Log2 => x.log2(),
            Log10 => x.log10(),
            Exp2 => x.exp2(),
            Sqrt => x.sqrt(),
            Cbrt => x.cbrt(),
            Square => x * x,
            Abs => x.abs(),
            Neg => -x,
            Reciprocal => 1.0 / x,
            Sin => x.sin(),
            Cos => x.cos(),
            Tan => x.tan(),
            Arcsin => x.asin(),
            Arccos => x.acos(),
            Arctan => x.atan(),
            Sinh => x.sinh(),
            Cosh => x.cosh(),
            Arcsinh => x.asinh(),
            Arccosh => x.acosh(),
            Arctanh => x.atanh(),
            NormalCdf => normal_cdf(x),
            NormalPpf => normal_ppf(x),
        }
    }
}

impl BinaryOp {
    pub fn eval(self, a: f64, b: f64) -> f64 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            // NaN propagates, as in numpy.maximum / tf.maximum.
            BinaryOp::Max => {
                if a.is_nan() || b.is_nan() {
                    f64::NAN
                } else {
                    a.max(b)
                }
            }
            BinaryOp::Min => {
                if a.is_nan() || b.is_nan() {
                    f64::NAN
                } else {
                    a.min(b)
                }
            }
        }
    }
}

/// `numpy.interp(x, xp, fp)` for increasing `xp` (ties allowed), bit for bit: the interval is
/// the `j` with `xp[j] <= x < xp[j+1]`, so a tie run resolves to its last entry.
pub fn np_interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if x.is_nan() {
        return x;
    }
    if x < xp[0] {
        return fp[0];
    }
    if x > xp[n - 1] {
        return fp[n - 1];
    }
    if x == xp[n - 1] {
        return fp[n - 1];
    }
    // Largest j with xp[j] <= x (j < n-1 here since x < xp[n-1]).
    let j = xp.partition_point(|&v| v <= x) - 1;
    if xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut y = slope * (x - xp[j]) + fp[j];
    if y.is_nan() {
        y = slope * (x - xp[j + 1]) + fp[j + 1];
        if y.is_nan() && fp[j] == fp[j + 1] {
            y = fp[j];
        }
    }
    y
}

/// scikit-learn's `QuantileTransformer._transform_col` for one value.
pub fn quantile_value(
    x: f64,
    quantiles: &[f64],
    references: &[f64],
    distribution: Distribution,
    inverse: bool,
) -> f64 {
    let n = quantiles.len();
    if !inverse {
        let (lo, hi) = (quantiles[0], quantiles[n - 1]);
        let (below, above) = match distribution {
            Distribution::Normal => (x - BOUNDS_THRESHOLD < lo, x + BOUNDS_THRESHOLD > hi),
            Distribution::Uniform => (x == lo, x == hi),
        };
        let mut y = if x.is_nan() {
            x
        } else {
            let up = np_interp(x, quantiles, references);
            let neg_q: Vec<f64> = quantiles.iter().rev().map(|v| -v).collect();
            let neg_r: Vec<f64> = references.iter().rev().map(|v| -v).collect();
            let down = np_interp(-x, &neg_q, &neg_r);
            0.5 * (up - down)
        };
        if above {
            y = 1.0;
        }
        if below {
            y = 0.0;
        }
        match distribution {
            Distribution::Normal => {
                let (cmin, cmax) = quantile_normal_clip();
                let z = normal_ppf(y);
                if z.is_nan() {
                    z
                } else {
                    z.clamp(cmin, cmax)
                }
            }
            Distribution::Uniform => y,
        }
    } else {
        let u = match distribution {
            Distribution::Normal => normal_cdf(x),
            Distribution::Uniform => x,
        };
        let (below, above) = match distribution {
            Distribution::Normal => (u - BOUNDS_THRESHOLD < 0.0, u + BOUNDS_THRESHOLD > 1.0),
            Distribution::Uniform => (u == 0.0, u == 1.0),
        };
        let mut y = np_interp(u, references, quantiles);
        if above {
            y = quantiles[n - 1];
        }
        if below {
            y = quantiles[0];
        }
        y
    }
}

/// PowerTransformer's per-column transform, as scikit-learn (and scipy's boxcox) compute it.
pub fn power_value(x: f64, lambda: f64, method: PowerMethod, inverse: bool) -> f64 {
    let eps = f64::EPSILON;
    match (method, inverse) {
        // scipy's `_yeojohnson_transform` (what scikit-learn calls): expm1/log1p, not pow.
        (PowerMethod::YeoJohnson, false) => {
            if x >= 0.0 {
                if lambda.abs() < eps {
                    x.ln_1p()
                } else {
                    (lambda * x.ln_1p()).exp_m1() / lambda
                }
            } else if (lambda - 2.0).abs() > eps {
                -((2.0 - lambda) * (-x).ln_1p()).exp_m1() / (2.0 - lambda)
            } else {
                -(-x).ln_1p()
            }
        }
        (PowerMethod::YeoJohnson, true) => {
            if x >= 0.0 {
                if lambda.abs() < eps {
                    x.exp() - 1.0
                } else {
                    (x * lambda + 1.0).powf(1.0 / lambda) - 1.0
                }
            } else if (lambda - 2.0).abs() > eps {
                1.0 - (-(2.0 - lambda) * x + 1.0).powf(1.0 / (2.0 - lambda))
            } else {
                1.0 - (-x).exp()
            }
        }
        // scipy.special.boxcox switches to log below |lambda| < 1e-19.
        (PowerMethod::BoxCox, false) => {
            if lambda.abs() < 1e-19 {
                x.ln()
            } else {
                (lambda * x.ln()).exp_m1() / lambda
            }
        }
        (PowerMethod::BoxCox, true) => {
            if lambda == 0.0 {
                x.exp()
            } else {
                ((lambda * x).ln_1p() / lambda).exp()
            }
        }
    }
}

/// Evaluates function `name` of `m` on one row (calls into other functions of `m` resolve).
pub fn run_module(m: &Module, name: &str, inputs: &[&[f32]]) -> Result<Vec<f64>, String> {
    let f = m
        .function(name)
        .ok_or_else(|| format!("no function `{name}`"))?;
    let wide: Vec<Vec<f64>> = inputs
        .iter()
        .map(|x| x.iter().map(|&v| v as f64).collect())
        .collect();
    let refs: Vec<&[f64]> = wide.iter().map(Vec::as_slice).collect();
    eval(Some(m), f, &refs)
}

/// Evaluates `f` on one row. `inputs[i]` is parameter `i`. Returns the result as f64 values
/// (already rounded to the result's precision). `f` must not call other functions.
pub fn run(f: &Function, inputs: &[&[f32]]) -> Result<Vec<f64>, String> {
    let wide: Vec<Vec<f64>> = inputs
        .iter()
        .map(|x| x.iter().map(|&v| v as f64).collect())
        .collect();
    let refs: Vec<&[f64]> = wide.iter().map(Vec::as_slice).collect();
    run_f64(f, &refs)
}

/// As [`run`], but parameters take f64 values as given (not rounded to f32): for testing
/// f64 steps against scikit-learn on its own float64 data.
pub fn run_f64(f: &Function, inputs: &[&[f64]]) -> Result<Vec<f64>, String> {
    eval(None, f, inputs)
}

fn eval(m: Option<&Module>, f: &Function, inputs: &[&[f64]]) -> Result<Vec<f64>, String> {
    if inputs.len() != f.params.len() {
        return Err(format!(
            "`{}` takes {} inputs, got {}",
            f.name,
            f.params.len(),
            inputs.len()
        ));
    }
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(f.nodes.len());
    for node in &f.nodes {
        let arg = |k: usize| -> &[f64] { &values[node.args[k].index()] };
        let dt = node.ty.dtype;
        let out: Vec<f64> = match &node.op {
            Op::Param { index } => {
                let x = inputs[*index];
                if x.len() != f.params[*index].len {
                    return Err(format!(
                        "input {index} has {} values, expected {}",
                        x.len(),
                        f.params[*index].len
                    ));
                }
                x.to_vec()
            }
            Op::Cast { .. } => arg(0).to_vec(),
            Op::Dense {
                units,
                kernel,
                bias,
                activation,
            }
            | Op::Residual {
                units,
                kernel,
                bias,
                activation,
            } => {
                let x = arg(0);
                let residual = matches!(node.op, Op::Residual { .. }).then(|| arg(1));
                (0..*units)
                    .map(|j| {
                        let mut acc = bias.as_ref().map_or(0.0, |b| dt.round(b[j]));
                        for (i, xi) in x.iter().enumerate() {
                            acc += xi * dt.round(kernel[i * units + j]);
                        }
                        let y = activation.eval(dt.round(acc));
                        match residual {
                            Some(r) => dt.round(y) + r[j],
                            None => y,
                        }
                    })
                    .collect()
            }
            Op::Unary(u) => arg(0).iter().map(|&x| u.eval(x)).collect(),
            Op::Binary(b) => arg(0)
                .iter()
                .zip(arg(1))
                .map(|(&x, &y)| b.eval(x, y))
                .collect(),
            Op::Affine { scale, shift } => arg(0)
                .iter()
                .enumerate()
                .map(|(i, &x)| x * dt.round(scale[i]) + dt.round(shift[i]))
                .collect(),
            Op::Standardize { mean, scale } => arg(0)
                .iter()
                .enumerate()
                .map(|(i, &x)| (x - dt.round(mean[i])) / dt.round(scale[i]))
                .collect(),
            Op::Concat => node
                .args
                .iter()
                .flat_map(|a| values[a.index()].iter().copied())
                .collect(),
            Op::Gather { indices } => indices.iter().map(|&i| arg(0)[i]).collect(),
            Op::Softmax | Op::LogSoftmax => {
                let x = arg(0);
                let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = x.iter().map(|&v| (v - m).exp()).sum();
                if matches!(node.op, Op::Softmax) {
                    x.iter().map(|&v| (v - m).exp() / sum).collect()
                } else {
                    x.iter().map(|&v| v - m - sum.ln()).collect()
                }
            }
            Op::PRelu { alpha } => arg(0)
                .iter()
                .zip(alpha)
                .map(|(&x, &a)| if x >= 0.0 { x } else { dt.round(a) * x })
                .collect(),
            Op::Clip { lo, hi } => arg(0)
                .iter()
                .map(|&x| if x.is_nan() { x } else { x.clamp(*lo, *hi) })
                .collect(),
            Op::Quantile {
                distribution,
                inverse,
                references,
                columns,
                ..
            } => arg(0)
                .iter()
                .zip(columns)
                .map(|(&x, c)| quantile_value(x, &c.quantiles, references, *distribution, *inverse))
                .collect(),
            Op::Call { callee, .. } => {
                let m = m.ok_or_else(|| {
                    format!("`{}` calls `{callee}`: evaluate it with run_module", f.name)
                })?;
                let g = m
                    .function(callee)
                    .ok_or_else(|| format!("no function `{callee}`"))?;
                // Arguments cross the C ABI as f32.
                let args: Vec<Vec<f64>> = node
                    .args
                    .iter()
                    .map(|a| values[a.index()].iter().map(|&v| v as f32 as f64).collect())
                    .collect();
                let refs: Vec<&[f64]> = args.iter().map(Vec::as_slice).collect();
                eval(Some(m), g, &refs)?
            }
            Op::Power {
                method,
                inverse,
                lambdas,
            } => arg(0)
                .iter()
                .zip(lambdas)
                .map(|(&x, &l)| power_value(x, l, *method, *inverse))
                .collect(),
        };
        if matches!(node.op, Op::Param { .. }) {
            values.push(out);
        } else {
            values.push(out.into_iter().map(|v| dt.round(v)).collect());
        }
    }
    let r = f.result.ok_or("function has no result")?;
    Ok(values[r.index()].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_matches_numpy_on_ties() {
        let xp = [0.0, 1.0, 1.0, 1.0, 2.0];
        let fp = [0.0, 0.25, 0.5, 0.75, 1.0];
        // numpy.interp(1.0, xp, fp) == 0.75 (last of the tie run)
        assert_eq!(np_interp(1.0, &xp, &fp), 0.75);
        assert_eq!(np_interp(1.5, &xp, &fp), 0.875);
        assert_eq!(np_interp(-1.0, &xp, &fp), 0.0);
        assert_eq!(np_interp(3.0, &xp, &fp), 1.0);
    }

    #[test]
    fn quantile_tie_maps_to_middle_of_plateau() {
        let q = [0.0, 1.0, 1.0, 1.0, 2.0];
        let r = [0.0, 0.25, 0.5, 0.75, 1.0];
        let y = quantile_value(1.0, &q, &r, Distribution::Uniform, false);
        assert_eq!(y, 0.5);
    }
}
