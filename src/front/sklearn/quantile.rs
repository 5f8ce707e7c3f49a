//! QuantileTransformer: `Op::Quantile`, whose semantics (`lamarrc_ir::interp::quantile_value`)
//! are scikit-learn 1.9.1's `_transform_col` applied to every column.
//!
//! Fitted state: `quantiles_` (n_quantiles_, n_features) becomes one sorted table per column;
//! `references_` (n_quantiles_,) is used as pickled, or recomputed as numpy's
//! `linspace(0, 1, n_quantiles_)` when absent.

use super::emit::Emitter;
use super::read::Est;
use super::{Kind, Lowered, SklearnError, Step};
use lamarrc_ir::{Distribution, Op, QuantileColumn, ValueId};

#[derive(Debug, Clone)]
pub(crate) struct Quantile {
    distribution: Distribution,
    references: Vec<f64>,
    columns: Vec<QuantileColumn>,
    /// Whether `references_` was pickled (else recomputed).
    pickled_references: bool,
}

pub(crate) fn lower(est: &Est<'_>) -> Result<Lowered, SklearnError> {
    let distribution = match est.string("output_distribution", "uniform")?.as_str() {
        "uniform" => Distribution::Uniform,
        "normal" => Distribution::Normal,
        other => {
            return Err(est.unsupported(
                "output_distribution",
                &format!("'{other}'"),
                "scikit-learn only knows 'uniform' and 'normal'",
            ))
        }
    };
    let q = est.matrix("quantiles_")?;
    if q.rows < 2 {
        return Err(est.bad_attr(
            "quantiles_",
            "a 2-D float array with at least 2 quantiles (rows)",
            est.get("quantiles_"),
        ));
    }
    if let Some(nq) = est.count("n_quantiles_")? {
        if nq != q.rows {
            return Err(est.bad_attr(
                "quantiles_",
                &format!("a 2-D float array with n_quantiles_ = {nq} rows"),
                est.get("quantiles_"),
            ));
        }
    }
    let (references, pickled_references) = match est.get("references_") {
        Some(_) => (est.vector("references_", Some(q.rows))?, true),
        None => (linspace01(q.rows), false),
    };
    let n = est.n_features(&[("quantiles_", q.cols)])?;
    let mut columns = Vec::with_capacity(n);
    for c in 0..n {
        let quantiles = q.column(c);
        if quantiles.iter().any(|v| v.is_nan()) {
            return Err(est.bad_attr(
                "quantiles_",
                "a 2-D float array without NaN",
                est.get("quantiles_"),
            ));
        }
        columns.push(QuantileColumn { quantiles });
    }
    let step = Quantile {
        distribution,
        references,
        columns,
        pickled_references,
    };
    Ok((n, n, Kind::Quantile(step)))
}

/// `numpy.linspace(0, 1, n)` bit for bit: `arange(n) * (1 / (n - 1))`, the last entry set to 1.
pub(crate) fn linspace01(n: usize) -> Vec<f64> {
    let step = 1.0 / (n - 1) as f64;
    let mut y: Vec<f64> = (0..n).map(|i| i as f64 * step + 0.0).collect();
    if let Some(last) = y.last_mut() {
        *last = 1.0;
    }
    y
}

impl Quantile {
    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        let op = Op::Quantile {
            distribution: self.distribution,
            inverse,
            references: self.references.clone(),
            columns: self.columns.clone(),
            linspace: false,
        };
        e.add(&step.path, op, &[x])
    }

    pub fn describe(&self) -> String {
        format!(
            "n_quantiles={} output_distribution={}{}",
            self.references.len(),
            match self.distribution {
                Distribution::Uniform => "uniform",
                Distribution::Normal => "normal",
            },
            if self.pickled_references {
                ""
            } else {
                " (references_ recomputed)"
            }
        )
    }
}
