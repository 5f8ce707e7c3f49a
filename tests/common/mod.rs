//! Shared helpers for the integration tests: fixture discovery, .npy loading, comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures(kind: &str) -> PathBuf {
    root().join("tests/fixtures").join(kind)
}

/// The case directories listed in `<kind>/index.json`.
pub fn cases(kind: &str) -> Vec<String> {
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures(kind).join("index.json")).unwrap()).unwrap();
    let list = idx
        .get("cases")
        .and_then(|c| c.as_array())
        .expect("index.json lists cases");
    list.iter()
        .map(|c| {
            c.as_str()
                .map(str::to_owned)
                .or_else(|| c.get("name")?.as_str().map(str::to_owned))
                .unwrap()
        })
        .collect()
}

pub fn meta(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap()
}

/// (shape, values as f64).
pub fn npy(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lamarrc::data::npy::read_f64(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn npy_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let (s, v) = npy(path);
    (s, v.into_iter().map(|x| x as f32).collect())
}

/// The acceptance criterion of the Keras issue: |y - ref| <= atol + rtol |ref|, NaN equal to NaN.
/// Returns the worst violation ratio (<= 1 passes) and its index.
pub fn worst(y: &[f64], reference: &[f64], atol: f64, rtol: f64) -> (f64, usize) {
    assert_eq!(y.len(), reference.len(), "length mismatch");
    let mut worst = (0.0, 0);
    for (i, (&a, &b)) in y.iter().zip(reference).enumerate() {
        let r = if (a.is_nan() && b.is_nan()) || a == b {
            0.0
        } else {
            let d = (a - b).abs();
            if d.is_nan() {
                f64::INFINITY
            } else {
                d / (atol + rtol * b.abs())
            }
        };
        if r > worst.0 {
            worst = (r, i);
        }
    }
    worst
}
