//! FunctionTransformer with numpy ufuncs: `func` / `inverse_func` become `Op::Unary`; `None` is
//! the identity (also for `inverse_transform`, as in scikit-learn, whatever `func` is).
//!
//! numpy >= 1.25 pickles a ufunc as the plain global `numpy.<name>`; older versions go through
//! `numpy.core._ufunc_reconstruct(module, name)`, which the pickle reader resolves to the same
//! global. Python functions, lambdas and `functools.partial` are refused (by the reader's
//! allow-list, or here with the function's name).

use super::emit::Emitter;
use super::pickle::Value;
use super::read::{repr, Est};
use super::{EstimatorError, Kind, Lowered, SklearnError, Step};
use lamarrc_ir::{Op, UnaryOp, ValueId};

/// numpy ufunc names and their IR ops.
const UFUNCS: &[(&str, UnaryOp)] = &[
    ("log", UnaryOp::Log),
    ("log1p", UnaryOp::Log1p),
    ("log2", UnaryOp::Log2),
    ("log10", UnaryOp::Log10),
    ("exp", UnaryOp::Exp),
    ("expm1", UnaryOp::Expm1),
    ("exp2", UnaryOp::Exp2),
    ("sqrt", UnaryOp::Sqrt),
    ("cbrt", UnaryOp::Cbrt),
    ("square", UnaryOp::Square),
    ("reciprocal", UnaryOp::Reciprocal),
    ("sin", UnaryOp::Sin),
    ("cos", UnaryOp::Cos),
    ("tan", UnaryOp::Tan),
    ("arcsin", UnaryOp::Arcsin),
    ("arccos", UnaryOp::Arccos),
    ("arctan", UnaryOp::Arctan),
    ("sinh", UnaryOp::Sinh),
    ("cosh", UnaryOp::Cosh),
    ("tanh", UnaryOp::Tanh),
    ("arcsinh", UnaryOp::Arcsinh),
    ("arccosh", UnaryOp::Arccosh),
    ("arctanh", UnaryOp::Arctanh),
    ("abs", UnaryOp::Abs),
    ("absolute", UnaryOp::Abs),
    ("fabs", UnaryOp::Abs),
    ("negative", UnaryOp::Neg),
    ("positive", UnaryOp::Identity),
];

/// One direction: the ufunc's name and op, or `None` for the identity.
type Func = Option<(String, UnaryOp)>;

#[derive(Debug, Clone)]
pub(crate) struct FunctionStep {
    func: Func,
    inverse_func: Func,
}

pub(crate) fn lower(est: &Est<'_>, width: Option<usize>) -> Result<Lowered, SklearnError> {
    if est.flag("validate", false)? {
        return Err(est.unsupported(
            "validate",
            "True",
            "validation at transform time (which rejects NaN and inf) cannot be compiled; \
             refit with validate=False",
        ));
    }
    for kw in ["kw_args", "inv_kw_args"] {
        match est.get(kw) {
            None | Some(Value::None) => {}
            Some(Value::Dict(items)) if items.is_empty() => {}
            Some(v) => {
                return Err(est.unsupported(
                    kw,
                    &repr(v),
                    "keyword arguments to the function cannot be compiled",
                ))
            }
        }
    }
    let func = ufunc(est, "func")?;
    let inverse_func = ufunc(est, "inverse_func")?;
    let n = match (est.count("n_features_in_")?, width) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => {
            return Err(est.err(EstimatorError::NotFitted {
                missing: "n_features_in_".into(),
            }))
        }
    };
    let step = FunctionStep { func, inverse_func };
    Ok((n, n, Kind::Function(step)))
}

/// Reads `func` / `inverse_func`.
fn ufunc(est: &Est<'_>, attr: &str) -> Result<Func, SklearnError> {
    match est.get(attr) {
        None | Some(Value::None) => Ok(None),
        Some(Value::Global { module, name })
            if module == "numpy" || module.starts_with("numpy.") =>
        {
            match UFUNCS.iter().find(|(n, _)| n == name) {
                Some((_, op)) => Ok(Some((format!("numpy.{name}"), op.clone()))),
                None => Err(est.unsupported(
                    attr,
                    &format!("{module}.{name}"),
                    &format!(
                        "only these numpy ufuncs are supported: {}",
                        UFUNCS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        Some(v) => Err(est.unsupported(
            attr,
            &repr(v),
            "only None and numpy ufuncs (np.log1p, np.exp, ...) can be compiled",
        )),
    }
}

impl FunctionStep {
    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        let f = if inverse {
            &self.inverse_func
        } else {
            &self.func
        };
        match f {
            Some((_, op)) if !op.is_identity() => e.add(&step.path, Op::Unary(op.clone()), &[x]),
            _ => Ok(x),
        }
    }

    pub fn describe(&self) -> String {
        let name = |f: &Func| f.as_ref().map_or("None".to_owned(), |(n, _)| n.clone());
        format!(
            "func={} inverse_func={}",
            name(&self.func),
            name(&self.inverse_func)
        )
    }
}
