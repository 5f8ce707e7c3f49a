//! Whole model directories (tX → network → tY⁻¹) and every scikit-learn estimator, compiled and
//! run through the JIT and a shared library, against Keras + scikit-learn.
//!
//! Tolerances:
//! - whole chains: |y − ref| ≤ 1e-4 + 1e-3 |ref|. The network's float32 round-off (≤ 1e-5
//!   relative against Keras) is amplified by the tY inverse where the quantile table is steep;
//!   our tY inverse alone matches scikit-learn to float32 rounding (checked below);
//! - scikit-learn steps: computed in f64 and rounded once to the float output, so
//!   |y − ref| ≤ 1e-6 + 2⁻²³ |ref| (one float32 ulp of the result plus libm's last digits).

mod common;

use common::*;
use lamarrc::codegen::jit::Jit;
use lamarrc::driver::{self, Model};
use lamarrc_runtime::Entry;
use std::path::Path;

const MODELS: [&str; 4] = ["acceptance", "efficiency", "resolution", "covariance"];

fn tracking(name: &str) -> std::path::PathBuf {
    root().join("examples/tracking").join(name)
}

fn load(paths: &[std::path::PathBuf]) -> (Vec<Model>, lamarrc_ir::Module) {
    let models = driver::load_models(paths, None).unwrap();
    let module = driver::compile_module(&models).unwrap();
    (models, module)
}

fn batch(entry: &Entry, inputs: &[&[f32]], rows: usize) -> Vec<f64> {
    entry
        .call_batch(inputs, rows)
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    let (w, i) = worst(got, want, atol, rtol);
    assert!(
        w <= 1.0,
        "{what}: index {i}: got {}, reference {} ({w:.1}x the tolerance)",
        got[i],
        want[i]
    );
}

/// Checks one tracking model's exported functions.
fn check_tracking(name: &str, entry: &dyn Fn(&str) -> Entry) {
    let c = tracking(name).join("check");
    let (shape, x) = npy_f32(&c.join("input.npy"));
    let rows = shape[0];
    let noise = c
        .join("noise.npy")
        .exists()
        .then(|| npy_f32(&c.join("noise.npy")).1);
    let mut inputs: Vec<&[f32]> = vec![&x];
    if let Some(r) = &noise {
        inputs.push(r);
    }
    let whole = entry(name);
    assert_close(
        &format!("{name} whole chain"),
        &batch(&whole, &inputs, rows),
        &npy(&c.join("expected.npy")).1,
        1e-4,
        1e-3,
    );
    // tX alone gives the network's input exactly as scikit-learn + a float32 cast.
    let tx = entry(&format!("{name}_tX"));
    assert_close(
        &format!("{name}_tX"),
        &batch(&tx, &[&x], rows),
        &npy(&c.join("dnn_input.npy")).1,
        1e-6,
        1.2e-7,
    );
    // The network alone, its inputs concatenated as the LHCb glue passes them.
    let (_, dnn_in) = npy_f32(&c.join("dnn_input.npy"));
    let joined: Vec<f32> = match &noise {
        Some(r) => {
            let (wi, wr) = (dnn_in.len() / rows, r.len() / rows);
            (0..rows)
                .flat_map(|i| {
                    dnn_in[i * wi..(i + 1) * wi]
                        .iter()
                        .chain(&r[i * wr..(i + 1) * wr])
                        .copied()
                })
                .collect()
        }
        None => dnn_in.clone(),
    };
    let dnn = entry(&format!("{name}_dnn"));
    assert_close(
        &format!("{name}_dnn"),
        &batch(&dnn, &[&joined], rows),
        &npy(&c.join("dnn_expected.npy")).1,
        1e-5,
        1e-4,
    );
}

#[test]
fn tracking_models_through_the_jit() {
    let paths: Vec<_> = MODELS.iter().map(|m| tracking(m)).collect();
    let (_, module) = load(&paths);
    let jit = Jit::new(&module, &Default::default()).unwrap();
    for m in MODELS {
        check_tracking(m, &|n| jit.entry(n).unwrap().clone());
    }
}

#[test]
fn tracking_models_in_one_shared_library() {
    let paths: Vec<_> = MODELS.iter().map(|m| tracking(m)).collect();
    let (_, module) = load(&paths);
    let ctx = inkwell::context::Context::create();
    let built = lamarrc::codegen::build(&ctx, &module, &Default::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let so = dir.path().join("libLamarr.so");
    lamarrc::codegen::link_shared(&built.object().unwrap(), &so).unwrap();
    let lib = lamarrc_runtime::Library::open(&so).unwrap();
    let names: Vec<&str> = lib.entries().iter().map(|e| e.info.name.as_str()).collect();
    for want in [
        "acceptance",
        "acceptance_tX",
        "acceptance_dnn",
        "efficiency",
        "efficiency_tX",
        "efficiency_dnn",
        "resolution",
        "resolution_tX",
        "resolution_dnn",
        "resolution_tY",
        "resolution_tY_inverse",
        "covariance",
        "covariance_tX",
        "covariance_dnn",
        "covariance_tY",
        "covariance_tY_inverse",
    ] {
        assert!(names.contains(&want), "`{want}` not exported: {names:?}");
    }
    // ColumnTransformer has no inverse_transform in scikit-learn, so no tX_inverse.
    assert!(!names.contains(&"acceptance_tX_inverse"));
    for m in MODELS {
        check_tracking(m, &|n| lib.entry(n).unwrap().clone());
    }
}

/// Runs `entry` on rows of f32 inputs; compares with scikit-learn's float64 results.
fn check_step(case: &str, entry: &Entry, input: &Path, reference: &Path) {
    let (shape, x) = npy_f32(input);
    let (_, want) = npy(reference);
    let got = batch(entry, &[&x], shape[0]);
    // Row calls agree with the batched ones bit for bit.
    let w = shape.get(1).copied().unwrap_or(1);
    for r in [0, shape[0] / 2, shape[0] - 1] {
        let one = entry.call(&[&x[r * w..(r + 1) * w]]).unwrap();
        let o = entry.info.outputs;
        assert_eq!(
            one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            got[r * o..(r + 1) * o]
                .iter()
                .map(|&v| (v as f32).to_bits())
                .collect::<Vec<_>>(),
            "{case}: row {r}"
        );
    }
    // scikit-learn's float64 result rounded to float32 is what an exact implementation returns.
    let want32: Vec<f64> = want.iter().map(|&v| v as f32 as f64).collect();
    let (worst_ratio, i) = worst(&got, &want32, 1e-6, 1.2e-7);
    let exceeding = got
        .iter()
        .zip(&want32)
        .filter(|(a, b)| worst(&[**a], &[**b], 1e-6, 1.2e-7).0 > 1.0)
        .count();
    // pipeline_nested: numpy's AVX-512 log1p/expm1 round differently from libm in the last
    // bit, and a tie-heavy column then lands beside the quantile plateau scikit-learn found
    // (see src/front/sklearn/tests.rs, KNOWN_MISMATCHES); bounded, not ignored.
    let allowed = if case.starts_with("pipeline_nested") {
        31
    } else {
        0
    };
    assert!(
        exceeding <= allowed,
        "{case}: {exceeding} values out of tolerance; worst at {i}: got {}, scikit-learn {} ({worst_ratio:.1}x)",
        got[i],
        want32[i]
    );
}

#[test]
fn every_scikit_learn_estimator_compiled_matches_scikit_learn() {
    let cases: Vec<String> = cases("sklearn");
    let paths: Vec<_> = cases
        .iter()
        .map(|c| fixtures("sklearn").join(c).join("estimator.pkl"))
        .collect();
    // Each pickle compiles on its own to NAME (transform) and NAME_inverse; name them by case.
    let models: Vec<Model> = paths
        .iter()
        .zip(&cases)
        .map(|(p, c)| Model::load(driver::resolve(p, Some(c)).unwrap()).unwrap())
        .collect();
    let module = driver::compile_module(&models).unwrap();
    let jit = Jit::new(&module, &Default::default()).unwrap();
    let mut inverses = 0;
    for c in &cases {
        let d = fixtures("sklearn").join(c);
        check_step(
            c,
            jit.entry(c).unwrap(),
            &d.join("input_f32.npy"),
            &d.join("transform_f32.npy"),
        );
        if d.join("inverse_f32.npy").exists() {
            check_step(
                &format!("{c} inverse"),
                jit.entry(&format!("{c}_inverse")).unwrap(),
                &d.join("inverse_input_f32.npy"),
                &d.join("inverse_f32.npy"),
            );
            inverses += 1;
        }
    }
    assert!(
        cases.len() >= 39 && inverses >= 25,
        "{} cases, {inverses} inverses",
        cases.len()
    );
}

/// Every estimator compiled for each x86-64 level into a shared library (the JIT above covers
/// the host's only) matches scikit-learn. LLVM's InstCombine once aborted the process on
/// `column_transformer_uniform` at x86-64-v3 (its fixpoint check, now off in lamarrc's pipeline).
#[test]
fn every_scikit_learn_estimator_at_every_x86_64_level() {
    let cases: Vec<String> = cases("sklearn");
    let models: Vec<Model> = cases
        .iter()
        .map(|c| {
            let p = fixtures("sklearn").join(c).join("estimator.pkl");
            Model::load(driver::resolve(&p, Some(c)).unwrap()).unwrap()
        })
        .collect();
    let module = driver::compile_module(&models).unwrap();
    let host = lamarrc::codegen::TargetSpec::native().shape().vector_bits;
    let dir = tempfile::tempdir().unwrap();
    for (cpu, bits) in [("x86-64-v2", 128), ("x86-64-v3", 256), ("x86-64-v4", 512)] {
        let ctx = inkwell::context::Context::create();
        let opts = lamarrc::codegen::Options {
            target: lamarrc::codegen::TargetSpec::new(cpu),
            ..Default::default()
        };
        let built = lamarrc::codegen::build(&ctx, &module, &opts).unwrap();
        let object = built.object().unwrap();
        if bits > host {
            eprintln!("{cpu}: compiled; this CPU cannot run it");
            continue;
        }
        let so = dir.path().join(format!("lib{cpu}.so"));
        lamarrc::codegen::link_shared(&object, &so).unwrap();
        let lib = lamarrc_runtime::Library::open(&so).unwrap();
        for c in &cases {
            let d = fixtures("sklearn").join(c);
            check_step(
                &format!("{c} at {cpu}"),
                lib.entry(c).unwrap(),
                &d.join("input_f32.npy"),
                &d.join("transform_f32.npy"),
            );
        }
    }
}

#[test]
fn every_pickle_protocol_and_joblib_compression_compiles_alike() {
    let d = fixtures("sklearn").join("protocols");
    let files: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            (n.ends_with(".pkl") && n.starts_with('p')) || n.ends_with(".joblib")
        })
        .collect();
    assert!(files.len() >= 10, "{files:?}");
    let models: Vec<Model> = files
        .iter()
        .map(|p| Model::load(driver::resolve(p, None).unwrap()).unwrap())
        .collect();
    let module = driver::build_module(&models).unwrap();
    let jit = Jit::new(&module, &Default::default()).unwrap();
    for m in &models {
        check_step(
            &m.source.name,
            jit.entry(&m.source.name).unwrap(),
            &d.join("input_f32.npy"),
            &d.join("transform_f32.npy"),
        );
    }
}

#[test]
fn feature_counts_are_checked_across_steps() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("mixed");
    std::fs::create_dir(&d).unwrap();
    std::fs::copy(
        tracking("acceptance").join("model.keras"),
        d.join("model.keras"),
    )
    .unwrap();
    std::fs::copy(tracking("covariance").join("tX.pkl"), d.join("tX.pkl")).unwrap();
    let err = match Model::load(driver::resolve(&d, None).unwrap()) {
        Ok(_) => panic!("a 15-feature tX before a 12-input network must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("tX.pkl") && err.contains("15") && err.contains("12"),
        "{err}"
    );
    std::fs::copy(tracking("acceptance").join("tX.pkl"), d.join("tX.pkl")).unwrap();
    std::fs::copy(tracking("resolution").join("tY.pkl"), d.join("tY.pkl")).unwrap();
    let err = match Model::load(driver::resolve(&d, None).unwrap()) {
        Ok(_) => panic!("a 9-feature tY after a 1-output network must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("tY.pkl") && err.contains('9') && err.contains("outputs 1"),
        "{err}"
    );
}
