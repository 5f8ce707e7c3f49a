//! The verifier. It collects every error, each tied to a node and its origin.
//!
//! Checks, per function:
//! - the name is a valid C identifier and unique in the module;
//! - every argument refers to an earlier node (the arena is in topological order);
//! - `Param` nodes are f32, their index names a declared parameter and the widths agree;
//! - each node's stored type equals what its op infers from its arguments;
//! - the function has a result and it is f32;
//! - constants are finite (a NaN weight is a broken model, not something to compile).

use crate::func::{Function, Module, ValueId};
use crate::op::Op;
use crate::types::{DType, Type};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct VerifyError {
    pub function: String,
    pub node: Option<ValueId>,
    pub origin: String,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in `{}`", self.function)?;
        if let Some(n) = self.node {
            write!(f, " at {n}")?;
        }
        if !self.origin.is_empty() {
            write!(f, " ({})", self.origin)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a module; empty means valid.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyErrors(pub Vec<VerifyError>);

impl fmt::Display for VerifyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyErrors {}

pub fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn constants_finite(op: &Op) -> bool {
    let all = |v: &[f64]| v.iter().all(|x| x.is_finite());
    match op {
        Op::Dense { kernel, bias, .. } | Op::Residual { kernel, bias, .. } => {
            all(kernel) && bias.as_deref().is_none_or(all)
        }
        Op::Affine { scale, shift } => all(scale) && all(shift),
        Op::Standardize { mean, scale } => all(mean) && all(scale),
        Op::PRelu { alpha } => all(alpha),
        Op::Quantile {
            references,
            columns,
            ..
        } => all(references) && columns.iter().all(|c| all(&c.quantiles)),
        Op::Power { lambdas, .. } => all(lambdas),
        _ => true,
    }
}

/// Verifies one function, appending errors to `errors`.
pub fn verify_function(f: &Function, errors: &mut Vec<VerifyError>) {
    let mut report = |node: Option<ValueId>, message: String| {
        let origin = node
            .and_then(|n| f.nodes.get(n.index()))
            .map(|n| n.origin.to_string())
            .unwrap_or_default();
        errors.push(VerifyError {
            function: f.name.clone(),
            node,
            origin,
            message,
        });
    };
    if !is_c_identifier(&f.name) {
        report(None, format!("`{}` is not a valid C identifier", f.name));
    }
    for (i, n) in f.nodes.iter().enumerate() {
        let id = Some(ValueId(i as u32));
        if let Some(a) = n.args.iter().find(|a| a.index() >= i) {
            report(id, format!("argument {a} does not precede its use"));
            continue;
        }
        if !constants_finite(&n.op) {
            report(id, "constant data contains NaN or infinity".into());
        }
        let inferred = match &n.op {
            Op::Param { index } => match f.params.get(*index) {
                Some(p) => Ok(Type::f32(p.len)),
                None => Err(format!("param {index} is not declared")),
            },
            op => {
                let tys: Vec<Type> = n.args.iter().map(|a| f.ty(*a)).collect();
                op.infer(&tys).map_err(|e| e.0)
            }
        };
        match inferred {
            Ok(t) if t == n.ty => {}
            Ok(t) => report(id, format!("stored type {} but the op gives {t}", n.ty)),
            Err(m) => report(id, m),
        }
    }
    match f.result {
        None => report(None, "function has no result".into()),
        Some(r) if r.index() >= f.nodes.len() => report(None, format!("result {r} is not a node")),
        Some(r) if f.ty(r).dtype != DType::F32 => report(
            Some(r),
            format!("result is {}, but the C ABI returns float", f.ty(r)),
        ),
        Some(_) => {}
    }
}

/// Calls name an earlier function of the module whose parameters match the arguments.
fn verify_calls(m: &Module, f: &Function, errors: &mut Vec<VerifyError>) {
    let position = |name: &str| m.functions.iter().position(|g| g.name == name);
    let here = position(&f.name);
    for (i, n) in f.nodes.iter().enumerate() {
        let Op::Call { callee, result_len } = &n.op else {
            continue;
        };
        let mut report = |message: String| {
            errors.push(VerifyError {
                function: f.name.clone(),
                node: Some(ValueId(i as u32)),
                origin: n.origin.to_string(),
                message,
            })
        };
        let Some(k) = position(callee) else {
            report(format!("calls `{callee}`, which is not in the module"));
            continue;
        };
        if here.is_some_and(|h| k >= h) {
            report(format!(
                "calls `{callee}`, which must come earlier in the module"
            ));
        }
        let g = &m.functions[k];
        let widths: Vec<usize> = n.args.iter().map(|a| f.ty(*a).len).collect();
        let want: Vec<usize> = g.params.iter().map(|p| p.len).collect();
        if widths != want {
            report(format!(
                "calls `{callee}` with widths {widths:?}, it takes {want:?}"
            ));
        }
        if g.result_type().map(|t| t.len) != Some(*result_len) {
            report(format!("expects {result_len} values from `{callee}`"));
        }
    }
}

/// Verifies a module: every function, and that names are unique.
pub fn verify(m: &Module) -> Result<(), VerifyErrors> {
    let mut errors = Vec::new();
    for (i, f) in m.functions.iter().enumerate() {
        if m.functions[..i].iter().any(|g| g.name == f.name) {
            errors.push(VerifyError {
                function: f.name.clone(),
                node: None,
                origin: String::new(),
                message: "two functions have this name".into(),
            });
        }
        verify_function(f, &mut errors);
        verify_calls(m, f, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(VerifyErrors(errors))
    }
}
