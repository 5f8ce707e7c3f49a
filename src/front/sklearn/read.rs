//! Typed access to a pickled estimator's attributes, with errors that name the attribute, what
//! was expected and what was found.

use super::pickle::{ArrayData, Value};
use super::{EstimatorError, SklearnError};
use std::path::Path;

/// One pickled estimator being lowered, and where it sits.
pub(crate) struct Est<'a> {
    pub v: &'a Value,
    /// Path for errors, e.g. `Pipeline › step 1 `scaler` (StandardScaler)`.
    pub path: String,
    pub file: &'a Path,
}

/// A 2-D float array, row-major.
pub(crate) struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    /// Column `c` as a vector.
    pub fn column(&self, c: usize) -> Vec<f64> {
        (0..self.rows).map(|r| self.at(r, c)).collect()
    }
}

impl<'a> Est<'a> {
    pub fn err(&self, source: EstimatorError) -> SklearnError {
        SklearnError::Estimator {
            file: self.file.to_path_buf(),
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    /// An unsupported value of a constructor parameter.
    pub fn unsupported(&self, option: &str, value: &str, reason: &str) -> SklearnError {
        self.err(EstimatorError::UnsupportedOption {
            option: option.into(),
            value: value.into(),
            reason: reason.into(),
        })
    }

    /// An attribute of the wrong type.
    pub fn bad_attr(&self, name: &str, expected: &str, found: Option<&Value>) -> SklearnError {
        self.err(EstimatorError::Attribute {
            name: name.into(),
            expected: expected.into(),
            found: found.map_or_else(|| "nothing (attribute missing)".into(), describe_value),
        })
    }

    /// The attribute, if pickled.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.v.attr(name)
    }

    /// A fitted attribute: its absence means the estimator was pickled before `fit`.
    pub fn fitted(&self, name: &str) -> Result<&'a Value, SklearnError> {
        self.get(name).ok_or_else(|| {
            self.err(EstimatorError::NotFitted {
                missing: name.into(),
            })
        })
    }

    /// A boolean constructor parameter (`default` when absent, as in older versions).
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, SklearnError> {
        match self.get(name) {
            None => Ok(default),
            Some(v @ (Value::Bool(_) | Value::Int(_))) => Ok(v.as_bool().unwrap_or(default)),
            Some(v @ Value::Array(_)) => v
                .as_bool()
                .ok_or_else(|| self.bad_attr(name, "a bool", Some(v))),
            Some(v) => Err(self.bad_attr(name, "a bool", Some(v))),
        }
    }

    /// A string constructor parameter (`default` when absent).
    pub fn string(&self, name: &str, default: &str) -> Result<String, SklearnError> {
        match self.get(name) {
            None => Ok(default.into()),
            Some(Value::Str(s)) => Ok(s.clone()),
            Some(v) => Err(self.bad_attr(name, "a str", Some(v))),
        }
    }

    /// A non-negative integer attribute such as `n_features_in_`, if pickled. Counts beyond
    /// [`MAX_FEATURES`] are refused: no real model has them, and a hostile pickle would make
    /// us allocate for them.
    pub fn count(&self, name: &str) -> Result<Option<usize>, SklearnError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|_| !matches!(v, Value::Bool(_)))
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&n| n <= MAX_FEATURES)
                .map(Some)
                .ok_or_else(|| {
                    self.bad_attr(
                        name,
                        &format!("a non-negative int of at most {MAX_FEATURES}"),
                        Some(v),
                    )
                }),
        }
    }

    /// The number of input features: `n_features_in_` when pickled, else the length of the first
    /// fitted array given; every array length given must agree.
    pub fn n_features(&self, arrays: &[(&str, usize)]) -> Result<usize, SklearnError> {
        let declared = self.count("n_features_in_")?;
        let (reference, n) = match (declared, arrays.first()) {
            (Some(n), _) => ("n_features_in_", n),
            (None, Some(&(name, n))) => (name, n),
            (None, None) => {
                return Err(self.err(EstimatorError::NotFitted {
                    missing: "n_features_in_".into(),
                }))
            }
        };
        if let Some((name, len)) = arrays.iter().find(|(_, len)| *len != n) {
            return Err(self.err(EstimatorError::FeatureCount(format!(
                "`{name}` has {len} entries but `{reference}` says {n} features"
            ))));
        }
        Ok(n)
    }

    /// Fitted parameters must be finite: a NaN there (from a column that was all NaN when
    /// fitted) would make every output NaN.
    fn finite(&self, name: &str, v: Vec<f64>) -> Result<Vec<f64>, SklearnError> {
        match v.iter().position(|x| !x.is_finite()) {
            None => Ok(v),
            Some(i) => Err(self.bad_attr(
                name,
                &format!("finite (a column all NaN when fitted?); entry {i}"),
                Some(&Value::Float(v[i])),
            )),
        }
    }

    /// A fitted 1-D float array; `len` checks its length.
    pub fn vector(&self, name: &str, len: Option<usize>) -> Result<Vec<f64>, SklearnError> {
        let v = self.fitted(name)?;
        self.vector_of(name, v, len)
    }

    /// A fitted 1-D float array that may be pickled as `None` (e.g. `scale_` with
    /// `with_std=False`).
    pub fn opt_vector(
        &self,
        name: &str,
        len: Option<usize>,
    ) -> Result<Option<Vec<f64>>, SklearnError> {
        match self.fitted(name)? {
            Value::None => Ok(None),
            v => self.vector_of(name, v, len).map(Some),
        }
    }

    fn vector_of(
        &self,
        name: &str,
        v: &Value,
        len: Option<usize>,
    ) -> Result<Vec<f64>, SklearnError> {
        let expected = match len {
            Some(n) => format!("a 1-D float array of length {n}"),
            None => "a 1-D float array".into(),
        };
        match v {
            Value::Array(a)
                if a.shape.len() == 1
                    && matches!(a.data, ArrayData::F64(_) | ArrayData::F32(_))
                    && len.is_none_or(|n| n == a.shape[0]) =>
            {
                self.finite(name, a.to_f64().unwrap_or_default())
            }
            _ => Err(self.bad_attr(name, &expected, Some(v))),
        }
    }

    /// A fitted 2-D float array.
    pub fn matrix(&self, name: &str) -> Result<Matrix, SklearnError> {
        let v = self.fitted(name)?;
        match v {
            Value::Array(a)
                if a.shape.len() == 2
                    && matches!(a.data, ArrayData::F64(_) | ArrayData::F32(_)) =>
            {
                Ok(Matrix {
                    rows: a.shape[0],
                    cols: a.shape[1],
                    data: self.finite(name, a.to_f64().unwrap_or_default())?,
                })
            }
            _ => Err(self.bad_attr(name, "a 2-D float array", Some(v))),
        }
    }
}

/// The most features an estimator may declare.
pub const MAX_FEATURES: usize = 1 << 24;

/// A short description of a value for error messages.
pub(crate) fn describe_value(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(b) => format!("bool {}", if *b { "True" } else { "False" }),
        Value::Int(i) => format!("int {i}"),
        Value::BigInt(_) => "a big int".into(),
        Value::Float(x) => format!("float {x}"),
        Value::Str(s) => format!("str {s:?}"),
        Value::Bytes(b) => format!("bytes of length {}", b.len()),
        Value::List(items) => format!("a list of {} items", items.len()),
        Value::Tuple(items) => format!("a tuple of {} items", items.len()),
        Value::Dict(items) => format!("a dict of {} items", items.len()),
        Value::Set(items) => format!("a set of {} items", items.len()),
        Value::Slice(..) => "a slice".into(),
        Value::Global { module, name } => format!("`{module}.{name}`"),
        Value::Object { module, name, .. } => format!("an instance of `{module}.{name}`"),
        Value::Array(a) => {
            let dims: Vec<String> = a.shape.iter().map(usize::to_string).collect();
            let shape = if dims.len() == 1 {
                format!("({},)", dims[0])
            } else {
                format!("({})", dims.join(", "))
            };
            format!("a {} array of shape {shape}", a.data.dtype_name())
        }
    }
}

/// Python's `repr` of a simple parameter value, for option errors.
pub(crate) fn repr(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Str(s) => format!("'{s}'"),
        Value::Global { module, name } => format!("{module}.{name}"),
        other => describe_value(other),
    }
}

/// Formats a float as Python prints it in short form (`0.0`, `1e-07`, `-2.5`).
pub(crate) fn num(x: f64) -> String {
    format!("{x:?}")
}
