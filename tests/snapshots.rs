//! Snapshots (insta, stored in `snapshots/`): the printed IR of small models and the LLVM IR
//! emitted for a tiny one. Review changes with `cargo insta review`; never bless blindly.

mod common;

use common::fixtures;
use lamarrc::driver::{self, Model};

fn module(case: &str) -> lamarrc_ir::Module {
    let m = Model::load(driver::resolve(&fixtures("keras").join(case), None).unwrap()).unwrap();
    driver::build_module(&[m]).unwrap()
}

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

#[test]
fn ir_of_small_models() {
    for case in [
        "residual",
        "generator_two_inputs",
        "batchnorm",
        "merge_layers",
        "nested_sequential",
        "softmax_layer",
    ] {
        snap!(
            format!("ir_{case}"),
            lamarrc_ir::print::module(&module(case))
        );
    }
}

#[test]
fn llvm_ir_of_a_tiny_model() {
    let m = module("dense_sigmoid");
    let ctx = inkwell::context::Context::create();
    let opts = lamarrc::codegen::Options {
        target: lamarrc::codegen::TargetSpec::new("x86-64-v3"),
        variants: Vec::new(),
        opt_level: 3,
        llvm_passes: None,
    };
    let built = lamarrc::codegen::build(&ctx, &m, &opts).unwrap();
    let ir = built.llvm_ir();
    // The globals and the optimised row function; the batched function (row tiles inlined)
    // is too long to review line by line, so only its signature is checked.
    let end = ir.find("\n}\n").expect("a function") + 3;
    snap!("llvm_dense_sigmoid_x86_64_v3", &ir[..end]);
    assert!(
        ir.contains("define ptr @dense_sigmoid_batch(ptr"),
        "batched entry point missing"
    );
}

#[test]
fn header_of_a_generator() {
    snap!(
        "header_generator_two_inputs",
        lamarrc::codegen::header::render(&module("generator_two_inputs"), "libgen")
    );
}
