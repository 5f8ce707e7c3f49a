//! The text form of the IR, used by `lamarrc ir` and the snapshot tests. Keep it stable.
//!
//! ```text
//! fn acceptance(in: f32[12]) -> f32[1] {
//!   %0 = param 0 : f32[12]
//!   %1 = dense 128 tanh %0 kernel=<12x128 #5c1e0f3a> bias=<128 #91aa0b2e> : f32[128]  ; model.keras: layer #1 dense (Dense)
//!   return %1
//! }
//! ```
//! Constants of up to [`INLINE_LIMIT`] values print in full; longer ones print as their shape and a
//! hash of their bits, so a snapshot changes whenever a weight does.

use crate::func::{Function, Module};
use crate::op::{Distribution, Op, PowerMethod};
use std::fmt::Write;

/// Constants up to this many values are printed in full.
pub const INLINE_LIMIT: usize = 8;

/// FNV-1a over the f64 bit patterns: a short, stable fingerprint of a constant.
fn fingerprint(values: &[f64]) -> u32 {
    let mut h: u64 = 0xcbf29ce484222325;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    (h ^ (h >> 32)) as u32
}

fn fmt_f64(v: f64) -> String {
    // `{:?}` prints the shortest representation that round-trips.
    format!("{v:?}")
}

/// Prints a constant: inline when short, else `<shape #hash>`.
pub fn constant(values: &[f64], shape: &[usize]) -> String {
    if values.len() <= INLINE_LIMIT {
        let items: Vec<String> = values.iter().map(|v| fmt_f64(*v)).collect();
        format!("[{}]", items.join(", "))
    } else {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        format!("<{} #{:08x}>", dims.join("x"), fingerprint(values))
    }
}

fn op_text(op: &Op, in_len: usize) -> String {
    match op {
        Op::Param { index } => format!("param {index}"),
        Op::Cast { to } => format!("cast {}", to.name()),
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
            let mut s = format!(
                "{} {units} {} kernel={}",
                op.mnemonic(),
                activation.name(),
                constant(kernel, &[in_len, *units])
            );
            if let Some(b) = bias {
                s += &format!(" bias={}", constant(b, &[b.len()]));
            }
            s
        }
        Op::Unary(u) => u.name(),
        Op::Binary(b) => b.name().to_string(),
        Op::Affine { scale, shift } => format!(
            "affine scale={} shift={}",
            constant(scale, &[scale.len()]),
            constant(shift, &[shift.len()])
        ),
        Op::Standardize { mean, scale } => format!(
            "standardize mean={} scale={}",
            constant(mean, &[mean.len()]),
            constant(scale, &[scale.len()])
        ),
        Op::Concat => "concat".into(),
        Op::Gather { indices } => format!("gather [{}]", index_runs(indices)),
        Op::Softmax => "softmax".into(),
        Op::LogSoftmax => "log_softmax".into(),
        Op::PRelu { alpha } => format!("prelu alpha={}", constant(alpha, &[alpha.len()])),
        Op::Clip { lo, hi } => format!("clip {} {}", fmt_f64(*lo), fmt_f64(*hi)),
        Op::Quantile {
            distribution,
            inverse,
            references,
            columns,
            linspace,
        } => {
            let all: Vec<f64> = columns
                .iter()
                .flat_map(|c| c.quantiles.iter().copied())
                .collect();
            format!(
                "quantile {} {} n={} references={} quantiles={}",
                match distribution {
                    Distribution::Normal => "normal",
                    Distribution::Uniform => "uniform",
                },
                if *inverse { "inverse" } else { "forward" },
                references.len(),
                if *linspace {
                    "linspace".to_string()
                } else {
                    constant(references, &[references.len()])
                },
                constant(&all, &[columns.len(), references.len()])
            )
        }
        Op::Call { callee, .. } => format!("call @{callee}"),
        Op::Power {
            method,
            inverse,
            lambdas,
        } => format!(
            "power {} {} lambdas={}",
            match method {
                PowerMethod::YeoJohnson => "yeo-johnson",
                PowerMethod::BoxCox => "box-cox",
            },
            if *inverse { "inverse" } else { "forward" },
            constant(lambdas, &[lambdas.len()])
        ),
    }
}

/// Indices with runs of three or more consecutive values as `a..b` (end exclusive).
pub fn index_runs(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut k = 0;
    while k < indices.len() {
        let mut e = k;
        while e + 1 < indices.len() && indices[e + 1] == indices[e] + 1 {
            e += 1;
        }
        if e - k >= 2 {
            parts.push(format!("{}..{}", indices[k], indices[e] + 1));
        } else {
            parts.extend(indices[k..=e].iter().map(|i| i.to_string()));
        }
        k = e + 1;
    }
    parts.join(", ")
}

/// Prints one function.
pub fn function(f: &Function) -> String {
    let mut out = String::new();
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| format!("{}: f32[{}]", p.name, p.len))
        .collect();
    let ret = f
        .result_type()
        .map_or_else(|| "?".to_string(), |t| t.to_string());
    let _ = writeln!(out, "fn {}({}) -> {} {{", f.name, params.join(", "), ret);
    for (i, n) in f.nodes.iter().enumerate() {
        let in_len = n.args.first().map_or(0, |a| f.ty(*a).len);
        let mut line = format!("  %{i} = {}", op_text(&n.op, in_len));
        for a in &n.args {
            let _ = write!(line, " {a}");
        }
        let _ = write!(line, " : {}", n.ty);
        let origin = n.origin.to_string();
        if !origin.is_empty() {
            let _ = write!(line, "  ; {origin}");
        }
        let _ = writeln!(out, "{line}");
    }
    match f.result {
        Some(r) => {
            let _ = writeln!(out, "  return {r}");
        }
        None => {
            let _ = writeln!(out, "  return ?");
        }
    }
    out.push_str("}\n");
    out
}

/// Prints every function of a module, separated by blank lines.
pub fn module(m: &Module) -> String {
    m.functions
        .iter()
        .map(function)
        .collect::<Vec<_>>()
        .join("\n")
}
