//! Optimisation passes over the lamarrc IR and the pass manager that runs them.
//!
//! Each pass is one file with one entry point `run(&mut Module) -> Result<bool, PassError>`
//! (true when it changed something), registered in [`PASSES`] under its name. The manager
//! verifies the module after every pass when asked (tests, debug builds, `--verify-each`), so a
//! pass that breaks an invariant is caught at the pass, not in codegen. [`buffers`] is the
//! static buffer planning that code generation uses.

pub mod buffers;
pub mod dce;
pub mod fold_constants;
pub mod fold_gathers;
pub mod fuse_residual;
pub mod unroll_quantile;

use lamarrc_ir::Module;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("pass `{pass}`: {message}")]
pub struct PassError {
    pub pass: String,
    pub message: String,
}

pub type PassFn = fn(&mut Module) -> Result<bool, PassError>;

/// The origin of a node made from two: both items, in the order they apply.
pub(crate) fn merged_origin(
    first: &lamarrc_ir::Origin,
    then: &lamarrc_ir::Origin,
) -> lamarrc_ir::Origin {
    if first.file == then.file {
        lamarrc_ir::Origin::new(
            first.file.clone(),
            format!("{} + {}", first.item, then.item),
        )
    } else {
        lamarrc_ir::Origin::new(String::new(), format!("{first} + {then}"))
    }
}

/// Every pass, by name, with what it does.
pub const PASSES: &[(&str, PassFn, &str)] = &[
    (
        "fold-constants",
        fold_constants::run,
        "merges float32 affine maps (BatchNormalization) into the adjacent Dense and into each other",
    ),
    (
        "fuse-residual",
        fuse_residual::run,
        "turns Dense → Add(skip) into one residual op, the skip added as the activation is applied",
    ),
    (
        "unroll-quantile",
        unroll_quantile::run,
        "computes QuantileTransformer references (linspace) instead of loading them; fixed-depth search",
    ),
    (
        "fold-gathers",
        fold_gathers::run,
        "merges a Concat of Gathers of one value into one Gather, drops Gathers that select everything in order",
    ),
    ("dce", dce::run, "removes values nothing uses"),
];

/// What `lamarrc compile` runs.
pub const DEFAULT_PIPELINE: &[&str] = &[
    "fold-constants",
    "fuse-residual",
    "unroll-quantile",
    "fold-gathers",
    "dce",
];

pub fn lookup(name: &str) -> Option<PassFn> {
    PASSES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, _)| *f)
}

pub fn names() -> Vec<&'static str> {
    PASSES.iter().map(|(n, _, _)| *n).collect()
}

/// Runs `names` in order; `after(name, changed, module)` sees the module after each pass. With
/// `verify_each`, the module is verified after every pass.
pub fn run_pipeline(
    m: &mut Module,
    names: &[&str],
    verify_each: bool,
    mut after: impl FnMut(&str, bool, &Module),
) -> Result<(), PassError> {
    for &name in names {
        let pass = lookup(name).ok_or_else(|| PassError {
            pass: name.into(),
            message: format!("no such pass; passes: {}", self::names().join(", ")),
        })?;
        let changed = pass(m)?;
        if verify_each {
            lamarrc_ir::verify::verify(m).map_err(|e| PassError {
                pass: name.into(),
                message: format!("left an invalid module:\n{e}"),
            })?;
        }
        after(name, changed, m);
    }
    Ok(())
}
