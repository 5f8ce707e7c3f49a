//! PowerTransformer: `Op::Power` per column (`lamarrc_ir::interp::power_value`), followed by
//! the fitted `_scaler` StandardScaler when `standardize=True`.
//!
//! scikit-learn 1.9.1: `transform` applies scipy's `yeojohnson(x, lmbda)` / `boxcox(x, lmbda)`
//! column by column, then `_scaler.transform`; `inverse_transform` applies
//! `_scaler.inverse_transform`, then `_yeo_johnson_inverse_transform` / `inv_boxcox`.
//! Box-Cox on non-positive input raises in scikit-learn; compiled code yields NaN or -inf
//! instead.

use super::emit::Emitter;
use super::pickle::Value;
use super::read::Est;
use super::{lower_step, Kind, Lowered, Place, SklearnError, Step};
use lamarrc_ir::{Op, PowerMethod, ValueId};

#[derive(Debug, Clone)]
pub(crate) struct Power {
    method: PowerMethod,
    lambdas: Vec<f64>,
    /// The fitted StandardScaler of `standardize=True`.
    scaler: Option<Box<Step>>,
}

pub(crate) fn lower(est: &Est<'_>) -> Result<Lowered, SklearnError> {
    let method = match est.string("method", "yeo-johnson")?.as_str() {
        "yeo-johnson" => PowerMethod::YeoJohnson,
        "box-cox" => PowerMethod::BoxCox,
        other => {
            return Err(est.unsupported(
                "method",
                &format!("'{other}'"),
                "scikit-learn only knows 'yeo-johnson' and 'box-cox'",
            ))
        }
    };
    let lambdas = est.vector("lambdas_", None)?;
    let n = est.n_features(&[("lambdas_", lambdas.len())])?;
    let scaler = if est.flag("standardize", true)? {
        let v = est.fitted("_scaler")?;
        if !is_standard_scaler(v) {
            return Err(est.bad_attr("_scaler", "a fitted StandardScaler", Some(v)));
        }
        let place = Place {
            parent: &est.path,
            label: "_scaler".into(),
        };
        Some(Box::new(lower_step(v, Some(place), Some(n), est.file)?))
    } else {
        None
    };
    let step = Power {
        method,
        lambdas,
        scaler,
    };
    Ok((n, n, Kind::Power(step)))
}

/// Whether `v` is a scikit-learn StandardScaler.
fn is_standard_scaler(v: &Value) -> bool {
    matches!(v, Value::Object { module, name, .. }
        if name == "StandardScaler" && (module == "sklearn" || module.starts_with("sklearn.")))
}

impl Power {
    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        let power = |e: &mut Emitter, x| {
            let op = Op::Power {
                method: self.method,
                inverse,
                lambdas: self.lambdas.clone(),
            };
            e.add(&step.path, op, &[x])
        };
        match (&self.scaler, inverse) {
            (None, _) => power(e, x),
            (Some(s), false) => {
                let y = power(e, x)?;
                s.emit(e, y, false)
            }
            (Some(s), true) => {
                let y = s.emit(e, x, true)?;
                power(e, y)
            }
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "method={} standardize={}",
            match self.method {
                PowerMethod::YeoJohnson => "yeo-johnson",
                PowerMethod::BoxCox => "box-cox",
            },
            if self.scaler.is_some() {
                "True"
            } else {
                "False"
            }
        )
    }

    pub fn describe_children(&self, depth: usize, out: &mut Vec<String>) {
        if let Some(s) = &self.scaler {
            s.describe(depth, "_scaler: ", out);
        }
    }
}
