//! Linear maps: PCA and the LHCb DecorrTransformer, as f64 `Op::Dense` matrix products.
//!
//! PCA (scikit-learn 1.9.1 `_BasePCA._transform`): `X @ components_.T`, then
//! `-= mean_ @ components_.T`, then with `whiten` `/= max(sqrt(explained_variance_), eps)`; the
//! last two are one `Standardize`, which rounds the same way. `inverse_transform`:
//! `X @ components_ + mean_`, with `whiten` `X @ (sqrt(explained_variance_)[:, None] *
//! components_) + mean_` (no eps clamp there): `Dense` then an `Affine` adding `mean_`.
//!
//! DecorrTransformer (any module; state: `eig`, (n, n)): `X @ eig`, inverse `X @ eig.T`.

use super::emit::Emitter;
use super::read::Est;
use super::{Kind, Lowered, SklearnError, Step};
use lamarrc_ir::{Op, UnaryOp, ValueId};

#[derive(Debug, Clone)]
pub(crate) struct Linear {
    what: What,
    /// `inputs × outputs`, row-major (`Op::Dense`'s layout).
    forward: Vec<f64>,
    /// `(offset, scale)` of the `Standardize` after the forward product.
    forward_center: Option<(Vec<f64>, Vec<f64>)>,
    /// `outputs × inputs`, row-major.
    inverse: Vec<f64>,
    /// Added after the inverse product.
    inverse_shift: Option<Vec<f64>>,
}

#[derive(Debug, Clone)]
enum What {
    Pca { whiten: bool },
    Decorr,
}

pub(crate) fn lower_pca(est: &Est<'_>) -> Result<Lowered, SklearnError> {
    let c = est.matrix("components_")?;
    let mean = est.vector("mean_", None)?;
    let n = est.n_features(&[("mean_", mean.len()), ("components_ (columns)", c.cols)])?;
    let k = c.rows;
    let whiten = est.flag("whiten", false)?;
    let sqrt_var = if whiten {
        let v = est.vector("explained_variance_", Some(k))?;
        v.iter().map(|v| v.sqrt()).collect()
    } else {
        vec![1.0; k]
    };
    let forward = (0..n)
        .flat_map(|i| (0..k).map(move |j| (i, j)))
        .map(|(i, j)| c.at(j, i))
        .collect();
    let offset = (0..k)
        .map(|j| (0..n).map(|i| mean[i] * c.at(j, i)).sum())
        .collect();
    let scale = sqrt_var
        .iter()
        .map(|&s| if s < f64::EPSILON { f64::EPSILON } else { s })
        .collect();
    let inverse = (0..k)
        .flat_map(|j| (0..n).map(move |i| (j, i)))
        .map(|(j, i)| {
            if whiten {
                sqrt_var[j] * c.at(j, i)
            } else {
                c.at(j, i)
            }
        })
        .collect();
    let step = Linear {
        what: What::Pca { whiten },
        forward,
        forward_center: Some((offset, scale)),
        inverse,
        inverse_shift: Some(mean),
    };
    Ok((n, k, Kind::Linear(step)))
}

pub(crate) fn lower_decorr(est: &Est<'_>) -> Result<Lowered, SklearnError> {
    let eig = est.matrix("eig")?;
    if eig.rows != eig.cols {
        return Err(est.bad_attr("eig", "a square 2-D float array", est.get("eig")));
    }
    let n = eig.rows;
    let inverse = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| eig.at(j, i))
        .collect();
    let step = Linear {
        what: What::Decorr,
        forward: eig.data,
        forward_center: None,
        inverse,
        inverse_shift: None,
    };
    Ok((n, n, Kind::Linear(step)))
}

impl Linear {
    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        let p = step.path.as_str();
        let dense = |units, kernel: &Vec<f64>| Op::Dense {
            units,
            kernel: kernel.clone(),
            bias: None,
            activation: UnaryOp::Identity,
        };
        if !inverse {
            let y = e.add(p, dense(step.n_out, &self.forward), &[x])?;
            match &self.forward_center {
                None => Ok(y),
                Some((mean, scale)) => {
                    let op = Op::Standardize {
                        mean: mean.clone(),
                        scale: scale.clone(),
                    };
                    e.add(p, op, &[y])
                }
            }
        } else {
            let y = e.add(p, dense(step.n_in, &self.inverse), &[x])?;
            match &self.inverse_shift {
                None => Ok(y),
                Some(shift) => {
                    let op = Op::Affine {
                        scale: vec![1.0; shift.len()],
                        shift: shift.clone(),
                    };
                    e.add(p, op, &[y])
                }
            }
        }
    }

    pub fn describe(&self) -> String {
        match self.what {
            What::Pca { whiten } => format!("whiten={}", if whiten { "True" } else { "False" }),
            What::Decorr => "X @ eig".into(),
        }
    }
}
