//! Arbitrary bytes through the pickle/joblib reader with the default allow-list and limits,
//! and, when they parse, through the scikit-learn lowering. Either may fail; neither may panic,
//! hang or allocate without bound.
#![no_main]

use lamarrc::front::{pickle, sklearn};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = pickle::load(data, &pickle::default_policy, &pickle::Limits::default()) else {
        return;
    };
    let Ok(t) = sklearn::lower(&value, Path::new("fuzz.pkl")) else {
        return;
    };
    // Emit both directions into a function and verify it, as the driver does.
    for inverse in [false, true] {
        if inverse && !t.has_inverse() {
            continue;
        }
        let mut f = lamarrc_ir::Function::new("f");
        let width = if inverse {
            t.n_features_out()
        } else {
            t.n_features_in()
        };
        let x = f.param("in", width, lamarrc_ir::Origin::default());
        let y = if inverse {
            t.emit_inverse(&mut f, x)
        } else {
            t.emit_forward(&mut f, x)
        };
        if let Ok(mut y) = y {
            // The exported function returns float, as the driver's sub-steps do.
            if f.ty(y).dtype == lamarrc_ir::DType::F64 {
                let cast = lamarrc_ir::Op::Cast {
                    to: lamarrc_ir::DType::F32,
                };
                y = f
                    .add(cast, &[y], lamarrc_ir::Origin::default())
                    .expect("cast to f32");
            }
            f.result = Some(y);
            let m = lamarrc_ir::Module { functions: vec![f] };
            // Accepted input must give valid IR: the CLI reports a verifier failure as an
            // internal error, so it is a finding like a panic.
            if let Err(e) = lamarrc_ir::verify::verify(&m) {
                panic!("accepted pickle gave invalid IR: {e}");
            }
        }
    }
});
