//! The linear scalers: StandardScaler, RobustScaler, MinMaxScaler, MaxAbsScaler.
//!
//! scikit-learn 1.9.1 works in place, one operation at a time, and the IR ops are chosen to
//! round the same way:
//! - StandardScaler / RobustScaler: `X -= mean_; X /= scale_` → `Standardize`;
//!   inverse `X *= scale_; X += mean_` → `Affine` (unfused);
//! - MinMaxScaler: `X *= scale_; X += min_` → `Affine`, then `Clip` to `feature_range` with
//!   `clip=True`; inverse `X -= min_; X /= scale_` → `Standardize` (never clipped);
//! - MaxAbsScaler: `X /= scale_` → `Standardize` with zero mean (`x - 0` is exact), then `Clip`
//!   to [-1, 1] with `clip=True`; inverse `X *= scale_` → `Affine` with zero shift.
//!
//! A disabled step (`with_mean=False`, ...) becomes a neutral constant: subtracting 0, dividing
//! or multiplying by 1 and adding 0 are exact (up to the sign of a zero result).

use super::emit::Emitter;
use super::read::{num, Est};
use super::{Kind, Lowered, SklearnError, Step};
use lamarrc_ir::{Op, ValueId};

#[derive(Debug, Clone)]
pub(crate) enum Scaler {
    /// StandardScaler and RobustScaler: `(x - center) / scale`.
    Center {
        center: Option<Vec<f64>>,
        scale: Option<Vec<f64>>,
        /// The two flags, as scikit-learn names them, for `describe`.
        flags: [(&'static str, bool); 2],
    },
    /// MinMaxScaler: `x * scale + min`, clipped to `range` when `clip`.
    MinMax {
        scale: Vec<f64>,
        min: Vec<f64>,
        range: (f64, f64),
        clip: bool,
    },
    /// MaxAbsScaler: `x / scale`, clipped to [-1, 1] when `clip`.
    MaxAbs { scale: Vec<f64>, clip: bool },
}

pub(crate) fn lower(est: &Est<'_>, class: &str) -> Result<Lowered, SklearnError> {
    let (n, scaler) = match class {
        "StandardScaler" => center(est, ("with_mean", "mean_"), ("with_std", "scale_"))?,
        "RobustScaler" => center(
            est,
            ("with_centering", "center_"),
            ("with_scaling", "scale_"),
        )?,
        "MinMaxScaler" => {
            let scale = est.vector("scale_", None)?;
            let min = est.vector("min_", None)?;
            let n = est.n_features(&[("scale_", scale.len()), ("min_", min.len())])?;
            let range = feature_range(est)?;
            let clip = est.flag("clip", false)?;
            let s = Scaler::MinMax {
                scale,
                min,
                range,
                clip,
            };
            (n, s)
        }
        _ => {
            let scale = est.vector("scale_", None)?;
            let n = est.n_features(&[("scale_", scale.len())])?;
            let clip = est.flag("clip", false)?;
            (n, Scaler::MaxAbs { scale, clip })
        }
    };
    Ok((n, n, Kind::Scaler(scaler)))
}

/// StandardScaler / RobustScaler: `(flag, attribute)` for the centring and the scaling.
fn center(
    est: &Est<'_>,
    (center_flag, center_attr): (&'static str, &str),
    (scale_flag, scale_attr): (&'static str, &str),
) -> Result<(usize, Scaler), SklearnError> {
    // The flags decide, not the attributes: StandardScaler(with_mean=False) still stores mean_.
    let with_center = est.flag(center_flag, true)?;
    let with_scale = est.flag(scale_flag, true)?;
    let center = enabled_vector(est, with_center, center_flag, center_attr)?;
    let scale = enabled_vector(est, with_scale, scale_flag, scale_attr)?;
    let mut lens = Vec::new();
    if let Some(c) = &center {
        lens.push((center_attr, c.len()));
    }
    if let Some(s) = &scale {
        lens.push((scale_attr, s.len()));
    }
    let n = est.n_features(&lens)?;
    let s = Scaler::Center {
        center,
        scale,
        flags: [(center_flag, with_center), (scale_flag, with_scale)],
    };
    Ok((n, s))
}

/// The fitted array behind an enabled flag (which must not be `None`), or `None` when disabled.
fn enabled_vector(
    est: &Est<'_>,
    enabled: bool,
    flag: &str,
    attr: &str,
) -> Result<Option<Vec<f64>>, SklearnError> {
    if !enabled {
        return Ok(None);
    }
    match est.opt_vector(attr, None)? {
        Some(v) => Ok(Some(v)),
        None => Err(est.bad_attr(
            attr,
            &format!("a 1-D float array ({flag}=True)"),
            est.get(attr),
        )),
    }
}

/// MinMaxScaler's `feature_range` (a tuple of two numbers, default (0, 1)).
fn feature_range(est: &Est<'_>) -> Result<(f64, f64), SklearnError> {
    let Some(v) = est.get("feature_range") else {
        return Ok((0.0, 1.0));
    };
    match v
        .as_seq()
        .map(|s| s.iter().map(|x| x.as_f64()).collect::<Vec<_>>())
    {
        Some(r) if r.len() == 2 => match (r[0], r[1]) {
            (Some(lo), Some(hi)) => Ok((lo, hi)),
            _ => Err(est.bad_attr("feature_range", "a tuple of two numbers", Some(v))),
        },
        _ => Err(est.bad_attr("feature_range", "a tuple of two numbers", Some(v))),
    }
}

impl Scaler {
    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        let n = step.n_in;
        let p = step.path.as_str();
        match (self, inverse) {
            (Scaler::Center { center, scale, .. }, false) => {
                if center.is_none() && scale.is_none() {
                    return Ok(x);
                }
                let op = Op::Standardize {
                    mean: center.clone().unwrap_or_else(|| vec![0.0; n]),
                    scale: scale.clone().unwrap_or_else(|| vec![1.0; n]),
                };
                e.add(p, op, &[x])
            }
            (Scaler::Center { center, scale, .. }, true) => {
                if center.is_none() && scale.is_none() {
                    return Ok(x);
                }
                let op = Op::Affine {
                    scale: scale.clone().unwrap_or_else(|| vec![1.0; n]),
                    shift: center.clone().unwrap_or_else(|| vec![0.0; n]),
                };
                e.add(p, op, &[x])
            }
            (
                Scaler::MinMax {
                    scale,
                    min,
                    range,
                    clip,
                },
                false,
            ) => {
                let op = Op::Affine {
                    scale: scale.clone(),
                    shift: min.clone(),
                };
                let y = e.add(p, op, &[x])?;
                if *clip {
                    e.add(
                        p,
                        Op::Clip {
                            lo: range.0,
                            hi: range.1,
                        },
                        &[y],
                    )
                } else {
                    Ok(y)
                }
            }
            (Scaler::MinMax { scale, min, .. }, true) => {
                let op = Op::Standardize {
                    mean: min.clone(),
                    scale: scale.clone(),
                };
                e.add(p, op, &[x])
            }
            (Scaler::MaxAbs { scale, clip }, false) => {
                let op = Op::Standardize {
                    mean: vec![0.0; n],
                    scale: scale.clone(),
                };
                let y = e.add(p, op, &[x])?;
                if *clip {
                    e.add(p, Op::Clip { lo: -1.0, hi: 1.0 }, &[y])
                } else {
                    Ok(y)
                }
            }
            (Scaler::MaxAbs { scale, .. }, true) => {
                let op = Op::Affine {
                    scale: scale.clone(),
                    shift: vec![0.0; n],
                };
                e.add(p, op, &[x])
            }
        }
    }

    pub fn describe(&self) -> String {
        let py = |b: bool| if b { "True" } else { "False" };
        match self {
            Scaler::Center { flags, .. } => flags
                .iter()
                .map(|(name, on)| format!("{name}={}", py(*on)))
                .collect::<Vec<_>>()
                .join(" "),
            Scaler::MinMax { range, clip, .. } => format!(
                "feature_range=({}, {}) clip={}",
                num(range.0),
                num(range.1),
                py(*clip)
            ),
            Scaler::MaxAbs { clip, .. } => format!("clip={}", py(*clip)),
        }
    }
}
