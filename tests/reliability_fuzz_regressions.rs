//! Inputs found by the cargo-fuzz targets (fuzz/, see TESTING.md), kept as regression tests.
//! Each file in tests/fixtures/broken/fuzz/ is named after the target that found it:
//!
//! - `pickle_*`: replayed through the `pickle` target's steps in-process (read, lower, emit both
//!   directions, verify), which must not panic, and through `lamarrc compile FILE`, which must
//!   refuse it cleanly (exit 1, `error: ` naming the file, no panic, within the limits).
//! - `keras_config_*` (a pick byte + config.json) and `frontend_*` (parts split at
//!   `--lamarrc-part--`): replayed the same way through their targets' steps.
//!
//! The three `pickle_*` inputs found so far hold a NaN in a fitted attribute (QuantileTransformer
//! `references_`, PCA `components_`, StandardScaler `mean_`). They used to reach the IR verifier
//! ("internal error, the IR is invalid"); now they are refused naming the attribute.

#[path = "reliability_support.rs"]
mod support;

use lamarrc::driver::{self, Model, ModelSource};
use lamarrc::front::keras::{archive::Archive, Network};
use lamarrc::front::{pickle, sklearn};
use lamarrc_ir::{DType, Function, Module, Op, Origin};
use std::io::Read;
use std::path::{Path, PathBuf};

fn inputs(prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(support::broken("fuzz"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// The `pickle` target's steps; returns whether the emitted IR verified (if it got that far).
fn pickle_steps(bytes: &[u8]) -> Option<bool> {
    let value = pickle::load(bytes, &pickle::default_policy, &pickle::Limits::default()).ok()?;
    let t = sklearn::lower(&value, Path::new("fuzz.pkl")).ok()?;
    let mut verified = true;
    for inverse in [false, true] {
        if inverse && !t.has_inverse() {
            continue;
        }
        let mut f = Function::new("f");
        let width = if inverse {
            t.n_features_out()
        } else {
            t.n_features_in()
        };
        let x = f.param("in", width, Origin::default());
        let y = if inverse {
            t.emit_inverse(&mut f, x)
        } else {
            t.emit_forward(&mut f, x)
        };
        if let Ok(mut y) = y {
            if f.ty(y).dtype == DType::F64 {
                y = f
                    .add(Op::Cast { to: DType::F32 }, &[y], Origin::default())
                    .unwrap();
            }
            f.result = Some(y);
            let m = Module { functions: vec![f] };
            verified &= lamarrc_ir::verify::verify(&m).is_ok();
        }
    }
    Some(verified)
}

/// What the error must say for each `pickle_*` finding (files not listed: the generic contract).
const PICKLE_WORDS: &[(&str, &[&str])] = &[
    (
        "pickle_quantile_nan_references.pkl",
        &["QuantileTransformer", "`references_`", "must be finite"],
    ),
    (
        "pickle_pca_nan_components.pkl",
        &["PCA", "`components_`", "must be finite"],
    ),
    (
        "pickle_scaler_nan_mean.pkl",
        &["StandardScaler", "`mean_`", "must be finite"],
    ),
];

#[test]
fn pickle_findings_do_not_panic_and_are_refused() {
    let files = inputs("pickle_");
    assert!(!files.is_empty());
    for p in files {
        let bytes = std::fs::read(&p).unwrap();
        let steps = std::panic::catch_unwind(|| pickle_steps(&bytes));
        assert!(steps.is_ok(), "{}: panicked in-process", p.display());
        assert_ne!(
            steps.unwrap(),
            Some(false),
            "{}: accepted pickle gave invalid IR",
            p.display()
        );
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let words = PICKLE_WORDS
            .iter()
            .find(|(f, _)| *f == name)
            .map_or(&[][..], |(_, w)| *w);
        support::refuses(&p, &name, words);
    }
}

fn fixture_weights(pick: u8) -> Vec<u8> {
    // The same list, in the same order, as fuzz/fuzz_targets/keras_config.rs.
    const MODELS: [&str; 8] = [
        "dense_relu",
        "residual",
        "generator_two_inputs",
        "nested_functional",
        "batchnorm",
        "merge_layers",
        "prelu",
        "nested_sequential",
    ];
    let m = MODELS[pick as usize % MODELS.len()];
    let f =
        std::fs::File::open(support::root().join(format!("tests/fixtures/keras/{m}/model.keras")))
            .unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut b = Vec::new();
    z.by_name("model.weights.h5")
        .unwrap()
        .read_to_end(&mut b)
        .unwrap();
    b
}

#[test]
fn keras_config_findings_do_not_panic() {
    for p in inputs("keras_config_") {
        let data = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| {
            let (&pick, json) = data.split_first()?;
            let config = serde_json::from_slice(json).ok()?;
            let path = PathBuf::from("fuzz/model.keras");
            let archive = Archive {
                path: path.clone(),
                config,
                metadata: None,
                weights_h5: fixture_weights(pick),
            };
            let network = Network::from_archive(&archive).ok()?;
            let model = Model {
                source: ModelSource {
                    name: "fuzz".into(),
                    keras: Some(path),
                    dir: None,
                    tx: None,
                    ty: None,
                },
                network: Some(network),
                tx: None,
                ty: None,
            };
            Some(!matches!(
                driver::build_module(&[model]),
                Err(lamarrc::Error::Verify(_))
            ))
        });
        assert!(r.is_ok(), "{}: panicked", p.display());
        assert_ne!(
            r.unwrap(),
            Some(false),
            "{}: accepted config gave invalid IR",
            p.display()
        );
    }
}

#[test]
fn frontend_findings_do_not_panic() {
    const SEP: &[u8] = b"--lamarrc-part--";
    for p in inputs("frontend_") {
        let data = std::fs::read(&p).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut rest = &data[..];
        for name in ["model.keras", "tX.pkl", "tY.pkl"] {
            let (part, next) = match rest.windows(SEP.len()).position(|w| w == SEP) {
                Some(i) if name != "tY.pkl" => (&rest[..i], &rest[i + SEP.len()..]),
                _ => (rest, &rest[rest.len()..]),
            };
            if !part.is_empty() {
                std::fs::write(dir.path().join(name), part).unwrap();
            }
            rest = next;
        }
        let d = dir.path().to_owned();
        let r = std::panic::catch_unwind(move || {
            driver::load_models(&[d], None).and_then(|m| driver::build_module(&m))
        });
        assert!(r.is_ok(), "{}: panicked", p.display());
        assert!(
            !matches!(r.unwrap(), Err(lamarrc::Error::Verify(_))),
            "{}: accepted input gave invalid IR",
            p.display()
        );
    }
}
