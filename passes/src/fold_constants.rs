//! Folds float32 affine maps into their neighbours. BatchNormalization reaches the IR as
//! `Affine(scale, shift)`; next to a Dense it costs a full pass over the row, so:
//!
//! - `Dense(identity) → Affine`: `W'[i,j] = W[i,j] s[j]`, `b'[j] = b[j] s[j] + t[j]`;
//! - `Affine → Dense` (or the `x` of a Residual): `W'[i,j] = s[i] W[i,j]`,
//!   `b'[j] = b[j] + Σᵢ t[i] W[i,j]`;
//! - `Affine → Affine`: `s' = s₁ s₂`, `t' = t₁ s₂ + t₂`;
//!
//! each when the inner value has no other user. Products are formed in f64 and rounded once
//! when emitted, so the result differs from Keras' by float32 round-off only. Only float32
//! values are touched: the float64 scikit-learn steps keep scikit-learn's exact arithmetic
//! (a QuantileTransformer after a scaler must see bit-identical values to find its ties).

use crate::PassError;
use lamarrc_ir::{DType, Function, Module, Op, UnaryOp};

pub fn run(m: &mut Module) -> Result<bool, PassError> {
    let mut changed = false;
    for f in &mut m.functions {
        while function(f) {
            changed = true;
        }
    }
    if changed {
        crate::dce::run(m)?;
    }
    Ok(changed)
}

/// One round of folding; true if anything changed.
fn function(f: &mut Function) -> bool {
    let uses = f.use_counts();
    for i in 0..f.nodes.len() {
        if f.nodes[i].ty.dtype != DType::F32 {
            continue;
        }
        let Some(&a) = f.nodes[i].args.first() else {
            continue;
        };
        let inner = &f.nodes[a.index()];
        if uses[a.index()] != 1 || inner.ty.dtype != DType::F32 {
            continue;
        }
        let folded = match (&f.nodes[i].op, &inner.op) {
            (
                Op::Affine { scale: s, shift: t },
                Op::Dense {
                    units,
                    kernel,
                    bias,
                    activation: UnaryOp::Identity,
                },
            ) => {
                let n_in = kernel.len() / units;
                let mut w = kernel.clone();
                for r in 0..n_in {
                    for j in 0..*units {
                        w[r * units + j] *= s[j];
                    }
                }
                let b = (0..*units)
                    .map(|j| bias.as_ref().map_or(0.0, |b| b[j]) * s[j] + t[j])
                    .collect();
                Some((
                    Op::Dense {
                        units: *units,
                        kernel: w,
                        bias: Some(b),
                        activation: UnaryOp::Identity,
                    },
                    inner.args.clone(),
                ))
            }
            (
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
                },
                Op::Affine { scale: s, shift: t },
            ) => {
                let n_in = kernel.len() / units;
                let mut w = kernel.clone();
                let mut b: Vec<f64> = bias.clone().unwrap_or_else(|| vec![0.0; *units]);
                for r in 0..n_in {
                    for j in 0..*units {
                        b[j] += t[r] * kernel[r * units + j];
                        w[r * units + j] *= s[r];
                    }
                }
                let op = match f.nodes[i].op {
                    Op::Residual { .. } => Op::Residual {
                        units: *units,
                        kernel: w,
                        bias: Some(b),
                        activation: activation.clone(),
                    },
                    _ => Op::Dense {
                        units: *units,
                        kernel: w,
                        bias: Some(b),
                        activation: activation.clone(),
                    },
                };
                let mut args = f.nodes[i].args.clone();
                args[0] = inner.args[0];
                Some((op, args))
            }
            (
                Op::Affine {
                    scale: s2,
                    shift: t2,
                },
                Op::Affine {
                    scale: s1,
                    shift: t1,
                },
            ) => {
                let scale = s1.iter().zip(s2).map(|(a, b)| a * b).collect();
                let shift = t1
                    .iter()
                    .zip(s2)
                    .zip(t2)
                    .map(|((t, s), u)| t * s + u)
                    .collect();
                Some((Op::Affine { scale, shift }, inner.args.clone()))
            }
            _ => None,
        };
        if let Some((op, args)) = folded {
            let inner_origin = f.nodes[a.index()].origin.clone();
            let node = &mut f.nodes[i];
            node.origin = crate::merged_origin(&inner_origin, &node.origin);
            node.op = op;
            node.args = args;
            return true;
        }
    }
    false
}
