//! Lowering of fitted scikit-learn pre/post-processing estimators (read from pickle or joblib
//! files) to the lamarrc IR.
//!
//! [`load`] / [`lower`] turn the pickled estimator tree into a [`Transform`]: a tree of lowered
//! steps that knows its feature counts and can emit `transform` ([`Transform::emit_forward`])
//! and `inverse_transform` ([`Transform::emit_inverse`]) into a [`Function`]. Every step runs in
//! f64 and follows scikit-learn 1.9.1's arithmetic order, so that a QuantileTransformer after a
//! scaler sees bit-identical values and finds the same ties.
//!
//! One estimator family per file: [`scalers`] (StandardScaler, MinMaxScaler, MaxAbsScaler,
//! RobustScaler), [`quantile`], [`power`], [`function`] (FunctionTransformer), [`compose`]
//! (Pipeline, ColumnTransformer) and [`decomposition`] (PCA, DecorrTransformer); [`read`] holds
//! the typed access to pickled attributes, [`emit`] the IR emission helpers.

mod compose;
mod decomposition;
mod emit;
mod function;
mod power;
mod quantile;
mod read;
mod scalers;
#[cfg(test)]
mod tests;

use super::pickle::{self, PickleError, Value};
use emit::Emitter;
use lamarrc_ir::op::OpError;
use lamarrc_ir::{DType, Function, Op, ValueId};
use read::Est;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The estimators [`lower`] understands (class names; scikit-learn classes are matched in any
/// `sklearn.*` module, `DecorrTransformer` in any module).
pub const SUPPORTED: &[&str] = &[
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "QuantileTransformer",
    "PowerTransformer",
    "FunctionTransformer",
    "ColumnTransformer",
    "Pipeline",
    "PCA",
    "DecorrTransformer",
];

/// Why a pickle could not be lowered. The text always names the file and, below the file, the
/// path of the estimator inside it (`Pipeline › step 2 `quantile` (QuantileTransformer)`).
#[derive(Debug, Error)]
pub enum SklearnError {
    /// The file could not be read or is not a pickle the reader accepts.
    #[error("{}: {source}", file.display())]
    Pickle {
        file: PathBuf,
        #[source]
        source: Box<PickleError>,
    },
    /// An estimator in the file cannot be lowered.
    #[error("{}: {path}: {source}", file.display())]
    Estimator {
        file: PathBuf,
        /// Where the estimator sits, e.g. `ColumnTransformer › transformer `q` (QuantileTransformer)`.
        path: String,
        #[source]
        source: Box<EstimatorError>,
    },
}

/// What is wrong with one estimator.
#[derive(Debug, Error)]
pub enum EstimatorError {
    #[error("estimator `{class}` is not supported; supported: {}", SUPPORTED.join(", "))]
    Unknown { class: String },
    #[error("expected a fitted estimator, found {found}")]
    NotAnEstimator { found: String },
    #[error("unsupported option {option}={value}: {reason}")]
    UnsupportedOption {
        option: String,
        value: String,
        reason: String,
    },
    #[error("attribute `{name}` must be {expected}, found {found}")]
    Attribute {
        name: String,
        expected: String,
        found: String,
    },
    #[error("not fitted (no attribute `{missing}`): fit the estimator before pickling it")]
    NotFitted { missing: String },
    #[error("has no inverse_transform{reason}")]
    NoInverse { reason: String },
    #[error("feature count mismatch: {0}")]
    FeatureCount(String),
    #[error("cannot emit the IR: {0}")]
    Ir(#[from] OpError),
}

/// A lowered estimator: a tree of steps, ready to emit `transform` / `inverse_transform`.
#[derive(Debug, Clone)]
pub struct Transform {
    file: PathBuf,
    /// `_sklearn_version` of the root estimator, when pickled.
    sklearn_version: Option<String>,
    root: Step,
}

impl Transform {
    pub fn n_features_in(&self) -> usize {
        self.root.n_in
    }

    pub fn n_features_out(&self) -> usize {
        self.root.n_out
    }

    /// Whether scikit-learn has `inverse_transform` for the whole tree (a ColumnTransformer
    /// anywhere, or a Pipeline containing one, has none).
    pub fn has_inverse(&self) -> bool {
        self.root.has_inverse()
    }

    /// The file the estimator was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Emits the forward transform on `x` (an f64 value of width `n_features_in`; an f32 value is
    /// cast to f64 first); returns an f64 value of width `n_features_out`.
    pub fn emit_forward(&self, f: &mut Function, x: ValueId) -> Result<ValueId, SklearnError> {
        self.emit(f, x, false)
    }

    /// Emits `inverse_transform` on `y` (f64, width `n_features_out`; f32 is cast first); returns
    /// an f64 value of width `n_features_in`.
    pub fn emit_inverse(&self, f: &mut Function, y: ValueId) -> Result<ValueId, SklearnError> {
        self.emit(f, y, true)
    }

    fn emit(&self, f: &mut Function, x: ValueId, inverse: bool) -> Result<ValueId, SklearnError> {
        let mut e = Emitter::new(f, &self.file);
        let width = if inverse {
            self.root.n_out
        } else {
            self.root.n_in
        };
        let ty = e.f.ty(x);
        if ty.len != width {
            return Err(e.err(
                &self.root.path,
                EstimatorError::FeatureCount(format!(
                    "{} expects {width} input columns, the value given has {}",
                    if inverse {
                        "inverse_transform"
                    } else {
                        "transform"
                    },
                    ty.len
                )),
            ));
        }
        let x = if ty.dtype == DType::F64 {
            x
        } else {
            e.add(&self.root.path, Op::Cast { to: DType::F64 }, &[x])?
        };
        self.root.emit(&mut e, x, inverse)
    }

    /// One line per step, indented by two spaces per depth: class, columns, feature counts and
    /// the options that matter (n_quantiles, output_distribution, method, with_mean, ...).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.describe(0, "", &mut out);
        if let (Some(v), Some(first)) = (&self.sklearn_version, out.first_mut()) {
            first.push_str(&format!(" [scikit-learn {v}]"));
        }
        out
    }
}

/// Reads a pickle/joblib file and lowers the estimator in it.
pub fn load(path: &Path) -> Result<Transform, SklearnError> {
    let value = pickle::load_file(path).map_err(|source| SklearnError::Pickle {
        file: path.to_path_buf(),
        source: Box::new(source),
    })?;
    lower(&value, path)
}

/// Lowers an estimator tree read from `file` (used in error messages and node origins).
pub fn lower(value: &Value, file: &Path) -> Result<Transform, SklearnError> {
    let root = lower_step(value, None, None, file)?;
    Ok(Transform {
        file: file.to_path_buf(),
        sklearn_version: value
            .attr("_sklearn_version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        root,
    })
}

/// One lowered estimator.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Full path, used for errors and node origins.
    pub path: String,
    /// Where it sits below its parent (`step 2 `quantile``); empty for the root.
    pub label: String,
    /// Short class name (`StandardScaler`), or `passthrough`.
    pub class: String,
    pub n_in: usize,
    pub n_out: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// `'passthrough'` / `None` steps.
    Passthrough,
    Scaler(scalers::Scaler),
    Quantile(quantile::Quantile),
    Power(power::Power),
    Function(function::FunctionStep),
    Pipeline(compose::Pipeline),
    Columns(compose::Columns),
    Linear(decomposition::Linear),
}

impl Step {
    fn has_inverse(&self) -> bool {
        match &self.kind {
            Kind::Pipeline(p) => p.has_inverse(),
            Kind::Columns(_) => false,
            _ => true,
        }
    }

    fn emit(&self, e: &mut Emitter, x: ValueId, inverse: bool) -> Result<ValueId, SklearnError> {
        match &self.kind {
            Kind::Passthrough => Ok(x),
            Kind::Scaler(s) => s.emit(self, e, x, inverse),
            Kind::Quantile(q) => q.emit(self, e, x, inverse),
            Kind::Power(p) => p.emit(self, e, x, inverse),
            Kind::Function(t) => t.emit(self, e, x, inverse),
            Kind::Pipeline(p) => p.emit(self, e, x, inverse),
            Kind::Columns(c) => c.emit(self, e, x, inverse),
            Kind::Linear(l) => l.emit(self, e, x, inverse),
        }
    }

    /// Appends this step's line (prefixed by `label`, e.g. "step 1 `scaler`: ") and its
    /// children's.
    fn describe(&self, depth: usize, label: &str, out: &mut Vec<String>) {
        let options = match &self.kind {
            Kind::Passthrough => String::new(),
            Kind::Scaler(s) => s.describe(),
            Kind::Quantile(q) => q.describe(),
            Kind::Power(p) => p.describe(),
            Kind::Function(t) => t.describe(),
            Kind::Pipeline(p) => p.describe(),
            Kind::Columns(c) => c.describe(),
            Kind::Linear(l) => l.describe(),
        };
        let mut line = format!(
            "{}{label}{} {} -> {}",
            "  ".repeat(depth),
            self.class,
            self.n_in,
            self.n_out
        );
        if !options.is_empty() {
            line.push(' ');
            line.push_str(&options);
        }
        out.push(line);
        match &self.kind {
            Kind::Power(p) => p.describe_children(depth + 1, out),
            Kind::Pipeline(p) => p.describe_children(depth + 1, out),
            Kind::Columns(c) => c.describe_children(depth + 1, out),
            _ => {}
        }
    }
}

/// Where a child estimator sits below its parent.
pub(crate) struct Place<'a> {
    /// Path of the parent.
    pub parent: &'a str,
    /// The child's label below the parent, e.g. "step 2 `quantile`".
    pub label: String,
}

/// Lowers one estimator. `width` is the number of columns its parent feeds it, when known; a
/// step that records `n_features_in_` is checked against it, one that does not (a
/// FunctionTransformer fitted without validation, `'passthrough'`) takes it.
pub(crate) fn lower_step(
    v: &Value,
    place: Option<Place<'_>>,
    width: Option<usize>,
    file: &Path,
) -> Result<Step, SklearnError> {
    let class = match v {
        Value::Object { name, .. } => name.clone(),
        other => other.type_name().to_owned(),
    };
    let path = match &place {
        None => class.clone(),
        Some(p) => format!("{} › {} ({class})", p.parent, p.label),
    };
    let fail = |source| SklearnError::Estimator {
        file: file.to_path_buf(),
        path: path.clone(),
        source: Box::new(source),
    };
    let Value::Object { module, name, .. } = v else {
        return Err(fail(EstimatorError::NotAnEstimator {
            found: read::describe_value(v),
        }));
    };
    let est = Est {
        v,
        path: path.clone(),
        file,
    };
    let sk = module == "sklearn" || module.starts_with("sklearn.");
    let step = match (sk, name.as_str()) {
        (true, "StandardScaler" | "MinMaxScaler" | "MaxAbsScaler" | "RobustScaler") => {
            scalers::lower(&est, name)?
        }
        (true, "QuantileTransformer") => quantile::lower(&est)?,
        (true, "PowerTransformer") => power::lower(&est)?,
        (true, "FunctionTransformer") => function::lower(&est, width)?,
        (true, "Pipeline") => compose::lower_pipeline(&est, width)?,
        (true, "ColumnTransformer") => compose::lower_columns(&est, width)?,
        (true, "PCA") => decomposition::lower_pca(&est)?,
        (_, "DecorrTransformer") => decomposition::lower_decorr(&est)?,
        _ => {
            return Err(fail(EstimatorError::Unknown {
                class: format!("{module}.{name}"),
            }))
        }
    };
    let (n_in, n_out, kind) = step;
    if let Some(w) = width {
        if w != n_in {
            return Err(fail(EstimatorError::FeatureCount(format!(
                "it was fitted on {n_in} columns but receives {w}"
            ))));
        }
    }
    Ok(Step {
        path,
        label: place.map(|p| p.label).unwrap_or_default(),
        class,
        n_in,
        n_out,
        kind,
    })
}

/// What a family's `lower` returns: input width, output width, lowered step.
pub(crate) type Lowered = (usize, usize, Kind);
