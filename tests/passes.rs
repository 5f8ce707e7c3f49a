//! Every pass on its own: the IR after it (insta snapshots in `snapshots/`, reviewed) and its
//! numeric effect, measured with the reference interpreter on the fixtures' inputs.
//!
//! `dce`, `fuse-residual`, `unroll-quantile` and `fold-gathers` must not change a single bit
//! (they reorder no arithmetic); `fold-constants` rounds folded weights once, so it is held to float32
//! round-off: |Δ| ≤ 1e-6 + 1e-5 |y| (ten times tighter than the Keras criterion).

mod common;

use common::*;
use lamarrc::driver::{self, Model};
use lamarrc_ir::Module;
use std::path::PathBuf;

fn cases() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = [
        "batchnorm",
        "residual",
        "generator_two_inputs",
        "merge_layers",
        "nested_sequential",
        "batchnorm_noscale",
    ]
    .iter()
    .map(|c| (c.to_string(), fixtures("keras").join(c)))
    .collect();
    for m in ["acceptance", "resolution", "covariance"] {
        v.push((m.to_string(), root().join("examples/tracking").join(m)));
    }
    v
}

fn module(dir: &std::path::Path) -> Module {
    let m = Model::load(driver::resolve(dir, None).unwrap()).unwrap();
    driver::build_module(&[m]).unwrap()
}

/// Rows of inputs for the case's first function (fixture inputs, else the tracking check data).
fn inputs(dir: &std::path::Path) -> (usize, Vec<Vec<f32>>) {
    let (c, input) = if dir.join("check").exists() {
        (dir.join("check"), "input.npy")
    } else {
        (dir.to_owned(), "input.npy")
    };
    let (shape, x) = npy_f32(&c.join(input));
    let mut v = vec![x];
    if c.join("noise.npy").exists() {
        v.push(npy_f32(&c.join("noise.npy")).1);
    }
    (shape[0].min(64), v)
}

fn outputs(m: &Module, name: &str, rows: usize, inputs: &[Vec<f32>]) -> Vec<f64> {
    let f = m.function(name).unwrap();
    let mut out = Vec::new();
    for r in 0..rows {
        let row: Vec<&[f32]> = inputs
            .iter()
            .zip(&f.params)
            .map(|(x, p)| &x[r * p.len..(r + 1) * p.len])
            .collect();
        out.extend(lamarrc_ir::interp::run_module(m, name, &row).unwrap());
    }
    out
}

#[test]
fn each_pass_keeps_the_numbers() {
    for (case, dir) in cases() {
        let mut m = module(&dir);
        let (rows, x) = inputs(&dir);
        let mut before = outputs(&m, &case, rows, &x);
        for pass in lamarrc_passes::DEFAULT_PIPELINE {
            driver::optimise(&mut m, &[pass], |_, _, _| {}).unwrap();
            let after = outputs(&m, &case, rows, &x);
            if *pass == "fold-constants" {
                let (w, i) = worst(&after, &before, 1e-6, 1e-5);
                assert!(
                    w <= 1.0,
                    "{case}: {pass} moved output {i}: {} -> {}",
                    before[i],
                    after[i]
                );
            } else {
                let same = before
                    .iter()
                    .zip(&after)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{case}: {pass} changed the outputs");
            }
            before = after;
        }
    }
}

#[test]
fn passes_do_their_job() {
    let count = |m: &Module, name: &str, mnemonic: &str| {
        m.function(name)
            .unwrap()
            .nodes
            .iter()
            .filter(|n| n.op.mnemonic() == mnemonic)
            .count()
    };
    let mut m = module(&root().join("examples/tracking/acceptance"));
    assert_eq!(count(&m, "acceptance_dnn", "add"), 10);
    driver::compile_module_in_place(&mut m).unwrap();
    assert_eq!(
        count(&m, "acceptance_dnn", "add"),
        0,
        "every skip connection fused"
    );
    assert_eq!(count(&m, "acceptance_dnn", "residual"), 10);
    let q = m
        .function("acceptance_tX")
        .unwrap()
        .nodes
        .iter()
        .any(|n| matches!(n.op, lamarrc_ir::Op::Quantile { linspace: true, .. }));
    assert!(q, "quantile references computed");
    // A generator's [conditions | noise] buffer split into the Keras inputs and concatenated
    // again: no copy left.
    let mut m = module(&root().join("examples/tracking/resolution"));
    assert_eq!(count(&m, "resolution_dnn", "gather"), 2);
    assert_eq!(count(&m, "resolution_dnn", "concat"), 1);
    driver::compile_module_in_place(&mut m).unwrap();
    assert_eq!(
        count(&m, "resolution_dnn", "gather"),
        0,
        "identity selection"
    );
    assert_eq!(
        count(&m, "resolution_dnn", "concat"),
        0,
        "identity concatenation"
    );
    let mut m = module(&fixtures("keras").join("batchnorm"));
    assert_eq!(count(&m, "batchnorm", "affine"), 2);
    driver::compile_module_in_place(&mut m).unwrap();
    assert_eq!(
        count(&m, "batchnorm", "affine"),
        0,
        "BatchNormalization folded into Dense"
    );
}

#[test]
fn ir_after_each_pass() {
    for (case, dir) in cases() {
        let mut m = module(&dir);
        let mut text = format!("; frontend\n{}", lamarrc_ir::print::module(&m));
        driver::optimise(
            &mut m,
            lamarrc_passes::DEFAULT_PIPELINE,
            |pass, changed, m| {
                if changed {
                    text += &format!("\n; after {pass}\n{}", lamarrc_ir::print::module(m));
                } else {
                    text += &format!("\n; {pass}: unchanged\n");
                }
            },
        )
        .unwrap();
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("passes_{case}"), text);
        });
    }
}
