//! The closed set of operations. Every `match` over [`Op`] (verify, print, interp, codegen) is
//! exhaustive, so adding an op shows every place that must learn about it.

use crate::types::{DType, Type};
use thiserror::Error;

/// A shape or parameter mismatch found while typing an op.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("{0}")]
pub struct OpError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, OpError> {
    Err(OpError(msg.into()))
}

/// Elementwise functions: Keras activations and the numpy ufuncs of FunctionTransformer.
#[derive(Clone, Debug, PartialEq)]
pub enum UnaryOp {
    Identity,
    /// Keras' general ReLU: `x > threshold ? x : 0`, clipped to `[0, max_value]` when given,
    /// minus `negative_slope * max(threshold - x, 0)`.
    Relu {
        max_value: Option<f64>,
        negative_slope: f64,
        threshold: f64,
    },
    Elu {
        alpha: f64,
    },
    Selu,
    Sigmoid,
    /// Keras 3: `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `x * hard_sigmoid(x)`.
    HardSilu,
    Tanh,
    Softplus,
    Softsign,
    /// `x * sigmoid(x)` (Keras `swish` and `silu`).
    Silu,
    /// Exact GELU, `0.5 x (1 + erf(x / sqrt 2))`.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    Exp,
    Mish,
    /// `clip(x, -1, 1)`.
    HardTanh,
    /// `-softplus(-x)`.
    LogSigmoid,
    /// `x - 0.5` above 0.5, `x + 0.5` below -0.5, else 0 (Keras' default threshold).
    SoftShrink,
    /// `x` where `|x| > 0.5`, else 0.
    HardShrink,
    /// `x - tanh(x)`.
    TanhShrink,
    /// `(x + sqrt(x² + 4)) / 2`.
    Squareplus,
    /// 0 for x ≤ -1, x for x ≥ 1, `(x + 1)² / 4` between.
    SparsePlus,
    /// 0 for x ≤ -1, 1 for x ≥ 1, `(x + 1) / 2` between.
    SparseSigmoid,
    Log,
    Log1p,
    Expm1,
    Log2,
    Log10,
    Exp2,
    Sqrt,
    Cbrt,
    Square,
    Abs,
    Neg,
    Reciprocal,
    Sin,
    Cos,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Arcsinh,
    Arccosh,
    Arctanh,
    /// Standard normal CDF (scipy `ndtr`).
    NormalCdf,
    /// Standard normal quantile function (scipy `ndtri`).
    NormalPpf,
}

impl UnaryOp {
    /// The name used by the printer (and the parser).
    pub fn name(&self) -> String {
        use UnaryOp::*;
        match self {
            Identity => "identity".into(),
            Relu {
                max_value,
                negative_slope,
                threshold,
            } => {
                let mut s = String::from("relu");
                if let Some(m) = max_value {
                    s += &format!("(max={m})");
                }
                if *negative_slope != 0.0 {
                    s += &format!("(slope={negative_slope})");
                }
                if *threshold != 0.0 {
                    s += &format!("(threshold={threshold})");
                }
                s
            }
            Elu { alpha } => format!("elu(alpha={alpha})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// True for `Identity`, which codegen and passes may drop.
    pub fn is_identity(&self) -> bool {
        matches!(self, UnaryOp::Identity)
    }
}

/// Elementwise binary operations between two values of one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Max,
    Min,
}

impl BinaryOp {
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
        }
    }
}

/// Output distribution of a QuantileTransformer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    Uniform,
    Normal,
}

/// PowerTransformer method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerMethod {
    YeoJohnson,
    BoxCox,
}

/// One column's sorted quantile table of a QuantileTransformer.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantileColumn {
    pub quantiles: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Parameter `index` of the function (always f32, the ABI's type).
    Param {
        index: usize,
    },
    /// Precision change.
    Cast {
        to: DType,
    },
    /// `activation(x · kernel + bias)`; `kernel` is `inputs × units`, row-major (Keras' layout).
    Dense {
        units: usize,
        kernel: Vec<f64>,
        bias: Option<Vec<f64>>,
        activation: UnaryOp,
    },
    /// A skip connection fused into its Dense: `activation(x · kernel + bias) + r`, with
    /// arguments `[x, r]` (made by the `fuse-residual` pass from Dense → Add).
    Residual {
        units: usize,
        kernel: Vec<f64>,
        bias: Option<Vec<f64>>,
        activation: UnaryOp,
    },
    Unary(UnaryOp),
    Binary(BinaryOp),
    /// `x * scale + shift`, per column: every linear scaler and BatchNormalization.
    Affine {
        scale: Vec<f64>,
        shift: Vec<f64>,
    },
    /// `(x - mean) / scale`, per column, computed exactly so (not folded into an affine map):
    /// scikit-learn's scalers round this way, and a QuantileTransformer after them must see the
    /// very same values to find its ties.
    Standardize {
        mean: Vec<f64>,
        scale: Vec<f64>,
    },
    /// Concatenation of all arguments, in order.
    Concat,
    /// `y[i] = x[indices[i]]`: column selection and reordering.
    Gather {
        indices: Vec<usize>,
    },
    Softmax,
    LogSoftmax,
    /// Parametric ReLU with one slope per column.
    PRelu {
        alpha: Vec<f64>,
    },
    /// Clamp to `[lo, hi]` (MinMaxScaler with `clip=True`).
    Clip {
        lo: f64,
        hi: f64,
    },
    /// QuantileTransformer on every column of its argument, forward or inverse, in f64.
    Quantile {
        distribution: Distribution,
        inverse: bool,
        references: Vec<f64>,
        columns: Vec<QuantileColumn>,
        /// The references are exactly `numpy.linspace(0, 1, n)`: code computes them instead of
        /// loading a table (set by the `unroll-quantile` pass after checking every value).
        linspace: bool,
    },
    /// Calls another function of the module (an exported sub-step) on f32 arguments; the
    /// result is the callee's f32 output. The verifier checks the callee's signature.
    Call {
        callee: String,
        result_len: usize,
    },
    /// PowerTransformer's per-column transform (without the standardising scaler).
    Power {
        method: PowerMethod,
        inverse: bool,
        lambdas: Vec<f64>,
    },
}

impl Op {
    /// The printed mnemonic.
    pub fn mnemonic(&self) -> &'static str {
        match self {
            Op::Param { .. } => "param",
            Op::Cast { .. } => "cast",
            Op::Dense { .. } => "dense",
            Op::Residual { .. } => "residual",
            Op::Unary(_) => "unary",
            Op::Binary(b) => b.name(),
            Op::Affine { .. } => "affine",
            Op::Standardize { .. } => "standardize",
            Op::Concat => "concat",
            Op::Gather { .. } => "gather",
            Op::Softmax => "softmax",
            Op::LogSoftmax => "log_softmax",
            Op::PRelu { .. } => "prelu",
            Op::Clip { .. } => "clip",
            Op::Quantile { .. } => "quantile",
            Op::Power { .. } => "power",
            Op::Call { .. } => "call",
        }
    }

    /// Number of scalars of constant data the op carries (weights, tables).
    pub fn constant_count(&self) -> usize {
        match self {
            Op::Dense { kernel, bias, .. } | Op::Residual { kernel, bias, .. } => {
                kernel.len() + bias.as_ref().map_or(0, Vec::len)
            }
            Op::Affine { scale, shift } => scale.len() + shift.len(),
            Op::Standardize { mean, scale } => mean.len() + scale.len(),
            Op::Gather { indices } => indices.len(),
            Op::PRelu { alpha } => alpha.len(),
            Op::Quantile {
                references,
                columns,
                ..
            } => references.len() + columns.iter().map(|c| c.quantiles.len()).sum::<usize>(),
            Op::Power { lambdas, .. } => lambdas.len(),
            _ => 0,
        }
    }

    /// Infers the result type from the argument types. `Param` is typed by its function.
    pub fn infer(&self, args: &[Type]) -> Result<Type, OpError> {
        let one = || -> Result<Type, OpError> {
            match args {
                [a] => Ok(*a),
                _ => err(format!(
                    "{} takes 1 argument, got {}",
                    self.mnemonic(),
                    args.len()
                )),
            }
        };
        let per_column = |what: &str, n: usize| -> Result<Type, OpError> {
            let a = one()?;
            if n != a.len {
                return err(format!(
                    "{}: {what} has {n} entries for an input of width {}",
                    self.mnemonic(),
                    a.len
                ));
            }
            Ok(a)
        };
        match self {
            Op::Param { .. } => err("param is typed by its function"),
            Op::Cast { to } => Ok(Type {
                dtype: *to,
                ..one()?
            }),
            Op::Dense {
                units,
                kernel,
                bias,
                ..
            } => {
                let a = one()?;
                if kernel.len() != a.len * units {
                    return err(format!(
                        "dense: kernel has {} values, expected {} inputs x {units} units = {}",
                        kernel.len(),
                        a.len,
                        a.len * units
                    ));
                }
                if let Some(b) = bias {
                    if b.len() != *units {
                        return err(format!(
                            "dense: bias has {} values, expected {units}",
                            b.len()
                        ));
                    }
                }
                Ok(a.with_len(*units))
            }
            Op::Residual {
                units,
                kernel,
                bias,
                ..
            } => match args {
                [x, r] => {
                    let y = Op::Dense {
                        units: *units,
                        kernel: kernel.clone(),
                        bias: bias.clone(),
                        activation: UnaryOp::Identity,
                    }
                    .infer(&[*x])?;
                    if *r != y {
                        return err(format!(
                            "residual: the skip input is {r}, the layer gives {y}"
                        ));
                    }
                    Ok(y)
                }
                _ => err(format!("residual takes 2 arguments, got {}", args.len())),
            },
            Op::Unary(_) | Op::Softmax | Op::LogSoftmax | Op::Clip { .. } => one(),
            Op::Binary(b) => match args {
                [x, y] if x == y => Ok(*x),
                [x, y] => err(format!("{}: operands differ: {x} and {y}", b.name())),
                _ => err(format!(
                    "{} takes 2 arguments, got {}",
                    b.name(),
                    args.len()
                )),
            },
            Op::Affine { scale, shift } => {
                if scale.len() != shift.len() {
                    return err(format!(
                        "affine: {} scales but {} shifts",
                        scale.len(),
                        shift.len()
                    ));
                }
                per_column("scale", scale.len())
            }
            Op::Standardize { mean, scale } => {
                if mean.len() != scale.len() {
                    return err(format!(
                        "standardize: {} means but {} scales",
                        mean.len(),
                        scale.len()
                    ));
                }
                per_column("mean", mean.len())
            }
            Op::Concat => {
                let first = args
                    .first()
                    .ok_or_else(|| OpError("concat of nothing".into()))?;
                if let Some(bad) = args.iter().find(|t| t.dtype != first.dtype) {
                    return err(format!("concat mixes {first} and {bad}"));
                }
                Ok(first.with_len(args.iter().map(|t| t.len).sum()))
            }
            Op::Gather { indices } => {
                let a = one()?;
                if let Some(i) = indices.iter().find(|&&i| i >= a.len) {
                    return err(format!(
                        "gather: column {i} out of range for width {}",
                        a.len
                    ));
                }
                Ok(a.with_len(indices.len()))
            }
            Op::PRelu { alpha } => per_column("alpha", alpha.len()),
            Op::Quantile {
                references,
                columns,
                ..
            } => {
                let a = per_column("columns", columns.len())?;
                if a.dtype != DType::F64 {
                    return err("quantile: runs in f64 only");
                }
                if references.len() < 2 {
                    return err("quantile: needs at least 2 references");
                }
                for (i, c) in columns.iter().enumerate() {
                    if c.quantiles.len() != references.len() {
                        return err(format!(
                            "quantile: column {i} has {} quantiles for {} references",
                            c.quantiles.len(),
                            references.len()
                        ));
                    }
                }
                Ok(a)
            }
            Op::Power { lambdas, .. } => per_column("lambdas", lambdas.len()),
            Op::Call { callee, result_len } => {
                if let Some(bad) = args.iter().find(|t| t.dtype != DType::F32) {
                    return err(format!(
                        "call {callee}: arguments cross the C ABI as f32, got {bad}"
                    ));
                }
                Ok(Type::f32(*result_len))
            }
        }
    }
}
