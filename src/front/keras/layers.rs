//! One Keras layer config (+ its variables) → a [`LayerKind`]. The registry of supported classes
//! and activations lives here; everything else is refused with the list of what is supported.

use super::config::Cfg;
use super::weights::Tensor;
use super::LayerError;
use lamarrc_ir::UnaryOp;
use serde_json::Value;

/// The widest row accepted (inputs, units): far above any physics model, low enough that a
/// hostile file cannot make us allocate terabytes.
pub const MAX_WIDTH: usize = 1 << 24;

/// Layer classes we read. Keep in sync with [`parse`].
pub const SUPPORTED_LAYERS: &str = "InputLayer, Dense, Activation, ReLU, LeakyReLU, PReLU, ELU, \
Softmax, Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, BatchNormalization, \
Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization, \
Identity, Flatten, Reshape (1-D), Sequential, Functional";

/// Activation names accepted by Keras 3 that we compile. Keep in sync with [`activation`].
pub const SUPPORTED_ACTIVATIONS: &str = "linear, relu, relu6, leaky_relu, elu, celu (alpha=1), \
selu, sigmoid, hard_sigmoid, hard_silu, hard_swish, tanh, softmax, log_softmax, softplus, \
softsign, swish, silu, gelu, exponential, mish, hard_tanh, log_sigmoid, soft_shrink, \
hard_shrink, tanh_shrink, squareplus, sparse_plus, sparse_sigmoid (glu and sparsemax change the \
width and are not supported)";

/// An activation: elementwise, or one of the row-wise normalisations.
#[derive(Clone, Debug, PartialEq)]
pub enum Activation {
    Unary(UnaryOp),
    Softmax,
    LogSoftmax,
}

impl Activation {
    pub fn describe(&self) -> String {
        match self {
            Activation::Unary(u) => u.name(),
            Activation::Softmax => "softmax".into(),
            Activation::LogSoftmax => "log_softmax".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
}

#[derive(Clone, Debug)]
pub enum LayerKind {
    Input {
        len: usize,
    },
    Dense {
        units: usize,
        kernel: Tensor,
        bias: Option<Tensor>,
        activation: Activation,
    },
    Activation(Activation),
    PRelu {
        alpha: Tensor,
    },
    /// BatchNormalization at inference, already reduced to `x * scale + shift`.
    BatchNorm {
        scale: Vec<f64>,
        shift: Vec<f64>,
    },
    Merge(Merge),
    /// Layers that do nothing at inference (Dropout & co) or on 1-D rows (Flatten).
    Identity,
    Reshape {
        target: Vec<usize>,
    },
    Model(Box<super::graph::Graph>),
}

/// Parses an activation as Keras serialises it: a name, or `{"class_name": "function",
/// "config": name}` in some versions.
pub fn activation(v: Option<&Value>) -> Result<Activation, LayerError> {
    let name = match v {
        None | Some(Value::Null) => "linear",
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o
            .get("config")
            .and_then(Value::as_str)
            .or_else(|| o.get("registered_name").and_then(Value::as_str))
            .ok_or_else(|| LayerError::Config("activation is an object without a name".into()))?,
        Some(other) => {
            return Err(LayerError::Config(format!(
                "activation must be a name, got {other}"
            )))
        }
    };
    use UnaryOp as U;
    let relu = |max_value, negative_slope| U::Relu {
        max_value,
        negative_slope,
        threshold: 0.0,
    };
    Ok(Activation::Unary(match name {
        "linear" | "identity" | "None" => U::Identity,
        "relu" => relu(None, 0.0),
        "relu6" => relu(Some(6.0), 0.0),
        // keras.activations.leaky_relu defaults to negative_slope=0.2.
        "leaky_relu" => relu(None, 0.2),
        "elu" => U::Elu { alpha: 1.0 },
        // celu(x, alpha=1) is elu(x, alpha=1).
        "celu" => U::Elu { alpha: 1.0 },
        "selu" => U::Selu,
        "sigmoid" => U::Sigmoid,
        "hard_sigmoid" => U::HardSigmoid,
        "hard_silu" | "hard_swish" => U::HardSilu,
        "tanh" => U::Tanh,
        "softplus" => U::Softplus,
        "softsign" => U::Softsign,
        "swish" | "silu" => U::Silu,
        // keras.activations.gelu defaults to approximate=False (the erf form).
        "gelu" => U::Gelu,
        "exponential" => U::Exp,
        "mish" => U::Mish,
        "hard_tanh" => U::HardTanh,
        "log_sigmoid" => U::LogSigmoid,
        "soft_shrink" => U::SoftShrink,
        "hard_shrink" => U::HardShrink,
        "tanh_shrink" => U::TanhShrink,
        "squareplus" => U::Squareplus,
        "sparse_plus" => U::SparsePlus,
        "sparse_sigmoid" => U::SparseSigmoid,
        "softmax" => return Ok(Activation::Softmax),
        "log_softmax" => return Ok(Activation::LogSoftmax),
        other => {
            return Err(LayerError::Unsupported {
                what: format!("activation `{other}`"),
                supported: SUPPORTED_ACTIVATIONS.into(),
            })
        }
    }))
}

fn expect_vars(vars: &[Tensor], path: &str, n: usize) -> Result<(), LayerError> {
    if vars.len() < n {
        return Err(LayerError::MissingWeight {
            path: format!("{path}/vars/{}", vars.len()),
        });
    }
    if vars.len() > n {
        return Err(LayerError::Config(format!(
            "`{path}/vars` holds {} variables, expected {n} for this configuration",
            vars.len()
        )));
    }
    Ok(())
}

fn expect_shape(t: &Tensor, path: String, expected: &[usize]) -> Result<(), LayerError> {
    if t.shape != expected {
        return Err(LayerError::WeightShape {
            path,
            expected: expected.to_vec(),
            found: t.shape.clone(),
        });
    }
    Ok(())
}

/// The width of a 1-D row shape `[null, n]` (or `[n]`).
pub fn row_width(shape: &Value) -> Result<usize, LayerError> {
    let dims: Vec<&Value> = shape
        .as_array()
        .ok_or_else(|| LayerError::Config(format!("shape must be a list, got {shape}")))?
        .iter()
        .collect();
    let dims: Vec<&Value> = match dims.first() {
        Some(Value::Null) => dims[1..].to_vec(),
        _ => dims,
    };
    match dims.as_slice() {
        [n] => match n.as_u64() {
            Some(n) if n as usize <= MAX_WIDTH => Ok(n as usize),
            Some(n) => Err(LayerError::Unsupported {
                what: format!("input width {n}"),
                supported: format!("at most {MAX_WIDTH} features per row"),
            }),
            None => Err(LayerError::Config(format!(
                "shape {shape}: width must be a number"
            ))),
        },
        _ => Err(LayerError::Unsupported {
            what: format!("input shape {shape}"),
            supported: "rows of features, shape (batch, n)".into(),
        }),
    }
}

/// Builds a non-container layer from its class, config and variables (`path` names the
/// variables in errors).
pub fn parse(
    class: &str,
    config: &Value,
    vars: Vec<Tensor>,
    path: &str,
) -> Result<LayerKind, LayerError> {
    let c = Cfg(config);
    let var = |i: usize| format!("{path}/vars/{i}");
    let no_vars = |vars: &[Tensor]| expect_vars(vars, path, 0);
    match class {
        "InputLayer" => {
            let shape = c
                .get("batch_shape")
                .or_else(|| c.get("batch_input_shape"))
                .or_else(|| c.get("shape"))
                .ok_or_else(|| LayerError::Config("InputLayer without a shape".into()))?;
            Ok(LayerKind::Input {
                len: row_width(shape)?,
            })
        }
        "Dense" => {
            let units = c.usize("units")?;
            if units > MAX_WIDTH {
                return Err(LayerError::Unsupported {
                    what: format!("Dense with {units} units"),
                    supported: format!("at most {MAX_WIDTH} units"),
                });
            }
            let use_bias = c.bool_or("use_bias", true)?;
            if c.get("lora_rank")
                .is_some_and(|v| v.as_u64().unwrap_or(0) > 0)
            {
                return Err(LayerError::Unsupported {
                    what: "LoRA-enabled Dense".into(),
                    supported: "plain Dense (merge LoRA weights before saving)".into(),
                });
            }
            if c.get("quantization_config").is_some()
                || c.get("dtype").is_some_and(|d| {
                    d.pointer("/config/name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.starts_with("int") || n.starts_with("float8"))
                })
            {
                return Err(LayerError::Unsupported {
                    what: "quantized Dense".into(),
                    supported: "float32 weights".into(),
                });
            }
            expect_vars(&vars, path, if use_bias { 2 } else { 1 })?;
            let mut it = vars.into_iter();
            let kernel = it.next().expect("checked count");
            if kernel.shape.len() != 2 || kernel.shape[1] != units {
                return Err(LayerError::WeightShape {
                    path: var(0),
                    expected: vec![kernel.shape.first().copied().unwrap_or(0), units],
                    found: kernel.shape,
                });
            }
            let bias = it.next();
            if let Some(b) = &bias {
                expect_shape(b, var(1), &[units])?;
            }
            Ok(LayerKind::Dense {
                units,
                kernel,
                bias,
                activation: activation(c.get("activation"))?,
            })
        }
        "Activation" => {
            no_vars(&vars)?;
            Ok(LayerKind::Activation(activation(c.get("activation"))?))
        }
        "ReLU" => {
            no_vars(&vars)?;
            Ok(LayerKind::Activation(Activation::Unary(UnaryOp::Relu {
                max_value: c.opt_f64("max_value")?,
                negative_slope: c.f64_or("negative_slope", 0.0)?,
                threshold: c.f64_or("threshold", 0.0)?,
            })))
        }
        "LeakyReLU" => {
            no_vars(&vars)?;
            // Keras 3 calls it `negative_slope`; Keras 2 configs said `alpha`.
            let slope = match c.opt_f64("negative_slope")? {
                Some(s) => s,
                None => c.f64_or("alpha", 0.3)?,
            };
            Ok(LayerKind::Activation(Activation::Unary(UnaryOp::Relu {
                max_value: None,
                negative_slope: slope,
                threshold: 0.0,
            })))
        }
        "ELU" => {
            no_vars(&vars)?;
            Ok(LayerKind::Activation(Activation::Unary(UnaryOp::Elu {
                alpha: c.f64_or("alpha", 1.0)?,
            })))
        }
        "Softmax" => {
            no_vars(&vars)?;
            c.feature_axis("axis", -1)?;
            Ok(LayerKind::Activation(Activation::Softmax))
        }
        "PReLU" => {
            expect_vars(&vars, path, 1)?;
            let alpha = vars.into_iter().next().expect("checked count");
            if alpha.shape.len() != 1 {
                return Err(LayerError::WeightShape {
                    path: var(0),
                    expected: vec![alpha.len()],
                    found: alpha.shape,
                });
            }
            Ok(LayerKind::PRelu { alpha })
        }
        "BatchNormalization" => {
            c.feature_axis("axis", -1)?;
            let center = c.bool_or("center", true)?;
            let scale = c.bool_or("scale", true)?;
            let eps = c.f64_or("epsilon", 1e-3)?;
            if c.bool_or("renorm", false)? {
                return Err(LayerError::Unsupported {
                    what: "renorm=True".into(),
                    supported: "standard BatchNormalization".into(),
                });
            }
            let n_vars = 2 + center as usize + scale as usize;
            expect_vars(&vars, path, n_vars)?;
            let n = vars[0].len();
            for (i, v) in vars.iter().enumerate() {
                expect_shape(v, var(i), &[n])?;
            }
            let mut it = vars.into_iter();
            let gamma = if scale {
                it.next().map(|t| t.data)
            } else {
                None
            };
            let beta = if center {
                it.next().map(|t| t.data)
            } else {
                None
            };
            let mean = it.next().expect("checked count").data;
            let var_ = it.next().expect("checked count").data;
            // Keras (tf.nn.batch_normalization): inv = gamma / sqrt(var + eps);
            // y = x * inv + (beta - mean * inv).
            let mut s = Vec::with_capacity(n);
            let mut t = Vec::with_capacity(n);
            for i in 0..n {
                let inv = gamma.as_ref().map_or(1.0, |g| g[i]) / (var_[i] + eps).sqrt();
                s.push(inv);
                t.push(beta.as_ref().map_or(0.0, |b| b[i]) - mean[i] * inv);
            }
            Ok(LayerKind::BatchNorm { scale: s, shift: t })
        }
        "Add" | "Subtract" | "Multiply" | "Average" | "Maximum" | "Minimum" | "Concatenate" => {
            no_vars(&vars)?;
            if class == "Concatenate" {
                c.feature_axis("axis", -1)?;
            }
            Ok(LayerKind::Merge(match class {
                "Add" => Merge::Add,
                "Subtract" => Merge::Subtract,
                "Multiply" => Merge::Multiply,
                "Average" => Merge::Average,
                "Maximum" => Merge::Maximum,
                "Minimum" => Merge::Minimum,
                _ => Merge::Concatenate,
            }))
        }
        "Dropout"
        | "SpatialDropout1D"
        | "GaussianNoise"
        | "GaussianDropout"
        | "AlphaDropout"
        | "ActivityRegularization"
        | "Identity"
        | "Flatten" => {
            no_vars(&vars)?;
            Ok(LayerKind::Identity)
        }
        "Reshape" => {
            no_vars(&vars)?;
            let target = c
                .get("target_shape")
                .and_then(Value::as_array)
                .ok_or_else(|| LayerError::Config("`target_shape` must be a list".into()))?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| LayerError::Unsupported {
                    what: "Reshape with an inferred (-1) dimension".into(),
                    supported: "Reshape((n,)) of 1-D rows".into(),
                })?;
            if target.len() != 1 {
                return Err(LayerError::Unsupported {
                    what: format!("Reshape to {target:?}"),
                    supported: "Reshape((n,)) of 1-D rows".into(),
                });
            }
            Ok(LayerKind::Reshape { target })
        }
        other => Err(LayerError::Unsupported {
            what: format!("layer class `{other}`"),
            supported: SUPPORTED_LAYERS.into(),
        }),
    }
}
