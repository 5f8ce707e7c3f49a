//! Tests against the scikit-learn fixtures (tests/fixtures/sklearn, made by
//! tests/fixtures/generate.py with scikit-learn 1.9.1) and the tracking examples, evaluated with
//! the IR's reference interpreter, plus error cases.
//!
//! The fixtures' inputs are float64 and almost none are representable in float32, the only
//! parameter type of the IR. So that the lowered steps see the very same f64 values as
//! scikit-learn did, each input value is fed exactly through twelve f32 parameters:
//! `x = ((hi + mid + lo) * s1 * ... * s9)`, with `hi + mid + lo` the 72-bit split of x's
//! mantissa scaled to [0.5, 1) and `s1..s9` powers of two covering x's exponent; every
//! addition and multiplication of that prologue is exact in f64 (see `split_value`).

use super::pickle::{self, ArrayData, NdArray, Value};
use super::*;
use lamarrc_ir::{interp, BinaryOp, Origin};
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sklearn");
const TRACKING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tracking");

/// Tolerance against scikit-learn: 1e-6 absolute for |expected| <= 1, 1e-6 relative beyond.
/// Every step runs in f64 in the same operation order as scikit-learn, so the only differences
/// left are libm ulps (numpy's SIMD log/exp, scipy's ndtri vs the IR's AS241, scipy's
/// expm1/log1p Yeo-Johnson vs the IR's pow form) and BLAS summation order in the matrix
/// products: ~1e-15 relative. 1e-6 leaves a wide margin for those while catching any semantic
/// error (a wrong tie rule, bound or clip moves a value by far more). Bit-exact agreement is
/// counted and required on its own where the arithmetic is exact (scalers, selections).
const TOL: f64 = 1e-6;

// ---- .npy reading ---------------------------------------------------------------------------

/// A tiny `.npy` reader: version 1-3 headers, `<f8` or `<f4`, C order.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..6], b"\x93NUMPY", "{}: not an npy file", path.display());
    let (hlen, start) = if b[6] == 1 {
        (u16::from_le_bytes([b[8], b[9]]) as usize, 10)
    } else {
        (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
    };
    let header = std::str::from_utf8(&b[start..start + hlen]).unwrap();
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape_txt = header.split("'shape': (").nth(1).unwrap();
    let shape: Vec<usize> = shape_txt[..shape_txt.find(')').unwrap()]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let data = &b[start + hlen..];
    let values = if header.contains("'descr': '<f8'") {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    } else if header.contains("'descr': '<f4'") {
        data.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
            .collect()
    } else {
        panic!("{}: unsupported dtype in {header}", path.display())
    };
    (shape, values)
}

/// The rows of a 2-D `.npy` file.
fn read_rows(path: &Path) -> Vec<Vec<f64>> {
    let (shape, v) = read_npy(path);
    assert_eq!(shape.len(), 2, "{}", path.display());
    v.chunks(shape[1]).map(<[f64]>::to_vec).collect()
}

// ---- exact f64 inputs through f32 parameters ------------------------------------------------

/// Number of f32 parameters per f64 input: hi, mid, lo and nine power-of-two factors.
const PARTS: usize = 12;
const FACTORS: usize = PARTS - 3;

/// `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1` (finite nonzero x).
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (m, e) = frexp(x * 2f64.powi(64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022)
}

/// Splits x into `PARTS` f32 values whose exact f64 combination
/// `((p0 + p1) + p2) * p3 * ... * p11` is x (bit for bit, signed zeros included).
fn split_value(x: f64) -> [f32; PARTS] {
    let mut p = [1f32; PARTS];
    if x == 0.0 || !x.is_finite() {
        // ±0: (x + x) + x keeps the sign; NaN / inf: the extra zeros change nothing.
        let (mid, lo) = if x == 0.0 {
            (x as f32, x as f32)
        } else {
            (0.0, 0.0)
        };
        p[0] = x as f32;
        p[1] = mid;
        p[2] = lo;
        return p;
    }
    let (m, mut e) = frexp(x);
    let hi = m as f32;
    let r = m - f64::from(hi);
    let mid = r as f32;
    let lo = (r - f64::from(mid)) as f32;
    p[0] = hi;
    p[1] = mid;
    p[2] = lo;
    // 2^e as a product of f32 powers of two; partial products move monotonically from m to x,
    // so none overflows or loses bits.
    for f in p.iter_mut().skip(3) {
        let s = e.clamp(-126, 127);
        *f = 2f32.powi(s);
        e -= s;
    }
    assert_eq!(e, 0, "exponent of {x} not covered");
    p
}

/// The f64 value `split_value` parts combine to, computed as the IR prologue does.
fn combine(p: &[f32; PARTS]) -> f64 {
    let mut v = (f64::from(p[0]) + f64::from(p[1])) + f64::from(p[2]);
    for f in &p[3..] {
        v *= f64::from(*f);
    }
    v
}

/// Declares `PARTS` parameters of width `n` and combines them into an exact f64 value.
fn exact_input(f: &mut Function, n: usize) -> ValueId {
    let o = || Origin::new("test", "exact f64 input");
    let parts: Vec<ValueId> = (0..PARTS)
        .map(|i| {
            let p = f.param(format!("p{i}"), n, o());
            f.add(Op::Cast { to: DType::F64 }, &[p], o()).unwrap()
        })
        .collect();
    let mut v = f
        .add(Op::Binary(BinaryOp::Add), &[parts[0], parts[1]], o())
        .unwrap();
    v = f
        .add(Op::Binary(BinaryOp::Add), &[v, parts[2]], o())
        .unwrap();
    for &s in &parts[3..3 + FACTORS] {
        v = f.add(Op::Binary(BinaryOp::Mul), &[v, s], o()).unwrap();
    }
    v
}

/// Runs `t` forward or inverse on every row, with exact f64 inputs.
fn eval(t: &Transform, inverse: bool, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = if inverse {
        t.n_features_out()
    } else {
        t.n_features_in()
    };
    let mut f = Function::new("t");
    let x = exact_input(&mut f, n);
    let y = if inverse {
        t.emit_inverse(&mut f, x)
    } else {
        t.emit_forward(&mut f, x)
    }
    .unwrap_or_else(|e| panic!("{e}"));
    f.result = Some(y);
    rows.iter()
        .map(|row| {
            assert_eq!(row.len(), n);
            let split: Vec<[f32; PARTS]> = row.iter().map(|&v| split_value(v)).collect();
            for (s, &v) in split.iter().zip(row) {
                let back = combine(s);
                assert!(
                    back.to_bits() == v.to_bits() || (back.is_nan() && v.is_nan()),
                    "split of {v:e} gives {back:e}"
                );
            }
            let params: Vec<Vec<f32>> = (0..PARTS)
                .map(|k| split.iter().map(|s| s[k]).collect())
                .collect();
            let refs: Vec<&[f32]> = params.iter().map(Vec::as_slice).collect();
            interp::run(&f, &refs).unwrap()
        })
        .collect()
}

/// Agreement of `got` with scikit-learn's `want`.
#[derive(Debug, Default, Clone)]
struct Agreement {
    values: usize,
    exact: usize,
    max_abs: f64,
    /// Values outside the tolerance (or NaN on one side only), described.
    failures: Vec<String>,
}

impl Agreement {
    fn summary(&self) -> String {
        format!(
            "{}/{} exact, max abs err {:.3e}{}",
            self.exact,
            self.values,
            self.max_abs,
            if self.failures.is_empty() {
                String::new()
            } else {
                format!(", {} OUT OF TOLERANCE", self.failures.len())
            }
        )
    }
}

fn compare(what: &str, got: &[Vec<f64>], want: &[Vec<f64>]) -> Agreement {
    assert_eq!(got.len(), want.len(), "{what}: row count");
    let mut a = Agreement::default();
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: row {r} width");
        for (c, (&g, &w)) in g.iter().zip(w).enumerate() {
            a.values += 1;
            // Equal bits, NaN and NaN, or 0.0 and -0.0.
            if g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()) || g == w {
                a.exact += 1;
                continue;
            }
            let err = (g - w).abs();
            if err <= TOL * w.abs().max(1.0) {
                a.max_abs = a.max_abs.max(err);
            } else {
                a.failures.push(format!(
                    "{what}: row {r} col {c}: got {g:e}, scikit-learn {w:e} (diff {err:e})"
                ));
            }
        }
    }
    a
}

fn fixture_cases() -> Vec<String> {
    let index = std::fs::read_to_string(format!("{FIXTURES}/index.json")).unwrap();
    let list = index.split("\"cases\": [").nth(1).unwrap();
    let list = &list[..list.find(']').unwrap()];
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Lowers one fixture file and checks transform (and inverse_transform) against the `.npy`
/// files in `dir`.
fn check_case(dir: &Path, pickle_file: &Path) -> (Agreement, Option<Agreement>) {
    let what = pickle_file.display().to_string();
    let t = load(pickle_file).unwrap_or_else(|e| panic!("{e}"));
    let input = read_rows(&dir.join("input.npy"));
    let want = read_rows(&dir.join("transform.npy"));
    assert_eq!(t.n_features_in(), input[0].len(), "{what}");
    assert_eq!(t.n_features_out(), want[0].len(), "{what}");
    let fwd = compare(
        &format!("{what} transform"),
        &eval(&t, false, &input),
        &want,
    );
    let inv_in = dir.join("inverse_input.npy");
    assert_eq!(t.has_inverse(), inv_in.exists(), "{what}: has_inverse");
    let inv = t.has_inverse().then(|| {
        let input = read_rows(&inv_in);
        let want = read_rows(&dir.join("inverse.npy"));
        compare(
            &format!("{what} inverse_transform"),
            &eval(&t, true, &input),
            &want,
        )
    });
    (fwd, inv)
}

/// Cases whose arithmetic is exact step for step: they must match scikit-learn bit for bit.
const BIT_EXACT: &[&str] = &[
    "standard_scaler",
    "standard_scaler_no_mean",
    "standard_scaler_no_std",
    "minmax_scaler",
    "minmax_scaler_range",
    "minmax_scaler_clip",
    "maxabs_scaler",
    "robust_scaler",
    "robust_scaler_no_centering",
    "robust_scaler_no_scaling",
    "function_identity",
    "column_transformer_int",
    "column_transformer_slice",
    "column_transformer_drop",
];

/// Known, explained mismatches: (case, inverse?, column, why). Everything else must be within
/// [`TOL`].
/// (case, inverse?, column, at most this many values, why).
const KNOWN_MISMATCHES: &[(&str, bool, usize, usize, &str)] = &[(
    "pipeline_nested",
    false,
    2,
    31,
    "PowerTransformer then QuantileTransformer on an integer (tie-heavy) column: scikit-learn's \
     Yeo-Johnson runs numpy's SIMD (AVX-512 SVML) log1p/expm1, whose last-ulp rounding no libm \
     reproduces, so transformed values that land exactly on a fitted quantile plateau in \
     scikit-learn land one ulp beside it here (and vice versa). The reference depends on the \
     CPU that generated it; scikit-learn on a machine without AVX-512 differs the same way.",
)];

/// Splits off the failures explained by [`KNOWN_MISMATCHES`].
fn known(case: &str, inverse: bool, a: &mut Agreement) -> Vec<String> {
    let mut explained = Vec::new();
    a.failures.retain(|f| {
        let hit = KNOWN_MISMATCHES.iter().any(|&(c, inv, col, _, _)| {
            c == case && inv == inverse && f.contains(&format!(" col {col}: "))
        });
        if hit {
            explained.push(f.clone());
        }
        !hit
    });
    explained
}

#[test]
fn every_fixture_matches_scikit_learn() {
    let cases = fixture_cases();
    assert!(cases.len() >= 39, "index.json lists {} cases", cases.len());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let dir = PathBuf::from(FIXTURES).join(case);
        let (mut fwd, mut inv) = check_case(&dir, &dir.join("estimator.pkl"));
        let mut explained = known(case, false, &mut fwd);
        if let Some(inv) = &mut inv {
            explained.extend(known(case, true, inv));
        }
        if let Some(&(_, _, _, most, _)) = KNOWN_MISMATCHES.iter().find(|k| k.0 == case) {
            assert!(
                explained.len() <= most,
                "{case}: {} known-kind mismatches, more than the {most} explained",
                explained.len()
            );
        }
        if !explained.is_empty() {
            report.push(format!(
                "{case}: {} known mismatches (see KNOWN_MISMATCHES)",
                explained.len()
            ));
        }
        if BIT_EXACT.contains(&case.as_str()) {
            for a in std::iter::once(&fwd).chain(&inv) {
                if a.exact != a.values {
                    failures.push(format!("{case}: not bit-exact: {}", a.summary()));
                }
            }
        }
        let inv_txt = inv.as_ref().map_or("no inverse_transform".into(), |a| {
            format!("inverse {}", a.summary())
        });
        report.push(format!("{case:27} transform {}; {inv_txt}", fwd.summary()));
        failures.extend(fwd.failures);
        failures.extend(inv.into_iter().flat_map(|a| a.failures));
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_protocol_and_container_gives_the_same_transform() {
    let dir = PathBuf::from(FIXTURES).join("protocols");
    let files = [
        "p2.pkl",
        "p3.pkl",
        "p4.pkl",
        "p5.pkl",
        "plain.joblib",
        "zlib.joblib",
        "gzip.joblib",
        "bz2.joblib",
        "lzma.joblib",
        "xz.joblib",
    ];
    for file in files {
        let (fwd, inv) = check_case(&dir, &dir.join(file));
        let inv = inv.expect("Pipeline has inverse_transform");
        eprintln!(
            "{file:13} transform {}; inverse {}",
            fwd.summary(),
            inv.summary()
        );
        assert!(fwd.failures.is_empty(), "{}", fwd.failures.join("\n"));
        assert!(inv.failures.is_empty(), "{}", inv.failures.join("\n"));
    }
}

#[test]
fn split_values_are_exact() {
    for x in [
        0.0,
        -0.0,
        1.0,
        -1.5,
        0.1,
        1e300,
        -1e-300,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        -2.5e-310,
        std::f64::consts::PI * 1e-200,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let back = combine(&split_value(x));
        assert_eq!(back.to_bits(), x.to_bits(), "{x:e}");
    }
    assert!(combine(&split_value(f64::NAN)).is_nan());
}

// ---- tracking examples: the real tX / tY chain, float32 inputs ---------------------------

#[test]
fn tracking_examples_match_scikit_learn() {
    let root = Path::new(TRACKING);
    if !root.exists() {
        eprintln!("{TRACKING} missing: skipped");
        return;
    }
    let mut checked = 0;
    for net in ["acceptance", "efficiency", "resolution", "covariance"] {
        let dir = root.join(net);
        let check = dir.join("check");
        // tX.transform on float32 raw features; the reference was cast to float32.
        let tx = load(&dir.join("tX.pkl")).unwrap_or_else(|e| panic!("{e}"));
        let input = read_rows(&check.join("input.npy"));
        let want = read_rows(&check.join("dnn_input.npy"));
        let got = eval_f32(&tx, false, &input);
        let got32: Vec<Vec<f64>> = got
            .iter()
            .map(|r| r.iter().map(|&v| f64::from(v as f32)).collect())
            .collect();
        let a = compare(&format!("{net}/tX.pkl transform"), &got32, &want);
        eprintln!("{net:10} tX transform (as float32): {}", a.summary());
        assert!(a.failures.is_empty(), "{}", a.failures.join("\n"));
        checked += 1;
        let ty = dir.join("tY.pkl");
        if ty.exists() {
            let ty = load(&ty).unwrap_or_else(|e| panic!("{e}"));
            let input = read_rows(&check.join("dnn_expected.npy"));
            let want = read_rows(&check.join("expected.npy"));
            let got = eval_f32(&ty, true, &input);
            let a = compare(&format!("{net}/tY.pkl inverse_transform"), &got, &want);
            eprintln!("{net:10} tY inverse_transform: {}", a.summary());
            assert!(a.failures.is_empty(), "{}", a.failures.join("\n"));
        }
    }
    assert_eq!(checked, 4);
}

/// Like [`eval`] for inputs that are float32 already (one f32 parameter, cast to f64 by
/// `emit_forward` / `emit_inverse`).
fn eval_f32(t: &Transform, inverse: bool, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = if inverse {
        t.n_features_out()
    } else {
        t.n_features_in()
    };
    let mut f = Function::new("t");
    let x = f.param("x", n, Origin::default());
    let y = if inverse {
        t.emit_inverse(&mut f, x)
    } else {
        t.emit_forward(&mut f, x)
    }
    .unwrap_or_else(|e| panic!("{e}"));
    f.result = Some(y);
    rows.iter()
        .map(|row| {
            let r: Vec<f32> = row.iter().map(|&v| v as f32).collect();
            assert!(r.iter().zip(row).all(|(&a, &b)| f64::from(a) == b));
            interp::run(&f, &[&r]).unwrap()
        })
        .collect()
}

// ---- lowering details -----------------------------------------------------------------------

fn fixture_value(case: &str) -> (Value, PathBuf) {
    let path = PathBuf::from(FIXTURES).join(case).join("estimator.pkl");
    (pickle::load_file(&path).unwrap(), path)
}

/// The state dict of an object.
fn state_mut(v: &mut Value) -> &mut Vec<(Value, Value)> {
    match v {
        Value::Object { state: Some(s), .. } => match &mut **s {
            Value::Dict(items) => items,
            _ => panic!("state is not a dict"),
        },
        _ => panic!("not an object with state"),
    }
}

fn set_attr(v: &mut Value, name: &str, new: Value) {
    let items = state_mut(v);
    items.retain(|(k, _)| k.as_str() != Some(name));
    items.push((Value::Str(name.into()), new));
}

fn remove_attr(v: &mut Value, name: &str) {
    state_mut(v).retain(|(k, _)| k.as_str() != Some(name));
}

fn obj(module: &str, name: &str, attrs: Vec<(&str, Value)>) -> Value {
    Value::Object {
        module: module.into(),
        name: name.into(),
        args: vec![],
        state: Some(Box::new(Value::Dict(
            attrs
                .into_iter()
                .map(|(k, v)| (Value::Str(k.into()), v))
                .collect(),
        ))),
    }
}

fn s(x: &str) -> Value {
    Value::Str(x.into())
}

fn pipeline(steps: Vec<(&str, Value)>) -> Value {
    let steps = steps
        .into_iter()
        .map(|(n, v)| Value::Tuple(vec![s(n), v]))
        .collect();
    obj(
        "sklearn.pipeline",
        "Pipeline",
        vec![("steps", Value::List(steps))],
    )
}

fn err_text(v: &Value, file: &str) -> String {
    lower(v, Path::new(file))
        .map(|_| ())
        .expect_err("lowering should fail")
        .to_string()
}

#[test]
fn recomputed_references_equal_pickled_ones() {
    for case in fixture_cases() {
        let (v, _) = fixture_value(&case);
        let mut stack = vec![&v];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object { name, .. }
                    if name == "QuantileTransformer" && v.attr("references_").is_some() =>
                {
                    let r = v.attr("references_").unwrap().as_f64_vec().unwrap();
                    let mine = quantile::linspace01(r.len());
                    let same = r.iter().zip(&mine).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{case}: linspace({}) differs", r.len());
                }
                Value::Object {
                    state: Some(st), ..
                } => stack.push(st),
                Value::List(items) | Value::Tuple(items) => stack.extend(items),
                Value::Dict(items) => stack.extend(items.iter().map(|(_, v)| v)),
                _ => {}
            }
        }
    }
}

#[test]
fn quantile_without_references_still_matches() {
    let (mut v, path) = fixture_value("quantile_normal");
    remove_attr(&mut v, "references_");
    let t = lower(&v, &path).unwrap();
    assert!(t.describe()[0].contains("references_ recomputed"));
    let dir = PathBuf::from(FIXTURES).join("quantile_normal");
    let got = eval(&t, false, &read_rows(&dir.join("input.npy")));
    let want = read_rows(&dir.join("transform.npy"));
    let a = compare("quantile_normal w/o references_", &got, &want);
    assert!(a.failures.is_empty(), "{}", a.failures.join("\n"));
}

#[test]
fn slices_follow_python() {
    // Python: list(range(6))[slice]
    type Spec = (Option<i64>, Option<i64>, Option<i64>);
    let cases: &[(Spec, &[usize])] = &[
        ((Some(2), Some(5), None), &[2, 3, 4]),
        ((None, None, None), &[0, 1, 2, 3, 4, 5]),
        ((Some(-2), None, None), &[4, 5]),
        ((None, Some(-4), None), &[0, 1]),
        ((None, None, Some(2)), &[0, 2, 4]),
        ((None, None, Some(-1)), &[5, 4, 3, 2, 1, 0]),
        ((Some(4), Some(1), Some(-2)), &[4, 2]),
        ((Some(10), Some(20), None), &[]),
        ((Some(-10), Some(2), None), &[0, 1]),
        ((Some(-1), Some(-10), Some(-3)), &[5, 2]),
    ];
    for &((a, b, c), want) in cases {
        assert_eq!(
            compose::slice_indices(a, b, c, 6).unwrap(),
            want,
            "{a:?}:{b:?}:{c:?}"
        );
    }
    assert!(compose::slice_indices(None, None, Some(0), 6).is_none());
}

#[test]
fn column_specs_resolve_like_scikit_learn() {
    // ColumnTransformer on 4 columns with names, columns given every way; output order is the
    // transformers_ order.
    let passthrough = |cols: Value| Value::Tuple(vec![s("t"), s("passthrough"), cols]);
    let names = Value::Array(NdArray {
        shape: vec![4],
        data: ArrayData::Object(vec![s("a"), s("b"), s("c"), s("d")]),
    });
    let specs: Vec<(Value, Vec<usize>)> = vec![
        (Value::Int(-1), vec![3]),
        (Value::List(vec![Value::Int(2), Value::Int(0)]), vec![2, 0]),
        (
            Value::List(vec![
                Value::Bool(false),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
            ]),
            vec![1, 3],
        ),
        (Value::Slice(Some(1), None, None), vec![1, 2, 3]),
        (Value::List(vec![s("d"), s("a")]), vec![3, 0]),
        (s("c"), vec![2]),
        (
            Value::Array(NdArray {
                shape: vec![2],
                data: ArrayData::I64(vec![3, 1]),
            }),
            vec![3, 1],
        ),
    ];
    for (spec, want) in specs {
        let ct = obj(
            "sklearn.compose._column_transformer",
            "ColumnTransformer",
            vec![
                ("n_features_in_", Value::Int(4)),
                ("feature_names_in_", names.clone()),
                (
                    "transformers_",
                    Value::List(vec![passthrough(spec.clone())]),
                ),
            ],
        );
        let t = lower(&ct, Path::new("ct.pkl")).unwrap_or_else(|e| panic!("{e}"));
        let rows = vec![vec![10.0, 11.0, 12.0, 13.0]];
        let got = eval(&t, false, &rows);
        let want: Vec<f64> = want.iter().map(|&i| rows[0][i]).collect();
        assert_eq!(got[0], want, "{spec:?}");
    }
}

#[test]
fn transformer_weights_scale_the_output() {
    let (mut v, path) = fixture_value("column_transformer_drop");
    set_attr(
        &mut v,
        "transformer_weights",
        Value::Dict(vec![(s("rob"), Value::Float(2.0))]),
    );
    let t = lower(&v, &path).unwrap();
    let dir = PathBuf::from(FIXTURES).join("column_transformer_drop");
    let input = read_rows(&dir.join("input.npy"));
    let mut want = read_rows(&dir.join("transform.npy"));
    for r in &mut want {
        r[2] *= 2.0;
    }
    let a = compare("weighted", &eval(&t, false, &input), &want);
    assert_eq!(a.exact, a.values);
}

#[test]
fn describe_lists_every_step() {
    let (v, path) = fixture_value("pipeline_nested");
    let lines = lower(&v, &path).unwrap().describe();
    let want = [
        "Pipeline 5 -> 5 (3 steps) [scikit-learn 1.9.1]",
        "  step 1 `inner`: Pipeline 5 -> 5 (2 steps)",
        "    step 1 `scaler`: StandardScaler 5 -> 5 with_mean=True with_std=True",
        "    step 2 `power`: PowerTransformer 5 -> 5 method=yeo-johnson standardize=True",
        "      _scaler: StandardScaler 5 -> 5 with_mean=True with_std=True",
        "  step 2 `skip`: passthrough 5 -> 5",
        "  step 3 `quantile`: QuantileTransformer 5 -> 5 n_quantiles=100 output_distribution=uniform",
    ];
    assert_eq!(lines, want);

    let (v, path) = fixture_value("column_transformer_multi");
    let lines = lower(&v, &path).unwrap().describe();
    let want = [
        "ColumnTransformer 6 -> 6 (3 transformers) [scikit-learn 1.9.1]",
        "  transformer `a` columns [4, 1]: StandardScaler 2 -> 2 with_mean=True with_std=True",
        "  transformer `b` columns [0, 2]: QuantileTransformer 2 -> 2 n_quantiles=50 output_distribution=normal",
        "  transformer `remainder` columns [3, 5]: FunctionTransformer 2 -> 2 func=None inverse_func=None",
    ];
    assert_eq!(lines, want);

    let (v, path) = fixture_value("column_transformer_slice");
    let lines = lower(&v, &path).unwrap().describe();
    assert_eq!(
        lines[1],
        "  transformer `mm` columns [2-4]: MinMaxScaler 3 -> 3 feature_range=(0.0, 1.0) clip=False"
    );
}

#[test]
fn origins_name_file_and_estimator() {
    let (v, path) = fixture_value("pipeline");
    let t = lower(&v, &path).unwrap();
    let mut f = Function::new("t");
    let x = f.param("x", t.n_features_in(), Origin::default());
    let y = t.emit_forward(&mut f, x).unwrap();
    let origins: Vec<String> = f
        .nodes
        .iter()
        .skip(1)
        .map(|n| n.origin.to_string())
        .collect();
    assert_eq!(
        origins,
        [
            "estimator.pkl: Pipeline",
            "estimator.pkl: Pipeline › step 1 `scaler` (StandardScaler)",
            "estimator.pkl: Pipeline › step 2 `quantile` (QuantileTransformer)",
        ]
    );
    assert_eq!(f.ty(y), lamarrc_ir::Type::f64(t.n_features_out()));
}

// ---- errors ---------------------------------------------------------------------------------

#[test]
fn unknown_estimator_is_named_with_its_path() {
    let (scaler, _) = fixture_value("standard_scaler");
    let normalizer = obj(
        "sklearn.preprocessing._data",
        "Normalizer",
        vec![("norm", s("l2"))],
    );
    let p = pipeline(vec![("scaler", scaler), ("norm", normalizer)]);
    let e = err_text(&p, "tX.pkl");
    assert_eq!(
        e,
        "tX.pkl: Pipeline › step 2 `norm` (Normalizer): estimator \
         `sklearn.preprocessing._data.Normalizer` is not supported; supported: StandardScaler, \
         MinMaxScaler, MaxAbsScaler, RobustScaler, QuantileTransformer, PowerTransformer, \
         FunctionTransformer, ColumnTransformer, Pipeline, PCA, DecorrTransformer"
    );
    let e = err_text(&pipeline(vec![("x", Value::Int(3))]), "tX.pkl");
    assert_eq!(
        e,
        "tX.pkl: Pipeline › step 1 `x` (int): expected a fitted estimator, found int 3"
    );
}

#[test]
fn unsupported_options_are_refused() {
    let (mut q, _) = fixture_value("quantile_normal");
    set_attr(&mut q, "output_distribution", s("lognormal"));
    let ct = obj(
        "sklearn.compose._column_transformer",
        "ColumnTransformer",
        vec![
            ("n_features_in_", Value::Int(5)),
            (
                "transformers_",
                Value::List(vec![Value::Tuple(vec![
                    s("q"),
                    q,
                    Value::List((0..5).map(Value::Int).collect()),
                ])]),
            ),
        ],
    );
    assert_eq!(
        err_text(&ct, "tX.pkl"),
        "tX.pkl: ColumnTransformer › transformer `q` (QuantileTransformer): unsupported option \
         output_distribution='lognormal': scikit-learn only knows 'uniform' and 'normal'"
    );

    let (mut f, _) = fixture_value("function_log1p");
    set_attr(
        &mut f,
        "kw_args",
        Value::Dict(vec![(s("out"), Value::None)]),
    );
    let e = err_text(&f, "f.pkl");
    assert!(
        e.starts_with("f.pkl: FunctionTransformer: unsupported option kw_args="),
        "{e}"
    );

    let (mut f, _) = fixture_value("function_log1p");
    set_attr(
        &mut f,
        "func",
        Value::Global {
            module: "numpy".into(),
            name: "sign".into(),
        },
    );
    let e = err_text(&f, "f.pkl");
    assert!(
        e.starts_with("f.pkl: FunctionTransformer: unsupported option func=numpy.sign: only these numpy ufuncs"),
        "{e}"
    );

    let (mut f, _) = fixture_value("function_log1p");
    set_attr(&mut f, "validate", Value::Bool(true));
    assert!(err_text(&f, "f.pkl").contains("unsupported option validate=True"));
}

#[test]
fn column_transformer_has_no_inverse() {
    let (v, path) = fixture_value("column_transformer_int");
    let t = lower(&v, &path).unwrap();
    assert!(!t.has_inverse());
    let mut f = Function::new("t");
    let y = f.param("y", t.n_features_out(), Origin::default());
    let e = t.emit_inverse(&mut f, y).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "estimator.pkl: ColumnTransformer: has no inverse_transform (scikit-learn's \
         ColumnTransformer has none)"
        ),
        "{e}"
    );

    // ... nor has a Pipeline containing one.
    let (scaler, _) = fixture_value("standard_scaler_no_mean");
    let mut scaler6 = scaler;
    for (attr, n) in [("mean_", 6), ("scale_", 6), ("var_", 6)] {
        set_attr(
            &mut scaler6,
            attr,
            Value::Array(NdArray {
                shape: vec![n],
                data: ArrayData::F64(vec![1.0; n]),
            }),
        );
    }
    set_attr(&mut scaler6, "n_features_in_", Value::Int(6));
    let p = pipeline(vec![("ct", v), ("scale", scaler6)]);
    let t = lower(&p, Path::new("tX.pkl")).unwrap();
    assert!(!t.has_inverse());
    let mut f = Function::new("t");
    let y = f.param("y", t.n_features_out(), Origin::default());
    let e = t.emit_inverse(&mut f, y).unwrap_err().to_string();
    assert_eq!(
        e,
        "tX.pkl: Pipeline: has no inverse_transform: its step Pipeline › step 1 `ct` \
         (ColumnTransformer) has none"
    );
}

#[test]
fn attribute_errors_name_the_attribute() {
    let (mut q, _) = fixture_value("quantile_small");
    set_attr(
        &mut q,
        "quantiles_",
        Value::Array(NdArray {
            shape: vec![10],
            data: ArrayData::F64(vec![0.0; 10]),
        }),
    );
    assert_eq!(
        err_text(&q, "tY.pkl"),
        "tY.pkl: QuantileTransformer: attribute `quantiles_` must be a 2-D float array, found a \
         float64 array of shape (10,)"
    );
    let (mut q, _) = fixture_value("quantile_small");
    remove_attr(&mut q, "quantiles_");
    assert_eq!(
        err_text(&q, "tY.pkl"),
        "tY.pkl: QuantileTransformer: not fitted (no attribute `quantiles_`): fit the estimator \
         before pickling it"
    );
    let (mut s, _) = fixture_value("standard_scaler");
    set_attr(&mut s, "with_mean", Value::Str("yes".into()));
    assert_eq!(
        err_text(&s, "a.pkl"),
        "a.pkl: StandardScaler: attribute `with_mean` must be a bool, found str \"yes\""
    );
    let (mut s, _) = fixture_value("standard_scaler");
    set_attr(&mut s, "scale_", Value::None);
    assert_eq!(
        err_text(&s, "a.pkl"),
        "a.pkl: StandardScaler: attribute `scale_` must be a 1-D float array (with_std=True), \
         found None"
    );
}

#[test]
fn feature_count_mismatch_in_a_pipeline() {
    let (scaler, _) = fixture_value("standard_scaler"); // 5 features
    let (q, _) = fixture_value("quantile_tiny_spacing"); // 4 features
    let p = pipeline(vec![("scaler", scaler), ("q", q)]);
    assert_eq!(
        err_text(&p, "tY.pkl"),
        "tY.pkl: Pipeline › step 2 `q` (QuantileTransformer): feature count mismatch: it was \
         fitted on 4 columns but receives 5"
    );
}

#[test]
fn unreadable_files_name_the_file() {
    let e = load(Path::new("/nonexistent/tX.pkl")).unwrap_err();
    assert!(matches!(e, SklearnError::Pickle { .. }));
    assert!(
        e.to_string().starts_with("/nonexistent/tX.pkl: pickle: "),
        "{e}"
    );
}

#[test]
fn wrong_input_width_is_an_error() {
    let (v, path) = fixture_value("pca");
    let t = lower(&v, &path).unwrap();
    let mut f = Function::new("t");
    let x = f.param("x", 4, Origin::default());
    let e = t.emit_forward(&mut f, x).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "PCA: feature count mismatch: transform expects 5 input columns, the value given has 4"
        ),
        "{e}"
    );
}
