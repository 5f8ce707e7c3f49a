//! Composites: Pipeline (nested to any depth, `'passthrough'` / `None` steps) and
//! ColumnTransformer (fitted `transformers_`, columns selected by int, int list, bool mask,
//! slice or feature name; output = concatenation in `transformers_` order).
//!
//! ColumnTransformer has no `inverse_transform` in scikit-learn, so neither has its lowering
//! (nor any Pipeline that contains one).

use super::emit::Emitter;
use super::pickle::{ArrayData, Value};
use super::read::{describe_value, num, Est};
use super::{lower_step, EstimatorError, Kind, Lowered, Place, SklearnError, Step};
use lamarrc_ir::{Op, ValueId};

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    steps: Vec<Step>,
}

pub(crate) fn lower_pipeline(est: &Est<'_>, width: Option<usize>) -> Result<Lowered, SklearnError> {
    let v = est.fitted("steps")?;
    let items = v
        .as_seq()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| est.bad_attr("steps", "a non-empty list of (name, estimator)", Some(v)))?;
    let mut steps = Vec::with_capacity(items.len());
    let mut current = width;
    for (i, item) in items.iter().enumerate() {
        let (name, step) = match item.as_seq() {
            Some([Value::Str(name), step]) => (name, step),
            _ => {
                return Err(est.bad_attr(
                    &format!("steps[{i}]"),
                    "a (name, estimator) pair",
                    Some(item),
                ))
            }
        };
        let label = format!("step {} `{name}`", i + 1);
        if is_passthrough(step) {
            // Its width is fixed below, once the steps around it are known.
            steps.push(Step {
                path: format!("{} › {label} (passthrough)", est.path),
                label,
                class: "passthrough".into(),
                n_in: 0,
                n_out: 0,
                kind: Kind::Passthrough,
            });
            continue;
        }
        let place = Place {
            parent: &est.path,
            label,
        };
        let s = lower_step(step, Some(place), current, est.file)?;
        current = Some(s.n_out);
        steps.push(s);
    }
    let first_real = steps
        .iter()
        .find(|s| !matches!(s.kind, Kind::Passthrough))
        .map(|s| s.n_in);
    let n_in = width.or(first_real).ok_or_else(|| {
        est.err(EstimatorError::FeatureCount(
            "every step is 'passthrough', so the number of features is unknown".into(),
        ))
    })?;
    let mut w = n_in;
    for s in &mut steps {
        if matches!(s.kind, Kind::Passthrough) {
            s.n_in = w;
            s.n_out = w;
        }
        w = s.n_out;
    }
    Ok((n_in, w, Kind::Pipeline(Pipeline { steps })))
}

/// `'passthrough'` or `None` (a Pipeline step that does nothing).
fn is_passthrough(v: &Value) -> bool {
    matches!(v, Value::None) || v.as_str() == Some("passthrough")
}

impl Pipeline {
    pub fn has_inverse(&self) -> bool {
        self.steps.iter().all(Step::has_inverse)
    }

    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        if inverse {
            if let Some(s) = self.steps.iter().find(|s| !s.has_inverse()) {
                return Err(e.err(
                    &step.path,
                    EstimatorError::NoInverse {
                        reason: format!(": its step {} has none", s.path),
                    },
                ));
            }
            self.steps
                .iter()
                .rev()
                .try_fold(x, |x, s| s.emit(e, x, true))
        } else {
            self.steps.iter().try_fold(x, |x, s| s.emit(e, x, false))
        }
    }

    pub fn describe(&self) -> String {
        format!("({} steps)", self.steps.len())
    }

    pub fn describe_children(&self, depth: usize, out: &mut Vec<String>) {
        for s in &self.steps {
            s.describe(depth, &format!("{}: ", s.label), out);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Columns {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
struct Part {
    name: String,
    columns: Vec<usize>,
    what: PartKind,
    /// `transformer_weights[name]`: the output is multiplied by it.
    weight: Option<f64>,
}

#[derive(Debug, Clone)]
enum PartKind {
    Drop,
    /// No columns selected: scikit-learn skips the transformer.
    Empty,
    Passthrough,
    Step(Box<Step>),
}

pub(crate) fn lower_columns(est: &Est<'_>, width: Option<usize>) -> Result<Lowered, SklearnError> {
    let v = est.fitted("transformers_")?;
    let items = v.as_seq().ok_or_else(|| {
        est.bad_attr(
            "transformers_",
            "a list of (name, transformer, columns)",
            Some(v),
        )
    })?;
    let n = match (est.count("n_features_in_")?, width) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => {
            return Err(est.err(EstimatorError::NotFitted {
                missing: "n_features_in_".into(),
            }))
        }
    };
    let names: Option<Vec<String>> = match est.get("feature_names_in_") {
        Some(Value::Array(a)) => a
            .strings()
            .map(|s| s.into_iter().map(str::to_owned).collect()),
        _ => None,
    };
    let weights = transformer_weights(est)?;
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (name, trans, spec) = match item.as_seq() {
            Some([Value::Str(name), trans, spec]) => (name, trans, spec),
            _ => {
                return Err(est.bad_attr(
                    &format!("transformers_[{i}]"),
                    "a (name, transformer, columns) triple",
                    Some(item),
                ))
            }
        };
        let columns = resolve_columns(est, name, spec, n, names.as_deref())?;
        let what = if trans.as_str() == Some("drop") {
            PartKind::Drop
        } else if columns.is_empty() {
            PartKind::Empty
        } else if trans.as_str() == Some("passthrough") {
            PartKind::Passthrough
        } else {
            let place = Place {
                parent: &est.path,
                label: format!("transformer `{name}`"),
            };
            PartKind::Step(Box::new(lower_step(
                trans,
                Some(place),
                Some(columns.len()),
                est.file,
            )?))
        };
        let weight = weights.iter().find(|(k, _)| k == name).map(|(_, w)| *w);
        parts.push(Part {
            name: name.clone(),
            columns,
            what,
            weight,
        });
    }
    let n_out: usize = parts.iter().map(Part::n_out).sum();
    if n_out == 0 {
        return Err(est.err(EstimatorError::FeatureCount(
            "the ColumnTransformer outputs no columns".into(),
        )));
    }
    Ok((n, n_out, Kind::Columns(Columns { parts })))
}

/// `transformer_weights`: `None` or a dict name → number.
fn transformer_weights(est: &Est<'_>) -> Result<Vec<(String, f64)>, SklearnError> {
    let expected = "None or a dict of transformer name to number";
    match est.get("transformer_weights") {
        None | Some(Value::None) => Ok(Vec::new()),
        Some(d @ Value::Dict(items)) => items
            .iter()
            .map(|(k, w)| match (k.as_str(), w.as_f64()) {
                (Some(k), Some(w)) => Ok((k.to_owned(), w)),
                _ => Err(est.bad_attr("transformer_weights", expected, Some(d))),
            })
            .collect(),
        Some(v) => Err(est.bad_attr("transformer_weights", expected, Some(v))),
    }
}

/// The input columns a transformer reads, in order, as scikit-learn's `_safe_indexing` picks
/// them from an array: an int, a list/array of ints (negative counts from the end), a bool mask,
/// a slice, or column names (looked up in `feature_names_in_`).
fn resolve_columns(
    est: &Est<'_>,
    name: &str,
    spec: &Value,
    n: usize,
    names: Option<&[String]>,
) -> Result<Vec<usize>, SklearnError> {
    let bad = |why: String| {
        est.err(EstimatorError::Attribute {
            name: format!("transformers_ (columns of `{name}`)"),
            expected: "an int, a list of ints, a bool mask, a slice or column names".into(),
            found: format!("{}{why}", describe_value(spec)),
        })
    };
    let index = |i: i64| -> Result<usize, SklearnError> {
        let j = if i < 0 { i + n as i64 } else { i };
        usize::try_from(j)
            .ok()
            .filter(|&j| j < n)
            .ok_or_else(|| bad(format!(" (column {i} out of range for {n} features)")))
    };
    let by_name = |s: &str| -> Result<usize, SklearnError> {
        names
            .and_then(|all| all.iter().position(|c| c == s))
            .ok_or_else(|| bad(format!(" (no feature named {s:?} in feature_names_in_)")))
    };
    let mask = |m: Vec<bool>| -> Result<Vec<usize>, SklearnError> {
        if m.len() != n {
            return Err(bad(format!(
                " (a mask of {} entries for {n} features)",
                m.len()
            )));
        }
        Ok((0..n).filter(|&i| m[i]).collect())
    };
    match spec {
        Value::Int(i) => Ok(vec![index(*i)?]),
        Value::Str(s) => Ok(vec![by_name(s)?]),
        Value::Slice(start, stop, step) => {
            slice_indices(*start, *stop, *step, n).ok_or_else(|| bad(" (step 0)".into()))
        }
        Value::List(items) | Value::Tuple(items) => {
            if items.is_empty() {
                Ok(Vec::new())
            } else if items.iter().all(|v| matches!(v, Value::Bool(_))) {
                mask(items.iter().map(|v| v.as_bool() == Some(true)).collect())
            } else if items.iter().all(|v| matches!(v, Value::Str(_))) {
                items
                    .iter()
                    .map(|v| by_name(v.as_str().unwrap_or_default()))
                    .collect()
            } else {
                items
                    .iter()
                    .map(|v| match v.as_i64() {
                        Some(i) if !matches!(v, Value::Bool(_)) => index(i),
                        _ => Err(bad(String::new())),
                    })
                    .collect()
            }
        }
        Value::Array(a) if a.shape.len() <= 1 => match &a.data {
            ArrayData::Bool(m) if a.shape.len() == 1 => mask(m.clone()),
            ArrayData::Object(_) => match a.strings() {
                Some(s) => s.into_iter().map(by_name).collect(),
                None => Err(bad(String::new())),
            },
            _ => match a.to_i64() {
                Some(idx) => idx.into_iter().map(index).collect(),
                None => Err(bad(String::new())),
            },
        },
        _ => Err(bad(String::new())),
    }
}

/// Python's `range(*slice(start, stop, step).indices(n))`; `None` for a zero step.
pub(crate) fn slice_indices(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    n: usize,
) -> Option<Vec<usize>> {
    let n = n as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let clamp = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(v) if v < 0 => (v + n).max(lower),
        Some(v) => v.min(upper),
    };
    let start = clamp(start, if step > 0 { lower } else { upper });
    let stop = clamp(stop, if step > 0 { upper } else { lower });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    Some(out)
}

impl Part {
    fn n_out(&self) -> usize {
        match &self.what {
            PartKind::Drop | PartKind::Empty => 0,
            PartKind::Passthrough => self.columns.len(),
            PartKind::Step(s) => s.n_out,
        }
    }
}

impl Columns {
    pub fn emit(
        &self,
        step: &Step,
        e: &mut Emitter,
        x: ValueId,
        inverse: bool,
    ) -> Result<ValueId, SklearnError> {
        if inverse {
            return Err(e.err(
                &step.path,
                EstimatorError::NoInverse {
                    reason: " (scikit-learn's ColumnTransformer has none)".into(),
                },
            ));
        }
        let mut outs = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let inner = match &part.what {
                PartKind::Drop | PartKind::Empty => continue,
                PartKind::Passthrough => None,
                PartKind::Step(s) => Some(s),
            };
            let path = inner.map_or_else(
                || format!("{} › transformer `{}` (passthrough)", step.path, part.name),
                |s| s.path.clone(),
            );
            let identity = part.columns.len() == step.n_in
                && part.columns.iter().enumerate().all(|(i, &c)| i == c);
            let cols = if identity {
                x
            } else {
                let op = Op::Gather {
                    indices: part.columns.clone(),
                };
                e.add(&path, op, &[x])?
            };
            let mut y = match inner {
                Some(s) => s.emit(e, cols, false)?,
                None => cols,
            };
            if let Some(w) = part.weight {
                let width = e.width(y);
                let op = Op::Affine {
                    scale: vec![w; width],
                    shift: vec![0.0; width],
                };
                y = e.add(&path, op, &[y])?;
            }
            outs.push(y);
        }
        match outs.as_slice() {
            [one] => Ok(*one),
            _ => e.add(&step.path, Op::Concat, &outs),
        }
    }

    pub fn describe(&self) -> String {
        format!("({} transformers)", self.parts.len())
    }

    pub fn describe_children(&self, depth: usize, out: &mut Vec<String>) {
        for part in &self.parts {
            let mut label = format!(
                "transformer `{}` columns [{}]",
                part.name,
                format_columns(&part.columns)
            );
            if let Some(w) = part.weight {
                label += &format!(" weight={}", num(w));
            }
            let indent = "  ".repeat(depth);
            match &part.what {
                PartKind::Drop => out.push(format!("{indent}{label}: drop")),
                PartKind::Empty => out.push(format!("{indent}{label}: skipped (no columns)")),
                PartKind::Passthrough => out.push(format!(
                    "{indent}{label}: passthrough {0} -> {0}",
                    part.columns.len()
                )),
                PartKind::Step(s) => s.describe(depth, &format!("{label}: "), out),
            }
        }
    }
}

/// `0-8, 10, 4`: runs of consecutive ascending columns shortened.
fn format_columns(cols: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cols.len() {
        let mut j = i;
        while j + 1 < cols.len() && cols[j + 1] == cols[j] + 1 {
            j += 1;
        }
        out.push(if j >= i + 2 {
            format!("{}-{}", cols[i], cols[j])
        } else if j == i + 1 {
            format!("{}, {}", cols[i], cols[j])
        } else {
            cols[i].to_string()
        });
        i = j + 1;
    }
    out.join(", ")
}
